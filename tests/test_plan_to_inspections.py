"""A patrol plan becomes one inspection per team (geo.inspections.from_plan), on both backends.

The truth the inspections are checked against is the plan itself (its per-team routes, ``team``/``order``) and
the store's register of outfalls (``sampling_points.feature_id``, the enterprise an outfall belongs to): an
inspection stop is a site of the contract's site layers, so an outfall sampling stop is its enterprise's stop.
"""
from __future__ import annotations

import pandas as pd
import pytest

from geo import inspections as I
from geo.contract import SITE_LAYERS
from geo.errors import GeoError
from geo.patrol import PatrolParams, plan_from_store, team_label

DEPARTMENTS = ["环保局", "开发区管委会", "安监局", "经贸局"]
AS_OF = "2007-06-30"


def _plan(store, selections=("sampling", "committed", "kilns-closed"), *, ids=(), teams=2):
    plan = plan_from_store(store, list(selections), ids=list(ids), as_of=AS_OF,
                           params=PatrolParams(teams=teams, time_limit_s=1), use_roads=False)
    assert plan.visited["team"].notna().all()
    return plan


def _owners(store) -> dict[str, str]:
    sp = store.read("sampling_points")
    sp = sp[(sp["kind"] == "outfall") & sp["feature_id"].notna()]
    return dict(zip(sp["id"].astype(str), sp["feature_id"].astype(str)))


def _expected_routes(plan, owners) -> dict[int, list[tuple[str, str]]]:
    """Each team's route as inspection stops: its visited stops in route order, an outfall as its enterprise,
    a site the route reaches twice (a plant and its outfall) once, where the team first gets there."""
    out = {}
    v = plan.visited
    for team in sorted({int(t) for t in v["team"]}):
        route = v[(v["team"] == team).to_numpy(bool)].sort_values("order")
        assert list(route["order"]) == list(range(1, len(route) + 1))
        sites = []
        for layer, fid in zip(route["layer"], route["id"].astype(str)):
            if layer == "sampling_points":
                if fid not in owners:
                    continue  # a river section (or an outfall of no known plant) is no inspection stop
                layer, fid = "enterprises", owners[fid]
            assert layer in SITE_LAYERS
            if (layer, fid) not in sites:
                sites.append((layer, fid))
        if sites:
            out[team] = sites
    return out


def _stops(store, iid) -> list[tuple[str, str]]:
    s = I.stops_of(store, iid)
    assert list(s["seq"]) == list(range(1, len(s) + 1))
    return list(zip(s["layer"], s["feature_id"].astype(str)))


def test_each_team_becomes_an_inspection_with_its_route(demo_each_backend):
    store = demo_each_backend
    plan = _plan(store)
    owners = _owners(store)
    v = plan.visited
    outfalls = v[(v["layer"] == "sampling_points").to_numpy(bool)]
    assert len(outfalls) and set(outfalls["id"]) <= set(owners)  # the plan samples outfalls
    expected = _expected_routes(plan, owners)
    assert len(expected) == 2  # both teams have stops
    before = set(store.read("inspections")["id"])
    ids = I.from_plan(store, plan, departments=DEPARTMENTS, user="执法队员甲")
    assert isinstance(ids, list) and len(ids) == len(set(ids)) == len(expected)
    ins = store.read("inspections")
    assert set(ins["id"]) == before | set(ids)  # exactly these, nothing else
    rows = ins.set_index("id").loc[ids]
    assert list(rows["team"]) == [team_label(t) for t in sorted(expected)] == ["第一组", "第二组"]
    assert (rows["held_on"] == pd.Timestamp(plan.day)).all() and (rows["recorded_by"] == "执法队员甲").all()
    got = {}
    for team, iid in zip(sorted(expected), ids):
        got[team] = _stops(store, iid)
        assert got[team] == expected[team], f"team {team}"
    # the union is every site the plan visits, outfall sampling stops included (as their plants)
    union = [s for t in got.values() for s in t]
    planned = {("enterprises", owners[f]) if lay == "sampling_points" else (lay, f)
               for lay, f in zip(v["layer"], v["id"].astype(str)) if lay != "sampling_points" or f in owners}
    assert set(union) == planned
    for team, fid in zip(outfalls["team"], outfalls["id"]):
        assert ("enterprises", owners[fid]) in got[int(team)]  # sampled by the team that goes there
    # no stop is lost to another team's: each team's stops are its own, counted once per team
    assert len(union) == sum(len(r) for r in expected.values())
    # each stop is recorded at its inspection, as before
    first = I.stops_of(store, ids[1]).iloc[0]
    assert I.record_finding(store, first["id"], "ok", user="执法队员甲") is None


