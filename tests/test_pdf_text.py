"""Names print in PDFs exactly as typed (issue 26.8): ``$`` and ``\\`` are text, never mathtext nor escapes.

The plain documents (:mod:`geo.casepdf`: the site file, the assessment circular) draw with mathtext off;
an escape added on top (``\\$``) was printed as well. Checked on the PDF's text as ``pdftotext`` reads it.
"""
from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest

from geo import assess as A
from geo.casepdf import Doc
from geo.sitefile import site_file, to_pdf
from geo.store import Change, open_store

NAME = "$x$厂\\"  # as typed: dollar, x, dollar, 厂, one backslash
MORE = ["\\frac{a}{b}", "$5 和 $10", "C:\\temp\\"]


def pdf_text(pdf: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def printed_names(text: str) -> list[str]:
    """Every whitespace-separated word of ``text`` holding a ``$`` or a backslash."""
    return [w for w in text.split() if "$" in w or "\\" in w]


def test_a_plain_document_prints_dollars_and_backslashes_as_typed(tmp_path):
    doc = Doc(f"档案 {NAME}").heading(NAME).para(f"名称：{NAME} 及 " + " ".join(MORE))
    doc.table(pd.DataFrame({"名称": [NAME, MORE[2]], "n": [1, 2]}))
    text = pdf_text(doc.pdf(), tmp_path)
    # title, heading, paragraph, table cell and the footer's title: each as typed, nothing escaped
    assert text.count(NAME) >= 5, text
    assert "\\$" not in text and "\\\\" not in text, printed_names(text)
    for typed in MORE:
        assert typed in text, (typed, printed_names(text))


def test_site_file_pdf_prints_the_name_as_typed(demo_store, tmp_path):
    store = open_store(demo_store)
    fid = store.read("enterprises")["id"].iloc[0]
    store.commit([Change("enterprises", pd.DataFrame({"id": [fid], "name": [NAME]}), "upsert", columns=["name"])])
    text = pdf_text(to_pdf(site_file(store, "enterprises", fid), as_of="2007-06-30"), tmp_path)
    assert NAME in text and "\\$" not in text, printed_names(text)


def test_assessment_circular_prints_a_township_as_typed(demo_store, tmp_path):
    t = open_store(demo_store).read_many(A.TABLES_NEEDED)
    old = t["townships"]["name"].iloc[0]
    for key, df in t.items():  # the township renamed wherever it is named
        if "township" in df.columns:
            t[key] = df.assign(township=df["township"].mask(df["township"] == old, NAME))
    t["townships"] = t["townships"].assign(name=t["townships"]["name"].mask(t["townships"]["name"] == old, NAME))
    text = pdf_text(A.circular_pdf(t, 2007, "2007-06-30"), tmp_path)
    assert NAME in text and "\\$" not in text, printed_names(text)
