"""geo.routing: tours on cost matrices — optimality on small cases, day limits, prizes, priorities."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from geo.routing import polish_route, route_cost, solve, solve_by_priority, solve_matrix


def euclid(xy: np.ndarray) -> np.ndarray:
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    return np.rint(d).astype(np.int64)


def brute_force_tsp(c: np.ndarray) -> int:
    n = len(c)
    best = None
    for perm in itertools.permutations(range(1, n)):
        t = (0, *perm, 0)
        cost = sum(int(c[a, b]) for a, b in zip(t, t[1:]))
        best = cost if best is None or cost < best else best
    return best


def tour_duration(route, c, service) -> int:
    return route_cost(route, c) + int(np.asarray(service)[route].sum()) if route else 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tsp_on_eight_nodes_is_optimal(seed):
    rng = np.random.default_rng(seed)
    c = euclid(rng.random((8, 2)) * 1000)
    routes = solve_matrix(c, time_limit_s=1, seed=seed)
    assert len(routes) == 1
    assert sorted(routes[0]) == list(range(1, 8))
    assert route_cost(routes[0], c) == brute_force_tsp(c)


def test_asymmetric_tsp_on_eight_nodes_is_optimal():
    # one-way streets: reversing a segment changes its cost; 2-opt must account for it
    rng = np.random.default_rng(7)
    c = rng.integers(10, 100, size=(8, 8))
    np.fill_diagonal(c, 0)
    routes = solve_matrix(c, time_limit_s=1)
    assert route_cost(routes[0], c) == brute_force_tsp(c)


def test_polish_never_worsens_and_keeps_the_nodes():
    rng = np.random.default_rng(0)
    c = euclid(rng.random((60, 2)) * 1000)
    start = rng.permutation(np.arange(1, 60)).tolist()
    out = polish_route(start, c)
    assert sorted(out) == sorted(start)
    assert route_cost(out, c) < route_cost(start, c)
    # a 2-opt + Or-opt local optimum: no single move improves it any more
    assert route_cost(polish_route(out, c), c) == route_cost(out, c)


def test_polish_reaches_the_optimum_of_a_circle():
    # points on a circle: the optimal tour visits them in angular order
    ang = np.linspace(0, 2 * np.pi, 31)[:-1]
    xy = np.column_stack([np.cos(ang), np.sin(ang)]) * 10_000
    c = euclid(xy)
    shuffled = np.random.default_rng(3).permutation(np.arange(1, 30)).tolist()
    out = polish_route(shuffled, c, deadline=__import__("time").perf_counter() + 1.0)
    assert route_cost(out, c) == route_cost(list(range(1, 30)), c)


def test_teams_with_a_day_limit_visit_every_required_stop_once():
    rng = np.random.default_rng(11)
    xy = rng.random((31, 2)) * 20_000  # metres
    c = np.rint(euclid(xy) / 10).astype(np.int64)  # seconds at 36 km/h
    service = np.full(31, 900)
    service[0] = 0
    day = 4 * 3600
    plan = solve(c, teams=3, time_limit_s=2, service=service, max_duration=day)
    assert plan.feasible
    visited = [v for r in plan.routes for v in r]
    assert sorted(visited) == list(range(1, 31))  # each exactly once
    for r, d in zip(plan.routes, plan.duration):
        assert tour_duration(r, c, service) == d <= day
    # one team alone could not do it: 30 × 15 min of service is 7.5 h
    assert sum(1 for r in plan.routes if r) >= 2


def test_balanced_teams_share_the_work():
    rng = np.random.default_rng(5)
    c = euclid(rng.random((21, 2)) * 3000)
    service = np.r_[0, np.full(20, 600)]
    plan = solve(c, teams=2, time_limit_s=2, service=service, max_duration=10 * 3600, balance=0.2)
    assert all(plan.routes), "with a balance weight both teams work"
    assert max(plan.duration) < 0.75 * sum(plan.duration)


def test_optional_stops_are_dropped_when_the_day_is_full_and_reported():
    # depot at 0; a near cluster (1-4) and a far stop (5) that does not fit the day
    xy = np.array([[0, 0], [100, 0], [0, 100], [100, 100], [50, 50], [5000, 0]], float)
    c = euclid(xy)
    required = np.array([True, True, True, False, False, False])
    prizes = np.array([0, 0, 0, 10_000, 10_000, 10_000])
    plan = solve(c, time_limit_s=1, max_duration=2000, required=required, prizes=prizes)
    visited = sorted(v for r in plan.routes for v in r)
    assert visited == [1, 2, 3, 4]
    assert plan.dropped == [5]
    assert plan.missing == []
    assert plan.feasible and plan.duration[0] <= 2000


def test_required_stops_that_cannot_fit_make_the_plan_infeasible():
    xy = np.array([[0, 0], [1000, 0], [0, 1000]], float)
    plan = solve(euclid(xy), time_limit_s=0.5, max_duration=1500)
    assert not plan.feasible


def test_lower_priority_never_displaces_higher_priority():
    # Day fits only one of two far-apart optional stops (plus the required one).
    # The low-priority stop is closer (cheaper), so a travel-driven solver would pick it.
    xy = np.array([[0, 0], [10, 0], [400, 0], [-450, 0]], float)
    c = euclid(xy)
    priority = np.array([0, 0, 1, 3])  # node 2: low, node 3: high
    required = np.array([True, True, False, False])
    plan = solve_by_priority(c, priority=priority, required=required, max_duration=1000, time_limit_s=1)
    visited = {v for r in plan.routes for v in r}
    assert visited == {1, 3}
    assert plan.dropped == [2]


def test_depot_only_and_bad_input():
    assert solve_matrix(np.zeros((1, 1), int), teams=2) == [[], []]
    with pytest.raises(ValueError):
        solve_matrix(np.zeros((2, 3), int))
    with pytest.raises(ValueError):
        solve_matrix(np.array([[0, -1], [1, 0]]))
    with pytest.raises(ValueError):
        solve_matrix(np.array([[0, 1.5], [1.5, 0]]))
    with pytest.raises(ValueError):
        solve_matrix(np.zeros((3, 3), int), service=[1, 2])


def test_weight_decides_within_a_tier():
    """Two optional stops of one tier, equally far, room for one: the heavier (more urgent) one is kept."""
    from geo.routing import solve_by_priority

    c = np.array([[0, 100, 100], [100, 0, 150], [100, 150, 0]])
    for heavy in (1, 2):
        w = np.array([0, 60 if heavy == 1 else 40, 60 if heavy == 2 else 40])
        plan = solve_by_priority(c, priority=[0, 5, 5], weight=w, time_limit_s=0.5, max_duration=250,
                                 required=[True, False, False])
        assert plan.routes[0] == [heavy] and plan.dropped == [3 - heavy]
