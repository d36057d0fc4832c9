"""Closure progress (geo.progress): hand-built histories, the demo store's report figures, the CLI."""
from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo import progress as P
from geo.cli import main as geo_main
from geo.store import open_store

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo.gpkg"
CRS = "EPSG:4326"
JIA, YI = "甲镇", "乙镇"
PARK = P.CHEMICAL_PARK


# --- a small hand-built district ----------------------------------------------------------------

def _pts(xy):
    return [shapely.Point(x, y) for x, y in xy]


def hand_frames() -> dict[str, pd.DataFrame]:
    """Two townships (甲镇 west, 乙镇 east); histories chosen so every figure below is countable by hand."""
    towns = gpd.GeoDataFrame({"code": ["1", "2"], "name": [JIA, YI], "kind": ["镇", "镇"]},
                             geometry=[shapely.box(118.9, 29.0, 119.0, 29.1), shapely.box(119.0, 29.0, 119.1, 29.1)],
                             crs=CRS)
    ent = gpd.GeoDataFrame(
        {"id": ["e1", "e2", "e3", "e4"], "name": ["甲化工", "乙化工", "丙化工", "丁纸厂"],
         "industry": ["化工", "化工", "化工", "造纸"], "status": ["closed", "committed", "closed", "operating"],
         "deadline": pd.to_datetime(["2007-09-30", "2007-09-30", "2006-12-31", "2007-06-30"]),
         "closed_on": pd.to_datetime(["2007-08-01", None, "2007-02-01", None]),
         "park": [PARK, PARK, PARK, None], "destination": ["安徽", "就地关停", None, None],
         "department": ["环保局", "安监局", None, None]},
        geometry=_pts([(118.95, 29.05), (118.96, 29.05), (119.05, 29.05), (119.06, 29.05)]), crs=CRS)
    kilns = gpd.GeoDataFrame(
        {"id": [f"k{i}" for i in range(1, 7)], "name": [f"窑{i}" for i in range(1, 7)],
         "village": ["上村"] * 6, "kind": ["kiln", "shed", "kiln", "shed", "kiln", "kiln"],
         "status": ["closed", "closed", "rebuilt", "operating", "relocated", "operating"],
         "closed_on": pd.NaT},
        geometry=_pts([(119.01 + 0.01 * i, 29.02) for i in range(6)]), crs=CRS)
    farms = gpd.GeoDataFrame(
        {"id": ["f1", "f2", "f3", "f4"], "name": ["一场", "二场", "三场", "四场"], "species": ["猪", "猪", "牛", None],
         "head_count": [800, 600, 50, 900], "status": ["accepted", "treating", "operating", "treating"],
         "deadline": pd.to_datetime(["2007-09-30", "2007-09-30", None, "2007-12-31"])},
        geometry=_pts([(118.92, 29.03), (119.03, 29.03), (120.5, 29.5), (119.04, 29.04)]), crs=CRS)
    ev = [
        ("enterprises", "e1", "operating", "2007-01-01"), ("enterprises", "e1", "committed", "2007-04-10"),
        ("enterprises", "e1", "closed", "2007-08-01"),
        ("enterprises", "e2", "operating", "2007-01-01"), ("enterprises", "e2", "committed", "2007-04-12"),
        ("enterprises", "e3", "operating", "2006-01-01"), ("enterprises", "e3", "closed", "2007-02-01"),
        ("enterprises", "e4", "operating", "2006-01-01"),
        *[("kilns", f"k{i}", "operating", "2006-01-01") for i in range(1, 7)],
        ("kilns", "k1", "closed", "2007-02-06"), ("kilns", "k2", "closed", "2007-02-06"),
        ("kilns", "k3", "rebuilt", "2007-05-01"), ("kilns", "k5", "relocated", "2007-03-01"),
        ("kilns", "k6", "closed", "2007-03-01"), ("kilns", "k6", "operating", "2007-04-01"),  # reopened
        ("farms", "f1", "operating", "2006-01-01"), ("farms", "f1", "treating", "2007-03-15"),
        ("farms", "f1", "accepted", "2007-10-20"),
        ("farms", "f2", "operating", "2006-01-01"), ("farms", "f2", "treating", "2007-03-20"),
        ("farms", "f3", "operating", "2006-01-01"),
        ("farms", "f4", "treating", "2007-07-01"),  # on the ledger only from July
    ]
    events = pd.DataFrame(ev, columns=["layer", "feature_id", "status", "effective_on"])
    events["effective_on"] = pd.to_datetime(events["effective_on"])
    events["recorded_at"] = events["effective_on"]
    return {"townships": towns, "enterprises": ent, "kilns": kilns, "farms": farms, "status_events": events}


