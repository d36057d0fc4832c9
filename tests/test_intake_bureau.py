"""Ledgers as bureaus make them: no silent datum, Gauss–Krüger metres, 度/分/秒, 序号 keys, good rows only, --map.

Every stored coordinate is measured against an independent conversion (pyproj's own projection of the
true points, or the published GCJ-02 algorithm of :mod:`geo.crs` checked in tests/test_crs.py), never
against the code's own output.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import numpy as np
import openpyxl
import pyproj
import pytest
import shapely

from geo import intake
from geo.__main__ import main as geo_main
from geo.crs import wgs84_to_gcj02
from geo.store import DEMO_STORE, open_store

NOW = dt.datetime(2007, 7, 2, 9, 30)
TODAY = dt.date(2007, 7, 2)
GEOD = pyproj.Geod(ellps="WGS84")
HEADER = ["编号", "企业名称", "经度", "纬度", "所属乡镇", "行业", "状态"]


@pytest.fixture
def store_path(tmp_path):
    p = tmp_path / "store.gpkg"
    shutil.copyfile(DEMO_STORE, p)
    return p


@pytest.fixture
def store(store_path):
    return open_store(store_path)


def xlsx(path, rows, header=HEADER, title=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def run(store, path, layer="enterprises", **kw):
    kw.setdefault("user", "测试员")
    return intake.import_file(store, layer, path, now=NOW, today=TODAY, **kw)


def metres(lon1, lat1, lon2, lat2):
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def true_points(store, n=6):
    """Points inside the district's townships (the demo's), with the township each lies in."""
    tw = store.read("townships")
    out = []
    for _, t in tw.head(n).iterrows():
        p = t.geometry.representative_point()
        out.append((p.x, p.y, t["name"]))
    return out


# --- no silent datum ----------------------------------------------------------------------

def test_a_gcj02_ledger_without_a_datum_writes_nothing_and_says_why(tmp_path, store):
    pts = true_points(store)
    gx, gy = wgs84_to_gcj02(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    rows = [[f"G{i}", f"高德厂{i}", round(float(gx[i]), 6), round(float(gy[i]), 6), pts[i][2], "化工", "在产"]
            for i in range(len(pts))]
    f = xlsx(tmp_path / "amap.xlsx", rows)
    before = len(store.read("enterprises"))
    res = run(store, f)
    assert not res.ok
    why = [p for p in res.errors if p.row is None]
    assert len(why) == 1 and "未指定坐标系" in why[0].why_zh and "GCJ-02" in why[0].why_zh
    assert "no datum stated" in why[0].why
    assert len(store.read("enterprises")) == before  # nothing written
    # chosen as GCJ-02 it is written on the true places (the published inverse, within 5 cm)
    res = run(store, f, datum="gcj02")
    assert res.ok, res.report()
    got = store.read("enterprises").set_index("id").loc[[f"G{i}" for i in range(len(pts))]]
    d = metres(shapely.get_x(got.geometry.values), shapely.get_y(got.geometry.values),
               [p[0] for p in pts], [p[1] for p in pts])
    assert d.max() < 0.05


def test_a_datum_the_stored_sites_contradict_is_refused_until_confirmed(tmp_path, store):
    stored = store.read("enterprises").head(8)
    gx, gy = wgs84_to_gcj02(shapely.get_x(stored.geometry.values), shapely.get_y(stored.geometry.values))
    rows = [[r.id, r.name, round(float(gx[i]), 7), round(float(gy[i]), 7), None, r.industry, None]
            for i, r in enumerate(stored.itertuples())]
    f = xlsx(tmp_path / "again.xlsx", rows)
    res = run(store, f, datum="wgs84", update_existing=True)
    assert not res.ok
    msg = [p for p in res.errors if p.row is None][0]
    assert "与数据不符" in msg.why_zh and "GCJ-02" in msg.why_zh and "--confirm-datum" in msg.why_zh
    assert "8/8" in msg.why_zh and res.suggested_datum == "gcj02"
    # read as GCJ-02 the ledger repeats the stored sites: nothing to change
    again = run(store, f, datum="gcj02", dry_run=True)
    assert again.ok and len(again.unchanged_ids) == 8 and not again.updated_ids
    # confirmed as WGS84 (the user insists), the import goes ahead and moves them
    forced = run(store, f, datum="wgs84", update_existing=True, confirm_datum=True, dry_run=True)
    assert forced.ok and len(forced.updated_ids) == 8


def test_a_status_only_ledger_needs_no_datum(tmp_path, store):
    stored = store.read("kilns").head(3)
    f = xlsx(tmp_path / "s.xlsx", [[r.id, "关停"] for r in stored.itertuples()], header=["编号", "状态"])
    res = run(store, f, layer="kilns", dry_run=True, update_existing=True)
    assert res.ok, res.report()


def test_geojson_declares_its_crs(tmp_path, store):
    p = tmp_path / "l.geojson"
    x, y, tw = true_points(store, 1)[0]
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
        "properties": {"编号": "J1", "企业名称": "甲厂", "行业": "化工", "状态": "在产"}}]}), encoding="utf-8")
    assert run(store, p, dry_run=True).ok


# --- Gauss–Krüger metres --------------------------------------------------------------------

@pytest.mark.parametrize("epsg, swapped", [(4528, False), (4528, True), (4549, False), (4549, True),
                                           (4498, False), (4509, True)])
def test_gauss_krueger_metres_are_found_and_converted_within_a_centimetre(tmp_path, store, epsg, swapped):
    pts = true_points(store)
    lon = np.array([p[0] for p in pts])
    lat = np.array([p[1] for p in pts])
    # pyproj's own projection of the true points: the surveyor's X (northing) and Y (easting)
    e, n = pyproj.Transformer.from_crs(4490, epsg, always_xy=True).transform(lon, lat)
    first, second = (e, n) if swapped else (n, e)
    rows = [[f"K{i}", f"测绘厂{i}", round(float(first[i]), 3), round(float(second[i]), 3), pts[i][2], "化工", "在产"]
            for i in range(len(pts))]
    f = xlsx(tmp_path / "gk.xlsx", rows, header=["编号", "企业名称", "X坐标", "Y坐标", "所属乡镇", "行业", "状态"])
    res = run(store, f)  # no datum: Gauss–Krüger metres are CGCS2000
    assert res.ok, res.report()
    note = [p for p in res.warnings if "高斯" in p.why_zh]
    found = int(re.search(r"EPSG:(\d+)", note[0].why_zh).group(1))
    # the zone named is the one the points were projected in (3° and 6° zones on one meridian are one projection)
    assert pyproj.CRS(found).to_dict() == pyproj.CRS(epsg).to_dict()
    got = store.read("enterprises").set_index("id").loc[[f"K{i}" for i in range(len(pts))]]
    d = metres(shapely.get_x(got.geometry.values), shapely.get_y(got.geometry.values), lon, lat)
    assert d.max() <= 0.01, d
    ev = store.read("status_events")
    assert "高斯" in ev[ev["feature_id"] == "K0"]["note"].iloc[0]


def test_gauss_krueger_metres_cannot_be_read_as_gcj02(tmp_path, store):
    x, y, tw = true_points(store, 1)[0]
    e, n = pyproj.Transformer.from_crs(4490, 4528, always_xy=True).transform(x, y)
    f = xlsx(tmp_path / "gk.xlsx", [["K9", "厂", n, e, tw, "化工", "在产"]],
             header=["编号", "企业名称", "X", "Y", "所属乡镇", "行业", "状态"])
    res = run(store, f, datum="gcj02")
    assert not res.ok and any("CGCS2000" in p.why_zh for p in res.errors)


# --- 度/分/秒 and DMS spellings ---------------------------------------------------------------

def _dms(v: float) -> tuple[int, int, float]:
    d = int(v)
    m = int((v - d) * 60)
    s = round(((v - d) * 60 - m) * 60, 2)
    return d, m, s


def test_split_dms_columns_are_read_whole(tmp_path, store):
    """环统/污普 forms: 经度(度)/经度(分)/经度(秒); reading the degrees alone put a point 22.8 km off."""
    x, y, tw = true_points(store, 1)[0]
    (ld, lm, ls), (bd, bm, bs) = _dms(x), _dms(y)
    header = ["编号", "企业名称", "经度(度)", "经度(分)", "经度(秒)", "纬度(度)", "纬度(分)", "纬度(秒)", "行业", "状态"]
    f = xlsx(tmp_path / "dms.xlsx", [["D1", "度分秒厂", ld, lm, ls, bd, bm, bs, "化工", "在产"]], header=header)
    res = run(store, f, datum="cgcs2000")
    assert res.ok, res.report()
    assert not [p for p in res.warnings if "未识别" in p.why_zh]  # 分 and 秒 are read, not ignored
    pt = store.read("enterprises").set_index("id").loc["D1"].geometry
    want = (ld + lm / 60 + ls / 3600, bd + bm / 60 + bs / 3600)
    assert metres(pt.x, pt.y, *want) < 0.01


def test_split_dms_with_minutes_out_of_range_is_an_error_of_its_row(tmp_path, store):
    header = ["编号", "企业名称", "经度(度)", "经度(分)", "经度(秒)", "纬度(度)", "纬度(分)", "纬度(秒)", "行业", "状态"]
    f = xlsx(tmp_path / "dms.xlsx", [["D2", "厂", 118, 61, 0, 28, 58, 0, "化工", "在产"]], header=header)
    res = run(store, f, datum="wgs84")
    assert not res.ok and [p.row for p in res.errors] == [2]


@pytest.mark.parametrize("lon_text, lat_text", [
    ("东经118度57分36秒", "北纬29度1分12秒"), ("东经118°57′36″", "北纬29°01′12″"),
    ("118°57’36”", "29°01’12”"), ("118-57-36", "29-01-12"), ("118.57.36", "29.01.12"),
])
def test_dms_spellings_in_a_ledger(tmp_path, store, lon_text, lat_text):
    f = xlsx(tmp_path / "l.xlsx", [["S1", "写法厂", lon_text, lat_text, None, "化工", "在产"]])
    res = run(store, f, datum="wgs84")
    assert res.ok, res.report()
    pt = store.read("enterprises").set_index("id").loc["S1"].geometry
    assert metres(pt.x, pt.y, 118 + 57 / 60 + 36 / 3600, 29 + 1 / 60 + 12 / 3600) < 0.01


def test_a_coordinate_that_is_no_coordinate_says_why(tmp_path, store):
    f = xlsx(tmp_path / "l.xlsx", [["S2", "厂", "118度75分", "28.9", None, "化工", "在产"]])
    res = run(store, f, datum="wgs84")
    assert not res.ok
    assert [p.row for p in res.errors] == [2] and "118度75分" in res.errors[0].why_zh


# --- 序号 as the only key -------------------------------------------------------------------

def test_a_ledger_keyed_by_serial_numbers_gets_stable_ids(tmp_path, store):
    pts = true_points(store, 3)
    rows = [[i + 1, f"序号厂{i}", pts[i][0], pts[i][1], pts[i][2], "化工", "在产"] for i in range(3)]
    header = ["序号", "企业名称", "经度", "纬度", "所属乡镇", "行业", "状态"]
    f = xlsx(tmp_path / "seq.xlsx", rows, header=header)
    res = run(store, f, datum="wgs84")
    assert res.ok, res.report()
    made = sorted(res.new_ids)
    assert len(made) == 3 and all(i.startswith("QY-") for i in made)
    assert len([p for p in res.warnings if "台账无编号列" in p.why_zh]) == 3
    # next month's ledger, renumbered and reordered: the same sites, unchanged
    rows2 = [[9 - i, *r[1:]] for i, r in enumerate(reversed(rows))]
    again = run(store, xlsx(tmp_path / "seq2.xlsx", rows2, header=header), datum="wgs84", dry_run=True)
    assert again.ok and sorted(again.unchanged_ids) == made and not again.new_ids


def test_a_serial_number_ledger_matches_stored_sites_by_name_and_township(tmp_path, store):
    stored = store.read("kilns").head(2)
    from geo.spatial import with_township

    stored = with_township(stored, store.read("townships"))
    rows = [[i + 1, r.name, r.township, "关停"] for i, r in enumerate(stored.itertuples())]
    f = xlsx(tmp_path / "k.xlsx", rows, header=["序号", "名称", "所属乡镇", "整治状态"])
    res = run(store, f, layer="kilns", dry_run=True, update_existing=True)
    assert res.ok, res.report()
    assert set(res.updated_ids) | set(res.unchanged_ids) == set(stored["id"])


# --- good rows only ---------------------------------------------------------------------------

def test_good_rows_only_writes_the_good_rows_and_lists_the_others(tmp_path, store):
    pts = true_points(store, 4)
    rows = [[f"R{i}", f"行厂{i}", pts[i][0], pts[i][1], pts[i][2], "化工", "在产"] for i in range(4)]
    rows[1][6] = "火星状态"
    rows[3][2] = "不是经度"
    f = xlsx(tmp_path / "some.xlsx", rows)
    whole = run(store, f, datum="wgs84")
    assert not whole.ok and whole.error_rows == [3, 5]
    assert not store.read("enterprises", where={"id": ["R0", "R2"]}).shape[0]
    part = run(store, f, datum="wgs84", skip_bad_rows=True)
    assert part.ok, part.report()
    assert sorted(part.new_ids) == ["R0", "R2"] and part.skipped_rows == [3, 5]
    assert sorted({p.row for p in part.skipped}) == [3, 5]
    assert "跳过有错误的行 2 行" in part.summary()
    assert sorted(store.read("enterprises", where={"id": ["R0", "R1", "R2", "R3"]})["id"]) == ["R0", "R2"]


def test_good_rows_only_never_skips_a_wrong_file(tmp_path, store):
    f = xlsx(tmp_path / "nodatum.xlsx", [["R9", "厂", 118.9, 28.9, None, "化工", "在产"]])
    res = run(store, f, skip_bad_rows=True)  # no datum: a finding about the whole file
    assert not res.ok and not res.skipped_rows


# --- the command line: --map, --skip-bad-rows, no default datum -------------------------------

def test_cli_maps_census_field_names_and_needs_a_datum(tmp_path, store_path, capsys):
    s = open_store(store_path)
    pts = true_points(s, 2)
    header = ["养殖场(小区)编码", "养殖场(小区)名称", "乡(镇)", "地理位置经度", "地理位置纬度", "畜禽种类", "存栏量", "整治状态"]
    rows = [[f"PW{i}", f"污普场{i}", pts[i][2], pts[i][0], pts[i][1], "生猪", 600, "在养"] for i in range(2)]
    f = xlsx(tmp_path / "wp.xlsx", rows, header=header)
    base = ["import", "--store", str(store_path), "--layer", "farms", "--file", str(f), "--user", "admin"]
    spec = "养殖场(小区)编码=id,养殖场(小区)名称=名称,乡(镇)=township,地理位置经度=lon,地理位置纬度=lat,畜禽种类=species"
    assert geo_main([*base, "--map", spec]) == 1  # no --crs
    first = capsys.readouterr()
    assert "未指定坐标系" in first.out and "未写入任何数据" in first.err
    assert open_store(store_path).read("farms", where={"id": ["PW0"]}).empty
    assert geo_main([*base, "--map", spec, "--crs", "wgs84", "--dry-run"]) == 0
    mapfile = tmp_path / "列对应.json"
    mapfile.write_text(json.dumps(intake.ledger.parse_mapping(spec, "farms"), ensure_ascii=False), encoding="utf-8")
    assert geo_main([*base, "--map-file", str(mapfile), "--crs", "wgs84"]) == 0
    got = open_store(store_path).read("farms", where={"id": ["PW0", "PW1"]})
    assert sorted(got["id"]) == ["PW0", "PW1"] and set(got["head_count"]) == {600}


def test_mapping_spec_refuses_unknown_fields():
    from geo.errors import GeoError

    with pytest.raises(GeoError, match="not a field"):
        intake.ledger.parse_mapping("编码=门牌号", "farms")
    assert intake.ledger.parse_mapping("BH=id, MC=名称，XZ=乡镇", "kilns") == {"BH": "id", "MC": "name",
                                                                          "XZ": "township"}


def test_cli_skip_bad_rows(tmp_path, store_path, capsys):
    s = open_store(store_path)
    pts = true_points(s, 2)
    rows = [["C0", "好厂", pts[0][0], pts[0][1], pts[0][2], "化工", "在产"],
            ["C1", "坏厂", "abc", pts[1][1], pts[1][2], "化工", "在产"]]
    f = xlsx(tmp_path / "c.xlsx", rows)
    base = ["import", "--store", str(store_path), "--layer", "enterprises", "--file", str(f), "--user", "admin",
            "--crs", "wgs84"]
    assert geo_main(base) == 1
    assert geo_main([*base, "--skip-bad-rows"]) == 0
    out = capsys.readouterr().out
    assert "3\tC1" in out and "skipped" in out
    assert sorted(open_store(store_path).read("enterprises", where={"id": ["C0", "C1"]})["id"]) == ["C0"]


# --- ledgers as townships make them: title, merged headers, 合计, merged cells, .xls, KML/KMZ/GPX -----

def _township_ledger(path, store, kilns):
    """上方镇's kiln ledger as typed: a title, a two-level merged header, merged 整治状态, a 合计 row, a footer."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["上方镇石灰窑整治台账"])
    ws.merge_cells("A1:G1")
    ws.append(["填报单位：上方镇人民政府", None, None, None, "填报日期：2007年6月30日"])
    ws.append(["序号", "名称", "所在村", "地理坐标", None, "类型", "整治状态"])
    ws.merge_cells("D3:E3")
    ws.append([None, None, None, "经度", "纬度", None, None])
    for c in ("A", "B", "C", "F", "G"):
        ws.merge_cells(f"{c}3:{c}4")
    first = ws.max_row + 1
    for i, (x, y) in enumerate(kilns):
        ws.append([i + 1, f"台账窑{i}", "石塔村", round(x, 6), round(y, 6), "窑", "已关停" if i == 0 else None])
    ws.merge_cells(f"G{first}:G{first + len(kilns) - 1}")  # one status for the whole village group
    ws.append([None, None, None, None, None, None, None])
    ws.append(["合计", None, None, None, None, None, f"{len(kilns)}座"])
    ws.append(["填表人：张三", None, None, "审核人：李四"])
    wb.save(path)
    return path, first


