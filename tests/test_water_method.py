"""Lakes and reservoirs by the national method (《地表水环境质量评价办法（试行）》, 环办〔2011〕22号), and the
automatic stations' parameters outside GB 3838.

The method classes rivers and lakes on the basic items of GB 3838-2002 Table 1 except water temperature, TN
and fecal coliform; a lake's or reservoir's TP is held to the lake limits and its TN is assessed separately,
reported beside the class. Every expected class below is worked out by hand from Table 1 (typed in here,
not read from geo.water), next to the reading it comes from.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import contract, wallboard, water
from geo.store import open_store
from geo.store import readings_sql as q

ROOT = Path(__file__).resolve().parent.parent

# GB 3838-2002 Table 1, the rows these tests use (classes Ⅰ–Ⅴ), typed in from the standard.
TABLE1 = {
    ("DO", "min"): (7.5, 6, 5, 3, 2),
    ("CODMn", "max"): (2, 4, 6, 10, 15),
    ("COD", "max"): (15, 15, 20, 30, 40),
    ("NH3-N", "max"): (0.15, 0.5, 1.0, 1.5, 2.0),
    ("TP_river", "max"): (0.02, 0.1, 0.2, 0.3, 0.4),
    ("TP_lake", "max"): (0.01, 0.025, 0.05, 0.1, 0.2),
    ("TN_lake", "max"): (0.2, 0.5, 1.0, 1.5, 2.0),
    ("FC", "max"): (200, 2000, 10000, 20000, 40000),
}


def hand_class(code: str, value: float, waterbody: str) -> float:
    """Class of one reading by Table 1, as a person reads it: the first class whose limit the value meets."""
    key = f"{code}_{waterbody}" if (f"{code}_{waterbody}", "max") in TABLE1 else code
    kind = "min" if (key, "min") in TABLE1 else "max"
    if (key, kind) not in TABLE1:
        return np.nan
    for c, lim in enumerate(TABLE1[(key, kind)], start=1):
        if (value >= lim) if kind == "min" else (value <= lim):
            return float(c)
    return 6.0


#: The method's class of a set of readings: the worst of the items it assesses (no WT, TN, FC; nothing else
#: outside Table 1).
def hand_site(readings: dict[str, float], waterbody: str) -> float:
    assessed = [hand_class(c, v, waterbody) for c, v in readings.items() if c not in ("TN", "FC", "WT")]
    assessed = [c for c in assessed if c == c]
    return max(assessed) if assessed else np.nan


# 里石门水库 (a reservoir, target Ⅱ) and 衢江 at a river section (target Ⅲ), two monthly samplings each.
MAY, JUNE = pd.Timestamp("2007-05-10 09:00"), pd.Timestamp("2007-06-12 09:00")
SAMPLINGS = {
    ("R1", MAY): {  # DO 8.1 ≥ 7.5 Ⅰ; CODMn 1.8 ≤ 2 Ⅰ; NH3-N 0.08 ≤ 0.15 Ⅰ; TP 0.008 ≤ 0.01 (lake) Ⅰ → Ⅰ
        "DO": 8.1, "CODMn": 1.8, "NH3-N": 0.08, "TP": 0.008,
        "TN": 1.2,  # 1.0 < 1.2 ≤ 1.5: Ⅳ, assessed separately (the old method made the reservoir Ⅳ)
        "FC": 30000,  # 20000 < 30000 ≤ 40000: Ⅴ, reported separately, classes nothing
        "WT": 21.5, "EC": 350.0, "TURB": 4.2, "CHLA": 0.012, "ALGAE": 2.3e6},  # no class
    ("R1", JUNE): {  # TP 0.02: 0.01 < 0.02 ≤ 0.025 (lake) Ⅱ; the rest Ⅰ → Ⅱ, meets its Ⅱ target
        "DO": 7.8, "CODMn": 1.9, "NH3-N": 0.1, "TP": 0.02,
        "TN": 1.6,  # 1.5 < 1.6 ≤ 2.0: Ⅴ separately
        "EC": 9000.0, "TURB": 800.0, "CHLA": 5.0, "ALGAE": 9e9},  # absurd values still class nothing
    ("H1", MAY): {  # DO 6.5: 6 ≤ 6.5 < 7.5 Ⅱ; COD 14 Ⅰ; NH3-N 0.4 Ⅱ; TP 0.15: 0.1 < 0.15 ≤ 0.2 (river) Ⅲ → Ⅲ
        "DO": 6.5, "COD": 14.0, "NH3-N": 0.4, "TP": 0.15,
        "TN": 3.0,  # rivers: no TN limit, not assessed
        "FC": 90000, "EC": 5000.0},  # FC beyond Ⅴ: reported separately
    ("H1", JUNE): {  # COD 15 on the Ⅰ/Ⅱ shared limit: Ⅰ; NH3-N 0.15 and TP 0.02 (river) on the Ⅰ limit → Ⅰ
        "DO": 7.6, "COD": 15.0, "NH3-N": 0.15, "TP": 0.02, "TN": 3.0},
}
#: The published classes, by hand (see the comments above).
CLASS = {("R1", MAY): 1, ("R1", JUNE): 2, ("H1", MAY): 3, ("H1", JUNE): 1}
TN_CLASS = {("R1", MAY): 4, ("R1", JUNE): 5, ("H1", MAY): np.nan, ("H1", JUNE): np.nan}
WATER = {"R1": "lake", "H1": "river"}
UNITS = {"pH": "无量纲", "WT": "℃", "EC": "µS/cm", "TURB": "NTU", "FC": "个/L", "ALGAE": "个/L"}


def test_hand_oracle_agrees_with_the_published_classes():
    """The test's own reading of Table 1 gives the classes written beside the samplings."""
    for (pid, when), vals in SAMPLINGS.items():
        assert hand_site(vals, WATER[pid]) == CLASS[(pid, when)], (pid, when)
        tn = hand_class("TN", vals["TN"], WATER[pid]) if WATER[pid] == "lake" else np.nan
        assert tn == TN_CLASS[(pid, when)] or (np.isnan(tn) and np.isnan(TN_CLASS[(pid, when)]))


