"""Coordinates as bureaus type them: DMS spellings (geo.io.cells.parse_coord), split 度/分/秒 columns and
CGCS2000 Gauss–Krüger metres (geo.io.coords).

Expected values are computed here by hand (d + m/60 + s/3600) or by pyproj (projections, geodesic
distances), never by the code under test.
"""
from __future__ import annotations

import io

import numpy as np
import openpyxl
import pyproj
import pytest

from geo.errors import GeoError
from geo.io.cells import coord_problem, parse_coord
from geo.io.coords import (Projected, combine_dms, detect_projected, projected_rows, projected_to_lonlat,
                           split_dms_columns)
from geo.io.readers import read_table

# --- DMS spellings ------------------------------------------------------------------------------

#: (cell, degrees, minutes, seconds, sign)
SPELLINGS = [
    ("东经118度52分30秒", 118, 52, 30, 1),
    ("北纬28度58分", 28, 58, 0, 1),
    ("北纬 28 度 58 分 48 秒", 28, 58, 48, 1),
    ("东经119°1′36.6″", 119, 1, 36.6, 1),
    ("119°01'36.6\"", 119, 1, 36.6, 1),
    ("119°01’36.6”", 119, 1, 36.6, 1),
    ("119°01‘36.6“", 119, 1, 36.6, 1),
    ("119°01'36.6''", 119, 1, 36.6, 1),
    ("119°01′36.6′′", 119, 1, 36.6, 1),
    ("118-56-08.5", 118, 56, 8.5, 1),
    ("118 - 56 - 08.5", 118, 56, 8.5, 1),
    ("118–56–08.5", 118, 56, 8.5, 1),           # en dashes
    ("119.00.48.5", 119, 0, 48.5, 1),
    ("119.00.48", 119, 0, 48, 1),
    ("118:56:08.5", 118, 56, 8.5, 1),
    ("118：56：08.5", 118, 56, 8.5, 1),          # full-width colons
    ("118:56.5", 118, 56.5, 0, 1),              # GPS degrees:decimal minutes
    ("118 56 08.5", 118, 56, 8.5, 1),
    ("118° 52′ 30″", 118, 52, 30, 1),
    ("118 度 52 分 30 秒", 118, 52, 30, 1),
    ("东经 118°52′30″", 118, 52, 30, 1),
    ("东经：118°52′30″", 118, 52, 30, 1),
    ("E118°52'30\"", 118, 52, 30, 1),
    ("E 118°52'30\"", 118, 52, 30, 1),
    ("118°52'30\"E", 118, 52, 30, 1),
    ("118°52′30″ E", 118, 52, 30, 1),
    ("28°58'48\"N", 28, 58, 48, 1),
    ("N28°58'48\"", 28, 58, 48, 1),
    ("n28°58'48\"", 28, 58, 48, 1),
    ("１１８°５２′３０″", 118, 52, 30, 1),         # full-width digits
    ("１１８度５２分３０秒", 118, 52, 30, 1),
    ("１１８－５６－０８．５", 118, 56, 8.5, 1),
    ("118°52'30", 118, 52, 30, 1),               # the last mark left out
    ("118°52.5′", 118, 52.5, 0, 1),              # decimal minutes
    ("118º52'30\"", 118, 52, 30, 1),             # masculine ordinal typed for the degree sign
    ("118°", 118, 0, 0, 1),
    ("118.875°", 118.875, 0, 0, 1),
    ("118.875°E", 118.875, 0, 0, 1),
    ("E118.875", 118.875, 0, 0, 1),
    ("118.875E", 118.875, 0, 0, 1),
    ("北纬28.98", 28.98, 0, 0, 1),
    ("119.00", 119, 0, 0, 1),                    # one dot: a decimal number
    ("118.875", 118.875, 0, 0, 1),
    ("１１８．８７５", 118.875, 0, 0, 1),
    ("33°52′S", 33, 52, 0, -1),
    ("南纬33度52分", 33, 52, 0, -1),
    ("西经73°58′40″", 73, 58, 40, -1),
    ("W73-58-40", 73, 58, 40, -1),
]


