"""geo.wallboard: the wall's trend series, the township standing and the casework figures."""
from __future__ import annotations

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
    s = W.township_standing({k: v for k, v in demo.items() if k != "assessment_entries"}, DAY)
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


def test_standing_shows_the_assessment_when_the_store_has_one(demo):
    from geo import assess

    assert "assessment_entries" in demo  # the demo carries the casework tables and a 2007 scheme
    s = W.township_standing(demo, DAY)
    scores = assess.township_scores(demo, 2007, DAY)
    assert s.attrs["kind"] == "assessment" and len(s) == len(scores) == len(demo["townships"])
    vetoed = set(scores.loc[scores["veto"], "township"])
    assert set(s.loc[s["flag"] == "否决", "township"]) == vetoed
    assert list(s["township"][: len(vetoed)]) == sorted(vetoed)  # vetoed first: they lose their standing
    rest = s.iloc[len(vetoed):]
    totals = scores.set_index("township")["total"]
    assert list(rest["text"]) == [f"{round(totals[t], 1):g}分" for t in rest["township"]]
    assert rest["value"].is_monotonic_increasing  # then the lowest score first
    assert dict(zip(s["township"], s["rank"])) == dict(zip(scores["township"], scores["rank"]))


def test_standing_falls_back_to_completion_without_an_assessment(demo):
    without = {k: v for k, v in demo.items() if k != "assessment_entries"}
    assert W.township_standing(without, DAY).attrs["kind"] == "completion"
    # a year without a scheme (a replay of 2006): the completion list stands in
    assert W.township_standing(demo, pd.Timestamp("2006-06-30")).attrs["kind"] == "completion"


def test_casework_figures_only_with_the_tables(demo):
    from geo import complaints as C, inspections as I

    without = {k: v for k, v in demo.items() if k not in ("complaints", "inspections", "inspection_visits")}
    assert W.casework_figures(without, DAY) is None
    f = W.casework_figures(demo, DAY)
    c = C.figures(demo["complaints"], start="2007-01-01", end=DAY)
    assert {k: f["complaints"][k] for k in ("received", "handled", "on_time")} == \
        {k: c[k] for k in ("received", "handled", "on_time")}
    months = I.joint_by_month(demo["inspections"], "2007-01-01", DAY)
    assert f["patrols"]["joint_year"] == months["joint"].sum() and f["patrols"]["joint_month"] == months["joint"].iloc[-1]
    fs = I.findings_summary(demo["inspection_visits"], demo["inspections"], start="2007-06-01", end=DAY)
    assert f["patrols"]["visits_month"] == fs["visits"] > 0


def test_casework_figures_judge_handling_as_of_the_day(demo):
    c = pd.DataFrame({"received_on": pd.to_datetime(["2006-12-20", "2007-03-01", "2007-06-01", "2007-06-28"]),
                      "due_on": pd.to_datetime(["2007-01-05", "2007-03-10", "2007-06-10", "2007-07-08"]),
                      "handled_on": pd.to_datetime(["2007-01-02", "2007-03-15", "2007-07-02", None]),
                      "channel": ["hotline"] * 4, "sensitive": [False] * 4})
    ins = pd.DataFrame({"held_on": pd.to_datetime(["2007-06-05", "2007-06-20", "2007-05-10", "2007-06-25"]),
                        "kind": ["joint", "joint", "joint", "spot"],
                        "departments": ["环保、水利、农业、公安", "环保、水利、农业", "环保、水利、农业、国土", "环保"]})
    f = W.casework_figures({"complaints": c, "inspections": ins}, DAY)
    # received this year: 3; handled by the day: only the March one (June's was handled in July, late)
    assert f["complaints"] == {"received": 3, "handled": 1, "on_time": 0, "open": 2}
    # a joint patrol needs four departments: June has one, the year two; no visits table, no visit figures
    assert f["patrols"] == {"joint_year": 2, "joint_month": 1}


def test_share_text():
    assert W.share_text(0.694) == "69%" and W.share_text(None) == "—" and W.share_text(float("nan")) == "—"


def test_every_campaign_tile_figure_is_the_chart_figure(demo):
    """The wall's tile for a campaign (progress.kpis) and its chart line (wallboard.closure_trends) agree:
    石灰窑（棚） once read 111/180 (62 %) beside 89 % because the tile left out 改建/搬迁."""
    k = progress.kpis(demo, DAY)
    camp = W.closure_trends(demo, DAY)["campaigns"].set_index("campaign")
    for key in ("chemical", "lime", "livestock"):
        if key in camp.index:
            assert (k[key]["done"] if "done" in k[key] else k[key]["closed"]) == camp.loc[key, "done"], key
            assert k[key]["targets"] == camp.loc[key, "targets"], key
    assert k["lime"]["done"] > k["lime"]["kilns_closed"] + k["lime"]["sheds_closed"]  # 改建/搬迁 count as done


def test_a_cut_ranking_says_when_the_last_place_shown_is_shared():
    """The wall's list is cut to its rows; a tie at the cut (two townships at rank 16) is said, not hidden."""
    standing = pd.DataFrame({"township": [f"镇{k}" for k in range(20)],
                             "rank": [*range(1, 16), 16, 16, 16, 19, 20], "text": ["x"] * 20})
    standing.attrs.update(kind="assessment")
    assert W.rest_text(standing, 16) == "另有4个乡镇，其中2个与第16名并列"
    assert W.rest_text(standing, 15) == "另有5个乡镇"
    comp = pd.DataFrame({"township": list("abcde"), "text": ["1/2", "1/2", "2/3", "2/3", "3/3"]})
    assert W.rest_text(comp, 3) == "另有2个乡镇，其中1个与“2/3”并列"
