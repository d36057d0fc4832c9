"""Outfalls judged against GB 8978-1996 (or their permit), never against GB 3838 classes."""
from __future__ import annotations

import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import check, discharge, water
from geo.errors import GeoError


def _one(parameter, value, grade=1, permit=None, below=None):
    return discharge.judge([parameter], [value], grade, permit, None if below is None else [below]).iloc[0]


# --- the standard as data ----------------------------------------------------------------------

def test_table_values_from_the_standard():
    """Spot values of Table 1 and Table 4 (其他排污单位 rows), as printed in GB 8978-1996."""
    s = discharge.STANDARD
    # Table 1: first-class pollutants, one limit whatever the grade
    for code, lim in {"Hg": 0.05, "Cd": 0.1, "Cr": 1.5, "Cr6": 0.5, "As": 0.5, "Pb": 1.0, "Ni": 1.0,
                      "BaP": 0.00003, "Be": 0.005, "Ag": 0.5}.items():
        assert s[code].table == 1 and s[code].grades == (lim, lim, lim), code
    # Table 4: grades 一级 / 二级 / 三级 (None = "—" in the standard)
    expected = {"COD": (100, 150, 500), "BOD5": (20, 30, 300), "NH3-N": (15, 25, None), "OIL": (5, 10, 20),
                "VP": (0.5, 0.5, 2.0), "CN": (0.5, 0.5, 1.0), "S2": (1.0, 1.0, 1.0), "LAS": (5, 10, 20),
                "Cu": (0.5, 1.0, 2.0), "Zn": (2.0, 5.0, 5.0), "F": (10, 10, 20), "TP": (0.5, 1.0, None),
                "SS": (70, 150, 400), "Mn": (2.0, 2.0, 5.0)}
    for code, lims in expected.items():
        assert s[code].table == 4 and s[code].grades == lims, code
    assert (s["pH"].low, s["pH"].high) == (6.0, 9.0)
    # every row cites its table and item
    raw = tomllib.loads(discharge.TABLE_PATH.read_text(encoding="utf-8"))
    assert all("item" in r for r in raw["table1"] + raw["table4"])
    assert s["COD"].cite(2) == "GB 8978-1996 表4 第5项（其他排污单位）二级"
    assert s["Hg"].cite(3) == "GB 8978-1996 表1 第1项"


def test_discharge_codes_are_accepted_by_the_check():
    from geo.contract import DISCHARGE_PARAMETERS, PARAMETERS

    assert set(discharge.STANDARD) <= set(PARAMETERS) | set(DISCHARGE_PARAMETERS)


# --- judgments ---------------------------------------------------------------------------------

def test_cod_at_the_limit_meets_and_just_over_exceeds():
    r = _one("COD", 100, 1)
    assert r["verdict"] == "达标" and r["limit"] == 100 and np.isnan(r["multiple"])
    r = _one("COD", 150.1, 2)
    # 超标倍数 = (C − C0) / C0 = (150.1 − 150) / 150
    assert r["verdict"] == "超标" and r["limit"] == 150
    assert r["multiple"] == pytest.approx(0.1 / 150) and round(r["multiple"], 4) == 0.0007
    assert _one("COD", 150.1, 3)["verdict"] == "达标"  # 三级 500
    assert _one("COD", 500.5, 3)["multiple"] == pytest.approx(0.001)


def test_ph_outside_six_to_nine_exceeds_without_a_multiple():
    for v, verdict in ((9.5, "超标"), (5.9, "超标"), (6.0, "达标"), (9.0, "达标"), (7.2, "达标")):
        r = _one("pH", v, 2)
        assert r["verdict"] == verdict, v
        assert np.isnan(r["multiple"]) and r["limit_text"] == "6–9"


def test_ammonia_has_no_grade_three_limit():
    assert _one("NH3-N", 15.0, 1)["verdict"] == "达标"
    r = _one("NH3-N", 30.0, 1)
    assert r["verdict"] == "超标" and r["multiple"] == pytest.approx(1.0)
    assert _one("NH3-N", 30.0, 2)["multiple"] == pytest.approx(0.2)
    assert _one("NH3-N", 300.0, 3)["verdict"] == "无限值"