@pytest.mark.parametrize("cell, d, m, s, sign", SPELLINGS)
def test_every_spelling_gives_the_hand_value(cell, d, m, s, sign):
    expected = sign * (d + m / 60 + s / 3600)
    assert parse_coord(cell) == pytest.approx(expected, abs=1e-9, rel=0)
    assert coord_problem(cell) is None


def test_numbers_pass_through_whatever_their_size():
    assert parse_coord(118.875) == 118.875
    assert parse_coord(np.float64(29.5)) == 29.5
    assert parse_coord(3245678.25) == 3245678.25     # metres are told apart by detect_projected
    assert parse_coord("40,512,345.6") == 40512345.6


#: (cell, a word the reason must contain)
BAD = [
    ("118°75′", "60"), ("118°52′60″", "60"), ("118-60-00", "60"), ("119.00.61.5", "60"), ("118:56:60", "60"),
    ("东经118度60分", "60"),
    ("东经", "not a coordinate"), ("abc", "not a coordinate"), ("118°30\"", "not a coordinate"),
    ("1.2.3.4.5", "not a coordinate"), ("118--56", "not a coordinate"), ("118 56", "not a coordinate"),
    ("2007.6.30", "not a coordinate"), ("118-56", "not a coordinate"),
    ("118.5°30′", "whole"), ("118°52.5′30″", "whole"),
    ("200°00′", "180"), ("N118°", "90"), ("E118°52′W", "hemisphere"),
    (True, "not a coordinate"), (float("inf"), "not a coordinate"), ("", "blank"), (None, "blank"),
]


@pytest.mark.parametrize("cell, word", BAD)
def test_bad_cells_give_none_and_a_bilingual_reason(cell, word):
    assert parse_coord(cell) is None
    reason = coord_problem(cell)
    assert reason is not None and word in reason
    zh, _, en = reason.partition(" / ")
    assert zh and en and any("\u4e00" <= ch <= "\u9fff" for ch in zh)


def test_reasons_name_the_fault():
    assert coord_problem("118°75′") == "分或秒不小于60 / minutes or seconds ≥ 60"
    assert coord_problem("东经") == "无法识别的经纬度写法 / not a coordinate"


# --- split degree / minute / second columns ------------------------------------------------------

@pytest.mark.parametrize("headers, lon, lat", [
    # 环统 form
    (["序号", "企业名称", "经度(度)", "经度(分)", "经度(秒)", "纬度(度)", "纬度(分)", "纬度(秒)"],
     ("经度(度)", "经度(分)", "经度(秒)"), ("纬度(度)", "纬度(分)", "纬度(秒)")),
    # full-width brackets and spaces
    (["名称", "经度（度）", "经度（分）", "经度（秒）", "纬度 （度）", "纬度 （分）", "纬度 （秒）"],
     ("经度（度）", "经度（分）", "经度（秒）"), ("纬度 （度）", "纬度 （分）", "纬度 （秒）")),
    # 污普 form
    (["单位名称", "行业代码", "地理位置经度(度)", "地理位置经度(分)", "地理位置经度(秒)",
      "地理位置纬度(度)", "地理位置纬度(分)", "地理位置纬度(秒)", "备注"],
     ("地理位置经度(度)", "地理位置经度(分)", "地理位置经度(秒)"),
     ("地理位置纬度(度)", "地理位置纬度(分)", "地理位置纬度(秒)")),
    # flattened two-level headers (a merged 经度 cell above 度/分/秒)
    (["名称", "经度/度", "经度/分", "经度/秒", "纬度/度", "纬度/分", "纬度/秒"],
     ("经度/度", "经度/分", "经度/秒"), ("纬度/度", "纬度/分", "纬度/秒")),
    (["名称", "地理坐标/经度/度", "地理坐标/经度/分", "地理坐标/经度/秒", "地理坐标/纬度/度",
      "地理坐标/纬度/分", "地理坐标/纬度/秒"],
     ("地理坐标/经度/度", "地理坐标/经度/分", "地理坐标/经度/秒"),
     ("地理坐标/纬度/度", "地理坐标/纬度/分", "地理坐标/纬度/秒")),
    # run-together, underscore and hemisphere spellings; columns in any order
    (["经度度", "经度分", "经度秒", "纬度度", "纬度分", "纬度秒"],
     ("经度度", "经度分", "经度秒"), ("纬度度", "纬度分", "纬度秒")),
    (["纬度_秒", "经度_度", "纬度_度", "经度_分", "经度_秒", "纬度_分"],
     ("经度_度", "经度_分", "经度_秒"), ("纬度_度", "纬度_分", "纬度_秒")),
    (["东经(度)", "东经(分)", "东经(秒)", "北纬(度)", "北纬(分)", "北纬(秒)"],
     ("东经(度)", "东经(分)", "东经(秒)"), ("北纬(度)", "北纬(分)", "北纬(秒)")),
    # unit marks instead of words; minutes only; degrees only
    (["经度(°)", "经度(′)", "经度(″)", "纬度(°)", "纬度(′)", "纬度(″)"],
     ("经度(°)", "经度(′)", "经度(″)"), ("纬度(°)", "纬度(′)", "纬度(″)")),
    (["经度(度)", "经度(分)", "纬度(度)", "纬度(分)"], ("经度(度)", "经度(分)", None), ("纬度(度)", "纬度(分)", None)),
    (["经度（度）", "纬度（度）"], ("经度（度）", None, None), ("纬度（度）", None, None)),
    (["lon_deg", "lon_min", "lon_sec", "lat_deg", "lat_min", "lat_sec"],
     ("lon_deg", "lon_min", "lon_sec"), ("lat_deg", "lat_min", "lat_sec")),
])
def test_split_headers_on_real_layouts(headers, lon, lat):
    assert split_dms_columns(headers) == {"lon": lon, "lat": lat}


