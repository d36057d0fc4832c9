"""Cell parsers: what township staff and labs type into a cell, read one way everywhere.

Every reader of the project (ledgers, lab files, the water CLI) parses cells
here, so a date, a number or a "below detection" value means the same thing in
every import. Each parser takes one cell as read (a string, a number, a
``datetime``, ``None``) and returns the parsed value, or ``None`` when the cell
does not hold one; it never raises on bad input.

Text kept as written
--------------------
Names, villages and notes are official text: :func:`text` only trims them
(no NFKC, no full-width to half-width), so ``（更名）`` stays ``（更名）``.

Ids: the one normalisation rule
-------------------------------
:func:`normalise_id` is the only rule by which an id is changed:

    NFKC (full-width letters and digits to ASCII: ``ＫＬ００２`` → ``KL002``),
    then strip surrounding white space, then upper case.

An importer stores the normalised id of a new row; a row whose id equals an
existing (or another row's) id only after this rule, e.g. ``ＫＬ００２`` or
``kl002`` next to ``KL002``, is a *collision* and is reported, never merged.

Header words, status and code words are compared with :func:`norm_key` (NFKC,
no spaces, lower case): they are vocabulary, not data, and are never stored.

Control characters: removed at intake, reported
-----------------------------------------------
:func:`strip_controls` is the one cleaning every importer applies to the text cells of a file before
anything else reads them: control characters (Unicode category Cc: ESC, BEL, NUL …) and the bidi
embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) are removed, and the importer
reports each cell it cleaned (a warning naming row and column: :data:`CONTROLS_REMOVED`). Left in, they
reach a terminal as live escape sequences, make GPX/KML ill-formed XML and make a name display
otherwise than it is stored. Multi-line fields (notes, a complaint's summary) keep TAB and LF; their
CR LF and lone CR line ends become LF (a Windows line end, not a control to report).
"""
from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import unicodedata
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

__all__ = [
    "blank", "text", "strip_controls", "CONTROLS_REMOVED", "CONTROLS_IN_ID", "norm_key", "normalise_id", "parse_date", "parse_datetime", "parse_number", "parse_coord",
    "coord_problem", "parse_detection", "parse_class", "ND_WORDS", "WORSE_THAN_V",
]

#: Class number of 劣Ⅴ类 (worse than class Ⅴ), as in :mod:`geo.water`.
WORSE_THAN_V = 6

#: Words labs write for "not detected" (compared after :func:`norm_key`).
ND_WORDS = frozenset({"nd", "n.d.", "n.d", "未检出", "未检测到", "<dl", "<lod", "bdl"})


# --- text ------------------------------------------------------------------------------------

def blank(v) -> bool:
    """Whether a cell is empty: ``None``, NaN, NaT, ``pd.NA`` or only white space."""
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == ""
    if isinstance(v, float):
        return np.isnan(v)
    try:
        return bool(pd.isna(v)) is True
    except (TypeError, ValueError):  # array-like cells are not blank
        return False


