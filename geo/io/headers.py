"""Header matching: which header of a file stands for which canonical column.

Kept apart from :mod:`geo.io.readers` so that :mod:`geo.io.layout` (the header block of a ledger) can
recognise labels without importing the readers that use it.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .cells import blank, norm_key

__all__ = ["match_headers"]


def _unbracketed(key: str) -> str:
    return re.sub(r"\(.*?\)|\[.*?\]", "", key)


def match_headers(columns: Iterable, aliases: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Which header stands for which canonical column: ``{header: canonical}``.

    Parameters
    ----------
    columns : the headers as read.
    aliases : ``{canonical: spellings}`` (the canonical name itself is always accepted); on a spelling
        shared by two canonical columns the first listed wins.

    Exact spellings (after NFKC, without spaces, any case) are matched first; then a header with a
    bracketed unit (``存栏量（头）``, ``河宽[m]``) without it. Each canonical column takes the first
    header that matches it.
    """
    lookup: dict[str, str] = {}
    for target, spellings in aliases.items():
        for a in (*tuple(spellings), target):
            lookup.setdefault(norm_key(a), target)
    columns = list(columns)
    out: dict[str, str] = {}
    taken: set[str] = set()
    for exact in (True, False):
        for col in columns:
            if col in out or blank(col):
                continue
            key = norm_key(col)
            target = lookup.get(key if exact else _unbracketed(key))
            if target and target not in taken:
                out[col] = target
                taken.add(target)
    return {c: out[c] for c in columns if c in out}
