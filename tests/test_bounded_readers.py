"""Hostile files against the readers (issue 26): each is refused early, in both languages, within bounded memory.

The files are built here (the generators of ``bench/readers_rss.py``, which runs them at full size too):
an xlsx shared-strings bomb, sheets with a stray or formatted cell at XFD or far below the table, a
township polygon of millions of vertices, GeoJSON / GeoPackage / KML over the vertex limits, tables over
the cell limit. Memory is the child's own peak RSS (``os.wait4``), a behaviour of the reader, not a time.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import shapely
import xlwt

from geo.errors import GeoError, LimitError
from geo.io import readers
from geo.io.limits import Limits
from geo.io.readers import read_table

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("readers_rss", ROOT / "bench" / "readers_rss.py")
rss = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rss)

#: The brief's ceiling for every hostile file (the CLI alone, geopandas loaded, is ~190 MB).
PEAK_MB = 500


def _bilingual(err: GeoError, zh: str, en: str) -> None:
    assert zh in err.zh and en in err.en and err.zh != err.en
    assert "Traceback" not in err.zh + err.en


def _import(tmp_path: Path, layer: str, file: Path, config: str | None = None) -> dict:
    """``python -m geo import … --dry-run`` in a child: exit code, its output, its own peak RSS in MB.

    The peak is the child's ``VmHWM`` (``rss.PEAK``): ``wait4``'s ``ru_maxrss`` would add the memory this
    test process had when it forked (680 MB read for a 200 MB refusal right after building a 9M-vertex
    polygon here)."""
    store = tmp_path / "store.gpkg"
    if not store.exists():
        from geo.store import DEMO_STORE

        shutil.copyfile(DEMO_STORE, store)
    cfg = None
    if config:
        cfg = tmp_path / "qingshan.toml"
        cfg.write_text(config, encoding="utf-8")
    r = rss.run(rss.import_cmd(store, layer, file), config=cfg)
    assert "PEAK_KB" in r["out"]
    return r


# --- xlsx: shared strings -------------------------------------------------------------------------

def test_the_shared_strings_bomb_is_refused_before_openpyxl_in_bounded_memory(tmp_path):
    bomb = rss.shared_strings_bomb(tmp_path / "bomb.xlsx")  # 11 M strings, ≈ 0.45 MB (took 1.2 GB, 84 s)
    assert bomb.stat().st_size < 1024 * 1024
    r = _import(tmp_path, "enterprises", bomb)
    assert r["rc"] == 2, r["out"]
    assert "压缩比" in r["out"] and "zip bomb" in r["out"] and "xl/sharedStrings.xml" in r["out"]
    assert r["mb"] < PEAK_MB, r
    # with the ratio allowed, the count stated in the part refuses it, still before openpyxl
    r = _import(tmp_path, "enterprises", bomb, config="[limits]\nmax_zip_ratio = 100000\n")
    assert r["rc"] == 2 and "共享字符串" in r["out"] and "11,000,000 strings" in r["out"], r["out"]
    assert r["mb"] < PEAK_MB, r


def test_shared_strings_are_counted_while_streaming_when_the_count_lies(tmp_path):
    # the attribute says 5: the part is counted as it streams, and refused at the first string over
    f = rss.shared_strings_bomb(tmp_path / "liar.xlsx", n=300_000, declare=False)
    lim = Limits(max_shared_strings=100_000, max_zip_ratio=100_000)
    with pytest.raises(LimitError) as err:
        read_table(f, limits=lim)
    _bilingual(err.value, "共享字符串表至少有 100,", "holds at least 100,")
    with pytest.raises(LimitError, match="max_zip_ratio"):  # the default ratio refuses it first
        read_table(f, limits=Limits(max_shared_strings=100_000))
    assert len(read_table(f, limits=Limits(max_shared_strings=300_000, max_zip_ratio=100_000)).frame) == 0


def test_a_part_openpyxl_parses_whole_is_bounded(tmp_path, monkeypatch):
    wb = openpyxl.Workbook()
    wb.active.append(["编号", "名称"])
    f = tmp_path / "a.xlsx"
    wb.save(f)
    assert len(read_table(f).frame.columns) == 2
    monkeypatch.setattr(readers, "XLSX_WHOLE_PART", 2000)  # the theme (10 KB) is then too big
    with pytest.raises(LimitError) as err:
        read_table(f)
    _bilingual(err.value, "xl/theme/theme1.xml", "not a normal workbook")


# --- xlsx: sparse and wide sheets -----------------------------------------------------------------

def test_formatted_blanks_at_xfd_are_not_padded_into_rows(tmp_path, monkeypatch):
    f = rss.sparse_sheet(tmp_path / "xfd.xlsx", rows=3000)  # every row ends with a formatted blank at XFD
    # openpyxl's read-only rows would be 16,384 wide (1.2 ms a row): the reader must never build them
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    def padded(*_a, **_k):
        raise AssertionError("openpyxl's padded rows were built")

    monkeypatch.setattr(ReadOnlyWorksheet, "_get_row", padded)
    t = read_table(f)
    assert list(t.frame.columns) == list(rss.HEADER)
    assert len(t.frame) == 3000 and t.frame.iloc[-1, 0] == "E3001" and t.row_numbers[-1] == 3001


def test_a_ledger_over_its_row_limit_is_refused_early_naming_the_setting(tmp_path):
    """The 200,000-row XFD sheet as a site ledger: refused at row 100,001 in the reader (max_ledger_rows),
    in bounded memory; the same rows as a plain table stay within max_rows."""
    from geo import intake

    f = rss.sparse_sheet(tmp_path / "xfd.xlsx", rows=60)
    lim = Limits(max_rows=100, max_ledger_rows=50)
    with pytest.raises(GeoError) as exc:
        intake.read_ledger(f, layer="enterprises", limits=lim)
    _bilingual(exc.value, "max_ledger_rows", "max_ledger_rows")
    assert "上限 50 行" in exc.value.zh
    assert len(read_table(f, limits=lim).frame) == 60  # not a ledger: max_rows
    assert Limits(max_rows=40, max_ledger_rows=50).for_ledger().max_rows == 40  # the lower of the two


@pytest.mark.slow
def test_the_200k_row_sheet_as_a_ledger_stays_under_the_ceiling(tmp_path):
    f = rss.sparse_sheet(tmp_path / "xfd.xlsx")  # 200,000 rows, each with a formatted blank at XFD
    r = _import(tmp_path, "enterprises", f)
    assert r["rc"] == 2 and "max_ledger_rows" in r["out"] and "Traceback" not in r["out"]
    assert r["mb"] < PEAK_MB, r


def test_status_events_of_an_import_match_row_by_row(tmp_path):
    """The column-at-a-time events (issue 26: 170 MB of per-row records for 100,000 rows) say what each row
    says: its closure date when closed, today otherwise, and the row's note."""
    import pandas as pd

    from geo import intake
    from geo.store import DEMO_STORE, open_store

    store = tmp_path / "s.gpkg"
    shutil.copyfile(DEMO_STORE, store)
    ledger = tmp_path / "l.csv"
    ledger.write_text("编号,企业名称,经度,纬度,状态,关停日期,备注\n"
                      "N1,甲厂,118.90,29.10,已关停,2007-03-05,已拆除\n"
                      "N2,乙厂,118.91,29.11,在产,,\n", encoding="utf-8")
    intake.import_file(open_store(store), "enterprises", ledger, datum="wgs84", user="张三", today=dt.date(2007, 6, 30))
    ev = open_store(store).read("status_events")
    ev = ev[ev["feature_id"].isin(["N1", "N2"])].set_index("feature_id")
    assert ev.loc["N1", "status"] == "closed" and pd.Timestamp(ev.loc["N1", "effective_on"]) == pd.Timestamp("2007-03-05")
    assert pd.Timestamp(ev.loc["N2", "effective_on"]) == pd.Timestamp("2007-06-30")
    assert "第2行" in ev.loc["N1", "note"] and ev.loc["N1", "note"].endswith("；已拆除")
    assert "第3行" in ev.loc["N2", "note"] and not ev.loc["N2", "note"].endswith("；")
    assert set(ev["recorded_by"]) == {"张三"}