def _points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["R1", "H1"], "name": ["里石门水库", "衢江樟潭"], "kind": ["section", "section"],
         "waterbody": ["lake", "river"], "target_class": [2, 3], "water_id": ["L1", "Q1"]},
        geometry=[shapely.Point(120.95, 29.10), shapely.Point(118.95, 28.98)], crs=4326)


def _readings() -> pd.DataFrame:
    rows = [(pid, when, code, float(v), UNITS.get(code, "mg/L"), False)
            for (pid, when), vals in SAMPLINGS.items() for code, v in vals.items()]
    return pd.DataFrame(rows, columns=["point_id", "sampled_at", "parameter", "value", "unit", "below_detection"]
                        ).astype({"below_detection": "boolean"})


def _long(key) -> pd.DataFrame:
    pid, _ = key
    vals = SAMPLINGS[key]
    return pd.DataFrame({"site": pid, "parameter": list(vals), "value": list(vals.values()),
                         "waterbody": WATER[pid]})


# --- classes of a set of readings ------------------------------------------------------------

def test_reservoir_is_classed_without_tn_and_tn_is_given_beside():
    s = water.site_class(_long(("R1", MAY)), by="site").iloc[0]
    assert s["class"] == 1 and s["tn_class"] == 4
    assert s["worst"] == "DO,CODMn,NH3-N,TP"  # every assessed item is Ⅰ; TN and FC are not among them
    assert s["n_assessed"] == 4  # DO, CODMn, NH3-N, TP: no TN, FC, WT, EC, TURB, CHLA, ALGAE
    june = water.site_class(_long(("R1", JUNE)), by="site").iloc[0]
    assert june["class"] == 2 and june["worst"] == "TP" and june["tn_class"] == 5
    # classify still gives a lake's TN its own class (reported beside), and a river's none
    assert water.classify("TN", 1.2, "lake")[0] == 4 and np.isnan(water.classify("TN", 1.2, "river")[0])
    assert water.separate_label(4.0) == "总氮（单独评价）Ⅳ类" and water.separate_label(np.nan) == ""


