"""Water quality by GB 3838-2002: classes, site assessment, targets, trends, river profile, lab import, CLI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import water
from geo.intake.lab import parse_lab_file, parameter_code, parse_value
from geo.store import open_store

ROOT = Path(__file__).resolve().parent.parent

# The table of DOMAIN.md, typed in again here (not read from geo.water) so a typo there is caught.
DOMAIN_TABLE = {
    "DO": (7.5, 6, 5, 3, 2), "CODMn": (2, 4, 6, 10, 15), "COD": (15, 15, 20, 30, 40), "BOD5": (3, 3, 4, 6, 10),
    "NH3-N": (0.15, 0.5, 1.0, 1.5, 2.0), "TP_river": (0.02, 0.1, 0.2, 0.3, 0.4),
    "TP_lake": (0.01, 0.025, 0.05, 0.1, 0.2), "TN_lake": (0.2, 0.5, 1.0, 1.5, 2.0), "Cu": (0.01, 1.0, 1.0, 1.0, 1.0),
    "Zn": (0.05, 1.0, 1.0, 2.0, 2.0), "F": (1.0, 1.0, 1.0, 1.5, 1.5), "Se": (0.01, 0.01, 0.01, 0.02, 0.02),
    "As": (0.05, 0.05, 0.05, 0.1, 0.1), "Hg": (0.00005, 0.00005, 0.0001, 0.001, 0.001),
    "Cd": (0.001, 0.005, 0.005, 0.005, 0.01), "Cr6": (0.01, 0.05, 0.05, 0.05, 0.1), "Pb": (0.01, 0.01, 0.05, 0.05, 0.1),
    "CN": (0.005, 0.05, 0.2, 0.2, 0.2), "VP": (0.002, 0.002, 0.005, 0.01, 0.1), "OIL": (0.05, 0.05, 0.05, 0.5, 1.0),
    "LAS": (0.2, 0.2, 0.2, 0.3, 0.3), "S2": (0.05, 0.1, 0.2, 0.5, 1.0), "FC": (200, 2000, 10000, 20000, 40000),
}


def test_standard_matches_domain_table():
    for key, lim in DOMAIN_TABLE.items():
        code, _, wb = key.partition("_")
        for w in ([wb] if wb else ["river", "lake"]):
            assert water.STANDARD[code].limits(w) == tuple(float(x) for x in lim), (code, w)
    assert water.STANDARD["TN"].limits("river") is None
    assert water.STANDARD["pH"].limits("river") == (6.0, 9.0)
    assert set(water.STANDARD) == set(__import__("geo.contract", fromlist=["x"]).PARAMETERS)


def _boundary_cases():
    """(parameter, waterbody, value, expected class) at and just past every limit of the table."""
    cases = []
    table = water.limits_table()
    for (par, wb), g in table[table["kind"] != "range"].groupby(["parameter", "waterbody"]):
        lim = g.sort_values("class")["limit"].tolist()
        kind = g["kind"].iloc[0]
        for L in sorted(set(lim)):
            if kind == "max":
                at = min(c for c in range(1, 6) if lim[c - 1] == L)  # shared limit: the better class
                past = min((c for c in range(1, 6) if lim[c - 1] > L), default=6)
                cases.append((par, wb, L, at))
                cases.append((par, wb, float(np.nextafter(L, np.inf)), past))
            else:  # DO: lower bound
                at = min(c for c in range(1, 6) if lim[c - 1] == L)
                past = min((c for c in range(1, 6) if lim[c - 1] < L), default=6)
                cases.append((par, wb, L, at))
                cases.append((par, wb, float(np.nextafter(L, -np.inf)), past))
    return cases


CASES = _boundary_cases()


@pytest.mark.parametrize("par,wb,value,expected", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]!r}" for c in CASES])
def test_every_class_boundary(par, wb, value, expected):
    assert water.classify(par, value, wb)[0] == expected


def test_boundaries_vectorised_in_one_call():
    par, wb, val, exp = (np.array(x, dtype=object) for x in zip(*CASES))
    got = water.classify(par, val.astype(float), wb)
    assert np.array_equal(got, exp.astype(float))
    assert len(CASES) > 150  # every parameter of the table, both kinds of water


def test_shared_limits_go_to_the_better_class():
    assert water.classify("COD", 15, "river")[0] == 1  # I and II share 15
    assert water.classify("Cu", 1.0, "river")[0] == 2  # II–V share 1.0
    assert water.classify("Pb", 0.05, "river")[0] == 3  # III and IV share 0.05
    assert water.classify("NH3-N", [0.5, 0.51, 2.0, 2.01], "river").tolist() == [2, 3, 5, 6]


def test_lake_and_river_tp():
    v = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.35]
    assert water.classify("TP", v, "river").tolist() == [1, 1, 2, 2, 3, 4, 5]
    assert water.classify("TP", v, "lake").tolist() == [1, 2, 3, 4, 5, 6, 6]


def test_tn_lakes_only_and_water_temperature_unclassed():
    assert np.isnan(water.classify("TN", 1.0, "river")[0])
    assert water.classify("TN", 1.0, "lake")[0] == 3
    assert np.isnan(water.classify("WT", 25.0, "lake")[0])
    assert np.isnan(water.classify("COD", np.nan, "river")[0])


def test_ph_range():
    got = water.classify("pH", [5.99, 6.0, 7.3, 9.0, 9.01, 3.0, 11.0], "river")
    assert got.tolist() == [6, 1, 1, 1, 6, 6, 6]


def test_do_is_a_lower_bound():
    assert water.classify("DO", [9.0, 7.5, 5.5, 2.0, 1.99, 0.0], "river").tolist() == [1, 1, 3, 5, 6, 6]


def test_unknown_parameter_or_waterbody_is_an_error():
    with pytest.raises(ValueError, match="XYZ"):
        water.classify(["COD", "XYZ"], [1, 2], "river")
    with pytest.raises(ValueError, match="sea"):
        water.classify("COD", 1, "sea")


def test_below_detection():
    # The value is the detection limit: its class is what the reading is at most.
    assert water.classify("Cd", 0.001, "river", below_detection=True)[0] == 1
    assert water.classify("Hg", 0.00006, "river", below_detection=True)[0] == 3
    # Dissolved oxygen below detection means (almost) none: worse than V, whatever the limit.
    assert water.classify("DO", [0.2, 8.0], "river", below_detection=[True, True]).tolist() == [6, 6]
    assert water.classify("DO", 8.0, "river", below_detection=pd.array([pd.NA], dtype="boolean"))[0] == 1


def test_site_class_exclusions_and_worst_parameter():
    rows = pd.DataFrame({
        "site": ["r", "r", "r", "r", "r", "l", "l", "l", "l", "p", "p", "w"],
        "parameter": ["COD", "NH3-N", "TN", "FC", "WT", "COD", "TN", "FC", "WT", "pH", "COD", "WT"],
        "value": [15, 0.9, 9.0, 90000, 30, 15, 1.2, 90000, 30, 5.5, 10, 20],
        "waterbody": ["river"] * 5 + ["lake"] * 4 + ["river"] * 3,
    })
    s = water.site_class(rows, by="site").set_index("site")
    # river: TN and fecal coliform are left out, so NH3-N (III) decides
    assert s.loc["r", "class"] == 3 and s.loc["r", "worst"] == "NH3-N" and s.loc["r", "n_assessed"] == 2
    # lake (环办〔2011〕22号): TN (IV) is assessed separately and fecal coliform (worse than V) is reported
    # separately; neither classes the lake, so COD 15 (I) decides
    assert s.loc["l", "class"] == 1 and s.loc["l", "worst"] == "COD" and s.loc["l", "n_assessed"] == 1
    assert s.loc["l", "tn_class"] == 4 and np.isnan(s.loc["r", "tn_class"])
    # pH outside 6–9 makes the site worse than V
    assert s.loc["p", "class"] == 6 and s.loc["p", "worst"] == "pH"
    # only water temperature: no class
    assert np.isnan(s.loc["w", "class"]) and s.loc["w", "n_assessed"] == 0


def test_site_class_ties_list_every_worst_parameter_in_table_order():
    rows = pd.DataFrame({"site": ["a"] * 3, "parameter": ["TP", "COD", "DO"], "value": [0.25, 25, 3.5],
                         "waterbody": "river"})
    s = water.site_class(rows)
    assert s["class"].iloc[0] == 4 and s["worst"].iloc[0] == "DO,COD,TP"


def test_targets_and_exceedance():
    assert water.meets_target([2, 3, 4, np.nan], [3, 3, 3, 3]).tolist() == [True, True, False, pd.NA]
    f = water.exceedance_factor(["NH3-N", "DO", "COD", "pH", "TN"], [1.5, 4.0, 18.0, 5.0, 3.0],
                                ["river", "river", "river", "river", "river"], [3, 2, 3, 3, 3])
    assert f[0] == pytest.approx(0.5)  # (1.5 - 1.0) / 1.0
    assert f[1] == pytest.approx((6 - 4) / 6)  # DO: (S - C) / S
    assert f[2] == pytest.approx((18 - 20) / 20)  # meets: negative
    assert np.isnan(f[3]) and np.isnan(f[4])


# --- store-backed ---------------------------------------------------------------------------

def _points():
    return gpd.GeoDataFrame(
        {"id": ["P1", "P2", "P3", "P4"], "name": ["上游", "园区旁", "下游", "水库"],
         "kind": ["section"] * 4, "waterbody": ["river", "river", "river", "lake"], "target_class": [3, 3, 3, 2],
         "water_id": ["R1", "R1", "R1", "L1"]},
        geometry=[shapely.Point(119.00, 29.0005), shapely.Point(119.05, 28.9995), shapely.Point(119.10, 29.0003),
                  shapely.Point(119.2, 29.2)], crs=4326)


def _frames():
    r = pd.DataFrame({
        "point_id": ["P1", "P1", "P1", "P1", "P3", "P3", "P4", "P4"],
        "sampled_at": pd.to_datetime(["2007-05-10 09:00", "2007-05-10 09:00", "2007-06-10 09:00",
                                      "2007-06-10 10:30", "2007-06-10 09:00", "2007-06-10 09:00",
                                      "2007-06-11 09:00", "2007-06-11 09:00"]),
        "parameter": ["COD", "NH3-N", "COD", "NH3-N", "NH3-N", "Cd", "TP", "TN"],
        "value": [35.0, 0.4, 18.0, 0.6, 1.2, 0.008, 0.04, 0.4],
        "unit": "mg/L", "below_detection": pd.array([False] * 5 + [True, False, False], dtype="boolean")})
    rivers = gpd.GeoDataFrame({"id": ["R1"], "name": ["衢江"], "width_m": [100.0]},
                              geometry=[shapely.LineString([(118.95, 29.0), (119.15, 29.0)])], crs=4326)
    ent = gpd.GeoDataFrame({"id": ["E1", "E2"], "name": ["甲", "乙"], "park": ["沈家经济开发区"] * 2},
                           geometry=[shapely.Point(119.04, 29.003), shapely.Point(119.06, 28.997)], crs=4326)
    return {"sampling_points": _points(), "readings": r, "rivers": rivers, "enterprises": ent}


def test_latest_assessment_uses_the_last_sampling_day():
    a = water.latest_assessment(_frames()).set_index("id")
    # P1: the June sampling (two readings on one day form one sampling): COD 18 (III), NH3-N 0.6 (III)
    assert a.loc["P1", "class"] == 3 and bool(a.loc["P1", "meets"]) is True
    assert a.loc["P1", "sampled_on"] == pd.Timestamp("2007-06-10")
    # P3: NH3-N 1.2 → IV; Cd "<0.008" is at most V, so the site is at most V: V, misses III
    assert a.loc["P3", "class"] == 5 and bool(a.loc["P3", "meets"]) is False
    assert a.loc["P3", "worst"] == "Cd"
    assert "NH3-N 超标0.2倍" in a.loc["P3", "exceeding"]
    # lake: TP 0.04 → III, TN 0.4 → II: misses its II target
    assert a.loc["P4", "class"] == 3 and a.loc["P4", "class_label"] == "Ⅲ类"
    # no readings: no class, no verdict
    assert np.isnan(a.loc["P2", "class"]) and pd.isna(a.loc["P2", "meets"])
    # as of the end of May: P1's May sampling (COD 35 → V)
    may = water.latest_assessment(_frames(), as_of="2007-05-31").set_index("id")
    assert may.loc["P1", "class"] == 5 and np.isnan(may.loc["P3", "class"])


def test_trend_recovers_a_known_slope_on_irregular_times():
    rng = np.random.default_rng(7)
    days = np.sort(rng.choice(np.arange(0, 6 * 365), size=70, replace=False))
    t = pd.Timestamp("2001-01-01") + pd.to_timedelta(days, unit="D")
    years = days / 365.25
    up = 2.0 + 0.3 * years + rng.normal(0, 0.05, len(days))  # COD-like, rising 0.3 per year
    do = 8.0 - 0.2 * years + rng.normal(0, 0.05, len(days))  # DO falling: water getting worse
    flat = 1.0 + rng.normal(0, 0.05, len(days))
    r = pd.concat([pd.DataFrame({"point_id": "A", "sampled_at": t, "parameter": p, "value": v})
                   for p, v in (("COD", up), ("DO", do), ("NH3-N", flat))])
    out = water.trend(r).set_index("parameter")
    assert out.loc["COD", "slope_per_year"] == pytest.approx(0.3, abs=0.01)
    assert out.loc["COD", "trend"] == "increasing" and out.loc["COD", "quality"] == "worse"
    assert out.loc["DO", "slope_per_year"] == pytest.approx(-0.2, abs=0.01)
    assert out.loc["DO", "trend"] == "decreasing" and out.loc["DO", "quality"] == "worse"
    assert out.loc["NH3-N", "trend"] == "no trend" and out.loc["NH3-N", "quality"] == "stable"
    assert abs(out.loc["NH3-N", "slope_per_year"]) < 0.02
    # a window: only the first two years
    w = water.trend(r, end=pd.Timestamp("2001-01-01") + pd.Timedelta(days=730), parameters=["COD"])
    assert w["n"].iloc[0] == int((days <= 730).sum())
    short = water.trend(r.head(5))
    assert (short["trend"] == "insufficient").all()


def test_sens_slope_uses_real_times():
    t = np.array([0.0, 0.1, 0.2, 3.0])  # uneven spacing: index-based slopes would be wrong
    assert water.sens_slope(t, 5 + 2 * t) == pytest.approx(2.0)


def test_upstream_downstream_along_the_river():
    out = water.upstream_downstream(_frames(), parameters=["NH3-N"])
    pos = out.set_index("id")
    assert list(out["id"]) == ["P1", "P3"]  # ordered along the river; P2 has no readings
    assert pos.loc["P1", "position"] == "upstream" and pos.loc["P3", "position"] == "downstream"
    # distances along a parallel: checked against the geodesic length on the WGS84 ellipsoid
    from pyproj import Geod

    g = Geod(ellps="WGS84")
    d_p1 = g.inv(118.95, 29.0, 119.00, 29.0)[2] / 1000
    d_p3_from_park_end = g.inv(119.06, 29.0, 119.10, 29.0)[2] / 1000
    assert pos.loc["P1", "chainage_km"] == pytest.approx(d_p1, rel=2e-3)
    assert pos.loc["P3", "offset_km"] == pytest.approx(d_p3_from_park_end, rel=2e-3)
    assert pos.loc["P1", "offset_km"] < 0
    assert pos.loc["P3", "mean"] == pytest.approx(1.2) and pos.loc["P3", "class"] == 4
    rev = water.upstream_downstream(_frames(), parameters=["NH3-N"], reverse=True).set_index("id")
    assert rev.loc["P1", "position"] == "downstream"


# --- lab files ------------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "s.gpkg", create=True)
    f = _frames()
    s.replace_all({"sampling_points": f["sampling_points"], "readings": f["readings"], "rivers": f["rivers"]})
    return s


GOOD = """某检测公司 地表水监测报告
点位,采样时间,项目,结果,单位,检出限
P1,2007-07-03 09:30,氨氮,0.62,mg/L,
P1,2007/7/3 9:30,总磷,<0.01,mg/L,
P1,2007年7月3日 9:30,镉,ND,μg/L,0.5
P1,2007-07-03 09:30,Pb,50,µg/L,
下游,2007-07-03 10:00,pH,7.2,无量纲,
下游,2007-07-03 10:00,化学需氧量,10L,mg/L,
下游,2007-07-03 10:00,汞,0.05,ug/L,
"""


def test_lab_file_good_is_written(store, tmp_path):
    f = tmp_path / "lab.csv"
    f.write_text(GOOD, encoding="utf-8")
    before = len(store.read("readings"))
    from geo.intake.lab import import_lab_file

    rd, problems, written = import_lab_file(store, f)
    assert problems == [] and written
    after = store.read("readings")
    assert len(after) == before + 7
    new = after.iloc[before:].set_index("parameter")
    assert new.loc["NH3-N", "value"] == 0.62 and not new.loc["NH3-N", "below_detection"]
    assert new.loc["TP", "value"] == 0.01 and new.loc["TP", "below_detection"]
    assert new.loc["Cd", "value"] == 0.0005 and new.loc["Cd", "below_detection"]  # ND with its limit, µg→mg
    assert new.loc["Pb", "value"] == 0.05 and new.loc["Pb", "unit"] == "mg/L"  # exactly the III/IV limit
    assert new.loc["Hg", "value"] == 0.00005  # exact decimal conversion: on the I/II limit, not above it
    assert water.classify("Hg", new.loc["Hg", "value"], "river")[0] == 1
    assert water.classify("Pb", new.loc["Pb", "value"], "river")[0] == 3
    assert new.loc["COD", "value"] == 10 and new.loc["COD", "below_detection"]  # "10L" convention
    assert set(new.loc[["pH", "COD"], "point_id"]) == {"P3"}  # matched by the point's name
    assert new.loc["pH", "unit"] == "无量纲"
    assert after.iloc[before:]["sampled_at"].iloc[0] == pd.Timestamp("2007-07-03 09:30")
    # the same file again: every row already stored, nothing written twice
    rd, problems, written = import_lab_file(store, f)
    assert not written and len(problems) == 7 and len(store.read("readings")) == before + 7


def test_lab_file_one_bad_row_writes_nothing(store, tmp_path):
    bad = GOOD.replace("P1,2007/7/3 9:30,总磷,<0.01,mg/L,", "P1,2007/7/3 9:30,总磷,<0.01,kg/L,") \
        + "P9,2007-07-03 10:00,COD,12,mg/L,\nP1,2007-07-03 10:00,XYZ,12,mg/L,\nP1,2007-07-03 10:00,Cd,ND,mg/L,\n" \
        + "P1,2007-07-03 10:00,NH3-N,abc,mg/L,\nP1,明天,COD,12,mg/L,\nP1,2007-07-03 09:30,氨氮,0.7,mg/L,\n"
    f = tmp_path / "bad.csv"
    f.write_text(bad, encoding="gb18030")  # old office software saves GBK
    version, n = store.version(), len(store.read("readings"))
    from geo.intake.lab import import_lab_file

    rd, problems, written = import_lab_file(store, f)
    assert not written and store.version() == version and len(store.read("readings")) == n
    by_row = {(p.row, p.column): p for p in problems}
    # row numbers as in the file: title line 1, header line 2, first data line 3
    assert (4, "单位") in by_row and "kg/L" in by_row[(4, "单位")].why_zh
    assert (10, "点位") in by_row and "P9" in by_row[(10, "点位")].why
    assert (11, "项目") in by_row and "XYZ" in by_row[(11, "项目")].why_zh
    assert (12, "结果") in by_row and "检出限" in by_row[(12, "结果")].why_zh
    assert (13, "结果") in by_row and "abc" in by_row[(13, "结果")].why
    assert (14, "采样时间") in by_row
    assert (15, "项目") in by_row and "第3行" in by_row[(15, "项目")].why_zh  # duplicate of row 3
    assert len(problems) == 7
    for p in problems:  # bilingual
        assert p.why_zh and p.why and p.why_zh != p.why


def test_lab_file_xlsx_and_missing_columns(store, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["监测点", "采样日期", "指标", "数值", "单位"])
    ws.append(["P1", pd.Timestamp("2007-08-01 09:00").to_pydatetime(), "TP", 0.12, "mg/L"])
    ws.append(["P1", pd.Timestamp("2007-08-01 09:00").to_pydatetime(), "DO", 6.5, "mg/l"])
    path = tmp_path / "lab.xlsx"
    wb.save(path)
    rd, problems = parse_lab_file(path, store)
    assert problems == [] and list(rd.index) == [2, 3]
    assert rd["sampled_at"].iloc[0] == pd.Timestamp("2007-08-01 09:00") and rd["value"].tolist() == [0.12, 6.5]
    with open(path, "rb") as fh:  # a buffer, as the /data page hands it over
        import io

        buf = io.BytesIO(fh.read())
        buf.name = "upload.xlsx"
        rd2, problems2 = parse_lab_file(buf, store)
    assert problems2 == [] and len(rd2) == 2
    f = tmp_path / "nounit.csv"
    f.write_text("点位,采样时间,指标,数值\nP1,2007-08-01,TP,0.1\n", encoding="utf-8")
    rd, problems = parse_lab_file(f, store)
    assert len(rd) == 0 and problems[0].row is None and "单位" in problems[0].why_zh


def test_parse_helpers():
    assert parameter_code("氨氮（以N计）") == "NH3-N" and parameter_code("CODcr") == "COD"
    assert parameter_code("ＮＨ３－Ｎ") == "NH3-N" and parameter_code("foo") is None
    assert parse_value("＜0.005") == ("below", __import__("decimal").Decimal("0.005"))
    assert parse_value("未检出")[0] == "nd" and parse_value(">100")[0] == "above"


# --- command line ---------------------------------------------------------------------------

def _run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "geo", "water", *args], cwd=cwd, capture_output=True, text=True)


def test_cli_classify_and_assess(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("parameter,value,waterbody\nCOD,15,river\nTP,0.05,lake\nTP,0.05,river\npH,9.5,river\n"
                   "TN,1,river\nCd,<0.001,river\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    p = _run("classify", "--in", str(src), "--out", str(out))
    assert p.returncode == 0, p.stderr
    got = pd.read_csv(out, keep_default_na=False)
    assert list(got.columns) == ["parameter", "value", "waterbody", "class"]
    assert got["class"].astype(str).tolist() == ["1", "3", "2", "6", "", "1"]

    src2 = tmp_path / "sites.csv"
    src2.write_text("site,parameter,value,waterbody\nA,COD,25,river\nA,TN,9,river\nA,FC,99999,river\n"
                    "B,TN,1.2,lake\nB,COD,10,lake\n", encoding="utf-8")
    p = _run("assess", "--in", str(src2), "--out", str(out))
    assert p.returncode == 0, p.stderr
    got = pd.read_csv(out, keep_default_na=False)
    # B, a lake: COD 10 (I) classes it; TN 1.2 (IV) is assessed separately beside it (环办〔2011〕22号)
    assert got.astype(str).to_dict("list") == {"site": ["A", "B"], "class": ["4", "1"], "tn_class": ["", "4"]}

    bad = tmp_path / "bad.csv"
    bad.write_text("parameter,value,waterbody\nCOD,15,river\nXX,1,river\nCOD,2,sea\n", encoding="utf-8")
    p = _run("classify", "--in", str(bad), "--out", str(tmp_path / "never.csv"))
    assert p.returncode == 2 and "第3行" in p.stderr and "row 4" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "never.csv").exists()


def test_cli_latest_and_import(store, tmp_path):
    out = tmp_path / "latest.csv"
    p = _run("--store", str(store.path), "--as-of", "2007-05-31", "--out", str(out))
    assert p.returncode == 0, p.stderr
    got = pd.read_csv(out).set_index("id")
    assert got.loc["P1", "class"] == 5 and got.loc["P1", "target_class"] == 3 and not got.loc["P1", "meets"]
    assert {"name", "class_label", "meets", "sampled_on"} <= set(got.columns)

    lab = tmp_path / "lab.csv"
    lab.write_text(GOOD, encoding="utf-8")
    n = len(store.read("readings"))
    p = _run("import", "--store", str(store.path), "--file", str(lab), "--dry-run")
    assert p.returncode == 0, p.stderr
    assert len(store.read("readings")) == n
    # --store given before the subcommand is honoured too
    p = _run("--store", str(store.path), "import", "--file", str(lab))
    assert p.returncode == 0, p.stderr
    assert len(store.read("readings")) == n + 7
    p = _run("import", "--store", str(store.path), "--file", str(lab))
    assert p.returncode == 2 and "未写入" in p.stderr and "nothing written" in p.stderr
    assert len(store.read("readings")) == n + 7


def test_demo_store_latest(demo_store):
    """On the shipped demo: sections are classed and targeted; outfalls are judged by discharge limits, unclassed."""
    frames = open_store(demo_store).read_many(["sampling_points", "readings", "rivers", "enterprises"])
    a = water.latest_assessment(frames, as_of="2007-06-30").set_index("id")
    sections = a[a["kind"] == "section"]
    assert sections["class"].notna().all() and sections["standard"].str.startswith("GB 3838-2002").all()
    outfalls = a[a["kind"] == "outfall"]
    assert len(outfalls) and outfalls["class"].isna().all() and (outfalls["class_label"] == "—").all()
    assert (outfalls["standard"] == "GB 8978-1996 一级").all() and outfalls["verdict"].isin(["达标", "超标"]).all()
    # no outfall is ever counted among the 劣Ⅴ类 points, on any date
    for day in ("2007-01-31", "2007-03-31", "2007-06-30"):
        assert not (water.latest_assessment(frames, as_of=day).query("kind == 'outfall'")["class"] == 6).any()
    ud = water.upstream_downstream(frames, parameters=["NH3-N"], start="2007-01-01", end="2007-06-30")
    assert ud.attrs["water_id"] == "R01"
    up = ud[ud["position"] == "upstream"]["mean"].mean()
    down = ud[ud["position"] == "downstream"]["mean"].mean()
    assert len(ud[ud["position"] == "upstream"]) and len(ud[ud["position"] == "downstream"]) and down > up


def test_mann_kendall_matches_pymannkendall():
    import pymannkendall as mk

    rng = np.random.default_rng(3)
    for k in range(6):
        y = np.round(rng.normal(0, 1, 40) + 0.02 * k * np.arange(40), 1)  # rounding makes ties
        ours = water.mann_kendall(y)
        ref = mk.original_test(y)
        assert ours[0] == ref.trend
        assert ours[1] == pytest.approx(ref.p, rel=1e-9, abs=1e-12)
        assert ours[2] == pytest.approx(ref.z) and ours[3] == pytest.approx(ref.Tau)