def test_a_stray_value_at_xfd_is_refused_by_its_cell(tmp_path):
    f = rss.sparse_sheet(tmp_path / "lone.xlsx", rows=2000, blank_xfd=False, lone_xfd=True)
    with pytest.raises(LimitError) as err:
        read_table(f)
    _bilingual(err.value, "XFD2001", "XFD2001")
    assert "16,384" in err.value.en and "max_columns" in err.value.en


def test_a_value_far_below_the_table_is_refused_by_its_cell(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["编号", "名称"])
    ws.append(["E1", "甲厂"])
    ws["B1000000"] = "x"
    f = tmp_path / "far.xlsx"
    wb.save(f)
    with pytest.raises(LimitError) as err:
        read_table(f)
    _bilingual(err.value, "B1000000", "B1000000")
    ws["B1000000"] = None  # a blank there is no row at all
    wb.save(f)
    assert len(read_table(f).frame) == 1


def test_the_cells_limit_counts_filled_cells(tmp_path):
    data = ("a,b,c,d,e\n" + "1,2,,,\n" * 100).encode()
    assert len(read_table(data, name="c.csv", limits=Limits(max_cells=210)).frame) == 100  # 5 + 200 filled
    with pytest.raises(LimitError) as err:
        read_table(data, name="c.csv", limits=Limits(max_cells=150))
    _bilingual(err.value, "单元格过多", "max_cells")


