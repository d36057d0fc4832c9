"""Every user string inert everywhere (issue 14.6): the hostile names through every page, the PDF, every export.

The names (tests/hostile.py) — HTML, a markdown link, ``$…$`` mathtext, spreadsheet formulas, 5,000
characters, a newline and a tab — are written into every text column of a demo copy. Then:

- every page runs (AppTest) without an exception, and no markdown-rendered element (markdown, caption,
  title, headers, messages, metrics) carries a name unescaped: names reach markdown only through
  ``ui.md_escape``;
- the briefing PDF renders (matplotlib would read ``$…$`` as mathtext and fail) and ``pdftotext`` finds
  every name as written;
- every export (GeoPackage, layer/progress/briefing/buffer/patrol xlsx, csv, GeoJSON, GPX, KML) holds the
  names as written (XML escaped, JSON exact); spreadsheet cells are checked for live formulas where the
  export already promises it (the shared formula guard of geo/io/writers.py is another helper's work).

The real browser check of the same store is in tests/test_browser_hostile.py.
"""
from __future__ import annotations

import importlib.util
import io
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui
from geo.store import open_store
from tests.hostile import HOSTILE, LONG, make_hostile_store, squash

ROOT = Path(__file__).resolve().parent.parent
VIEWS = ROOT / "views"
MARKDOWN_KINDS = ("markdown", "caption", "title", "header", "subheader", "error", "warning", "info", "success",
                  "exception", "toast")
#: names with characters markdown, HTML or a spreadsheet would act on
ACTIVE = [h for h in HOSTILE if h != LONG]
HAS_WRITERS = importlib.util.find_spec("geo.io") is not None and importlib.util.find_spec("geo.io.writers") is not None


@pytest.fixture(scope="module")
def hostile_path(tmp_path_factory) -> Path:
    return make_hostile_store(tmp_path_factory.mktemp("hostile") / "store.gpkg")


@pytest.fixture
def app_env(hostile_path, tmp_path, monkeypatch):
    """QINGSHAN_STORE on a private copy of the hostile store; Streamlit caches cleared around the test."""
    path = tmp_path / "store.gpkg"
    shutil.copyfile(hostile_path, path)
    monkeypatch.setenv("QINGSHAN_STORE", str(path))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield path
    st.cache_resource.clear()
    st.cache_data.clear()


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _markdown_sources(at: AppTest) -> list[str]:
    """Every string AppTest shows that Streamlit renders as markdown (bodies, labels, help texts)."""
    out = []
    for kind in MARKDOWN_KINDS:
        for e in at.get(kind):
            out.append(str(getattr(e, "value", "")))
    for m in at.get("metric"):
        out += [str(m.label), str(m.value), str(getattr(m.proto, "help", ""))]
    for kind in ("button", "selectbox", "multiselect", "text_input", "date_input", "slider", "toggle", "radio"):
        for w in at.get(kind):
            out += [str(getattr(w, "label", "")), str(getattr(w, "help", "") or "")]
    return out


def assert_inert(at: AppTest) -> None:
    for src in _markdown_sources(at):
        for h in ACTIVE:
            assert h not in src, f"unescaped {h!r} in markdown: {src[:200]!r}"
        for frag in ("](http", "$\\frac", "<img", "onerror="):
            assert frag not in src, f"{frag!r} in markdown: {src[:200]!r}"


# --- every page -------------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["overview", "wall", "progress", "buffer", "water", "patrol", "complaints", "inspect",
                                  "site", "assess", "data"])
def test_every_page_runs_and_keeps_names_inert(app_env, page):
    at = _run(AppTest.from_file(str(VIEWS / f"{page}.py"), default_timeout=300))
    assert_inert(at)


def test_site_file_of_a_hostile_site(app_env):
    e = open_store(app_env).read("enterprises")
    for fid, name in list(zip(e["id"], e["name"]))[:len(HOSTILE)]:
        at = AppTest.from_file(str(VIEWS / "site.py"), default_timeout=300)
        at.query_params["layer"] = "enterprises"
        at.query_params["id"] = fid
        _run(at)
        assert_inert(at)
        assert at.title[0].value == f"一企一档 · {ui.md_escape(name)}"


