"""The hostile names of issue 14, and a copy of the demo store that carries them in every text column.

Names go in verbatim (written through ``Store.commit``, no importer in between), so the pages, the
briefing and the exports are tested on exactly these strings.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd

from geo.store import DEMO_STORE, Change, open_store

LONG = "超长名称" + "长" * 4996
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "[点此](http://evil.example)",
    "坏$\\frac{$名",
    '=HYPERLINK("http://x","y")',
    "@SUM(1,1)",
    LONG,
    "换行\n名称\t制表",
    "[点此查看](http://evil.example/p)",
]
assert len(LONG) == 5000


def hostile_cycle(n: int, offset: int = 0) -> list[str]:
    return [HOSTILE[(offset + i) % len(HOSTILE)] for i in range(n)]


def make_hostile_store(path: str | Path) -> Path:
    """A copy of the demo at ``path`` whose names, villages, notes, departments… are the hostile names."""
    path = Path(path)
    shutil.copyfile(DEMO_STORE, path)
    store = open_store(path)
    changes = []

    def rename(table: str, cols: dict[str, int], rows=None):
        df = store.read(table)
        pick = df.index if rows is None else rows(df)
        for col, offset in cols.items():
            df[col] = df[col].astype(object)
            df.loc[pick, col] = hostile_cycle(len(pick), offset)
        changes.append(Change(table, df, "replace"))

    # every enterprise: name, industry, department, destination (the briefing lists the pending ones)
    rename("enterprises", {"name": 0, "industry": 1, "department": 2, "destination": 3})
    rename("kilns", {"name": 4, "village": 5}, rows=lambda d: d.index[:24])
    rename("farms", {"name": 6, "species": 7}, rows=lambda d: d.index[:24])
    rename("sampling_points", {"name": 7})
    rename("rivers", {"name": 1})
    rename("townships", {"name": 0}, rows=lambda d: d.index[:len(HOSTILE)])
    # casework: complaint texts, patrol teams and notes, finding notes, attachment names and notes
    tables = set(store.tables())
    for table, cols in (("complaints", {"summary": 0, "result": 1, "complainant": 2}),
                        ("inspections", {"team": 3, "note": 4}), ("inspection_visits", {"note": 5}),
                        ("attachments", {"note": 6}), ("assessment_entries", {"note": 7})):
        if table in tables and len(store.read(table)):
            rename(table, cols)
    ev = store.read("status_events")
    tail = ev.index[-2 * len(HOSTILE):]
    ev["note"] = ev["note"].astype(object)
    ev.loc[tail, "note"] = hostile_cycle(len(tail), 2)
    ev.loc[tail, "recorded_by"] = hostile_cycle(len(tail), 3)
    changes.append(Change("status_events", ev, "replace"))
    meta = store.read("meta")
    meta.loc[meta["key"] == "district", "value"] = HOSTILE[1]
    changes.append(Change("meta", meta, "replace"))
    store.commit(changes)
    return path


def squash(text: str) -> str:
    """Whitespace runs as one space (how markdown and HTML show a name with a newline or a tab), without
    the invisible word joiners ``ui.md_escape`` puts in URLs."""
    return re.sub(r"\s+", " ", str(text).replace("\u2060", "")).strip()


def frames_with_hostile_names(path: str | Path) -> dict[str, pd.DataFrame]:
    return open_store(path).read_many()
