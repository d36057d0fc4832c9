"""Reading the files bureaus actually receive: old .xls, township ledgers with title rows, merged headers,
totals and signature lines; KML/KMZ from 奥维 and Google Earth, GPX from 两步路; a shapefile whose .cpg lies.

Every file is built here (openpyxl, xlwt, text, geopandas); cells, headers, skipped rows, filled counts and
coordinates are checked against what the test wrote, never against the reader's own output.
"""
from __future__ import annotations

import datetime as dt
import io
import struct
import tracemalloc
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
import xlwt

from geo.errors import GeoError, LimitError
from geo.io import cells, readers
from geo.io.limits import Limits
from geo.io.readers import FORMATS, Table, read_gpx_track, read_table

ALIASES = {"id": ("编号", "序号"), "name": ("名称",), "village": ("所在村",), "lon": ("经度",), "lat": ("纬度",),
           "status": ("整治状态",)}
NO_COORDS = {k: v for k, v in ALIASES.items() if k not in ("lon", "lat")}
LEDGER_COLUMNS = ["序号", "名称", "所在村", "经度", "纬度", "整治状态"]


def _bilingual(err: GeoError, zh: str, en: str) -> None:
    """Chinese first, then English; and no raw codec or Python error text for the user."""
    assert zh in err.zh and en in err.en and err.zh != err.en
    for raw in ("codec can't decode", "Traceback", "XLRDError", "CompDocError"):
        assert raw not in err.zh and raw not in err.en


# --- the township ledger (DOMAIN: 上方镇 lime kilns) -------------------------------------------------

