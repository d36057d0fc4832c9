"""One inspector's status update on the demo vs a large store, GeoPackage and PostGIS (issue 13: cost follows the write).

    python bench/status_update.py [--sites 100000] [--readings 500000] [--repeat 7] [--store-pg postgresql://…]

Builds a large store from the demo district (site layers, their events,
sampling points and readings replicated under new ids, positions jittered),
writes it as a GeoPackage and into PostGIS (a throwaway cluster with fsync on
unless ``--store-pg``), then times :func:`geo.updates.update_status` (the
app's own path: read the site and its events, append one event, status =
latest event) on each store, in process and as a whole ``python -c``
process, and prints the ratio large / demo. Nothing in ``data/`` is written.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.contract import SITE_LAYERS, STATUS  # noqa: E402
from geo.store import GpkgStore, open_store  # noqa: E402
from geo.store.postgis import copy_store  # noqa: E402
from geo.updates import update_status  # noqa: E402

DEMO = ROOT / "data" / "demo.gpkg"

PROCESS = r"""
import datetime as dt, sys
sys.path.insert(0, sys.argv[1])
from geo.store import open_store
from geo.updates import update_status
update_status(open_store(sys.argv[2]), "kilns", sys.argv[3], sys.argv[4], dt.date(2007, 6, 30), "bench", "bench",
              today=dt.date(2007, 6, 30))
"""


def _copies(df: pd.DataFrame, n: int, key: str, rng, *, jitter: bool) -> pd.DataFrame:
    """``df`` repeated ``n`` times; copy k > 0 gets ``-k`` appended to ``key`` (and moved a little)."""
    parts = []
    for k in range(n):
        part = df.copy()
        if k:
            part[key] = part[key].astype(str) + f"-{k}"
            if jitter and isinstance(part, gpd.GeoDataFrame):
                d = rng.uniform(-0.05, 0.05, size=(len(part), 2))
                part = part.set_geometry(shapely.transform(part.geometry.values, lambda xy, d=d: xy + d),
                                         crs=part.crs)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=df.crs) if isinstance(df, gpd.GeoDataFrame) else out


def enlarge(frames: dict, sites: int, readings: int, seed: int = 1) -> dict:
    """The demo tables grown to about ``sites`` sites and ``readings`` readings (events follow their sites)."""
    rng = np.random.default_rng(seed)
    out = dict(frames)
    n_sites = sum(len(frames[t]) for t in SITE_LAYERS)
    k = max(1, round(sites / n_sites))
    ev = frames["status_events"]
    ev_parts = []
    for layer in SITE_LAYERS:
        out[layer] = _copies(frames[layer], k, "id", rng, jitter=True)
        ev_parts.append(_copies(ev[ev["layer"] == layer], k, "feature_id", rng, jitter=False))
    out["status_events"] = pd.concat(ev_parts, ignore_index=True)
    kr = max(1, round(readings / len(frames["readings"])))
    out["sampling_points"] = _copies(frames["sampling_points"], kr, "id", rng, jitter=True)
    out["readings"] = _copies(frames["readings"], kr, "point_id", rng, jitter=False)
    return out


def paired(fa, fb, repeat: int) -> tuple[float, float]:
    """Median times of ``fa()`` and ``fb()``, run alternately (a busy machine slows both alike), after a warm-up."""
    fa(), fb()  # warm-up (imports, first connection, first-write bookkeeping)
    ta, tb = [], []
    for _ in range(repeat):
        for fn, times in ((fa, ta), (fb, tb)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=100_000)
    ap.add_argument("--readings", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--store-pg", help="a PostGIS server URL whose role may create databases (default: throwaway)")
    args = ap.parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.store_pg:
            server = args.store_pg
        else:
            from tests.pg import throwaway_cluster

            server = stack.enter_context(throwaway_cluster(durable=True))
        from tests.pg import new_database

        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        demo_g = tmp / "demo.gpkg"
        shutil.copyfile(DEMO, demo_g)
        frames = GpkgStore(demo_g).read_many()
        t0 = time.perf_counter()
        big = enlarge(frames, args.sites, args.readings)
        big_g = tmp / "large.gpkg"
        GpkgStore(big_g, create=True).replace_all(big)
        demo_p, big_p = new_database(server), new_database(server)
        copy_store(GpkgStore(demo_g), open_store(demo_p, create=True))
        copy_store(GpkgStore(big_g), open_store(big_p, create=True))
        sizes = {t: len(big[t]) for t in ("enterprises", "kilns", "farms", "status_events", "readings")}
        print(f"large store: {sizes}; built in {time.perf_counter() - t0:.0f} s "
              f"({big_g.stat().st_size / 1e6:.0f} MB GeoPackage)", flush=True)

        print(f"{'one status update':<28}{'demo':>10}{'large':>10}{'ratio':>8}")
        for label, specs in (("GeoPackage", (demo_g, big_g)), ("PostGIS", (demo_p, big_p))):
            in_process, whole = [], []
            for spec in specs:
                store = open_store(spec)
                fid = store.read("kilns")["id"].iat[0]
                n = [0]

                def one(store=store, fid=fid, n=n):
                    n[0] += 1
                    update_status(store, "kilns", fid, STATUS["kilns"][n[0] % 4], dt.date(2007, 6, 30),
                                  f"b{n[0]}", "bench", today=dt.date(2007, 6, 30))

                def process(spec=spec, fid=fid):
                    subprocess.run([sys.executable, "-c", PROCESS, str(ROOT), str(spec), fid, "closed"], check=True)

                in_process.append(one)
                whole.append(process)
            d_in, b_in = paired(*in_process, args.repeat)
            d_proc, b_proc = paired(*whole, max(3, args.repeat // 2))
            print(f"{label + ', in process':<28}{d_in * 1000:8.1f}ms{b_in * 1000:8.1f}ms{b_in / d_in:8.2f}")
            print(f"{label + ', whole process':<28}{d_proc:9.2f}s{b_proc:9.2f}s{b_proc / d_proc:8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
