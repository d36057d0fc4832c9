"""A snapshot's memo: results derived from one day's frames, computed once per snapshot.

A :func:`geo.progress.snapshot` is one day's state, never changed once read, so what is derived from it
(a campaign's timeline, the riverside check of that day) is the same every time it is asked for. The wall
asks for several such results from several functions (its trends and its alerts replay the same
timelines; its riverside tile, alert and assessment item start from the same check): the memo, a dict
under :data:`KEY` in the snapshot's frames, lets the first one compute and the others read. Frames
without a memo (whole tables, hand-made frames) compute every time, as before.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, Mapping

import pandas as pd

#: Key of the memo dict in a snapshot's frames (copies of the frames dict share it).
KEY = "memo"


def remember(frames: Mapping, key: Hashable, compute: Callable[[], Any], uses: tuple[str, ...] = ()) -> Any:
    """``compute()``, once per ``frames`` memo, ``key`` and the very frames named in ``uses``.

    A copy of the frames dict with one frame replaced (a township filter, a subset) shares the memo but
    not that frame: the result is kept with the frames it was computed from, and given back only to
    frames holding those same objects (identity; the memo holds them, so no other frame takes their
    identity). Without a memo, computed every time. Frames come back as shallow copies (copy-on-write:
    what a caller does to its copy never reaches the memo), tuples with their frames likewise.
    """
    memo = frames.get(KEY) if isinstance(frames, Mapping) else None
    if not isinstance(memo, dict):
        return compute()
    used = tuple(frames.get(name) for name in uses)
    kept = memo.get(key)
    if kept is None or len(kept[0]) != len(used) or any(a is not b for a, b in zip(kept[0], used)):
        kept = memo[key] = (used, compute())
    return _copy(kept[1])


def _copy(value):
    if isinstance(value, pd.DataFrame):
        return value.copy(deep=False)
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value
