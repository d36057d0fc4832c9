"""Nothing raw reaches a person: no None/nan/NaT, internal keys, English month names, miles/feet or
exponent notation in any page (AppTest: tables, texts, chart specs) or any file a page offers for download.

The same scan runs on the real browser's visible text in ``test_browser_outputs.py`` and on the
briefing PDF's text in ``test_briefing.py``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|January|February|March|April|June|July|August|September|" \
         "October|November|December"
#: Tokens no person should read (word boundaries: "mi" in "mixed" is fine, "5 mi" is not).
RAW = re.compile(rf"\bNone\b|\bnan\b|\bNaN\b|\bNaT\b|<NA>|\b(?:{MONTHS})\b|\bmi\b|\bft\b|\d(?:\.\d+)?[eE][-+]?\d+\b")
#: A run of Latin letters in a download's file name is an internal key (``关停进度_lime_…``).
INTERNAL_KEY = re.compile(r"[A-Za-z]{3,}")


def raw_tokens(text: str) -> list[str]:
    """The offending tokens in ``text`` with some context (empty when clean)."""
    return [text[max(0, m.start() - 30):m.end() + 15] for m in RAW.finditer(text)]


def test_the_scan_catches_what_it_should():
    for bad in ("None", "得分 nan", "NaT", "2007 Jul", "5 mi", "100 ft", "5e-05", "1.2E+03", "<NA>"):
        assert raw_tokens(bad), bad
    for good in ("Ⅲ类", "pH 7.2", "COD 0.12倍", "2007年7月", "mixed", "NH3-N", "GB 8978-1996", "5 km", "E005",
                 "W02", "Sen 斜率", "Mann–Kendall"):
        assert not raw_tokens(good), good


class _Files(list):
    """Every file a page handed to a download button in this test: ``(file name, bytes)``."""


@pytest.fixture
def files(monkeypatch):
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    got = _Files()
    original = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        data = path_or_data if isinstance(path_or_data, bytes) else Path(path_or_data).read_bytes()
        got.append((filename or "", data))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return got


@pytest.fixture
def page_env(tmp_path, monkeypatch):
    store = tmp_path / "demo.gpkg"
    shutil.copy(ROOT / "data" / "demo.gpkg", store)
    monkeypatch.setenv("QINGSHAN_STORE", str(store))
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield store
    st.cache_data.clear()
    st.cache_resource.clear()


def _texts(at: AppTest) -> list[str]:
    out = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "success", "error",
                 "text", "latex"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [f"{m.label} {m.value} {getattr(m, 'delta', '') or ''}" for m in at.metric]
    for e in at.get("html"):  # what the HTML shows: no style sheets, scripts or tags (colours like #009E73)
        body = re.sub(r"(?s)<(style|script)\b.*?</\1>", " ", str(e.proto.body))
        out.append(re.sub(r"<[^>]+>", " ", body))
    out += [t.label for t in at.tabs]
    return out


def _walk(spec, path=()):
    if isinstance(spec, dict):
        yield path, spec
        for k, v in spec.items():
            yield from _walk(v, path + (k,))
    elif isinstance(spec, list):
        for i, v in enumerate(spec):
            yield from _walk(v, path + (i,))


def chart_problems(spec_json: str) -> list[str]:
    """Temporal axes and tooltips that would print English month names (vega's defaults)."""
    spec = json.loads(spec_json)
    problems = []
    axes_ok = axes = 0
    for path, node in _walk(spec):
        fmt = node.get("format") if isinstance(node.get("format"), str) else ""
        if re.search(r"%[bBaA]", fmt):
            problems.append(f"English date format {fmt!r} at {path}")
        if node.get("type") != "temporal" or "field" not in node:
            continue
        channel = path[-1] if path else None
        if channel == "tooltip" or (len(path) > 1 and path[-2] == "tooltip"):
            if not fmt:
                problems.append(f"temporal tooltip without a format at {path}")
        elif channel in ("x", "y"):
            axes += 1
            axis = node.get("axis") or {}
            if axis.get("labelExpr") or axis.get("format"):
                axes_ok += 1
    if axes and not axes_ok:
        problems.append("a time axis with vega's default (English) month labels")
    return problems


def test_chart_check_catches_english_months():
    bad = {"encoding": {"x": {"field": "d", "type": "temporal"},
                        "tooltip": [{"field": "d", "type": "temporal"}]}}
    assert len(chart_problems(json.dumps(bad))) == 2
    good = {"encoding": {"x": {"field": "d", "type": "temporal", "axis": {"labelExpr": "timeFormat(datum.value, '%Y年%-m月')"}},
                         "tooltip": [{"field": "d", "type": "temporal", "format": "%Y-%m-%d"}]}}
    assert chart_problems(json.dumps(good)) == []


def _xlsx_strings(data: bytes) -> list[str]:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [v for ws in wb for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]


def pdf_text(data: bytes, tmp: Path) -> str:
    path = tmp / "out.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def file_problems(name: str, data: bytes, tmp: Path) -> list[str]:
    """Raw values inside a downloaded file, and internal keys in its name."""
    stem = Path(name).stem
    problems = [f"internal key in file name {name!r}"] if INTERNAL_KEY.search(re.sub(r"[A-Z]\d+", "", stem)) else []
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        cells = [c for r in rows for c in r]
    elif suffix == ".xlsx":
        cells = _xlsx_strings(data)
    elif suffix == ".pdf":
        cells = [pdf_text(data, tmp)]
    elif suffix in (".gpx", ".kml", ".geojson", ".json", ".txt"):
        cells = [data.decode("utf-8", "replace")]
    else:
        return problems
    for c in cells:
        problems += [f"{name}: {t!r}" for t in raw_tokens(c)]
    return problems


def meta_problems(name: str, data: bytes) -> list[str]:
    """A spreadsheet or CSV a person downloads must say what it is (title, date, data version, software)."""
    import openpyxl

    from tests.sheets import csv_lead_and_table, header_block

    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        first = openpyxl.load_workbook(io.BytesIO(data), read_only=True).sheetnames[0]
        about = header_block(data, first)
    elif suffix == ".csv":
        about = csv_lead_and_table(data)[0]
    else:
        return []
    missing = [k for k in ("标题", "截至日期", "数据版本", "生成时间", "生成人", "软件版本") if not about.get(k)]
    return [f"{name} does not state {missing}"] if missing else []


def _check(at: AppTest, files: _Files, tmp: Path) -> list[str]:
    assert not at.exception, [e.value for e in at.exception]
    problems = []
    for i, df in enumerate(at.dataframe):
        v = df.value
        data = v.data if hasattr(v, "data") else v
        nulls = data.isna().sum()
        # a link column (values are URLs) shows a missing link as an empty cell: nothing to link to
        links = [c for c in data.columns if data[c].notna().any()
                 and data[c].dropna().map(lambda v: bool(re.match(r"^(/|https?://|[a-z]+\?)", str(v)))).all()]
        nulls = nulls[(nulls > 0) & ~nulls.index.isin(links)]
        if len(nulls):  # a missing cell shows as "None" in the table widget
            problems.append(f"table {i} has missing cells (shown as None) in {list(nulls.index)}")
        for col in [c for c in data.columns if c not in links]:
            for cell in data[col].head(2000).map(str):
                problems += [f"table {i} {col}: {t!r}" for t in raw_tokens(cell)]
    for t in _texts(at):
        problems += [f"text: {x!r}" for x in raw_tokens(t)]
    for ch in at.get("vega_lite_chart"):
        problems += chart_problems(ch.proto.spec)
    for name, data in files:
        problems += file_problems(name, data, tmp) + meta_problems(name, data)
    return problems


def _run(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / f"{page}.py"), default_timeout=180)
    at.run()
    return at


