"""Reads of readings pushed into the database (issue 13): each equals the pandas computation on the whole table.

On a copy of the demo store, on a small synthetic province (geo.synth: GDAL-written, without the index, with
below-detection DO readings and a point without readings), and on PostGIS holding the same data.
"""
from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from geo import discharge, synth, wallboard, water
from geo.store import open_store
from geo.store import readings_sql as q
from geo.store.gpkg import GpkgStore
from geo.store.postgis import copy_store

MID = "2006-03-15"


def _synth_tables() -> dict:
    t = synth.build(sites=3000, townships=12, rivers=30, waterbodies=4, sampling_points=40, readings=60_000,
                    parks=4)
    rd = t["readings"].copy()
    # DO below detection at some readings (decides the class: worse than Ⅴ), and one point with no readings
    do = np.flatnonzero((rd["parameter"] == "DO").to_numpy())[::37]
    rd.loc[do, "below_detection"] = True
    lonely = t["sampling_points"]["id"].iloc[-1]
    t["readings"] = rd[rd["point_id"] != lonely].reset_index(drop=True)
    return t


@pytest.fixture(scope="module")
def synth_tables():
    return _synth_tables()


@pytest.fixture
def synth_store(tmp_path, synth_tables):
    store = GpkgStore(tmp_path / "synth.gpkg", create=True)
    store.rebuild(synth_tables)  # written whole by GDAL: no readings index yet
    return store


@pytest.fixture(params=["demo", "synth"])
def store(request, demo_store, tmp_path):
    if request.param == "demo":
        return open_store(demo_store)
    return request.getfixturevalue("synth_store")


def _dates(readings: pd.DataFrame) -> list:
    lo, hi = readings["sampled_at"].min(), readings["sampled_at"].max()
    return [None, lo + (hi - lo) / 2, hi.normalize(), lo.normalize() - pd.Timedelta(days=1)]


def test_latest_sampling_equals_pandas(store):
    rd, pts = store.read("readings"), store.read("sampling_points")
    ids = list(pts["id"]) + ["NO-SUCH-POINT"]
    for as_of in _dates(rd):
        got = store.latest_sampling(as_of, ids)
        pd.testing.assert_frame_equal(got, q.latest_sampling(rd, as_of, ids))
        pd.testing.assert_frame_equal(store.latest_sampling(as_of), q.latest_sampling(rd, as_of))
        if not len(got):
            continue  # (before the first reading latest_assessment itself fails today: reported on issue 13)
        # the judged table on these rows is the judged table on every reading
        whole = water.latest_assessment({"sampling_points": pts, "readings": rd}, as_of=as_of)
        pushed = water.latest_assessment({"sampling_points": pts, "readings": got}, as_of=as_of)
        pd.testing.assert_frame_equal(pushed, whole)
        o1 = discharge.latest_outfalls({"sampling_points": pts, "readings": rd}, as_of=as_of)
        o2 = discharge.latest_outfalls({"sampling_points": pts, "readings": got}, as_of=as_of)
        pd.testing.assert_frame_equal(o2, o1)
    assert len(store.latest_sampling(_dates(rd)[1], ids)) < len(rd)


def test_point_without_readings_is_listed_without_data(synth_store, synth_tables):
    pts = synth_store.read("sampling_points")
    lonely = pts["id"].iloc[-1]
    got = synth_store.latest_sampling(None, pts["id"])
    assert lonely not in set(got["point_id"]) and len(got)
    a = water.latest_assessment({"sampling_points": pts, "readings": got})
    row = a[a["id"] == lonely].iloc[0]
    assert pd.isna(row["class"]) and row["verdict"] == discharge.NO_DATA


