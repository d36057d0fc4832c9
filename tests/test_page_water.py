"""The 水质 page on a private copy of the demo store (AppTest)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo import water
from geo.store import open_store

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "water.py")


@pytest.fixture
def store(app_store):
    return open_store(app_store)


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _frame(at: AppTest, column: str) -> pd.DataFrame:
    for df in at.dataframe:
        v = df.value
        data = v.data if hasattr(v, "data") else v  # a Styler shows its frame as .data
        if column in data.columns:
            return data
    raise AssertionError(f"no table with column {column!r}")


def test_page_shows_latest_classes_series_trends_and_park_profile(store):
    at = _run(AppTest.from_file(PAGE, default_timeout=120))
    # the latest table agrees with the core on the same store and date
    expected = water.latest_assessment(store.read_many(["sampling_points", "readings"]), as_of="2007-06-30")
    sections = expected.query("kind == 'section'")
    table = _frame(at, "水质类别")
    assert dict(zip(table["点位"], table["水质类别"])) == dict(zip(sections["id"], sections["class_label"]))
    assert set(table["目标"]) <= set(water.CLASS_LABELS.values())
    met = int(sections["meets"].fillna(False).sum())
    n = int(sections["class"].notna().sum())
    assert at.metric[0].value == f"{met}/{n}"
    # outfalls: their own table, judged against GB 8978-1996 (达标/超标 with the multiple), never classed
    outs = _frame(at, "执行标准")
    assert set(outs["点位"]) == set(expected.query("kind == 'outfall'")["id"]) and "水质类别" not in outs.columns
    assert set(outs["执行标准"]) == {"GB 8978-1996 一级"} and set(outs["判定"]) <= {"达标", "超标"}
    bad = outs[outs["判定"] == "超标"]
    assert len(bad) and bad["超标项目（超标倍数）"].str.contains("倍").all()
    labels = {m.label: m.value for m in at.metric}
    assert labels["劣Ⅴ类断面"] == str(int((sections["class"] == 6).sum()))  # outfalls are not counted
    assert labels["排污口超标"] == f"{len(bad)}/{len(outs)}"
    # a point is chosen (worst first), its series charts and trend table are drawn
    assert at.selectbox(key="point").value in set(expected["id"])
    assert len(at.get("vega_lite_chart")) >= 3  # parameter series + the park profile
    trend = _frame(at, "Sen 斜率（每年）")
    assert len(trend) > 0 and trend["趋势"].str[0].isin(list(water.TREND_ARROWS.values())).all()
    # exceedance table and the park comparison
    ex = _frame(at, "超标倍数")
    assert len(ex) > 0
    assert any("上下游" in s.value for s in at.subheader)
    # downloads are offered
    assert len(at.get("download_button")) >= 3


def test_page_follows_point_and_date(store):
    at = _run(AppTest.from_file(PAGE, default_timeout=120))
    at.selectbox(key="point").set_value("W09")
    _run(at)
    assert any("湖南镇水库库心" in m.value for m in at.markdown)
    trend = _frame(at, "Sen 斜率（每年）")
    assert trend["指标"].str.contains("TN").any()  # a lake: total nitrogen is charted and tested
    at.date_input(key="as_of").set_value(pd.Timestamp("2005-12-31").date())
    _run(at)
    table = _frame(at, "水质类别")
    days = pd.to_datetime(table["采样日期"])
    assert (days <= "2005-12-31").all() and len(table) == 10
    # the outfalls were first sampled in 2007: no verdict yet, and nothing raw in their row
    outs = _frame(at, "执行标准")
    assert (outs["采样日期"] == "—").all() and (outs["判定"] == "无数据").all()
    at.toggle(key="only_point").set_value(True)
    _run(at)
    ex = _frame(at, "超标倍数") if any("超标倍数" in (getattr(d.value, "data", d.value)).columns
                                  for d in at.dataframe) else pd.DataFrame({"点位": []})
    assert ex["点位"].str.startswith("W09").all()


def test_page_after_lab_import_shows_new_reading(store, tmp_path):
    from geo.intake.lab import import_lab_file

    lab = tmp_path / "lab.csv"
    lab.write_text("点位,采样时间,指标,数值,单位\nW02,2007-06-29 09:00,氨氮,2500,μg/L\nW02,2007-06-29 09:00,pH,7.1,无量纲\n",
                   encoding="utf-8")
    _, problems, written = import_lab_file(store, lab)
    assert written, problems
    at = _run(AppTest.from_file(PAGE, default_timeout=120))
    row = _frame(at, "水质类别").set_index("点位").loc["W02"]
    assert row["水质类别"] == "劣Ⅴ类" and row["达标"] == "否" and "NH3-N" in row["超标项目（超标倍数）"]


def test_page_outfall_is_judged_against_discharge_limits(store):
    """An outfall's series shows its discharge limit, its exceedances cite GB 8978-1996, never a class."""
    at = _run(AppTest.from_file(PAGE, default_timeout=120))
    at.selectbox(key="point").set_value("O01")
    _run(at)
    assert any("GB 8978-1996 一级" in m.value.replace("\\", "") and "最新" in m.value for m in at.markdown)
    assert not any("劣Ⅴ" in m.value for m in at.markdown)
    assert len(at.get("vega_lite_chart")) >= 2
    at.toggle(key="only_point").set_value(True)
    _run(at)
    ex = _frame(at, "超标倍数")
    assert len(ex) and ex["点位"].str.startswith("O01").all()
    assert (ex["对照"] == "GB 8978-1996 一级").all() and (ex["类别"] == "—").all()
    # COD over 100 mg/L at grade 一级: the multiple is (C − 100) / 100
    cod = ex[ex["指标"] == "化学需氧量 COD"]
    assert len(cod)
    for v, m in zip(cod["数值"], cod["超标倍数"]):
        assert float(v) > 100 and abs(float(m) - (float(v) - 100) / 100) < 0.006


