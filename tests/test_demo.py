"""The demo district reproduces the source report's figures, from its status events alone."""
import subprocess
import sys

import pandas as pd
import pytest
import shapely

from geo import demo
from geo.history import changed_on, status_on
from geo.store import open_store

from tests.conftest import DEMO, ROOT

AS_OF = "2007-06-30"


@pytest.fixture(scope="module")
def t(demo_frames):
    return demo_frames


def _status(t, layer, day=AS_OF):
    """Status on ``day`` computed from events only (the status column is not consulted)."""
    return status_on(t["status_events"], layer, day)


def test_chemical_park_figures(t):
    e = t["enterprises"]
    park = e[(e["park"] == "沈家经济开发区") & (e["industry"] == "化工")]
    assert len(park) == 49
    st = _status(t, "enterprises").loc[park["id"]]
    assert (st == "closed").sum() == 34
    committed = park[st.to_numpy() == "committed"]
    assert len(committed) == 15
    assert (committed["deadline"] == pd.Timestamp("2007-09-30")).all()
    assert committed["committed_on"].dt.month.eq(4).all() and committed["committed_on"].dt.year.eq(2007).all()
    dest = committed["destination"].value_counts()
    assert dest.get("衢州高新园区") == 6 and dest.get("安徽") == 3 and dest.get("江苏") == 1 and dest.get("江西") == 3
    assert committed["destination"].str.startswith("就地").sum() == 2
    depts = park["department"].value_counts()
    assert len(depts) == 6 and depts.sum() == 16
    assert sorted(depts.to_numpy().tolist()) == [2, 2, 2, 2, 4, 4]
    assert depts.get("开发区管委会") == 4 and depts.get("环保局") == 4
    # closures happened before the report date, and the park lies in 樟潭街道 on the Qu River
    closed_ev = t["status_events"].query("layer == 'enterprises' and status == 'closed'")
    assert closed_ev[closed_ev.feature_id.isin(park.id)]["effective_on"].max() <= pd.Timestamp(AS_OF)
    zt = t["townships"].set_index("name").loc["樟潭街道", "geometry"]
    assert shapely.contains(zt, park.geometry.values).all()


def test_lime_figures(t):
    k = t["kilns"]
    st = _status(t, "kilns")
    kilns, sheds = k[k["kind"] == "kiln"], k[k["kind"] == "shed"]
    assert len(kilns) == 75 and kilns["village"].nunique() == 11
    assert 170 <= len(k) <= 190
    assert (st.loc[sheds.id] == "closed").sum() == 85
    assert (st.loc[kilns.id] == "closed").sum() == 26
    assert st.loc[kilns.id].isin(["rebuilt", "relocated"]).sum() == 49
    sf = t["townships"].set_index("name").loc["上方镇", "geometry"]
    assert shapely.contains(sf, k.geometry.values).all()


def test_six_february_action(t):
    ev = t["status_events"]
    on_day = changed_on(ev, "kilns", "closed", "2007-02-06")
    assert len(on_day) == 74
    assert set(t["kilns"].set_index("id").loc[on_day, "kind"]) == {"shed"}
    before = _status(t, "kilns", "2007-02-05")
    assert (before == "closed").sum() == 0
    assert (_status(t, "kilns", "2007-02-06") == "closed").sum() == 74


def test_livestock_figures(t):
    f = t["farms"]
    st = _status(t, "farms")
    treating = f[st.loc[f.id].to_numpy() == "treating"]
    assert len(treating) == 34
    assert (treating["head_count"] >= 500).all() and set(treating["species"]) == {"猪"}
    assert (treating["deadline"] == pd.Timestamp("2007-09-30")).all()
    ev = t["status_events"].query("layer == 'farms' and status == 'treating'")
    assert ev["effective_on"].between("2007-03-10", "2007-03-20").all()
    assert (_status(t, "farms", "2007-03-01") == "treating").sum() == 0


def test_status_column_equals_latest_event(t):
    for layer in ("enterprises", "kilns", "farms"):
        sites = t[layer].set_index("id")["status"]
        latest = _status(t, layer, None)
        assert set(latest.index) == set(sites.index)
        assert (sites.to_numpy() == latest.loc[sites.index].to_numpy()).all()


def test_sampling_points_and_readings(t):
    p, r = t["sampling_points"], t["readings"]
    assert len(p) >= 10
    assert set(p["waterbody"]) == {"river", "lake"} and set(p["kind"]) == {"section", "outfall"}
    lakes = p[p["waterbody"] == "lake"]
    assert len(lakes) == 2
    assert "TN" in set(r[r.point_id.isin(lakes.id)]["parameter"])
    outfalls = p[p["kind"] == "outfall"]
    e = t["enterprises"].set_index("id")
    assert (e.loc[outfalls["feature_id"], "status"] == "committed").all()  # outfalls of plants still running
    weekly = pd.Series(r[r.point_id == outfalls.id.iat[0]]["sampled_at"].unique()).sort_values().diff().dropna().dt.days
    assert weekly.eq(7).all()
    sections = r[r.point_id == "W03"]["sampled_at"]
    assert sections.min().year <= 2004 and sections.max() <= pd.Timestamp("2007-06-30 23:59")
    # Below the park, ammonia falls as the plants close.
    w3 = r[(r.point_id == "W03") & (r.parameter == "NH3-N")].set_index("sampled_at")["value"]
    assert w3[w3.index.year == 2005].mean() > w3[w3.index.year == 2007].mean()