def _kiln_points(store, n=3):
    tw = store.read("townships")
    poly = tw[tw["name"] == "上方镇"].geometry.iloc[0]
    c = poly.representative_point()
    return [(c.x + 0.001 * i, c.y) for i in range(n)]


def test_a_township_ledger_with_title_merged_header_total_and_merged_status(tmp_path, store):
    pts = _kiln_points(store)
    f, first = _township_ledger(tmp_path / "上方镇.xlsx", store, pts)
    res = run(store, f, layer="kilns", datum="cgcs2000")
    assert res.ok, res.report()
    assert len(res.new_ids) == 3
    kilns = store.read("kilns").set_index("name").loc[[f"台账窑{i}" for i in range(3)]]
    assert set(kilns["status"]) == {"closed"}  # the merged 整治状态 cell covers every row of the group
    assert np.allclose(shapely.get_x(kilns.geometry.values), [round(p[0], 6) for p in pts], atol=1e-9)
    left = {p.row: p.why_zh for p in res.warnings if p.why_zh.startswith("已跳过")}
    assert first + 4 in left and "合计" in left[first + 4]  # the 合计 row, named by its row number
    assert any("合并单元格" in p.why_zh for p in res.warnings)
    shown = " ".join(str(p) for p in res.problems)
    assert "nan" not in shown and "None" not in shown  # blank cells are never quoted as codes


