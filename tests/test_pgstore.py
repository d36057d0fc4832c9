"""PostGIS-specific behaviour: schema and migration, copy both ways, concurrency, push-down queries."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from geo import history
from geo.cli import main as geo_main
from geo.check import check_store
from geo.contract import STATUS, TABLES
from geo.store.postgis import SCHEMA_VERSION, PostgisStore, copy_store
from geo.store import Change, GpkgStore, StoreError, open_store
from tests.storedata import sample_tables, sorted_frame

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo.gpkg"
KEYS = {"townships": "code", "meta": "key", "readings": ["point_id", "sampled_at", "parameter", "value"],
        "status_events": ["layer", "feature_id", "effective_on", "recorded_at", "status", "recorded_by", "note"],
        "assessment_entries": ["year", "unit", "item", "entered_at"]}


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def pg(pg_db) -> PostgisStore:
    store = open_store(pg_db, create=True)
    store.replace_all(sample_tables())
    return store


# --- schema ------------------------------------------------------------------------------

def test_open_without_schema_says_how_to_migrate(pg_db, capsys):
    with pytest.raises(StoreError, match="geo migrate"):
        open_store(pg_db)
    assert geo_main(["migrate", "--store", pg_db]) == 0
    assert f"from version 0 to {SCHEMA_VERSION}" in capsys.readouterr().out
    assert geo_main(["migrate", "--store", pg_db]) == 0  # idempotent
    assert "already current" in capsys.readouterr().out
    store = open_store(pg_db)
    assert set(store.tables()) == set(TABLES)
    assert len(store.read("enterprises")) == 0


def test_migrate_refuses_a_geopackage(tmp_path, capsys):
    assert geo_main(["migrate", "--store", str(tmp_path / "x.gpkg")]) == 2
    assert "postgresql://" in capsys.readouterr().err


def test_schema_types_geometry_and_indexes(pg, pg_db):
    with psycopg.connect(_libpq(pg_db)) as conn:
        geo_cols = dict(((t, (typ, srid)) for t, typ, srid in conn.execute(
            "SELECT f_table_name, type, srid FROM geometry_columns WHERE f_table_schema = current_schema()")))
        assert geo_cols == {"townships": ("MULTIPOLYGON", 4326), "rivers": ("MULTILINESTRING", 4326),
                            "waterbodies": ("MULTIPOLYGON", 4326), "enterprises": ("POINT", 4326),
                            "kilns": ("POINT", 4326), "farms": ("POINT", 4326), "sampling_points": ("POINT", 4326),
                            "complaints": ("POINT", 4326), "inspection_visits": ("POINT", 4326)}
        gist = {r[0] for r in conn.execute("SELECT tablename FROM pg_indexes WHERE indexdef ILIKE '%USING gist%'")}
        assert set(geo_cols) <= gist
        types = dict(((t, c), d) for t, c, d in conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema()"))
    assert types[("enterprises", "deadline")] == "date"
    assert types[("readings", "sampled_at")] == "timestamp without time zone"
    assert types[("readings", "value")] == "double precision"
    assert types[("farms", "head_count")] == "integer"
    assert types[("readings", "below_detection")] == "boolean"
    assert types[("enterprises", "name")] == "text"
    assert types[("enterprises", "contact")] == "text"  # a column beyond the contract is stored too
    assert types[("attachments", "content")] == "bytea"


def test_version_is_a_counter_bumped_by_commits(pg):
    v1 = pg.version()
    assert pg.version() == v1
    pg.read("enterprises")
    assert pg.version() == v1
    pg.commit([Change("meta", pd.DataFrame({"key": ["as_of"], "value": ["2007-07-31"]}), "upsert")])
    v2 = pg.version()
    assert v2 != v1 and v2.rsplit("-", 1)[0] == v1.rsplit("-", 1)[0]
    assert int(v2.rsplit("-", 1)[1]) == int(v1.rsplit("-", 1)[1]) + 1
    assert pg.meta()["as_of"] == "2007-07-31"


def test_password_not_shown_in_url(pg_db):
    url = pg_db.replace("postgres@", "postgres:s3cret@", 1)  # trust auth ignores the password
    store = open_store(url, create=True)
    assert "s3cret" not in store.url


# --- copy ---------------------------------------------------------------------------------

def _assert_same_store(a, b):
    assert set(a.tables()) <= set(b.tables())
    for t in a.tables():
        key = KEYS.get(t, "id")
        pd.testing.assert_frame_equal(sorted_frame(a.read(t), key), sorted_frame(b.read(t), key), obj=t)


def test_copy_both_ways_round_trip_on_the_demo(tmp_path, pg_db, capsys):
    src = tmp_path / "demo.gpkg"
    shutil.copyfile(DEMO, src)
    assert geo_main(["copy", str(src), pg_db]) == 0
    out = capsys.readouterr().out
    assert "copied" in out
    pg = open_store(pg_db)
    _assert_same_store(GpkgStore(src), pg)
    back = tmp_path / "back.gpkg"
    assert geo_main(["copy", pg_db, str(back)]) == 0
    _assert_same_store(GpkgStore(src), GpkgStore(back))
    # and the copy is lossless to the row order, too
    for t in GpkgStore(src).tables():
        pd.testing.assert_frame_equal(GpkgStore(src).read(t), GpkgStore(back).read(t), obj=t)
    # geo check finds the same on both
    assert sorted(map(str, check_store(pg))) == sorted(map(str, check_store(GpkgStore(src))))


def test_copy_replaces_destination_entirely(tmp_path, pg):
    src = GpkgStore(tmp_path / "small.gpkg", create=True)
    src.replace_all({"enterprises": sample_tables()["enterprises"].iloc[:1], "meta": sample_tables()["meta"]})
    copy_store(src, pg)
    assert pg.read("enterprises")["id"].tolist() == ["e1"]
    assert len(pg.read("status_events")) == 0 and len(pg.read("townships")) == 0
    _assert_same_store(src, pg)


def test_copy_refuses_bad_source_and_writes_nothing(tmp_path, pg):
    before = pg.read("farms")
    bad = GpkgStore(tmp_path / "bad.gpkg", create=True)
    farms = sample_tables()["farms"]
    bad.replace_all({"farms": farms})
    # break the source behind the store's back (as a desktop GIS edit could)
    import pyogrio

    broken = farms.copy()
    broken["status"] = ["operating", "flooded"]
    pyogrio.write_dataframe(broken, bad.path, layer="farms", layer_options={"OVERWRITE": "YES"})
    with pytest.raises(StoreError) as err:
        copy_store(bad, pg)
    assert [(p.table, p.row_id, p.column) for p in err.value.problems] == [("farms", "f2", "status")]
    pd.testing.assert_frame_equal(pg.read("farms"), before)


def test_copy_cli_missing_source(tmp_path, pg_db, capsys):
    assert geo_main(["copy", str(tmp_path / "none.gpkg"), pg_db]) == 2
    assert "none.gpkg" in capsys.readouterr().err


# --- push-down ----------------------------------------------------------------------------

def test_latest_readings_match_pandas(pg):
    r = pg.read("readings").reset_index()
    expected = (r.sort_values(["sampled_at", "index"]).groupby(["point_id", "parameter"]).tail(1)
                .drop(columns="index").sort_values(["point_id", "parameter"]).reset_index(drop=True))
    got = pg.latest_readings().sort_values(["point_id", "parameter"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    cod = pg.latest_readings(["COD"])
    assert sorted(cod["point_id"]) == ["p1", "p2"] and set(cod["parameter"]) == {"COD"}
    assert cod.set_index("point_id").loc["p1", "value"] == 22.5


def test_status_counts_match_the_table(pg):
    for layer in ("enterprises", "kilns", "farms"):
        expected = pg.read(layer)["status"].value_counts().sort_index()
        got = pg.status_counts(layer).sort_index()
        assert got.to_dict() == expected.to_dict()
    with pytest.raises(StoreError):
        pg.status_counts("readings; DROP TABLE farms")


# --- status = latest event ----------------------------------------------------------------

def _update(store, layer, fid, status, effective_on, who, note):
    """An inspector's status update: append the event, set the site's status (as the intake page does)."""
    sites = store.read(layer)
    row = sites[sites["id"] == fid].assign(status=status)
    event = pd.DataFrame({"layer": [layer], "feature_id": [fid], "status": [status],
                          "effective_on": [effective_on], "recorded_at": [dt.datetime.now()],
                          "recorded_by": [who], "note": [note]})
    store.commit([Change("status_events", event, "append"), Change(layer, row, "upsert")])


def test_backdated_event_does_not_override_the_latest(pg):
    # e1's latest event is 'committed' (2007-04-10); a late entry for March must not become current
    _update(pg, "enterprises", "e1", "suspended", "2007-03-20", "王", "补录")
    e1 = pg.read("enterprises").set_index("id").loc["e1"]
    assert e1["status"] == "committed"
    assert len(pg.read("status_events")) == len(sample_tables()["status_events"]) + 1


def _in_threads(work, n: int) -> list:
    """Run ``work(k)`` for k in range(n) on n threads at once; the exceptions they raised."""
    errors: list = []

    def run(k: int):
        try:
            work(k)
        except Exception as exc:  # noqa: BLE001 - collected and asserted empty by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_updates_to_one_site_threads(pg):
    n_threads, per_thread = 6, 8
    before = len(pg.read("status_events"))
    codes = STATUS["enterprises"]

    def inspector(k: int):
        store = open_store(pg.engine.url.render_as_string(hide_password=False))
        for j in range(per_thread):
            day = dt.date(2007, 6, 1) + dt.timedelta(days=(k * 7 + j * 3) % 25)
            _update(store, "enterprises", "e3", codes[(k + j) % len(codes)], day, f"insp{k}", f"{k}-{j}")

    assert _in_threads(inspector, n_threads) == []
    _assert_no_event_lost_and_status_latest(pg, before, {f"{k}-{j}" for k in range(n_threads)
                                                         for j in range(per_thread)})


def _assert_no_event_lost_and_status_latest(store, before: int, notes: set[str]) -> None:
    events = store.read("status_events")
    assert len(events) == before + len(notes)
    assert notes <= set(events["note"].dropna())
    sites = store.read_many(["enterprises", "status_events"])
    latest = history.status_on(sites["status_events"], "enterprises")
    current = sites["enterprises"].set_index("id")["status"]
    assert (current == latest.reindex(current.index)).all(), pd.concat([current, latest], axis=1)
    assert not [p for p in check_store(store) if p.column == "status"]


WORKER = r"""
import datetime as dt, sys
import pandas as pd
from geo.store import Change, open_store
url, k, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = open_store(url)
codes = ["operating", "committed", "suspended", "closed"]
for j in range(n):
    sites = store.read("enterprises")
    status = codes[(k + j) % 4]
    row = sites[sites["id"] == "e1"].assign(status=status)
    ev = pd.DataFrame({"layer": ["enterprises"], "feature_id": ["e1"], "status": [status],
                       "effective_on": [dt.date(2007, 6, 1 + (k * 5 + j) % 28)], "recorded_at": [dt.datetime.now()],
                       "recorded_by": [f"proc{k}"], "note": [f"p{k}-{j}"]})
    store.commit([Change("status_events", ev, "append"), Change("enterprises", row, "upsert")])