def test_outfall_stops_only_are_an_inspection_of_their_plants(demo_each_backend):
    """A sampling round (outfalls only) still makes inspections: each outfall is its plant's stop."""
    store = demo_each_backend
    owners = _owners(store)
    plan = _plan(store, ("sampling",))
    expected = _expected_routes(plan, owners)
    ids = I.from_plan(store, plan, kind="sampling", departments="环保局", user="监测站")
    assert len(ids) == len(expected) >= 1
    assert [_stops(store, i) for i in ids] == [expected[t] for t in sorted(expected)]
    assert sorted(f for i in ids for _, f in _stops(store, i)) == sorted(set(owners.values()))


def test_teams_without_site_stops_get_no_inspection(demo_store):
    from geo.store import open_store

    store = open_store(demo_store)
    owners = _owners(store)
    # three teams, three hand-picked stops: a river section is no inspection stop
    plan = _plan(store, (), ids=["sampling_points:W01", "enterprises:E005", "kilns:KL018"], teams=3)
    expected = _expected_routes(plan, owners)
    used = {int(t) for t in plan.visited["team"]}
    ids = I.from_plan(store, plan, departments=DEPARTMENTS, user="甲")
    assert len(ids) == len(expected) <= len(used)
    assert [_stops(store, i) for i in ids] == [expected[t] for t in sorted(expected)]
    assert sorted(s for i in ids for s in _stops(store, i)) == [("enterprises", "E005"), ("kilns", "KL018")]
    # a plan of river sections only makes no inspection at all, and says so
    n = len(store.read("inspections"))
    sections = _plan(store, (), ids=["sampling_points:W01", "sampling_points:W02"], teams=2)
    with pytest.raises(GeoError) as exc:
        I.from_plan(store, sections, departments=DEPARTMENTS, user="甲")
    assert "未建立巡查" in exc.value.zh
    assert len(store.read("inspections")) == n


def test_a_failure_in_the_middle_writes_none(demo_each_backend, monkeypatch):
    store = demo_each_backend
    plan = _plan(store)
    ins_before = store.read("inspections")
    visits_before = store.read("inspection_visits")
    real = I.new_inspection
    calls = []

    def second_fails(*args, **kwargs):
        calls.append(kwargs.get("team"))
        iid = real(*args, **kwargs)  # written inside the unit …
        if len(calls) == 2:
            raise RuntimeError("the connection dropped")  # … then the unit fails
        return iid

    monkeypatch.setattr(I, "new_inspection", second_fails)
    with pytest.raises(RuntimeError):
        I.from_plan(store, plan, departments=DEPARTMENTS, user="甲")
    assert len(calls) == 2
    monkeypatch.setattr(I, "new_inspection", real)
    assert sorted(store.read("inspections")["id"]) == sorted(ins_before["id"])
    assert sorted(store.read("inspection_visits")["id"]) == sorted(visits_before["id"])
    # refused by validation: nothing written either
    with pytest.raises(GeoError):
        I.from_plan(store, plan, departments="环保局", user="甲")  # a joint patrol needs four departments
    assert len(store.read("inspections")) == len(ins_before)
    # and once it goes through, both are there
    ids = I.from_plan(store, plan, departments=DEPARTMENTS, user="甲")
    assert len(store.read("inspections")) == len(ins_before) + len(ids) == len(ins_before) + 2


def test_patrol_page_says_which_inspections_were_made(page_env):
    """/patrol 转为巡查: one inspection per team, each named on the page with its team and stops."""
    from streamlit.testing.v1 import AppTest

    from tests.apptests import sign_in, texts
    from tests.conftest import ROOT

    store = page_env({"li": ("inspector-pw", "inspector")}, chdir=True)
    at = AppTest.from_file(str(ROOT / "views" / "patrol.py"), default_timeout=180)
    at.run()
    at.multiselect(key="patrol_select").set_value(["committed"])
    at.number_input(key="patrol_teams").set_value(2)
    at.slider(key="patrol_seconds").set_value(1)
    at.button(key="patrol_plan").click()
    at.run()
    assert not at.exception, at.exception
    plan = at.session_state["patrol_plan_result"]
    at = sign_in(at, "li", "inspector-pw", prefix="cw_")
    before = set(store.read("inspections")["id"])
    at.text_input(key="cw_p_departments").input("、".join(DEPARTMENTS))
    next(b for b in at.button if b.label == "转为巡查").click()
    at.run()
    assert not at.exception, at.exception
    ins = store.read("inspections")
    new = ins[~ins["id"].isin(before)].sort_values("id")
    expected = _expected_routes(plan, _owners(store))
    assert len(new) == len(expected) == 2
    shown = " ".join(str(s.value).replace("\\", "") for s in at.success)
    assert "已生成 2 个巡查" in shown
    for iid, team in zip(new["id"], new["team"]):
        assert f"{iid}（{team}，{len(I.stops_of(store, iid))} 个点位）" in shown
    # a rerun does not make twins, and still says what was made
    at.run()
    assert not at.exception and not [b for b in at.button if b.label == "转为巡查"]
    assert len(store.read("inspections")) == len(before) + 2 and "已生成 2 个巡查" in texts(at)
