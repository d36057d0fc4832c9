"""Shared pytest fixtures."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- PostGIS (tests/pg.py) ----------------------------------------------------------------

@pytest.fixture(scope="session")
def pg_url():
    """URL of a PostGIS database on a throwaway cluster started for this test session.

    Skips when PostgreSQL/PostGIS cannot be started here, but fails in CI (``CI`` set):
    there a missing PostGIS is a broken build, not a reason to skip.
    """
    from tests.pg import PostgisUnavailable, throwaway_cluster

    try:
        cm = throwaway_cluster()
        url = cm.__enter__()
    except PostgisUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostGIS is required in CI: {exc}", pytrace=False)
        pytest.skip(f"PostGIS not available: {exc}")
    try:
        yield url
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture
def pg_db(pg_url):
    """A fresh empty PostGIS database for one test (dropped after); its URL."""
    from tests.pg import drop_database, new_database

    url = new_database(pg_url)
    try:
        yield url
    finally:
        drop_database(url)


# --- the shipped demo store -----------------------------------------------------------------

DEMO = ROOT / "data" / "demo.gpkg"


@pytest.fixture
def demo_store(tmp_path) -> Path:
    """A private copy of the shipped demo store (tests never touch data/demo.gpkg itself)."""
    import shutil

    dst = tmp_path / "store.gpkg"
    shutil.copyfile(DEMO, dst)
    return dst


@pytest.fixture(scope="session")
def demo_frames() -> dict:
    """Every table of the shipped demo, read once per session (treat as read-only)."""
    from geo.store import open_store

    return open_store(DEMO).read_many()


@pytest.fixture
def app_store(demo_store, monkeypatch) -> Path:
    """For page tests: ``QINGSHAN_STORE`` set to a private demo copy, Streamlit's caches cleared around the test.

    ``ui`` caches the store and its tables per process; clearing makes every test start from its own copy.
    """
    import streamlit as st

    monkeypatch.setenv("QINGSHAN_STORE", str(demo_store))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield demo_store
    st.cache_resource.clear()
    st.cache_data.clear()


# --- the demo on each backend, and a page's signed-in environment (shared by many test files) ----------

@pytest.fixture(params=["gpkg", "postgis"])
def demo_each_backend(request, tmp_path):
    """The shipped demo on each backend: a private GeoPackage copy, or copied into a fresh PostGIS database."""
    import shutil

    from geo.store import copy_store, open_store

    if request.param == "gpkg":
        dst = tmp_path / "store.gpkg"
        shutil.copyfile(DEMO, dst)
        return open_store(dst)
    pg = open_store(request.getfixturevalue("pg_db"), create=True)
    copy_store(open_store(DEMO), pg)
    return pg


@pytest.fixture
def page_env(tmp_path, monkeypatch):
    """For page tests with accounts: ``page_env(users)`` copies the demo (or takes ``store=``, a path), writes a
    secrets file of ``users``
    (``{name: (password, role)}``), points ``QINGSHAN_STORE``/``QINGSHAN_SECRETS`` at them and returns the
    store; Streamlit's caches are cleared before and after (``ui`` caches the store per process)."""
    import shutil

    import bcrypt
    import streamlit as st

    from geo import auth
    from geo.store import open_store

    def make(users: dict, *, chdir: bool = False, store=None):
        if store is None:  # a private copy of the demo; else the test's own GeoPackage, as it is
            store = tmp_path / "store.gpkg"
            shutil.copyfile(DEMO, store)
        secrets = tmp_path / "secrets.toml"
        secrets.write_text("\n".join(auth.toml_entry(n, bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)).decode(), role)
                                     for n, (pw, role) in users.items()), encoding="utf-8")
        monkeypatch.setenv("QINGSHAN_STORE", str(store))
        monkeypatch.setenv("QINGSHAN_SECRETS", str(secrets))
        if chdir:
            monkeypatch.chdir(ROOT)
        st.cache_resource.clear()
        st.cache_data.clear()
        return open_store(store)

    yield make
    st.cache_resource.clear()
    st.cache_data.clear()


# --- markers (pyproject.toml): set from where a test lives and what it uses -----------------------

#: Files of whole-process, scale or load tests.
SLOW_FILES = {"test_load.py", "test_page_buffer_scale.py", "test_store_concurrency.py", "test_readme_commands.py",
              "test_synth.py"}


def pytest_collection_modifyitems(config, items):
    """Mark ``browser``, ``postgis`` and ``slow`` tests so a fast tier can leave them out (``-m``)."""
    for item in items:
        name = item.path.name
        if name.startswith("test_browser_"):
            item.add_marker(pytest.mark.browser)
        # PostGIS either by fixture or by a backend parameter that fetches it (``[postgis]``, ``[pg-demo]`` …)
        ids = set(getattr(getattr(item, "callspec", None), "id", "").split("-"))
        if {"pg_url", "pg_db"} & set(getattr(item, "fixturenames", ())) or {"pg", "postgis"} & ids:
            item.add_marker(pytest.mark.postgis)
        if name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
