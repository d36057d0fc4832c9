"""Dates that make sense: what has happened cannot be dated after the store's present.

Closure dates, commitment dates, status dates and sampling times record events
that took place, so they cannot lie after *today*, or, for a store replaying a
past date (its ``meta`` table holds ``as_of``, as the demo does: the data stand
at 2007-06-30), after that date. Deadlines are plans and may lie ahead.

Callers (ledger intake, status updates, lab results) ask :func:`latest_allowed`
for the limit and :func:`future_message` for the bilingual finding, and refuse
the input with nothing written.

Dates a user asks figures for (``--as-of``, the pages' date controls, the
wall's ``?as_of=``) are checked here too, in one place: :func:`parse_day` reads
one (malformed, or beyond what pandas can count, years 1678–2261: a
:class:`~geo.errors.GeoError`), and :func:`check_day` refuses a day before the
data's first day (:func:`first_day`: the earliest status event, sampling,
complaint or inspection), when nothing had been recorded yet and every figure
would be an empty zero. Later days stay allowed: a briefing may project the
deadlines ahead.
"""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from .errors import GeoError

#: Columns that record something that happened (refused after the limit); deadlines are not among them.
EVENT_DATE_COLUMNS = ("closed_on", "committed_on", "effective_on", "sampled_at")
#: Where each table dates what it records: the data's first day is the earliest of them (:func:`first_day`).
HISTORY_DATES = {"status_events": "effective_on", "readings": "sampled_at", "complaints": "received_on",
                 "inspections": "held_on"}


def _meta(store):
    """The meta entries of ``store`` (a Store, or a dict of frames with a ``meta`` table), else ``None``."""
    try:
        if hasattr(store, "meta"):
            return store.meta()
        if isinstance(store, dict):
            return store.get("meta")
    except Exception:  # noqa: BLE001 - a store without a meta table replays nothing
        return None
    return None


def latest_allowed(store=None, today: dt.date | None = None) -> dt.date:
    """The last date an event may carry: ``today``, or the store's ``as_of`` when that is earlier.

    The store's date is :func:`geo.rules.default_as_of` (its ``as_of`` meta entry, else today), the
    same date the pages and commands show figures at.
    """
    from .rules import default_as_of

    today = today or dt.date.today()
    if store is None:
        return today
    return min(today, default_as_of(_meta(store)).date())