def test_first_class_pollutants_ignore_the_grade():
    for g in (1, 2, 3):
        r = _one("Hg", 0.06, g)
        assert r["verdict"] == "超标" and r["multiple"] == pytest.approx(0.2) and "表1" in r["basis"]
    assert _one("Cd", 0.1, 3)["verdict"] == "达标"
    assert _one("Cr6", 0.51, 1)["verdict"] == "超标"


def test_below_detection_and_unknown_parameters():
    # a detection limit under the limit: the true value is under it too
    assert _one("CN", 0.004, 1, below=True)["verdict"] == "达标"
    # a detection limit over the limit says nothing
    r = _one("BaP", 0.0001, 1, below=True)
    assert r["verdict"] == "无法判定" and pd.isna(r["exceeds"])
    assert _one("WT", 25, 1)["verdict"] == "无限值"
    assert _one("COD", np.nan, 1)["verdict"] == "无数据"


def test_permit_limits_override_the_standard():
    permit = discharge.parse_permit("COD=80；NH3-N:10, pH=6.5-8.5")
    assert permit == {"COD": (None, 80.0), "NH3-N": (None, 10.0), "pH": (6.5, 8.5)}
    r = _one("COD", 90, 1, permit)  # the standard (100) would pass it
    assert r["verdict"] == "超标" and r["basis"] == "排污许可" and r["multiple"] == pytest.approx(0.125)
    assert _one("pH", 8.8, 1, permit)["verdict"] == "超标"
    assert _one("BOD5", 25, 1, permit)["verdict"] == "超标"  # not in the permit: the standard's 一级 20
    with pytest.raises(GeoError) as e:
        discharge.parse_permit("COD 八十")
    assert "COD 八十" in e.value.zh and "code=value" in e.value.en


def test_default_grade_follows_the_receiving_water():
    assert discharge.default_grade([1, 2, 3, 4, 5, None]).tolist() == [1, 1, 1, 2, 2, 1]


def _outfall_frames(**extra):
    pts = gpd.GeoDataFrame({
        "id": ["S1", "O1", "O2", "O3"], "name": ["断面", "甲厂排口", "乙厂排口", "丙厂排口"],
        "kind": ["section", "outfall", "outfall", "outfall"], "waterbody": "river", "target_class": [3, 3, 4, 3],
        **extra}, geometry=shapely.points(np.zeros(4), np.zeros(4)), crs="EPSG:4326")
    t = pd.Timestamp("2007-06-27 09:30")
    rows = [("S1", "COD", 45.0), ("S1", "NH3-N", 0.8),
            ("O1", "COD", 120.0), ("O1", "NH3-N", 12.0), ("O1", "pH", 7.1),
            ("O2", "COD", 120.0), ("O2", "NH3-N", 12.0),   # grade 二级 (class Ⅳ water): meets
            ("O3", "COD", 90.0), ("O3", "pH", 9.6)]
    r = pd.DataFrame(rows, columns=["point_id", "parameter", "value"]).assign(sampled_at=t, unit="mg/L")
    return {"sampling_points": pts, "readings": r}


def test_latest_outfalls_and_assessment():
    f = _outfall_frames()
    o = discharge.latest_outfalls(f).set_index("id")
    assert list(o.index) == ["O1", "O2", "O3"]
    assert o.loc["O1", "verdict"] == "超标" and o.loc["O1", "exceeding"] == "COD 超标0.2倍"
    assert o.loc["O2", "grade_label"] == "二级" and o.loc["O2", "verdict"] == "达标" and o.loc["O2", "exceeding"] == ""
    assert o.loc["O3", "verdict"] == "超标" and o.loc["O3", "exceeding"] == "pH 9.6（限值6–9）"
    a = water.latest_assessment(f).set_index("id")
    # the section is classed by GB 3838 (COD 45 is worse than Ⅴ); the outfalls are not classed at all
    assert a.loc["S1", "class"] == 6 and a.loc["S1", "verdict"] == "超标"
    assert a.loc[["O1", "O2", "O3"], "class"].isna().all()
    assert a.loc["O1", "verdict"] == "超标" and a.loc["O2", "verdict"] == "达标" and not a.loc["O1", "meets"]
    assert a.loc["O2", "standard"] == "GB 8978-1996 二级"
    assert int((a["class"] == 6).sum()) == 1  # 劣Ⅴ类 points: the section only