def test_boundary_converted_from_gcj02(t):
    import pyproj

    tw = t["townships"]
    assert len(tw) == 20 and tw["approximate"].all()
    area = tw.to_crs(pyproj.CRS.from_proj4("+proj=aea +lat_1=28.5 +lat_2=29.4 +lon_0=118.9 +ellps=GRS80")).area.sum()
    assert abs(area / 1e6 - 1753) < 25
    # The shipped sources are GCJ-02: the stored boundary is shifted back by ~580 m.
    import geopandas as gpd

    raw = gpd.read_file(demo.SOURCES / "qujiang_district_gcj02.geojson").geometry.iat[0]
    stored = shapely.union_all(tw.geometry.values)
    dx = raw.centroid.x - stored.centroid.x
    assert 0.004 < dx < 0.007  # about 0.005° east at 29°N: the GCJ-02 shift


def test_build_is_deterministic_and_matches_the_shipped_demo(tmp_path):
    out = tmp_path / "fresh.gpkg"
    res = subprocess.run([sys.executable, "-m", "geo", "demo", "--out", str(out)], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    fresh, shipped = open_store(out).read_many(), open_store(DEMO).read_many()
    for name in fresh:
        pd.testing.assert_frame_equal(pd.DataFrame(fresh[name]), pd.DataFrame(shipped[name]), check_exact=True)
    again = demo.build()
    for name, df in again.items():
        assert len(df) == len(fresh[name])


# --- casework: the report's complaint figures and the twice-a-month joint patrols, from the tables ---------

def test_complaint_figures(t):
    c = t["complaints"]
    half = c[c["received_on"].between("2007-01-01", "2007-06-30")]
    assert len(half) == 36
    ch = half["channel"].value_counts()
    assert (ch.get("province"), ch.get("city"), ch.get("district")) == (5, 8, 8)
    assert half["channel"].isin(["hotline", "visit", "letter", "online"]).sum() == 15
    # every one handled by its due date (办结率 100 %), before the report date
    assert half["handled_on"].notna().all()
    assert (half["handled_on"] <= half["due_on"]).all()
    assert (half["handled_on"] <= pd.Timestamp(AS_OF)).all()
    # sensitive reports are investigated the same day (查处不过夜)
    sens = half[half["sensitive"]]
    assert len(sens) >= 3 and (sens["handled_on"] == sens["received_on"]).all()
    # some concern park plants, some farms
    e = t["enterprises"].set_index("id")
    linked = half[half["layer"] == "enterprises"]
    assert len(linked) >= 3 and (e.loc[linked["feature_id"], "park"] == "沈家经济开发区").all()
    assert (half["layer"] == "farms").sum() >= 3


def test_joint_patrols_twice_a_month(t):
    from geo.inspections import departments_of

    i = t["inspections"]
    joint = i[(i["kind"] == "joint") & (i["departments"].map(lambda d: len(set(departments_of(d)))) >= 4)]
    per_month = joint.groupby(joint["held_on"].dt.month).size()
    assert list(per_month.index) == [1, 2, 3, 4, 5, 6] and (per_month >= 2).all()
    # at least once every half month (每半月一次以上)
    halves = joint.groupby([joint["held_on"].dt.month, joint["held_on"].dt.day > 15]).size()
    assert len(halves) == 12
    v = t["inspection_visits"]
    jv = v[v["inspection_id"].isin(joint["id"])]
    assert set(jv["layer"]) == {"enterprises", "kilns"} and jv["finding"].notna().all()
    e = t["enterprises"].set_index("id")
    assert (e.loc[jv.loc[jv["layer"] == "enterprises", "feature_id"], "park"] == "沈家经济开发区").all()
    # findings agree with the status history on the day of the visit
    closed = jv[jv["finding"] == "closed_confirmed"]
    for _, r in closed.iterrows():
        assert _status(t, r["layer"], r["visited_at"].normalize()).loc[r["feature_id"]] in ("closed", "relocated")


def test_five_small_files_and_assessment_entries(t):
    import hashlib

    a = t["attachments"]
    e = t["enterprises"].set_index("id")
    assert len(a) >= 8 and (e.loc[a["feature_id"], "park"].isna()).all()
    assert set(a["mime"]) == {"application/pdf", "image/png"}
    assert all(hashlib.sha256(b).hexdigest() == h and len(b) == n for b, h, n in zip(a["content"], a["sha256"], a["size"]))
    assert all(b.startswith(b"%PDF") for b in a.loc[a["mime"] == "application/pdf", "content"])
    en = t["assessment_entries"]
    assert set(en["unit"]) >= set(t["townships"]["code"])
    assert en["entered_by"].notna().all()
    vetoed = en[en["item"].str.startswith("veto") & (en["score"] >= 1)]
    assert len(vetoed) == 1 and vetoed["note"].notna().all()
