"""Timing of geo.progress at district, city and province scale on synthetic ledgers.

    python bench/bench_progress.py [--sites 100000] [--townships 1400]

Townships are a grid of boxes; every site has an ``operating`` event and about
half get a later closing/treating event, so ``status_events`` holds ~1.5
events per site. Prints one line per function with the wall time.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from geo import contract  # noqa: E402
from geo import progress as P  # noqa: E402


def synthetic(n_sites: int, n_towns: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_towns)))
    ix, iy = np.divmod(np.arange(n_towns), side)
    d = 0.05
    towns = gpd.GeoDataFrame({"code": [f"T{i:05d}" for i in range(n_towns)], "name": [f"镇{i}" for i in range(n_towns)],
                              "kind": "镇"}, geometry=shapely.box(118 + ix * d, 28 + iy * d, 118 + (ix + 1) * d,
                                                                   28 + (iy + 1) * d), crs="EPSG:4326")
    x0, y0, x1, y1 = towns.total_bounds
    frames = {"townships": towns}
    events = []
    per = {"enterprises": n_sites // 4, "kilns": n_sites // 4, "farms": n_sites - 2 * (n_sites // 4)}
    for layer, n in per.items():
        ids = np.array([f"{layer[0]}{i}" for i in range(n)], dtype=object)
        pts = shapely.points(rng.uniform(x0, x1, n), rng.uniform(y0, y1, n))
        df = gpd.GeoDataFrame({"id": ids, "name": ids}, geometry=pts, crs="EPSG:4326")
        if layer == "enterprises":
            df["industry"] = rng.choice(["化工", "造纸", "电镀"], n)
            df["park"] = np.where(rng.random(n) < 0.3, P.CHEMICAL_PARK, None)
            df["deadline"] = pd.Timestamp("2007-09-30")
            df["department"] = np.where(rng.random(n) < 0.1, "环保局", None)
            done = ["closed", "relocated", "committed"]
        elif layer == "kilns":
            df["kind"] = rng.choice(["kiln", "shed"], n)
            df["village"] = "村"
            done = ["closed", "rebuilt", "relocated"]
        else:
            df["species"] = rng.choice(["猪", "牛"], n)
            df["deadline"] = pd.Timestamp("2007-09-30")
            done = ["treating", "accepted", "closed"]
        df["status"] = "operating"
        frames[layer] = contract.coerce(layer, df)  # contract dtypes, as a store returns them
        events.append(pd.DataFrame({"layer": layer, "feature_id": ids, "status": "operating",
                                    "effective_on": pd.Timestamp("2004-01-01")}))
        later = rng.random(n) < 0.5
        events.append(pd.DataFrame({"layer": layer, "feature_id": ids[later], "status": rng.choice(done, later.sum()),
                                    "effective_on": pd.Timestamp("2005-01-01")
                                    + pd.to_timedelta(rng.integers(0, 900, later.sum()), unit="D")}))
    ev = pd.concat(events, ignore_index=True)
    ev["recorded_at"] = ev["effective_on"]
    frames["status_events"] = contract.coerce("status_events", ev)
    return frames


def timed(label: str, fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    print(f"{label:<38} {time.perf_counter() - t:7.3f} s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, nargs="*", default=[1000, 10000, 100000])
    ap.add_argument("--townships", type=int, nargs="*", default=[20, 100, 1400])
    a = ap.parse_args()
    for n, t in zip(a.sites, a.townships):
        print(f"--- {n} sites, {t} townships")
        raw = synthetic(n, t)
        print(f"{'status_events rows':<38} {len(raw['status_events']):7d}")
        f = timed("prepare (township join)", P.prepare, raw)
        timed("counts", P.counts, f, "2007-06-30")
        timed("kpis", P.kpis, f, "2007-06-30")
        timed("completion chemical", P.completion, f, "chemical", "2007-06-30")
        timed("timeline lime (cumulative+projection)", P.timeline, f, "lime", "2007-06-30")
        timed("overdue 2007-10-01", P.overdue, f, "2007-10-01")
        timed("township_ranking", P.township_ranking, f, "2007-06-30")


if __name__ == "__main__":
    main()