def test_water_point_name_is_plain_text(app_env):
    points = open_store(app_env).read("sampling_points")
    at = _run(AppTest.from_file(str(VIEWS / "water.py"), default_timeout=300))
    for pid, name in zip(points["id"], points["name"]):
        at.selectbox(key="point").set_value(pid)
        _run(at)
        assert_inert(at)
        line = next(m.value for m in at.markdown if m.value.startswith("**"))
        assert line.startswith(f"**{ui.md_escape(name)}**")


def test_progress_briefing_with_hostile_names(app_env):
    at = _run(AppTest.from_file(str(VIEWS / "progress.py"), default_timeout=300))
    at.button(key="make_briefing").click()
    _run(at)
    assert not at.error, [e.value for e in at.error]
    assert {"dl_pdf", "dl_bxlsx"} <= {d.key for d in at.get("download_button")}
    assert_inert(at)


def test_patrol_plan_with_hostile_names(app_env):
    at = _run(AppTest.from_file(str(VIEWS / "patrol.py"), default_timeout=300))
    at.slider(key="patrol_seconds").set_value(1)
    at.button(key="patrol_plan").click()
    _run(at)
    assert not at.error, [e.value for e in at.error]
    assert "dl_kml" in {d.key for d in at.get("download_button")}
    assert_inert(at)


