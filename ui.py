"""Streamlit glue shared by the pages: the store, cached reads by data version, common widgets.

Pages stay thin: they call ``geo`` for answers and ``layers`` for maps, and
use these helpers so that nothing is read twice for the same data version.
"""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import streamlit as st

from geo import contract, memo, progress, rules
from geo.store import Store, default_spec, open_store


@st.cache_resource(show_spinner=False)
def _store(spec: str) -> Store:
    return open_store(spec)


def get_store() -> Store:
    """The app's store (``QINGSHAN_STORE`` or the working copy of the demo), opened once per process."""
    return _store(default_spec())


@st.cache_resource(show_spinner=False, max_entries=48)
def _read_shared(spec: str, version: str, table: str) -> tuple[str, pd.DataFrame]:
    return _store(spec).read_versioned(table)


def _read(spec: str, version: str, table: str) -> tuple[str, pd.DataFrame]:
    """One table as of ``version``, and the version it was actually read at (a write may come in between).

    Held once per process and handed out as shallow copy-on-write copies: every page reads the townships
    and the water, and unpickling a private copy on each run (what ``st.cache_data`` does) cost a third
    of a second per page on a province's rivers."""
    got, frame = _read_shared(spec, version, table)
    return got, frame.copy(deep=False)


def load(table: str) -> pd.DataFrame:
    """``table`` from the store, cached until that table changes (a status update keeps the readings cached)."""
    return load_many(table)[table]


def load_many(*tables: str) -> dict[str, pd.DataFrame]:
    """Several tables from ONE consistent state of the store (sites and their events agree), cached by version.

    Each table is cached once, by its own version, and shared by every page that reads it (a page asking
    for the sites and the events does not hold a second copy of the sites). The versions are read together
    from one snapshot and each table is read with its version: when every table came back at the version
    asked for, the frames are exactly the store's state at that snapshot; otherwise (a write in between)
    the versions are read again.
    """
    spec = default_spec()
    store = _store(spec)
    for _ in range(3):
        versions = store.versions(tables)
        out = {}
        for t in tables:
            got, frame = _read(spec, versions[t], t)
            if got != versions[t]:
                break
            out[t] = frame
        else:
            return out
    return store.read_many(list(tables))  # writes keep coming: one uncached snapshot read


def data_version(*tables: str) -> str:
    """Key for caches of anything derived from ``tables`` (every table when none is named).

    A page keyed by the tables it reads keeps its cache when another table changes: a status
    update does not throw away the water page's work.
    """
    return get_store().version(list(tables) if tables else None)


#: The tables a status snapshot reads (:func:`status_snapshot`).
SNAPSHOT_TABLES = ("townships", *contract.SITE_LAYERS, "status_events")


# The snapshot's parts are shared resources, not pickled copies: the sites of a day (100k rows with their
# points at province scale) are read once per data version and serve every page (the overview, the wall,
# progress, the riverside check), and unpickling them on each run would cost what reading them costs.
# Callers get shallow copies (copy-on-write: nothing they do reaches the cached frames).
@st.cache_resource(show_spinner=False, max_entries=4)
def _snapshot_sites(spec: str, version: str, as_of: dt.date) -> dict:
    return progress.snapshot_sites(_store(spec), as_of)


@st.cache_resource(show_spinner=False, max_entries=24)
def _events_part(spec: str, version: str, layer: str, statuses: tuple[str, ...] | None, as_of: dt.date,
                 changed_after: pd.Timestamp | None = None) -> pd.DataFrame:
    return _store(spec).events_of(layer, until=as_of, statuses=statuses, changed_after=changed_after)


@st.cache_resource(show_spinner=False, max_entries=32)
def _steps_part(spec: str, version: str, campaign: str, as_of: dt.date, part: tuple, _frames: dict
                ) -> progress.Steps:
    # the targets are a function of the snapshot's version, the day and the part of the snapshot (``part``:
    # the townships kept; empty: all), so those, not the frames, are the key
    return progress.campaign_steps(_store(spec), _frames, campaign, as_of)