def _ledger_xlsx() -> bytes:
    """The ledger of the brief: title, 填报单位 row, a two-row header, merges down in the body, a blank
    spacer row, a total and a signature line, then blank rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["上方镇石灰窑整治台账"])                                       # 1
    ws.merge_cells("A1:F1")
    ws.append(["填报单位：上方镇人民政府", None, None, "日期：2007年6月30日"])  # 2
    ws.append(["序号", "名称", "所在村", "地理坐标", None, "整治状态"])          # 3
    ws.append([None, None, None, "经度", "纬度", None])                       # 4
    for col in "ABCF":
        ws.merge_cells(f"{col}3:{col}4")
    ws.merge_cells("D3:E3")
    ws.append([1, "甲窑", "上方村", 118.9412345, 29.18, "已关停"])            # 5
    ws.append([2, "乙窑", None, 118.93, 29.17, "已关停"])                     # 6  (上方村 by the merge C5:C7)
    ws.append([3, "丙窑", None, 118.92, 29.16, "在产"])                       # 7
    ws.merge_cells("C5:C7")
    ws.append([])                                                            # 8  blank spacer
    ws.append([4, "丁窑", None, 118.91, 29.15, None])                         # 9  blank village, no merge
    ws.append(["合  计", None, None, None, None, "4 座"])                     # 10
    ws.merge_cells("A10:C10")
    ws.append(["填表人：", "王某", None, "审核人：李某"])                       # 11
    ws.append([])                                                            # 12 trailing
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_township_ledger_header_block_totals_and_merges():
    t = read_table(_ledger_xlsx(), name="上方镇.xlsx", aliases=ALIASES)
    assert t.sheet == "台账" and t.header_rows == (3, 4)
    assert list(t.frame.columns) == LEDGER_COLUMNS  # 经度 alone is recognised, so it is the header
    assert t.matched == {"序号": "id", "名称": "name", "所在村": "village", "经度": "lon", "纬度": "lat",
                         "整治状态": "status"}
    assert list(t.row_numbers) == [5, 6, 7, 9]
    assert t.frame.values.tolist() == [
        [1, "甲窑", "上方村", 118.9412345, 29.18, "已关停"],
        [2, "乙窑", "上方村", 118.93, 29.17, "已关停"],
        [3, "丙窑", "上方村", 118.92, 29.16, "在产"],
        [4, "丁窑", None, 118.91, 29.15, None],  # a blank not covered by a merge is never guessed
    ]
    assert t.merged_down == {"所在村": 2}  # C6 and C7 (C5:C7), counted by hand
    assert t.skipped == [(8, "空行", "blank row"), (10, "合计行", "total row"),
                         (11, "表尾签字行（填表人、审核人等）", "footer line (signatures, contact)")]


def test_parts_are_joined_when_the_lowest_label_is_not_recognised():
    t = read_table(_ledger_xlsx(), name="l.xlsx", aliases=NO_COORDS)
    assert list(t.frame.columns) == ["序号", "名称", "所在村", "地理坐标/经度", "地理坐标/纬度", "整治状态"]
    assert t.header_rows == (3, 4) and list(t.row_numbers) == [5, 6, 7, 9]


def test_the_header_row_found_below_its_parent_row():
    # only 经度/纬度 are known: the best row is the lower one; the parent row above still joins the block
    t = read_table(_ledger_xlsx(), name="l.xlsx", aliases={"lon": ("经度",), "lat": ("纬度",)})
    assert t.header_rows == (3, 4)
    assert list(t.frame.columns) == LEDGER_COLUMNS and t.frame.iloc[0, 3] == 118.9412345


def _dms_xlsx() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["编号", "名称", "经度", None, None, "纬度", None, None])
    ws.append([None, None, "度", "分", "秒", "度", "分", "秒"])
    for ref in ("A1:A2", "B1:B2", "C1:E1", "F1:H1"):
        ws.merge_cells(ref)
    ws.append(["K1", "甲窑", 118, 52, 30, 29, 10, 5])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_split_degree_minute_second_headers_keep_their_parts():
    t = read_table(_dms_xlsx(), name="dms.xlsx", aliases=ALIASES)
    assert list(t.frame.columns) == ["编号", "名称", "经度/度", "经度/分", "经度/秒", "纬度/度", "纬度/分", "纬度/秒"]
    assert t.header_rows == (1, 2) and list(t.row_numbers) == [3]
    assert t.frame.iloc[0].tolist() == ["K1", "甲窑", 118, 52, 30, 29, 10, 5]
    assert t.matched == {"编号": "id", "名称": "name"}  # the caller recognises 度/分/秒 from the parts


def test_csv_two_row_header_without_merges():
    text = ("上方镇石灰窑整治台账\n填报单位：上方镇,,,日期：2007-06-30\n"
            "序号,名称,所在村,地理坐标,,整治状态\n,,,经度,纬度,\n1,甲窑,上方村,118.94,29.18,已关停\n")
    t = read_table(text.encode("utf-8"), name="l.csv", aliases=ALIASES)
    assert t.header_rows == (3, 4) and list(t.frame.columns) == LEDGER_COLUMNS
    assert t.frame.iloc[0].tolist() == ["1", "甲窑", "上方村", "118.94", "29.18", "已关停"]
    t = read_table(text.encode("utf-8"), name="l.csv", aliases=NO_COORDS)
    assert list(t.frame.columns)[3:5] == ["地理坐标/经度", "地理坐标/纬度"]


def test_a_text_only_data_row_is_not_taken_for_a_header():
    # a header with an unlabelled column, and a first row holding text only under 名称 and that column
    text = "编号,名称,,整治状态\n,甲窑,上方村,\nK2,乙窑,下方村,在产\n"
    t = read_table(text.encode("utf-8"), name="l.csv", aliases=ALIASES)
    assert t.header_rows == (1,) and list(t.frame.columns) == ["编号", "名称", "列3", "整治状态"]
    assert list(t.row_numbers) == [2, 3] and t.frame.iloc[0].tolist() == [None, "甲窑", "上方村", None]
    # numbers and coordinates below a parent are data, never labels
    text = "编号,名称,地理坐标,\nK1,甲窑,118°56′,29°10′\n"
    t = read_table(text.encode("utf-8"), name="l.csv", aliases=ALIASES)
    assert t.header_rows == (1,) and list(t.row_numbers) == [2]


def test_totals_footers_and_blank_rows():
    rows = [["编号", "名称", "所在村", "存栏"],
            ["A1", "甲场", "上方村", 500],          # 2
            ["小计（上方村）", None, None, 500],     # 3  a subtotal: id/name otherwise blank
            [None, None, None, None],              # 4  spacer inside the data
            ["A2", "乙场", "下方村", 700],          # 5
            ["A3", "累计村养殖场", "下方村", 1],     # 6  a name containing a total word elsewhere: data
            [None, "总计", None, 1201],             # 7  the total word in the name column itself
            ["小计", "丙场", None, 3],              # 8  a total word but a real name: kept for the caller
            [None, None, None, None],              # 9  after the last data row: dropped silently
            ["联系电话：0570-1234567"],             # 10
            ["备注：本表由乡镇填报"],                # 11
            ["制表：张三", None, "审核人：", "李四"],  # 12 a label cell followed by its value
            ]
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    t = read_table(buf.getvalue(), name="farms.xlsx", aliases={"id": ("编号",), "name": ("名称",)})
    assert list(t.row_numbers) == [2, 5, 6, 8]
    assert [r[0] for r in t.skipped] == [3, 4, 7, 10, 11, 12]
    reasons = {r[0]: r[1:] for r in t.skipped}
    assert reasons[3] == ("小计行", "subtotal row") and reasons[7] == ("总计行", "grand total row")
    assert reasons[4] == ("空行", "blank row")
    assert all(reasons[n][1].startswith("footer") for n in (10, 11, 12))
    assert t.merged_down == {}


def test_vertical_merges_in_the_body_fill_only_their_first_column():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["编号", "名称", "所在村", "备注"])
    ws.append(["A1", "甲", "上方村", None])
    ws.append(["A2", "乙", None, None])
    ws.append(["A3", "丙", None, None])
    ws.merge_cells("C2:D4")  # a block 3 rows × 2 columns: 所在村 filled down, 备注 never filled across
    ws.append(["A4", "丁", None, None])
    ws.merge_cells("C5:C6")  # a merge whose first cell is blank fills nothing
    ws.append(["A5", "戊", None, None])
    buf = io.BytesIO()
    wb.save(buf)
    t = read_table(buf.getvalue(), name="m.xlsx", aliases={"id": ("编号",), "name": ("名称",)})
    assert t.frame["所在村"].tolist() == ["上方村", "上方村", "上方村", None, None]
    assert t.frame["备注"].tolist() == [None, None, None, None, None]
    assert t.merged_down == {"所在村": 2}


def test_too_many_merges_are_noted(monkeypatch):
    monkeypatch.setattr(readers, "MAX_MERGES", 1)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["编号", "所在村"])
    for i in range(6):
        ws.append([f"A{i}", "上方村" if i % 2 == 0 else None])
    ws.merge_cells("B2:B3")
    ws.merge_cells("B4:B5")
    buf = io.BytesIO()
    wb.save(buf)
    t = read_table(buf.getvalue(), name="m.xlsx", aliases={"id": ("编号",)})
    assert t.merged_down == {"所在村": 1} and any("merged ranges" in n for n in t.notes)


def test_old_callers_get_empty_defaults():
    t = Table(pd.DataFrame({"a": [1]}), np.array([2]), "x.csv")
    assert t.skipped == [] and t.merged_down == {} and t.header_rows == ()
    plain = read_table("编号,名称\nA1,甲\n".encode("utf-8"), name="p.csv", aliases=ALIASES)
    assert plain.skipped == [] and plain.merged_down == {} and plain.header_rows == (1,)


# --- .xls (Excel 97–2003) --------------------------------------------------------------------------

def _ledger_xls() -> bytes:
    """The same ledger as :func:`_ledger_xlsx`, written as BIFF8 by xlwt (merges as write_merge)."""
    wb = xlwt.Workbook(encoding="utf-8")
    wb.add_sheet("说明").write(0, 0, "本页为说明")
    ws = wb.add_sheet("台账")
    ws.write_merge(0, 0, 0, 5, "上方镇石灰窑整治台账")
    ws.write(1, 0, "填报单位：上方镇人民政府")
    ws.write(1, 3, "日期：2007年6月30日")
    for j, h in enumerate(["序号", "名称", "所在村"]):
        ws.write_merge(2, 3, j, j, h)
    ws.write_merge(2, 2, 3, 4, "地理坐标")
    ws.write(3, 3, "经度")
    ws.write(3, 4, "纬度")
    ws.write_merge(2, 3, 5, 5, "整治状态")
    data = [(1, "甲窑", 118.9412345, 29.18, "已关停"), (2, "乙窑", 118.93, 29.17, "已关停"),
            (3, "丙窑", 118.92, 29.16, "在产")]
    for i, (n, name, lon, lat, status) in enumerate(data, start=4):
        ws.write(i, 0, n)
        ws.write(i, 1, name)
        ws.write(i, 3, lon)
        ws.write(i, 4, lat)
        ws.write(i, 5, status)
    ws.write_merge(4, 6, 2, 2, "上方村")
    ws.write(8, 0, 4)
    ws.write(8, 1, "丁窑")
    ws.write(8, 3, 118.91)
    ws.write(8, 4, 29.15)
    ws.write_merge(9, 9, 0, 2, "合  计")
    ws.write(9, 5, "4 座")
    ws.write(10, 0, "填表人：")
    ws.write(10, 1, "王某")
    ws.write(10, 3, "审核人：李某")
    ws.write(11, 0, dt.datetime(2007, 6, 30), xlwt.easyxf(num_format_str="yyyy-mm-dd"))  # a date cell
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xls_is_read_like_xlsx_with_its_merges():
    data = _ledger_xls()
    assert data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    t = read_table(data, name="上方镇.xls", sheet="台账", aliases=ALIASES)
    x = read_table(_ledger_xlsx(), name="上方镇.xlsx", aliases=ALIASES)
    assert t.sheet == "台账" and t.header_rows == (3, 4) and list(t.frame.columns) == LEDGER_COLUMNS
    assert t.frame.iloc[:4].values.tolist() == x.frame.values.tolist()  # the same ledger, the same cells
    assert isinstance(t.frame.iloc[0, 0], int) and t.frame.iloc[0, 3] == 118.9412345
    assert t.merged_down == {"所在村": 2}
    assert [r[0] for r in t.skipped] == [8, 10, 11]
    assert list(t.row_numbers) == [5, 6, 7, 9, 12]
    assert t.frame.iloc[4, 0] == dt.datetime(2007, 6, 30)  # a date cell is a datetime, as openpyxl gives
    # sheets by number; bytes without a name are recognised by the compound-file signature
    assert read_table(data, name="a.xls", sheet=2, aliases=ALIASES).sheet == "台账"
    assert read_table(data, sheet="1").sheet == "说明"
    with pytest.raises(GeoError, match="no sheet"):
        read_table(data, name="a.xls", sheet="9")
    # a caller that takes Excel takes .xls
    assert len(read_table(data, name="a.xls", sheet="台账", aliases=ALIASES, formats=("csv", "xlsx")).frame) == 5


def test_an_xlsx_named_xls_is_read_as_xlsx():
    t = read_table(_ledger_xlsx(), name="改名.xls", aliases=ALIASES)
    assert list(t.frame.columns) == LEDGER_COLUMNS and t.merged_down == {"所在村": 2}


def test_damaged_xls_gives_a_bilingual_error():
    data = _ledger_xls()
    damaged = [data[:n] for n in (9, 600, 1500, len(data) // 2)]
    corrupt = bytearray(data)
    corrupt[512:1024] = bytes(range(256)) * 2
    damaged.append(bytes(corrupt))
    damaged.append(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1000)
    damaged.append(b"x")
    for bad in damaged:
        with pytest.raises(GeoError) as err:
            read_table(bad, name="坏.xls", sheet="台账")
        _bilingual(err.value, "xlsx", "xlsx")
    with pytest.raises(GeoError) as err:
        read_table("<html><table><tr><td>甲</td></tr></table></html>".encode("utf-8"), name="导出.xls")
    _bilingual(err.value, "网页", "web page")


def test_xls_limits():
    wb = xlwt.Workbook()
    ws = wb.add_sheet("s")
    for i in range(40):
        for j in range(30):
            ws.write(i, j, f"c{j}" if i == 0 else i)
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(LimitError, match="30 columns"):
        read_table(buf.getvalue(), name="w.xls", limits=Limits(max_columns=20))
    with pytest.raises(LimitError, match="39 data rows"):
        read_table(buf.getvalue(), name="w.xls", limits=Limits(max_rows=38))


# --- KML / KMZ -------------------------------------------------------------------------------------

KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document><name>上方镇巡查</name>
 <Schema name="kiln" id="kiln"><SimpleField name="编号" type="string"/><SimpleField name="状态" type="string"/></Schema>
 <Placemark><name>界碑</name><Point><coordinates>118.1,29.1</coordinates></Point></Placemark>
 <Folder><name>石灰窑</name>
  <Placemark><name> 甲窑 </name>
   <description><![CDATA[<!DOCTYPE html><b>已关停</b>]]></description>
   <ExtendedData><SchemaData schemaUrl="#kiln"><SimpleData name="编号">KL001</SimpleData>
    <SimpleData name="状态">已关停</SimpleData></SchemaData></ExtendedData>
   <Point><coordinates>118.94123456789012,29.18000000000001,35</coordinates></Point></Placemark>
  <Folder><name>上方村</name>
   <Placemark><name>乙窑</name><ExtendedData><Data name="所在村"><value>上方村</value></Data></ExtendedData>
    <Point><coordinates> 118.93 , 29.17 </coordinates></Point></Placemark>
  </Folder>
 </Folder>
 <Folder><name>河道</name>
  <Placemark><name>衢江</name><LineString><coordinates>
     118.9,29.1,0 118.95,29.15,0
     119.0,29.2,0</coordinates></LineString></Placemark>
  <Placemark><name>水库</name><Polygon>
   <outerBoundaryIs><LinearRing><coordinates>118.9,29.1 119,29.1 119,29.2 118.9,29.2 118.9,29.1</coordinates>
   </LinearRing></outerBoundaryIs>
   <innerBoundaryIs><LinearRing><coordinates>118.95,29.12 118.96,29.12 118.96,29.13 118.95,29.12</coordinates>
   </LinearRing></innerBoundaryIs></Polygon></Placemark>
  <Placemark><name>两处</name><MultiGeometry><Point><coordinates>118.5,29.5</coordinates></Point>
   <Point><coordinates>118.6,29.6</coordinates></Point></MultiGeometry></Placemark>
  <Placemark><name>轨迹</name><gx:Track><when>2007-06-12T01:30:00Z</when><when>2007-06-12T01:40:00Z</when>
   <gx:coord>118.7 29.7 10</gx:coord><gx:coord>118.8 29.8 10</gx:coord></gx:Track></Placemark>
  <Placemark><name>坏点</name><Point><coordinates>东经118,29.1</coordinates></Point></Placemark>
 </Folder>
</Document></kml>"""


