"""geo.io: every reader format and encoding, header matching, cell parsers, input limits, and the one writer's
formula guard — directly and through the riverside, patrol and layer-export paths on a demo copy."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import stat
import struct
import tracemalloc
import zipfile
from decimal import Decimal
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from geo.errors import GeoError, LimitError
from geo.io import cells, readers, writers
from geo.io.limits import Limits, bounded
from geo.io.readers import match_headers, read_table
from geo.io.writers import FORMULA_START, Meta, write_csv, write_geojson, write_xlsx

#: Names a township ledger may hold that a spreadsheet would run as formulas (issue 15).
HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(1,1)", "\t=1+1", "\r=1+1"]
ALIASES = {"id": ("编号", "企业编号"), "name": ("名称", "企业名称"), "head_count": ("存栏量", "存栏"),
           "lon": ("经度", "longitude"), "lat": ("纬度",)}
NOW = dt.datetime(2007, 7, 2, 9, 30)


def _config(tmp_path, monkeypatch, **limits) -> None:
    """Point qingshan.toml (QINGSHAN_CONFIG) at a file with these ``[limits]``."""
    cfg = tmp_path / "qingshan-test.toml"
    cfg.write_text("[limits]\n" + "".join(f"{k} = {v}\n" for k, v in limits.items()), encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))


def _csv_text(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _safe_csv_cell(cell: str) -> bool:
    """A CSV cell a spreadsheet cannot run: no formula start, unless it is a plain number."""
    return not cell.startswith(FORMULA_START) or cells.parse_number(cell) is not None


# --- readers: formats and encodings ----------------------------------------------------------

@pytest.mark.parametrize("encoding, reported", [("gbk", "gb18030"), ("gb18030", "gb18030"),
                                                ("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8")])
def test_csv_encodings(tmp_path, encoding, reported):
    # 㐀 (CJK extension A) exists in GB18030 but not in GBK
    name = "衢州某某化工有限公司" + ("㐀" if encoding != "gbk" else "")
    f = tmp_path / "台账.csv"
    f.write_bytes(_csv_text([["编号", "企业名称", "存栏量（头）"], ["A1", name, "1,570"]]).encode(encoding))
    t = read_table(f, aliases=ALIASES)
    assert t.encoding == reported
    assert t.frame.loc[0, "企业名称"] == name and t.frame.loc[0, "存栏量（头）"] == "1,570"
    assert t.matched == {"编号": "id", "企业名称": "name", "存栏量（头）": "head_count"}
    assert list(t.row_numbers) == [2]
    # the same bytes as an upload (bytes and a file-like object with a name)
    assert read_table(f.read_bytes(), name="x.csv").frame.equals(t.frame)
    up = io.BytesIO(f.read_bytes())
    up.name = "upload.csv"
    assert read_table(up).frame.equals(t.frame)


def test_tab_separated_and_title_rows(tmp_path):
    text = "某乡镇台账（2007年6月）\n\n编号\t名称\t经度\nA1\t甲\t118.9\n\nA2\t乙\t119.0\n\n"
    t = read_table(text.encode("utf-8"), name="l.txt", aliases=ALIASES)
    assert list(t.frame.columns) == ["编号", "名称", "经度"] and len(t.frame) == 2
    assert list(t.row_numbers) == [4, 6]  # text lines, blank lines skipped


def test_xlsx_sheets_title_row_and_cells(tmp_path):
    f = tmp_path / "l.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["本页为说明"])
    ws = wb.create_sheet("台账")
    ws.append(["某区企业台账"])
    ws.append(["Name ", " ID", "LONGITUDE", "备注"])  # English, any case, stray spaces
    ws.append(["甲厂（更名）", "ＫＬ００２", 118.875, "=1+1"])  # a formula cell: read as its cached value
    ws.append([None, None, None, None])
    ws.append(["乙厂", 12.0, "118°52′30″", dt.datetime(2007, 6, 30)])
    wb.save(f)
    t = read_table(f, sheet="2", aliases=ALIASES)
    assert t.sheet == "台账" and list(t.row_numbers) == [3, 5]
    assert t.matched == {"Name": "name", "ID": "id", "LONGITUDE": "lon"}
    assert t.frame.iloc[0].tolist() == ["甲厂（更名）", "ＫＬ００２", 118.875, None]  # as written; no formula
    assert t.frame.iloc[1, 3] == dt.datetime(2007, 6, 30)
    assert read_table(f.read_bytes(), name="l.xlsx", sheet="台账").sheet == "台账"
    assert read_table(f.read_bytes(), sheet="台账").sheet == "台账"  # no name: a zip is an xlsx
    with pytest.raises(GeoError, match="no sheet"):
        read_table(f, sheet="9")


def test_geojson_zipped_shapefile_and_geopackage(tmp_path):
    gdf = gpd.GeoDataFrame({"编号": ["S1", "S2"], "名称": ["上方村石灰窑", "石灰钙棚乙"]},
                           geometry=[shapely.Point(118.94, 29.18), shapely.Point(118.93, 29.17)], crs="EPSG:4326")
    gj = tmp_path / "s.geojson"
    gdf.to_file(gj, driver="GeoJSON")
    t = read_table(gj, aliases=ALIASES)
    assert t.matched == {"编号": "id", "名称": "name"} and t.geometry.iloc[0].equals(shapely.Point(118.94, 29.18))

    shp = tmp_path / "shp"
    shp.mkdir()
    gdf.to_file(shp / "kilns.shp", encoding="gbk")
    (shp / "kilns.cpg").unlink(missing_ok=True)  # old software writes no .cpg: GBK is recognised
    z = tmp_path / "kilns.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in shp.iterdir():
            zf.write(p, p.name)
    for src, kw in ((z, {}), (z.read_bytes(), {"name": "upload.zip"})):
        t = read_table(src, aliases=ALIASES, **kw)
        assert t.encoding == "GB18030" and t.frame["名称"].tolist() == ["上方村石灰窑", "石灰钙棚乙"]

    gp = tmp_path / "in.gpkg"
    gdf.to_crs("EPSG:32650").to_file(gp, layer="窑", driver="GPKG")
    gdf.iloc[:0].to_file(gp, layer="other", driver="GPKG")
    with pytest.raises(GeoError, match="several layers"):
        read_table(gp)
    t = read_table(gp, sheet="窑")
    assert t.sheet == "窑" and any("reprojected" in n for n in t.notes)
    assert t.geometry.crs.to_epsg() == 4326 and abs(t.geometry.iloc[0].x - 118.94) < 1e-6
    assert read_table(gp, layer_hint="窑").sheet == "窑"


def test_unsupported_files_are_refused_in_both_languages(tmp_path):
    for name, words in (("a.doc", ("不支持", "unsupported")), ("a.xls", ("xlsx", "xlsx"))):
        with pytest.raises(GeoError) as err:
            read_table(b"x", name=name)
        assert words[0] in err.value.zh and words[1] in err.value.en
    with pytest.raises(GeoError, match="unsupported"):
        read_table(b"{}", name="a.geojson", formats=("csv", "xlsx"))
    with pytest.raises(GeoError, match="not found"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(GeoError, match="empty"):
        read_table(b"\n\n", name="e.csv")
    with pytest.raises(GeoError, match="damaged"):
        read_table(b"PK\x03\x04 not really", name="x.xlsx")


def test_header_matching():
    cols = ["企业 编号", "ＮＡＭＥ", "存栏量（头）", "存栏", "经度(E)", "备注"]
    assert match_headers(cols, ALIASES) == {"企业 编号": "id", "ＮＡＭＥ": "name", "存栏": "head_count",
                                            "经度(E)": "lon"}  # exact spellings before bracket-stripped ones
    # a spelling shared by two columns goes to the first listed
    assert match_headers(["编码"], {"id": ("编码",), "code": ("编码",)}) == {"编码": "id"}
    assert readers.find_header([["标题"], [], ["编号", "名称"]], ALIASES) == 2


# --- cells ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["2007-06-30", "2007/6/30", "2007年6月30日", " 2007 年 6 月 30 日 ", "2007.6.30",
                                   "20070630", "２００７－０６－３０", "2007年6月底", 39263, 39263.0, 20070630,
                                   dt.date(2007, 6, 30), dt.datetime(2007, 6, 30, 15, 5), pd.Timestamp("2007-06-30")])
def test_dates(value):
    assert cells.parse_date(value) == pd.Timestamp("2007-06-30")


def test_date_times_and_non_dates():
    assert cells.parse_datetime("2007-06-12 09:30") == pd.Timestamp("2007-06-12 09:30")
    assert cells.parse_datetime("2007/6/12 9:30:15") == pd.Timestamp("2007-06-12 09:30:15")
    assert cells.parse_datetime("2007年6月12日 9时30分") == pd.Timestamp("2007-06-12 09:30")
    assert cells.parse_datetime("2007-06-12T01:30:00Z") == pd.Timestamp("2007-06-12 09:30")  # Beijing time
    assert cells.parse_datetime(39245.5) == pd.Timestamp("2007-06-12 12:00")  # Excel serial with a time
    for bad in ("2007-02-30", "2007-13-01", "九月底", "abc", "", None, True, float("nan"), "2007-06-12 25:00"):
        assert cells.parse_date(bad) is None, bad


def test_numbers():
    assert cells.parse_number("1,570") == 1570 and cells.parse_number("１，５７０") == 1570
    assert cells.parse_number("１５７０头") == 1570 and cells.parse_number("12.5米") == 12.5
    assert cells.parse_number("-3.2") == -3.2 and cells.parse_number(np.int64(7)) == 7
    assert cells.parse_number("1,234,567.5") == 1234567.5
    for bad in ("1,5", "一千", "", None, True, "inf", float("nan"), "1.2.3"):
        assert cells.parse_number(bad) is None, bad


def test_coordinates():
    assert cells.parse_coord("118°52′30″") == pytest.approx(118.875)
    assert cells.parse_coord("118°52'30\"") == pytest.approx(118.875)
    assert cells.parse_coord("118度52分30秒") == pytest.approx(118.875)
    assert cells.parse_coord("１１８．８７５") == pytest.approx(118.875)
    assert cells.parse_coord("N28°58′48″") == pytest.approx(28.98)
    assert cells.parse_coord("33°52′S") == pytest.approx(-(33 + 52 / 60))
    assert cells.parse_coord(118.875) == 118.875
    for bad in ("118°75′", "东经", "", None):
        assert cells.parse_coord(bad) is None, bad


@pytest.mark.parametrize("value, expected", [
    ("<0.01", ("below", Decimal("0.01"))), ("＜0.01", ("below", Decimal("0.01"))),
    ("≤0.01", ("below", Decimal("0.01"))), ("0.01L", ("below", Decimal("0.01"))),
    ("0.01Ｌ", ("below", Decimal("0.01"))), ("ND", ("nd", None)), ("n.d.", ("nd", None)), ("未检出", ("nd", None)),
    (">100", ("above", Decimal("100"))), ("0.05", ("value", Decimal("0.05"))), (0.05, ("value", Decimal("0.05"))),
    (3, ("value", Decimal(3))), ("abc", ("bad", None)), ("", ("empty", None)), (None, ("empty", None)),
])
def test_detection_limits(value, expected):
    assert cells.parse_detection(value) == expected


def test_detection_limits_are_one_grammar_for_lab_files_and_the_water_cli():
    from geo import water
    from geo.intake import lab as labfile

    assert labfile.parse_value is cells.parse_detection
    df = pd.DataFrame({"parameter": ["Cd", "Cd", "Cd"], "value": ["<0.001", "0.001L", "0.004"],
                       "waterbody": ["river"] * 3})
    vals, _ = water.values_from_cells(df)
    assert vals["below_detection"].tolist() == [True, True, False]
    assert vals["value"].tolist() == [0.001, 0.001, 0.004]


@pytest.mark.parametrize("value, cls", [("Ⅰ", 1), ("Ⅱ类", 2), ("III", 3), ("iv", 4), ("Ⅴ类", 5), ("V", 5), ("1", 1),
                                        (5, 5), ("三类", 3), ("劣Ⅴ", 6), ("劣V类", 6), ("劣五类", 6), ("6", None),
                                        ("0", None), ("劣Ⅲ", None), ("", None), ("x", None)])
def test_water_classes(value, cls):
    assert cells.parse_class(value) == cls


def test_text_kept_as_written_and_the_id_rule():
    assert cells.text("  （更名）某厂  ") == "（更名）某厂"
    assert cells.text(12.0) == "12"
    assert cells.normalise_id(" ＫＬ００２ ") == "KL002" and cells.normalise_id("kl002") == "KL002"
    assert cells.normalise_id(None) is None and cells.normalise_id("  ") is None


# --- limits --------------------------------------------------------------------------------

def test_limits_come_from_the_config(tmp_path, monkeypatch):
    _config(tmp_path, monkeypatch, max_upload_mb=1.5, max_rows=10, max_columns=5, max_report_lines=3,
            max_uncompressed_mb=2)
    lim = Limits.current()
    assert (lim.max_upload_mb, lim.max_rows, lim.max_columns, lim.max_report_lines, lim.max_uncompressed_mb) == \
        (1.5, 10, 5, 3, 2)
    _config(tmp_path, monkeypatch, max_rows='"many"')
    assert Limits.current().max_rows == Limits().max_rows  # a bad value falls back to the default


def _bomb(path: Path, member: str, mb: int) -> Path:
    """A zip holding ``member`` of ``mb`` MB of zeros (a few hundred KB compressed)."""
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.shp", b"\0" * 100)
        with zf.open(member, "w", force_zip64=True) as fh:
            for _ in range(mb):
                fh.write(chunk)
    return path


def test_zip_bomb_is_refused_before_extraction(tmp_path):
    z = _bomb(tmp_path / "bomb.zip", "bomb.dbf", 256)
    assert z.stat().st_size < 2 * 1024 * 1024 and zipfile.ZipFile(z).getinfo("bomb.dbf").file_size == 256 << 20
    data = z.read_bytes()
    tracemalloc.start()
    try:
        for src, kw in ((z, {}), (data, {"name": "upload.zip"})):
            with pytest.raises(LimitError) as err:
                read_table(src, **kw)
            assert "256.0 MB" in err.value.zh and "max_uncompressed_mb" in err.value.en
            assert "上限 200 MB" in err.value.zh and "limit is 200 MB" in err.value.en
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # nothing was expanded (the bytes themselves are ~0.3 MB)


def test_dbf_declaring_millions_of_rows_is_refused(tmp_path):
    gdf = gpd.GeoDataFrame({"编号": ["S1"]}, geometry=[shapely.Point(118.9, 29.1)], crs="EPSG:4326")
    shp = tmp_path / "shp"
    shp.mkdir()
    gdf.to_file(shp / "s.shp")
    dbf = bytearray((shp / "s.dbf").read_bytes())
    dbf[4:8] = struct.pack("<I", 10_000_000)  # the header claims ten million records
    (shp / "s.dbf").write_bytes(bytes(dbf))
    z = tmp_path / "s.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in shp.iterdir():
            zf.write(p, p.name)
    with pytest.raises(LimitError, match="10,000,000 data rows"):
        read_table(z)


def test_xlsx_limits(tmp_path):
    f = tmp_path / "big.xlsx"
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("s")
    ws.append(["编号", "名称"] + [f"c{i}" for i in range(28)])
    for i in range(3000):
        ws.append([f"A{i}", "某某化工有限公司" * 4] + [i] * 28)
    wb.save(f)
    assert len(read_table(f).frame) == 3000
    with pytest.raises(LimitError, match="at least") as err:  # streaming stops at the first row over
        read_table(f, limits=Limits(max_rows=100))
    assert "上限 100 行" in err.value.zh
    with pytest.raises(LimitError, match="30 columns"):
        read_table(f, limits=Limits(max_columns=20))
    sheet_xml = zipfile.ZipFile(f).getinfo("xl/worksheets/sheet1.xml").file_size
    assert sheet_xml > 1024 * 1024
    with pytest.raises(LimitError, match="expands to"):  # the sheet XML's declared size
        read_table(f, limits=Limits(max_uncompressed_mb=1))


def test_csv_and_spatial_row_and_column_limits(tmp_path):
    rows = [["编号", "名称"]] + [[f"A{i}", "甲"] for i in range(50)]
    data = _csv_text(rows).encode("utf-8")
    assert len(read_table(data, name="l.csv", limits=Limits(max_rows=50)).frame) == 50
    with pytest.raises(LimitError, match="50 data rows"):
        read_table(data, name="l.csv", limits=Limits(max_rows=49))
    wide = _csv_text([[f"c{i}" for i in range(40)], list(range(40))]).encode("utf-8")
    with pytest.raises(LimitError, match="40 columns"):
        read_table(wide, name="w.csv", limits=Limits(max_columns=39))
    with pytest.raises(LimitError, match="file too large"):
        read_table(data, name="l.csv", limits=Limits(max_upload_mb=0.0001))
    gdf = gpd.GeoDataFrame({"id": [f"S{i}" for i in range(30)]},
                           geometry=[shapely.Point(118.9, 29.1)] * 30, crs="EPSG:4326")
    gdf.to_file(tmp_path / "s.gpkg", layer="s", driver="GPKG")
    gdf.to_file(tmp_path / "s.geojson", driver="GeoJSON")
    for name in ("s.gpkg", "s.geojson"):
        with pytest.raises(LimitError, match="30 data rows"):
            read_table(tmp_path / name, limits=Limits(max_rows=29))


def test_bounded_report_keeps_totals():
    probs = [("error", "编号", i) for i in range(1000)] + [("warning", "名称", 1)]
    out = bounded(probs, kind=lambda p: p[:2], limit=5, summary=lambda k, omitted, total: (*k, f"+{omitted}/{total}"))
    assert out[:5] == probs[:5] and out[5] == probs[-1] and out[-1] == ("error", "编号", "+995/1000")
    assert len(out) == 7


def test_intake_report_is_bounded(tmp_path, monkeypatch, demo_store):
    from geo import intake
    from geo.store import open_store

    _config(tmp_path, monkeypatch, max_report_lines=10)
    rows = [["编号", "企业名称", "经度", "纬度", "状态"]] + [["", "甲", "abc", "28.9", "在产"]] * 5000
    f = tmp_path / "ids.csv"
    f.write_bytes(_csv_text(rows).encode("utf-8"))
    res = intake.import_file(open_store(demo_store), "enterprises", f, datum="wgs84", user="t", now=NOW, today=NOW.date())
    assert not res.ok
    assert len(res.problems) < 40  # a few kinds, each ten lines and a total
    totals = [p for p in res.problems if p.row is None and "未列出" in p.why_zh]
    assert any("4,990" in p.why_zh and "5,000" in p.why_zh for p in totals)
    assert res.totals["error"] == 15000 and "错误 15000 条" in res.summary()  # totals, not the listed lines
    assert len(res.report()) == len(res.problems)


def test_lab_report_is_bounded(tmp_path, monkeypatch):
    from geo.intake.lab import parse_lab_file

    _config(tmp_path, monkeypatch, max_report_lines=5)
    rows = [["点位", "采样时间", "指标", "数值", "单位"]] + [["W99", "2007-06-01", "氨氮", "0.5", "mg/L"]] * 300
    pts = pd.DataFrame({"id": ["W01"], "name": ["甲"]})
    frames = {"sampling_points": pts, "readings": pd.DataFrame(columns=["point_id", "sampled_at", "parameter"])}
    _, problems = parse_lab_file(_csv_text(rows).encode("utf-8"), frames, name="lab.csv")
    assert len(problems) == 6 and "295" in problems[-1].why_zh and "300" in problems[-1].why_zh


# --- writers: the formula guard, dialects, metadata ----------------------------------------

def _frame():
    return pd.DataFrame({"name": HOSTILE + ["-2", "普通名称"], "value": [-1.5, 2, -3, 4, 5, 6, -7, 8],
                         "day": pd.to_datetime(["2007-06-30"] * 8)})


def test_xlsx_cells_are_never_formulas(tmp_path):
    f = write_xlsx({"名单": _frame()}, tmp_path / "x.xlsx")
    ws = openpyxl.load_workbook(f)["名单"]
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    names = [ws.cell(r, 1).value for r in range(2, 10)]
    assert names[:4] == HOSTILE[:4] and names[4] == "\t=1+1" and names[6:] == ["-2", "普通名称"]
    assert all(ws.cell(r, 1).data_type == "s" for r in range(2, 10))
    assert [ws.cell(r, 2).value for r in range(2, 10)] == [-1.5, 2, -3, 4, 5, 6, -7, 8]  # numbers stay numbers
    assert ws.cell(2, 2).data_type == "n" and ws.cell(2, 3).value == dt.datetime(2007, 6, 30)
    assert ws.freeze_panes == "A2"


def test_csv_cells_are_neutralised(tmp_path):
    for dialect in ("for_people", "for_machines"):
        data = write_csv(_frame(), dialect=dialect)
        assert data.startswith(b"\xef\xbb\xbf") == (dialect == "for_people")
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert rows[0] == ["name", "value", "day"] and len(rows) == 9  # a CR inside a cell does not split a row
        assert all(_safe_csv_cell(c) for r in rows for c in r)
        names = [r[0] for r in rows[1:]]
        assert names[:4] == ["'" + h for h in HOSTILE[:4]] and names[4] == "'\t=1+1" and names[5] == "'\n=1+1"
        assert names[6:] == ["-2", "普通名称"]
        assert [r[1] for r in rows[1:]] == ["-1.5", "2.0", "-3.0", "4.0", "5.0", "6.0", "-7.0", "8.0"]
    hostile_header = pd.DataFrame({"=cmd": ["a"]})
    assert write_csv(hostile_header).decode().splitlines()[0] == "'=cmd"


def test_csv_for_people_headers_labels_and_metadata(tmp_path):
    df = pd.DataFrame({"layer": ["farms", "kilns"], "distance_m": [31.5, 180.0], "active": [True, False]})
    meta = Meta("沿河200米", rule="规则", parameters={"限值（米）": 200.0}, as_of=dt.date(2007, 6, 30),
                data_version="v1", generated_by="王", generated_at=dt.datetime(2007, 7, 1, 8, 0))
    data = write_csv(df, dialect="for_people", headers={"layer": "图层", "distance_m": "距离(米)", "active": "在管"},
                     labels={"layer": {"farms": "养殖场", "kilns": "石灰窑"}, "active": {True: "是", False: "否"}},
                     meta=meta)
    text = data.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "# 标题：沿河200米" and "# 限值（米）：200" in lines and "# 截至日期：2007-06-30" in lines
    assert "# 数据版本：v1" in lines and "# 生成人：王" in lines and "# 生成时间：2007-07-01 08:00:00" in lines
    assert any(line.startswith("# 软件版本：青山 Qingshan") for line in lines)
    start = lines.index("图层,距离(米),在管")
    back = pd.read_csv(io.StringIO(text), skiprows=start)
    assert back.to_dict("list") == {"图层": ["养殖场", "石灰窑"], "距离(米)": [31.5, 180.0], "在管": ["是", "否"]}
    # for machines: the file is only the table; the metadata goes to a sibling note
    out = write_csv(df, tmp_path / "r.csv", meta=meta)
    assert out.read_text(encoding="utf-8").splitlines()[0] == "layer,distance_m,active"
    note = (tmp_path / "r.csv.meta.txt").read_text(encoding="utf-8")
    assert "标题: 沿河200米" in note and "截至日期: 2007-06-30" in note


def test_xlsx_tables_from_row_one_and_explanation_sheet(tmp_path):
    """Issue 25.4: every table's header on row 1 (GDAL/QGIS read the real columns); the statement on 说明."""
    from geo import intake

    meta = Meta("台账导出", parameters={"坐标": "WGS84"}, as_of=dt.date(2007, 6, 30), data_version="abc")
    df = pd.DataFrame({"编号": ["E001"], "企业名称": ["=HYPERLINK(\"http://x\",\"y\")"], "经度": [118.9], "纬度": [28.9]})
    f = write_xlsx({"企业": df, "其他": df}, tmp_path / "m.xlsx", meta=meta)
    wb = openpyxl.load_workbook(f)
    assert wb.sheetnames == ["企业", "其他", "说明"]
    ws = wb["企业"]
    assert writers.header_row(meta) == 1 and ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == ["编号", "企业名称", "经度", "纬度"]
    assert [c.value for c in wb["其他"][1]] == ["编号", "企业名称", "经度", "纬度"]
    assert ws.cell(2, 3).data_type == "n" and ws.cell(2, 3).number_format == "0.000000"  # a coordinate
    explained = {r[0]: r[1] for r in wb["说明"].iter_rows(min_row=2, values_only=True)}
    assert explained["标题"] == "台账导出" and explained["截至日期"] == "2007-06-30"
    assert explained["数据版本"] == "abc" and explained["坐标"] == "WGS84"
    assert not any(c.data_type == "f" for s in wb for row_ in s.iter_rows() for c in row_)
    # a workbook with a metadata block still reads back as a ledger: the header row is found below it
    led = intake.read_ledger(f, layer="enterprises")
    assert led.frame.iloc[0]["企业名称"] == "=HYPERLINK(\"http://x\",\"y\")"


