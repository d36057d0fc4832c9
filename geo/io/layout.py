"""The layout of a township ledger: its header block, and the rows of its body that are not data.

A ledger typed in a township looks like this::

    1  上方镇石灰窑整治台账                                   (title, merged across)
    2  填报单位：上方镇人民政府      日期：2007年6月30日       (who and when)
    3  序号 | 名称 | 所在村 | 地理坐标        | 整治状态      (headers; 地理坐标 merged over two columns,
    4       |      |        | 经度   | 纬度   |                the others merged down over rows 3–4)
    5  1    | 甲窑 | 上方村 | 118.94 | 29.18  | 已关停        (所在村 merged down over rows 5–6)
    6  2    | 乙窑 |        | 118.93 | 29.17  | 已关停
    7  合计 |      |        |        |        | 2 座
    8  填表人：王某   审核人：李某

:func:`header_block` finds rows 3–4 from the header row :func:`geo.io.readers.find_header` picked;
:func:`flatten` names each column by its header cells (``经度``, or ``地理坐标/经度`` when the aliases do
not know ``经度``); :func:`classify_body` fills ``所在村`` down into row 6 (only because a merge range says
so), and leaves out row 7 (a total) and row 8 (signatures), each with its reason.

Merges are ``(first_row, first_col, last_row, last_col)``, 0-based and inclusive, in the grid's coordinates
(row 0 is the file's row 1). A CSV has none: there a parent header is a label followed by blank cells with
labels under them, accepted only when it does not lose a recognised header.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from .cells import blank, norm_key, parse_coord, parse_datetime, text
from .headers import match_headers

__all__ = ["header_block", "flatten", "classify_body", "MAX_HEADER_ROWS", "TOTAL_WORDS", "FOOTER_WORDS"]

Merge = tuple[int, int, int, int]

#: Rows one header block may span.
MAX_HEADER_ROWS = 4
#: A row whose first columns hold one of these words (or start with it) is a total, not a site.
TOTAL_WORDS = {"合计": "total", "小计": "subtotal", "总计": "grand total", "累计": "cumulative total"}
#: Columns searched for a total word.
TOTAL_COLUMNS = 3
#: Words a signature line under the table starts with (compared after NFKC, without spaces).
FOOTER_WORDS = ("填表人", "审核人", "制表", "填报人", "联系电话", "备注:")
#: Canonical columns that name a site: a total row leaves them blank.
ID_TARGETS = ("id", "name")
_FOOTER_FIRST = {w[0] for w in FOOTER_WORDS}
_LABEL_VALUE = re.compile(r"[:：]\s*\S")


# --- header block ------------------------------------------------------------------------------

def _recognised(label: str, aliases) -> bool:
    return bool(aliases) and bool(match_headers([label], aliases))


def _headerlike(v) -> bool:
    """A cell that can be a header label: text that is not a number, a date or a coordinate."""
    return isinstance(v, str) and parse_coord(v) is None and parse_datetime(v) is None


def _info_row(row: Sequence) -> bool:
    """A title or "填报单位：… 日期：…" row: one cell in the first column, or a ``label：value`` cell."""
    cells = [(j, v) for j, v in enumerate(row) if not blank(v)]
    if len(cells) == 1 and cells[0][0] == 0:
        return True
    return any(isinstance(v, str) and _LABEL_VALUE.search(v.strip()) for _, v in cells)


def _merge_at(merges: Iterable[Merge], i: int, j: int) -> Merge | None:
    for m in merges:
        if m[0] <= i <= m[2] and m[1] <= j <= m[3]:
            return m
    return None


def _row_width(row: Sequence) -> int:
    for j in range(len(row) - 1, -1, -1):
        if not blank(row[j]):
            return j + 1
    return 0


def _spans(rows, top: int, bottom: int, merges: list[Merge], width: int) -> list[list[tuple[int, int] | None]]:
    """For each block row, the ``(first, last)`` columns each column's label covers, or ``None``.

    A merged cell covers its merge; a label without a merge covers the blank cells to its right, up to
    the next column where this row or a row above starts a label (a child never outgrows its parent).
    """
    out = []
    starts: set[int] = set()
    for i in range(top, bottom + 1):
        row = rows[i]
        own = {j for j in range(width) if j < len(row) and not blank(row[j])}
        here = [m for m in merges if m[0] <= i <= m[2]]
        starts |= own | {m[1] for m in here} | {m[3] + 1 for m in here}
        cover: list[tuple[int, int] | None] = [None] * width
        for m in here:
            for j in range(m[1], min(m[3], width - 1) + 1):
                cover[j] = (m[1], m[3])
        for k in sorted(own):
            if cover[k] is not None:
                continue
            end = k
            while end + 1 < width and end + 1 not in starts and cover[end + 1] is None:
                end += 1
            for j in range(k, end + 1):
                cover[j] = (k, end)
        out.append(cover)
    return out


def _continues(rows, r: int, top: int, bottom: int, merges: list[Merge], aliases) -> bool:
    """Whether row ``r``, just below the block ``top..bottom`` or just above it, belongs to the block."""
    below = r > bottom
    cells = {j: v for j, v in enumerate(rows[r]) if not blank(v)}
    if _info_row(rows[r]) or not all(_headerlike(v) for v in cells.values()):
        return False
    # below the block, the block holds the parents and row r the children; above it, the other way round
    parents = range(top, bottom + 1) if below else range(r, r + 1)
    child_row = r if below else top
    child = cells if below else {j: v for j, v in enumerate(rows[top]) if not blank(v)}
    # a parent's header cell merged down into the child row is the surest sign
    if any(m[0] in parents and m[0] < child_row <= m[2] for m in merges):
        return True
    if not child:
        return False
    if all(any(m[0] in parents and m[3] > m[1] and m[1] <= j <= m[3] for m in merges) for j in child):
        return True  # each label under a horizontally merged parent (地理坐标 over 经度 | 纬度)
    # no merge says so: each label under a parent followed by blank cells (a CSV), if no header is lost
    lo, hi = min(r, top), max(r, bottom)
    width = max(_row_width(rows[i]) for i in range(lo, hi + 1))
    spans = _spans(rows, parents[0], parents[-1], merges, width)
    if not all(j < width and any(s[j] is not None and s[j][1] > s[j][0] for s in spans) for j in child):
        return False
    if not aliases:
        return True
    before = flatten(rows, top, bottom, merges, aliases, width)
    after = flatten(rows, lo, hi, merges, aliases, width)
    return len(match_headers(after, aliases)) >= len(match_headers(before, aliases))


def header_block(rows: Sequence[Sequence], h: int, merges: Iterable[Merge] = (),
                 aliases: Mapping[str, Iterable[str]] | None = None) -> tuple[int, int]:
    """The rows ``(top, bottom)`` of the header block holding row ``h`` (0-based, inclusive).

    A row above or below joins the block when it is header-like (text only, no number, date or
    coordinate; not a title or ``label：value`` row) and either a header cell is merged down across both,
    or each of its labels lies under a horizontally merged parent (``地理坐标`` over ``经度 | 纬度``), or,
    with no merge, under a label followed by blank cells, as long as the flattened headers keep at least
    as many recognised columns. At most :data:`MAX_HEADER_ROWS` rows.
    """
    merges = list(merges)
    top = bottom = h
    while top > 0 and bottom - top + 1 < MAX_HEADER_ROWS and _continues(rows, top - 1, top, bottom, merges, aliases):
        top -= 1
    while (bottom + 1 < len(rows) and bottom - top + 1 < MAX_HEADER_ROWS
           and _continues(rows, bottom + 1, top, bottom, merges, aliases)):
        bottom += 1
    return top, bottom


def flatten(rows: Sequence[Sequence], top: int, bottom: int, merges: Iterable[Merge] = (),
            aliases: Mapping[str, Iterable[str]] | None = None, width: int | None = None) -> list[str | None]:
    """One header per column from the header block ``top..bottom`` (``None`` where a column has none).

    A column's parts are its labels from the top row down (a merged cell counts once, whichever rows it
    covers, and names the columns it spans only where they have labels below it: a parent; a label
    repeated in the row below counts once). Its header is the lowest part when
    that part alone is recognised by ``aliases`` (``经度``), else the parts joined with ``/``
    (``地理坐标/经度``, ``经度/度``).
    """
    merges = list(merges)
    if width is None:
        width = max(len(rows[i]) for i in range(top, bottom + 1))
    spans = _spans(rows, top, bottom, merges, width)
    out: list[str | None] = []
    for j in range(width):
        parts: list[str] = []
        seen: set[tuple[int, int]] = set()
        for k, i in enumerate(range(top, bottom + 1)):
            m = _merge_at(merges, i, j)
            if m is not None:
                # a merge names the columns right of its first only as a parent: with labels under them
                if j > m[1] and not any(_has_label(rows, merges, i2, j) for i2 in range(m[2] + 1, bottom + 1)):
                    continue
                key, v = (m[0], m[1]), rows[m[0]][m[1]] if m[1] < len(rows[m[0]]) else None
            elif j < len(rows[i]) and not blank(rows[i][j]):
                key, v = (i, j), rows[i][j]
            elif spans[k][j] is not None and any(_has_label(rows, merges, i2, j) for i2 in range(i + 1, bottom + 1)):
                # a parent label to the left, with a child label under this blank cell
                key = (i, spans[k][j][0])
                v = rows[i][key[1]] if key[1] < len(rows[i]) else None
            else:
                continue
            if key in seen or blank(v):
                continue
            seen.add(key)
            label = text(v)
            if not parts or parts[-1] != label:
                parts.append(label)
        if not parts:
            out.append(None)
        elif len(parts) == 1 or _recognised(parts[-1], aliases):
            out.append(parts[-1])
        else:
            out.append("/".join(parts))
    return out


def _has_label(rows, merges, i: int, j: int) -> bool:
    if j < len(rows[i]) and not blank(rows[i][j]):
        return True
    m = _merge_at(merges, i, j)
    return m is not None and m[0] == i and not blank(rows[m[0]][m[1]])


# --- body ----------------------------------------------------------------------------------------

def _total_word(row: Sequence) -> tuple[int, str] | None:
    """``(column, word)`` of a total word in the first :data:`TOTAL_COLUMNS` columns."""
    for j, v in enumerate(row[:TOTAL_COLUMNS]):
        if not isinstance(v, str) or "计" not in v:  # every total word has 计: a cheap test first
            continue
        key = norm_key(v)
        for word in TOTAL_WORDS:
            if key.startswith(word):
                return j, word
    return None


def _footer(row: Sequence) -> bool:
    """Only signature cells: each starts with a footer word, or is the value after a ``填表人：`` label."""
    first = next((v for v in row if not blank(v)), None)
    # the first cell decides for almost every row (a cheap test before NFKC)
    if not isinstance(first, str) or first.lstrip()[:1] not in _FOOTER_FIRST:
        return False
    cells = [v for v in row if not blank(v)]
    after_label = False
    found = False
    for v in cells:
        key = norm_key(v) if isinstance(v, str) else ""
        if key.startswith(FOOTER_WORDS):
            found, after_label = True, key.endswith(":")
        elif after_label:
            after_label = False
        else:
            return False
    return found


def classify_body(rows: list[list], start: int, merges: Iterable[Merge], id_columns: Sequence[int]
                  ) -> tuple[list[int], list[tuple[int, str, str]], dict[int, int]]:
    """Sort the rows from ``start`` on into data rows and rows left out; fill vertical merges down.

    Parameters
    ----------
    rows : the grid (blank cells ``None``, each row padded to the table's width); filled cells are
        written into it.
    start : the first row below the header block.
    merges : the sheet's merges; only those starting in the body and spanning rows are filled, from the
        merge's first cell into the blank cells below it in that column (never across columns, never a
        blank guessed to repeat the row above).
    id_columns : the columns matched to the canonical ``id`` and ``name``.

    Returns
    -------
    (data, skipped, filled)
        ``data`` the indices of data rows; ``skipped`` ``(file row, reason zh, reason en)`` for totals,
        signature lines and blank rows between data rows (blank rows after the last data row are dropped
        silently); ``filled`` ``{column: cells filled}`` over the data rows.
    """
    own_blank = [r.count(None) == len(r) for r in rows]  # the file's own cells, before any fill
    fills: dict[tuple[int, int], object] = {}
    for r0, c0, r1, _c1 in merges:
        if r0 < start or r1 <= r0 or r0 >= len(rows) or c0 >= len(rows[r0]) or blank(rows[r0][c0]):
            continue
        for r in range(r0 + 1, min(r1, len(rows) - 1) + 1):
            if blank(rows[r][c0]):
                fills[(r, c0)] = rows[r0][c0]
    data: list[int] = []
    left_out: list[tuple[int, str, str]] = []
    spread: list[int] = []  # data and total rows: blank rows between them are spacers inside the data
    for i in range(start, len(rows)):
        if own_blank[i]:
            continue
        row = rows[i]
        if _footer(row):
            left_out.append((i + 1, "表尾签字行（填表人、审核人等）", "footer line (signatures, contact)"))
            continue
        spread.append(i)
        tw = _total_word(row)
        if tw is not None and all(blank(row[j]) or j == tw[0] or _total_word([row[j]]) for j in id_columns
                                  if j < len(row)):
            left_out.append((i + 1, f"{tw[1]}行", f"{TOTAL_WORDS[tw[1]]} row"))
        else:
            data.append(i)
    if spread:
        left_out += [(i + 1, "空行", "blank row") for i in range(spread[0], spread[-1] + 1) if own_blank[i]]
    left_out.sort()
    filled: dict[int, int] = {}
    data_set = set(data)
    for (r, c), v in fills.items():
        if r in data_set:
            rows[r][c] = v
            filled[c] = filled.get(c, 0) + 1
    return data, left_out, filled
