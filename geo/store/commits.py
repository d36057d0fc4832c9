"""What every backend does around a commit: one log line for each write that succeeded, and the refusal
of a full disk.

The log line (logger ``qingshan.store``, level INFO, under the ``qingshan`` logger the app configures) is
written by the store's own commit, after the transaction committed, so no write path can forget it and a
refused or rolled-back write never logs one::

    store write: by 李四 → /srv/qingshan.gpkg: status_events 1 row (append), farms 1 row (upsert, closed_on)

Who wrote is what the rows say (``recorded_by``, ``uploaded_by``, ``entered_by``, ``placed_by``: every
write path records its author there); rows without an author (a whole store rebuilt by ``geo demo``)
log ``by ?``.

A full disk (SQLite ``SQLITE_FULL`` "database or disk is full", ``ENOSPC``, PostgreSQL ``53100``
"could not extend file") is refused as :class:`geo.errors.StoreError` saying so in both languages:
the transaction was rolled back, nothing was written.
"""
from __future__ import annotations

import errno
import logging
from typing import Iterable

import pandas as pd

from ..errors import StoreError

log = logging.getLogger("qingshan.store")

#: Columns that name who wrote a row, in the order they are looked at.
AUTHOR_COLUMNS = ("recorded_by", "uploaded_by", "entered_by", "placed_by")
#: Authors named in the log line (a province import has one; a copy of many tables may have a few).
MAX_AUTHORS = 5


def authors(changes: Iterable) -> list[str]:
    """Who wrote ``changes`` (:class:`geo.store.base.Change` items): the distinct authors their rows name."""
    found: dict[str, None] = {}
    for ch in changes:
        for col in AUTHOR_COLUMNS:
            if col in ch.rows.columns:
                for who in pd.unique(ch.rows[col].dropna().astype(str)):
                    if who.strip():
                        found.setdefault(who.strip(), None)
    return list(found)


def summary(changes: Iterable) -> str:
    """``table n rows (how)`` for each change, in commit order."""
    parts = []
    for ch in changes:
        n = len(ch.rows)
        how = ch.how + (f", {', '.join(ch.columns)}" if getattr(ch, "columns", None) else "")
        parts.append(f"{ch.table} {n} row{'s' if n != 1 else ''} ({how})")
    return ", ".join(parts)


def log_commit(url: str, changes: list) -> None:
    """The one INFO line of a write that succeeded (see the module docstring); nothing when nothing changed."""
    if not changes or not log.isEnabledFor(logging.INFO):
        return
    try:
        who = authors(changes)
        by = "、".join(who[:MAX_AUTHORS]) + (f" 等{len(who)}人" if len(who) > MAX_AUTHORS else "") if who else "?"
        text = summary(changes)
    except Exception:  # noqa: BLE001 - the write is committed: describing it must never turn it into an error
        by, text = "?", f"{len(changes)} change(s)"
    log.info("store write: by %s → %s: %s", by, url, text)


# --- a full disk ----------------------------------------------------------------------------------

DISK_FULL_ZH = "磁盘已满，未写入任何数据（本次写入已整体撤销，数据保持原样）。请腾出磁盘空间后重试。"
WRITE_FAILED_ZH = ("无法写入磁盘（磁盘已满、超出允许的文件大小或磁盘故障），未写入任何数据（本次写入已整体撤销，"
                   "数据保持原样）。请检查磁盘后重试。")


def disk_full(where: str, detail) -> StoreError:
    """The refusal of a write that found the disk full."""
    return StoreError(f"the disk is full: nothing was written to {where} (the write was rolled back whole; "
                      f"the data are as they were). Free some space and try again. ({detail})", zh=DISK_FULL_ZH)


def write_failed(where: str, detail) -> StoreError:
    """The refusal of a write the disk would not take (an I/O error: full, over a size limit, or failing)."""
    return StoreError(f"the disk refused the write (full, over a file size limit, or failing): nothing was "
                      f"written to {where} (the write was rolled back whole). Check the disk and try again. "
                      f"({detail})", zh=WRITE_FAILED_ZH)


def is_disk_full_os(exc: BaseException) -> bool:
    """Whether ``exc`` is an OS error of a full disk or an exhausted quota."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def sqlite_refusal(exc, where: str) -> StoreError | None:
    """The :class:`StoreError` of a SQLite error the disk caused (full, or an I/O error), else ``None``."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name == "SQLITE_FULL" or "database or disk is full" in text:
        return disk_full(where, text)
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        return write_failed(where, text)
    return None


#: PostgreSQL's disk full (class 53: insufficient resources).
PG_DISK_FULL = "53100"


def postgres_refusal(exc, sqlstate: str | None, where: str) -> StoreError | None:
    """The :class:`StoreError` of a PostgreSQL error of a full disk (``53100``, "could not extend file",
    "No space left on device"), else ``None``."""
    text = str(getattr(exc, "orig", exc))
    if sqlstate == PG_DISK_FULL or "could not extend file" in text or "No space left on device" in text:
        return disk_full(where, text.strip().splitlines()[0] if text.strip() else type(exc).__name__)
    return None
