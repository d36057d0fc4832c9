"""geo.rules: each domain rule written once, and every user of it agreeing on the demo."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from geo import buffers, patrol, progress, rules
from geo.contract import SITE_LAYERS, STATUS
from geo.errors import GeoError

AS_OF = pd.Timestamp("2007-06-30")


# --- resolved / active / done ------------------------------------------------------------------

def test_rebuilt_kilns_and_accepted_farms_are_done_but_stay_active():
    assert rules.is_done("kilns", "rebuilt") and rules.is_active("kilns", "rebuilt")
    assert rules.is_done("farms", "accepted") and rules.is_active("farms", "accepted")
    # the only differences between the two rules, and resolved always implies done
    diff = {(layer, s) for layer in SITE_LAYERS for s in rules.DONE[layer] - rules.RESOLVED[layer]}
    assert diff == {("kilns", "rebuilt"), ("farms", "accepted")}
    assert all(rules.RESOLVED[layer] <= rules.DONE[layer] for layer in SITE_LAYERS)
    # every rule speaks the contract's codes, for every site layer
    assert set(rules.DONE) == set(rules.RESOLVED) == set(SITE_LAYERS)
    assert all(rules.DONE[layer] <= set(STATUS[layer]) for layer in SITE_LAYERS)


@pytest.mark.parametrize("layer, status, resolved, done", [
    ("enterprises", "operating", False, False), ("enterprises", "committed", False, False),
    ("enterprises", "suspended", False, False), ("enterprises", "converted", True, True),
    ("enterprises", "closed", True, True), ("enterprises", "relocated", True, True),
    ("kilns", "operating", False, False), ("kilns", "rebuilt", False, True), ("kilns", "closed", True, True),
    ("farms", "treating", False, False), ("farms", "accepted", False, True), ("farms", "relocated", True, True),
])
def test_each_status(layer, status, resolved, done):
    assert rules.is_resolved(layer, status) is resolved
    assert rules.is_active(layer, status) is (not resolved)
    assert rules.is_done(layer, status) is done


def test_vectorised_over_mixed_layers():
    layers = np.array(["kilns", "farms", "enterprises", "kilns", "farms"], dtype=object)
    status = np.array(["rebuilt", "closed", "converted", None, "nonsense"], dtype=object)
    assert rules.is_resolved(layers, status).tolist() == [False, True, True, False, False]
    assert rules.is_active(layers, status).tolist() == [True, False, False, True, True]
    assert rules.is_done(layers, status).tolist() == [True, True, True, False, False]
    assert rules.is_done("kilns", pd.Series(["rebuilt", "operating"])).tolist() == [True, False]
    assert rules.is_active("farms", []).tolist() == []


def test_campaign_done_matches_the_layer_rule():
    for campaign, layer in rules.CAMPAIGN_LAYER.items():
        assert rules.campaign_done(campaign) == rules.DONE[layer]
        assert progress.CAMPAIGNS[campaign].done == rules.DONE[layer]
    from geo.errors import GeoError

    with pytest.raises(GeoError) as e:
        rules.campaign_done("nope")
    assert "没有专项“nope”" in e.value.zh


# --- overdue --------------------------------------------------------------------------------------

def test_overdue_is_strictly_after_the_deadline_and_not_done():
    sites = pd.DataFrame({
        "status": ["operating", "operating", "operating", "rebuilt", "closed", "operating"],
        "deadline": pd.to_datetime(["2007-09-30", "2007-09-29", None, "2007-01-01", "2007-01-01", "2007-10-01"]),
    }, index=[10, 11, 12, 13, 14, 15])
    got = rules.overdue_mask(sites, "kilns", "2007-09-30")
    assert got.index.tolist() == sites.index.tolist()
    # met on the deadline itself; no deadline is never overdue; a rebuilt or closed kiln is done
    assert got.tolist() == [False, True, False, False, False, False]
    assert rules.overdue_mask(sites, "kilns", "2007-10-02").tolist() == [True, True, False, False, False, True]
    assert not rules.overdue_mask(sites.drop(columns="deadline"), "kilns", "2030-01-01").any()
    assert rules.days_left(sites["deadline"], "2007-09-30").tolist()[:3] == [0, -1, pd.NA]


def test_overdue_per_row_layer():
    sites = pd.DataFrame({"status": ["accepted", "accepted"], "deadline": pd.to_datetime(["2007-01-01"] * 2)})
    # accepted finishes a farm; for an enterprise it is no status at all, so not done
    assert rules.overdue_mask(sites, np.array(["farms", "enterprises"], dtype=object), AS_OF).tolist() == [False, True]


# --- the default as-of date --------------------------------------------------------------------------

def test_default_as_of_from_meta_dict_or_table_else_today():
    today = pd.Timestamp(dt.date.today())
    assert rules.default_as_of({"as_of": "2007-06-30"}) == AS_OF
    table = pd.DataFrame({"key": ["district", "as_of"], "value": ["衢江区", "2007-06-30"]})
    assert rules.default_as_of(table) == AS_OF
    for meta in (None, {}, {"as_of": ""}, {"as_of": "  "}, {"as_of": "not a date"}, {"as_of": None},
                 pd.DataFrame({"key": [], "value": []}), pd.DataFrame({"key": ["district"], "value": ["x"]})):
        assert rules.default_as_of(meta) == today, meta


def test_resolve_as_of():
    assert rules.resolve_as_of(None, {"as_of": "2007-06-30"}) == AS_OF
    assert rules.resolve_as_of("", {"as_of": "2007-06-30"}) == AS_OF
    assert rules.resolve_as_of("2007-10-15", {"as_of": "2007-06-30"}) == pd.Timestamp("2007-10-15")
    assert rules.resolve_as_of(dt.date(2007, 1, 2)) == pd.Timestamp("2007-01-02")
    with pytest.raises(GeoError) as exc:
        rules.resolve_as_of("30/06/2007")
    assert "YYYY-MM-DD" in exc.value.zh and "YYYY-MM-DD" in exc.value.en and exc.value.zh != exc.value.en


# --- on the demo: every user of a rule agrees --------------------------------------------------------------

def _overdue_ids(frames, day) -> tuple[set, set, int]:
    """Overdue sites on ``day`` as progress, the patrol's selection and the KPI tile see them."""
    p = progress.overdue(frames, day)
    stops = patrol.select_stops(frames, ["overdue"], as_of=day)
    return (set(p["layer"] + ":" + p["id"]), set(stops["stop_id"]), progress.kpis(frames, day)["overdue"])