@pytest.mark.parametrize("page", ["overview", "buffer", "wall", "data", "complaints", "inspect", "site", "assess"])
def test_simple_pages_show_nothing_raw(page, page_env, files, tmp_path):
    assert _check(_run(page), files, tmp_path) == []


def test_progress_page_every_campaign_and_the_briefing(page_env, files, tmp_path):
    at = _run("progress")
    problems = _check(at, files, tmp_path)
    for campaign in ("lime", "livestock"):
        at.selectbox(key="campaign").set_value(campaign).run()
        problems += _check(at, files, tmp_path)
    at.date_input(key="as_of").set_value(dt.date(2007, 10, 1)).run()
    at.button(key="make_briefing").click().run()
    problems += _check(at, files, tmp_path)
    names = {n for n, _ in files}
    assert any(n.endswith(".pdf") for n in names) and any("石灰窑" in n for n in names)
    assert problems == []


def test_water_page_sections_and_outfalls(page_env, files, tmp_path):
    at = _run("water")
    problems = _check(at, files, tmp_path)
    for point in ("W09", "O01"):
        at.selectbox(key="point").set_value(point).run()
        at.multiselect(key="pars").set_value([p for p in ("pH", "COD", "Hg", "TP") if p in at.multiselect(
            key="pars").options]).run()
        problems += _check(at, files, tmp_path)
    titles = [json.loads(c.proto.spec).get("title") for c in at.get("vega_lite_chart")]
    assert "pH pH" not in titles and all(t != "pH pH" for t in map(str, titles))
    assert problems == []


def test_patrol_page_plan_and_files(page_env, files, tmp_path):
    at = _run("patrol")
    at.multiselect(key="patrol_select").set_value(["violations", "sampling", "committed"])
    at.slider(key="patrol_seconds").set_value(1)
    at.button(key="patrol_plan").click().run()
    problems = _check(at, files, tmp_path)
    assert {Path(n).suffix for n, _ in files} >= {".gpx", ".kml", ".xlsx", ".csv"}
    assert problems == []