def _shallow(frames: dict) -> dict:
    return {k: v.copy(deep=False) if isinstance(v, pd.DataFrame) else v for k, v in frames.items()}


def status_snapshot(as_of, changed_since=None, steps_of: tuple[str, ...] = (), submit=None) -> dict:
    """:func:`geo.progress.snapshot` of ``as_of`` (the database replays the statuses), cached until a site
    layer, the events or the townships change. No layer's whole history is read: ``changed_since``, a date
    whose changes the caller looks back at (the history of the sites changed since); ``steps_of``: campaigns
    whose time series the database counts (no history read; with ``submit``, an executor's, counted while
    the caller goes on, and not cached here). The sites of the day are shared by every caller, whatever
    its history."""
    spec = default_spec()
    store = _store(spec)
    day = pd.Timestamp(as_of).date()
    versions = store.versions(SNAPSHOT_TABLES)
    version = "|".join(versions[t] for t in SNAPSHOT_TABLES)
    out = _shallow(_snapshot_sites(spec, version, day))
    events = versions["status_events"]
    out[memo.KEY] = {}  # this call's own memo (geo.memo): results derived from these frames, once
    out[progress.HISTORY] = ()
    since = None if changed_since is None else progress.as_day(changed_since)
    if since is not None:
        out[progress.CHANGED_SINCE] = since
    reads = progress.event_parts((), since)
    out["status_events"] = progress.join_events(
        [_events_part(spec, events, layer, statuses, day, after).copy(deep=False) for layer, statuses, after in reads],
        reads)
    if steps_of:
        out[progress.STEPS] = {key: _steps_part(spec, version, key, day, (), out) if submit is None else
                               progress.campaign_steps(store, out, key, day, submit)
                               for key in dict.fromkeys(steps_of)}
    return out


def campaign_steps(frames: dict, campaign: str, as_of, part: tuple) -> progress.Steps:
    """:func:`geo.progress.campaign_steps` of a part of a day's snapshot (``frames``: e.g. some townships'
    sites), cached by the snapshot's version, the day and ``part``, which must name the part (the townships)."""
    spec = default_spec()
    versions = _store(spec).versions(SNAPSHOT_TABLES)
    return _steps_part(spec, "|".join(versions[t] for t in SNAPSHOT_TABLES), campaign, pd.Timestamp(as_of).date(),
                       ("part", *part), frames)


def active_sites(layer: str, as_of) -> pd.DataFrame:
    """The ``layer`` sites active on ``as_of`` (``id, status, name``, point), as the database replays them:
    the day's shared sites (:func:`status_snapshot`) without the resolved ones (the riverside check's input)."""
    sites = status_snapshot(as_of)[layer]
    keep = ~sites["status"].isin(rules.RESOLVED[layer]).to_numpy(dtype=bool)
    return sites.loc[keep, ["id", "status", "name", sites.geometry.name]].reset_index(drop=True)


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


# -- readings queries (issue 13) --
#: The pushed-down reads of ``readings`` a page may ask for (methods of :class:`geo.store.Store`).
READINGS_QUERIES = ("latest_sampling", "readings_between", "readings_outside")


@st.cache_data(show_spinner=False, max_entries=64)
def _readings_query(spec: str, version: str, method: str, args: tuple) -> pd.DataFrame:
    return getattr(_store(spec), method)(*args)


def readings_query(method: str, *args) -> pd.DataFrame:
    """One read of ``readings`` done by the database (:data:`READINGS_QUERIES`), never the whole table.

    Cached by the version of ``readings`` and ``sampling_points``, so a status update keeps it.
    """
    if method not in READINGS_QUERIES:
        raise ValueError(f"unknown readings query {method!r}")
    spec = default_spec()
    return _readings_query(spec, _store(spec).version(["readings", "sampling_points"]), method, tuple(args))
