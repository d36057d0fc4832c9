"""Load: simulated inspectors update statuses concurrently while the wall screen refreshes.

8 inspector threads × 25 updates each, aimed at a handful of sites so that
many land on the same site at once, while a reader thread runs the wall
screen's queries in a loop. Proves that no event is lost, that the current
status is the latest event after the run, and that every snapshot the wall
screen saw was consistent (status = latest event in it). Prints throughput.
"""
from __future__ import annotations

import datetime as dt
import random
import shutil
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from geo import history
from geo.contract import SITE_LAYERS, STATUS
from geo.store.postgis import copy_store
from geo.store import Change, GpkgStore, open_store
from tests.storedata import sample_tables

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo.gpkg"
INSPECTORS, UPDATES = 8, 25


@pytest.fixture
def loaded(pg_db, tmp_path):
    store = open_store(pg_db, create=True)
    if DEMO.exists():
        shutil.copyfile(DEMO, tmp_path / "demo.gpkg")
        copy_store(GpkgStore(tmp_path / "demo.gpkg"), store)
    else:
        store.replace_all(sample_tables())
    return store


def _targets(store, per_layer: int = 3) -> list[tuple[str, str]]:
    return [(layer, fid) for layer in SITE_LAYERS for fid in store.read(layer)["id"].tolist()[:per_layer]]


def _consistent(frames: dict[str, pd.DataFrame]) -> bool:
    """In one snapshot, each site with events has the status of its latest event."""
    for layer in SITE_LAYERS:
        latest = history.status_on(frames["status_events"], layer)
        current = frames[layer].set_index("id")["status"]
        both = current.index.intersection(latest.index)
        if not (current.loc[both] == latest.loc[both]).all():
            return False
    return True


def test_inspectors_and_wall_screen(loaded):
    store = loaded
    url = store.engine.url.render_as_string(hide_password=False)
    targets = _targets(store)
    before = len(store.read("status_events"))
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = {"n": 0, "inconsistent": 0}
    latencies: list[float] = []
    lat_lock = threading.Lock()

    def inspector(k: int) -> None:
        rng = random.Random(k)
        s = open_store(url)
        try:
            for j in range(UPDATES):
                layer, fid = rng.choice(targets)
                status = rng.choice(STATUS[layer])
                t0 = time.perf_counter()
                sites = s.read(layer)
                row = sites[sites["id"] == fid].assign(status=status)
                event = pd.DataFrame({
                    "layer": [layer], "feature_id": [fid], "status": [status],
                    "effective_on": [dt.date(2007, 6, 30) + dt.timedelta(days=rng.randrange(0, 20))],
                    "recorded_at": [dt.datetime.now()], "recorded_by": [f"inspector{k}"], "note": [f"{k}-{j}"]})
                s.commit([Change("status_events", event, "append"), Change(layer, row, "upsert")])
                with lat_lock:
                    latencies.append(time.perf_counter() - t0)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def wall_screen() -> None:
        s = open_store(url)
        try:
            while not stop.is_set():
                s.version()
                frames = s.read_many(["enterprises", "kilns", "farms", "status_events"])
                for layer in SITE_LAYERS:
                    s.status_counts(layer)
                s.latest_readings()
                reads["inconsistent"] += not _consistent(frames)
                reads["n"] += 1
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    reader = threading.Thread(target=wall_screen)
    workers = [threading.Thread(target=inspector, args=(k,)) for k in range(INSPECTORS)]
    t0 = time.perf_counter()
    reader.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    stop.set()
    reader.join()
    assert errors == []

    total = INSPECTORS * UPDATES
    events = store.read("status_events")
    assert len(events) == before + total  # no event lost
    assert {f"{k}-{j}" for k in range(INSPECTORS) for j in range(UPDATES)} <= set(events["note"].dropna())
    frames = store.read_many(["enterprises", "kilns", "farms", "status_events"])
    assert _consistent(frames)  # status = latest event, for every site
    assert reads["n"] > 0 and reads["inconsistent"] == 0
    lat = pd.Series(latencies)
    print(f"\nload: {INSPECTORS} inspectors x {UPDATES} updates on {len(targets)} sites: {total} commits in "
          f"{elapsed:.2f} s = {total / elapsed:.0f} updates/s; commit latency median "
          f"{lat.median() * 1000:.0f} ms, p95 {lat.quantile(0.95) * 1000:.0f} ms; "
          f"wall screen: {reads['n']} refreshes = {reads['n'] / elapsed:.1f}/s, all consistent")
