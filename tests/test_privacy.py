"""Complainants' personal data only for signed-in accounts (issue 26.8): downloads and pages.

The complaints table keeps the complainant's name (``complainant``). Anonymous readers may read and
download complaints, but without it: the xlsx/CSV/GeoJSON of the layer and the whole-store GeoPackage
leave the column out, and the GeoPackage's bytes hold no trace of a name (not in free pages either).
Signed-in accounts, and the command line, get the complete data.
"""
from __future__ import annotations

import io
import json
import shutil
import sqlite3

import openpyxl
import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from geo import export
from geo.store import DEMO_STORE, open_store
from geo.store.base import Change
from tests.apptests import sign_in
from tests.conftest import ROOT

USERS = {"li": ("inspector-pw", "inspector"), "wang": ("planner-pw", "planner")}
#: names unlike anything else in the demo store: finding their bytes means they leaked
NAMES = ["隐私甲某某", "隐私乙某某", "隐私丙某某"]
MARK = "隐私".encode("utf-8")


def _with_names(path) -> pd.DataFrame:
    """Give three complaints of the store at ``path`` a complainant; the complaints as stored."""
    store = open_store(path)
    c = store.read("complaints")
    c["complainant"] = c["complainant"].astype(object)
    c.loc[c.index[:3], "complainant"] = NAMES
    store.commit([Change("complaints", c, "replace")])
    return store.read("complaints")


@pytest.fixture
def named(tmp_path):
    path = tmp_path / "store.gpkg"
    shutil.copyfile(DEMO_STORE, path)
    return path, _with_names(path)


def _cells(xlsx: bytes) -> list[str]:
    wb = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
    return [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None]


# --- the files -------------------------------------------------------------------------------------

def test_layer_files_leave_the_complainant_out_unless_personal(named):
    path, c = named
    sheet = export.layer_sheet(c, "complaints")
    assert "投诉人" not in sheet.columns and len(sheet) == len(c)
    assert list(sheet.columns) == [x for x in export.layer_sheet(c, "complaints", personal=True).columns if x != "投诉人"]
    assert not set(NAMES) & set(_cells(export.layer_xlsx(c, "complaints")))
    assert MARK not in export.layer_csv(c, "complaints") and MARK not in export.layer_geojson(c, "complaints")
    # signed in: the names, each on its complaint
    full = export.layer_sheet(c, "complaints", personal=True)
    assert full["投诉人"].iloc[:3].tolist() == NAMES
    assert set(NAMES) <= set(_cells(export.layer_xlsx(c, "complaints", personal=True)))
    assert MARK in export.layer_csv(c, "complaints", personal=True)
    gj = json.loads(export.layer_geojson(c, "complaints", personal=True))
    assert [f["properties"]["complainant"] for f in gj["features"][:3]] == NAMES
    # the command line is trusted (like its writes): its export is complete
    store = open_store(path)
    assert all(n.encode() in export.export_bytes(store, ".csv", "complaints") for n in NAMES)
    assert MARK not in export.export_bytes(store, ".csv", "complaints", personal=False)
    # other layers are untouched either way
    e = open_store(path).read("enterprises")
    pd.testing.assert_frame_equal(export.layer_sheet(e, "enterprises"), export.layer_sheet(e, "enterprises", personal=True))


def test_anonymous_geopackage_has_no_name_in_its_tables_or_its_bytes(named):
    path, c = named
    # names an earlier edit removed, by a SQLite that does not zero what it frees (Windows builds): their
    # bytes stay in the file's free pages, and a page-by-page copy of the store carries them along
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA secure_delete = OFF")
    con.execute("CREATE TABLE old_register (complainant TEXT)")
    con.executemany("INSERT INTO old_register VALUES (?)", [(f"隐私丁某某{k:04d}" * 8,) for k in range(300)])
    con.execute("DROP TABLE old_register")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    assert "隐私丁某某".encode() in path.read_bytes()  # the trace the export must not carry
    store = open_store(path)
    anonymous = export.store_gpkg_bytes(store)
    assert MARK not in anonymous
    out = path.parent / "anonymous.gpkg"
    out.write_bytes(anonymous)
    copy, whole = open_store(out).read_many(), store.read_many()
    assert set(copy) == set(whole)
    for t in whole:  # everything else arrives unchanged
        want = whole[t].drop(columns=list(export.PERSONAL_COLUMNS.get(t, ())), errors="ignore")
        pd.testing.assert_frame_equal(pd.DataFrame(copy[t]), pd.DataFrame(want))
    out.write_bytes(export.store_gpkg_bytes(store, personal=True))
    assert open_store(out).read("complaints")["complainant"].iloc[:3].tolist() == NAMES


# --- the pages -------------------------------------------------------------------------------------

@pytest.fixture
def env(named, page_env, monkeypatch):
    path, c = named
    cfg = path.parent / "qingshan.toml"
    cfg.write_text("[auth]\n", encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))
    page_env(USERS, store=path)  # conftest: the accounts, the store, Streamlit's caches cleared
    return c


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / name), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def downloads(monkeypatch):
    """The files behind the page's download buttons: ``{file name: the callable the click runs}``."""
    seen: dict = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        seen[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return seen


def _files(seen: dict) -> tuple[bytes, bytes]:
    """The whole-store GeoPackage (``b""`` when the page offers none) and the complaints xlsx the buttons
    would send."""
    gpkg = next((f for n, f in seen.items() if n.endswith(".gpkg")), lambda: b"")()
    xlsx = next(f for n, f in seen.items() if n.startswith("信访投诉"))()
    return gpkg, xlsx


def test_data_page_downloads_have_names_only_when_signed_in(env, downloads):
    at = _page("data.py")
    gpkg, xlsx = _files(downloads)  # (the whole store may be for signed-in accounts only)
    assert MARK not in gpkg and not set(NAMES) & set(_cells(xlsx))
    assert any("投诉人姓名等个人信息仅登录后可下载" in c.value for c in at.caption)
    downloads.clear()
    sign_in(at, "li", "inspector-pw")  # any signed-in role
    gpkg, xlsx = _files(downloads)
    assert set(NAMES) <= set(_cells(xlsx))
    assert all(n.encode() in gpkg for n in NAMES)
    assert not any("仅登录后可下载" in c.value for c in at.caption)


def test_complaints_page_lists_the_complainant_only_when_signed_in(env):
    at = _page("complaints.py")
    for df in (d.value for d in at.dataframe):
        assert "投诉人" not in df.columns
        assert not df.astype(str).apply(lambda s: s.str.contains("隐私")).any().any()
    sign_in(at, "li", "inspector-pw", prefix="cw_")
    listed = next(d.value for d in at.dataframe if "投诉人" in d.value.columns)
    shown = dict(zip(listed["编号"], listed["投诉人"]))
    assert [shown[i] for i in env["id"].iloc[:3]] == NAMES