def is_future(value, limit: dt.date) -> bool:
    """Whether ``value`` (a date, date-time or Timestamp; ``None``/NaT: no) lies after ``limit``."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return False
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return False
    day = value.date() if isinstance(value, (pd.Timestamp, dt.datetime)) else value
    return day > limit


def future_year(text) -> int | None:
    """The year of a date written beyond what pandas can hold (``9999-12-31``), else ``None``."""
    m = re.match(r"^\s*(\d{4})\s*[-/.年]", str(text or ""))
    return int(m[1]) if m and int(m[1]) > 2262 else None


def future_message(what_zh: str, what_en: str, value, limit: dt.date, today: dt.date | None = None
                   ) -> tuple[str, str]:
    """The finding for ``value`` after ``limit`` (Chinese, English), naming the limit and why it is the limit."""
    shown = value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)
    today = today or dt.date.today()
    if limit < today:
        # a replay store's present is its as_of, not the wall clock: say so, and which dates it takes
        return (f"{what_zh} {shown} 晚于数据截止日期 {limit:%Y-%m-%d}（本数据库按该日回放），不能登记尚未发生的事。"
                f"可登记的日期：{limit:%Y-%m-%d} 及以前。",
                f"{what_en} {shown} lies in the future of this store: its data stand at {limit:%Y-%m-%d} "
                f"(as_of); it cannot record what has not happened yet. Allowed: {limit:%Y-%m-%d} or earlier.")
    return (f"{what_zh} {shown} 晚于今天（{limit:%Y-%m-%d}），不能登记尚未发生的事。可登记的日期：今天及以前。",
            f"{what_en} {shown} is in the future (today is {limit:%Y-%m-%d}); it cannot record what has not "
            f"happened yet. Allowed: today or earlier.")


# --- the dates figures are asked for -----------------------------------------------------------------

def parse_day(value, what_zh: str = "日期", what_en: str = "the date") -> pd.Timestamp:
    """``value`` (``YYYY-MM-DD`` text, a date or a Timestamp) as midnight of that day.

    Raises
    ------
    geo.errors.GeoError
        Not a date (``2007-02-30``, ``abc``), or beyond what can be counted (before 1678 or after
        2261: pandas' nanosecond dates), named as ``what_zh`` / ``what_en``.
    """
    text = value.strip() if isinstance(value, str) else value
    m = re.match(r"^(\d{4})-\d{1,2}-\d{1,2}$", text) if isinstance(text, str) else None
    year = int(m[1]) if m else getattr(text, "year", None)
    if year is not None and not 1678 <= year <= 2261:
        raise GeoError(f"{what_zh}“{_shown(value)}”超出可计算的范围（1678 年至 2261 年）。",
                       f"{what_en} {_shown(value)!r} is beyond the dates that can be counted (years 1678 to 2261).")
    try:
        day = (pd.Timestamp(pd.to_datetime(text, format="%Y-%m-%d")) if isinstance(text, str)
               else pd.Timestamp(text)).normalize()
    except (ValueError, TypeError, OverflowError):
        day = pd.NaT
    if pd.isna(day):
        raise GeoError(f"{what_zh}格式应为 YYYY-MM-DD，收到“{_shown(value)}”。",
                       f"{what_en} must be YYYY-MM-DD, got {_shown(value)!r}.")
    if not 1678 <= day.year <= 2261:
        raise GeoError(f"{what_zh}“{day:%Y-%m-%d}”超出可计算的范围（1678 年至 2261 年）。",
                       f"{what_en} {day:%Y-%m-%d} is beyond the dates that can be counted (years 1678 to 2261).")
    return day


def _shown(value) -> str:
    return str(value)[:40]


def first_day(source) -> pd.Timestamp | None:
    """The data's first day: the earliest status event, sampling, complaint or inspection (:data:`HISTORY_DATES`).

    Parameters
    ----------
    source : dict of frames, or a :class:`geo.store.Store`
        Frames: the tables they hold (whole tables: a snapshot holding only some events would give a
        later day). A store: its status events and the samplings before the first of them, read by the
        database (a store without status events: ``None``, nothing else is read).

    Returns
    -------
    pandas.Timestamp or None
        Midnight of that day; ``None`` when the data record nothing dated.
    """
    if isinstance(source, dict):
        days = [pd.to_datetime(source[t][col], errors="coerce").min() for t, col in HISTORY_DATES.items()
                if isinstance(source.get(t), pd.DataFrame) and col in source[t].columns]
    else:
        days = _store_first_days(source)
    days = [d for d in days if d is not None and not pd.isna(d)]
    return pd.Timestamp(min(days)).normalize() if days else None


def _store_first_days(store) -> list:
    """The first status event of each site layer and any sampling before the earliest of them."""
    from .contract import SITE_LAYERS

    present = set(store.tables())
    if "status_events" not in present:
        return []
    days = [store.events_of(layer)["effective_on"].min() for layer in SITE_LAYERS if layer in present]
    days = [d for d in days if not pd.isna(d)]
    if days and "readings" in present:  # only the samplings before the first event: a bounded read
        days.append(store.readings_between(None, None, min(days))["sampled_at"].min())
    return days


def before_data_message(day, first, what_zh: str = "日期", what_en: str = "the date") -> tuple[str, str]:
    """The finding for ``day`` before the data's first day ``first`` (Chinese, English), naming the range."""
    day, first = pd.Timestamp(day), pd.Timestamp(first)
    return (f"{what_zh} {day:%Y-%m-%d} 早于数据的起始日期 {first:%Y-%m-%d}（最早的一条记录），"
            f"该日还没有任何记录可统计。请选择 {first:%Y-%m-%d} 或之后的日期。",
            f"{what_en} {day:%Y-%m-%d} is before the data begin on {first:%Y-%m-%d} (the earliest record): "
            f"nothing had been recorded yet to count. Choose {first:%Y-%m-%d} or later.")


def check_day(day, source=None, *, first=None, what_zh: str = "日期", what_en: str = "the date") -> pd.Timestamp:
    """``day`` (read by :func:`parse_day`) when figures can be given for it, else a :class:`GeoError`.

    ``source``: the frames or store whose :func:`first_day` bounds it; or ``first``, that day when the
    caller knows it. A day before the data's first day is refused (:func:`before_data_message`); a
    store that records nothing dated bounds nothing.
    """
    day = parse_day(day, what_zh, what_en)
    if first is None and source is not None:
        first = first_day(source)
    if first is not None and day < pd.Timestamp(first).normalize():
        raise GeoError(*before_data_message(day, first, what_zh, what_en))
    return day


def holds_nothing(frames) -> bool:
    """Whether frames replayed to a day (the sites on it, the samplings up to it) hold no site and no sampling:
    the day lies before the data (the wall's test, on the snapshot it draws anyway)."""
    from .contract import SITE_LAYERS

    tables = [*SITE_LAYERS, "readings"]
    return all(not isinstance(frames.get(t), pd.DataFrame) or len(frames[t]) == 0 for t in tables)