def test_grade_and_permit_columns_override():
    f = _outfall_frames(discharge_grade=[None, 2, None, None], permit_limits=[None, None, "COD=100", "COD=80"])
    o = discharge.latest_outfalls(f).set_index("id")
    assert o.loc["O1", "grade_label"] == "二级" and o.loc["O1", "verdict"] == "达标"  # COD 120 ≤ 150
    assert o.loc["O2", "exceeding"] == "COD 超标0.2倍"  # the permit's 100 overrides grade 二级's 150
    assert "COD 超标0.12倍" in o.loc["O3", "exceeding"]  # (90 − 80) / 80 = 0.125, rounded half to even (GB/T 8170)


def test_check_reports_bad_grade_and_permit():
    f = _outfall_frames(discharge_grade=[None, 4, None, None], permit_limits=[None, None, "COD 八十", "COD=80"])
    found = check.check_table("sampling_points", f["sampling_points"])
    cols = {(p.row_id, p.column) for p in found}
    assert ("O1", "discharge_grade") in cols and ("O2", "permit_limits") in cols
    assert not any(p.row_id == "O3" for p in found)
    # a bad permit never breaks a page: it is ignored in the judgment
    assert discharge.latest_outfalls(f).set_index("id").loc["O2", "verdict"] == "达标"


def test_outfall_readings_are_not_classed(demo_frames):
    r = water.readings_with_points(demo_frames["readings"], demo_frames["sampling_points"], as_of="2007-06-30",
                                   start="2007-01-01")
    assert r.loc[r["kind"] == "outfall", "class"].isna().all() and r.loc[r["kind"] == "section", "class"].notna().any()
    assert not len(water.exceedances(r).query("kind == 'outfall'"))


def test_demo_outfalls(demo_frames):
    """On the demo: four outfalls on the Qu River (class Ⅲ) held to 一级; none is a 劣Ⅴ point."""
    o = discharge.latest_outfalls(demo_frames, as_of="2007-06-30")
    assert len(o) == 4 and (o["grade_label"] == "一级").all()
    assert o["verdict"].isin(["达标", "超标"]).all() and o["sampled_on"].notna().all()
    # the multiples agree with the readings of that day
    r = discharge.outfall_readings(demo_frames["readings"], demo_frames["sampling_points"], as_of="2007-06-30")
    last = r[r["day"] == r.groupby("point_id")["day"].transform("max")]
    cod = last[last["parameter"] == "COD"]
    for pid, v in zip(cod["point_id"], cod["value"]):
        text = o.set_index("id").loc[pid, "exceeding"]
        assert ("COD" in text) == (v > 100)


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    from geo.store import GpkgStore, open_store

    if request.param == "gpkg":
        return GpkgStore(tmp_path / "store.gpkg", create=True)
    return open_store(request.getfixturevalue("pg_db"), create=True)


def test_grade_and_permit_round_trip_both_stores(store):
    """The optional contract columns are stored and read back on GeoPackage and PostGIS, and judged alike."""
    from tests.storedata import sample_tables

    tables = sample_tables()
    f = _outfall_frames(discharge_grade=[None, 2, None, None], permit_limits=[None, None, "COD=100", "COD=80"])
    tables["sampling_points"] = f["sampling_points"]
    tables["readings"] = f["readings"].assign(below_detection=False)
    store.replace_all(tables)
    got = store.read_many(["sampling_points", "readings"])
    pts = got["sampling_points"].set_index("id")
    assert pts.loc["O1", "discharge_grade"] == 2 and pd.isna(pts.loc["O2", "discharge_grade"])
    assert pts.loc["O3", "permit_limits"] == "COD=80"
    o = discharge.latest_outfalls(got).set_index("id")
    assert o.loc["O1", "verdict"] == "达标" and o.loc["O2", "exceeding"] == "COD 超标0.2倍"