def test_split_headers_prefers_a_group_with_both_axes():
    headers = ["排放口经度(度)", "排放口经度(分)", "地理位置经度(度)", "地理位置经度(分)", "地理位置纬度(度)",
               "地理位置纬度(分)"]
    assert split_dms_columns(headers) == {"lon": ("地理位置经度(度)", "地理位置经度(分)", None),
                                          "lat": ("地理位置纬度(度)", "地理位置纬度(分)", None)}


@pytest.mark.parametrize("headers", [
    ["名称", "经度", "纬度"], ["名称", "地址", "存栏量（头）"], ["经度(分)", "经度(秒)", "纬度(分)"],
    ["经度(度分秒)", "纬度(度分秒)"], [], ["度", "分", "秒"],
])
def test_no_split_columns_gives_an_empty_dict(headers):
    assert split_dms_columns(headers) == {}


def test_combine_dms_values_and_bad_rows():
    deg = np.array([119, "119", "１１９", 118.875, None, "", "x", 119, 119, -1, 119, 119.5, 119, 119, 119, None, 181,
                    True], dtype=object)
    minutes = np.array([0, "0", "０", None, None, "", 1, 60, 59, 0, -1, 30, 1.5, 1.5, "", 5, 0, 0], dtype=object)
    seconds = np.array([48.5, "48.5", "４８．５", None, None, " ", 2, 0, 59.999, 0, 0, 0, 30, None, 30, None, 0, 0],
                       dtype=object)
    values, bad = combine_dms(deg, minutes, seconds)
    expected = [119 + 48.5 / 3600, 119 + 48.5 / 3600, 119 + 48.5 / 3600, 118.875, np.nan, np.nan, np.nan, np.nan,
                119 + 59 / 60 + 59.999 / 3600, np.nan, np.nan, np.nan, np.nan, 119 + 1.5 / 60, 119 + 30 / 3600,
                np.nan, np.nan, np.nan]
    expected_bad = [False, False, False, False, False, False, True, True, False, True, True, True, True, False,
                    False, True, True, True]
    np.testing.assert_allclose(values, expected, atol=1e-12, rtol=0)
    assert bad.tolist() == expected_bad


def test_combine_dms_without_minute_or_second_columns():
    values, bad = combine_dms(["29.00833", 29, None], None, None)
    np.testing.assert_allclose(values, [29.00833, 29.0, np.nan], atol=1e-12)
    assert bad.tolist() == [False, False, False]
    values, bad = combine_dms([29, 29.5], [30, 30], None)
    np.testing.assert_allclose(values, [29.5, np.nan])
    assert bad.tolist() == [False, True]