def text(v) -> str:
    """A cell as text, trimmed and otherwise exactly as written (Excel's ``12.0`` for an id typed as a number
    becomes ``12``)."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v).strip()


# --- control characters ----------------------------------------------------------------------

#: Bidi embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069): they reorder how a text displays.
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
#: Every character :func:`strip_controls` removes from a one-line cell: category Cc and the bidi controls.
_CONTROLS = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_CONTROLS}]")
#: In a multi-line cell TAB and LF stay (CR is turned into LF first).
_CONTROLS_MULTILINE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}]")
_LINE_END = re.compile(r"\r\n?")
#: White-space controls in a one-line cell: one space, so that words typed on two lines stay apart.
_SPACING = re.compile(r"[\t\n\x0b\x0c\r]+")
#: The finding of a cleaned cell, the same in every importer (Chinese, English).
CONTROLS_REMOVED = ("单元格中的控制字符（如 ESC、BEL、双向文字控制符）已删除，其余文字照录",
                    "control characters (e.g. ESC, BEL, bidi overrides) removed from the cell; the rest kept as written")
#: The finding of an id holding control characters: refused, since an id is only ever changed by
#: :func:`normalise_id`'s rule.
CONTROLS_IN_ID = ("编号含控制字符（如 ESC、BEL、双向文字控制符），请在原表中删去后重新导入",
                  "the id holds control characters (e.g. ESC, BEL, bidi overrides): remove them in the file and "
                  "import it again")


def strip_controls(values, *, multiline: bool = False) -> tuple[pd.Series, np.ndarray]:
    """Text cells without control characters, and which cells had any (see the module docstring).

    Parameters
    ----------
    values : a column of cells as read (a Series, or anything that makes one); cells that are not text
        (numbers, dates, ``None``) are returned as they are.
    multiline : the column is multi-line text (a note): TAB and LF are kept, CR LF and CR become LF
        (not reported). Otherwise TAB, LF, CR, VT and FF become one space and every other control
        character is removed.

    Returns
    -------
    (cleaned, removed)
        ``cleaned``: the cells, same index (object dtype where anything changed); ``removed``: a boolean
        array, ``True`` where a control character was removed (the cells to report).
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    none = np.zeros(len(s), dtype=bool)
    if not len(s) or not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)):
        return s, none
    anything = _CONTROLS  # (CR is among them, for the line ends of a multi-line cell)
    try:
        # .str gives NA for cells that are not text: only text cells can hold a control character
        hit = s.str.contains(anything, regex=True, na=False).to_numpy(dtype=bool)
    except AttributeError:  # an object column without any text (numbers only)
        return s, none
    if not hit.any():
        return s, none
    sub = s[hit].astype(str)
    if multiline:
        sub = sub.str.replace(_LINE_END, "\n", regex=True)
        removed = sub.str.contains(_CONTROLS_MULTILINE, regex=True).to_numpy(dtype=bool)
        sub = sub.str.replace(_CONTROLS_MULTILINE, "", regex=True)
    else:
        removed = np.ones(len(sub), dtype=bool)
        sub = sub.str.replace(_SPACING, " ", regex=True).str.replace(_CONTROLS, "", regex=True)
    out = s.astype(object)
    out.iloc[np.flatnonzero(hit)] = sub.to_numpy(dtype=object)
    mask = none.copy()
    mask[np.flatnonzero(hit)] = removed
    return out, mask


