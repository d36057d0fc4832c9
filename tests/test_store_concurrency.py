"""Writers that are killed, race each other, or run while GDAL reads: on GeoPackage and PostGIS.

Writers run in separate processes (as several Streamlit servers, the command
line and a QGIS session would), started with ``python -c`` from the project
root. Every test checks the store afterwards with ``geo.check.check_store``.
"""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
import shapely

from geo import history
from geo.check import check_store
from geo.store import Change, GpkgStore, open_store
from geo.store.postgis import copy_store
from tests.conftest import ROOT


@pytest.fixture(params=["gpkg", "postgis"])
def spec(request, demo_store) -> str:
    """The demo district in a store of each kind; its spec (path or URL)."""
    _as_of_later(demo_store)
    if request.param == "gpkg":
        return str(demo_store)
    url = request.getfixturevalue("pg_db")
    copy_store(GpkgStore(demo_store), open_store(url, create=True))
    return url


def _as_of_later(path) -> None:
    """The writers record events dated 2008 and later: the store's data must stand after them
    (a store refuses dates after its as_of)."""
    meta = open_store(path).read("meta")
    meta.loc[meta["key"] == "as_of", "value"] = "2030-01-01"
    open_store(path).commit([Change("meta", meta, "replace")])


def _start(script: str, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _errors(store) -> list:
    return [p for p in check_store(store) if p.severity == "error"]


def _status_is_latest_event(store) -> None:
    t = store.read_many(["enterprises", "kilns", "farms", "status_events"])
    for layer in ("enterprises", "kilns", "farms"):
        latest = history.status_on(t["status_events"], layer)
        current = t[layer].set_index("id")["status"]
        bad = current[latest.reindex(current.index).notna() & (current != latest.reindex(current.index))]
        assert bad.empty, f"{layer}: status differs from the latest event for {list(bad.index)[:5]}"


# --- kill -9 at random moments -------------------------------------------------------------------

WRITER = r"""
import datetime as dt, sys
import pandas as pd
from geo.store import Change, open_store
spec, k = sys.argv[1], int(sys.argv[2])
store = open_store(spec)
ids = store.read("farms")["id"].tolist()[:10]
point = store.read("sampling_points")["id"].iloc[0]
codes = ["operating", "treating", "accepted", "closed"]
while True:
    k += 1
    names = pd.DataFrame({"id": ids, "name": [f"名{k}"] * len(ids)})
    ev = pd.DataFrame({"layer": "farms", "feature_id": ids, "status": codes[k % 4],
                       "effective_on": dt.date(2008, 1, 1) + dt.timedelta(days=k), "recorded_at": dt.datetime.now(),
                       "recorded_by": "writer", "note": f"c{k}"})
    # one reading per point, time and parameter (the stores' unique index): each commit its own hour
    rd = pd.DataFrame({"point_id": point, "sampled_at": [dt.datetime(2008, 1, 1) + dt.timedelta(hours=k, seconds=i)
                                                         for i in range(50)],
                       "parameter": "COD", "value": float(k), "unit": "mg/L"})
    store.commit([Change("farms", names, "upsert", columns=["name"]), Change("status_events", ev, "append"),
                  Change("readings", rd, "append")])
    print(k, flush=True)
"""


def test_killed_writer_leaves_the_store_before_or_after(spec):
    store = open_store(spec)
    farms = store.read("farms")["id"].tolist()[:10]
    rng = random.Random(7)
    done = 0
    for _ in range(4):
        p = _start(WRITER, spec, done)
        first = p.stdout.readline()
        assert first.strip(), p.stderr.read()
        time.sleep(rng.uniform(0.0, 0.6))  # somewhere inside a later commit, or between two
        os.kill(p.pid, signal.SIGKILL)
        out, _ = p.communicate(timeout=60)
        reported = int(([first] + out.split())[-1])
        ev = store.read("status_events")
        seen = ev.loc[ev["note"].fillna("").str.fullmatch(r"c\d+"), "note"].str[1:].astype(int)
        last = int(seen.max())
        # every commit whole or not at all: the reported ones and at most the one being written
        assert last in (reported, reported + 1)
        assert sorted(seen.value_counts().to_dict().items()) == [(k, 10) for k in range(1, last + 1)]
        rd = store.read("readings")
        ours = rd.loc[rd["sampled_at"].dt.year == 2008, "value"]  # (the demo's readings are all before)
        assert sorted(ours.value_counts().to_dict().items()) == [(float(k), 50) for k in range(1, last + 1)]
        names = store.read("farms").set_index("id").loc[farms, "name"]
        assert (names == f"名{last}").all()
        assert _errors(store) == []
        _status_is_latest_event(store)
        done = last
    if not spec.startswith("postgresql"):
        assert not [f for f in os.listdir(os.path.dirname(spec)) if f.startswith(".")], "temporary files left"


# --- concurrent writers ---------------------------------------------------------------------------

INSPECTOR = r"""
import datetime as dt, sys
from geo.store import open_store
from geo.updates import update_status
spec, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ids = sys.argv[4].split(",")
store = open_store(spec)
codes = ["operating", "committed", "suspended", "closed"]
for j in range(n):
    day = dt.date(2008, 1, 1) + dt.timedelta(days=j * 3 + int(who[-1]))
    update_status(store, "enterprises", ids[j % len(ids)], codes[j % 4], day, f"{who}-{j}", who,
                  today=dt.date(2030, 1, 1))
    print(f"{who}-{j}", flush=True)
"""


def test_concurrent_status_updates_lose_no_event(spec):
    store = open_store(spec)
    ids = store.read("enterprises")["id"].tolist()[:3]
    before = len(store.read("status_events"))
    procs = [_start(INSPECTOR, spec, f"p{k}", 6, ",".join(ids)) for k in range(3)]
    reported = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        reported += out.split()
    assert len(reported) == 18
    ev = store.read("status_events")
    assert len(ev) == before + 18 and set(reported) <= set(ev["note"])
    _status_is_latest_event(store)
    assert _errors(store) == []


IMPORTER = r"""
import datetime as dt, sys, tempfile, os
from geo.intake import import_file
from geo.store import open_store
spec, rounds = sys.argv[1], int(sys.argv[2])
ids = sys.argv[3].split(",")
store = open_store(spec)
d = tempfile.mkdtemp()
for r in range(1, rounds + 1):
    path = os.path.join(d, f"ledger{r}.csv")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("编号,企业名称\n" + "".join(f"{i},{i}第{r}次更名\n" for i in ids))
    res = import_file(store, "enterprises", path, datum="wgs84", user="导入员", now=dt.datetime(2030, 1, 1, 8, 0),
                      update_existing=True)
    assert res.ok, [str(p) for p in res.errors]
    print(r, flush=True)
"""


def test_import_racing_status_updates_keeps_every_reported_success(spec):
    """Issue 14: a ledger renaming sites while inspectors update the same sites, in separate processes."""
    store = open_store(spec)
    ids = store.read("enterprises")["id"].tolist()[:20]
    before = len(store.read("status_events"))
    imp = _start(IMPORTER, spec, 4, ",".join(ids))
    insp = [_start(INSPECTOR, spec, f"i{k}", 8, ",".join(ids[k::2])) for k in range(2)]
    out, err = imp.communicate(timeout=600)
    assert imp.returncode == 0, err
    assert out.split() == ["1", "2", "3", "4"]
    notes = []
    for p in insp:
        o, e = p.communicate(timeout=600)
        assert p.returncode == 0, e
        notes += o.split()
    ent = store.read("enterprises").set_index("id")
    # the last import's names, none undone by an inspector's write of an older row
    assert (ent.loc[ids, "name"] == [f"{i}第4次更名" for i in ids]).all()
    ev = store.read("status_events")
    assert len(notes) == 16 and set(notes) <= set(ev["note"]) and len(ev) == before + 16
    _status_is_latest_event(store)
    assert _errors(store) == []


# --- status = latest event whatever a commit touches ------------------------------------------------

def test_rewriting_a_site_row_never_restores_a_stale_status(spec):
    store = open_store(spec)
    stale = store.read("farms").iloc[[0]]
    fid = stale["id"].iat[0]
    # an inspector records a change after the row was read ...
    ev = pd.DataFrame({"layer": ["farms"], "feature_id": [fid], "status": ["closed"], "effective_on": ["2008-01-01"],
                       "recorded_at": ["2008-01-01 09:00"], "recorded_by": ["insp"], "note": ["关停"]})
    store.commit([Change("status_events", ev, "append")])
    assert store.read("farms", where={"id": [fid]})["status"].iat[0] == "closed"
    # ... and the stale whole row is written back with a new name: the status stays the latest event
    store.commit([Change("farms", stale.assign(name="新名称"), "upsert")])
    row = store.read("farms", where={"id": [fid]})
    assert row["name"].iat[0] == "新名称" and row["status"].iat[0] == "closed"
    assert _errors(store) == []


def test_partial_upsert_writes_only_its_columns(spec):
    store = open_store(spec)
    row = store.read("enterprises").iloc[[0]]
    eid = row["id"].iat[0]
    store.commit([Change("enterprises", pd.DataFrame({"id": [eid], "name": ["只改名称"]}), "upsert",
                         columns=["name"])])
    after = store.read("enterprises", where={"id": [eid]})
    assert after["name"].iat[0] == "只改名称"
    for col in ("industry", "status", "deadline", "closed_on"):
        a, b = after[col].iat[0], row[col].iat[0]
        assert (pd.isna(a) and pd.isna(b)) or a == b, col
    assert shapely.equals(after.geometry.iat[0], row.geometry.iat[0])
    # a partial row must still pass the contract
    with pytest.raises(Exception) as err:
        store.commit([Change("enterprises", pd.DataFrame({"id": [eid], "status": ["demolished"]}), "upsert",
                             columns=["status"])])
    assert getattr(err.value, "problems", None)


def test_filtered_reads_match_whole_reads(spec):
    store = open_store(spec)
    ev = store.read("status_events")
    fid = ev["feature_id"].iat[0]
    some = store.read("status_events", where={"layer": [ev["layer"].iat[0]], "feature_id": [fid]})
    expect = ev[(ev["layer"] == ev["layer"].iat[0]) & (ev["feature_id"] == fid)].reset_index(drop=True)
    pd.testing.assert_frame_equal(some, expect)
    assert len(store.read("farms", where={"id": ["no such id"]})) == 0
    assert len(store.read("farms", where={"id": []})) == 0


def test_versions_change_per_table(spec):
    store = open_store(spec)
    v = {t: store.version([t]) for t in ("farms", "status_events", "readings")}
    v_all = store.version()
    fid = store.read("farms")["id"].iat[0]
    ev = pd.DataFrame({"layer": ["farms"], "feature_id": [fid], "status": ["closed"], "effective_on": ["2008-01-01"],
                       "recorded_at": ["2008-01-01 09:00"], "recorded_by": ["insp"], "note": [None]})
    store.commit([Change("status_events", ev, "append")])
    assert store.version() != v_all
    assert store.version(["status_events"]) != v["status_events"]
    assert store.version(["farms"]) != v["farms"]  # its status followed the event
    assert store.version(["readings"]) == v["readings"]  # the water page keeps its cache
    v2 = store.version(["readings"])
    rd = pd.DataFrame({"point_id": [store.read("sampling_points")["id"].iat[0]], "sampled_at": ["2008-01-01 09:00"],
                       "parameter": ["COD"], "value": [12.0], "unit": ["mg/L"]})
    store.commit([Change("readings", rd, "append")])
    assert store.version(["readings"]) != v2


# --- GeoPackage specifics ------------------------------------------------------------------------

HOLDER = r"""
import sys
import pandas as pd
from geo.store import Change, GpkgStore
store = GpkgStore(sys.argv[1])

def work(tx):
    f = tx.read("farms", where={"id": ["F001"]})
    tx.commit([Change("farms", pd.DataFrame({"id": ["F001"], "name": ["锁定中改名"]}), "upsert", columns=["name"])])
    print("holding", flush=True)
    sys.stdin.readline()  # keep the write transaction open until told

store.atomic(work)
print("committed", flush=True)
"""


def test_gdal_reads_while_a_writer_holds_the_lock(demo_store):
    import pyogrio

    s = GpkgStore(demo_store)
    s.commit([Change("meta", pd.DataFrame({"key": ["note"], "value": ["wal"]}), "upsert")])  # now in WAL mode
    con = sqlite3.connect(demo_store)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    old = s.read("farms", where={"id": ["F001"]})["name"].iat[0]
    p = _start(HOLDER, demo_store)
    assert p.stdout.readline().strip() == "holding", p.stderr.read()
    try:
        # GDAL (QGIS reads through it) opens the file and reads the last committed state meanwhile: the read
        # finishes while the writer still holds its lock (a read that waited for the lock would not finish here)
        done = {}
        reader = threading.Thread(target=lambda: done.update(farms=pyogrio.read_dataframe(demo_store, layer="farms")))
        reader.start()
        reader.join(timeout=120)
        assert "farms" in done, "the GDAL read waited for the writer"
        assert p.poll() is None, "the writer let go before the read finished"
        farms = done["farms"]
        assert farms.set_index("id").loc["F001", "name"] == old
        assert {"farms", "status_events", "readings"} <= {r[0] for r in pyogrio.list_layers(demo_store)}
    finally:
        p.stdin.write("\n")
        p.stdin.flush()
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0 and "committed" in out, err
    assert pyogrio.read_dataframe(demo_store, layer="farms").set_index("id").loc["F001", "name"] == "锁定中改名"


def _rtree_matches(path, table: str) -> None:
    from geo.store.gpkg_format import decode_blobs

    con = sqlite3.connect(path)
    try:
        rows = con.execute(f'SELECT f.fid, f.geom, r.minx, r.maxx, r.miny, r.maxy FROM "{table}" f '
                           f'LEFT JOIN "rtree_{table}_geom" r ON r.id = f.fid').fetchall()
        n_rtree = con.execute(f'SELECT count(*) FROM "rtree_{table}_geom"').fetchone()[0]
    finally:
        con.close()
    geoms = decode_blobs([r[1] for r in rows])
    b = shapely.bounds(geoms)
    box = np.array([[r[2], r[4], r[3], r[5]] for r in rows], dtype=float)
    assert n_rtree == len(rows), "every feature is in the R-tree, and only those"
    # the R-tree stores float32 boxes rounded outwards
    assert np.allclose(box, b, atol=1e-4)
    assert (box[:, 0] <= b[:, 0]).all() and (box[:, 2] >= b[:, 2]).all()


def test_rtree_follows_inserts_and_moves(demo_store):
    import pyogrio

    s = GpkgStore(demo_store)
    farms = s.read("farms")
    moved = farms.iloc[[0]].copy()
    moved = moved.set_geometry([shapely.Point(118.80, 28.60)], crs="EPSG:4326")
    new = farms.iloc[[1]].copy().assign(id="F999", name="新养殖场")
    new = new.set_geometry([shapely.Point(118.81, 28.61)], crs="EPSG:4326")
    s.commit([Change("farms", pd.concat([moved, new]), "upsert")])
    _rtree_matches(demo_store, "farms")
    # GDAL's spatial filter (it uses the R-tree) finds both at their new place, and the old place empty
    hit = pyogrio.read_dataframe(demo_store, layer="farms", bbox=(118.79, 28.59, 118.82, 28.62))
    assert set(hit["id"]) == {farms["id"].iat[0], "F999"}
    # a new layer created by the store carries its own R-tree
    rivers = s.read("rivers")
    s.commit([Change("rivers", rivers.iloc[:2], "replace")])
    _rtree_matches(demo_store, "rivers")
    _rtree_matches(demo_store, "townships")


def test_new_layer_in_an_existing_file_is_a_gdal_layer(tmp_path):
    import pyogrio

    from tests.storedata import sample_tables

    t = sample_tables()
    s = GpkgStore(tmp_path / "s.gpkg", create=True)
    s.replace_all({k: v for k, v in t.items() if k not in ("kilns", "readings")})
    s.commit([Change("kilns", t["kilns"], "replace"), Change("readings", t["readings"], "append")])
    layers = dict(pyogrio.list_layers(tmp_path / "s.gpkg"))
    assert layers["kilns"] == "Point" and "readings" in layers
    k = pyogrio.read_dataframe(tmp_path / "s.gpkg", layer="kilns")
    assert k.crs.to_epsg() == 4326 and list(k["id"]) == ["k1", "k2"]
    _rtree_matches(tmp_path / "s.gpkg", "kilns")
    assert _errors(s) == []


def test_stale_temporary_files_are_removed_and_modes_kept(demo_store):
    d = demo_store.parent
    old = d / ".commit-abc123.gpkg"
    own = d / f".{demo_store.name}.new-xyz.gpkg"
    for p in (old, own):
        p.write_bytes(b"x" * 1000)
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    os.chmod(demo_store, 0o664)
    s = GpkgStore(demo_store)  # opening cleans up after a killed writer
    assert not old.exists() and not own.exists()
    s.commit([Change("meta", pd.DataFrame({"key": ["x"], "value": ["1"]}), "upsert")])
    assert demo_store.stat().st_mode & 0o777 == 0o664
    s.rebuild(s.read_many())  # a whole-store rebuild swaps in a new file with the same mode
    assert demo_store.stat().st_mode & 0o777 == 0o664
    assert s.meta()["x"] == "1"
    assert not [f for f in os.listdir(d) if f.startswith(".")]


def test_export_is_one_standalone_file(demo_store, tmp_path):
    import pyogrio

    s = GpkgStore(demo_store)
    s.commit([Change("meta", pd.DataFrame({"key": ["x"], "value": ["导出"]}), "upsert")])
    out = s.export_gpkg(tmp_path / "out" / "copy.gpkg")
    assert os.listdir(out.parent) == ["copy.gpkg"]
    con = sqlite3.connect(out)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    con.close()
    meta = pyogrio.read_dataframe(out, layer="meta")
    assert dict(zip(meta["key"], meta["value"]))["x"] == "导出"


def test_read_many_is_one_snapshot_under_writers(demo_store):
    """Sites and events read together always agree, while another process keeps updating statuses."""
    _as_of_later(demo_store)
    s = GpkgStore(demo_store)
    ids = s.read("enterprises")["id"].tolist()[:3]
    p = _start(INSPECTOR, demo_store, "p1", 15, ",".join(ids))
    try:
        for _ in range(15):
            t = s.read_many(["enterprises", "status_events"])
            latest = history.status_on(t["status_events"], "enterprises")
            cur = t["enterprises"].set_index("id")["status"].loc[ids]
            assert (cur == latest.loc[ids]).all()
    finally:
        out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err


def test_a_refused_commit_leaves_the_file_byte_for_byte(demo_store):
    before = demo_store.read_bytes()
    s = GpkgStore(demo_store)
    bad = s.read("kilns").iloc[[0]].assign(status="demolished")
    with pytest.raises(Exception):
        s.commit([Change("kilns", bad, "upsert")])
    assert demo_store.read_bytes() == before