def test_the_sheet_reader_gives_what_openpyxl_gives(tmp_path):
    """An independent reading of the same sheet: openpyxl's own read-only, data-only rows."""
    for epoch_1904 in (False, True):
        wb = openpyxl.Workbook()
        if epoch_1904:
            from openpyxl.utils.datetime import CALENDAR_MAC_1904

            wb.epoch = CALENDAR_MAC_1904
        ws = wb.active
        ws.append(["编号", "名称", "数量", "日期", "时刻", "是否", "备注"])
        ws.append(["E1", "甲厂 ", 3, dt.date(2007, 6, 30), dt.datetime(2007, 6, 30, 8, 15), True, None])
        ws.append(["E2", "乙厂", 2.5, dt.datetime(2007, 7, 1), dt.time(9, 30), False, "=1+1"])
        ws.append([None, None, None, None, None, None, None])
        ws.append(["E3", "丙\n厂", -1e-7, "2007年6月30日", None, None, "#N/A"])
        ws.merge_cells("B2:B3")
        ws["G5"].data_type = "e"
        ws.cell(7, 3, 12345678901234)
        f = tmp_path / f"types{int(epoch_1904)}.xlsx"
        wb.save(f)
        rows, _, merges, _ = readers._xlsx_rows(f, None, Limits())
        ref = [list(r) for r in openpyxl.load_workbook(f, read_only=True, data_only=True).active.iter_rows(
            values_only=True)]
        expected = [r[:readers._width(r)] for r in ref]
        assert rows == expected, epoch_1904
        assert merges == [(1, 1, 2, 1)]


# --- xls -------------------------------------------------------------------------------------------

def test_an_xls_with_a_far_formatted_cell_is_read_ragged(tmp_path):
    """One formatted blank at (65535, 199) made xlrd pad 65,536 rows to 200 cells (13 M cells)."""
    wb = xlwt.Workbook()
    ws = wb.add_sheet("台账")
    for j, h in enumerate(rss.HEADER):
        ws.write(0, j, h)
    ws.write(1, 0, "E1")
    ws.write(65535, 199, None, xlwt.easyxf("font: bold on"))
    f = tmp_path / "far.xls"
    wb.save(str(f))
    r = rss.run([rss.PEAK + "from geo.io.readers import read_table\nprint('ROWS', len(read_table(sys.argv[1]).frame))\n",
                 str(f)])
    assert r["rc"] == 0 and "ROWS 1" in r["out"], r["out"]
    assert r["mb"] < 230, r  # ragged: 160 MB, 2 s; padded: 298 MB, 56 s


# --- spatial: vertices --------------------------------------------------------------------------

def test_the_9m_vertex_township_is_refused_from_its_record_header_in_bounded_memory(tmp_path):
    f = rss.polygon_shapefile_zip(tmp_path / "township.zip")  # 144 MB of coordinates, 1.4 MB zipped
    r = _import(tmp_path, "townships", f)
    assert r["rc"] == 2, r["out"]
    assert "第 1 个要素有 9,000,000 个顶点" in r["out"] and "feature 1 has 9,000,000 vertices" in r["out"]
    assert r["mb"] < PEAK_MB, r  # read and checked whole: 1.8 GB, over 150 s