def test_river_with_tn_3_stays_by_its_other_items():
    s = water.site_class(_long(("H1", MAY)), by="site").iloc[0]
    assert s["class"] == 3 and s["worst"] == "TP" and np.isnan(s["tn_class"])
    assert water.site_class(_long(("H1", JUNE)), by="site").iloc[0]["class"] == 1


def test_tn_and_fc_count_for_no_waterbody():
    for wb in water.WATERBODIES:
        assert not water.assessed("TN", wb) and not water.assessed("FC", wb)
        assert water.assessed("TP", wb) and water.assessed("DO", wb)
    lim = water.class_limits()
    assert not lim["parameter"].isin(["TN", "FC", "WT", "EC", "TURB", "CHLA", "ALGAE"]).any()
    # TP held to the lake limits on a lake, the river limits on a river (Table 1)
    tp = lim[lim["parameter"] == "TP"].set_index("waterbody")[["l1", "l2", "l3", "l4", "l5"]]
    assert tuple(tp.loc["lake"]) == TABLE1[("TP_lake", "max")] and tuple(tp.loc["river"]) == TABLE1[("TP_river", "max")]
    # the method's 21 items: Table 1's 24 basic items less WT, TN and FC, the same for rivers and lakes
    for wb in water.WATERBODIES:
        assert len(lim[lim["waterbody"] == wb]) == 21


# --- the store's assessments ------------------------------------------------------------------

def _frames() -> dict:
    return {"sampling_points": _points(), "readings": _readings()}


def test_latest_assessment_meets_target_and_gives_tn_beside():
    a = water.latest_assessment(_frames()).set_index("id")
    # the reservoir's June sampling: Ⅱ, its target Ⅱ: meets (the old method's TN Ⅴ made it 未达标)
    assert a.loc["R1", "class"] == 2 and a.loc["R1", "class_label"] == "Ⅱ类" and bool(a.loc["R1", "meets"])
    assert a.loc["R1", "verdict"] == "达标" and a.loc["R1", "tn_class"] == 5
    assert pd.isna(a.loc["R1", "exceeding"])  # TN is over the Ⅱ limit but exceeds nothing
    assert a.loc["H1", "class"] == 1 and np.isnan(a.loc["H1", "tn_class"])
    may = water.latest_assessment(_frames(), as_of="2007-05-31").set_index("id")
    assert may.loc["R1", "class"] == 1 and may.loc["R1", "tn_class"] == 4 and bool(may.loc["R1", "meets"])
    assert may.loc["H1", "class"] == 3 and bool(may.loc["H1", "meets"])


def test_exceedances_never_list_tn_fc_or_unclassed():
    pts = _points().assign(target_class=[1, 1])  # Ⅰ targets: anything worse than Ⅰ exceeds
    r = water.readings_with_points(_readings(), pts)
    ex = water.exceedances(r)
    assert set(ex["parameter"]) == {"TP", "DO", "NH3-N"}  # R1 June TP Ⅱ; H1 May DO Ⅱ, NH3-N Ⅱ, TP Ⅲ
    assert set(zip(ex["point_id"], ex["parameter"])) == {("R1", "TP"), ("H1", "DO"), ("H1", "NH3-N"), ("H1", "TP")}
    b = water.exceedance_bounds(pts)
    assert not b["parameter"].isin(["TN", "FC", *water.UNCLASSED]).any()


def test_sampling_classes_per_day():
    s = water.sampling_classes(_readings(), _points()).set_index(["point_id", "day"])
    for (pid, when), cls in CLASS.items():
        assert s.loc[(pid, when.normalize()), "class"] == cls
        tn = s.loc[(pid, when.normalize()), "tn_class"]
        assert tn == TN_CLASS[(pid, when)] or (np.isnan(tn) and np.isnan(TN_CLASS[(pid, when)]))