def test_series_equal_pandas(store):
    rd, pts = store.read("readings"), store.read("sampling_points")
    one, few = [pts["id"].iloc[0]], list(pts["id"].iloc[1:4]) + ["NO-SUCH-POINT"]
    mid = _dates(rd)[1]
    for points, start, end in [(one, None, None), (one, mid - pd.Timedelta(days=400), mid), (few, mid, None),
                               (few, None, mid.normalize())]:
        got = store.readings_between(points, start, end)
        pd.testing.assert_frame_equal(got, q.readings_between(rd, points, start, end))
        assert set(got["point_id"]) <= set(points)
        t1 = water.trend(rd, start=start, end=end, points=points)
        t2 = water.trend(got, start=start, end=end, points=points)
        pd.testing.assert_frame_equal(t2, t1)


def test_exceedances_from_bounds_equal_every_reading(store):
    rd, pts = store.read("readings"), store.read("sampling_points")
    for as_of in _dates(rd)[1:3]:
        start = as_of - pd.DateOffset(years=3) + pd.Timedelta(days=1)
        near = store.readings_outside(water.exceedance_bounds(pts), start, as_of)
        pd.testing.assert_frame_equal(near, q.readings_outside(rd, water.exceedance_bounds(pts), start, as_of))
        whole = water.exceedances(water.readings_with_points(rd, pts, as_of=as_of, start=start))
        pushed = water.exceedances(water.readings_with_points(near, pts, as_of=as_of, start=start))
        pd.testing.assert_frame_equal(pushed, whole)
        assert len(near) < len(rd)
        ob = discharge.exceedance_bounds(pts)
        o_near = store.readings_outside(ob, start, as_of)
        o1 = discharge.outfall_readings(rd, pts, as_of=as_of, start=start)
        o2 = discharge.outfall_readings(o_near, pts, as_of=as_of, start=start)
        pd.testing.assert_frame_equal(o2[o2["verdict"] == discharge.EXCEEDS].reset_index(drop=True),
                                      o1[o1["verdict"] == discharge.EXCEEDS].reset_index(drop=True))


def test_water_share_from_monthly_worst_equals_every_reading(store):
    rd, pts = store.read("readings"), store.read("sampling_points")
    for as_of in _dates(rd)[1:]:
        whole = wallboard.water_share({"sampling_points": pts, "readings": rd}, as_of)
        pd.testing.assert_frame_equal(wallboard.water_share_from_store(store, pts, as_of), whole)


def _worst_by_reading(rd, pts, start, end):
    """Each point's worst class per month from every reading classed one by one (geo.water)."""
    r = water.readings_with_points(rd, pts, as_of=end, start=start)
    r = r[r["kind"] != "outfall"]
    use = water.assessed(r["parameter"].to_numpy(object), r["waterbody"].to_numpy(object)) & r["class"].notna()
    r = r[use].assign(month=lambda d: d["sampled_at"].dt.to_period("M").dt.to_timestamp())
    w = r.groupby(["point_id", "month"], sort=True)["class"].max().reset_index()
    return w.rename(columns={"class": "worst"})


def test_monthly_worst_equals_classing_every_reading(store):
    """The database's worst class per section and month (limits as data) equals classing every reading with
    geo.water and taking each month's worst; the pandas reference agrees."""
    rd, pts = store.read("readings"), store.read("sampling_points")
    sec = pts[pts["kind"].fillna("section") != "outfall"]
    wb = dict(zip(sec["id"].astype(str), sec["waterbody"]))
    limits = water.class_limits()
    seen = set()
    for as_of in _dates(rd)[1:]:
        start = wallboard.share_start(as_of)
        got = store.monthly_worst(limits, wb, start, as_of)
        pd.testing.assert_frame_equal(got, q.monthly_worst(rd, limits, wb, start, as_of))
        want = _worst_by_reading(rd, sec, start, as_of)
        pd.testing.assert_series_equal(got["worst"], want["worst"].astype(float), check_names=False)
        assert got["point_id"].tolist() == want["point_id"].astype(str).tolist()
        assert (got["month"].to_numpy() == want["month"].to_numpy("datetime64[ns]")).all()
        seen |= set(got["worst"])
    assert len(seen) > 2  # several classes to tell apart


