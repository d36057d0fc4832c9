"""Map payload: HTML bytes and server build time of the site map, against one folium CircleMarker per site.

Run: ``.venv/bin/python bench/map_payload.py [--sizes 1000,10000,50000] [--browser]``

The anchor (issue 3) is folium with one ``CircleMarker`` per site (tooltip and popup each), built in the same
run. Ours: one compact columnar layer drawn on a canvas by ``layers/web/qmap.js``. With ``--browser`` the
50k map is also loaded in headless Chromium (served locally) to time the first draw and a pan.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import folium  # noqa: E402
import geopandas as gpd  # noqa: E402

from layers import farms as farm_layer  # noqa: E402
from layers import mapview  # noqa: E402
from layers.sites import STATUS_COLOURS  # noqa: E402

STATUSES = ["operating", "treating", "accepted", "closed", "relocated"]


def sites(n: int, seed: int = 7) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(118.75, 119.10, n), rng.uniform(28.55, 29.30, n)
    return gpd.GeoDataFrame({
        "id": [f"F{i:06d}" for i in range(n)],
        "name": [f"衢江第{i}号养殖场" for i in range(n)],
        "species": rng.choice(["猪", "牛", "鸡"], n),
        "head_count": rng.integers(50, 3000, n),
        "status": rng.choice(STATUSES, n),
        "township": rng.choice(["樟潭街道", "上方镇", "湖南镇", "莲花镇"], n),
        "deadline": pd.Timestamp("2007-09-30"),
    }, geometry=gpd.points_from_xy(lon, lat), crs=4326)


def baseline(g: gpd.GeoDataFrame) -> str:
    m = folium.Map(location=[29.0, 118.95], zoom_start=10, tiles=None)
    for row in g.itertuples():
        folium.CircleMarker([row.geometry.y, row.geometry.x], radius=6, color="#222", weight=1,
                            fill=True, fill_color=STATUS_COLOURS[row.status], fill_opacity=0.9,
                            tooltip=row.name,
                            popup=folium.Popup(f"<b>{row.name}</b><br>编号 {row.id}<br>畜种 {row.species}<br>"
                                               f"存栏 {row.head_count}<br>状态 {row.status}<br>乡镇 {row.township}")
                            ).add_to(m)
    return m.get_root().render()


def ours(g: gpd.GeoDataFrame) -> str:
    m = mapview.new_map(g.total_bounds)
    farm_layer.add_to(m, g)
    return mapview.to_html(m)


def timed(f, *a):
    t0 = time.perf_counter()
    out = f(*a)
    return out, time.perf_counter() - t0


def browser_check(html: str, n: int) -> None:
    import http.server
    import shutil
    import tempfile
    import threading

    sys.path.insert(0, str(ROOT / "tests"))
    from browser import browser

    from layers import assets

    d = Path(tempfile.mkdtemp())
    shutil.copytree(assets.WEB_DIR, d / "component" / assets.COMPONENT_NAME)
    (d / "map.html").write_text(html, encoding="utf-8")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(d), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/map.html"
    with browser() as ctx:
        page = ctx.new_page()
        t0 = time.perf_counter()
        page.goto(url, wait_until="load")
        # drawn: sites on the canvas, or (at district zoom) their clusters
        page.wait_for_function("() => document.querySelector('canvas.leaflet-zoom-animated, .qs-cluster-icon')"
                               " !== null", timeout=120000)
        load = time.perf_counter() - t0
        pan = page.evaluate("""() => new Promise(res => {
            const key = Object.keys(window).find(k => k.startsWith('map_'));
            const m = window[key]; const t0 = performance.now();
            m.once('moveend', () => requestAnimationFrame(() => res(performance.now() - t0)));
            m.panBy([200, 120], {animate: false});
        })""")
    httpd.shutdown()
    shutil.rmtree(d, ignore_errors=True)
    print(f"browser  n={n:>6}: first draw {load:6.2f} s, pan redraw {pan:7.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--browser", action="store_true", help="also load the largest map in headless Chromium")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'sites':>7} {'anchor MB':>10} {'anchor s':>9} {'ours MB':>8} {'ours s':>7} {'smaller':>8} {'faster':>7}")
    last = None
    for n in sizes:
        g = sites(n)
        b_html, b_t = timed(baseline, g)
        o_html, o_t = timed(ours, g)
        bb, ob = len(b_html.encode()), len(o_html.encode())
        print(f"{n:>7} {bb / 1e6:>10.2f} {b_t:>9.2f} {ob / 1e6:>8.2f} {o_t:>7.3f} {bb / ob:>7.1f}x {b_t / o_t:>6.1f}x")
        last = (o_html, n)
    if args.browser and last:
        browser_check(*last)


if __name__ == "__main__":
    main()
