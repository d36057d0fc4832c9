"""A province's automatic stations, one day at a time: ``geo water import`` as a whole process, day after day.

    python bench/readings_import.py                       # 3,000 stations, GeoPackage (~3 min, 2 cores)
    python bench/readings_import.py --backends gpkg,pg    # and PostGIS in a throwaway cluster (fsync on)
    python bench/readings_import.py --quick               # 300 stations: does the bench itself work?

A province-like store is built by :mod:`geo.synth` (``--points`` sampling points, ``--sites`` sites,
``--stored`` weekly readings already in it), then three lab files in the long layout (点位, 采样时间, 指标,
数值, 单位; UTF-8 CSV) are imported, each by a fresh ``python -m geo water import FILE --store S``:

1. day 1: every station every 4 hours, 7 parameters, about 5 % of the values missing (≈ 120,000 rows at
   3,000 stations, like the platform's automatic stations), a few below detection (``<0.01``);
2. day 2: the next day, as many rows: the store now holds day 1 too;
3. day 1 again: every row is already stored, so the import is refused and must say how many.

Each run's wall time and peak resident memory come from the child's own ``rusage`` (``os.wait4``). The
anchor is day 1 of the same run: day 2 / day 1 says whether an import slows down as the store grows.
Goals (the task): day 2 / day 1 ≤ 1.2, every import ≤ 10 s and ≤ 300 MB, and the re-import's error count
equal to its rows.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_RATIO, GOAL_SECONDS, GOAL_MB = 1.2, 10.0, 300.0
DAY1, DAY2 = "2007-06-28", "2007-06-29"   # before the synthetic store's as_of (2007-06-30): not in the future
PARAMETERS = {"pH": ("pH", "无量纲"), "DO": ("溶解氧", "mg/L"), "CODMn": ("高锰酸盐指数", "mg/L"),
              "NH3-N": ("氨氮", "mg/L"), "TP": ("总磷", "mg/L"), "TN": ("总氮", "mg/L"), "WT": ("水温", "℃")}


def python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def build_store(path: Path, points: int, sites: int, stored: int) -> float:
    """The synthetic province at ``path``, built in a child process (this one stays small); seconds."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from geo import synth; "
            "synth.write(sys.argv[2], sites=int(sys.argv[3]), sampling_points=int(sys.argv[4]), "
            "readings=int(sys.argv[5]), check=False)")
    t0 = time.perf_counter()
    subprocess.run([python(), "-c", code, str(ROOT), str(path), str(sites), str(points), str(stored)],
                   check=True, cwd=ROOT)
    return time.perf_counter() - t0


def point_ids(spec: str) -> list[str]:
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from geo.store import open_store; "
            "print('\\n'.join(open_store(sys.argv[2]).read('sampling_points')['id']))")
    out = subprocess.run([python(), "-c", code, str(ROOT), spec], check=True, capture_output=True, text=True)
    return out.stdout.split()


def day_file(path: Path, ids: list[str], day: str, seed: int) -> int:
    """One day of every station (every 4 hours, :data:`PARAMETERS`) as a lab CSV; the number of data rows."""
    rng = np.random.default_rng(seed)
    times = pd.date_range(day, periods=6, freq="4h").strftime("%Y-%m-%d %H:%M")
    codes = list(PARAMETERS)
    idx = pd.MultiIndex.from_product([ids, times, codes], names=["pid", "t", "code"]).to_frame(index=False)
    idx = idx[rng.random(len(idx)) >= 0.05]  # a station's analyser is down now and then
    n = len(idx)
    base = {"pH": (7.3, 0.3), "DO": (7.5, 1.2), "CODMn": (3.5, 1.0), "NH3-N": (0.4, 0.2), "TP": (0.1, 0.05),
            "TN": (1.2, 0.4), "WT": (24.0, 2.0)}
    mean = idx["code"].map({k: v[0] for k, v in base.items()}).to_numpy()
    sd = idx["code"].map({k: v[1] for k, v in base.items()}).to_numpy()
    value = np.round(np.abs(rng.normal(mean, sd)), 3).astype(str).astype(object)
    low = (idx["code"] == "TP").to_numpy() & (rng.random(n) < 0.02)
    value[low] = "<0.01"
    lab = pd.DataFrame({"点位": idx["pid"].to_numpy(), "采样时间": idx["t"].to_numpy(),
                        "指标": idx["code"].map({k: v[0] for k, v in PARAMETERS.items()}).to_numpy(),
                        "数值": value, "单位": idx["code"].map({k: v[1] for k, v in PARAMETERS.items()}).to_numpy()})
    lab.to_csv(path, index=False, encoding="utf-8")
    return n