def test_below_detection_do_decides_the_month(synth_store):
    """A DO reading below detection makes the month worse than Ⅴ even when its value meets the target:
    the database's worst class carries the flag, not just the month's minimum."""
    rd, pts = synth_store.read("readings"), synth_store.read("sampling_points")
    sec = pts[pts["kind"].fillna("section") != "outfall"]
    wb = dict(zip(sec["id"].astype(str), sec["waterbody"]))
    do = rd[(rd["parameter"] == "DO") & rd["below_detection"].fillna(False).astype(bool) & rd["value"].notna()
            & rd["point_id"].isin(list(wb))]
    assert len(do)
    keys = set(zip(do["point_id"].astype(str), do["sampled_at"].dt.to_period("M").dt.to_timestamp()))
    got = synth_store.monthly_worst(water.class_limits(), wb)
    worst = dict(zip(zip(got["point_id"], got["month"]), got["worst"]))
    assert all(worst[k] == q.BEYOND for k in keys)
    # without the flag those months would class otherwise
    flat = q.monthly_worst(rd.assign(below_detection=False), water.class_limits(), wb)
    flat = dict(zip(zip(flat["point_id"], flat["month"]), flat["worst"]))
    assert any(flat[k] != q.BEYOND for k in keys)


def test_gpkg_index_created_and_file_stays_a_geopackage(synth_store):
    import pyogrio

    con = sqlite3.connect(synth_store.path)
    has = lambda: con.execute("SELECT 1 FROM sqlite_master WHERE type='index' AND name='qingshan_readings_point'"
                              ).fetchone() is not None  # noqa: E731
    assert has()  # a store built whole gets its indexes when built
    con.execute("DROP INDEX qingshan_readings_point")  # a store made before the index existed
    con.commit()
    assert not has()
    synth_store.latest_sampling("2007-06-30")
    assert has()
    plan = " ".join(str(r) for r in con.execute(
        "EXPLAIN QUERY PLAN SELECT MAX(sampled_at) FROM readings WHERE point_id = 'x' AND sampled_at < '2007'"))
    assert "qingshan_readings_point" in plan
    con.close()
    assert con is not None and "readings" in [n for n, _ in pyogrio.list_layers(synth_store.path)]
    assert len(pyogrio.read_dataframe(synth_store.path, layer="readings", max_features=5)) == 5


def test_same_answers_on_postgis(pg_db, tmp_path, synth_store, demo_store):
    for src in (open_store(demo_store), synth_store):
        pg = open_store(pg_db, create=True)
        copy_store(src, pg)
        rd, pts = src.read("readings"), src.read("sampling_points")
        mid = _dates(rd)[1]
        ids = list(pts["id"]) + ["NO-SUCH-POINT"]
        for as_of in (None, mid):
            pd.testing.assert_frame_equal(pg.latest_sampling(as_of, ids), src.latest_sampling(as_of, ids))
            pd.testing.assert_frame_equal(pg.latest_sampling(as_of), q.latest_sampling(rd, as_of))
        pd.testing.assert_frame_equal(pg.readings_between(ids[:2], mid - pd.Timedelta(days=300), mid),
                                      src.readings_between(ids[:2], mid - pd.Timedelta(days=300), mid))
        b = pd.concat([water.exceedance_bounds(pts), discharge.exceedance_bounds(pts)], ignore_index=True)
        pd.testing.assert_frame_equal(pg.readings_outside(b, None, mid), src.readings_outside(b, None, mid))
        sec = pts[pts["kind"].fillna("section") != "outfall"]
        wb = dict(zip(sec["id"].astype(str), sec["waterbody"]))
        pd.testing.assert_frame_equal(pg.monthly_worst(water.class_limits(), wb, None, mid),
                                      src.monthly_worst(water.class_limits(), wb, None, mid))
        pd.testing.assert_frame_equal(wallboard.water_share_from_store(pg, pts, mid),
                                      wallboard.water_share({"sampling_points": pts, "readings": rd}, mid))
        from geo.store.postgis import _driver_tx
        with _driver_tx(pg.engine, readonly=True) as cur:
            cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'readings_point_time_idx'")
            assert "(point_id, sampled_at)" in cur.fetchone()[0]