def test_an_old_xls_ledger(tmp_path, store):
    import xlwt  # test-only: writes the BIFF8 files bureaus still send
    pts = true_points(store, 2)
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("台账")
    for j, h in enumerate(HEADER):
        ws.write(0, j, h)
    for i, (x, y, tw) in enumerate(pts):
        for j, v in enumerate([f"X{i}", f"旧表厂{i}", x, y, tw, "化工", "在产"]):
            ws.write(i + 1, j, v)
    f = tmp_path / "old.xls"
    wb.save(str(f))
    res = run(store, f, datum="wgs84")
    assert res.ok, res.report()
    got = store.read("enterprises").set_index("id").loc[["X0", "X1"]]
    assert metres(shapely.get_x(got.geometry.values), shapely.get_y(got.geometry.values),
                  [p[0] for p in pts], [p[1] for p in pts]).max() < 0.01


def _kml(points) -> str:
    marks = "".join(f"<Placemark><name>奥维厂{i}</name><ExtendedData><Data name=\"行业\"><value>化工</value></Data>"
                    f"<Data name=\"状态\"><value>在产</value></Data></ExtendedData>"
                    f"<Point><coordinates>{x:.7f},{y:.7f},0</coordinates></Point></Placemark>"
                    for i, (x, y) in enumerate(points))
    return (f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f"<Folder><name>巡查点</name>{marks}</Folder></Document></kml>")