@pytest.mark.parametrize("day", ["2007-06-30", "2007-10-01", "2008-06-30"])
def test_progress_and_patrol_agree_on_overdue_on_the_demo(demo_frames, day):
    from_progress, from_patrol, tile = _overdue_ids(demo_frames, day)
    assert from_progress == from_patrol
    assert tile == len(from_progress)
    if day != "2007-06-30":  # after the September deadlines the committed plants are overdue
        assert len(from_progress) > 0


def test_progress_and_patrol_agree_with_kiln_deadlines(demo_frames):
    """The case that disagreed (progress 20, patrol 51): rebuilt kilns are done, so not overdue."""
    frames = dict(demo_frames)
    frames["kilns"] = demo_frames["kilns"].assign(deadline=pd.Timestamp("2007-05-31"))
    from_progress, from_patrol, tile = _overdue_ids(frames, AS_OF)
    kilns = progress.sites_as_of(frames, "kilns", AS_OF)
    still = {f"kilns:{i}" for i in kilns.loc[kilns["status"] == "operating", "id"]}
    assert from_progress == from_patrol == still
    assert tile == len(still) == 20
    assert (kilns["status"] == "rebuilt").sum() > 0  # the rebuilt kilns exist and are not listed


def test_the_report_counts_rebuilt_kilns_as_rectified(demo_frames):
    """DOMAIN.md: 85 sheds and 26 kilns closed, 49 rebuilt or relocated — all rectified for the campaign."""
    lime = progress.kpis(demo_frames, AS_OF)["lime"]
    assert (lime["sheds_closed"], lime["kilns_closed"], lime["kilns_rebuilt_or_relocated"]) == (85, 26, 49)
    assert lime["done"] == 85 + 26 + 49


def test_rebuilt_kilns_stay_under_the_riverside_rule(demo_frames):
    every = buffers.check(demo_frames, 200, as_of=AS_OF, all_sites=True)
    kilns = progress.sites_as_of(demo_frames, "kilns", AS_OF).set_index("id")["status"]
    k = every[every["layer"] == "kilns"].set_index("id")
    assert k["active"].to_dict() == {i: s not in ("closed", "relocated") for i, s in kilns.items()}
    assert k.loc[kilns[kilns == "rebuilt"].index, "active"].all()
    # and the violations list is exactly the active sites within the limit
    listed = buffers.check(demo_frames, 200, as_of=AS_OF)
    expected = every[every["active"] & (every["distance_m"] <= 200)]
    assert set(listed["layer"] + ":" + listed["id"]) == set(expected["layer"] + ":" + expected["id"])


# --- the default as-of date, used by whoever is given a store and no date -----------------------------------

def _with_a_later_closure(path):
    """The demo store with one violating farm closed after the report date (2007-07-15); that farm's id.

    Written to the store directly: the app refuses events after a replay store's as_of (geo.datecheck),
    but a store may still hold some (the defaults must ignore them).
    """
    from geo import contract
    from geo.store import Change, open_store

    store = open_store(path)
    v = buffers.check(store, 200, layers="farms", as_of=AS_OF)
    fid = str(v["id"].iloc[0])
    ev = contract.coerce("status_events", pd.DataFrame([{
        "layer": "farms", "feature_id": fid, "status": "closed", "effective_on": pd.Timestamp("2007-07-15"),
        "recorded_at": pd.Timestamp("2007-07-16 09:00"), "recorded_by": "测试员", "note": "测试：报告日之后关停"}],
        columns=contract.TABLES["status_events"].column_names))
    farms = store.read("farms")
    site = farms[farms["id"] == fid].assign(status="closed")
    store.commit([Change("farms", site, "upsert"), Change("status_events", ev, "append")])
    return store, fid


def test_patrol_from_a_store_defaults_to_its_as_of(demo_store):
    store, fid = _with_a_later_closure(demo_store)
    plan = patrol.plan_from_store(store, ["violations"], params=patrol.PatrolParams(time_limit_s=1, teams=3))
    assert plan.day == dt.date(2007, 6, 30)
    assert f"farms:{fid}" in set(plan.stops["stop_id"])  # still operating on 30 June


def test_geo_buffer_defaults_to_the_stores_as_of(demo_store, tmp_path):
    from geo.__main__ import main

    store, fid = _with_a_later_closure(demo_store)
    out = tmp_path / "v.csv"
    assert main(["buffer", "--store", str(demo_store), "--out", str(out)]) == 0
    listed = pd.read_csv(out, dtype=str)
    assert len(listed) == len(buffers.check(store, 200, as_of=AS_OF)) and fid in set(listed["id"])
