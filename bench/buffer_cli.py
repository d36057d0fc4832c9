"""Whole-process benchmark of ``python -m geo buffer`` against a plain GeoPandas script (issue 13, item 5).

    python bench/buffer_cli.py                          # 300 000 farms × 10 000 rivers, 5 runs each
    python bench/buffer_cli.py --store /tmp/p.gpkg      # build the store there once, reuse it after
    python bench/buffer_cli.py --farms 20000 --rivers 1000 --runs 3   # a quick look

The store is a synthetic province written by :mod:`geo.synth` (GeoPackage),
sized so that it holds ``--farms`` farms (the other site layers come with them
in the contract's shares: twice as many sites in all) and ``--rivers`` rivers;
readings and sampling points are kept small, they play no part in the check.
Building 300 000 farms takes a few minutes: pass ``--store`` to keep the file.

Two commands are timed as whole processes (interpreter start, imports, reads,
computation, output file), in turn A B A B … after one warm-up of each:

- the anchor, ``bench/buffer_anchor.py``: read farms and rivers with GeoPandas,
  ``to_crs`` the UTM zone, buffer D + width/2, ``sjoin``, write a CSV;
- ours: ``python -m geo buffer --layers farms --distance D --out x.csv``.

For every run the wall time and the child's own CPU time (user + system, from
``os.wait4``) are recorded; the table gives each one's median (min–max) and
the ratio anchor/ours pair by pair (median, min–max), so a drift of the shared
machine's speed between pairs does not bias it. The machine is shared: quote
the medians and ratios from one run.

The two lists are then compared. Where they disagree, the sites are
re-measured independently (azimuthal equidistant plane at the site from
``pyproj.Geod``, every river segment within ~2 km) to show which list is right.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ANCHOR = ROOT / "bench" / "buffer_anchor.py"


def build_store(path: Path, farms: int, rivers: int) -> None:
    from geo import synth

    t = time.perf_counter()
    # Farms are half of all sites (geo.synth.LAYER_SHARES); readings and sampling points stay small.
    sites = int(round(farms / synth.LAYER_SHARES["farms"]))
    synth.write(path, check=False, sites=sites, rivers=rivers, readings=5000, sampling_points=50)
    print(f"built {path} in {time.perf_counter() - t:.0f} s", flush=True)


def run_once(cmd: list[str], env: dict) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (the child's user + system) and exit code of one whole-process run."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def _span(xs: list[float], fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


def compare(store: Path, ours_csv: Path, anchor_csv: Path, distance: float) -> None:
    """How the two lists differ, and who is right on the sites where they do."""
    import pandas as pd

    ours = pd.read_csv(ours_csv, dtype={"id": str})
    anchor = pd.read_csv(anchor_csv, dtype={"id": str})
    a, b = set(ours["id"]), set(anchor["id"])
    print(f"violations: ours {len(a):,}, anchor {len(b):,}; only ours {len(a - b):,}, only anchor {len(b - a):,}")
    only = sorted(a ^ b)
    if not only:
        return
    rng = __import__("numpy").random.default_rng(0)
    sample = list(rng.choice(only, size=min(200, len(only)), replace=False))
    d = truth(store, sample)
    right = sum((d[i] <= distance) == (s in a) for i, s in enumerate(sample))
    print(f"  geodesic re-measure of {len(sample)} of them: ours right on {right}, the anchor on {len(sample) - right}")


def truth(store: Path, ids: list[str]):
    """Rule distance of farms ``ids`` by an independent geodesic computation (AEQD at each site): river
    centre lines less half their width, reservoir edges, 0 inside a reservoir."""
    import numpy as np
    import pyogrio
    import pyproj
    import shapely

    farms = pyogrio.read_dataframe(store, layer="farms", columns=["id"])
    farms = farms[farms["id"].isin(ids)].set_index("id").loc[ids]
    rivers = pyogrio.read_dataframe(store, layer="rivers", columns=["width_m"])
    lakes = pyogrio.read_dataframe(store, layer="waterbodies", columns=[])
    segs, halves = [], []
    for geoms, widths in ((rivers.geometry.values, rivers["width_m"].fillna(0).to_numpy(float)),
                          (lakes.geometry.values, np.zeros(len(lakes)))):
        parts, owner = shapely.get_parts(geoms, return_index=True)
        if len(parts) and shapely.get_type_id(parts[0]) == 3:
            parts, ring_owner = shapely.get_rings(parts, return_index=True)
            owner = owner[ring_owner]
        coords, idx = shapely.get_coordinates(parts, return_index=True)
        same = np.flatnonzero(idx[:-1] == idx[1:])
        segs.append(np.column_stack([coords[same], coords[same + 1]]))
        halves.append(widths[owner[idx[same]]] / 2)
    seg, half = np.vstack(segs), np.concatenate(halves)
    lon_all, lat_all = shapely.get_x(farms.geometry.values), shapely.get_y(farms.geometry.values)
    inside = shapely.contains_xy(shapely.union_all(lakes.geometry.values), lon_all, lat_all) if len(lakes) else \
        np.zeros(len(ids), bool)
    geod = pyproj.Geod(ellps="GRS80")
    out = np.empty(len(ids))
    for n, (lon, lat) in enumerate(zip(lon_all, lat_all)):
        near = np.flatnonzero((np.abs(seg[:, 0] - lon) < 0.03) & (np.abs(seg[:, 1] - lat) < 0.03))
        if inside[n] or len(near) == 0:
            out[n] = 0.0 if inside[n] else np.inf
            continue
        s, ones = seg[near], np.ones(len(near))
        az1, _, d1 = geod.inv(lon * ones, lat * ones, s[:, 0], s[:, 1])
        az2, _, d2 = geod.inv(lon * ones, lat * ones, s[:, 2], s[:, 3])
        ax, ay = d1 * np.sin(np.radians(az1)), d1 * np.cos(np.radians(az1))
        bx, by = d2 * np.sin(np.radians(az2)), d2 * np.cos(np.radians(az2))
        dx, dy = bx - ax, by - ay
        len2 = dx * dx + dy * dy
        t = np.clip(np.where(len2 > 0, -(ax * dx + ay * dy) / np.where(len2 > 0, len2, 1), 0), 0, 1)
        out[n] = np.round(np.min(np.maximum(np.hypot(ax + t * dx, ay + t * dy) - half[near], 0)), 3)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--farms", type=int, default=300_000)
    ap.add_argument("--rivers", type=int, default=10_000)
    ap.add_argument("--distance", type=float, default=200.0)
    ap.add_argument("--runs", type=int, default=5, help="counted runs of each command (default 5)")
    ap.add_argument("--store", type=Path, help="GeoPackage to use; built there when absent (default: a temporary one)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="qingshan-buffer-cli-") as tmp:
        tmp = Path(tmp)
        store = args.store.resolve() if args.store else tmp / "province.gpkg"
        if not store.exists():
            build_store(store, args.farms, args.rivers)
        ours_csv, anchor_csv = tmp / "ours.csv", tmp / "anchor.csv"
        env = {k: v for k, v in os.environ.items() if k != "QINGSHAN_STORE"}
        py = sys.executable
        cmds = {
            "anchor": [py, str(ANCHOR), str(store), str(anchor_csv), f"{args.distance:g}"],
            "ours": [py, "-m", "geo", "buffer", "--store", str(store), "--layers", "farms",
                     "--distance", f"{args.distance:g}", "--out", str(ours_csv)],
        }
        import pyogrio

        n_farms = pyogrio.read_info(store, layer="farms")["features"]
        n_rivers = pyogrio.read_info(store, layer="rivers")["features"]
        print(f"{n_farms:,} farms × {n_rivers:,} rivers, D = {args.distance:g} m, {os.cpu_count()} cores, "
              f"1 warm-up + {args.runs} runs of each, alternating", flush=True)
        for cmd in cmds.values():  # warm-up: file cache, bytecode
            run_once(cmd, env)
        wall = {k: [] for k in cmds}
        cpu = {k: [] for k in cmds}
        for _ in range(args.runs):
            for name, cmd in cmds.items():
                w, c, _ = run_once(cmd, env)
                wall[name].append(w)
                cpu[name].append(c)
        print(f"{'':<8}{'wall s, median (min–max)':>28}{'cpu s, median (min–max)':>28}")
        for name in cmds:
            print(f"{name:<8}{_span(wall[name]):>28}{_span(cpu[name]):>28}")
        rw = [a / o for a, o in zip(wall["anchor"], wall["ours"])]
        rc = [a / o for a, o in zip(cpu["anchor"], cpu["ours"])]
        print(f"{'ratio':<8}{_span(rw, '{:.2f}×'):>28}{_span(rc, '{:.2f}×'):>28}   (anchor / ours, pair by pair)")
        compare(store, ours_csv, anchor_csv, args.distance)
    return 0


if __name__ == "__main__":
    sys.exit(main())