def test_kml_placemarks_folders_fields_and_geometries_as_written():
    t = read_table(KML.encode("utf-8"), name="奥维导出.kml", aliases=ALIASES)
    f = t.frame
    assert list(f.columns) == ["名称", "描述", "文件夹", "编号", "状态", "所在村"]
    assert f["名称"].tolist() == ["界碑", "甲窑", "乙窑", "衢江", "水库", "两处", "轨迹", "坏点"]
    assert f["文件夹"].tolist() == [None, "石灰窑", "石灰窑/上方村", "河道", "河道", "河道", "河道", "河道"]
    assert f["描述"].tolist()[1] == "<!DOCTYPE html><b>已关停</b>"  # HTML in a description is text, not a DTD
    assert f["编号"].tolist()[:3] == [None, "KL001", None] and f["状态"].tolist()[1] == "已关停"
    assert f["所在村"].tolist()[2] == "上方村"  # a Chinese <Data name> keeps its name (GDAL's LIBKML loses it)
    assert list(t.row_numbers) == list(range(1, 9)) and t.matched == {"名称": "name", "编号": "id",
                                                                      "所在村": "village"}
    g = t.geometry
    assert g.crs.to_epsg() == 4326
    # exactly the decimals written in the file (altitude dropped); never shifted between datums
    assert shapely.get_coordinates(g.iloc[1]).tolist() == [[118.94123456789012, 29.18000000000001]]
    assert g.iloc[2].equals_exact(shapely.Point(118.93, 29.17), 0)
    assert shapely.get_coordinates(g.iloc[3]).tolist() == [[118.9, 29.1], [118.95, 29.15], [119.0, 29.2]]
    poly = g.iloc[4]
    assert poly.geom_type == "Polygon" and len(poly.interiors) == 1
    assert shapely.get_coordinates(poly.exterior).tolist() == [[118.9, 29.1], [119, 29.1], [119, 29.2],
                                                                [118.9, 29.2], [118.9, 29.1]]
    assert shapely.get_coordinates(poly.interiors[0]).tolist()[:3] == [[118.95, 29.12], [118.96, 29.12],
                                                                       [118.96, 29.13]]
    assert g.iloc[5].equals(shapely.MultiPoint([(118.5, 29.5), (118.6, 29.6)]))
    assert shapely.get_coordinates(g.iloc[6]).tolist() == [[118.7, 29.7], [118.8, 29.8]]
    assert g.iloc[7] is None  # "东经118" is not a coordinate: no geometry, and the notes say so
    assert any("GCJ-02" in n and "WGS84" in n for n in t.notes)
    assert any("1 placemark" in n for n in t.notes)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_kmz_reads_its_doc_kml_from_the_archive(tmp_path):
    kmz = _zip({"files/icon.png": b"\x89PNG", "doc.kml": KML.encode("utf-8")})
    t = read_table(kmz, name="a.kmz")
    assert len(t.frame) == 8 and t.frame["文件夹"].iloc[2] == "石灰窑/上方村"
    f = tmp_path / "b.kmz"  # no doc.kml: the first .kml, as Google Earth reads it
    f.write_bytes(_zip({"readme.txt": b"x", "layers/kilns.kml": KML.encode("utf-8")}))
    assert read_table(f).frame["名称"].iloc[0] == "界碑"
    with pytest.raises(GeoError) as err:
        read_table(_zip({"a.txt": b"x"}), name="c.kmz")
    _bilingual(err.value, ".kml", ".kml")
    with pytest.raises(GeoError) as err:
        read_table(b"PK\x03\x04 not a zip", name="d.kmz")
    _bilingual(err.value, "损坏", "damaged")