def run_import(spec: str, lab: Path) -> dict:
    """``python -m geo water import`` in a child: its exit code, wall seconds, peak RSS (MB), stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("QINGSHAN_CONFIG", None)
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([python(), "-m", "geo", "water", "import", str(lab), "--store", spec],
                                cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        out.seek(0)
        text = err.read().decode("utf-8", "replace")
        stdout = out.read().decode("utf-8", "replace")
    # ru_maxrss is in KiB on Linux
    return {"rc": proc.returncode, "s": wall, "mb": usage.ru_maxrss / 1024, "stderr": text, "stdout": stdout}


def error_total(stderr: str) -> int | None:
    """The total the refusal states (``118,764 处错误``), else ``None``."""
    m = re.search(r"([\d,]+) 处错误", stderr)
    return int(m.group(1).replace(",", "")) if m else None


def bench_backend(label: str, spec: str, files: list[tuple[str, Path, int]]) -> list[dict]:
    results = []
    for name, lab, rows in files:
        r = run_import(spec, lab)
        r.update(name=name, rows=rows, errors=error_total(r["stderr"]))
        results.append(r)
        print(f"[{label}] {name}: exit {r['rc']}, {r['s']:.2f} s, {r['mb']:.0f} MB"
              + (f", {r['errors']:,} errors" if r["errors"] is not None else ""), file=sys.stderr, flush=True)
        if name != "day 1 again" and r["rc"] != 0:
            raise RuntimeError(f"{name} failed ({r['rc']}):\n{r['stderr'][-3000:]}")
    return results


def report(label: str, res: list[dict]) -> bool:
    d1, d2, again = res
    ratio_s, ratio_mb = d2["s"] / d1["s"], d2["mb"] / d1["mb"]
    ok_ratio = ratio_s <= GOAL_RATIO
    ok_s = all(r["s"] <= GOAL_SECONDS for r in res)
    ok_mb = all(r["mb"] <= GOAL_MB for r in res)
    ok_count = again["rc"] == 2 and again["errors"] == again["rows"]
    print(f"\n{label}")
    print(f"{'import':<16}{'rows':>10}{'exit':>6}{'seconds':>10}{'peak MB':>10}{'errors':>10}{'× day 1 s':>11}"
          f"{'× day 1 MB':>12}")
    for r in res:
        errs = "" if r["errors"] is None else f"{r['errors']:,}"
        print(f"{r['name']:<16}{r['rows']:>10,}{r['rc']:>6}{r['s']:>10.2f}{r['mb']:>10.0f}{errs:>10}"
              f"{r['s'] / d1['s']:>11.2f}{r['mb'] / d1['mb']:>12.2f}")
    print(f"goal day 2 / day 1 ≤ {GOAL_RATIO}: {ratio_s:.2f} (memory {ratio_mb:.2f}) — {'met' if ok_ratio else 'MISSED'}")
    print(f"goal ≤ {GOAL_SECONDS:g} s each: max {max(r['s'] for r in res):.2f} s — {'met' if ok_s else 'MISSED'}")
    print(f"goal ≤ {GOAL_MB:g} MB each: max {max(r['mb'] for r in res):.0f} MB — {'met' if ok_mb else 'MISSED'}")
    print(f"re-import refused with the true count: {again['errors']} of {again['rows']:,} rows — "
          f"{'met' if ok_count else 'MISSED'}", flush=True)
    return ok_ratio and ok_s and ok_mb and ok_count


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=3000, help="sampling points (stations)")
    ap.add_argument("--sites", type=int, default=20_000, help="sites of the synthetic province")
    ap.add_argument("--stored", type=int, default=500_000, help="weekly readings already in the store")
    ap.add_argument("--backends", default="gpkg", help="gpkg, pg or gpkg,pg")
    ap.add_argument("--quick", action="store_true", help="300 stations, 5,000 sites, 50,000 stored readings")
    args = ap.parse_args(argv)
    if args.quick:
        args.points, args.sites, args.stored = 300, 5000, 50_000
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    ok = True
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-readings-")))
        gpkg = tmp / "province.gpkg"
        took = build_store(gpkg, args.points, args.sites, args.stored)
        ids = point_ids(str(gpkg))
        files = []
        for name, day, seed in (("day 1", DAY1, 1), ("day 2", DAY2, 2)):
            f = tmp / f"{day}.csv"
            files.append((name, f, day_file(f, ids, day, seed)))
        files.append(("day 1 again", files[0][1], files[0][2]))
        print(f"store: {len(ids):,} sampling points, {args.sites:,} sites, ~{args.stored:,} stored readings "
              f"(built in {took:.0f} s, {gpkg.stat().st_size / 1e6:.0f} MB); day files "
              f"{files[0][2]:,} and {files[1][2]:,} rows ({files[0][1].stat().st_size / 1e6:.1f} MB each)",
              flush=True)
        specs = {}
        if "gpkg" in backends:
            fresh = tmp / "gpkg.gpkg"
            fresh.write_bytes(gpkg.read_bytes())
            specs["GeoPackage"] = str(fresh)
        if "pg" in backends:
            from tests.pg import new_database, throwaway_cluster

            server = stack.enter_context(throwaway_cluster(durable=True))
            url = new_database(server)
            subprocess.run([python(), "-m", "geo", "copy", str(gpkg), url], check=True, cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True)
            specs["PostGIS"] = url
        for label, spec in specs.items():
            ok &= report(label, bench_backend(label, spec, files))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
