"""Vehicle routing on a cost matrix: one day's tours for one or more teams.

The solver is a hybrid of two permissively licensed parts, fit for
deployment by public bodies:

1. PyVRP (MIT licence), a state-of-the-art iterated local search for vehicle
   routing, assigns stops to teams and orders them, honouring the length of the
   working day (``max_duration``) and dropping optional stops whose prize does
   not pay for the detour (prize-collecting).
2. An intra-route polish written here (numpy, vectorised): 2-opt plus Or-opt
   (segments of 1–3 stops moved, optionally reversed), wrapped in an iterated
   local search with segment-local double-bridge kicks. PyVRP's operators are
   relocations, swaps and tail exchanges between routes and lack intra-route
   2-opt, so on single long tours it stalls a few per cent above the optimum;
   the polish closes that gap (see ``bench/routing.py``: ≤ 0.5 % on berlin52,
   eil101, kroA100 and ch150 in 5 s). The polish only ever shortens a route,
   so the day limit and the set of visited stops stay as PyVRP left them.

LKH (the reference heuristic for the TSP) is free only for academic and
non-commercial use and is therefore not used here; ``bench/routing.py`` may
compare against it when ``elkai`` happens to be installed.

Costs are integers (seconds of travel in :mod:`geo.patrol`); node 0 is the
depot, where every team starts and ends.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Plan", "solve", "solve_matrix", "route_cost", "polish_route"]


@dataclass
class Plan:
    """A solved routing problem.

    Attributes
    ----------
    routes
        One list per team of node indices in visiting order (depot excluded);
        empty lists for teams with nothing to do.
    dropped
        Optional nodes left out (their prize did not pay for the detour, or the
        day was full), sorted.
    missing
        Required nodes left out: only when no feasible plan was found.
    travel
        Travel cost of each team's tour (depot to depot).
    duration
        Travel plus service of each team's tour.
    feasible
        True when every required node is visited and every tour fits ``max_duration``.
    """

    routes: list[list[int]]
    dropped: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    travel: list[int] = field(default_factory=list)
    duration: list[int] = field(default_factory=list)
    feasible: bool = True
    seconds: float = 0.0

    @property
    def cost(self) -> int:
        """Total travel cost of all tours."""
        return int(sum(self.travel))


# --- small helpers -------------------------------------------------------------------------

def route_cost(route, matrix) -> int:
    """Cost of the closed tour depot → ``route`` → depot."""
    c = np.asarray(matrix)
    t = np.concatenate([[0], np.asarray(route, dtype=np.int64), [0]])
    return int(c[t[:-1], t[1:]].sum())


def _as_matrix(matrix) -> np.ndarray:
    c = np.asarray(matrix)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 1:
        raise ValueError("matrix must be square with at least the depot (node 0)")
    if not np.all(np.isfinite(c)):
        raise ValueError("matrix holds non-finite costs (unreachable stops?)")
    if np.any(c < 0):
        raise ValueError("matrix holds negative costs")
    if not np.issubdtype(c.dtype, np.integer):
        if not np.allclose(c, np.rint(c)):
            raise ValueError("matrix must hold integer costs (round travel times to seconds)")
        c = np.rint(c)
    return c.astype(np.int64)


def _node_vector(values, n: int, name: str, dtype=np.int64) -> np.ndarray:
    v = np.asarray(values, dtype=float if dtype is not bool else bool)
    if v.shape != (n,):
        raise ValueError(f"{name} must have one value per node ({n}), got shape {v.shape}")
    if dtype is bool:
        return v.astype(bool)
    if np.any(v < 0) or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite and non-negative")
    return np.rint(v).astype(np.int64)


# --- intra-route polish: 2-opt + Or-opt, exact for asymmetric matrices ----------------------

def _best_two_opt(t: np.ndarray, c: np.ndarray) -> tuple[int, int, int]:
    """Best reversal of a segment t[i..j] (1 ≤ i < j ≤ len-2) of the closed tour ``t``."""
    n = len(t)
    fp = np.concatenate([[0], np.cumsum(c[t[:-1], t[1:]])])  # prefix sums of forward edges
    bp = np.concatenate([[0], np.cumsum(c[t[1:], t[:-1]])])  # ... of the same edges reversed
    i = np.arange(1, n - 1)[:, None]
    j = np.arange(1, n - 1)[None, :]
    d = (c[t[i - 1], t[j]] + (bp[j] - bp[i]) + c[t[i], t[j + 1]]
         - c[t[i - 1], t[i]] - (fp[j] - fp[i]) - c[t[j], t[j + 1]])
    d = np.where(j > i, d, 0)
    k = int(np.argmin(d))
    a, b = divmod(k, d.shape[1])
    return int(d.flat[k]), a + 1, b + 1


def _best_or_opt(t: np.ndarray, c: np.ndarray, kmax: int = 3) -> tuple[int, tuple | None]:
    """Best move of a segment of 1..``kmax`` stops to another edge, kept or reversed."""
    n = len(t)
    fp = np.concatenate([[0], np.cumsum(c[t[:-1], t[1:]])])
    bp = np.concatenate([[0], np.cumsum(c[t[1:], t[:-1]])])
    best: tuple[int, tuple | None] = (0, None)
    p = np.arange(0, n - 1)[None, :]  # insert between t[p] and t[p+1]
    a, b = t[p], t[p + 1]
    for k in range(1, kmax + 1):
        if n - 2 < k + 1:
            break
        i = np.arange(1, n - k)[:, None]  # segment t[i..e]
        e = i + k - 1
        gain = c[t[i - 1], t[i]] + c[t[e], t[e + 1]] - c[t[i - 1], t[e + 1]]
        valid = (p <= i - 2) | (p >= e + 1)
        ins_fwd = c[a, t[i]] + c[t[e], b] - c[a, b]
        ins_rev = c[a, t[e]] + c[t[i], b] - c[a, b] + (bp[e] - bp[i]) - (fp[e] - fp[i])
        for rev, ins in ((False, ins_fwd), (True, ins_rev)):
            d = np.where(valid, ins - gain, 0)
            m = int(np.argmin(d))
            if d.flat[m] < best[0]:
                ii, pp = divmod(m, d.shape[1])
                best = (int(d.flat[m]), (ii + 1, k, pp, rev))
    return best


def _local_search(t: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Apply the best 2-opt or Or-opt move until none improves (best improvement)."""
    while len(t) > 3:
        d2, i, j = _best_two_opt(t, c)
        d3, mv = _best_or_opt(t, c)
        if min(d2, d3) >= 0:
            break
        if d2 <= d3:
            t = np.concatenate([t[:i], t[i:j + 1][::-1], t[j + 1:]])
        else:
            i, k, p, rev = mv
            seg = t[i:i + k][::-1] if rev else t[i:i + k]
            rest = np.concatenate([t[:i], t[i + k:]])
            pos = p + 1 if p < i else p + 1 - k
            t = np.concatenate([rest[:pos], seg, rest[pos:]])
    return t


