"""The national automatic surface-water platform's exports: real-time readings and monthly section classes.

Every sample below is built as the platform writes it (GBK CSV under a title line, xlsx, the site's JSON
in both key styles); expected values, counts and classes are worked out by hand in the comments.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from geo.errors import GeoError, LimitError
from geo.intake import platform
from geo.io.limits import Limits
from geo.store import Change, open_store

ROOT = Path(__file__).resolve().parent.parent

HEADER = ("省份,流域,断面名称,监测时间,水质类别,水温(℃),pH(无量纲),溶解氧(mg/L),电导率(μS/cm),浊度(NTU),"
          "高锰酸盐指数(mg/L),氨氮(mg/L),总磷(mg/L),总氮(mg/L),叶绿素α(mg/L),藻密度(cells/L),站点情况")
TITLE = "国家地表水水质自动监测实时数据发布系统 数据导出"
# File lines (line 1 the title, line 2 the header). Classes by hand (GB 3838-2002, single factor, rivers
# and lakes without TN): line 3 DO 8.1 Ⅰ, CODMn 2.1 Ⅱ, NH3-N 0.077 Ⅰ, TP 0.052 Ⅱ (river) → Ⅱ;
# line 4 CODMn 2.3, TP 0.049 → Ⅱ; line 5 (a reservoir) TP 0.03 → Ⅲ at the lake limits (0.025 < 0.03 ≤ 0.05);
# line 7 DO 1.5 < 2 → 劣Ⅴ.
ROWS = [
    "浙江省,长江流域,樟潭断面,06-21 20:00,Ⅱ,25.1,7.62,8.1,215.3,12.4,2.1,0.077*,0.052,1.21,0.0031,1.5E+06,正常",
    "浙江省,长江流域,樟潭断面,06-21 21:00,II,25.0,7.60,7.9,—,/,2.3,0.081,0.049,*,--,,维护",
    "浙江省,长江流域,湖南镇水库库心,06-21 20:00,Ⅲ类,24.2,7.9,7.6,180.0,3.1,2.5,0.12,0.03,0.8,0.0052,2.1E+06,正常",
    "浙江省,长江流域,樟潭断面,06-21 22:00,--,--,--,--,--,--,--,--,--,--,--,--,停运",
    "浙江省,长江流域,樟潭断面,06-21 23:00,劣Ⅴ,24.8,7.5,1.5,220,15,2.4,0.09,0.06,1.3,0.004,1.6E+06,通讯中断",
]
#: Values per line: 11 + 6 + 11 + 0 + 11.
N_VALUES = 39
#: Cells without a value: line 4 has EC —, TURB /, TN *, CHLA --, ALGAE blank; line 6 has all eleven "--".
NO_DATA = {"水温(℃)": 1, "pH(无量纲)": 1, "溶解氧(mg/L)": 1, "电导率(μS/cm)": 2, "浊度(NTU)": 2,
           "高锰酸盐指数(mg/L)": 1, "氨氮(mg/L)": 1, "总磷(mg/L)": 1, "总氮(mg/L)": 2, "叶绿素α(mg/L)": 2,
           "藻密度(cells/L)": 2}


def export_csv(path: Path, rows=ROWS, *, title=TITLE, header=HEADER, encoding="gbk") -> Path:
    lines = ([title] if title else []) + [header, *rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.fixture
def store(demo_store):
    return open_store(demo_store)


def add_point(store, pid, name, *, waterbody="river", target=3, kind="section"):
    """A sampling point named as the platform names its station (the demo's do not all match)."""
    row = gpd.GeoDataFrame({"id": [pid], "name": [name], "kind": [kind], "waterbody": [waterbody],
                            "target_class": [target]}, geometry=[shapely.Point(118.9, 29.0)], crs="EPSG:4326")
    store.commit([Change("sampling_points", row, "upsert")])


def without_as_of(store):
    """The store as a live one (no replay date), so 2026's readings are not in its future."""
    meta = store.read("meta")
    store.commit([Change("meta", meta[meta["key"] != "as_of"], "replace")])


def errors(result):
    return [p for p in result.findings if p.severity == "error"]


def warnings(result):
    return [p for p in result.findings if p.severity == "warning"]


def new_readings(store, before: int) -> pd.DataFrame:
    r = store.read("readings")
    return r.iloc[before:].reset_index(drop=True)


def at(df, point, when, parameter):
    hit = df[(df["point_id"] == point) & (df["sampled_at"] == pd.Timestamp(when)) & (df["parameter"] == parameter)]
    assert len(hit) == 1, (point, when, parameter, len(hit))
    return hit.iloc[0]


# --- the real-time export -------------------------------------------------------------------

def test_gbk_csv_with_title_year_less_times_and_no_value_cells(store, tmp_path):
    f = export_csv(tmp_path / "实时数据.csv")
    before = len(store.read("readings"))
    result = platform.import_platform(store, f, year=2007, user="tester")
    assert result.written, [str(p) for p in errors(result)]
    got = new_readings(store, before)
    assert len(got) == N_VALUES == len(result.readings)
    # W02 = 樟潭断面, W09 = 湖南镇水库库心 (matched by name); times with the year given
    r = at(got, "W02", "2007-06-21 20:00", "NH3-N")
    assert r["value"] == 0.077 and r["unit"] == "mg/L"  # "0.077*": the value without its flag
    assert at(got, "W02", "2007-06-21 20:00", "WT")["unit"] == "℃"
    assert at(got, "W02", "2007-06-21 20:00", "pH")["value"] == 7.62
    assert at(got, "W02", "2007-06-21 20:00", "pH")["unit"] == "无量纲"
    assert at(got, "W02", "2007-06-21 20:00", "TURB")[["value", "unit"]].tolist() == [12.4, "NTU"]
    assert at(got, "W02", "2007-06-21 20:00", "CHLA")[["value", "unit"]].tolist() == [0.0031, "mg/L"]
    algae = at(got, "W02", "2007-06-21 20:00", "ALGAE")
    assert algae["value"] == 1_500_000 and algae["unit"] == "个/L"  # cells/L
    ec = at(got, "W09", "2007-06-21 20:00", "EC")
    assert ec["value"] == 180.0 and ec["unit"].replace("\u00b5", "\u03bc") == "μS/cm"
    assert at(got, "W09", "2007-06-21 20:00", "TP")["value"] == 0.03
    # line 4 (维护) keeps its six values; line 6 (停运, all "--") stores nothing
    assert sorted(got.loc[got["sampled_at"] == pd.Timestamp("2007-06-21 21:00"), "parameter"]) == sorted(
        ["WT", "pH", "DO", "CODMn", "NH3-N", "TP"])
    assert not (got["sampled_at"] == pd.Timestamp("2007-06-21 22:00")).any()
    assert set(got["sampled_at"].dt.year) == {2007}
    # no-value cells are counted per column, never errors
    assert result.no_data == NO_DATA and sum(result.no_data.values()) == 16
    assert errors(result) == []
    nd = [p for p in result.findings if p.row is None and "无数据 16 处" in p.why_zh]
    assert len(nd) == 1 and nd[0].severity == "warning"
    idle = [p for p in result.findings if p.row == 6]
    assert len(idle) == 1 and "停运" in idle[0].why_zh and idle[0].severity == "warning"
    # the platform's classes agree with the rows' values: no contradiction reported
    assert not [p for p in result.findings if p.column == "水质类别"]


def test_flags_of_values_and_of_station_status(store, tmp_path):
    f = export_csv(tmp_path / "a.csv")
    before = len(store.read("readings"))
    result = platform.import_platform(store, f, year=2007, user="tester")
    got = new_readings(store, before)
    assert result.written
    flag = lambda p, t: at(got, "W02", t, p)["flag"]  # noqa: E731
    assert flag("NH3-N", "2007-06-21 20:00") == "*"
    assert pd.isna(flag("TP", "2007-06-21 20:00"))  # 正常 and no mark: no flag
    assert {at(got, "W02", "2007-06-21 21:00", p)["flag"] for p in ("WT", "DO", "TP")} == {"维护"}
    assert at(got, "W02", "2007-06-21 23:00", "DO")["flag"] == "通讯中断"
    assert got["flag"].notna().sum() == 1 + 6 + 11  # the mark, then line 4's and line 7's readings
    assert set(got["recorded_by"]) == {"tester"}


def test_refused_without_a_year_and_nothing_written(store, tmp_path):
    f = export_csv(tmp_path / "a.csv")
    before = len(store.read("readings"))
    with pytest.raises(GeoError) as exc:
        platform.import_platform(store, f, user="tester")
    assert "年份" in exc.value.zh and "第3行" in exc.value.zh and "06-21 20:00" in exc.value.zh
    assert "year" in exc.value.en and "never guessed" in exc.value.en
    assert len(store.read("readings")) == before
    with pytest.raises(GeoError):
        platform.read_platform(f, year="twenty")


def test_year_less_times_over_new_year_are_refused(tmp_path):
    rows = ["浙江省,长江流域,樟潭断面,12-31 23:00,Ⅱ,9,7.6,9.1,200,5,2.1,0.1,0.05,1.1,0.002,1E+05,正常",
            "浙江省,长江流域,樟潭断面,01-01 00:00,Ⅱ,9,7.6,9.1,200,5,2.1,0.1,0.05,1.1,0.002,1E+05,正常"]
    with pytest.raises(GeoError) as exc:
        platform.read_platform(export_csv(tmp_path / "a.csv", rows), year=2026)
    assert "跨年" in exc.value.zh and "December and January" in exc.value.en


def test_full_dates_need_no_year_and_2026_is_stored_as_written(store, tmp_path):
    without_as_of(store)
    rows = ["浙江省,长江流域,樟潭断面,2026-08-21 20:00:00,Ⅱ,27.5,7.7,7.8,230,9,2.2,0.11,0.06,1.4,0.003,1.1E+06,正常"]
    before = len(store.read("readings"))
    result = platform.import_platform(store, export_csv(tmp_path / "a.csv", rows), user="tester")
    assert result.written and len(new_readings(store, before)) == 11
    assert at(new_readings(store, before), "W02", "2026-08-21 20:00", "DO")["value"] == 7.8
    # and a year-less export with --year 2026
    rows = ["浙江省,长江流域,樟潭断面,08-21 21:00,Ⅱ,27.4,7.7,7.7,231,9,2.2,0.12,0.06,1.4,0.003,1.1E+06,正常"]
    result = platform.import_platform(store, export_csv(tmp_path / "b.csv", rows), year=2026, user="tester")
    assert result.written
    assert at(new_readings(store, before), "W02", "2026-08-21 21:00", "NH3-N")["value"] == 0.12


def test_dry_run_writes_nothing(store, tmp_path):
    before = len(store.read("readings"))
    result = platform.import_platform(store, export_csv(tmp_path / "a.csv"), year=2007, user="t", dry_run=True)
    assert not result.refused and not result.written and len(result.readings) == N_VALUES
    assert len(store.read("readings")) == before


def test_unknown_station_is_one_error_per_row_and_nothing_is_written(store, tmp_path):
    rows = [*ROWS, "浙江省,长江流域,不存在的站,06-21 20:00,Ⅱ,25,7.6,8,200,9,2,0.1,0.05,1,0.002,1E+05,正常",
            "浙江省,长江流域,不存在的站,06-21 21:00,Ⅱ,25,7.6,8,200,9,2,0.1,--,1,0.002,1E+05,正常"]
    before = len(store.read("readings"))
    result = platform.import_platform(store, export_csv(tmp_path / "a.csv", rows), year=2007, user="t")
    assert not result.written and len(store.read("readings")) == before
    errs = errors(result)
    assert [(p.row, p.column, p.id) for p in errs] == [(8, "断面名称", "不存在的站"), (9, "断面名称", "不存在的站")]
    assert "未知点位" in errs[0].why_zh and "unknown point" in errs[0].why
    # good rows only: the two rows are skipped (listed), the others written
    result = platform.import_platform(store, export_csv(tmp_path / "a.csv", rows), year=2007, user="t",
                                      skip_bad_rows=True)
    assert result.written and result.skipped_rows == [8, 9]
    assert len(store.read("readings")) == before + N_VALUES
    assert sorted(p.row for p in result.findings if p.severity == "skipped") == [8, 9]


def test_a_bad_value_names_its_row_and_column(store, tmp_path):
    rows = [ROWS[0].replace(",0.052,", ",abc,"), ROWS[2]]
    result = platform.import_platform(store, export_csv(tmp_path / "a.csv", rows), year=2007, user="t")
    assert not result.written
    assert [(p.row, p.column) for p in errors(result)] == [(3, "总磷(mg/L)")]
    assert "abc" in errors(result)[0].why_zh and errors(result)[0].id == "樟潭断面"


def test_imported_twice_is_refused_row_by_row(store, tmp_path):
    f = export_csv(tmp_path / "a.csv")
    assert platform.import_platform(store, f, year=2007, user="t").written
    n = len(store.read("readings"))
    again = platform.import_platform(store, f, year=2007, user="t")
    assert not again.written and len(store.read("readings")) == n
    # one finding per row already stored, naming its columns (lines 3, 4, 5, 7; line 6 held no value)
    assert sorted(p.row for p in errors(again)) == [3, 4, 5, 7]
    assert all("已在库中" in p.why_zh for p in errors(again))
    line4 = next(p for p in errors(again) if p.row == 4)
    assert line4.column == "水温(℃)、pH(无量纲)、溶解氧(mg/L)、高锰酸盐指数(mg/L)、氨氮(mg/L)、总磷(mg/L)"
    assert again.duplicates == 4 and again.rows_read == 5


def test_a_stated_class_the_values_contradict_is_a_warning(store, tmp_path):
    # TP 0.25 in a river is class Ⅳ (0.2 < 0.25 ≤ 0.3): the platform's "Ⅱ" cannot be
    rows = [ROWS[0].replace(",0.052,", ",0.25,")]
    result = platform.import_platform(store, export_csv(tmp_path / "a.csv", rows), year=2007, user="t")
    assert result.written
    [w] = [p for p in result.findings if p.column == "水质类别"]
    assert w.row == 3 and w.severity == "warning" and "Ⅱ类" in w.why_zh and "Ⅳ类" in w.why_zh and "总磷" in w.why_zh


def test_a_better_class_from_fewer_values_is_no_contradiction(store, tmp_path):
    # line 3: TP "--" and the platform says Ⅲ; the four values left give Ⅱ (CODMn 2.1): the platform may
    # have classed on a TP this export does not show, so nothing is said. Line 4: all five present, Ⅱ by
    # the values (TP 0.049) against a stated Ⅲ: a contradiction.
    rows = [ROWS[0].replace(",0.052,", ",--,").replace(",Ⅱ,", ",Ⅲ,"), ROWS[1].replace(",II,", ",Ⅲ,")]
    result = platform.import_platform(store, export_csv(tmp_path / "a.csv", rows), year=2007, user="t")
    assert result.written
    assert [p.row for p in result.findings if p.column == "水质类别"] == [4]


def test_a_unit_not_understood_refuses_its_column_and_unknown_columns_are_named(store, tmp_path):
    header = HEADER.replace("电导率(μS/cm)", "电导率(ppm)").replace(",站点情况", ",站点情况,备注")
    rows = [r + ",人工比对" for r in ROWS[:1]]
    before = len(store.read("readings"))
    result = platform.import_platform(store, export_csv(tmp_path / "a.csv", rows, header=header), year=2007,
                                      user="t")
    assert not result.written and len(store.read("readings")) == before
    [e] = errors(result)
    assert e.row is None and e.column == "电导率(ppm)" and "ppm" in e.why_zh
    [w] = [p for p in warnings(result) if "未识别的列" in p.why_zh]
    assert w.column == "备注"


def test_xlsx_export_with_title_row_and_numeric_cells(store, tmp_path):
    add_point(store, "N01", "小溪滩", target=2)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([TITLE])
    ws.append(HEADER.split(","))
    ws.append(["浙江省", "长江流域", "小溪滩", "06-22 08:00", "Ⅱ", 24.6, 7.71, 8.3, 201.5, 6.2, 1.9, "0.045*", 0.031,
               0.92, None, "--", "正常"])
    # a time typed as a date in Excel (the year is its own)
    ws.append(["浙江省", "长江流域", "小溪滩", dt.datetime(2007, 6, 22, 12), "Ⅱ", 26.0, 7.8, 8.6, "*", 5.9, 2.0, 0.05,
               0.034, 0.95, 0.002, 980000, "正常"])
    f = tmp_path / "export.xlsx"
    wb.save(f)
    before = len(store.read("readings"))
    result = platform.import_platform(store, f, year=2007, user="t")
    assert result.written and errors(result) == []
    got = new_readings(store, before)
    assert len(got) == 9 + 10  # line 3: CHLA blank and ALGAE "--"; line 4: EC "*"
    assert at(got, "N01", "2007-06-22 08:00", "NH3-N")["value"] == 0.045
    assert at(got, "N01", "2007-06-22 12:00", "ALGAE")["value"] == 980000
    assert result.no_data["叶绿素α(mg/L)"] == 1 and result.no_data["电导率(μS/cm)"] == 1


def _records():
    return [
        {"省份": "浙江省", "流域": "长江流域", "断面名称": "衢江出境断面", "监测时间": "06-23 04:00", "水质类别": "Ⅲ",
         "水温(℃)": 23.9, "pH(无量纲)": 7.45, "溶解氧(mg/L)": 6.8, "电导率(μS/cm)": 260.1, "浊度(NTU)": "--",
         "高锰酸盐指数(mg/L)": 3.1, "氨氮(mg/L)": 0.42, "总磷(mg/L)": 0.12, "总氮(mg/L)": 1.9,
         "叶绿素α(mg/L)": None, "藻密度(cells/L)": "*", "站点情况": "正常"},
        {"省份": "浙江省", "流域": "长江流域", "断面名称": "衢江出境断面", "监测时间": "06-23 08:00", "水质类别": "--",
         "水温(℃)": "--", "pH(无量纲)": "--", "溶解氧(mg/L)": "--", "电导率(μS/cm)": "--", "浊度(NTU)": "--",
         "高锰酸盐指数(mg/L)": "--", "氨氮(mg/L)": "--", "总磷(mg/L)": "--", "总氮(mg/L)": "--",
         "叶绿素α(mg/L)": "--", "藻密度(cells/L)": "--", "站点情况": "维护"},
    ]


def test_json_records_with_chinese_keys(store, tmp_path):
    f = tmp_path / "api.json"
    f.write_text(json.dumps({"records": _records()}, ensure_ascii=False), encoding="utf-8")
    before = len(store.read("readings"))
    result = platform.import_platform(store, f, year=2007, user="t")
    assert result.written, [str(p) for p in errors(result)]
    got = new_readings(store, before)
    # record 1: 11 columns less TURB "--", CHLA null, ALGAE "*" = 8 values; record 2: none (维护)
    assert len(got) == 8 and set(got["point_id"]) == {"W04"}
    assert at(got, "W04", "2007-06-23 04:00", "TP")["value"] == 0.12
    assert sum(result.no_data.values()) == 3 + 11
    [idle] = [p for p in result.findings if p.row == 2]
    assert "维护" in idle.why_zh


def test_json_list_with_english_keys_and_station_codes(store):
    records = [{"siteCode": "W04", "siteName": "出境断面(国控)", "monitorTime": "2007-06-23 04:00:00",
                "waterQuality": "Ⅲ类", "waterTemperature": 23.9, "ph": 7.45, "dissolvedOxygen": 6.8,
                "conductivity": "260.1", "turbidity": 11.0, "permanganateIndex": 3.1, "ammoniaNitrogen": "0.42*",
                "totalPhosphorus": 0.12, "totalNitrogen": 1.9, "chlorophyll": "—", "algaeDensity": None,
                "siteStatus": "正常"}]
    data = json.dumps(records, ensure_ascii=False).encode("utf-8")
    store_before = len(store.read("readings"))
    # bytes without a name: told apart from CSV by their first character; no year needed (full dates)
    result = platform.import_platform(store, data, user="t")
    assert result.written, [str(p) for p in errors(result)]
    got = new_readings(store, store_before)
    assert len(got) == 9 and set(got["point_id"]) == {"W04"}  # matched by the code, the name is unknown
    assert at(got, "W04", "2007-06-23 04:00", "NH3-N")["value"] == 0.42
    assert at(got, "W04", "2007-06-23 04:00", "TURB")["unit"] == "NTU"
    assert at(got, "W04", "2007-06-23 04:00", "WT")["unit"] == "℃"


def test_json_nested_value_is_a_bad_cell(store):
    records = _records()[:1]
    records[0]["氨氮(mg/L)"] = {"value": 0.42}
    result = platform.import_platform(store, json.dumps(records, ensure_ascii=False).encode(), year=2007, user="t")
    assert not result.written
    assert [(p.row, p.column) for p in errors(result)] == [(1, "氨氮(mg/L)")]


def test_json_is_bounded_before_it_is_parsed(tmp_path):
    f = tmp_path / "big.json"
    f.write_text(json.dumps({"records": _records() * 50}, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(LimitError):
        platform.read_platform(f, year=2007, limits=Limits(max_upload_mb=0.001))
    with pytest.raises(LimitError):
        platform.read_platform(f, year=2007, limits=Limits(max_rows=99))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(GeoError):
        platform.read_platform(deep, year=2007)
    with pytest.raises(GeoError):
        platform.read_platform(io.BytesIO(b'{"records": 3}'), name="x.json", year=2007)


def test_long_cells_are_melted_with_row_numbers(tmp_path):
    raw, findings = platform.read_platform(export_csv(tmp_path / "a.csv"), year=2007)
    assert len(raw) == N_VALUES and raw.index.name == "row"
    assert sorted(set(raw.index)) == [3, 4, 5, 7]
    one = raw[(raw.index == 3) & (raw["parameter"] == "NH3-N")].iloc[0]
    assert (one["value"], one["flag"], one["unit"], one["column"]) == ("0.077", "*", "mg/L", "氨氮(mg/L)")
    assert one["sampled_at"] == "2007-06-21 20:00:00" and one["water_class"] == 2
    assert set(raw.loc[raw.index == 5, "water_class"]) == {3} and set(raw.loc[raw.index == 7, "water_class"]) == {6}
    assert raw.attrs["no_data"] == NO_DATA and raw.attrs["rows"] == 5


# --- monthly section tables -------------------------------------------------------------------

MONTHLY = ["2007年5月 衢州市地表水国控、省控断面水质状况",
           "序号,断面名称,所在水体,目标类别,本月水质类别,超标项目(超标倍数)",
           "1,樟潭断面,衢江,Ⅲ,Ⅳ,总磷(0.2)",
           "2,衢江出境断面,衢江,Ⅲ类,II,—",
           "3,湖南镇水库库心,湖南镇水库,Ⅱ,Ⅲ,\"总磷(0.4)、高锰酸盐指数(0.05)\"",
           "4,芝溪断面,芝溪,Ⅲ,断流,",
           "5,不存在断面,某河,Ⅲ,Ⅱ,"]


def monthly_csv(path: Path, lines=MONTHLY) -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    return path


def test_monthly_table_is_read_with_the_title_month(tmp_path):
    raw, _ = platform.read_section_table(monthly_csv(tmp_path / "m.csv"))
    assert raw.attrs["month"] == "2007-05" and list(raw.index) == [3, 4, 5, 6, 7]
    with pytest.raises(GeoError) as exc:  # the month given disagrees with the title
        platform.read_section_table(monthly_csv(tmp_path / "m.csv"), month="2007-06")
    assert "不一致" in exc.value.zh
    untitled = monthly_csv(tmp_path / "n.csv", MONTHLY[1:])
    with pytest.raises(GeoError) as exc:
        platform.read_section_table(untitled)
    assert "月份" in exc.value.zh and "month" in exc.value.en
    raw, _ = platform.read_section_table(untitled, month="2007年5月")
    assert raw.attrs["month"] == "2007-05"


def test_exceeding_items():
    assert platform.parse_exceeding("总磷(0.2)") == ([("TP", 0.2)], [])
    assert platform.parse_exceeding("总磷（0.40倍）、氨氮(1.5)") == ([("TP", 0.4), ("NH3-N", 1.5)], [])
    assert platform.parse_exceeding("—") == ([], [])
    assert platform.parse_exceeding("无") == ([], [])
    assert platform.parse_exceeding("某物(0.2)") == ([], ["某物(0.2)"])
    assert platform.parse_exceeding("总磷(大量)") == ([], ["总磷(大量)"])


def test_monthly_findings(store, tmp_path):
    raw, _ = platform.read_section_table(monthly_csv(tmp_path / "m.csv"))
    rows, found, counts = platform.check_section_classes(raw, store, user="t")
    errors = [(p.row, p.column) for p in found if p.severity == "error"]
    assert errors == [(7, "断面名称")]  # 不存在断面
    warn = {p.row: p for p in found if p.severity == "warning"}
    assert "断流" in warn[6].why_zh and counts["no_data"] == 1
    # 湖南镇水库库心: target Ⅱ as the point's; the table's Ⅲ worse than Ⅱ, with items: no warning
    assert 5 not in warn
    assert list(rows.index) == [3, 4, 5]
    assert rows.loc[3, ["point_id", "water_class", "target_class", "exceeding"]].tolist() == ["W02", 4, 3, "总磷(0.2)"]
    assert rows.loc[4, ["point_id", "water_class"]].tolist() == ["W04", 2] and pd.isna(rows.loc[4, "exceeding"])
    assert rows.loc[5, "exceeding"] == "总磷(0.4)、高锰酸盐指数(0.05)"  # as published


def test_monthly_warnings_and_duplicates(store, tmp_path):
    lines = [MONTHLY[0], MONTHLY[1],
             "1,樟潭断面,衢江,Ⅱ,Ⅲ,",              # target Ⅱ, the point's is Ⅲ; Ⅲ misses Ⅱ with no item listed
             "2,衢江出境断面,衢江,Ⅲ,Ⅱ,氨氮(0.3)",   # Ⅱ meets Ⅲ, yet an item is listed
             "3,芝溪断面,芝溪,Ⅲ,Ⅳ,某物(0.1)",       # an item not understood
             "4,樟潭断面,衢江,Ⅲ,Ⅲ,",               # the same section again
             "5,罗樟源断面,罗樟源,Ⅲ,Ⅵ,"]             # no such class
    raw, _ = platform.read_section_table(monthly_csv(tmp_path / "m.csv", lines))
    rows, found, _ = platform.check_section_classes(raw, store, user="t")
    warn = sorted((p.row, p.column) for p in found if p.severity == "warning")
    assert warn == [(3, "目标类别"), (3, "超标项目(超标倍数)"), (4, "超标项目(超标倍数)"), (5, "超标项目(超标倍数)")]
    errs = [(p.row, p.column) for p in found if p.severity == "error"]
    assert errs == [(6, "断面名称"), (7, "本月水质类别")]
    assert "与第3行重复" in next(p.why_zh for p in found if p.row == 6)
    assert list(rows.index) == [3, 4, 5] and rows.loc[3, "target_class"] == 2  # imported as published


def test_monthly_import_into_section_classes(store, tmp_path):
    f = monthly_csv(tmp_path / "m.csv", MONTHLY[:6])  # without the unknown section
    result = platform.import_section_classes(store, f, user="tester")
    assert result.written, [str(p) for p in errors(result)]
    got = store.read("section_classes").set_index("point_id")
    assert sorted(got.index) == ["W02", "W04", "W09"]
    assert int(got.loc["W02", "water_class"]) == 4 and int(got.loc["W02", "target_class"]) == 3
    assert got.loc["W02", "exceeding"] == "总磷(0.2)" and got.loc["W02", "recorded_by"] == "tester"
    assert pd.Timestamp(got.loc["W02", "month"]).strftime("%Y-%m") == "2007-05"
    assert got.loc["W02", "source"] == "m.csv"
    again = platform.import_section_classes(store, f, user="tester")
    assert not again.written and sorted(p.row for p in errors(again)) == [3, 4, 5]
    assert len(store.read("section_classes")) == 3


def test_monthly_with_an_error_writes_nothing(store, tmp_path):
    result = platform.import_section_classes(store, monthly_csv(tmp_path / "m.csv"), user="t")
    assert not result.written and [p.row for p in errors(result)] == [7]
    assert len(store.read("section_classes")) == 0


# --- command line -----------------------------------------------------------------------------

def _geo(*args):
    return subprocess.run([sys.executable, "-m", "geo", "water", *args], cwd=ROOT, capture_output=True, text=True)


def test_cli_platform(demo_store, tmp_path):
    f = export_csv(tmp_path / "a.csv")
    n = len(open_store(demo_store).read("readings"))
    p = _geo("platform", str(f), "--store", str(demo_store), "--user", "tester")
    assert p.returncode == 2 and "年份" in p.stderr and "year" in p.stderr
    assert len(open_store(demo_store).read("readings")) == n
    p = _geo("platform", str(f), "--store", str(demo_store), "--year", "2007", "--user", "tester", "--dry-run")
    assert p.returncode == 0, p.stderr
    assert f"{N_VALUES} 条读数" in p.stdout and "无数据 16 处" in p.stdout
    assert len(open_store(demo_store).read("readings")) == n
    p = _geo("platform", str(f), "--store", str(demo_store), "--year", "2007", "--user", "tester")
    assert p.returncode == 0, p.stderr
    assert len(open_store(demo_store).read("readings")) == n + N_VALUES
    p = _geo("platform", str(f), "--store", str(demo_store), "--year", "2007", "--user", "tester")
    assert p.returncode == 2 and "未写入" in p.stderr and "nothing written" in p.stderr


def test_cli_monthly(demo_store, tmp_path):
    f = monthly_csv(tmp_path / "m.csv", MONTHLY[1:6])
    p = _geo("monthly", str(f), "--store", str(demo_store), "--user", "tester")
    assert p.returncode == 2 and "月份" in p.stderr
    p = _geo("monthly", str(f), "--store", str(demo_store), "--month", "2007-05", "--user", "tester")
    assert p.returncode == 0, p.stderr
    assert "2007-05" in p.stdout and len(open_store(demo_store).read("section_classes")) == 3