def test_data_page_logged_in_with_hostile_names(app_env, tmp_path, monkeypatch):
    import bcrypt

    from geo import auth

    secrets = tmp_path / "secrets.toml"
    secrets.write_text(auth.toml_entry("wang", bcrypt.hashpw(b"planner-pw", bcrypt.gensalt(4)).decode(), "planner"),
                       encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_SECRETS", str(secrets))
    at = _run(AppTest.from_file(str(VIEWS / "data.py"), default_timeout=300))
    at.sidebar.text_input(key="login_user").input("wang")
    at.sidebar.text_input(key="login_password").input("planner-pw")
    next(b for b in at.sidebar.button if b.label == "登录").click()
    _run(at)
    # a site whose history holds hostile notes and authors
    store = open_store(app_env)
    ev = store.read("status_events").iloc[-1]
    at.selectbox(key="upd_layer").set_value(ev["layer"])
    _run(at)
    at.text_input(key=f"upd_q_{ev['layer']}").input(ev["feature_id"])  # sites are found by a search (issue 13)
    _run(at)
    at.selectbox(key=f"upd_site_{ev['layer']}").set_value(ev["feature_id"])
    _run(at)
    assert_inert(at)
    # a ledger whose names and notes are the hostile names: report, preview and messages stay inert
    rows = "".join(f'"H{i}","{h.replace(chr(34), chr(34) * 2)}",118.95,28.98,"化工","在产","{h.replace(chr(34), chr(34) * 2)}"\n'
                   for i, h in enumerate(HOSTILE))
    ledger = ("编号,企业名称,经度,纬度,行业,状态,备注\n" + rows).encode("utf-8")
    at.get("file_uploader")[0].set_value(("台账.csv", ledger, "text/csv"))
    _run(at)
    assert_inert(at)


# --- the briefing PDF --------------------------------------------------------------------------

def _printed(name: str) -> str:
    """How the PDF prints a name: whitespace as spaces, long names cut (geo.briefing._fit)."""
    from geo.briefing import CELL_CHARS

    s = squash(name)
    return s if len(s) <= CELL_CHARS else s[: CELL_CHARS - 1]


def test_briefing_pdf_prints_names_as_written(hostile_path, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    from geo import briefing

    store = open_store(hostile_path)
    frames = store.read_many()
    pdf = briefing.render_pdf(frames, "2007-06-30", district=store.meta()["district"])
    out = tmp_path / "b.pdf"
    out.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    flat = squash(text)
    for h in HOSTILE:
        assert _printed(h) in flat, h[:40]
    assert "$\\frac{$" in text  # printed, not typeset


# --- every export ------------------------------------------------------------------------------

def _xlsx_cells(data: bytes) -> list:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def _shows(values, names=ACTIVE) -> None:
    """Each name is among ``values`` as written (or behind a spreadsheet's leading apostrophe)."""
    flat = {str(v) for v in values if v is not None}
    flat |= {v[1:] for v in flat if v.startswith("'")}
    for h in names:
        assert h in flat, f"{h!r} missing"


def _no_live_formulas(cells) -> None:
    live = [c.value for c in cells if c.data_type == "f"]
    assert live == [], live[:5]


def test_store_and_layer_exports(hostile_path):
    from geo.export import layer_xlsx, store_gpkg_bytes

    store = open_store(hostile_path)
    for table in ("enterprises", "sampling_points", "townships", "rivers", "status_events"):
        df = store.read(table)
        held = {v for v in df.drop(columns="geometry", errors="ignore").to_numpy().ravel() if v in HOSTILE}
        assert held
        cells = _xlsx_cells(layer_xlsx(df, table))
        _no_live_formulas(cells)  # layer_xlsx stores text as text
        _shows([c.value for c in cells], held)
    copy = Path(hostile_path).with_name("export.gpkg")
    copy.write_bytes(store_gpkg_bytes(store))
    back = open_store(copy).read("enterprises")
    _shows(back["name"], HOSTILE)


def test_progress_and_briefing_exports(hostile_path):
    from geo import briefing
    from geo import progress as P

    frames = P.prepare(open_store(hostile_path).read_many())
    pend = P.labelled(P.pending_sites(frames, "2007-06-30"))
    cells = _xlsx_cells(P.to_xlsx({"未完成点位": pend}))
    _no_live_formulas(cells)
    _shows([c.value for c in cells])
    csv = P.excel_safe(pend).to_csv(index=False)
    back = pd.read_csv(io.StringIO(csv), dtype=str)
    _shows(back.to_numpy().ravel())
    assert not back.map(lambda v: isinstance(v, str) and v[:1] in "=+-@").to_numpy().any()
    cells = _xlsx_cells(briefing.render_xlsx(frames, "2007-06-30"))
    _no_live_formulas(cells)
    _shows([c.value for c in cells])


def test_buffer_exports(hostile_path):
    from geo import buffers as B

    res = B.check(open_store(hostile_path).read_many(), 1000.0)
    assert len(res)
    name, water = B.COLUMN_LABELS_OUT["name"], B.COLUMN_LABELS_OUT["water_name"]  # GeoJSON for people: Chinese keys
    gj = json.loads(B.to_geojson(res))
    _shows([f["properties"][name] for f in gj["features"]] + [f["properties"][water] for f in gj["features"]])
    gj = json.loads(B.to_geojson(res, chinese=False))  # for scripts: the identifiers
    assert [f["properties"]["name"] for f in gj["features"]] == [str(n) for n in res["name"]]
    back = pd.read_csv(io.StringIO(B.to_table(res).to_csv(index=False)), dtype=str, keep_default_na=False)
    assert set(back["name"]) == {str(n) for n in res["name"]}  # exact, newline and tab included
    cells = _xlsx_cells(B.to_xlsx_bytes(res))
    _shows([c.value for c in cells] + [c.value[1:] for c in cells if c.data_type == "f"])
    if HAS_WRITERS:
        _no_live_formulas(cells)


def test_patrol_exports(hostile_path):
    from geo import patrol

    store = open_store(hostile_path)
    plan = patrol.plan_from_store(store, ["sampling", "committed"], as_of=pd.Timestamp("2007-06-30"),
                                  params=patrol.PatrolParams(time_limit_s=1.0), use_roads=False)
    names = set(plan.visited["name"])
    assert names & set(ACTIVE)
    for doc in (patrol.to_gpx(plan), patrol.to_kml(plan)):
        root = ET.fromstring(doc.encode("utf-8"))  # well-formed: every name XML-escaped
        texts = [e.text or "" for e in root.iter() if e.tag.rsplit("}", 1)[-1] in ("name", "desc", "description")]
        for n in names & set(ACTIVE):
            assert any(n in t for t in texts), n
        assert not [e for e in root.iter() if e.tag.rsplit("}", 1)[-1] in ("img", "script")]
    cells = _xlsx_cells(patrol.to_xlsx(plan))
    present = [c.value for c in cells] + [c.value[1:] for c in cells if c.data_type == "f"]
    for n in names & set(ACTIVE):
        assert any(isinstance(v, str) and n in v for v in present), n
    if HAS_WRITERS:
        _no_live_formulas(cells)
