"""geo.wallboard: the wall's trend series, the township standing and the casework figures."""
from __future__ import annotations

import types

import pandas as pd
import pytest

from geo import progress, wallboard as W

DAY = pd.Timestamp("2007-06-30")


@pytest.fixture(scope="module")
def demo(demo_frames):
    return progress.prepare(demo_frames)


def test_closure_trends_follow_the_progress_projection(demo):
    t = W.closure_trends(demo, DAY)
    camp = t["campaigns"].set_index("campaign")
    for key in progress.CAMPAIGNS:
        series, p = progress.timeline(demo, key, DAY)
        if p.targets == 0:
            assert key not in camp.index
            continue
        row = camp.loc[key]
        assert (row["targets"], row["done"]) == (p.targets, p.done)
        assert row["projected_on"] == p.projected_on or (pd.isna(row["projected_on"]) and p.projected_on is None)
        s = t["series"][t["series"]["campaign"] == key]
        assert s["date"].max() == DAY and s["done"].iloc[-1] == p.done  # ends today at today's count
        assert s["share"].between(0, 1).all() and s["date"].is_monotonic_increasing
        assert s["date"].min() >= t["start"]
    chem = t["projections"][t["projections"]["campaign"] == "chemical"]
    assert list(chem["date"]) == [DAY, camp.loc["chemical", "projected_on"]] and chem["share"].iloc[-1] == 1.0
    assert t["end"] >= camp.loc["chemical", "projected_on"]  # the axis reaches the projected finish
    assert not (t["projections"]["campaign"] == "livestock").any()  # no pace, no projection line


def test_water_share_by_month_from_each_sections_worst_sampling(demo):
    w = W.water_share(demo, DAY, years=3)
    assert len(w) == 36 and w["month"].max() == pd.Timestamp("2007-06-01")
    assert w["share"].between(0, 1).all() and (w["meeting"] <= w["sections"]).all()
    sections = demo["sampling_points"].query("kind == 'section'")
    assert (w["sections"] <= len(sections)).all()
    # June 2007 by hand: each section's June samplings must all meet its target
    from geo import water

    s = water.sampling_classes(demo["readings"], sections, as_of=DAY, start="2007-06-01")
    june = s.groupby("point_id")["meets"].all()
    assert w.iloc[-1]["meeting"] == int(june.sum()) and w.iloc[-1]["sections"] == len(june)


def test_water_share_without_readings_is_empty(demo):
    w = W.water_share(dict(demo, readings=demo["readings"].iloc[:0]), DAY)
    assert len(w) == 0 and list(w.columns) == ["month", "sections", "meeting", "share"]


def test_standing_lists_only_townships_with_targets(demo):
    s = W.township_standing(demo, DAY)
    assert s.attrs["kind"] == "completion"
    with_targets = set()
    for key in progress.CAMPAIGNS:
        c = progress.completion(demo, key, DAY)
        with_targets |= set(c.loc[c["targets"] > 0, "township"])
    assert set(s["township"]) == with_targets
    assert len(s) < len(demo["townships"])  # townships with nothing to do are not ranked
    assert s["value"].is_monotonic_increasing  # weakest first
    for txt in s["text"]:
        done, targets = map(int, txt.split("/"))
        assert targets > 0 and 0 <= done <= targets
    zero = s[s["value"] == 0]
    assert zero["text"].map(lambda t: int(t.split("/")[1])).is_monotonic_decreasing  # most left to do first


def test_standing_shows_the_assessment_when_the_store_has_one(demo, monkeypatch):
    scores = pd.DataFrame({"township": ["甲镇", "乙镇", "丙乡"], "total": [88.5, 92.0, 95.0], "rank": [2, 1, 3],
                           "veto": [False, False, True], "veto_items": ["", "", "发生重大环境事件"]})
    fake = types.SimpleNamespace(TABLES_NEEDED=("townships", "assessment_entries"), township_scores=lambda *a: scores,
                                 load_scheme=lambda year: object())
    monkeypatch.setattr(W, "_optional", lambda name: fake if name == "assess" else None)
    assert W.township_standing(demo, DAY).attrs["kind"] == "completion"  # no entries table: no assessment
    s = W.township_standing(dict(demo, assessment_entries=pd.DataFrame()), DAY)
    assert s.attrs["kind"] == "assessment" and "2007" in s.attrs["title"]
    assert list(s["township"]) == ["丙乡", "甲镇", "乙镇"]  # vetoed first (weakest), then by score
    assert list(s["flag"]) == ["否决", "", ""] and s.iloc[1]["text"] == "88.5分"

    def no_scheme(year):
        raise FileNotFoundError(year)

    fake.load_scheme = no_scheme
    assert W.township_standing(dict(demo, assessment_entries=pd.DataFrame()), DAY).attrs["kind"] == "completion"


def test_casework_figures_only_with_the_tables(demo):
    assert W.casework_figures(demo, DAY) is None
    c = pd.DataFrame({"received_on": pd.to_datetime(["2006-12-20", "2007-03-01", "2007-06-01", "2007-06-28"]),
                      "due_on": pd.to_datetime(["2007-01-05", "2007-03-10", "2007-06-10", "2007-07-08"]),
                      "handled_on": pd.to_datetime(["2007-01-02", "2007-03-15", "2007-07-02", None])})
    ins = pd.DataFrame({"held_on": pd.to_datetime(["2007-06-05", "2007-06-20", "2007-05-10", "2007-06-25"]),
                        "kind": ["joint", "joint", "joint", "spot"],
                        "departments": ["环保、水利、农业、公安", "环保、水利、农业", "环保、水利、农业、国土", "环保"]})
    visits = pd.DataFrame({"visited_at": pd.to_datetime(["2007-06-05 10:00", "2007-06-05 11:00", "2007-05-10 09:00",
                                                         "2007-07-01 09:00"]),
                           "finding": ["violation", "ok", "violation", "violation"]})
    f = W.casework_figures(dict(demo, complaints=c, inspections=ins, inspection_visits=visits), DAY)
    # received this year: 3; handled by the day: only the March one (June's was handled in July); on time: none
    assert f["complaints"] == {"received": 3, "handled": 1, "on_time": 0, "open": 2}
    # a joint patrol needs four departments: June has one, the year two
    assert f["patrols"] == {"joint_year": 2, "joint_month": 1, "visits_month": 2, "violations_month": 1}


def test_share_text():
    assert W.share_text(0.694) == "69%" and W.share_text(None) == "—" and W.share_text(float("nan")) == "—"