#: The polish's iterated local search stops after this many kicks without a shorter tour (or at its
#: deadline): ``POLISH_STALL_PER_STOP`` per stop, at least ``POLISH_STALL_MIN``.
POLISH_STALL_MIN = 100
POLISH_STALL_PER_STOP = 20


def polish_route(route, matrix, *, deadline: float | None = None, seed: int = 0,
                 max_stall: int | None = None) -> list[int]:
    """Shorten one tour: 2-opt + Or-opt local search, then iterated local search until ``deadline``.

    Parameters
    ----------
    route
        Node indices in visiting order, depot excluded.
    matrix
        Integer cost matrix (node 0 = depot).
    deadline
        ``time.perf_counter()`` value at which to stop kicking; ``None`` = local search only.
    seed
        Seed of the kicks.
    max_stall
        Stop after this many kicks without improvement (default :data:`POLISH_STALL_PER_STOP` per stop,
        at least :data:`POLISH_STALL_MIN`).

    Returns
    -------
    list[int]
        The same nodes, in an order whose cost is never higher than the input's.
    """
    c = _as_matrix(matrix)
    t = _local_search(np.concatenate([[0], np.asarray(route, dtype=np.int64), [0]]), c)
    n = len(t)
    if deadline is None or n < 8:  # too short for a double bridge; local search is exact enough
        return t[1:-1].tolist()
    rng = np.random.default_rng(seed)
    best, best_cost = t, route_cost(t[1:-1], c)
    stall, limit = 0, max_stall or max(POLISH_STALL_MIN, POLISH_STALL_PER_STOP * (n - 2))
    while time.perf_counter() < deadline and stall < limit:
        # Segment-local double bridge: swap two adjacent segments within a window of 40 stops,
        # a kick that 2-opt and Or-opt cannot undo in one move.
        a = int(rng.integers(1, n - 3))
        w = min(n - 1 - a, 40)
        if w < 3:
            stall += 1
            continue
        b, d = sorted(a + rng.choice(np.arange(1, w), 2, replace=False))
        cand = _local_search(np.concatenate([best[:a], best[b:d], best[a:b], best[d:]]), c)
        cost = route_cost(cand[1:-1], c)
        if cost < best_cost:
            best, best_cost, stall = cand, cost, 0
        else:
            if cost == best_cost:
                best = cand  # plateau moves help to escape
            stall += 1
    return best[1:-1].tolist()