# --- the wall's worst class per month, on both backends ----------------------------------------------

WORST = pd.DataFrame({"point_id": ["H1", "H1", "R1", "R1"],
                      "month": pd.to_datetime(["2007-05-01", "2007-06-01", "2007-05-01", "2007-06-01"]),
                      "worst": [float(CLASS[("H1", MAY)]), float(CLASS[("H1", JUNE)]),
                                float(CLASS[("R1", MAY)]), float(CLASS[("R1", JUNE)])]})


def _check_store(store):
    store.replace_all(_frames())
    got = store.monthly_worst(water.class_limits(), WATER)
    pd.testing.assert_frame_equal(got, WORST.astype({"month": "datetime64[ns]"}), check_dtype=False)
    # the pandas reference agrees
    pd.testing.assert_frame_equal(got, q.monthly_worst(_readings(), water.class_limits(), WATER))
    # the wall's share of sections meeting their targets: both, both months (TN counted, May's reservoir
    # would be Ⅳ and June's Ⅴ against a Ⅱ target)
    share = wallboard.water_share_from_store(store, _points(), "2007-06-30")
    assert share["meeting"].tolist() == [2, 2] and share["sections"].tolist() == [2, 2]
    pd.testing.assert_frame_equal(share, wallboard.water_share(_frames(), "2007-06-30"))


def test_monthly_worst_on_geopackage(tmp_path):
    _check_store(open_store(tmp_path / "m.gpkg", create=True))


def test_monthly_worst_on_postgis(pg_db):
    _check_store(open_store(pg_db, create=True))


# --- the command line -----------------------------------------------------------------------------