def _one_row_files():
    headers = ["企业名称", "经度(度)", "经度(分)", "经度(秒)", "纬度(度)", "纬度(分)", "纬度(秒)"]
    row = ["沈家化工", 119, 0, 48.5, 29, 0, 30]
    csv_bytes = (",".join(headers) + "\n" + ",".join(map(str, row)) + "\n").encode("utf-8")
    wb = openpyxl.Workbook()
    wb.active.append(headers)
    wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return [("ledger.csv", csv_bytes), ("ledger.xlsx", buf.getvalue())]


@pytest.mark.parametrize("name, data", _one_row_files())
def test_zero_minutes_keep_the_seconds(name, data):
    """The 22.8 km case: 119 / 0 / 48.5 must not be read as 119.0."""
    table = read_table(data, name=name)
    cols = split_dms_columns(list(table.frame.columns))
    assert cols == {"lon": ("经度(度)", "经度(分)", "经度(秒)"), "lat": ("纬度(度)", "纬度(分)", "纬度(秒)")}
    lon, lon_bad = combine_dms(*(table.frame[c].to_numpy() for c in cols["lon"]))
    lat, lat_bad = combine_dms(*(table.frame[c].to_numpy() for c in cols["lat"]))
    assert not lon_bad.any() and not lat_bad.any()
    assert lon[0] == pytest.approx(119 + 48.5 / 3600, abs=1e-9)   # 119.013472…
    assert lat[0] == pytest.approx(29 + 30 / 3600, abs=1e-9)      # 29.008333…
    off_m = pyproj.Geod(ellps="GRS80").inv(lon[0], lat[0], 119.0, 29.0)[2]
    assert off_m > 1000   # what reading 119.0 / 29.0 would have cost


# --- Gauss–Krüger metres -----------------------------------------------------------------------

QUJIANG = (118.5, 28.5, 119.4, 29.4)
GEOD = pyproj.Geod(ellps="GRS80")


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(20070630)
    return rng.uniform(118.6, 119.2, 60), rng.uniform(28.6, 29.3, 60)


def _project(points, epsg):
    """(northing X, easting Y) of the points in ``epsg``, by pyproj."""
    lon, lat = points
    east, north = pyproj.Transformer.from_crs(4490, epsg, always_xy=True).transform(lon, lat)
    return north, east


def _assert_round_trip(points, a, b, projected):
    lon, lat = projected_to_lonlat(a, b, projected)
    dist = GEOD.inv(points[0], points[1], lon, lat)[2]
    assert np.all(np.isfinite(dist)) and dist.max() < 0.01


@pytest.mark.parametrize("epsg, expect_epsg, width, zone, cm, prefixed", [
    (4528, 4528, 3, 40, 120, True),    # 3° zone 40, with the prefix
    (4549, 4549, 3, 40, 120, False),   # its CM-named twin
    (4498, 4498, 6, 20, 117, True),    # 6° zone 20, with the prefix
    # 6° CM 117E without prefix is the same projection as 3° CM 117E (EPSG:4548): the 3° code is reported
    (4509, 4548, 3, 39, 117, False),
])
@pytest.mark.parametrize("swap", [False, True])
def test_detects_the_zone_and_round_trips(points, epsg, expect_epsg, width, zone, cm, prefixed, swap):
    north, east = _project(points, epsg)
    a, b = (east, north) if swap else (north, east)
    p = detect_projected(a, b, area_lonlat=QUJIANG)
    assert isinstance(p, Projected)
    assert (p.epsg, p.swapped, p.zone_width, p.zone, p.central_meridian, p.prefixed) == (
        expect_epsg, swap, width, zone, cm, prefixed)
    assert f"EPSG:{expect_epsg}" in p.label and f"中央经线{cm}°" in p.label
    _assert_round_trip(points, a, b, p)


def test_the_reported_twin_is_the_same_projection():
    ops = [{q.name: q.value for q in pyproj.CRS.from_epsg(c).coordinate_operation.params} for c in (4509, 4548)]
    assert ops[0] == ops[1]