# --- the solver -------------------------------------------------------------------------------

def _pyvrp_data(c, service, prizes, required, teams, max_duration, target=None, overtime_cost=0):
    from pyvrp import Client, Depot, Location, ProblemData, VehicleType

    n = len(c)
    clients = [
        Client(location=i, service_duration=int(service[i]), prize=int(prizes[i]), required=bool(required[i]))
        for i in range(1, n)
    ]
    day = int(max_duration) if max_duration is not None else None
    if day is None:
        vt = VehicleType(num_available=teams)
    elif target is None or target >= day:
        vt = VehicleType(num_available=teams, shift_duration=day)
    else:  # soft target with overtime up to the hard day length: balances the teams' work
        vt = VehicleType(num_available=teams, shift_duration=int(target), max_overtime=day - int(target),
                         unit_overtime_cost=int(overtime_cost))
    locations = [Location(0, 0) for _ in range(n)]  # coordinates are not used: the matrix is given
    return ProblemData(locations, clients, [Depot(0)], [vt], [c], [c])


#: PyVRP stops after this many iterations without a better solution (at least ``PATIENCE_MIN``, else
#: ``PATIENCE_PER_STOP`` per stop), or at its time budget, whichever comes first. A district's day of a few
#: dozen stops reaches its best within a few hundred iterations; the former 20,000 (HGS's restart rule) was
#: never met within the budget, so every plan took the whole budget whatever its size (issue 25: the
#: two-team demo plan took 5 s of solver for 19 stops; now about 1 s, same plans, see bench/page_speed.py).
PATIENCE_MIN = 250
PATIENCE_PER_STOP = 20


def patience(n_clients: int) -> int:
    """Iterations without improvement after which PyVRP stops (see :data:`PATIENCE_MIN`)."""
    return int(max(PATIENCE_MIN, PATIENCE_PER_STOP * n_clients))


def _run_pyvrp(data, seconds: float, seed: int, init=None):
    from pyvrp import solve as pyvrp_solve
    from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

    stop = MultipleCriteria([MaxRuntime(max(seconds, 0.01)), NoImprovement(patience(data.num_clients))])
    with warnings.catch_warnings():
        # PyVRP warns when it cannot find a feasible plan; the caller reports that as Plan.feasible.
        warnings.filterwarnings("ignore", category=UserWarning, module="pyvrp")
        return pyvrp_solve(data, stop, seed=seed, collect_stats=False, display=False, initial_solution=init).best


def _routes_of(sol) -> list[list[int]]:
    return [[a.idx + 1 for a in r if a.is_client()] for r in sol.routes()]