def test_shapefile_vertices_per_feature_and_per_file(tmp_path):
    f = rss.polygon_shapefile_zip(tmp_path / "t.zip", vertices=1500, features=3)
    t = read_table(f)
    assert len(t.frame) == 3 and shapely.get_num_coordinates(t.geometry.values).tolist() == [1500] * 3
    with pytest.raises(LimitError) as err:
        read_table(f, limits=Limits(max_feature_vertices=1000))
    _bilingual(err.value, "第 1 个要素有 1,500 个顶点", "feature 1 has 1,500 vertices")
    with pytest.raises(LimitError) as err:
        read_table(f, limits=Limits(max_vertices=4000))
    _bilingual(err.value, "至少 4,500 个顶点", "at least 4,500 vertices")


def _ring(n: int, dx: float = 0.0) -> list:
    a = np.linspace(0, 2 * np.pi, n)
    pts = np.column_stack([118.9 + dx + 0.01 * np.cos(a), 29.1 + 0.01 * np.sin(a)])
    pts[-1] = pts[0]
    return pts.round(6).tolist()


def test_geojson_positions_are_counted_before_gdal_and_each_feature_after(tmp_path):
    feats = [{"type": "Feature", "properties": {"名称": f"镇{i}"},
              "geometry": {"type": "Polygon", "coordinates": [_ring(n, i * 0.05)]}}
             for i, n in enumerate((400, 1200, 400))]
    f = tmp_path / "t.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    assert len(read_table(f).frame) == 3
    with pytest.raises(LimitError) as err:  # counted on the bytes: 2,000 positions
        read_table(f, limits=Limits(max_vertices=1999))
    _bilingual(err.value, "顶点", "vertices")
    assert len(read_table(f, limits=Limits(max_vertices=2000)).frame) == 3
    with pytest.raises(LimitError) as err:
        read_table(f, limits=Limits(max_feature_vertices=1000))
    _bilingual(err.value, "第 2 个要素有 1,200 个顶点", "feature 2 has 1,200 vertices")


def test_geopackage_vertices_are_checked_on_what_was_read(tmp_path):
    import geopandas as gpd

    polys = [shapely.Polygon(_ring(300)), shapely.Polygon(_ring(1300, 0.1))]
    gdf = gpd.GeoDataFrame({"名称": ["甲镇", "乙镇"]}, geometry=polys, crs="EPSG:4326")
    f = tmp_path / "t.gpkg"
    gdf.to_file(f, layer="townships", driver="GPKG")
    assert len(read_table(f).frame) == 2
    with pytest.raises(LimitError) as err:
        read_table(f, limits=Limits(max_feature_vertices=1000))
    _bilingual(err.value, "第 2 个要素有 1,300 个顶点", "feature 2 has 1,300 vertices")
    with pytest.raises(LimitError, match="1,600 vertices"):
        read_table(f, limits=Limits(max_vertices=1500))


def _kml(coords: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2" '
            f'xmlns:gx="http://www.google.com/kml/ext/2.2"><Document><Placemark><name>河</name><LineString>'
            f'<coordinates>{coords}</coordinates></LineString></Placemark><Placemark><name>轨迹</name>'
            f'<gx:Track><gx:coord>118.9 29.1 0</gx:coord><gx:coord>118.91 29.11 0</gx:coord></gx:Track>'
            f'</Placemark></Document></kml>').encode("utf-8")


def test_kml_vertices_are_counted_before_the_kml_is_read(tmp_path, monkeypatch):
    # "lon, lat, alt" with spaces after the commas is one vertex, as geo.io.kml reads it
    coords = "\n".join(f"118.{i:04d}, 29.1, 0" for i in range(1000))
    data = _kml(coords)
    t = read_table(data, name="r.kml", limits=Limits(max_vertices=1002))
    assert shapely.get_num_coordinates(t.geometry.values).tolist() == [1000, 2]
    from geo.io import kml

    def never(*_a, **_k):
        raise AssertionError("the KML was read past the limit")

    monkeypatch.setattr(kml, "read_kml", never)
    with pytest.raises(LimitError) as err:
        read_table(data, name="r.kml", limits=Limits(max_vertices=1001))
    _bilingual(err.value, "至少 1,002 个顶点", "at least 1,002 vertices")
    kmz = io.BytesIO()
    with zipfile.ZipFile(kmz, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", data)
    with pytest.raises(LimitError, match="1,002 vertices"):
        read_table(kmz.getvalue(), name="r.kmz", limits=Limits(max_vertices=1001))
