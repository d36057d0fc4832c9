"""The store API behaves the same on both backends: GeoPackage and PostGIS.

Every test runs on an empty store of each kind (``store`` fixture); the
PostGIS one lives in a fresh database on a throwaway cluster (tests/pg.py).
"""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.store import Change, GpkgStore, StoreError, normalise, open_store
from tests.storedata import HOSTILE, sample_tables, sorted_frame


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    if request.param == "gpkg":
        return GpkgStore(tmp_path / "store.gpkg", create=True)
    return open_store(request.getfixturevalue("pg_db"), create=True)


def _as_stored(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """What a store returns for ``df``: contract dtypes, single polygons and lines as their multi type."""
    out = normalise(table, df)
    if table in ("townships", "waterbodies"):
        out = out.set_geometry([g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g])
                                for g in out.geometry], crs=out.crs)
    elif table == "rivers":
        out = out.set_geometry([g if g.geom_type == "MultiLineString" else shapely.MultiLineString([g])
                                for g in out.geometry], crs=out.crs)
    return out


@pytest.fixture
def filled(store):
    store.replace_all(sample_tables())
    return store


def test_round_trip_every_table(filled):
    tables = sample_tables()
    assert set(filled.tables()) == set(tables)
    for name, df in tables.items():
        got = filled.read(name)
        # Rows in order, every column (optional and extra ones too) with contract dtypes.
        pd.testing.assert_frame_equal(got, _as_stored(name, df), check_dtype=True, obj=name)
    assert filled.meta() == {"as_of": "2007-06-30", "district": "衢江区"}


def test_geometries_keep_coordinates_and_promote_to_multi(filled):
    rivers = filled.read("rivers")
    assert list(shapely.get_type_id(rivers.geometry.values)) == [5, 5]  # MultiLineString, as stored
    src = sample_tables()["rivers"]
    assert shapely.equals_exact(rivers.geometry.values[0].geoms[0], src.geometry.values[0], tolerance=0)
    assert rivers.crs.to_epsg() == 4326


def test_hostile_strings_stored_verbatim(filled):
    ent = filled.read("enterprises").set_index("id")
    assert ent.loc["e2", "name"] == HOSTILE
    assert len(filled.read("enterprises")) == 3  # and the table is still there


def test_upsert_replaces_existing_rows_whole_and_adds_new(filled):
    v0 = filled.version()
    rows = gpd.GeoDataFrame(
        {"id": ["e1", "e9"], "name": ["甲（改名）", "新企业"], "industry": ["化工", "建材"],
         "status": ["closed", "operating"], "deadline": [None, None], "closed_on": ["2007-06-20", None],
         "site_manager": ["赵", None]},
        geometry=[shapely.Point(118.911, 28.911), shapely.Point(118.99, 28.98)], crs="EPSG:4326")
    filled.commit([Change("enterprises", rows, "upsert")])
    ent = filled.read("enterprises")
    assert ent["id"].tolist() == ["e1", "e2", "e3", "e9"]  # upserted rows keep their place; new ones come last
    e1 = ent.set_index("id").loc["e1"]
    # the row said "closed" but e1's latest event says "committed": status always follows the events
    assert e1["name"] == "甲（改名）" and e1["status"] == "committed"
    assert ent.set_index("id").loc["e9", "status"] == "operating"  # a site without events keeps its own
    assert e1["closed_on"] == pd.Timestamp("2007-06-20")
    # e1 was replaced whole: the columns the new row lacks are empty now, the new column is kept
    assert pd.isna(e1["park"]) and pd.isna(e1["contact"]) and e1["site_manager"] == "赵"
    assert ent.set_index("id").loc["e2", "contact"] == "李四"
    assert shapely.equals(e1["geometry"], shapely.Point(118.911, 28.911))
    assert filled.version() != v0


def test_append_keeps_order_and_existing_rows(filled):
    new = pd.DataFrame({"point_id": ["p2", "p2"], "sampled_at": ["2007-06-20 10:00", "2007-06-20 10:00"],
                        "parameter": ["TP", "COD"], "value": [0.31, 41.0], "unit": ["mg/L", "mg/L"]})
    filled.commit([Change("readings", new, "append")])
    r = filled.read("readings")
    assert len(r) == 7
    assert r["parameter"].tolist()[-2:] == ["TP", "COD"]
    assert r["value"].tolist()[:5] == [18.0, 22.5, 0.8, 35.0, 0.05]
    assert r["below_detection"].isna().tolist() == [False, False, False, True, False, True, True]


def test_read_versioned_pairs_each_table_with_its_own_version(filled):
    """Pages cache each table by its own version: the pair must be read together, and a write to one table
    changes that table's version only."""
    versions = filled.versions(["readings", "enterprises", "status_events"])
    assert versions == {t: filled.version([t]) for t in versions}
    v, frame = filled.read_versioned("readings")
    assert v == versions["readings"]
    pd.testing.assert_frame_equal(frame, filled.read("readings"))
    new = pd.DataFrame({"point_id": ["p2"], "sampled_at": ["2007-06-21 10:00"], "parameter": ["TP"],
                        "value": [0.2], "unit": ["mg/L"]})
    filled.commit([Change("readings", new, "append")])
    after = filled.versions(["readings", "enterprises", "status_events"])
    assert after["readings"] != versions["readings"]
    assert after["enterprises"] == versions["enterprises"] and after["status_events"] == versions["status_events"]
    v2, frame2 = filled.read_versioned("readings")
    assert v2 == after["readings"] and len(frame2) == len(frame) + 1
    with pytest.raises(StoreError):
        filled.read_versioned("nope")