def solve(matrix, *, teams: int = 1, time_limit_s: float = 5, service=None, max_duration=None,
          required=None, prizes=None, seed: int = 0, balance: float = 0.2, polish: bool = True) -> Plan:
    """Plan tours for ``teams`` teams from the depot (node 0) over the other nodes.

    Parameters
    ----------
    matrix
        Square integer cost matrix; ``matrix[i, j]`` is the cost (travel time) from
        node ``i`` to node ``j``. It also counts against ``max_duration``.
    teams
        Number of teams (vehicles); each makes at most one tour.
    time_limit_s
        Wall-clock budget; the solver stops earlier when it has converged.
    service
        Service time per node (same unit as the matrix); node 0's is ignored.
    max_duration
        Longest tour (travel + service) a team may make; ``None`` = no limit.
    required
        Boolean per node: stops that must be visited (default: all). The others
        are optional and visited when their prize pays for the detour.
    prizes
        Prize per node, in cost units, collected when an optional node is visited.
    seed
        Random seed (the result is reproducible for a seed when not cut by time).
    balance
        With several teams and a day limit, weight of the time a tour runs
        beyond an even share of the work (0 = minimise total travel only,
        which may leave a team idle).
    polish
        Shorten each route by the intra-route polish (:func:`polish_route`) in the time left; ``False``
        when only the set of visited nodes matters (the tiers of :func:`solve_by_priority`).

    Returns
    -------
    Plan
        Routes per team, dropped optional nodes, costs and feasibility.
    """
    start = time.perf_counter()
    deadline = start + float(time_limit_s)
    c = _as_matrix(matrix)
    n = len(c)
    if teams < 1:
        raise ValueError("teams must be at least 1")
    service = np.zeros(n, np.int64) if service is None else _node_vector(service, n, "service")
    service[0] = 0
    prizes = np.zeros(n, np.int64) if prizes is None else _node_vector(prizes, n, "prizes")
    required = np.ones(n, bool) if required is None else _node_vector(required, n, "required", bool)
    if max_duration is not None and max_duration <= 0:
        raise ValueError("max_duration must be positive")
    if n == 1:
        return Plan([[] for _ in range(teams)], travel=[0] * teams, duration=[0] * teams)

    # All visited stops' work is travel + service; PyVRP's objective is the travel (distance)
    # minus collected prizes. Costs are scaled by 10 so that a fractional balance weight
    # can be expressed in PyVRP's integer overtime cost.
    scale = 10 if (teams > 1 and max_duration is not None and balance > 0) else 1
    cs = c * scale
    data = _pyvrp_data(cs, service * scale, prizes * scale, required, teams,
                       None if max_duration is None else int(max_duration) * scale)
    simple_tsp = teams == 1 and max_duration is None and bool(required[1:].all())
    # A plain TSP profits most from the polish's iterated local search; a VRP from PyVRP.
    share = 0.3 if simple_tsp else 0.6
    if not polish:  # nothing to leave time for
        share = 1.0
    budget = max(deadline - time.perf_counter(), 0.05)
    if scale > 1:
        first = _run_pyvrp(data, budget * share * 0.4, seed)
        work = sum(r.duration() for r in first.routes())
        target = int(np.ceil(work / teams * 1.05))
        data_b = _pyvrp_data(cs, service * scale, prizes * scale, required, teams, int(max_duration) * scale,
                             target=target, overtime_cost=round(balance * scale))
        from pyvrp import Solution

        init = Solution(data_b, [[a.idx for a in r if a.is_client()] for r in first.routes()])
        sol = _run_pyvrp(data_b, budget * share * 0.6, seed, init=init)
        # Keep the balanced plan only if it visits at least as much prize as the first one
        # (the soft target must not cost stops).
        if sol.is_feasible() and (not first.is_feasible() or sol.prizes() >= first.prizes()):
            best = sol
        else:
            best = first
    else:
        best = _run_pyvrp(data, budget * share, seed)

    routes = _routes_of(best)
    if polish:
        routes = _polish_routes(routes, c, deadline, seed)
    return _plan_of(routes, c, service, required, teams, max_duration, start)


def _polish_routes(routes: list[list[int]], c: np.ndarray, deadline: float, seed: int) -> list[list[int]]:
    """Intra-route polish of every route until ``deadline``, time shared by route size (2-opt work grows
    with the square)."""
    routes = [list(r) for r in routes]
    weights = np.array([len(r) ** 2 for r in routes], float)
    order = np.argsort(-weights)
    for pos, k in enumerate(order):
        now = time.perf_counter()
        left = weights[order[pos:]].sum()
        seconds = (deadline - now) * weights[k] / left if left > 0 else 0.0
        routes[k] = polish_route(routes[k], c, deadline=now + max(seconds, 0.0), seed=seed + int(k))
    return routes


def _plan_of(routes, c, service, required, teams: int, max_duration, start: float) -> Plan:
    """The :class:`Plan` of ``routes`` (node indices of ``c``): costs, dropped and missing nodes, feasibility."""
    n = len(c)
    routes = [list(r) for r in routes] + [[] for _ in range(teams - len(routes))]
    visited = {v for r in routes for v in r}
    left_out = [i for i in range(1, n) if i not in visited]
    travel = [route_cost(r, c) for r in routes]
    duration = [t + int(service[r].sum()) if r else 0 for t, r in zip(travel, routes)]
    missing = [i for i in left_out if required[i]]
    feasible = not missing and (max_duration is None or all(d <= max_duration for d in duration))
    return Plan(routes, dropped=[i for i in left_out if not required[i]], missing=missing, travel=travel,
                duration=duration, feasible=feasible, seconds=time.perf_counter() - start)


