"""Ledger intake: formats, Chinese headers and words, every defect class, atomicity, audit trail, datums."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from geo import intake
from geo.cli import main as geo_main
from geo.crs import wgs84_to_gcj02
from geo.spatial import township_of
from geo.store import DEMO_STORE, open_store

NOW = dt.datetime(2007, 7, 2, 9, 30)
TODAY = dt.date(2007, 7, 2)
AS_OF = dt.date(2007, 6, 30)  # the demo's as_of: status changes may not lie after it
HEADER = ["编号", "企业名称", "经度", "纬度", "所属乡镇", "行业", "状态", "关停日期", "整改期限", "备注"]
HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(1)>"]


@pytest.fixture
def store_path(tmp_path):
    p = tmp_path / "store.gpkg"
    shutil.copyfile(DEMO_STORE, p)
    return p


@pytest.fixture
def store(store_path):
    return open_store(store_path)


def write_csv(path: Path, rows: list[list], header=HEADER, encoding="utf-8") -> Path:
    text = "\n".join(",".join("" if v is None else str(v) for v in r) for r in [header, *rows]) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list], header=HEADER, title: str | None = None, sheet="台账") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def run(store, path, layer="enterprises", **kw):
    kw.setdefault("user", "测试员")
    kw.setdefault("datum", "wgs84")
    return intake.import_file(store, layer, path, now=NOW, today=TODAY, **kw)


def good_row(i="N001", name="新建化工厂", lon=118.95, lat=28.98, tw="樟潭街道", status="在产", closed=None):
    return [i, name, lon, lat, tw, "化工", status, closed, "2007-09-30", None]


def problems_of(result, severity="error"):
    return [p for p in result.problems if p.severity == severity]


# --- headers, words, dates --------------------------------------------------------------

def test_chinese_headers_are_recognised():
    cols = ["编号", "单位名称", "经度", "纬度", "乡镇（街道）", "行业", "整治状态", "关停时间", "期限", "备注", "联系人"]
    m = intake.auto_mapping(cols, "enterprises")
    assert m == {"编号": "id", "单位名称": "name", "经度": "lon", "纬度": "lat", "乡镇（街道）": "township",
                 "行业": "industry", "整治状态": "status", "关停时间": "closed_on", "期限": "deadline", "备注": "note"}
    farms = intake.auto_mapping(["ID", "养殖场名称", "畜种", "存栏量（头）", "所属村", "状态", "所属乡镇"], "farms")
    assert farms == {"ID": "id", "养殖场名称": "name", "畜种": "species", "存栏量（头）": "head_count",
                     "所属村": "village", "状态": "status", "所属乡镇": "township"}
    kilns = intake.auto_mapping(["编号", "名称", "村", "类型", "状态", "关停日期"], "kilns")
    assert kilns == {"编号": "id", "名称": "name", "村": "village", "类型": "kind", "状态": "status",
                     "关停日期": "closed_on"}
    assert intake.auto_mapping(["存栏"], "farms") == {"存栏": "head_count"}


@pytest.mark.parametrize("word, layer, code", [
    ("在产", "enterprises", "operating"), ("生产", "enterprises", "operating"), ("在养", "farms", "operating"),
    ("签订承诺", "enterprises", "committed"), ("承诺关停", "enterprises", "committed"),
    ("停产整顿", "enterprises", "suspended"), ("已关停", "kilns", "closed"), ("关停", "enterprises", "closed"),
    ("搬迁", "farms", "relocated"), ("已搬迁", "kilns", "relocated"), ("转产", "enterprises", "converted"),
    ("治理中", "farms", "treating"), ("已验收", "farms", "accepted"), ("改建", "kilns", "rebuilt"),
    (" closed ", "farms", "closed"),
])
def test_status_words(word, layer, code):
    assert intake.parse_status(word, layer) == code


def test_status_word_of_another_layer_is_unknown():
    assert intake.parse_status("治理中", "enterprises") is None  # farms only
    assert intake.parse_status("改建", "farms") is None  # kilns only
    assert intake.parse_status("火星", "kilns") is None


def test_kiln_kinds():
    for word in ("窑", "石灰窑"):
        assert intake.parse_code(word, "kilns", "kind") == "kiln"
    for word in ("棚", "石灰钙棚"):
        assert intake.parse_code(word, "kilns", "kind") == "shed"
    assert intake.parse_code("塔", "kilns", "kind") is None


@pytest.mark.parametrize("text", ["2007-09-30", "2007/9/30", "2007年9月30日", "2007.9.30", " 2007 年 9 月 30 日 ",
                                  "20070930", "２００７－０９－３０", "2007年9月底"])
def test_date_formats(text):
    assert intake.parse_date(text) == pd.Timestamp("2007-09-30")


def test_dates_that_are_not_dates():
    for text in ("2007-02-30", "九月底", "2007-13-01", "abc"):
        assert intake.parse_date(text) is None
    assert intake.parse_date(dt.datetime(2007, 9, 30, 15, 0)) == pd.Timestamp("2007-09-30")
    assert intake.parse_date(39355) == pd.Timestamp("2007-09-30")  # an Excel day number


def test_numbers_and_coordinates():
    assert intake.parse_number("1,570") == 1570
    assert intake.parse_number("1570头") == 1570
    assert intake.parse_number("一千") is None
    assert intake.parse_coord("118°57′36″") == pytest.approx(118.96)
    assert intake.parse_coord("28度58分48秒") == pytest.approx(28.98)
    assert intake.parse_class("Ⅲ类") == 3 and intake.parse_class("II") == 2 and intake.parse_class("6") is None


# --- formats ------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_csv_encodings(tmp_path, store, encoding):
    f = write_csv(tmp_path / "台账.csv", [good_row(name="衢州巨化某某精细化工有限公司")], encoding=encoding)
    res = run(store, f)
    assert res.ok, res.problems
    e = store.read("enterprises").set_index("id")
    assert e.loc["N001", "name"] == "衢州巨化某某精细化工有限公司"
    assert e.loc["N001", "industry"] == "化工"


def test_gbk_is_detected_not_guessed():
    text, enc = intake.decode_text("编号,名称\nA1,石灰钙棚\n".encode("gbk"))
    assert enc == "gb18030" and "石灰钙棚" in text


def test_xlsx_with_title_row_excel_dates_and_sheet(tmp_path, store):
    f = tmp_path / "ledger.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表为说明页"])
    ws = wb.create_sheet("企业台账")
    ws.append(["衢江区化工企业整治台账（2007年6月）"])  # a title row above the header
    ws.append(HEADER)
    ws.append(["N010", "甲厂", 118.95, 28.98, "樟潭街道", "化工", "已关停", dt.datetime(2007, 5, 20), "2007年9月30日",
               "断电"])
    ws.append([None] * len(HEADER))  # blank line: not a row
    ws.append(["N011", "乙厂", 118.951, 28.981, "樟潭街道", "化工", "签订承诺", None, dt.date(2007, 9, 30), None])
    wb.save(f)
    res = run(store, f, sheet="2")
    assert res.ok, res.problems
    e = store.read("enterprises").set_index("id")
    assert e.loc["N010", "closed_on"] == pd.Timestamp("2007-05-20")
    assert e.loc["N011", "deadline"] == pd.Timestamp("2007-09-30")
    # row numbers are the spreadsheet's: the header is on row 2, data on 3 and 5
    bad = write_xlsx(tmp_path / "bad.xlsx", [good_row("N1"), good_row("N2", name="")], title="标题")
    res = run(store, bad)
    assert [(p.row, p.id, p.column) for p in res.errors] == [(4, "N2", "企业名称")]


def test_geojson_points(tmp_path, store):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.95, 28.98]},
         "properties": {"编号": "G1", "名称": "某化工厂", "状态": "停产整顿", "行业": "化工"}}]}
    f = tmp_path / "sites.geojson"
    f.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    res = run(store, f)
    assert res.ok, res.problems
    row = store.read("enterprises").set_index("id").loc["G1"]
    assert row["status"] == "suspended" and row.geometry.equals(shapely.Point(118.95, 28.98))


def test_zipped_shapefile_in_gbk_without_cpg(tmp_path, store):
    gdf = gpd.GeoDataFrame({"编号": ["S1", "S2"], "名称": ["上方村石灰窑", "石灰钙棚乙"], "类型": ["石灰窑", "石灰钙棚"],
                            "状态": ["已关停", "在产"], "村": ["上方村", "石门村"]},
                           geometry=[shapely.Point(118.94, 29.18), shapely.Point(118.93, 29.17)], crs="EPSG:4326")
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    gdf.to_file(shp_dir / "kilns.shp", encoding="gbk")
    (shp_dir / "kilns.cpg").unlink(missing_ok=True)  # old GIS software writes none
    z = tmp_path / "kilns.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in shp_dir.iterdir():
            zf.write(p, p.name)
    res = run(store, z, layer="kilns")
    assert res.ok, res.problems
    k = store.read("kilns").set_index("id")
    assert k.loc["S1", "name"] == "上方村石灰窑" and k.loc["S1", "kind"] == "kiln" and k.loc["S2", "kind"] == "shed"


def test_geopackage_layer(tmp_path, store):
    gdf = gpd.GeoDataFrame({"编号": ["F901"], "养殖场名称": ["新猪场"], "畜种": ["猪"], "存栏量": [650], "状态": ["治理中"]},
                           geometry=[shapely.Point(118.95, 29.0)], crs="EPSG:4490")
    f = tmp_path / "in.gpkg"
    gdf.to_file(f, layer="新增养殖场", driver="GPKG")
    gdf.iloc[:0].to_file(f, layer="other", driver="GPKG")
    with pytest.raises(intake.IntakeError):  # two layers, none chosen
        run(store, f, layer="farms")
    res = run(store, f, layer="farms", sheet="新增养殖场")
    assert res.ok, res.problems
    assert store.read("farms").set_index("id").loc["F901", "head_count"] == 650


def test_unsupported_and_oversized_files(tmp_path, store, monkeypatch):
    f = tmp_path / "a.doc"
    f.write_bytes(b"x")
    with pytest.raises(intake.IntakeError):
        run(store, f)
    big = write_csv(tmp_path / "big.csv", [good_row()])
    cfg = tmp_path / "qingshan.toml"
    cfg.write_text("[limits]\nmax_upload_mb = 0.00001\n", encoding="utf-8")  # about 10 bytes
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))
    with pytest.raises(intake.IntakeError, match="too large") as err:
        run(store, big)
    assert "max_upload_mb" in err.value.zh and "上限" in err.value.zh


# --- one test per defect class -------------------------------------------------------------

def _one_error(store, tmp_path, row, layer="enterprises", header=HEADER):
    f = write_csv(tmp_path / "l.csv", [good_row("OK1"), row], header=header)
    v0 = store.version()
    res = run(store, f, layer=layer)
    assert not res.ok and store.version() == v0
    errs = problems_of(res)
    assert all(p.row == 3 for p in errs), errs
    return errs


def test_defect_missing_coordinates(tmp_path, store):
    errs = _one_error(store, tmp_path, good_row("N2", lon=None))
    assert [(p.column, p.why) for p in errs] == [("经度", "missing longitude")]


def test_defect_non_numeric_coordinates(tmp_path, store):
    errs = _one_error(store, tmp_path, good_row("N2", lat="二十九"))
    assert [(p.column, p.why) for p in errs] == [("纬度", "latitude '二十九': not a coordinate")]


def test_defect_swapped_coordinates(tmp_path, store):
    errs = _one_error(store, tmp_path, good_row("N2", lon=28.98, lat=118.95))
    assert len(errs) == 1 and "swapped" in errs[0].why and "填反" in errs[0].why_zh


def test_defect_outside_district(tmp_path, store):
    errs = _one_error(store, tmp_path, good_row("N2", lon=120.15, lat=30.27))  # Hangzhou
    assert len(errs) == 1 and errs[0].why == "point lies outside the district"


def test_defect_duplicate_id_in_file(tmp_path, store):
    f = write_csv(tmp_path / "l.csv", [good_row("N1"), good_row("N2"), good_row("N1", name="另一家")])
    res = run(store, f)
    assert sorted((p.row, p.id) for p in res.errors) == [(2, "N1"), (4, "N1")]
    assert "row 4" in res.errors[0].why


def test_id_already_in_store_is_an_update(tmp_path, store):
    before = store.read("enterprises").set_index("id").loc["E001"]
    f = write_csv(tmp_path / "l.csv", [["E001", before["name"], None, None, None, "精细化工", None, None, None, None]])
    res = run(store, f, update_existing=True)
    assert res.ok and res.updated_ids == ["E001"] and res.new_ids == []
    [change] = res.changes
    assert change.kind == "updated" and change.row == 2
    assert ("行业", f"“{before['industry']}”", "“精细化工”") in [(c.label, c.old, c.new) for c in change.fields]
    after = store.read("enterprises").set_index("id").loc["E001"]
    assert after["industry"] == "精细化工"
    assert after["status"] == before["status"]  # empty status cell keeps the status
    assert after.geometry.equals(before.geometry)  # no coordinates: the stored point stays
    assert after["park"] == before["park"]  # a column the file lacks is kept
    assert len(store.read("enterprises")) == len(open_store(DEMO_STORE).read("enterprises"))


def test_defect_unknown_status(tmp_path, store):
    errs = _one_error(store, tmp_path, good_row("N2", status="在建"))
    assert len(errs) == 1 and errs[0].column == "状态" and "在建" in errs[0].why_zh


def test_defect_non_numeric_number(tmp_path, store):
    header = ["编号", "养殖场名称", "经度", "纬度", "畜种", "存栏量", "状态"]
    f = write_csv(tmp_path / "f.csv", [["FN1", "甲猪场", 118.95, 29.0, "猪", "800头", "在养"],
                                       ["FN2", "乙猪场", 118.95, 29.0, "猪", "约八百", "在养"]], header=header)
    res = run(store, f, layer="farms")
    assert [(p.row, p.column, p.why) for p in res.errors] == [(3, "存栏量", "not a number: '约八百'")]


def test_defect_empty_name(tmp_path, store):
    errs = _one_error(store, tmp_path, good_row("N2", name=""))
    assert [(p.column, p.why) for p in errs] == [("企业名称", "empty name")]


def test_defect_invalid_geometry(tmp_path, store):
    bowtie = [[118.94, 28.97], [118.95, 28.98], [118.95, 28.97], [118.94, 28.98], [118.94, 28.97]]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"编号": "WB9", "名称": "坏水库", "类型": "水库"},
         "geometry": {"type": "Polygon", "coordinates": [bowtie]}},
        {"type": "Feature", "properties": {"编号": "WB8", "名称": "好水库", "类型": "水库"},
         "geometry": {"type": "Polygon", "coordinates": [[[118.95, 28.98], [118.96, 28.98], [118.96, 28.99],
                                                          [118.95, 28.98]]]}}]}
    f = tmp_path / "wb.geojson"
    f.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    res = run(store, f, layer="waterbodies")
    assert [(p.row, p.id) for p in res.errors] == [(1, "WB9")]
    assert "Self-intersection" in res.errors[0].why
    # a polygon where a point belongs is a geometry error too
    fc["features"][0]["properties"] = {"编号": "PX", "名称": "面状企业", "状态": "在产"}
    f.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    res = run(store, f)
    assert any(p.id == "PX" and p.column == "geometry" for p in res.errors)


def test_file_without_id_column(tmp_path, store):
    # sites without an id column get ids from their names (tests/test_intake_bureau.py); townships cannot
    f = write_csv(tmp_path / "l.csv", [["甲", "甲镇", "镇"]], header=["名称", "乡镇名称", "类型"])
    res = run(store, f, layer="townships")
    assert not res.ok and res.errors[0].row is None and "code" in res.errors[0].why


# --- township hints and datums ------------------------------------------------------------

def _point_shifted_across_a_border(townships):
    """A WGS84 point inside one township whose GCJ-02 coordinates fall in another."""
    minx, miny, maxx, maxy = townships.total_bounds
    xs, ys = np.meshgrid(np.linspace(minx, maxx, 150), np.linspace(miny, maxy, 150))
    x, y = xs.ravel(), ys.ravel()
    true_tw = township_of(gpd.GeoDataFrame(geometry=shapely.points(x, y), crs=4326), townships)
    gx, gy = wgs84_to_gcj02(x, y)
    gcj_tw = township_of(gpd.GeoDataFrame(geometry=shapely.points(gx, gy), crs=4326), townships)
    i = np.flatnonzero((true_tw.notna() & gcj_tw.notna() & (true_tw != gcj_tw)).to_numpy())[0]
    return x[i], y[i], gx[i], gy[i], true_tw.iloc[i]


def test_township_mismatch_explained_by_gcj02(tmp_path, store):
    x, y, gx, gy, named = _point_shifted_across_a_border(store.read("townships"))
    f = write_csv(tmp_path / "l.csv", [good_row("N5", lon=round(gx, 6), lat=round(gy, 6), tw=named)])
    dry = run(store, f, dry_run=True)
    assert dry.ok  # a warning, not an error
    warn = [p for p in dry.warnings if p.row == 2]
    assert len(warn) == 1 and named in warn[0].why_zh and "--crs gcj02" in warn[0].why_zh
    assert dry.suggested_datum == "gcj02"
    res = run(store, f, datum="gcj02")
    assert res.ok and not [p for p in res.warnings if p.row == 2]
    pt = store.read("enterprises").set_index("id").loc["N5"].geometry
    assert pt.x == pytest.approx(x, abs=1e-6) and pt.y == pytest.approx(y, abs=1e-6)
    ev = store.read("status_events")
    assert "GCJ02→WGS84" in ev[ev["feature_id"] == "N5"]["note"].iloc[0]


def test_township_mismatch_without_explanation_is_a_plain_warning(tmp_path, store):
    f = write_csv(tmp_path / "l.csv", [good_row("N6", tw="湖南镇")])  # the point lies in 樟潭街道
    res = run(store, f, dry_run=True)
    w = [p for p in res.warnings if p.row == 2]
    assert res.ok and len(w) == 1 and "湖南镇" in w[0].why_zh and "--crs" not in w[0].why_zh


def test_bd09_conversion(tmp_path, store):
    from geo.crs import from_wgs84

    bx, by = from_wgs84(118.95, 28.98, "bd09")
    f = write_csv(tmp_path / "l.csv", [good_row("N7", lon=float(bx[0]), lat=float(by[0]))])
    assert run(store, f, datum="bd09").ok
    pt = store.read("enterprises").set_index("id").loc["N7"].geometry
    assert pt.distance(shapely.Point(118.95, 28.98)) < 1e-7


# --- atomicity, audit, upsert -------------------------------------------------------------

def test_one_bad_row_writes_nothing(tmp_path, store, store_path):
    before = {t: store.read(t) for t in ("enterprises", "status_events")}
    v0 = store.version()
    bytes0 = store_path.read_bytes()
    rows = [good_row(f"N{i:03d}") for i in range(20)] + [good_row("BAD", lat="x")]
    f = write_xlsx(tmp_path / "l.xlsx", rows)
    res = run(store, f)
    assert not res.ok and len(res.errors) == 1 and res.errors[0].row == 22
    assert store.version() == v0 and store_path.read_bytes() == bytes0
    for t, df in before.items():
        pd.testing.assert_frame_equal(store.read(t), df)
    assert geo_main(["import", "--store", str(store_path), "--layer", "enterprises", "--file", str(f), "--crs", "wgs84",
                     "--user", "planner1"]) == 1
    assert store.version() == v0


def test_audit_trail(tmp_path, store):
    e = store.read("enterprises").set_index("id")
    operating = e[e["status"] == "operating"].index[0]
    f = write_csv(tmp_path / "l.csv", [good_row("N1"), good_row("N2", status="已关停", closed="2007/6/15"),
                                       [operating, e.loc[operating, "name"], None, None, None, None, "停产整顿",
                                        None, None, "联合执法"]])
    n0 = len(store.read("status_events"))
    res = run(store, f, user="王检查", update_existing=True)
    assert res.ok
    ev = store.read("status_events").iloc[n0:].set_index("feature_id")
    assert set(ev.index) == {"N1", "N2", operating}
    assert (ev["recorded_by"] == "王检查").all()
    assert (ev["recorded_at"] == pd.Timestamp(NOW)).all()
    assert ev.loc["N2", "effective_on"] == pd.Timestamp("2007-06-15")  # the ledger's closing date
    # no date in the ledger: the store's date, i.e. the demo's as_of (TODAY lies after it, in its future)
    assert ev.loc["N1", "effective_on"] == pd.Timestamp("2007-06-30")
    assert ev.loc[operating, "status"] == "suspended" and "联合执法" in ev.loc[operating, "note"]
    assert store.read("enterprises").set_index("id").loc[operating, "status"] == "suspended"
    # the same ledger again: no status change, no new event
    n1 = len(store.read("status_events"))
    again = run(store, f, user="王检查")  # nothing changes: no choice to make
    assert again.ok and again.unchanged_ids == ["N1", "N2", operating] and again.updated_ids == []
    assert len(store.read("status_events")) == n1
    from geo.check import check_store

    assert [p for p in check_store(store) if p.severity == "error"] == []


def test_backdated_status_does_not_override_a_later_event(tmp_path, store):
    ev = store.read("status_events")
    e = store.read("enterprises").set_index("id")
    fid = e[e["status"] == "closed"].index[0]
    last = ev[ev["feature_id"] == fid]["effective_on"].max()
    f = write_csv(tmp_path / "l.csv", [[fid, e.loc[fid, "name"], None, None, None, None, "签订承诺", None, None, None]])
    res = intake.import_file(store, "enterprises", f, datum="wgs84", user="u", now=NOW, today=(last - pd.Timedelta(days=3)).date(),
                             update_existing=True)
    assert res.ok and any("stays" in p.why for p in res.warnings)
    assert store.read("enterprises").set_index("id").loc[fid, "status"] == "closed"
    assert len(store.read("status_events")) == len(ev) + 1


def test_hostile_names_are_stored_verbatim(tmp_path, store):
    rows = [good_row(f"H{i}", name=n) for i, n in enumerate(HOSTILE)]
    # CSV quoting for the name with a double quote
    text = ",".join(HEADER) + "\n" + "\n".join(
        ",".join('"' + str(v).replace('"', '""') + '"' if v is not None else "" for v in r) for r in rows) + "\n"
    f = tmp_path / "h.csv"
    f.write_text(text, encoding="utf-8")
    res = run(store, f)
    assert res.ok, res.problems
    names = store.read("enterprises").set_index("id")["name"]
    assert [names[f"H{i}"] for i in range(3)] == HOSTILE


def test_kilns_import_kinds_and_unknown_kind(tmp_path, store):
    header = ["编号", "名称", "村", "类型", "状态", "关停时间", "经度", "纬度"]
    f = write_csv(tmp_path / "k.csv", [["KN1", "新窑", "上方村", "窑", "关停", "2007.2.6", 118.94, 29.18],
                                       ["KN2", "新棚", "上方村", "石灰钙棚", "改建", "", 118.94, 29.181],
                                       ["KN3", "怪窑", "上方村", "塔", "在产", "", 118.94, 29.182]], header=header)
    res = run(store, f, layer="kilns")
    assert [(p.row, p.column) for p in res.errors] == [(4, "类型")]


def test_cli_requires_user_and_refuses_inspectors(tmp_path, store_path, monkeypatch, capsys):
    f = write_csv(tmp_path / "l.csv", [good_row("C1")])
    with pytest.raises(SystemExit):
        geo_main(["import", "--store", str(store_path), "--layer", "enterprises", "--file", str(f), "--crs", "wgs84"])
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[auth.users.xiao]\npassword_hash = "$2b$04$abcdefghijklmnopqrstuuN6D8Y1S5dD4uAYtBqyIqVHhHLxYGkwe"\n'
                       'role = "inspector"\n', encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_SECRETS", str(secrets))
    v0 = open_store(store_path).version()
    assert geo_main(["import", "--store", str(store_path), "--layer", "enterprises", "--file", str(f), "--crs", "wgs84",
                     "--user", "xiao"]) == 2
    assert "may not import" in capsys.readouterr().err
    assert open_store(store_path).version() == v0
    assert geo_main(["import", "--store", str(store_path), "--layer", "enterprises", "--file", str(f), "--crs", "wgs84",
                     "--user", "planner1", "--dry-run"]) == 0
    assert open_store(store_path).version() == v0
    assert geo_main(["import", "--store", str(store_path), "--layer", "enterprises", "--file", str(f), "--crs", "wgs84",
                     "--user", "planner1"]) == 0
    assert "C1" in set(open_store(store_path).read("enterprises")["id"])


# --- new / updated / unchanged; updating stored sites is a choice; no lost update -----------------------

def _rename_ledger(tmp_path, store, new_name="衢州康远化工有限公司（更名）"):
    """E001 renamed, E002 as stored, NEW1 new: an updated, an unchanged and a new row."""
    from geo.contract import status_label

    e = store.read("enterprises").set_index("id")
    rows = [[fid, new_name if fid == "E001" else e.loc[fid, "name"], e.loc[fid].geometry.x, e.loc[fid].geometry.y,
             status_label(e.loc[fid, "status"], "enterprises")] for fid in ("E001", "E002")]
    rows.append(["NEW1", "新建化工厂", 118.95, 28.98, "在产"])
    return write_csv(tmp_path / "rename.csv", rows, header=["编号", "企业名称", "经度", "纬度", "状态"])


@pytest.fixture(params=["gpkg", "postgis"])
def store_url(request, store_path):
    """The demo store as a GeoPackage path or as a PostGIS URL (copied with ``geo copy``)."""
    if request.param == "gpkg":
        return str(store_path)
    url = request.getfixturevalue("pg_db")
    assert geo_main(["copy", str(DEMO_STORE), url]) == 0
    return url


def test_cli_rename_without_update_existing_is_refused_and_listed(tmp_path, store_url, capsys):
    store = open_store(store_url)
    before = {t: store.read(t) for t in ("enterprises", "status_events")}
    v0 = store.version()
    f = _rename_ledger(tmp_path, store)
    capsys.readouterr()
    assert geo_main(["import", "--store", store_url, "--layer", "enterprises", "--file", str(f), "--crs", "wgs84",
                     "--user", "planner1"]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    old_name = before["enterprises"].set_index("id").loc["E001", "name"]
    assert f"2\tE001\t更新 updated\t企业名称：“{old_name}” → “衢州康远化工有限公司（更名）”" in lines
    assert "3\tE002\t不变 unchanged\t" in lines and "4\tNEW1\t新增 new\t" in lines
    assert "--update-existing" in out and "1 updated" in err and "Nothing was written" in err
    # refused whole: not even the new row
    assert store.version() == v0
    for t, df in before.items():
        pd.testing.assert_frame_equal(store.read(t), df)


def test_cli_rename_with_update_existing_is_written_and_unchanged_rows_untouched(tmp_path, store_url, capsys):
    store = open_store(store_url)
    e0 = store.read("enterprises").set_index("id")
    n_events = len(store.read("status_events"))
    f = _rename_ledger(tmp_path, store)
    assert geo_main(["import", "--store", store_url, "--layer", "enterprises", "--file", str(f), "--crs", "wgs84",
                     "--user", "planner1", "--update-existing"]) == 0
    assert "1 new, 1 updated, 1 unchanged" in capsys.readouterr().err
    e1 = store.read("enterprises").set_index("id")
    assert e1.loc["E001", "name"] == "衢州康远化工有限公司（更名）"
    assert e1.loc["E001", "status"] == e0.loc["E001", "status"]  # a column the file lacks is kept
    assert e1.loc["NEW1", "name"] == "新建化工厂"
    pd.testing.assert_frame_equal(e1.drop(index=["E001", "NEW1"]), e0.drop(index="E001"), check_like=True)
    ev = store.read("status_events")
    assert len(ev) == n_events + 1 and ev.iloc[-1]["feature_id"] == "NEW1"  # the rename appends no event
    from geo.check import check_store

    assert [p for p in check_store(store) if p.severity == "error"] == []


class _Recording:
    """A store that records what each commit writes (the interface intake uses, nothing more)."""

    def __init__(self, store, before_commit=None):
        self.store, self.url, self.commits, self.before_commit = store, store.url, [], before_commit

    def read(self, table, *args, **kwargs):
        return self.store.read(table, *args, **kwargs)

    def version(self):
        return self.store.version()

    def commit(self, changes):
        self.commits.append(changes)
        self.store.commit(changes)

    def atomic(self, work):
        # every store has atomic units; this recorder runs the work on itself, without a lock of its own
        return work(self)


def test_only_new_and_updated_rows_are_written(tmp_path, store):
    f = _rename_ledger(tmp_path, store)
    rec = _Recording(store)
    res = run(rec, f, update_existing=True)
    assert res.ok and [c.kind for c in res.changes] == ["updated", "unchanged", "new"]
    assert (res.new_ids, res.updated_ids, res.unchanged_ids) == (["NEW1"], ["E001"], ["E002"])
    [changes] = rec.commits
    assert sorted(changes[0].rows["id"]) == ["E001", "NEW1"]  # E002 is not written at all
    # of the updated row only the name changes (a partial upsert where the store supports it)
    assert res.columns == ["name"]
    if hasattr(changes[0], "columns"):
        assert changes[0].columns == ["name"]


def test_report_of_updates_shows_old_and_new_values_readably(tmp_path, store):
    k = store.read("kilns").set_index("id")
    fid = k.index[0]
    x, y = k.loc[fid].geometry.x, k.loc[fid].geometry.y
    long_name = "长" * 5000
    header = ["编号", "名称", "类型", "经度", "纬度"]
    # moved about 100 m north, kind changed, a name of 5,000 characters with a tab
    f = write_csv(tmp_path / "k.csv", [[fid, long_name + "\t尾", "棚" if k.loc[fid, "kind"] == "kiln" else "窑",
                                        x, y + 0.0009]], header=header)
    res = run(store, f, layer="kilns")
    assert not res.ok and res.updated_ids == [fid]
    fields = {c.column: c for c in res.changes[0].fields}
    assert [c.column for c in res.changes[0].fields] == ["name", "kind", "geometry"]
    assert fields["kind"].old in ("窑", "棚") and fields["kind"].new in ("窑", "棚")  # words, not codes
    assert "共 5,002 字" in fields["name"].new and len(fields["name"].new) < 300 and "\t" not in fields["name"].new
    import re

    moved = float(re.search(r"偏移 ([\d.]+) 米", fields["geometry"].new)[1])
    assert fields["geometry"].label == "坐标" and 99 < moved < 101  # 0.0009° of latitude, in metres
    table = res.changes_report()
    assert list(table.columns) == ["行号", "编号", "类别", "变更 (原 → 新)"] and table["类别"].tolist() == ["更新 updated"]
    # 1 cm is no move (an exported sheet rounds coordinates to 1e-7°)
    f = write_csv(tmp_path / "k2.csv", [[fid, k.loc[fid, "name"], x + 1e-7, y]], header=["编号", "名称", "经度", "纬度"])
    res = run(store, f, layer="kilns")
    assert res.ok and res.unchanged_ids == [fid] and len(res.rows) == 0


def test_report_of_classes_is_bounded(tmp_path, store, monkeypatch):
    cfg = tmp_path / "qingshan.toml"
    cfg.write_text("[limits]\nmax_report_lines = 2\n", encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))
    f = write_csv(tmp_path / "l.csv", [good_row(f"N{i:03d}") for i in range(7)])
    res = run(store, f, dry_run=True)
    table = res.changes_report()
    assert len(res.changes) == 7 and len(table) == 3
    assert "另有 5 行未列出（共 7 行）" in table["变更 (原 → 新)"].iloc[-1]
    assert len(res.changes_report(limit=0)) == 7


def test_commit_if_unchanged_refuses_a_preview_the_store_has_moved_under(tmp_path, store):
    f = _rename_ledger(tmp_path, store)
    ledger = intake.read_ledger(f, layer="enterprises")
    opts = dict(user="王规划", datum="wgs84", update_existing=True, now=NOW, today=TODAY)
    preview = intake.prepare_for_store(store, ledger, "enterprises", **opts)
    assert preview.ok
    # meanwhile an inspector renames the same site another way (another write)
    e = store.read("enterprises")
    e.loc[e["id"] == "E001", "name"] = "别人改的名字"
    from geo.store import Change

    store.commit([Change("enterprises", e[e["id"] == "E001"], "upsert")])
    v1 = store.version()
    fresh, written = intake.commit_if_unchanged(store, ledger, "enterprises", preview.fingerprint(), **opts)
    assert not written and store.version() == v1  # nothing stale written
    assert "NEW1" not in set(store.read("enterprises")["id"])
    [upd] = [c for c in fresh.changes if c.kind == "updated"]
    assert upd.fields[0].old == "“别人改的名字”"  # the new preview shows the store as it is now
    # confirmed again, the fresh preview is written
    fresh2, written = intake.commit_if_unchanged(store, ledger, "enterprises", fresh.fingerprint(), **opts)
    assert written and fresh2.fingerprint() == fresh.fingerprint()
    assert store.read("enterprises").set_index("id").loc["E001", "name"] == "衢州康远化工有限公司（更名）"


def test_a_write_unrelated_to_the_ledger_does_not_block_the_commit(tmp_path, store):
    f = _rename_ledger(tmp_path, store)
    ledger = intake.read_ledger(f, layer="enterprises")
    opts = dict(user="王规划", datum="wgs84", update_existing=True, now=NOW, today=TODAY)
    preview = intake.prepare_for_store(store, ledger, "enterprises", **opts)
    from geo.updates import update_status

    farm = store.read("farms")["id"].iloc[0]
    update_status(store, "farms", farm, "closed", AS_OF, "另一处", "李巡查", now=NOW)
    _, written = intake.commit_if_unchanged(store, ledger, "enterprises", preview.fingerprint(), **opts)
    assert written and "NEW1" in set(store.read("enterprises")["id"])


def test_import_reads_what_it_changes_in_the_unit_of_its_write(tmp_path, store):
    """A status update landing between the import's reads and its write is not undone by a stale row."""
    from geo.check import check_store
    from geo.updates import update_status

    f = _rename_ledger(tmp_path, store)
    hits = []

    class Racing(_Recording):
        def read(self, table, *args, **kwargs):
            out = super().read(table, *args, **kwargs)
            if table == "status_events" and not hits:  # the last read of the first preparation
                hits.append(update_status(self.store, "enterprises", "E001", "suspended", AS_OF, "夜查", "李巡查",
                                          now=NOW))
            return out

    res = run(Racing(store), f, update_existing=True)
    assert res.ok and hits
    e = store.read("enterprises").set_index("id")
    assert e.loc["E001", "name"] == "衢州康远化工有限公司（更名）"  # the import's change
    assert e.loc["E001", "status"] == "suspended"  # and the inspector's, both kept
    assert [p for p in check_store(store) if p.severity == "error"] == []


def test_a_store_with_atomic_units_gets_the_reads_and_the_write_in_one(tmp_path, store):
    """Where the store offers ``atomic`` (the store package), the import prepares and writes inside it."""
    log = []

    class Unit(_Recording):
        def read(self, table, *args, **kwargs):
            log.append(("read", table))
            return super().read(table, *args, **kwargs)

        def commit(self, changes):
            log.append(("commit", tuple(c.table for c in changes)))
            super().commit(changes)

        def atomic(self, work):
            log.append("begin")
            try:
                return work(self)
            finally:
                log.append("end")

    res = run(Unit(store), _rename_ledger(tmp_path, store), update_existing=True)
    assert res.ok
    # the rename's history (edits) is written in the same commit as the rename and the new site's event
    assert log[0] == "begin" and log[-1] == "end" and log[-2] == ("commit", ("enterprises", "status_events", "edits"))
    assert {("read", "enterprises"), ("read", "status_events")} <= set(log[1:-2])