def test_geo_water_reports_the_reservoir_meeting_its_target(tmp_path):
    store = open_store(tmp_path / "cli.gpkg", create=True)
    store.replace_all(_frames())
    out = tmp_path / "latest.csv"
    p = subprocess.run([sys.executable, "-m", "geo", "water", "--store", str(store.path), "--as-of", "2007-06-30",
                        "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "2 of 2 assessed points meet their target" in p.stdout
    got = pd.read_csv(out, keep_default_na=False).set_index("id")
    assert got.loc["R1", "class"] == 2 and got.loc["R1", "target_class"] == 2
    assert str(got.loc["R1", "tn_class"]) == "5" and str(got.loc["H1", "tn_class"]) == ""
    assert got.loc["R1", "verdict"] == "达标"
    meta = (tmp_path / "latest.csv.meta.txt").read_text(encoding="utf-8")
    assert "环办〔2011〕22号" in meta and "总氮单独评价" in meta


def test_geo_water_assess_gives_the_lake_tn_beside(tmp_path):
    src = tmp_path / "sites.csv"
    lines = ["site,parameter,value,waterbody"] + [f"{pid},{c},{v},{WATER[pid]}"
                                                   for (pid, when), vals in SAMPLINGS.items() if when == MAY
                                                   for c, v in vals.items()]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "assess.csv"
    p = subprocess.run([sys.executable, "-m", "geo", "water", "assess", "--in", str(src), "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    got = pd.read_csv(out, keep_default_na=False).astype(str).set_index("site")
    assert got.loc["R1", "class"] == "1" and got.loc["R1", "tn_class"] == "4"
    assert got.loc["H1", "class"] == "3" and got.loc["H1", "tn_class"] == ""


# --- the rule every file states ------------------------------------------------------------------------

def test_rule_text_names_the_national_method():
    from geo import briefing

    for text in (water.RULE, water.assessment_meta("x").rule, briefing.RULE):
        assert "GB 3838-2002" in text and "《地表水环境质量评价办法（试行）》" in text and "环办〔2011〕22号" in text
        assert "总氮单独评价" in text and "湖库限值" in text
        assert "河流不评价总氮、粪大肠菌群" in text


# --- parameters outside GB 3838 ---------------------------------------------------------------------

OUTSIDE = {"EC": ("电导率", "µS/cm"), "TURB": ("浊度", "NTU"), "CHLA": ("叶绿素α", "mg/L"),
           "ALGAE": ("藻密度", "个/L"), "WT": ("水温", "℃")}


def test_unclassed_parameters_are_known_and_never_classed():
    for code, (name, unit) in OUTSIDE.items():
        spec = water.STANDARD[code]
        assert (spec.name, spec.unit) == (name, unit)
        assert code in contract.PARAMETERS and code in water.UNCLASSED
        for wb in water.WATERBODIES:
            assert np.isnan(water.classify(code, [0.0, 1.0, 1e9], wb)).all()
            assert not water.assessed(code, wb)
            assert np.isnan(water.target_limit(code, wb, 1)[()])
            assert np.isnan(water.exceedance_factor(code, 1e9, wb, 1)[()])
    # a site measured only on them has no class
    only = pd.DataFrame({"site": "x", "parameter": list(OUTSIDE), "value": 1e6, "waterbody": "lake"})
    s = water.site_class(only, by="site").iloc[0]
    assert np.isnan(s["class"]) and s["n_assessed"] == 0
    # the classify command takes them and leaves the class empty
    out = water.classify_table(pd.DataFrame({"parameter": list(OUTSIDE), "value": "5", "waterbody": "river"}))
    assert out["class"].isna().all()


def test_unclassed_parameters_are_stored_and_in_the_series(tmp_path):
    store = open_store(tmp_path / "u.gpkg", create=True)
    store.replace_all(_frames())  # the contract accepts EC, TURB, CHLA, ALGAE in readings.parameter
    stored = store.read("readings")
    assert set(OUTSIDE) <= set(stored["parameter"])
    # the water page's series are readings_with_points of the point's readings: they keep every known code
    win = water.readings_with_points(store.readings_between(["R1"]), _points())
    assert set(OUTSIDE) <= set(win["parameter"])
    assert win.loc[win["parameter"].isin(list(OUTSIDE)), "class"].isna().all()
    # their trends carry a direction only where one is meaningful (conductivity has none)
    assert "EC" in water.NO_DIRECTION and "TURB" not in water.NO_DIRECTION


def test_unclassed_parameters_appear_on_the_water_page(app_store):
    from streamlit.testing.v1 import AppTest

    store = open_store(app_store)
    rd = store.read("readings")
    last = rd[rd["point_id"] == "W10"]["sampled_at"].max()
    extra = pd.DataFrame({"point_id": "W10", "sampled_at": last, "parameter": list(OUTSIDE)[:4],
                          "value": [180.0, 3.5, 0.006, 1.2e6], "unit": [OUTSIDE[c][1] for c in list(OUTSIDE)[:4]],
                          "below_detection": pd.array([False] * 4, dtype="boolean")})
    from geo.store.base import Change

    store.commit([Change("readings", extra, "append")])
    page = str(ROOT / "views" / "water.py")
    at = AppTest.from_file(page, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="point").set_value("W10")
    at.run()
    assert not at.exception, at.exception
    options = at.multiselect(key="pars").options
    for code in ("EC", "TURB", "CHLA", "ALGAE"):
        assert any(code in o for o in options), (code, options)
    at.multiselect(key="pars").set_value(["EC", "CHLA"])
    at.run()
    assert not at.exception, at.exception
    specs = " ".join(json.dumps(json.loads(c.proto.spec), ensure_ascii=False) for c in at.get("vega_lite_chart"))
    assert "电导率 EC" in specs and "叶绿素α CHLA" in specs  # their series are charted (without class bands)


def test_lab_names_of_the_unclassed_parameters():
    """The lab intake's names come from water.STANDARD: the stations' Chinese names are known codes."""
    from geo.intake.lab import parameter_code

    for code, (name, _) in OUTSIDE.items():
        assert parameter_code(name) == code and parameter_code(code) == code