def test_kml_in_gbk_and_damaged_kml():
    gbk = KML.replace('encoding="UTF-8"', 'encoding="GBK"').encode("gbk")
    assert read_table(gbk, name="gbk.kml").frame["名称"].iloc[1] == "甲窑"
    with pytest.raises(GeoError) as err:
        read_table(KML[:600].encode("utf-8"), name="cut.kml")
    _bilingual(err.value, "损坏", "damaged")
    with pytest.raises(GeoError) as err:
        read_table(b'<?xml version="1.0"?><kml><Document/></kml>', name="empty.kml")
    _bilingual(err.value, "没有地标", "no placemark")


BOMB = ('<?xml version="1.0"?>\n<!DOCTYPE kml [\n <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">\n'
        + "".join(f' <!ENTITY {c} "{("&" + p + ";") * 10}">\n' for p, c in zip("abcdefgh", "bcdefghi"))
        + ']>\n<kml><Document><Placemark><name>&i;</name><Point><coordinates>1,2</coordinates></Point>'
          '</Placemark></Document></kml>')
EXTERNAL = ('<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<gpx version="1.1"><wpt lat="1" lon="2"><name>&x;</name></wpt></gpx>')


def test_entity_bombs_and_external_entities_are_refused():
    tracemalloc.start()
    try:
        for data, name in ((BOMB.encode(), "bomb.kml"), (_zip({"doc.kml": BOMB.encode()}), "bomb.kmz"),
                           (EXTERNAL.encode(), "x.gpx"), (BOMB.replace("kml", "gpx").encode(), "bomb.gpx")):
            with pytest.raises(GeoError) as err:
                read_table(data, name=name)
            _bilingual(err.value, "DOCTYPE", "DOCTYPE")
        with pytest.raises(GeoError, match="DOCTYPE"):
            read_gpx_track(EXTERNAL.encode(), name="x.gpx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # 10^9 'a's were never expanded


def test_oversize_kmz_is_refused_before_expanding():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("doc.kml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0"?><kml><Document>')
            for _ in range(256):
                fh.write(b" " * (1 << 20))
    data = buf.getvalue()
    assert len(data) < 2 * 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(LimitError) as err:
            read_table(data, name="big.kmz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "256.0 MB" in err.value.zh and "max_uncompressed_mb" in err.value.en
    assert peak < 8 * 1024 * 1024  # nothing was expanded


def test_kml_row_and_column_limits():
    with pytest.raises(LimitError, match="at least 8 data rows"):
        read_table(KML.encode("utf-8"), name="a.kml", limits=Limits(max_rows=7))
    assert len(read_table(KML.encode("utf-8"), name="a.kml", limits=Limits(max_rows=8)).frame) == 8
    with pytest.raises(LimitError, match="6 columns"):
        read_table(KML.encode("utf-8"), name="a.kml", limits=Limits(max_columns=5))
    with pytest.raises(LimitError, match="file too large"):
        read_table(KML.encode("utf-8"), name="a.kml", limits=Limits(max_upload_mb=0.001))


def test_formats_choose_kml_and_gpx():
    assert FORMATS["kml"] == (".kml", ".kmz") and FORMATS["gpx"] == (".gpx",) and ".xls" in FORMATS["xlsx"]
    for name in ("a.kml", "a.kmz", "a.gpx"):
        with pytest.raises(GeoError) as err:
            read_table(KML.encode("utf-8"), name=name, formats=("csv", "xlsx"))
        _bilingual(err.value, "不支持", "unsupported")
    assert len(read_table(KML.encode("utf-8"), name="a.kml", formats=("kml",)).frame) == 8


# --- GPX ---------------------------------------------------------------------------------------------

GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="两步路" xmlns="http://www.topografix.com/GPX/1/1">
 <wpt lat="29.18000000000001" lon="118.94123456789012"><ele>120.5</ele><time>2007-06-12T01:30:00Z</time>
  <name>甲窑</name><cmt>已关停</cmt><desc>2月6日断电</desc><type>石灰窑</type></wpt>
 <wpt lat="29.17" lon="118.93"><name>乙窑</name></wpt>
 <trk><name>6月12日联合巡查</name>
  <trkseg><trkpt lat="29.1" lon="118.9"><time>2007-06-12T01:30:00Z</time></trkpt>
   <trkpt lat="29.2" lon="119.0"><time>2007-06-12T01:40:00Z</time></trkpt></trkseg>
  <trkseg><trkpt lat="29.3" lon="119.1"></trkpt></trkseg></trk>
 <trk><name>一个点</name><trkseg><trkpt lat="29.1" lon="118.9"/></trkseg></trk>
</gpx>"""


def test_gpx_waypoints_as_rows():
    t = read_table(GPX.encode("utf-8"), name="两步路.gpx", aliases=ALIASES)
    f = t.frame
    assert list(f.columns) == ["名称", "描述", "注释", "类型", "时间", "高程"]
    assert f["名称"].tolist() == ["甲窑", "乙窑"] and f["注释"].tolist() == ["已关停", None]
    assert f["描述"].tolist() == ["2月6日断电", None] and f["类型"].tolist() == ["石灰窑", None]
    assert f["高程"].tolist() == [120.5, None]
    # the one cell rule reads the time: 01:30 UTC is 09:30 in Beijing
    assert cells.parse_datetime(f["时间"].iloc[0]) == pd.Timestamp("2007-06-12 09:30") and f["时间"].iloc[1] is None
    assert shapely.get_coordinates(t.geometry).tolist() == [[118.94123456789012, 29.18000000000001],
                                                             [118.93, 29.17]]
    assert t.geometry.crs.to_epsg() == 4326 and any("GCJ-02" in n for n in t.notes)
    assert list(t.row_numbers) == [1, 2]


def test_gpx_track_for_an_inspection_route(tmp_path):
    f = tmp_path / "route.gpx"
    f.write_text(GPX, encoding="utf-8")
    lines, times = read_gpx_track(f)
    assert lines.crs.to_epsg() == 4326 and lines.attrs["names"] == ["6月12日联合巡查", "一个点"]
    # the two segments in order, as written
    assert shapely.get_coordinates(lines.iloc[0]).tolist() == [[118.9, 29.1], [119.0, 29.2], [119.1, 29.3]]
    assert lines.iloc[1].is_empty  # one point is no line
    assert list(times[0][:2]) == [pd.Timestamp("2007-06-12 09:30"), pd.Timestamp("2007-06-12 09:40")]
    assert pd.isna(times[0][2]) and len(times[1]) == 1
    with pytest.raises(LimitError, match="at least"):
        read_gpx_track(f, limits=Limits(max_rows=3))
    only_waypoints = GPX[:GPX.index(" <trk>")] + "</gpx>"
    with pytest.raises(GeoError) as err:
        read_gpx_track(only_waypoints.encode("utf-8"), name="w.gpx")
    _bilingual(err.value, "没有轨迹", "no track")
    with pytest.raises(GeoError) as err:
        read_gpx_track(b"x", name="w.csv")
    _bilingual(err.value, "GPX", "GPX")


def test_gpx_with_only_a_track_is_not_a_table():
    only_track = GPX.replace(GPX[GPX.index(" <wpt"):GPX.index(" <trk>")], "")
    with pytest.raises(GeoError) as err:
        read_table(only_track.encode("utf-8"), name="t.gpx")
    _bilingual(err.value, "2 条轨迹", "2 track(s)")
    with pytest.raises(GeoError) as err:
        read_table(b'<?xml version="1.0"?><gpx><wpt lat="x" lon="1"/></gpx>', name="bad.gpx")
    _bilingual(err.value, "GPX", "GPX")


# --- a shapefile whose .cpg lies ----------------------------------------------------------------------

NAMES = ["上方村石灰窑", "石灰钙棚乙"]


def _shapefile(folder: Path, encoding: str, cpg: str | None, columns=("名称", "所在村")) -> Path:
    folder.mkdir()
    gdf = gpd.GeoDataFrame(dict(zip(columns, [NAMES, ["上方村", "下方村"]])),
                           geometry=[shapely.Point(118.94, 29.18), shapely.Point(118.93, 29.17)], crs="EPSG:4326")
    gdf.to_file(folder / "kilns.shp", encoding=encoding)
    (folder / "kilns.cpg").unlink(missing_ok=True)
    if cpg is not None:
        (folder / "kilns.cpg").write_text(cpg, encoding="ascii")
    return folder / "kilns.shp"


def _zipped(shp: Path) -> bytes:
    return _zip({p.name: p.read_bytes() for p in shp.parent.iterdir()})


def test_cpg_saying_utf8_over_a_gbk_dbf(tmp_path):
    shp = _shapefile(tmp_path / "a", "gbk", "UTF-8")
    assert (tmp_path / "a" / "kilns.dbf").read_bytes().count("上方村".encode("gbk")) == 2  # GBK as claimed
    for src, kw in ((shp, {}), (_zipped(shp), {"name": "kilns.zip"})):
        t = read_table(src, aliases=ALIASES, **kw)
        assert t.frame["名称"].tolist() == NAMES and t.frame["所在村"].tolist() == ["上方村", "下方村"]
        assert t.encoding == "GB18030" and t.matched == {"名称": "name", "所在村": "village"}
        assert any(".cpg" in n and "UTF-8" in n and "GB18030" in n for n in t.notes)


def test_cpg_saying_gbk_over_a_utf8_dbf_and_an_honest_cpg(tmp_path):
    t = read_table(_shapefile(tmp_path / "a", "utf-8", "936"))
    assert t.frame["名称"].tolist() == NAMES and t.encoding == "UTF-8" and any("936" in n for n in t.notes)
    t = read_table(_shapefile(tmp_path / "b", "gbk", "GBK"))
    assert t.frame["名称"].tolist() == NAMES and t.notes == []  # the .cpg told the truth: nothing to say


def _break_names(shp: Path) -> None:
    """Put bytes that are neither UTF-8 nor GB18030 (0xFF) into the first record's name."""
    dbf = shp.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    header_len = struct.unpack("<H", raw[8:10])[0]
    raw[header_len + 1:header_len + 3] = b"\xff\xff"
    dbf.write_bytes(bytes(raw))


def test_an_undecodable_dbf_is_a_bilingual_error(tmp_path, monkeypatch):
    shp = _shapefile(tmp_path / "a", "utf-8", "UTF-8")
    _break_names(shp)
    with pytest.raises(GeoError) as err:
        read_table(shp)
    _bilingual(err.value, "编码", "encoding")
    # past the sample the reader checks (ASCII field names, one byte of records), pyogrio's own decoding
    # fails: still no raw codec message
    monkeypatch.setattr(readers, "_DBF_SAMPLE", 1)
    shp = _shapefile(tmp_path / "b", "gbk", "UTF-8", columns=("name", "village"))
    with pytest.raises(GeoError) as err:
        read_table(shp)
    _bilingual(err.value, "编码", "encoding")