def test_a_status_update_keeps_the_water_pages_cache_key(app_store):
    """Pages key their caches by the tables they read: a status update changes the store's version,
    not the version of the water page's tables."""
    import datetime as dt

    import ui
    from geo.store import open_store
    from geo.updates import update_status

    water = ("sampling_points", "readings", "rivers", "waterbodies", "enterprises", "townships")
    before, whole = ui.data_version(*water), ui.data_version()
    farm = open_store(app_store).read("farms")["id"].iat[0]
    update_status(open_store(app_store), "farms", farm, "closed", dt.date(2007, 6, 30), "核查", "李巡查")
    assert ui.data_version() != whole
    assert ui.data_version(*water) == before
    assert ui.data_version("farms") != ui.data_version(*water)


def test_exceedance_table_lists_the_newest_rows_and_says_how_many(app_store, monkeypatch, tmp_path):
    """Above ``[water] table_rows`` the page lists the newest exceedances and says how many there are in all."""
    full = _run(AppTest.from_file(PAGE, default_timeout=120))
    table = _frame(full, "超标倍数")
    total = len(table)
    assert total > 3
    cfg = tmp_path / "q.toml"
    cfg.write_text("[water]\ntable_rows = 3\n", encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))
    at = _run(AppTest.from_file(PAGE, default_timeout=120))
    short = _frame(at, "超标倍数")
    assert len(short) == 3
    # the newest three of the whole list, in the same order
    pd.testing.assert_frame_equal(short.reset_index(drop=True), table.head(3).reset_index(drop=True))
    assert any(f"共 {total:,} 条超标记录" in c.value for c in at.caption)


def test_a_provinces_water_is_drawn_for_the_view(tmp_path, monkeypatch):
    """400 rivers at full detail would make a 3 MB map: above WATER_DETAIL vertices the water is simplified for
    the view, so the page's map stays small; the demo's few rivers are drawn as stored."""
    import shapely

    from geo import synth

    path = tmp_path / "p.gpkg"
    synth.write(str(path), sites=2000, readings=2000)
    rivers = open_store(str(path)).read("rivers")
    assert int(shapely.get_num_coordinates(rivers.geometry.values).sum()) > 20_000
    monkeypatch.setenv("QINGSHAN_STORE", str(path))
    at = _run(AppTest.from_file(PAGE, default_timeout=120))
    assert len(at.get("iframe")[0].proto.srcdoc) < 1.2e6


def test_lakes_show_their_total_nitrogen_beside_the_class(store):
    """环办〔2011〕22号: a reservoir's TN is assessed apart from its class; rivers do not assess TN."""
    at = _run(AppTest.from_file(PAGE, default_timeout=120))
    table = _frame(at, "总氮（单独评价）").set_index("点位")
    pts = store.read("sampling_points").set_index("id")
    expected = water.latest_assessment(store.read_many(["sampling_points", "readings"]), as_of="2007-06-30")
    for pid, row in expected.query("kind == 'section'").set_index("id").iterrows():
        shown = table.loc[pid, "总氮（单独评价）"]
        if pts.loc[pid, "waterbody"] == "lake":
            assert shown == water.label(row["tn_class"])
        else:
            assert shown == "河流不评价"
    assert any(pts.loc[p, "waterbody"] == "lake" for p in table.index)  # the demo has a reservoir
    assert any("环办〔2011〕22号" in c.value for c in at.caption)
