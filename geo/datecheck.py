"""Dates that make sense: what has happened cannot be dated after the store's present.

Closure dates, commitment dates, status dates and sampling times record events
that took place, so they cannot lie after *today*, or, for a store replaying a
past date (its ``meta`` table holds ``as_of``, as the demo does: the data stand
at 2007-06-30), after that date. Deadlines are plans and may lie ahead.

Callers (ledger intake, status updates, lab results) ask :func:`latest_allowed`
for the limit and :func:`future_message` for the bilingual finding, and refuse
the input with nothing written.
"""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd

#: Columns that record something that happened (refused after the limit); deadlines are not among them.
EVENT_DATE_COLUMNS = ("closed_on", "committed_on", "effective_on", "sampled_at")


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
        return (f"{what_zh} {shown} 晚于数据截止日期 {limit:%Y-%m-%d}（本数据库按该日回放），不能登记尚未发生的事。",
                f"{what_en} {shown} lies in the future of this store: its data stand at {limit:%Y-%m-%d} "
                f"(as_of); it cannot record what has not happened yet.")
    return (f"{what_zh} {shown} 晚于今天（{limit:%Y-%m-%d}），不能登记尚未发生的事。",
            f"{what_en} {shown} is in the future (today is {limit:%Y-%m-%d}); it cannot record what has not "
            f"happened yet.")