@pytest.mark.parametrize("bad", ["status", "duplicate", "geometry", "crs", "number", "empty_name"])
def test_validation_refuses_and_writes_nothing(filled, bad):
    before = {t: filled.read(t) for t in ("enterprises", "status_events")}
    v0 = filled.version()
    rows = sample_tables()["enterprises"].iloc[[0]].copy()
    if bad == "status":
        rows["status"] = "demolished"
    elif bad == "duplicate":
        rows = pd.concat([rows, rows])
    elif bad == "geometry":
        rows = rows.set_geometry([shapely.LineString([(118.9, 28.9), (119, 29)])], crs="EPSG:4326")
    elif bad == "crs":
        rows = rows.to_crs(3857)
    elif bad == "number":
        rows["deadline"] = "next year"
    elif bad == "empty_name":
        rows["name"] = None
    event = pd.DataFrame({"layer": ["enterprises"], "feature_id": ["e1"], "status": ["closed"],
                          "effective_on": ["2007-06-29"], "recorded_at": ["2007-06-29 17:00"],
                          "recorded_by": ["t"], "note": [None]})
    with pytest.raises(StoreError) as err:
        # the valid event goes first: it must not be written either
        filled.commit([Change("status_events", event, "append"), Change("enterprises", rows, "upsert")])
    assert all(p.table == "enterprises" for p in err.value.problems)
    for t, df in before.items():
        pd.testing.assert_frame_equal(filled.read(t), df)
    assert filled.version() == v0
    filled.commit([Change("status_events", event, "append")])  # on its own it is fine
    assert len(filled.read("status_events")) == len(before["status_events"]) + 1


def test_refusal_lists_every_problem_row(filled):
    rows = sample_tables()["farms"].copy()
    rows["status"] = ["operating", "gone"]
    rows["head_count"] = [-5, 10]
    with pytest.raises(StoreError) as err:
        filled.commit([Change("farms", rows, "upsert")])
    found = {(p.row_id, p.column) for p in err.value.problems}
    assert found == {("f2", "status"), ("f1", "head_count")}


def test_upsert_lacking_a_required_column_is_judged_in_the_table(filled):
    # the table has 'industry'; rows without it get NULL there (allowed), not "column missing"
    rows = sample_tables()["enterprises"].iloc[[2]].drop(columns=["industry"]).copy()
    rows["name"] = "丙厂（新）"
    filled.commit([Change("enterprises", rows, "upsert")])
    e3 = filled.read("enterprises").set_index("id").loc["e3"]
    assert e3["name"] == "丙厂（新）" and pd.isna(e3["industry"])


def test_replace_drops_old_rows_and_columns(filled):
    small = sample_tables()["kilns"].iloc[[1]].copy()
    small["owner"] = ["钱"]
    filled.commit([Change("kilns", small, "replace")])
    k = filled.read("kilns")
    assert k["id"].tolist() == ["k2"] and k["owner"].tolist() == ["钱"]
    filled.commit([Change("kilns", sample_tables()["kilns"], "replace")])
    assert "owner" not in filled.read("kilns").columns


def test_unknown_table_and_bad_change_refused(store):
    with pytest.raises(StoreError):
        store.read("nonsense")
    with pytest.raises(StoreError):
        Change("readings", pd.DataFrame(), "upsert")


def test_empty_store_reads_empty_contract_frames(store):
    ent = store.read("enterprises")
    assert len(ent) == 0 and {"id", "name", "status", "geometry"} <= set(ent.columns)
    assert store.meta() == {}


def test_same_data_same_answer_on_both_backends(tmp_path, pg_db):
    """The same commits give equal tables on both backends (order-free comparison)."""
    stores = [GpkgStore(tmp_path / "a.gpkg", create=True), open_store(pg_db, create=True)]
    for s in stores:
        s.replace_all(sample_tables())
        ev = pd.DataFrame({"layer": ["farms"], "feature_id": ["f2"], "status": ["relocated"],
                           "effective_on": ["2007-06-10"], "recorded_at": ["2007-06-10 11:00"],
                           "recorded_by": ["inspector"], "note": ["搬迁"]})
        site = s.read("farms")
        site = site[site["id"] == "f2"].assign(status="relocated")
        s.commit([Change("status_events", ev, "append"), Change("farms", site, "upsert")])
    for t in sample_tables():
        key = {"readings": ["point_id", "sampled_at", "parameter"], "status_events": None}.get(t, None)
        a, b = (s.read(t) for s in stores)
        if t == "status_events":
            key = ["layer", "feature_id", "effective_on", "status"]
        elif t == "assessment_entries":
            key = ["year", "unit", "item"]
        elif t == "section_classes":
            key = ["point_id", "month"]
        elif t == "edits":
            key = ["layer", "feature_id", "field"]
        elif key is None:
            key = "code" if t == "townships" else "key" if t == "meta" else "id"
        pd.testing.assert_frame_equal(sorted_frame(a, key), sorted_frame(b, key), obj=t)
