"""GeoPackage store specifics: atomic swap, crash safety, the shipped demo never written, concurrent writers."""
import hashlib
import multiprocessing as mp

import pandas as pd
import pytest

from geo.store import gpkg as store_mod
from geo.store import Change, GpkgStore, StoreError, ensure_work_copy, open_store

from tests.conftest import DEMO


def _digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _event(fid, status, day, by="t"):
    return pd.DataFrame([dict(layer="farms", feature_id=fid, status=status, effective_on=day,
                              recorded_at=pd.Timestamp.now(), recorded_by=by, note="")])


def test_crash_while_writing_leaves_store_untouched(demo_store, monkeypatch):
    s = GpkgStore(demo_store)
    before, version = s.read_many(), s.version()
    farms = s.read("farms")
    changed = farms.iloc[[0]].assign(status="closed")

    def boom(*a, **k):
        raise OSError("disk full")

    # fails after the rows are written, inside the transaction: everything is rolled back
    monkeypatch.setattr(store_mod, "_bump", boom)
    with pytest.raises(OSError):
        s.commit([Change("farms", changed, "upsert"), Change("status_events", _event(changed.id.iat[0], "closed",
                                                                                   "2007-06-30"), "append")])
    after = s.read_many()
    for t, df in before.items():
        pd.testing.assert_frame_equal(after[t], df, obj=t)
    assert s.version() == version
    assert not list(demo_store.parent.glob(".*.gpkg")), "temporary file left behind"


def test_commit_changes_version_and_persists(demo_store):
    s = GpkgStore(demo_store)
    v = s.version()
    farms = s.read("farms")
    fid = farms.id.iat[0]
    s.commit([Change("farms", farms.iloc[[0]].assign(status="closed"), "upsert"),
              Change("status_events", _event(fid, "closed", "2007-06-30"), "append")])
    assert s.version() != v
    again = open_store(demo_store)
    assert again.read("farms").set_index("id").loc[fid, "status"] == "closed"
    assert len(again.read("farms")) == len(farms)


def test_invalid_commit_is_refused_with_problems(demo_store):
    s = GpkgStore(demo_store)
    before, version = s.read("kilns"), s.version()
    bad = s.read("kilns").iloc[[0]].assign(status="demolished")
    with pytest.raises(StoreError) as err:
        s.commit([Change("kilns", bad, "upsert")])
    assert err.value.problems and err.value.problems[0].column == "status"
    pd.testing.assert_frame_equal(s.read("kilns"), before)
    assert s.version() == version


def test_work_copy_made_from_demo_which_stays_unchanged(tmp_path):
    before = _digest(DEMO)
    work = ensure_work_copy(tmp_path / "work" / "qingshan.gpkg", DEMO)
    s = GpkgStore(work)
    e = s.read("enterprises")
    s.commit([Change("enterprises", e.iloc[[0]].assign(name="改名"), "upsert")])
    assert _digest(DEMO) == before
    assert ensure_work_copy(work, DEMO) == work  # existing working copy is kept, not reset
    renamed = GpkgStore(work).read("enterprises").set_index("id").loc[e.id.iat[0], "name"]
    assert renamed == "改名"


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no store"):
        open_store(tmp_path / "nope.gpkg")


def _writer(path, who, n):
    s = GpkgStore(path)
    for i in range(n):
        s.commit([Change("status_events", _event("F001", "treating", "2007-06-30", by=f"{who}-{i}"), "append")])


def test_concurrent_writers_lose_nothing(demo_store):
    n_before = len(GpkgStore(demo_store).read("status_events"))
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(demo_store, f"w{k}", 5)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    ev = GpkgStore(demo_store).read("status_events")
    assert len(ev) == n_before + 15
    assert {f"w{k}-{i}" for k in range(3) for i in range(5)} <= set(ev.recorded_by)


def test_status_follows_latest_event_even_when_backdated(demo_store):
    s = GpkgStore(demo_store)
    farm = s.read("farms").set_index("id").loc["F001"]
    assert farm["status"] == "treating"
    # An event dated before the site's latest one is recorded but does not change the current status.
    s.commit([Change("status_events", _event("F001", "closed", "2005-01-01"), "append")])
    assert s.read("farms").set_index("id").loc["F001", "status"] == "treating"
    # A newer event alone (without the site row) moves the status.
    s.commit([Change("status_events", _event("F001", "accepted", "2007-07-15"), "append")])
    assert s.read("farms").set_index("id").loc["F001", "status"] == "accepted"
    from geo.check import check_store

    assert [p for p in check_store(s) if p.severity == "error"] == []


def test_upsert_row_without_id_is_refused(demo_store):
    s = GpkgStore(demo_store)
    row = s.read("farms").iloc[[0]].assign(id=None)
    with pytest.raises(StoreError) as err:
        s.commit([Change("farms", row, "upsert")])
    assert any(p.why == "empty id" for p in err.value.problems)