@pytest.fixture
def frames():
    return P.prepare(hand_frames())


def _row(comp: pd.DataFrame, township: str) -> dict:
    return comp.set_index("township").loc[township].to_dict()


def test_completion_by_township_and_campaign(frames):
    chem = P.completion(frames, "chemical", "2007-06-30")
    assert _row(chem, JIA)["targets"] == 2 and _row(chem, JIA)["done"] == 0
    assert _row(chem, YI)["targets"] == 1 and _row(chem, YI)["rate"] == 1.0
    assert list(chem["township"]) == [JIA, YI]  # township table order, every township listed
    # after e1 closes on 1 August
    assert _row(P.completion(frames, "chemical", "2007-08-01"), JIA)["done"] == 1
    assert _row(P.completion(frames, "chemical", "2007-07-31"), JIA)["done"] == 0


def test_lime_counts_rebuilt_and_relocated_as_done_and_replays_reopening(frames):
    def done(day):
        return P.summary(frames, "lime", day)["done"]

    assert done("2007-02-05") == 0
    assert done("2007-02-06") == 2          # k1, k2 closed that day
    assert done("2007-03-01") == 4          # + k5 relocated, k6 closed
    assert done("2007-04-01") == 3          # k6 reopened
    assert done("2007-05-01") == 4          # + k3 rebuilt
    assert P.summary(frames, "lime", "2007-06-30")["targets"] == 6


def test_livestock_targets_are_farms_ever_treating_by_the_date(frames):
    s = P.summary(frames, "livestock", "2007-06-30")
    assert (s["targets"], s["done"]) == (2, 0)          # f1, f2; f4 starts treating in July; f3 never
    assert P.summary(frames, "livestock", "2007-03-14")["targets"] == 0
    assert P.summary(frames, "livestock", "2007-07-01")["targets"] == 3
    late = P.summary(frames, "livestock", "2007-10-20")
    assert (late["targets"], late["done"]) == (3, 1)    # f1 accepted


def test_counts_by_layer_group_township_status(frames):
    c = P.counts(frames, "2007-06-30")
    assert list(c.columns) == ["layer", "group", "township", "status", "count"]
    key = c.set_index(["layer", "group", "township", "status"])["count"]
    assert key[("kilns", "kiln", YI, "closed")] == 1
    assert key[("kilns", "kiln", YI, "operating")] == 1        # k6 reopened
    assert key[("kilns", "kiln", YI, "rebuilt")] == 1
    assert key[("kilns", "shed", YI, "closed")] == 1
    assert key[("enterprises", "化工", JIA, "committed")] == 2
    assert key[("farms", "牛", P.OUTSIDE, "operating")] == 1   # f3 lies outside every township
    assert ("farms", P.UNKNOWN_GROUP, YI, "treating") not in key.index  # f4 not on the ledger yet
    assert c["count"].sum() == 4 + 6 + 3
    assert P.counts(frames, "2007-07-01").set_index(["layer", "group", "township", "status"])["count"][
        ("farms", P.UNKNOWN_GROUP, YI, "treating")] == 1
    assert P.counts(frames, "2005-01-01").empty


def test_overdue_only_after_the_deadline_passes(frames):
    on_deadline = P.overdue(frames, "2007-09-30")
    assert list(on_deadline["id"]) == ["e4"]                  # only the paper mill (deadline 30 June)
    assert on_deadline["campaign"].isna().all()
    after = P.overdue(frames, "2007-10-01").set_index("id")
    assert set(after.index) == {"e2", "f1", "f2", "e4"}       # e1 closed in August: not overdue
    assert after.loc["e4", "days_left"] == -93
    assert after.loc["e2", "days_left"] == -1
    assert after.loc["e2", "campaign"] == "chemical" and after.loc["f1", "campaign"] == "livestock"
    assert after["overdue"].all()
    assert list(P.overdue(frames, "2007-10-01")["id"])[0] == "e4"  # most overdue first
    assert set(P.overdue(frames, "2007-10-21")["id"]) == {"e2", "f2", "e4"}  # f1 accepted on 20 Oct


def test_pending_sites_carry_deadline_department_destination(frames):
    p = P.pending_sites(frames, "2007-06-30").set_index("id")
    assert set(p.index) == {"e1", "e2", "k4", "k6", "f1", "f2"}
    assert p.loc["e1", "department"] == "环保局" and p.loc["e1", "destination"] == "安徽"
    assert p.loc["e1", "days_left"] == 92 and not p.loc["e1", "overdue"]
    assert pd.isna(p.loc["k4", "days_left"])                  # kilns have no deadline
    only = P.pending_sites(frames, "2007-06-30", campaign="chemical")
    assert set(only["id"]) == {"e1", "e2"}


