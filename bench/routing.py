"""Routing benchmark: gaps to the proven optima of four TSPLIB instances.

    python bench/routing.py [--seconds 5] [--seed 0] [--only ch150] [--pyvrp-only] [--elkai]

Distances are TSPLIB EUC_2D: Euclidean distance rounded to the nearest integer
(nint). ``--pyvrp-only`` runs PyVRP with default settings for the same time
(the baseline the hybrid in :mod:`geo.routing` improves on); ``--elkai`` adds
LKH through elkai as a reference when that package is installed (LKH's
licence is non-commercial: reference only, never used by the app).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.routing import route_cost, solve  # noqa: E402

DATA = Path(__file__).resolve().parent / "tsplib"
OPTIMA = {"berlin52": 7542, "eil101": 629, "kroA100": 21282, "ch150": 6528}


def read_tsp(path: Path) -> np.ndarray:
    """Node coordinates of an EUC_2D TSPLIB file, shape (n, 2)."""
    coords, on = [], False
    for line in path.read_text().splitlines():
        parts = line.replace(":", " ").split()
        if not parts:
            continue
        if parts[0] == "EDGE_WEIGHT_TYPE" and parts[-1] != "EUC_2D":
            raise ValueError(f"{path.name}: only EUC_2D is supported")
        if parts[0] == "NODE_COORD_SECTION":
            on = True
        elif parts[0] == "EOF":
            break
        elif on:
            coords.append((float(parts[1]), float(parts[2])))
    return np.array(coords)


def euc2d(xy: np.ndarray) -> np.ndarray:
    """TSPLIB EUC_2D distances: nint of the Euclidean distance."""
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    return np.floor(d + 0.5).astype(np.int64)


def pyvrp_default(c: np.ndarray, seconds: float, seed: int) -> list[int]:
    from pyvrp import Client, Depot, Location, ProblemData, VehicleType
    from pyvrp import solve as pyvrp_solve
    from pyvrp.stop import MaxRuntime

    n = len(c)
    data = ProblemData([Location(0, 0)] * n, [Client(location=i) for i in range(1, n)], [Depot(0)],
                       [VehicleType(1)], [c], [c])
    best = pyvrp_solve(data, MaxRuntime(seconds), seed=seed, collect_stats=False).best
    return [a.idx + 1 for r in best.routes() for a in r if a.is_client()]


def elkai_tour(c: np.ndarray) -> list[int]:
    import elkai

    tour = elkai.DistanceMatrix(c.tolist()).solve_tsp()  # starts and ends at 0
    return [v for v in tour if v != 0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", default=list(OPTIMA))
    ap.add_argument("--pyvrp-only", action="store_true", help="PyVRP defaults only (baseline)")
    ap.add_argument("--elkai", action="store_true", help="also LKH via elkai, if installed (reference only)")
    args = ap.parse_args(argv)
    print(f"{'instance':10} {'n':>4} {'optimum':>8} {'found':>8} {'gap %':>6} {'time s':>7}  solver")
    gaps = []
    for name in args.only:
        c = euc2d(read_tsp(DATA / f"{name}.tsp"))
        solvers = [("pyvrp-default" if args.pyvrp_only else "geo.routing",
                    (lambda c=c: pyvrp_default(c, args.seconds, args.seed)) if args.pyvrp_only
                    else (lambda c=c: solve(c, time_limit_s=args.seconds, seed=args.seed).routes[0]))]
        if args.elkai:
            solvers.append(("elkai (LKH, reference)", lambda c=c: elkai_tour(c)))
        for label, fn in solvers:
            t0 = time.perf_counter()
            try:
                tour = fn()
            except ImportError:
                print(f"{name:10} {'':>4} {'':>8} {'':>8} {'':>6} {'':>7}  {label}: not installed")
                continue
            seconds = time.perf_counter() - t0
            assert sorted(tour) == list(range(1, len(c))), "not a tour"
            cost = route_cost(tour, c)
            gap = 100.0 * (cost / OPTIMA[name] - 1)
            if label == "geo.routing" or label == "pyvrp-default":
                gaps.append(gap)
            print(f"{name:10} {len(c):>4} {OPTIMA[name]:>8} {cost:>8} {gap:>6.2f} {seconds:>7.2f}  {label}",
                  flush=True)
    if gaps:
        print(f"mean gap {np.mean(gaps):.2f} %, worst {max(gaps):.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
