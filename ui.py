"""Streamlit glue shared by the pages: the store, cached reads by data version, common widgets.

Pages stay thin: they call ``geo`` for answers and ``layers`` for maps, and
use these helpers so that nothing is read twice for the same data version.
"""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import streamlit as st

from geo import contract, progress, rules
from geo.store import Store, default_spec, open_store


@st.cache_resource(show_spinner=False)
def _store(spec: str) -> Store:
    return open_store(spec)


def get_store() -> Store:
    """The app's store (``QINGSHAN_STORE`` or the working copy of the demo), opened once per process."""
    return _store(default_spec())


@st.cache_data(show_spinner=False, max_entries=64)
def _read(spec: str, version: str, table: str) -> pd.DataFrame:
    return _store(spec).read(table)


def load(table: str) -> pd.DataFrame:
    """``table`` from the store, cached until that table changes (a status update keeps the readings cached)."""
    spec = default_spec()
    return _read(spec, _store(spec).version([table]), table)


@st.cache_data(show_spinner=False, max_entries=32)
def _read_many(spec: str, version: str, tables: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    return _store(spec).read_many(list(tables))


def load_many(*tables: str) -> dict[str, pd.DataFrame]:
    """Several tables from ONE consistent state of the store (sites and their events agree), cached by version."""
    spec = default_spec()
    return _read_many(spec, _store(spec).version(tables), tuple(tables))


def data_version(*tables: str) -> str:
    """Key for caches of anything derived from ``tables`` (every table when none is named).

    A page keyed by the tables it reads keeps its cache when another table changes: a status
    update does not throw away the water page's work.
    """
    return get_store().version(list(tables) if tables else None)


#: The tables a status snapshot reads (:func:`status_snapshot`).
SNAPSHOT_TABLES = ("townships", *contract.SITE_LAYERS, "status_events")


@st.cache_data(show_spinner=False, max_entries=16)
def _snapshot(spec: str, version: str, as_of: dt.date, history_of: tuple[str, ...]) -> dict:
    return progress.snapshot(_store(spec), as_of, history_of=history_of)


def status_snapshot(as_of, history_of: tuple[str, ...] = ()) -> dict:
    """:func:`geo.progress.snapshot` of ``as_of`` (the database replays the statuses), cached until a site
    layer, the events or the townships change. ``history_of``: site layers whose events up to the day the
    caller needs (time series)."""
    spec = default_spec()
    day = pd.Timestamp(as_of).date()
    return _snapshot(spec, _store(spec).version(list(SNAPSHOT_TABLES)), day, tuple(history_of))


def report_date() -> dt.date:
    """The date the data stands at (:func:`geo.rules.default_as_of`: the store's ``as_of``, else today)."""
    return rules.default_as_of(load("meta")).date()


def as_of_input(label: str = "截至日期", key: str = "as_of") -> dt.date:
    """A date control defaulting to the data's report date (history is replayed from status events)."""
    return st.date_input(label, value=report_date(), min_value=dt.date(2000, 1, 1), key=key)


def township_names() -> list[str]:
    return load("townships")["name"].tolist()


def status_label(code: str, layer: str | None = None) -> str:
    return contract.status_label(code, layer)


# Every ASCII punctuation character: CommonMark lets each be backslash-escaped to stand for itself,
# which also defeats Streamlit's extensions ($…$ math, :red[…] directives, autolinked URLs).
_MD_PUNCT = re.compile(r"([!-%'-/:;=?@\[-`{-~])")
_MD_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
# Streamlit turns URLs, e-mail addresses and :shortcodes: in the *decoded* text into links and emoji,
# whatever the escaping; an invisible WORD JOINER (U+2060) after "http", "www", "@" or ":" breaks them.
_MD_AUTOLINK = re.compile(r"(?i)https?(?=://)|www(?=\.)|@(?=[-\w])|:(?=[\w+-]+:)")
WORD_JOINER = "\u2060"


def md_escape(value) -> str:
    """``value`` as plain text inside Streamlit markdown (st.markdown, st.caption, st.write, messages, labels).

    Every markdown, HTML and Streamlit-extension character is neutralised, so names such as
    ``[点此](http://evil.example)`` or ``坏$\\frac{$名`` show exactly as written and never become a link,
    a formula, an image or markup. Line breaks and tabs become spaces (markdown would turn them
    into block structure); an invisible word joiner keeps URLs, e-mail addresses and ``:emoji:``
    codes from being linked or replaced. ``None`` is shown as empty text.
    """
    text = "" if value is None else str(value)
    text = re.sub(r"[\r\n\t\v\f]", " ", text)
    text = _MD_AUTOLINK.sub(lambda m: m.group(0) + WORD_JOINER, text)
    text = _MD_PUNCT.sub(r"\\\1", text)
    for ch, entity in _MD_ENTITIES:
        text = text.replace(ch, entity)
    return text


def generated_by() -> str:
    """Who a downloaded file was generated by (its metadata): the signed-in account, else the page."""
    acc = st.session_state.get("account")
    if acc:
        name = acc[0] if isinstance(acc, (tuple, list)) else getattr(acc, "name", str(acc))
        return f"{name}（网页）"
    return "青山网页（未登录）"