def solve_by_priority(matrix, *, priority, teams: int = 1, time_limit_s: float = 5, service=None,
                      max_duration=None, required=None, seed: int = 0, balance: float = 0.2,
                      weight=None) -> Plan:
    """Like :func:`solve`, with optional nodes kept lexicographically by ``priority`` (higher first).

    Solved in tiers: the required nodes plus the optional nodes of the highest
    priority, each with a prize larger than any detour (so a node that fits the
    day is visited); the nodes then visited become required and the next
    priority is added, and so on. A lower-priority node therefore never takes
    the place of a higher-priority one, which a single prize-collecting solve
    with weighted prizes does not guarantee (its search trades them off).
    The time budget is shared evenly by the tiers (a tier that converges early leaves its time to the
    next); only the last tier balances the teams and polishes the routes (:func:`polish_route`): a
    tier's order of stops and split between teams are not used by the next, only the set it visits.

    ``weight`` (optional, non-negative per node) orders nodes within a tier: a node's
    prize grows from the base prize (weight 0) to twice it (the tier's largest weight),
    so when a tier does not fit the day the solver gives up light nodes before heavy
    ones unless the heavy one costs much more detour.
    """
    start = time.perf_counter()
    c = _as_matrix(matrix)
    n = len(c)
    priority = np.asarray(priority)
    if priority.shape != (n,):
        raise ValueError(f"priority must have one value per node ({n})")
    required = np.ones(n, bool) if required is None else _node_vector(required, n, "required", bool)
    service = np.zeros(n, np.int64) if service is None else _node_vector(service, n, "service")
    fixed = required.copy()
    fixed[0] = True
    levels = sorted({int(p) for p, r in zip(priority[1:], fixed[1:]) if not r}, reverse=True) or [None]
    plan, nodes = None, np.arange(n)
    for k, level in enumerate(levels):
        nodes = np.flatnonzero(fixed | (priority == level)) if level is not None else np.flatnonzero(fixed)
        sub = c[np.ix_(nodes, nodes)]
        base = 2 * int(sub.max()) + 1
        prizes = np.where(fixed[nodes], 0, base)
        if weight is not None:
            w = np.asarray(weight, float)[nodes]
            top = w[~fixed[nodes]].max() if (~fixed[nodes]).any() else 0.0
            if top > 0:
                prizes = np.where(fixed[nodes], 0, base + np.rint(base * np.clip(w, 0, None) / top)).astype(np.int64)
        left = time_limit_s - (time.perf_counter() - start)
        last = k == len(levels) - 1
        # A tier before the last decides only which stops are kept: neither the teams' balance nor the
        # order of the stops is used by the next tier, so it is solved once, without either.
        plan = solve(sub, teams=teams, time_limit_s=max(left / (len(levels) - k), 0.05), service=service[nodes],
                     max_duration=max_duration, required=fixed[nodes], prizes=prizes, seed=seed,
                     balance=balance if last else 0.0, polish=last)
        if not plan.feasible:  # the required nodes alone do not fit: no point adding more
            break
        fixed[[nodes[v] for r in plan.routes for v in r]] = True
    routes = [[int(nodes[v]) for v in r] for r in plan.routes]
    if not last:  # stopped at an infeasible tier: its routes are the answer, polish them now
        routes = _polish_routes(routes, c, start + float(time_limit_s), seed)
    out = _plan_of(routes, c, service, required, teams, max_duration, start)
    # the tiers' solves judged the day limit on their routes; the polish only shortens them
    out.feasible = out.feasible and plan.feasible
    return out


def solve_matrix(matrix, *, teams: int = 1, time_limit_s: float = 5, service=None, max_duration=None,
                 required=None, prizes=None, seed: int = 0) -> list[list[int]]:
    """Routes only: one list per team of node indices in visiting order (depot 0 excluded).

    See :func:`solve` for the parameters and for the dropped nodes and costs.
    """
    return solve(matrix, teams=teams, time_limit_s=time_limit_s, service=service, max_duration=max_duration,
                 required=required, prizes=prizes, seed=seed).routes
