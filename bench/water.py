"""Timing of the water quality core at district to province scale.

    python bench/water.py [--scale 1]

Synthetic readings (seeded): classify and single-factor assessment of 10⁶
readings, the latest assessment over many points, trends, a lab file parse.
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo import water  # noqa: E402
from geo.intake.lab import parse_lab_file  # noqa: E402


def timed(label: str, fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    print(f"{label:<58} {time.perf_counter() - t:8.3f} s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    pars = np.array([p for p in water.STANDARD if p != "WT"], dtype=object)
    n = int(1_000_000 * a.scale)
    par = pars[rng.integers(0, len(pars), n)]
    wb = np.where(rng.random(n) < 0.3, "lake", "river").astype(object)
    val = rng.lognormal(-1, 1.5, n)
    timed(f"classify {n:,} readings", water.classify, par, val, wb)
    n_pts = int(1400 * a.scale)
    df = pd.DataFrame({"site": rng.integers(0, n_pts, n), "parameter": par, "value": val, "waterbody": wb})
    timed(f"site_class of {n:,} readings at {n_pts:,} sites", water.site_class, df, "site")

    # Province: 1,400 automatic stations, 9 parameters, every 4 hours for 30 days.
    import geopandas as gpd
    import shapely

    pts = gpd.GeoDataFrame({"id": [f"S{i:05d}" for i in range(n_pts)], "name": "站", "kind": "section",
                            "waterbody": np.where(np.arange(n_pts) % 5 == 0, "lake", "river"), "target_class": 3},
                           geometry=shapely.points(rng.uniform(118, 122, n_pts), rng.uniform(27, 31, n_pts)), crs=4326)
    times = pd.date_range("2007-06-01", "2007-06-30 20:00", freq="4h")
    nine = ["pH", "DO", "CODMn", "COD", "NH3-N", "TP", "TN", "WT", "Cd"]
    idx = pd.MultiIndex.from_product([pts["id"], times, nine], names=["point_id", "sampled_at", "parameter"])
    rd = idx.to_frame(index=False)
    rd["value"] = rng.lognormal(-0.5, 1.0, len(rd))
    rd["unit"] = "mg/L"
    rd["below_detection"] = False
    frames = {"sampling_points": pts, "readings": rd}
    timed(f"latest_assessment: {n_pts:,} stations, {len(rd):,} readings", water.latest_assessment, frames,
          as_of="2007-06-30")
    sub = rd[rd["point_id"].isin(pts["id"][:100])]
    timed(f"trend: 100 stations x 9 parameters ({len(sub):,} readings)", water.trend, sub)

    # A lab file of 10,000 rows.
    n_rows = int(10_000 * a.scale)
    lab = pd.DataFrame({"点位": rng.choice(pts["id"], n_rows), "采样时间": "2007-07-03 09:30",
                        "指标": rng.choice(["氨氮", "总磷", "COD", "镉", "pH"], n_rows),
                        "数值": np.round(rng.uniform(0.001, 1, n_rows), 4).astype(str), "单位": "mg/L"})
    lab.loc[lab["指标"] == "pH", "单位"] = "无量纲"
    lab["采样时间"] = pd.Timestamp("2007-07-03 09:30") + pd.to_timedelta(np.arange(n_rows), unit="min")
    buf = io.BytesIO(lab.to_csv(index=False).encode("utf-8"))
    buf.name = "lab.csv"
    empty = rd.iloc[:0]
    r, problems = timed(f"parse_lab_file: {n_rows:,} rows", parse_lab_file, buf,
                        {"sampling_points": pts, "readings": empty})
    assert not problems and len(r) == n_rows, problems[:3]


if __name__ == "__main__":
    main()