def norm_key(v) -> str:
    """A header or vocabulary word for comparison: NFKC, white space removed, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(v))).lower()


def normalise_id(v) -> str | None:
    """The id of a cell by the documented rule (NFKC, strip, upper case); ``None`` for a blank cell."""
    if blank(v):
        return None
    return unicodedata.normalize("NFKC", text(v)).strip().upper() or None


# --- dates -----------------------------------------------------------------------------------

_DATE_RE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*[T\s]?\s*(\d{1,2})\s*[:时点]\s*(?:(\d{1,2})\s*(?:[:分]\s*(?:(\d{1,2}(?:\.\d+)?)\s*秒?)?)?)?)?$")
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:[T\s]?(\d{2})(\d{2})(\d{2})?)?$")
_MONTH_END_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*[底末]$")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def parse_datetime(value) -> pd.Timestamp | None:
    """A date and time from a cell; ``None`` when it is not one.

    Accepted: ``datetime``/``date`` cells; ISO (``2007-06-12``, ``2007-06-12T09:30:00``, with an offset it is
    converted to Beijing time); ``2007/6/30``, ``2007.6.30``, ``2007年6月30日``, each optionally followed by
    ``9:30``, ``09:30:15`` or ``9时30分``; ``20070630``; ``2007年9月底`` (month end); an Excel serial day number
    (``39263``, with a fraction for the time of day) or an 8-digit number ``20070630``. Impossible dates
    (``2007-02-30``) are ``None``.
    """
    if isinstance(value, bool) or blank(value):
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date, np.datetime64)):
        ts = pd.Timestamp(value)
        return ts.tz_convert("Asia/Shanghai").tz_localize(None) if ts.tzinfo else ts
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        if not np.isfinite(v):
            return None
        if v.is_integer() and 19000101 <= v <= 21001231:
            return parse_datetime(str(int(v)))
        if 1 <= v < 80000:  # an Excel serial day number that lost its date format
            return (_EXCEL_EPOCH + pd.Timedelta(days=v)).round("s")
        return None
    s = unicodedata.normalize("NFKC", str(value)).strip()
    try:
        m = _DATE_RE.match(s) or _COMPACT_RE.match(s)
        if m:
            sec = float(m[6] or 0)
            return pd.Timestamp(dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0),
                                            int(sec), int(round((sec % 1) * 1e6))))
        m = _MONTH_END_RE.match(s)
        if m:
            y, mo = int(m[1]), int(m[2])
            return pd.Timestamp(dt.date(y, mo, calendar.monthrange(y, mo)[1]))
        if re.match(r"^\d{4}-\d{2}-\d{2}T", s):  # ISO 8601 with seconds fractions or an offset
            ts = pd.Timestamp(dt.datetime.fromisoformat(s.replace("Z", "+00:00")))
            return ts.tz_convert("Asia/Shanghai").tz_localize(None) if ts.tzinfo else ts
    except ValueError:  # 2007-02-30, 25:00
        return None
    return None


def parse_date(value) -> pd.Timestamp | None:
    """A calendar day from a cell (see :func:`parse_datetime`; the time of day is dropped)."""
    ts = parse_datetime(value)
    return None if ts is None else ts.normalize()


# --- numbers ---------------------------------------------------------------------------------

_UNIT_SUFFIX = re.compile(r"\s*(头|只|羽|米|m|公里|km|个|座|家|处)$", re.I)
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_number(value) -> float | None:
    """A number from a cell: ``1,570``, ``１５７０`` (full width), ``1570头``, ``12.5米``, ``-3.2``;
    ``None`` for text, booleans and non-finite values. A comma is read as a thousands separator only
    where it separates groups of three digits (``1,5`` is not a number)."""
    if isinstance(value, bool) or blank(value):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        return v if np.isfinite(v) else None
    s = unicodedata.normalize("NFKC", str(value)).strip()
    s = _UNIT_SUFFIX.sub("", s).strip()
    if "," in s:
        if not _THOUSANDS.match(s):
            return None
        s = s.replace(",", "")
    if not re.match(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", s):
        return None
    v = float(s)
    return v if np.isfinite(v) else None


# --- coordinates -----------------------------------------------------------------------------
# A coordinate cell is first brought to one spelling (hemisphere letters E/W/N/S, ° ' " as the unit marks,
# - : . or a space as separators), then matched against the compiled forms below. Symbols are mapped before NFKC
# where NFKC would spoil them (º becomes "o", ˚ a combining ring); NFKC itself turns ″ into ′′.

_PRE_NFKC = str.maketrans({"º": "°", "˚": "°", "゜": "°", "‐": "-", "‑": "-", "–": "-", "—": "-", "−": "-"})
_COORD_TOKENS = {
    "东经": "E", "西经": "W", "北纬": "N", "南纬": "S", "东": "E", "西": "W", "北": "N", "南": "S",
    "度": "°", "分": "'", "秒": '"',
    # seconds: doubled primes and double quotes of every shape (listed before the single marks they contain)
    "′′": '"', "''": '"', "’’": '"', "‘‘": '"', "″": '"', "”": '"', "“": '"', "〃": '"',
    "′": "'", "’": "'", "‘": "'", "´": "'", "`": "'",
}
_COORD_TOKEN_RE = re.compile("|".join(re.escape(k) for k in sorted(_COORD_TOKENS, key=len, reverse=True)))
_HEMI_RE = re.compile(r"^([NSEW])?\s*:?\s*(.*?)\s*([NSEW])?$", re.S)
_NUM = r"\d+(?:\.\d+)?"
_DECIMAL_DEG_RE = re.compile(rf"^({_NUM})\s*°?$")
# 118°52'30" and its shortenings: 118°, 118°52, 118°52', 118°52'30 (a last mark left out is common typing).
_SYMBOL_RE = re.compile(rf"^({_NUM})\s*°\s*(?:({_NUM})\s*(?:'\s*(?:({_NUM})\s*\"?)?)?)?$")
# 118-56-08.5, 118:56:08.5, 118 56 08.5 (one separator throughout), and 118:56.5 (GPS degrees:minutes).
_SEPARATED_RE = re.compile(r"^(\d{1,3})\s*([-: ])\s*(\d{1,2})\s*\2\s*(\d{1,2}(?:\.\d+)?)$")
_DEG_MIN_RE = re.compile(r"^(\d{1,3})\s*:\s*(\d{1,2}(?:\.\d+)?)$")
# 119.00.48.5: two or more dots mean D.M.S (the last dot, if any, is the seconds' decimal point).
_DOTTED_RE = re.compile(r"^(\d{1,3})\.(\d{1,2})\.(\d{1,2})(?:\.(\d+))?$")

_NOT_COORD = "无法识别的经纬度写法 / not a coordinate"
_OVER_60 = "分或秒不小于60 / minutes or seconds ≥ 60"
_OVER_180 = "度数超过180 / degrees over 180"
_OVER_90 = "纬度超过90 / latitude over 90"
_FRACTION = "写了分（秒）时度（分）须为整数 / degrees (minutes) must be whole when minutes (seconds) follow"
_HEMI_CLASH = "东西南北标注矛盾 / conflicting hemisphere letters"
_BLANK = "空白 / blank"


def _dms_parts(body: str) -> tuple[str, str | None, str | None] | None:
    """The (degrees, minutes, seconds) texts of a coordinate without its hemisphere, or ``None``."""
    m = _DECIMAL_DEG_RE.match(body)
    if m:
        return m[1], None, None
    m = _SYMBOL_RE.match(body)
    if m:
        return m[1], m[2], m[3]
    m = _SEPARATED_RE.match(body)
    if m:
        return m[1], m[3], m[4]
    m = _DEG_MIN_RE.match(body)
    if m:
        return m[1], m[2], None
    m = _DOTTED_RE.match(body)
    if m:
        return m[1], m[2], m[3] + (f".{m[4]}" if m[4] else "")
    return None


@functools.lru_cache(maxsize=1 << 16)
def _coord_text(s: str) -> tuple[float | None, str | None]:
    """``(value, None)`` or ``(None, reason)`` for a non-blank text cell; cached, since a column repeats
    few spellings and this runs once per cell."""
    v = parse_number(s)
    if v is not None:
        return v, None
    t = unicodedata.normalize("NFKC", s.translate(_PRE_NFKC)).upper()
    t = _COORD_TOKEN_RE.sub(lambda m: _COORD_TOKENS[m[0]], t)
    t = re.sub(r"\s+", " ", t).strip()
    h = _HEMI_RE.match(t)
    if h[1] and h[3] and h[1] != h[3]:
        return None, _HEMI_CLASH
    parts = _dms_parts(h[2])
    if parts is None:
        return None, _NOT_COORD
    d, m, sec = parts
    if (m is not None and "." in d) or (sec is not None and "." in m):
        return None, _FRACTION
    minutes, seconds = float(m or 0), float(sec or 0)
    if minutes >= 60 or seconds >= 60:
        return None, _OVER_60
    deg = float(d) + minutes / 60 + seconds / 3600
    hemi = h[1] or h[3]
    if deg > 180:
        return None, _OVER_180
    if hemi in ("N", "S") and deg > 90:
        return None, _OVER_90
    return (-deg if hemi in ("W", "S") else deg), None


def _coord(value) -> tuple[float | None, str | None]:
    if isinstance(value, bool):
        return None, _NOT_COORD
    if blank(value):
        return None, _BLANK
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        return (v, None) if np.isfinite(v) else (None, _NOT_COORD)
    return _coord_text(str(value))


def parse_coord(value) -> float | None:
    """A coordinate in decimal degrees, or ``None`` when the cell does not hold one.

    Plain numbers are returned as they are, whatever their size (projected metres are told apart later, by
    :func:`geo.io.coords.detect_projected`). Text may be written in any of the spellings bureaus type:

    - decimal: ``118.875``, ``１１８．８７５``, ``118.875°``, ``E118.875``, ``118.875E``;
    - degrees-minutes-seconds with marks: ``118°52′30″``, ``118°52'30"``, ``118°52’30”``, ``118°52‘30“``,
      ``118°52'30''``, ``118度52分30秒``, ``118° 52′ 30″``; the last mark may be left out (``118°52'30``),
      minutes may be decimal when no seconds follow (``118°52.5′``);
    - separated: ``118-56-08.5``, ``118:56:08.5``, ``118 56 08.5``, ``118:56.5``; dotted ``119.00.48.5``
      (two or more dots are D.M.S, one dot is a decimal number);
    - a hemisphere before or after: ``东经118度52分30秒``, ``北纬28度58分``, ``N28°58'48"``, ``118°52'30"E``;
      west and south are negative.

    Minutes or seconds of 60 or more, degrees over 180 (over 90 for N/S), fractional degrees followed by
    minutes, and conflicting hemisphere letters give ``None``; :func:`coord_problem` says which.
    """
    return _coord(value)[0]


def coord_problem(value) -> str | None:
    """Why a cell is not a coordinate, in Chinese and English (``"分或秒不小于60 / minutes or seconds ≥ 60"``),
    for the import report; ``None`` when :func:`parse_coord` reads it."""
    return _coord(value)[1]


# --- detection limits ------------------------------------------------------------------------

def _decimal(s: str) -> Decimal | None:
    try:
        d = Decimal(s)
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def parse_detection(value) -> tuple[str, Decimal | None]:
    """A lab result as ``(kind, number)``, exact (``Decimal``).

    ``value``: a measured value; ``below``: below the detection limit ``number``, written ``<0.01``,
    ``＜0.01``, ``≤0.01`` or the national convention ``0.01L``; ``nd``: not detected, limit not given
    (``ND``, ``未检出``); ``above``: over the range (``>100``); ``bad``: not a result; ``empty``.
    """
    if isinstance(value, bool):
        return "bad", None
    if blank(value):
        return "empty", None
    if isinstance(value, (int, float, np.integer, np.floating)):
        if not np.isfinite(float(value)):
            return "bad", None
        if isinstance(value, (float, np.floating)):
            return "value", Decimal(repr(float(value)))
        return "value", Decimal(int(value))
    t = norm_key(value)
    if t in ND_WORDS:
        return "nd", None
    if t.startswith(("<", "≤")):
        d = _decimal(t[1:].rstrip("l"))
        return ("below", d) if d is not None else ("bad", None)
    if t.startswith((">", "≥")):
        return "above", _decimal(t[1:])
    if t.endswith("l") and _decimal(t[:-1]) is not None:
        return "below", _decimal(t[:-1])
    d = _decimal(t)
    return ("value", d) if d is not None else ("bad", None)


# --- water classes ---------------------------------------------------------------------------

_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5}


def parse_class(value) -> int | None:
    """A GB 3838 water class: ``Ⅲ``, ``III``, ``3``, ``Ⅲ类``, ``三类`` → 3; ``劣Ⅴ``/``劣V类``/``劣五类`` → 6
    (:data:`WORSE_THAN_V`). Numbers outside 1–5 are ``None``."""
    if isinstance(value, bool) or blank(value):
        return None
    s = norm_key(value)
    s = re.sub(r"(类|class|级)", "", s)
    worse = s.startswith("劣")
    if worse:
        s = s[1:]
    v = parse_number(s)
    if v is not None:
        c = int(v) if v.is_integer() and 1 <= v <= 5 else None
    else:
        c = _ROMAN.get(s)
    if worse:
        return WORSE_THAN_V if c == 5 else None
    return c
