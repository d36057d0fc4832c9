"""Issue 13 item 4: a store with only the contract's required columns works everywhere.

Two such stores: a small synthetic province from :mod:`geo.synth` (``minimal=True``) and the demo with every
optional column (``required=False`` in :mod:`geo.contract`) dropped. Every page opens in Streamlit's AppTest
without an exception, and the main commands exit 0 on them.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from geo import synth
from geo.contract import TABLES
from geo.store import open_store
from tests.conftest import DEMO, ROOT

PAGES = ["views/overview.py", "views/wall.py", "views/progress.py", "views/buffer.py", "views/water.py",
         "views/patrol.py", "views/data.py", "views/complaints.py", "views/inspect.py", "views/assess.py"]
SMALL = dict(sites=900, townships=12, rivers=30, waterbodies=4, sampling_points=30, readings=15_000, parks=4)
OPTIONAL = {name: [c.name for c in t.columns if not c.required] for name, t in TABLES.items()}


def _demo_minimal(path: Path) -> Path:
    frames = open_store(DEMO).read_many()
    frames = {t: df.drop(columns=[c for c in OPTIONAL[t] if c in df.columns]) for t, df in frames.items()}
    open_store(path, create=True).replace_all(frames)
    return path


@pytest.fixture(scope="module", params=["synth", "demo", "synth-postgis"])
def minimal_store(request, tmp_path_factory) -> str:
    """The store's spec: a GeoPackage path, or the URL of a PostGIS database made for this module."""
    if request.param == "synth-postgis":
        from tests.pg import drop_database, new_database

        url = new_database(request.getfixturevalue("pg_url"))
        synth.write(url, minimal=True, **SMALL)
        yield url
        drop_database(url)
        return
    path = tmp_path_factory.mktemp("minimal") / f"{request.param}.gpkg"
    if request.param == "synth":
        synth.write(path, minimal=True, **SMALL)
    else:
        _demo_minimal(path)
    yield str(path)


def test_store_lacks_every_optional_column(minimal_store):
    store = open_store(minimal_store)
    assert set(store.tables()) == set(TABLES)
    for table in store.tables():
        df = store.read_raw(table)
        assert not set(OPTIONAL[table]) & set(df.columns), table
        assert set(TABLES[table].required_names) <= set(df.columns), table
    assert len(store.read("readings")) and len(store.read("status_events"))


@pytest.fixture
def page_env(minimal_store, monkeypatch):
    monkeypatch.setenv("QINGSHAN_STORE", minimal_store)
    monkeypatch.chdir(ROOT)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield minimal_store
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.mark.parametrize("page", PAGES)
def test_page_opens(page_env, page):
    at = AppTest.from_file(str(ROOT / page), default_timeout=180)
    at.run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    # a township's veto is content the assessment page shows in red, not a failure
    errors = [e.value for e in at.error if not str(e.value).startswith("一票否决")]
    assert not errors, errors
    assert at.title or at.get("html"), "the page drew nothing"


def test_patrol_plans_a_route(page_env):
    at = AppTest.from_file(str(ROOT / "views" / "patrol.py"), default_timeout=180)
    at.run()
    at.slider(key="patrol_seconds").set_value(1)
    at.button(key="patrol_plan").click()
    at.run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    assert at.get("download_button"), "no route was planned"


def _geo(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "geo", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_commands(minimal_store, tmp_path):
    s = minimal_store
    farm = open_store(s).read("farms")["id"].iloc[0]
    runs = {
        "check": _geo("check", "--store", s),
        "progress": _geo("progress", "--store", s),
        "buffer": _geo("buffer", "--store", s, "--out", str(tmp_path / "buffer.csv")),
        "water": _geo("water", "--store", s, "--out", str(tmp_path / "water.csv")),
        "route": _geo("route", "--store", s, "--select", "overdue,violations,sampling", "--time-limit", "1",
                      "--out", str(tmp_path / "route.csv")),
        "export": _geo("export", "--store", s, "--layer", "readings", "--out", str(tmp_path / "readings.csv")),
        "export-gpkg": _geo("export", "--store", s, "--out", str(tmp_path / "copy.gpkg")),
        "status": _geo("status", "--store", s, "--layer", "farms", "--id", farm, "--set", "closed",
                       "--on", "2007-06-30", "--user", "测试员"),
    }
    failed = {k: (r.returncode, r.stderr[-2000:]) for k, r in runs.items() if r.returncode != 0}
    assert not failed, failed
    for name in ("buffer.csv", "water.csv", "route.csv", "readings.csv", "copy.gpkg"):
        assert (tmp_path / name).stat().st_size > 0, name
    store = open_store(s)
    assert store.read("farms").set_index("id").loc[farm, "status"] == "closed"
    assert not set(OPTIONAL["farms"]) & set(store.read_raw("farms").columns)  # the write added none back