def test_kml_and_kmz_placemarks_from_ovi_are_gcj02_and_need_the_choice(tmp_path, store):
    import zipfile

    pts = true_points(store, 3)
    gx, gy = wgs84_to_gcj02(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    f = tmp_path / "奥维.kml"
    f.write_text(_kml(list(zip(gx, gy))), encoding="utf-8")
    refused = run(store, f)
    assert not refused.ok and any("KML/GPX" in p.why_zh for p in refused.errors)
    kmz = tmp_path / "奥维.kmz"
    with zipfile.ZipFile(kmz, "w") as z:
        z.writestr("doc.kml", _kml(list(zip(gx, gy))))
    res = run(store, kmz, datum="gcj02")
    assert res.ok, res.report()
    got = store.read("enterprises").set_index("name").loc[[f"奥维厂{i}" for i in range(3)]]
    d = metres(shapely.get_x(got.geometry.values), shapely.get_y(got.geometry.values),
               [p[0] for p in pts], [p[1] for p in pts])
    assert d.max() < 0.05 and set(got["industry"]) == {"化工"}


def test_gpx_waypoints_as_a_ledger(tmp_path, store):
    pts = true_points(store, 2)
    wpts = "".join(f'<wpt lat="{y:.7f}" lon="{x:.7f}"><name>两步路点{i}</name></wpt>' for i, (x, y, _) in enumerate(pts))
    f = tmp_path / "两步路.gpx"
    f.write_text(f'<?xml version="1.0"?><gpx version="1.1" creator="两步路" '
                 f'xmlns="http://www.topografix.com/GPX/1/1">{wpts}</gpx>', encoding="utf-8")
    mapping = {"名称": "name"}
    res = run(store, f, layer="farms", datum="wgs84", dry_run=True, mapping=mapping)
    # farms need a species and a status: the report says so per row, with the row numbers of the file
    assert [p.row for p in res.errors if p.column in ("状态", "畜种", "status", "species")]
    assert all(p.row in (1, 2) for p in res.errors if p.row is not None)