def test_department_pairs(frames):
    pairs = P.department_pairs(frames, "2007-06-30")
    assert dict(zip(pairs["department"], pairs["id"])) == {"环保局": "e1", "安监局": "e2"}
    assert list(P.department_pairs(frames, "2007-08-02")["id"]) == ["e2"]
    summ = P.department_summary(frames, "2007-08-02").set_index("department")
    assert summ.loc["环保局"].to_dict() == {"paired": 1, "done": 1, "pending": 0}


def test_cumulative_matches_replay_every_day(frames):
    series = P.cumulative(frames, "lime", "2007-06-30", start="2007-01-01")
    assert series["date"].iloc[0] == pd.Timestamp("2007-01-01")
    assert series["date"].iloc[-1] == pd.Timestamp("2007-06-30")
    assert series["date"].diff().dropna().eq(pd.Timedelta(days=1)).all()
    for day, done in zip(series["date"], series["done"]):
        t = P.targets(frames, "lime", day)
        assert done == int(t["done"].sum()), day


def test_projection_arithmetic_on_a_hand_built_series():
    dates = pd.date_range("2007-01-01", "2007-06-30", freq="D")
    # 10 done until 1 April (as_of − 90 days), then +1 every 10 days: 19 on 30 June (90 days later)
    done = [10 + max(0, (d - pd.Timestamp("2007-04-01")).days) // 10 for d in dates]
    series = pd.DataFrame({"date": dates, "done": done})
    assert series.set_index("date")["done"]["2007-06-30"] == 19
    proj = P.project(series, 30, "2007-06-30", window_days=90, deadline="2007-09-30")
    assert proj.done == 19 and proj.done_window_start == 10
    assert proj.pace_per_day == pytest.approx(0.1)
    # 11 remaining at 0.1 a day: 110 days after 30 June = 18 October, after the deadline
    assert proj.projected_on == pd.Timestamp("2007-10-18")
    assert proj.on_time is False
    line = proj.line()
    assert list(line["done"]) == [19.0, 30.0] and list(line["date"]) == [pd.Timestamp("2007-06-30"),
                                                                          pd.Timestamp("2007-10-18")]
    # non-integer days round up: 10 remaining at 3/90 a day = 300 days
    p2 = P.project(pd.DataFrame({"date": [pd.Timestamp("2007-04-01"), pd.Timestamp("2007-06-30")],
                                 "done": [0, 3]}), 13, "2007-06-30", window_days=90)
    assert p2.projected_on == pd.Timestamp("2007-06-30") + pd.Timedelta(days=300)
    # no progress in the window: no projected date
    flat = P.project(pd.DataFrame({"date": dates, "done": 5}), 30, "2007-06-30", deadline="2007-09-30")
    assert flat.pace_per_day == 0 and flat.projected_on is None and flat.on_time is False
    assert flat.line().empty
    # already complete: the day the target was reached
    full = P.project(pd.DataFrame({"date": dates, "done": [min(30, i) for i in range(len(dates))]}), 30,
                     "2007-06-30")
    assert full.remaining == 0 and full.projected_on == pd.Timestamp("2007-01-31")
    with pytest.raises(ValueError):
        P.project(series, 30, "2007-06-30", window_days=0)


def test_timeline_uses_campaign_deadline(frames):
    series, proj = P.timeline(frames, "chemical", "2007-06-30")
    assert proj.deadline == pd.Timestamp("2007-09-30")
    assert proj.targets == 3 and proj.done == 1
    assert proj.done_window_start == 1 and proj.pace_per_day == 0   # e3 closed in February, nothing since
    assert P.timeline(frames, "lime", "2007-06-30")[1].deadline is None


def test_township_ranking_weights(frames):
    r = P.township_ranking(frames, "2007-06-30").set_index("township")
    # 乙镇: chemical 1/1, lime 4/6, livestock 0/1 -> (40·1 + 30·4/6 + 30·0) / 100
    assert r.loc[YI, "score"] == pytest.approx(60.0)
    assert r.loc[JIA, "score"] == 0.0          # chemical 0/2 and livestock 0/1
    assert r.loc[YI, "rank"] == 1 and r.loc[JIA, "rank"] == 2
    lime_only = P.township_ranking(frames, "2007-06-30", {"lime": 1.0}).set_index("township")
    assert lime_only.loc[YI, "score"] == pytest.approx(66.7)
    assert pd.isna(lime_only.loc[JIA, "score"]) and pd.isna(lime_only.loc[JIA, "rank"])
    from geo.errors import GeoError

    with pytest.raises(GeoError) as e:
        P.township_ranking(frames, "2007-06-30", {"lime": -1})
    assert "权重" in e.value.zh
    with pytest.raises(GeoError) as e:
        P.township_ranking(frames, "2007-06-30", {"nonsense": 1})
    assert "没有专项“nonsense”" in e.value.zh


def test_kpis_on_hand_frames(frames):
    k = P.kpis(frames, "2007-06-30")
    assert k["as_of"] == dt.date(2007, 6, 30)
    assert (k["chemical"]["targets"], k["chemical"]["closed"], k["chemical"]["committed"]) == (3, 1, 2)
    assert (k["chemical"]["with_destination"], k["chemical"]["in_place"]) == (1, 1)
    assert k["chemical"]["days_to_deadline"] == 92
    assert (k["lime"]["kilns"], k["lime"]["kilns_closed"], k["lime"]["kilns_rebuilt_or_relocated"]) == (4, 1, 2)
    assert (k["lime"]["sheds"], k["lime"]["sheds_closed"]) == (2, 1)
    assert k["livestock"]["treating"] == 2
    assert k["overdue"] == 0                                # e4 is due on 30 June itself
    assert P.kpis(frames, "2007-07-01")["overdue"] == 1


def test_works_without_optional_columns_and_prepare(frames):
    raw = hand_frames()
    raw["enterprises"] = raw["enterprises"].drop(columns=["park", "destination", "department"])
    k = P.kpis(raw, "2007-06-30")  # unprepared frames: the township join happens inside
    assert k["chemical"]["targets"] == 0 and k["chemical"]["rate"] is None
    assert P.department_pairs(raw, "2007-06-30").empty


# --- the demo store: the first-half report's figures ------------------------------------------------

@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    if not DEMO.exists():
        pytest.fail("data/demo.gpkg is missing: build it with python -m geo demo")
    path = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    shutil.copy(DEMO, path)
    return path


@pytest.fixture(scope="module")
def demo(demo_store):
    return P.load_frames(open_store(str(demo_store)))


def test_demo_chemical_park_at_30_june(demo):
    k = P.kpis(demo, "2007-06-30")["chemical"]
    assert (k["targets"], k["closed"], k["committed"], k["done"]) == (49, 34, 15, 34)
    assert k["deadline"] == dt.date(2007, 9, 30) and k["days_to_deadline"] == 92
    assert k["with_destination"] == 13 and k["in_place"] == 2
    relocating = {p: n for p, n in k["destinations"].items() if p not in P.IN_PLACE}
    assert relocating == {"衢州高新园区": 6, "安徽": 3, "江苏": 1, "江西": 3}
    assert sorted(k["departments"].values(), reverse=True) == [4, 4, 2, 2, 2, 2]
    assert sum(k["departments"].values()) == 16
    pend = P.pending_sites(demo, "2007-06-30", campaign="chemical")
    assert len(pend) == 15 and (pend["status"] == "committed").all()
    assert pend["committed_on"].between(pd.Timestamp("2007-04-01"), pd.Timestamp("2007-04-30")).all()
    assert (pend["deadline"] == pd.Timestamp("2007-09-30")).all()
    assert set(pend["township"]) == {"樟潭街道"}


def test_demo_sheds_closed_on_6_february(demo):
    def sheds_closed(day):
        c = P.counts(demo, day)
        return int(c[(c["layer"] == "kilns") & (c["group"] == "shed") & (c["status"] == "closed")]["count"].sum())

    assert sheds_closed("2007-02-05") == 0
    assert sheds_closed("2007-02-06") == 74
    series = P.cumulative(demo, "lime", "2007-02-06", start="2007-02-01").set_index("date")["done"]
    assert series["2007-02-06"] - series["2007-02-05"] == 74


def test_demo_kilns_and_farms_at_30_june(demo):
    k = P.kpis(demo, "2007-06-30")
    lime = k["lime"]
    assert (lime["sheds"], lime["sheds_closed"]) == (105, 85)
    assert (lime["kilns"], lime["kilns_closed"], lime["kilns_rebuilt_or_relocated"]) == (75, 26, 49)
    kilns = P.targets(demo, "lime", "2007-06-30")
    assert kilns.loc[kilns["kind"] == "kiln", "village"].nunique() == 11
    assert set(kilns["township"]) == {"上方镇"}
    live = k["livestock"]
    assert (live["targets"], live["treating"], live["done"]) == (34, 34, 0)
    farms = P.targets(demo, "livestock", "2007-06-30")
    assert set(farms["species"]) == {"猪"}
    assert k["overdue"] == 0


def test_demo_overdue_after_30_september(demo):
    assert P.overdue(demo, "2007-09-30").empty
    od = P.overdue(demo, "2007-10-01")
    # no event after June in the demo: the 15 committed enterprises and the 34 farms are all one day late
    assert (od["campaign"] == "chemical").sum() == 15
    assert (od["campaign"] == "livestock").sum() == 34
    assert (od["days_left"] == -1).all()


# --- CLI ------------------------------------------------------------------------------------------

def test_cli_csv_json_xlsx_parse_back(demo_store, tmp_path, capsys):
    base = ["progress", "--store", str(demo_store), "--as-of", "2007-06-30"]
    assert geo_main(base + ["--format", "csv", "--out", str(tmp_path / "p.csv")]) == 0
    csv = pd.read_csv(tmp_path / "p.csv", encoding="utf-8-sig")
    assert list(csv.columns) == ["layer", "group", "township", "status", "count"]
    idx = csv.set_index(["layer", "group", "township", "status"])["count"]
    assert idx[("enterprises", "化工", "樟潭街道", "closed")] == 34
    assert idx[("enterprises", "化工", "樟潭街道", "committed")] == 15
    assert idx[("kilns", "shed", "上方镇", "closed")] == 85
    assert idx[("kilns", "kiln", "上方镇", "closed")] == 26
    assert not idx.index.duplicated().any()

    assert geo_main(base + ["--format", "json", "--out", str(tmp_path / "p.json")]) == 0
    js = pd.DataFrame(json.loads((tmp_path / "p.json").read_text(encoding="utf-8")))
    pd.testing.assert_frame_equal(js.reset_index(drop=True), csv, check_dtype=False)

    assert geo_main(base + ["--format", "xlsx", "--out", str(tmp_path / "p.xlsx")]) == 0
    xl = pd.read_excel(tmp_path / "p.xlsx")
    assert list(xl.columns) == ["图层", "类别", "乡镇", "状态", "数量"]
    assert len(xl) == len(csv) and xl["数量"].sum() == csv["count"].sum()
    hit = xl[(xl["图层"] == "企业") & (xl["类别"] == "化工") & (xl["状态"] == "已关停")]
    assert hit["数量"].tolist() == [34]
    assert (xl[(xl["类别"] == "石灰钙棚") & (xl["状态"] == "已关停")]["数量"]).tolist() == [85]

    capsys.readouterr()
    assert geo_main(base + ["--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert not out.startswith("\ufeff")
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(out)), csv)


def test_cli_bad_input_is_bilingual_and_writes_nothing(demo_store, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert geo_main(["progress", "--store", str(demo_store), "--as-of", "30/06/2007", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "日期格式" in err and "YYYY-MM-DD" in err and not out.exists()
    assert geo_main(["progress", "--store", str(demo_store), "--format", "xlsx"]) == 2
    assert "--out" in capsys.readouterr().err


def test_cli_defaults_to_store_as_of(demo_store, capsys):
    assert geo_main(["progress", "--store", str(demo_store), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    closed = [r["count"] for r in rows if r["layer"] == "enterprises" and r["group"] == "化工"
              and r["status"] == "closed"]
    assert closed == [34]


def test_exports_never_turn_ledger_text_into_formulas(frames, tmp_path):
    import openpyxl

    hostile = "=HYPERLINK(\"http://x\",\"点我\")"
    raw = hand_frames()
    raw["enterprises"].loc[0, "name"] = hostile
    raw["enterprises"].loc[1, "industry"] = "+化工"
    pend = P.pending_sites(raw, "2007-06-30", campaign="chemical")
    data = P.to_xlsx({"未完成点位": P.labelled(pend)})
    (tmp_path / "p.xlsx").write_bytes(data)
    ws = openpyxl.load_workbook(tmp_path / "p.xlsx").active
    cells = [c for row in ws.iter_rows() for c in row if c.value == hostile]
    assert len(cells) == 1 and cells[0].data_type == "s"
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    safe = P.excel_safe(P.labelled(pend))
    assert set(safe["名称"]) >= {"'" + hostile} and "'+化工" in set(safe["类别"])
    assert (safe["剩余天数"] == P.labelled(pend)["剩余天数"]).all()   # numbers untouched
