"""Maps at province scale (issue 13): payload, server build time, Chromium first draw and pan, against the demo.

    python bench/map_draw.py --store /tmp/province/province-100000-1250000.gpkg
    python bench/map_draw.py --sites 100000          # builds that province first with geo/synth (~20 s)

For the demo (the anchor, same run) and the province store it builds, as the pages do: the overview map of the
whole district/province (every layer; above ``[map] max_points`` the site layers are one symbol per township),
the overview map of the township with the most sites (its sites drawn one by one when they fit the budget), and
the wall map. Each map is served locally with the app's own assets and loaded in Debian's Chromium (Playwright):
``first draw`` is from navigation until the map's symbols are on the canvas, ``pan`` the redraw after a
200×120 px pan. Goals: payload ≤ 2 MB and first draw ≤ 2 s per map at 100 000 sites.
"""
from __future__ import annotations

import argparse
import http.server
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import pandas as pd  # noqa: E402

from geo import buffers, progress, water  # noqa: E402
from geo.contract import SITE_LAYERS  # noqa: E402
from geo.spatial import with_township  # noqa: E402
from geo.store import open_store  # noqa: E402
from layers import assets, mapview  # noqa: E402
from layers.overview import overview_map  # noqa: E402
from layers.wall import wall_map  # noqa: E402

DEMO = ROOT / "data" / "demo.gpkg"
TABLES = ["townships", "rivers", "waterbodies", *SITE_LAYERS, "sampling_points", "status_events", "meta"]
GOAL_MB, GOAL_DRAW_S = 2.0, 2.0


def maps(spec: str) -> dict[str, str]:
    """The three maps of a store as HTML, built as the overview and wall pages build them."""
    store = open_store(spec)
    frames = progress.prepare(store.read_many(TABLES))
    frames["sampling_points"] = with_township(frames["sampling_points"], frames["townships"])
    as_of = pd.Timestamp(store.meta().get("as_of") or pd.Timestamp.today()).date()
    sites = {layer: progress.sites_as_of(frames, layer, as_of) for layer in SITE_LAYERS}
    events = frames["status_events"]
    busiest = pd.concat([s["township"] for s in sites.values()]).value_counts().index[0]
    out = {}
    t0 = time.perf_counter()
    out["overview"] = mapview.to_html(overview_map(frames, sites=sites, events=events))
    out["overview_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out["township"] = mapview.to_html(overview_map(frames, sites=sites, events=events, township=[busiest]))
    out["township_s"] = time.perf_counter() - t0
    v = buffers.check(frames, distance=200, as_of=as_of)
    classes = water.latest_assessment({"sampling_points": frames["sampling_points"],
                                       "readings": store.read("readings")}, as_of=as_of)
    t0 = time.perf_counter()
    out["wall"] = mapview.to_html(wall_map(frames, sites=sites, violations=v, water_classes=classes))
    out["wall_s"] = time.perf_counter() - t0
    return out


def draw(page, root: Path, base: str, name: str, html: str) -> tuple[float, float]:
    """First draw (s) and pan redraw (ms) of one map in Chromium."""
    (root / f"{name}.html").write_text(html, encoding="utf-8")
    t0 = time.perf_counter()
    page.goto(f"{base}/{name}.html", wait_until="load")
    page.wait_for_function("() => { const c = document.querySelector('.leaflet-pane canvas');"
                           " return (c && c.width > 0) || document.querySelector('.qs-cluster-icon') !== null; }",
                           timeout=120000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    first = time.perf_counter() - t0
    pan = page.evaluate("""() => new Promise(res => {
        const key = Object.keys(window).find(k => k.startsWith('map_'));
        const m = window[key]; const t0 = performance.now();
        m.once('moveend', () => requestAnimationFrame(() => res(performance.now() - t0)));
        m.panBy([200, 120], {animate: false});
    })""")
    return first, pan


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", help="the province store (a GeoPackage path or PostGIS URL)")
    ap.add_argument("--sites", type=int, default=100_000, help="without --store: build a province of this size")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qingshan-mapdraw-"))
    spec = args.store
    if not spec:
        from geo import synth

        spec = str(tmp / "province.gpkg")
        synth.write(spec, sites=args.sites, readings=args.sites)
    from browser import browser

    root = tmp / "www"
    shutil.copytree(assets.WEB_DIR, root / "component" / assets.COMPONENT_NAME)
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(root), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    rows = []
    try:
        with browser() as ctx:
            page = ctx.new_page()
            page.set_viewport_size({"width": 1600, "height": 900})
            for label, s in (("demo", str(DEMO)), ("province", spec)):
                built = maps(s)
                for name in ("overview", "township", "wall"):
                    first, pan = draw(page, root, base, f"{label}-{name}", built[name])
                    rows.append({"store": label, "map": name, "mb": len(built[name].encode()) / 1e6,
                                 "build": built[f"{name}_s"], "first": first, "pan": pan})
    finally:
        httpd.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    demo = {r["map"]: r for r in rows if r["store"] == "demo"}
    print("| map | demo MB | demo first draw | province MB | province build | province first draw | ratio | pan |")
    print("|---|---|---|---|---|---|---|---|")
    names = {"overview": "overview, whole area", "township": "overview, busiest township", "wall": "wall map"}
    for r in rows:
        if r["store"] != "province":
            continue
        d = demo[r["map"]]
        print(f"| {names[r['map']]} | {d['mb']:.2f} | {d['first']:.2f} s | {r['mb']:.2f} | {r['build']:.2f} s | "
              f"{r['first']:.2f} s | {r['first'] / d['first']:.1f}× | {r['pan']:.0f} ms |")
    worst = [r for r in rows if r["store"] == "province"]
    ok_mb = all(r["mb"] <= GOAL_MB for r in worst)
    ok_draw = all(r["first"] <= GOAL_DRAW_S for r in worst)
    print(f"\nGoals: payload ≤ {GOAL_MB:g} MB {'met' if ok_mb else 'NOT met'}; "
          f"first draw ≤ {GOAL_DRAW_S:g} s {'met' if ok_draw else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