def test_writes_are_atomic_and_keep_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        f = write_xlsx(pd.DataFrame({"a": [1]}), tmp_path / "out" / "a.xlsx")
        g = write_csv(pd.DataFrame({"a": [1]}), tmp_path / "out" / "a.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE(f.stat().st_mode) == 0o644 and stat.S_IMODE(g.stat().st_mode) == 0o644
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.csv", "a.xlsx"]  # no temporary left


def test_xlsx_text_limits_and_control_characters():
    long = "长" * 40000
    ws = openpyxl.load_workbook(io.BytesIO(write_xlsx(pd.DataFrame({"a": [long, "a\x01b\x1fc", "换行\n制表\t"]})))).active
    assert len(ws.cell(2, 1).value) == writers.XLSX_MAX_TEXT and ws.cell(3, 1).value == "abc"
    assert ws.cell(4, 1).value == "换行\n制表\t"


def test_geojson_writer():
    gdf = gpd.GeoDataFrame({"name": HOSTILE[:1] + ["甲"], "day": pd.to_datetime(["2007-06-30", None]),
                            "n": [1.0, np.nan]},
                           geometry=[shapely.Point(118.9, 29.1), shapely.Point(119.0, 29.2)], crs="EPSG:4326")
    fc = json.loads(write_geojson(gdf))
    props = [f["properties"] for f in fc["features"]]
    assert props[0]["name"] == HOSTILE[0] and props[1]["name"] == "甲"  # GeoJSON keeps text as it is
    assert props[0]["day"].startswith("2007-06-30") and props[1]["day"] is None and props[1]["n"] is None
    assert fc["features"][1]["geometry"]["coordinates"] == [119.0, 29.2]


# --- through the project's exports, with hostile names in a demo copy -----------------------

@pytest.fixture
def hostile_store(demo_store):
    """A demo copy whose first riverside violations are renamed to the hostile names."""
    from geo import buffers
    from geo.store import Change, open_store

    store = open_store(demo_store)
    viol = buffers.check(store)
    picked = viol.head(len(HOSTILE))
    changes = []
    for layer, grp in picked.groupby("layer"):
        rows = store.read(layer)
        for fid, name in zip(grp["id"], [HOSTILE[i] for i in grp.index]):
            rows.loc[rows["id"] == fid, "name"] = name
        changes.append(Change(layer, rows[rows["id"].isin(grp["id"])], "upsert"))
    store.commit(changes)
    store.picked = picked[["layer", "id"]].assign(name=[HOSTILE[i] for i in picked.index])
    return store


def _no_formula_anywhere(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path)
    assert not any(c.data_type == "f" for ws in wb for row in ws.iter_rows() for c in row)
    return [c.value for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def _csv_cells(data: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    return [c for r in rows for c in r]


def test_riverside_cli_outputs_with_hostile_names(hostile_store, tmp_path):
    from geo.__main__ import main

    xlsx, out_csv = tmp_path / "r.xlsx", tmp_path / "r.csv"
    assert main(["buffer", "--store", str(hostile_store.path), "--out", str(xlsx)]) == 0
    texts = _no_formula_anywhere(xlsx)
    assert set(HOSTILE[:4]) <= set(texts)
    head = {r[0]: r[1] for r in openpyxl.load_workbook(xlsx)["说明"].iter_rows(values_only=True)}
    assert head["限值（米）"] == "200" and "截至日期" in head and head["数据版本标识"] == hostile_store.version()
    assert head["数据版本"] == writers.short_version(hostile_store.version())
    assert main(["buffer", "--store", str(hostile_store.path), "--out", str(out_csv)]) == 0
    data = out_csv.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")  # for machines: plain UTF-8
    lines = data.decode("utf-8").split("\n")
    assert lines[0].startswith("layer,id,name,township,distance_m,water_id,water_name")
    cells_ = _csv_cells(data)
    assert all(_safe_csv_cell(c) for c in cells_)
    assert {"'" + h for h in HOSTILE[:4]} <= set(cells_)
    df = pd.read_csv(out_csv)
    assert pd.api.types.is_float_dtype(df["distance_m"]) and len(df) >= len(HOSTILE)


def test_riverside_page_downloads_with_hostile_names(hostile_store):
    from geo import buffers

    res = buffers.check(hostile_store)
    meta = buffers.riverside_meta(200, None, data_version=hostile_store.version())
    wb = openpyxl.load_workbook(io.BytesIO(buffers.to_xlsx_bytes(res, meta=meta)))
    assert not any(c.data_type == "f" for ws in wb for row in ws.iter_rows() for c in row)
    data = buffers.to_csv_bytes(res, meta=meta)
    assert data.startswith(b"\xef\xbb\xbf") and "名称" in data.decode("utf-8-sig")
    assert all(_safe_csv_cell(c) for c in _csv_cells(data))


def test_patrol_outputs_with_hostile_names(hostile_store, tmp_path):
    from geo import patrol
    from geo.patrol import PatrolParams, plan_from_store

    ids = [f"{lay}:{fid}" for lay, fid in zip(hostile_store.picked["layer"], hostile_store.picked["id"])]
    plan = plan_from_store(hostile_store, [], ids=ids, params=PatrolParams(time_limit_s=1), use_roads=False)
    assert set(plan.stops["name"]) >= set(HOSTILE[:4])
    f = patrol.write(plan, tmp_path / "p.xlsx")
    assert set(HOSTILE[:4]) <= set(_no_formula_anywhere(f))
    for dialect in ("for_machines", "for_people"):
        data = patrol.to_csv(plan, dialect=dialect)
        assert all(_safe_csv_cell(c) for c in _csv_cells(data))
        assert "'" + HOSTILE[0] in _csv_cells(data)
    rows = list(csv.reader(io.StringIO(patrol.to_csv(plan, dialect="for_people").decode("utf-8-sig"))))
    assert rows[0] == [f"# 标题：巡查路线与清单 {plan.day:%Y-%m-%d}"]  # what the file is, then a blank line
    assert rows[rows.index([]) + 1][:2] == ["组别", "序号"]


def test_layer_export_with_hostile_names(hostile_store, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    layer = hostile_store.picked["layer"].iloc[0]
    for suffix in ("xlsx", "csv", "geojson"):
        out = tmp_path / f"e.{suffix}"
        r = subprocess.run([sys.executable, "-m", "geo", "export", "--store", str(hostile_store.path), "--layer",
                            layer, "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    names = set(hostile_store.picked.loc[hostile_store.picked["layer"] == layer, "name"])
    assert {n.replace("\r", "\n") for n in names} <= set(_no_formula_anywhere(tmp_path / "e.xlsx"))
    cells_ = _csv_cells((tmp_path / "e.csv").read_bytes())
    assert all(_safe_csv_cell(c) for c in cells_) and {"'" + n.replace("\r", "\n") for n in names} <= set(cells_)
    gj = json.loads((tmp_path / "e.geojson").read_text(encoding="utf-8"))
    assert names <= {f["properties"]["name"] for f in gj["features"]}


def test_progress_and_water_csvs_are_guarded():
    from geo import progress as P

    df = pd.DataFrame({"名称": HOSTILE, "剩余天数": [-3, 1, 2, 3, 4, 5]})
    cells_ = _csv_cells(write_csv(P.excel_safe(df), dialect="for_people"))
    assert all(_safe_csv_cell(c) for c in cells_) and "-3" in cells_
    wb = openpyxl.load_workbook(io.BytesIO(P.to_xlsx({"未完成点位": df})))
    assert not any(c.data_type == "f" for row in wb.active.iter_rows() for c in row)


# --- names as written, ids by the rule (intake) ---------------------------------------------

def _ledger(tmp_path, rows, name="l.csv"):
    f = tmp_path / name
    header = ["编号", "企业名称", "经度", "纬度", "所属乡镇", "行业", "状态"]
    f.write_bytes(_csv_text([header] + rows).encode("utf-8"))
    return f


def test_names_are_stored_as_written(tmp_path, demo_store):
    from geo import intake
    from geo.store import open_store

    store = open_store(demo_store)
    f = _ledger(tmp_path, [["N001", "  衢州（更名）化工厂＃１  ", 118.95, 28.98, "樟潭街道", "化工", "在产"]])
    res = intake.import_file(store, "enterprises", f, datum="wgs84", user="t", now=NOW, today=NOW.date())
    assert res.ok, res.errors
    assert store.read("enterprises").set_index("id").loc["N001", "name"] == "衢州（更名）化工厂＃１"


def test_full_width_id_colliding_with_a_stored_site_is_reported(tmp_path, demo_store):
    from geo import intake
    from geo.store import open_store

    store = open_store(demo_store)
    before = store.read("kilns").set_index("id").loc["KL002", "name"]
    v0 = store.version()
    f = tmp_path / "k.csv"
    f.write_bytes(_csv_text([["编号", "名称", "状态"], ["ＫＬ００２", "改名窑", "已关停"]]).encode("utf-8"))
    res = intake.import_file(store, "kilns", f, datum="wgs84", user="t", now=NOW, today=NOW.date())
    assert not res.ok and store.version() == v0
    [err] = res.errors
    assert err.row == 2 and err.id == "ＫＬ００２" and "KL002" in err.why_zh and "KL002" in err.why
    assert store.read("kilns").set_index("id").loc["KL002", "name"] == before
    # lower case is the same id by the rule too
    f.write_bytes(_csv_text([["编号", "名称", "状态"], ["kl002", "改名窑", "已关停"]]).encode("utf-8"))
    assert not intake.import_file(store, "kilns", f, datum="wgs84", user="t", now=NOW, today=NOW.date()).ok
    # written exactly as stored, it is an update: listed, and done only when chosen
    f.write_bytes(_csv_text([["编号", "名称", "状态"], ["KL002", "改名窑", "已关停"]]).encode("utf-8"))
    res = intake.import_file(store, "kilns", f, datum="wgs84", user="t", now=NOW, today=NOW.date())
    assert not res.ok and res.updated_ids == ["KL002"] and store.version() == v0
    res = intake.import_file(store, "kilns", f, datum="wgs84", user="t", now=NOW, today=NOW.date(), update_existing=True)
    assert res.ok and res.updated_ids == ["KL002"]
    assert store.read("kilns").set_index("id").loc["KL002", "name"] == "改名窑"


def test_ids_equal_after_the_rule_within_one_file_are_reported(tmp_path, demo_store):
    from geo import intake
    from geo.store import open_store

    store = open_store(demo_store)
    f = _ledger(tmp_path, [["ＮＥＷ１", "甲厂", 118.95, 28.98, "樟潭街道", "化工", "在产"],
                           ["NEW1", "乙厂", 118.95, 28.98, "樟潭街道", "化工", "在产"]])
    res = intake.import_file(store, "enterprises", f, datum="wgs84", user="t", now=NOW, today=NOW.date())
    assert not res.ok and sorted(p.row for p in res.errors if p.column == "编号") == [2, 3]
    # alone, a full-width new id is stored by the rule, and the report says so
    f = _ledger(tmp_path, [["ＮＥＷ１", "甲厂", 118.95, 28.98, "樟潭街道", "化工", "在产"]])
    res = intake.import_file(store, "enterprises", f, datum="wgs84", user="t", now=NOW, today=NOW.date())
    assert res.ok and res.new_ids == ["NEW1"]
    assert any(p.severity == "warning" and "NEW1" in p.why_zh for p in res.problems)
    assert "NEW1" in set(store.read("enterprises")["id"])
