"""Ledger intake speed: read + check (+ commit) of a generated GBK CSV ledger against the demo store.

Run: python bench/intake.py [ROWS]   (default 2000; a district ledger has a few hundred rows)
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo import intake  # noqa: E402
from geo.store import DEMO_STORE, open_store  # noqa: E402


def main(rows: int = 2000) -> None:
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "s.gpkg"
        shutil.copyfile(DEMO_STORE, store_path)
        store = open_store(store_path)
        # Real site positions (inside the district) with a few metres of jitter.
        import shapely

        pts = np.concatenate([store.read(t).geometry.values for t in ("enterprises", "kilns", "farms")])
        pick = pts[rng.integers(0, len(pts), rows)]
        lon = shapely.get_x(pick) + rng.normal(0, 2e-5, rows)
        lat = shapely.get_y(pick) + rng.normal(0, 2e-5, rows)
        lines = ["编号,企业名称,经度,纬度,所属乡镇,行业,状态,关停日期,整改期限"]
        for i in range(rows):
            lines.append(f"B{i:06d},企业{i},{lon[i]:.6f},{lat[i]:.6f},樟潭街道,化工,"
                         f"{'已关停' if i % 3 == 0 else '在产'},{'2007年5月1日' if i % 3 == 0 else ''},2007/9/30")
        f = Path(tmp) / "ledger.csv"
        f.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
        t0 = time.perf_counter()
        ledger = intake.read_ledger(f, layer="enterprises")
        t1 = time.perf_counter()
        res = intake.prepare_for_store(store, ledger, "enterprises", datum="wgs84", user="bench")
        t2 = time.perf_counter()
        intake.commit(store, res)
        t3 = time.perf_counter()
        print(f"intake {rows} rows: read {t1 - t0:.2f} s, check {t2 - t1:.2f} s, commit {t3 - t2:.2f} s; "
              f"{len(res.errors)} errors, {len(res.warnings)} warnings, {len(res.events)} events")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