"""


def test_concurrent_updates_to_one_site_processes(pg, pg_db):
    before = len(pg.read("status_events"))
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, pg_db, str(k), "6"], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for k in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    _assert_no_event_lost_and_status_latest(pg, before, {f"p{k}-{j}" for k in range(3) for j in range(6)})


def test_concurrent_first_writes_into_an_empty_table(pg_db, monkeypatch):
    store = open_store(pg_db, create=True)
    # Widen the race: every writer has looked at the (empty) table before any of them writes.
    apply = PostgisStore._apply

    def slow_apply(self, *a, **kw):
        time.sleep(0.5)
        return apply(self, *a, **kw)

    monkeypatch.setattr(PostgisStore, "_apply", slow_apply)

    def write(k: int):
        rows = pd.DataFrame({"point_id": ["p1"], "sampled_at": [f"2007-06-0{k + 1} 09:00"], "parameter": ["COD"],
                             "value": [float(k)], "unit": ["mg/L"], f"extra{k}": ["x"]})
        open_store(pg_db).commit([Change("readings", rows, "append")])

    assert _in_threads(write, 4) == []
    r = store.read("readings")
    assert sorted(r["value"]) == [0.0, 1.0, 2.0, 3.0]  # nobody's rows were wiped by another's first write


def test_unavailable_postgres_is_reported(tmp_path, monkeypatch):
    from tests.pg import PostgisUnavailable, throwaway_cluster

    monkeypatch.delenv("QINGSHAN_TEST_PG", raising=False)
    monkeypatch.setenv("PG_BIN", str(tmp_path))
    with pytest.raises(PostgisUnavailable, match="initdb"):
        with throwaway_cluster():
            pass


def test_concurrent_updates_through_geo_updates(pg):
    """The app's own status-update path (geo.updates) under concurrency, on PostGIS."""
    from geo import updates

    before = len(pg.read("status_events"))
    codes = STATUS["farms"]

    def inspector(k: int):
        for j in range(5):
            day = dt.date(2007, 6, 1) + dt.timedelta(days=(k * 11 + j * 5) % 29)
            updates.update_status(pg, "farms", "f1", codes[(k + j) % len(codes)], day, f"u{k}-{j}", f"insp{k}",
                                  today=dt.date(2007, 6, 30))

    assert _in_threads(inspector, 4) == []
    events = pg.read("status_events")
    assert len(events) == before + 20 and {f"u{k}-{j}" for k in range(4) for j in range(5)} <= set(events["note"])
    latest = history.status_on(events, "farms")
    assert pg.read("farms").set_index("id").loc["f1", "status"] == latest["f1"]