@pytest.mark.parametrize("epsg, zone_prefix, plain_epsg", [(4528, 40, 4549), (4498, 20, 4548)])
def test_prefix_removed_by_hand_needs_the_district_box(points, epsg, zone_prefix, plain_epsg):
    north, east = _project(points, epsg)
    plain = east - zone_prefix * 1e6
    p = detect_projected(north, plain, area_lonlat=QUJIANG)
    assert (p.epsg, p.prefixed) == (plain_epsg, False)
    _assert_round_trip(points, north, plain, p)
    p = detect_projected(north, east)          # the prefix alone decides; no box needed
    assert (p.epsg, p.prefixed) == (epsg, True)


def test_label_is_chinese_and_names_everything(points):
    p = detect_projected(*_project(points, 4528))
    assert p.label == "CGCS2000 高斯-克吕格 3度带 第40带（中央经线120°，坐标含带号，EPSG:4528）"


@pytest.mark.parametrize("area", [
    (115.0, 28.5, 122.5, 29.4),   # a province-wide box: CM 117°, 120° and 123° all land inside
    (100.0, 25.0, 101.0, 26.0),   # nowhere near: no CM fits
    (118.5, 35.0, 119.4, 36.0),   # right longitudes, wrong latitudes
    None,                         # no box, no prefix: cannot tell
])
def test_unprefixed_without_a_single_fit_asks_for_the_zone(points, area):
    north, east = _project(points, 4549)
    with pytest.raises(GeoError) as err:
        detect_projected(north, east, area_lonlat=area)
    assert "带号" in err.value.zh and "zone" in err.value.en


def test_one_stray_point_does_not_block_the_choice(points):
    north, east = _project(points, 4549)
    north = north.copy()
    north[7] += 400_000.0   # a typo: 400 km north, outside the district with every central meridian
    p = detect_projected(north, east, area_lonlat=QUJIANG)
    assert p.epsg == 4549
    lon, lat = projected_to_lonlat(north, east, p)
    assert lat[7] > QUJIANG[3] + 3      # converted, left for the importer's outside-the-district check


def test_degree_columns_are_not_projected(points):
    lon, lat = points
    assert detect_projected(lon, lat, area_lonlat=QUJIANG) is None
    assert detect_projected(lat, lon) is None
    assert detect_projected(lon, lat, zone="3:40") is None
    assert detect_projected([np.nan], [np.nan]) is None


@pytest.mark.parametrize("case", ["prefix and no prefix", "zones 39 and 40", "degrees and metres", "both orders"])
def test_mixed_rows_are_refused(points, case):
    north, east = _project(points, 4528)
    n39, e39 = _project(points, 4527)
    lon, lat = points
    a, b = {
        "prefix and no prefix": (north, np.where(np.arange(north.size) < 5, east - 40e6, east)),
        "zones 39 and 40": (np.r_[north[:30], n39[30:]], np.r_[east[:30], e39[30:]]),
        "degrees and metres": (np.r_[north[:30], lat[30:]], np.r_[east[:30], lon[30:]]),
        "both orders": (np.r_[north[:30], east[30:]], np.r_[east[:30], north[30:]]),
    }[case]
    with pytest.raises(GeoError):
        detect_projected(a, b, area_lonlat=QUJIANG)


def test_rows_that_fit_nothing_come_back_nan(points):
    north, east = _project(points, 4528)
    a, b = north.copy(), east.copy()
    b[3] = 24_500_000.0     # zone 24 is neither a 6° nor a 3° zone
    a[4], b[4] = 0.0, 0.0   # a placeholder
    a[5] = np.nan           # a blank cell
    b[6] = 40_950_000.0     # easting outside 100–900 km after the prefix
    p = detect_projected(a, b, area_lonlat=QUJIANG)
    assert p.epsg == 4528
    assert projected_rows(a, b, p).tolist() == [i not in (3, 4, 5, 6) for i in range(a.size)]
    lon, lat = projected_to_lonlat(a, b, p)
    assert np.isnan(lon[[3, 4, 5, 6]]).all() and np.isnan(lat[[3, 4, 5, 6]]).all()
    keep = np.isfinite(lon)
    assert GEOD.inv(points[0][keep], points[1][keep], lon[keep], lat[keep])[2].max() < 0.01


@pytest.mark.parametrize("zone, source, epsg, width, number", [
    ("3:40", 4549, 4549, 3, 40), ("cm:120", 4549, 4549, 3, 40), ("CM:120", 4549, 4549, 3, 40),
    ("cm120", 4549, 4549, 3, 40), ("３：４０", 4549, 4549, 3, 40), ("3:39", 4548, 4548, 3, 39),
    ("cm:117", 4509, 4548, 3, 39), ("6:20", 4509, 4509, 6, 20),
])
def test_zone_override_without_prefix(points, zone, source, epsg, width, number):
    north, east = _project(points, source)
    p = detect_projected(north, east, zone=zone)   # no box needed once the zone is given
    assert (p.epsg, p.zone_width, p.zone, p.prefixed) == (epsg, width, number, False)
    _assert_round_trip(points, north, east, p)


def test_zone_override_must_agree_with_the_prefix(points):
    north, east = _project(points, 4528)
    assert detect_projected(north, east, zone="3:40").epsg == 4528
    assert detect_projected(north, east, zone="cm:120").epsg == 4528
    for wrong in ("3:39", "6:20", "cm:117", "cm:123"):
        with pytest.raises(GeoError):
            detect_projected(north, east, zone=wrong)
    n6, e6 = _project(points, 4498)
    assert detect_projected(n6, e6, zone="cm:117").epsg == 4498
    assert detect_projected(n6, e6, zone="6:20").epsg == 4498
    with pytest.raises(GeoError):
        detect_projected(n6, e6, zone="3:39")   # same CM, but the prefix 20 says 6°


@pytest.mark.parametrize("zone", ["3:24", "3:46", "6:12", "6:24", "6:40", "cm:118", "cm:72", "cm:138", "40", "abc",
                                  "", "3-40", "3:", ":40", "cm:"])
def test_bad_zone_strings_are_refused(points, zone):
    with pytest.raises(GeoError):
        detect_projected(*points, zone=zone)     # refused even before the data are looked at


def _tm_params(epsg: int) -> dict:
    crs = pyproj.CRS.from_epsg(epsg)
    assert crs.geodetic_crs.to_epsg() == 4490 and crs.coordinate_operation.method_name == "Transverse Mercator"
    return {q.name: q.value for q in crs.coordinate_operation.params}


@pytest.mark.parametrize("width, zones", [(6, range(13, 24)), (3, range(25, 46))])
def test_every_prefixed_zone_maps_to_pyprojs_code(width, zones):
    for z in zones:
        cm = 6 * z - 3 if width == 6 else 3 * z
        p = detect_projected([3.2e6], [z * 1e6 + 500_000.0])
        assert (p.zone_width, p.zone, p.central_meridian, p.prefixed) == (width, z, cm, True)
        name = pyproj.CRS.from_epsg(p.epsg).name
        assert name == (f"CGCS2000 / Gauss-Kruger zone {z}" if width == 6 else
                        f"CGCS2000 / 3-degree Gauss-Kruger zone {z}")
        params = _tm_params(p.epsg)
        assert params["Longitude of natural origin"] == cm
        assert params["False easting"] == z * 1e6 + 500_000
        assert params["Scale factor at natural origin"] == 1


@pytest.mark.parametrize("width, zones", [(6, range(13, 24)), (3, range(25, 46))])
def test_every_cm_named_zone_maps_to_pyprojs_code(width, zones):
    for z in zones:
        cm = 6 * z - 3 if width == 6 else 3 * z
        p = detect_projected([3.2e6], [500_000.0], zone=f"{width}:{z}")
        assert (p.zone_width, p.zone, p.central_meridian, p.prefixed) == (width, z, cm, False)
        name = pyproj.CRS.from_epsg(p.epsg).name
        assert name == (f"CGCS2000 / Gauss-Kruger CM {cm}E" if width == 6 else
                        f"CGCS2000 / 3-degree Gauss-Kruger CM {cm}E")
        params = _tm_params(p.epsg)
        assert params["Longitude of natural origin"] == cm and params["False easting"] == 500_000
