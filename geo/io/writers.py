"""The one writer of xlsx, CSV and GeoJSON: every download and every command's output goes through it.

Names come from township ledgers, so any text may start with ``=``. The writer
makes sure no cell ever becomes a live spreadsheet formula (OWASP "CSV
injection"):

- **xlsx**: a cell from data is a number, a date, a boolean or *text*; a string
  is always stored as a string cell (openpyxl would otherwise store ``=…`` as a
  formula), so ``=HYPERLINK(…)`` stays the name it is. Characters xlsx cannot
  hold (control characters other than tab, LF, CR) are dropped, and text is cut
  to Excel's 32,767 characters (a CR reads back as LF: XML normalises line ends).
- **CSV**: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab, CR or LF gets a
  leading single quote (``'=HYPERLINK(…)``), in every text column and in the
  headers; so does one whose first character after leading spaces (also the
  no-break and the full-width space) is one of those four signs or their
  full-width forms ``＝ ＋ － ＠``, which spreadsheets (Excel, WPS) read as the
  same formula signs. Numbers stay numbers: numeric columns are written as they are (a
  negative number stays ``-2``), and so does a text cell that is exactly a plain
  number (``-2``, ``+86``: a spreadsheet reads it as that number, never as a
  formula). A carriage return inside a text cell becomes a line feed (the cell
  is quoted), so it cannot end the row for a reader that splits lines on CR.
- **GeoJSON** is read by GIS software, not spreadsheets: text is written as is.

Two CSV dialects, on purpose
----------------------------
``for_people``
    UTF-8 with a BOM (so Excel and WPS show Chinese text), Chinese headers and
    Chinese labels for codes: the caller passes ``headers`` (``{column: 表头}``)
    and ``labels`` (``{column: {code: 标签}}``). Page downloads use it.
``for_machines``
    Plain UTF-8 without BOM, the English column names and codes as they are.
    Scripts depend on these columns (``geo buffer``:
    ``layer,id,name,township,distance_m,water_id,water_name,…``); the command
    line writes this dialect by default.

What a file says about itself (:class:`Meta`)
---------------------------------------------
An optional :class:`Meta` (title, rule and parameters, as-of date, data
version, generated at and by, software version) is written:

- **xlsx**: on a ``说明`` sheet (``项目 | 内容``) after the tables. Every table
  sheet starts with its header on row 1, so GDAL/QGIS and ``pd.read_excel``
  read the real column names (:func:`header_row` is 1). Numbers are numeric
  cells with a number format (coordinates ``0.000000``), dates are date cells
  shown ``yyyy-mm-dd``.
- **CSV for people**: as leading lines ``# 标题：…`` and a blank line before the
  header. The lines are written as they are, never quoted, so each starts with
  ``#`` (a reader's ``comment="#"`` skips them); a comma in a value is written as
  the full-width ``，`` so that a spreadsheet keeps the line in one cell.
- **CSV for machines**: never inside the file (a script's CSV parser would take
  the lines for rows). Written to a path, the metadata goes to a sibling note
  ``<file>.meta.txt`` (UTF-8, ``label: value`` lines); returned as bytes, it is
  left out (:func:`meta_text` gives the note for the caller to offer).
- **GeoJSON**: as a top-level foreign member ``"metadata"`` (RFC 7946 §6.1).
- **GeoPackage** (:func:`write_gpkg`): as GDAL dataset and layer metadata (the
  ``gpkg_metadata`` table), the layer's identifier and description, and Chinese
  field aliases in ``gpkg_data_columns`` (GDAL reads ``name`` as a field's
  alternative name, QGIS shows it as the alias).

The data version a person reads is short (:func:`short_version`: ``2026-12-07 第 3 版``,
the day of the data's last change and a counter of its commits); the store's full token
(:meth:`geo.store.base.Store.version`), which names one state exactly, is written only
where machines look: the ``说明`` sheet, a machine CSV's note, GeoJSON and GeoPackage
metadata, PDF document properties.

Every writer returns ``bytes`` when ``path`` is ``None`` (for Streamlit's
download buttons), else writes the file atomically (a temporary file beside it,
then a rename, so a failure never leaves half a file) and returns the path.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["Meta", "write_xlsx", "write_csv", "write_geojson", "write_gpkg", "write_table", "neutralise",
           "neutralise_frame", "header_row", "meta_text", "short_version", "FORMULA_START", "DIALECTS"]

#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP), with the full-width signs
#: WPS and Excel take for them, and the line breaks a reader may strip before the sign.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
#: Spaces a spreadsheet skips before reading a formula sign (`` =1+1`` is still a formula).
_LEAD_SPACES = " \u00a0\u3000"
_FORMULA_SIGNS = "=+\\-@＝＋－＠"  # (a character class: the hyphen escaped)
#: A cell the guard quotes: a control first, or a formula sign after leading spaces.
_FORMULA_RE = re.compile(f"[\t\r\n]|[{_LEAD_SPACES}]*[{_FORMULA_SIGNS}]")
DIALECTS = ("for_people", "for_machines")
XLSX_MAX_TEXT = 32767
META_SHEET = "说明"
#: Decimals of coordinates in a file (经度, 纬度, lon, lat, and GeoJSON/GeoPackage geometry): 6, about 0.1 m.
COORD_DECIMALS = 6

_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_ILLEGAL_XLSX = re.compile(r"[\000-\010\013\014\016-\037]")


# --- metadata --------------------------------------------------------------------------------

#: The label of the store's full version token (machines' places only: 说明 sheet, notes, metadata).
TOKEN_LABEL = "数据版本标识"
#: Where a store's last change is dated: the district's day (the GeoPackage records UTC).
LOCAL_TZ = "Asia/Shanghai"
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?")


def short_version(token) -> str | None:
    """The data version as a person reads it: ``2026-12-07 第 3 版``.

    ``token`` is a store's :meth:`~geo.store.base.Store.version` (of every table, or of some). The
    day is that of the latest change it records (the GeoPackage's ``last_change``, in
    :data:`LOCAL_TZ`); the counter is 1 + the commits it counts (of those tables, summed), so a
    store as built is ``第 1 版`` and each write adds one. A PostgreSQL token carries no day:
    ``第 N 版`` alone. Any other text (a caller's own label) is returned as it is.
    """
    if token is None or token == "":
        return None
    text = str(token)
    if text.startswith("gpkg-"):
        body = text.split("-", 2)[2] if text.count("-") >= 2 else ""
        stamps = _STAMP.findall(body)
        rest = _STAMP.sub("", body)
        if ":" in body:  # per table: "<count>:<last_change>" joined by "-"
            counts = [int(m) for m in re.findall(r"(?:^|-)(\d+):", body)]
        else:  # every table: "<count>-<last_change>"
            counts = [int(m) for m in re.findall(r"^(\d+)", rest)]
        day = None
        if stamps:
            latest = max(pd.Timestamp(s.rstrip("Z"), tz="UTC") for s in stamps)
            day = latest.tz_convert(LOCAL_TZ).date()
        label = f"第 {sum(counts) + 1} 版"
        return f"{day:%Y-%m-%d} {label}" if day else label
    if text.startswith("pg-"):
        parts = text.split("-")[2:]
        counts = [int(p) for p in parts if p.isdigit()]
        return f"第 {sum(counts) + 1} 版"
    return text


@dataclass
class Meta:
    """What a file is: written on a ``说明`` sheet (xlsx), as leading lines (CSV) or as metadata.

    ``data_version`` is the store's token (:meth:`~geo.store.base.Store.version`); a person reads
    it as :func:`short_version`, and the token itself appears only in :meth:`items` ``(full=True)``.
    """

    title: str
    rule: str | None = None
    parameters: Mapping[str, object] = field(default_factory=dict)
    as_of: object = None
    data_version: str | None = None
    generated_by: str | None = None
    generated_at: dt.datetime | None = None
    software: str | None = None

    @property
    def version_label(self) -> str | None:
        """The data version as printed in a statement (:func:`short_version`)."""
        return short_version(self.data_version)

    def items(self, *, full: bool = False) -> list[tuple[str, str]]:
        """``(label, value)`` pairs in Chinese, title first; absent items left out.

        ``full``: also the store's version token (:data:`TOKEN_LABEL`), for the places machines read
        (the ``说明`` sheet, a machine CSV's note, GeoJSON/GeoPackage/PDF metadata).
        """
        from .. import __version__

        out = [("标题", self.title)]
        if self.rule:
            out.append(("规则", self.rule))
        out += [(str(k), _meta_value(v)) for k, v in self.parameters.items()]
        if self.as_of is not None:
            out.append(("截至日期", _meta_value(self.as_of)))
        if self.data_version:
            out.append(("数据版本", self.version_label))
            if full and str(self.data_version) != self.version_label:
                out.append((TOKEN_LABEL, str(self.data_version)))
        out.append(("生成时间", self.generated().strftime("%Y-%m-%d %H:%M:%S")))
        if self.generated_by:
            out.append(("生成人", str(self.generated_by)))
        out.append(("软件版本", self.software or f"青山 Qingshan {__version__}"))
        return out

    def generated(self) -> dt.datetime:
        """When the file was generated: ``generated_at``, else now (fixed on first use, so every place of
        one file states the same second)."""
        if self.generated_at is None:
            self.generated_at = dt.datetime.now().replace(microsecond=0)
        return self.generated_at

    def as_dict(self) -> dict[str, str]:
        """:meth:`items` ``(full=True)`` as a dict: the metadata of a GeoJSON or GeoPackage."""
        return dict(self.items(full=True))


def _meta_value(v) -> str:
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        ts = pd.Timestamp(v)
        return f"{ts:%Y-%m-%d}" if ts == ts.normalize() else f"{ts:%Y-%m-%d %H:%M}"
    if isinstance(v, dt.date):
        return f"{v:%Y-%m-%d}"
    if isinstance(v, float) and v.is_integer():
        return f"{v:g}"
    return str(v)


def meta_text(meta: Meta) -> str:
    """The metadata as a plain note (``label: value`` lines, the full version token included), e.g. a
    machine CSV's sibling file."""
    return "".join(f"{k}: {v}\n" for k, v in meta.items(full=True))


def header_row(meta: Meta | None = None) -> int:
    """The 1-based row of a table's header on an xlsx sheet: 1 (the statement is on the ``说明`` sheet)."""
    return 1


def statement_lines(meta: Meta) -> list[str]:
    """A CSV for people's leading lines: ``# 标签：值``, one line each, no line break and no ASCII comma
    inside (written unquoted, each line is one cell starting with ``#``)."""
    out = []
    for k, v in meta.items():
        line = re.sub(r"[\r\n\t\v\f]+", " ", f"# {k}：{v}")
        out.append(line.replace(",", "，"))
    return out


# --- the formula guard -----------------------------------------------------------------------

def neutralise(value):
    """A CSV cell that cannot run as a formula: text starting with = + - @ (or ＝ ＋ － ＠), after any leading
    spaces, or with a tab, CR or LF, gets a leading ``'`` (a plain number written as text, ``-2`` or
    `` -2``, is left alone); anything else is returned unchanged."""
    if (isinstance(value, str) and _FORMULA_RE.match(value)
            and not _PLAIN_NUMBER.match(value.lstrip(_LEAD_SPACES))):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with :func:`neutralise` applied to every text cell and header (numbers untouched)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if _texty(s):
            out[col] = _map_cells(s, neutralise, _FORMULA_START_RE)
    out.columns = [neutralise(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


_FORMULA_START_RE = f"^(?:{_FORMULA_RE.pattern})"  # :data:`_FORMULA_RE` anchored, for Arrow (RE2 syntax)


def _map_cells(s: pd.Series, fn, pattern: str) -> pd.Series:
    """``s.astype(object).map(fn)`` where ``fn`` leaves every cell alone unless it is text matching the
    regular expression ``pattern``: a column of text is screened at once (Arrow's compute, in C++) and
    ``fn`` runs only on the cells that match, so a 200 000-row export costs no Python call per cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(s) == 0 or s.isna().all():  # nothing to screen (and ``map`` decides what dtype that is)
        return s.astype(object).map(fn)
    if s.dtype == _ARROW_STR:  # pandas' own text column: already Arrow, and what ``map`` would give back
        arr, values = pa.chunked_array(pa.array(s.array)), None
    else:
        values = s.astype(object).to_numpy()
        try:
            arr = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = None
        if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            return s.astype(object).map(fn)  # not plain text (numbers, bytes, a mix): cell by cell
    hit = np.flatnonzero(pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False))
    if len(hit) == 0 and values is None:
        return s.copy()
    values = s.astype(object).to_numpy().copy() if values is None else values.copy()
    values[hit] = [fn(v) for v in values[hit]]
    return pd.Series(values, index=s.index, name=s.name)


_ARROW_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas 3's default ``str``


def _no_cr(v):
    return v.replace("\r\n", "\n").replace("\r", "\n") if isinstance(v, str) and "\r" in v else v


def _texty(s: pd.Series) -> bool:
    """Whether a column may hold text (object, string or categorical dtype)."""
    return s.dtype == object or pd.api.types.is_string_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype)


def _for_people(df: pd.DataFrame, headers: Mapping | None, labels: Mapping | None) -> pd.DataFrame:
    out = pd.DataFrame(df).copy()
    for col, mapping in (labels or {}).items():
        if col in out.columns:
            out[col] = out[col].astype(object).map(lambda v, m=mapping: m.get(v, v) if _hashable(v) else v)
    if headers:
        out = out.rename(columns=dict(headers))
    return out


def _hashable(v) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


# --- files -----------------------------------------------------------------------------------

def _emit(data: bytes, path) -> bytes | Path:
    """``data`` itself, or written atomically to ``path`` (which is returned)."""
    if path is None:
        return data
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:  # plain open: the file mode follows the umask (mkstemp would give 600)
            fh.write(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# --- CSV -------------------------------------------------------------------------------------

def write_csv(df: pd.DataFrame, path=None, *, dialect: str = "for_machines", headers: Mapping | None = None,
              labels: Mapping | None = None, meta: Meta | None = None, bom: bool | None = None,
              sep: str = ",", coord_decimals: int = COORD_DECIMALS) -> bytes | Path:
    """Write ``df`` as CSV in a dialect (see the module docstring), text cells neutralised.

    Parameters
    ----------
    df : the table (its index is not written).
    path : where to write; ``None`` returns the bytes.
    dialect : ``for_people`` (BOM, ``headers`` and ``labels`` applied, ``meta`` as leading lines) or
        ``for_machines`` (no BOM; ``meta`` in a sibling ``.meta.txt`` when writing to a path).
    headers : ``{column: header}`` renaming (people).
    labels : ``{column: {code: label}}`` value labels (people).
    meta : what the file is (:class:`Meta`).
    bom : override the dialect's byte-order mark.
    sep : field separator (``\\t`` for a terminal table).
    coord_decimals : decimals of coordinate columns (经度, 纬度, lon, lat; see :func:`write_xlsx`).
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown CSV dialect {dialect!r}; one of {DIALECTS}")
    people = dialect == "for_people"
    table = _for_people(df, headers, labels) if (headers or labels) else pd.DataFrame(df)
    safe = neutralise_frame(round_coordinates(table, coord_decimals))
    for col in safe.columns:  # a bare CR would end the row for some readers: a line break inside the cell
        if _texty(safe[col]):
            safe[col] = _map_cells(safe[col], _no_cr, "\r")
    text = safe.to_csv(index=False, sep=sep, lineterminator="\n")
    if meta is not None and people:
        # as they are: a quoted line would no longer start with "#" (the formula guard has nothing to do:
        # "#" is no formula sign)
        text = "".join(line + "\n" for line in statement_lines(meta)) + "\n" + text
    use_bom = people if bom is None else bom
    data = text.encode("utf-8-sig" if use_bom else "utf-8")
    out = _emit(data, path)
    if meta is not None and not people and path is not None:
        p = Path(path)
        _emit(meta_text(meta).encode("utf-8"), p.with_name(p.name + ".meta.txt"))
    return out


# --- xlsx ------------------------------------------------------------------------------------

def _xlsx_value(v):
    """A Python value openpyxl stores as a number, date, boolean or text (never a formula by itself)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (float, np.floating)):
        return None if np.isnan(v) else (float(v) if np.isfinite(v) else str(v))
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, pd.Timestamp):
        return (v.tz_localize(None) if v.tzinfo else v).to_pydatetime()
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, (dt.date, dt.time)):
        return v
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else pd.Timestamp(v).to_pydatetime()
    if isinstance(v, pd.Timedelta):
        return str(v)
    s = v if isinstance(v, str) else str(v)
    s = _ILLEGAL_XLSX.sub("", s)
    return s[: XLSX_MAX_TEXT - 1] + "…" if len(s) > XLSX_MAX_TEXT else s


def _text_cell(ws, value, *, bold: bool = False):
    """A write-only cell holding ``value``; a string is forced to a string cell."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    c = WriteOnlyCell(ws, value=_xlsx_value(value))
    if isinstance(c.value, str):
        c.data_type = "s"  # openpyxl marks "=…" as a formula: it is data
    if bold:
        c.font = Font(bold=True)
    return c


def _cell(ws, value, number_format: str | None):
    """What ``ws.append`` gets for one data value: text as a text cell, numbers and dates as cells with
    their column's number format."""
    from openpyxl.cell import WriteOnlyCell

    v = _xlsx_value(value)
    if isinstance(v, str):
        c = WriteOnlyCell(ws, value=v)
        c.data_type = "s"  # openpyxl marks "=…" as a formula: it is data
        return c
    if number_format and v is not None and not isinstance(v, bool):
        c = WriteOnlyCell(ws, value=v)
        c.number_format = number_format
        return c
    return v


#: Headers of coordinate columns (written to 6 decimals, about 0.1 m: more digits are noise).
_COORD_HEADER = re.compile(r"^(经度|纬度|lon|lat|longitude|latitude|x|y)([（(].*)?$", re.IGNORECASE)
#: Headers of identifier columns: their text is never taken for a number (``0012``, ``330803``).
_ID_HEADER = re.compile(r"(编号|代码|编码|标识|id|code)([（(].*)?$", re.IGNORECASE)
_NUMBER_TEXT = re.compile(r"^-?(0|[1-9]\d{0,14})(\.\d+)?%?$")
#: What a missing number reads as in a table (:data:`geo.fmt.MISSING`) and the blanks around it.
_MISSING_TEXT = ("—", "", "-", "–")


def is_coordinate(header) -> bool:
    """Whether a column named ``header`` holds longitudes or latitudes (经度, 纬度, lon, lat, …)."""
    return isinstance(header, str) and bool(_COORD_HEADER.match(header.strip()))


def round_coordinates(df: pd.DataFrame, decimals: int = COORD_DECIMALS) -> pd.DataFrame:
    """``df`` with its coordinate columns (:func:`is_coordinate`) rounded to ``decimals``."""
    cols = [c for c in df.columns if is_coordinate(c) and pd.api.types.is_float_dtype(df[c])]
    if not cols:
        return df
    out = df.copy()
    for c in cols:
        out[c] = out[c].round(decimals)
    return out


def _numbers_from_text(s: pd.Series, *, force: bool = False) -> pd.Series | None:
    """A text column of figures (``12``, ``3.5``, ``12.3%``, with ``—`` for none) as numbers (percent as a
    fraction; ``—`` stays, the one mark of a missing value); ``None`` when any cell is other text. ``force``: convert the cells that are
    figures and keep the others as they are (a column of mixed facts, e.g. 指标 | 数值)."""
    values = s.astype(object).to_numpy()
    text = np.array([isinstance(v, str) for v in values])
    if not text.any():
        return None
    stripped = np.array([v.strip() if isinstance(v, str) else "" for v in values], dtype=object)
    figure = np.array([bool(_NUMBER_TEXT.match(v)) for v in stripped]) & text
    blank = np.isin(stripped, _MISSING_TEXT) & text
    if not figure.any() or (not force and not (figure | blank | ~text).all()):
        return None
    out = values.copy()
    for i in np.flatnonzero(figure):
        v = stripped[i]
        out[i] = float(v[:-1]) / 100 if v.endswith("%") else (int(v) if "." not in v else float(v))
        if isinstance(out[i], float) and v.endswith("%"):
            out[i] = _Percent(out[i])
    return pd.Series(out, index=s.index, name=s.name)


class _Percent(float):
    """A fraction written from a ``12.3%`` text: a number shown as a percentage."""


def _decimals(values: np.ndarray, cap: int = COORD_DECIMALS) -> int:
    """The fewest decimals (≤ ``cap``) that show every value of ``values`` (finite floats) as it is."""
    v = values[np.isfinite(values)]
    if not len(v):
        return 0
    for d in range(cap + 1):
        if np.all(np.abs(np.round(v, d) - v) <= 1e-9 * np.maximum(1.0, np.abs(v))):
            return d
    return cap


def _number_format(header, s: pd.Series, coord_decimals: int = COORD_DECIMALS) -> str | None:
    """A column's number format: ``yyyy-mm-dd`` (``hh:mm`` when any has a time), ``0``, ``0.00``…
    (the decimals its values need, 6 at most; coordinates always 6), ``0.0%`` for percentages."""
    if pd.api.types.is_datetime64_any_dtype(s):
        v = s.dropna()
        return "yyyy-mm-dd hh:mm" if len(v) and bool((v != v.dt.normalize()).any()) else "yyyy-mm-dd"
    if pd.api.types.is_bool_dtype(s):
        return None
    if pd.api.types.is_integer_dtype(s):
        return "0"
    if pd.api.types.is_float_dtype(s):
        if is_coordinate(header):
            return "0." + "0" * coord_decimals
        d = _decimals(s.to_numpy(dtype=float))
        return "0" if d == 0 else "0." + "0" * d
    v = s.dropna()
    if not len(v):
        return None
    head = v.head(200).tolist()
    if all(isinstance(x, dt.date) for x in head[:50]):
        has_time = any(isinstance(x, dt.datetime) and x.time() != dt.time() for x in head)
        return "yyyy-mm-dd hh:mm" if has_time else "yyyy-mm-dd"
    nums = [x for x in v.tolist() if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)]
    if not nums:
        return None
    pct = [float(x) for x in nums if isinstance(x, _Percent)]
    if len(pct) == len(nums):
        d = _decimals(np.array(pct) * 100, 4)
        return "0%" if d == 0 else "0." + "0" * d + "%"
    d = _decimals(np.array([float(x) for x in nums if not isinstance(x, _Percent)]))
    return "0" if d == 0 else "0." + "0" * d


def _sheet_table(df: pd.DataFrame, numeric_text: tuple = (), coord_decimals: int = COORD_DECIMALS) -> pd.DataFrame:
    """A table as written to a sheet: coordinates rounded, columns of figures written as text made numbers
    (identifier columns never), and the ``numeric_text`` columns' figures made numbers cell by cell."""
    out = round_coordinates(pd.DataFrame(df), coord_decimals)
    for col in out.columns:
        s = out[col]
        if not _texty(s) or (isinstance(col, str) and _ID_HEADER.search(col)):
            continue
        got = _numbers_from_text(s, force=col in numeric_text)
        if got is not None:
            out[col] = got
    return out


def _width_of(col, values) -> float:
    # East Asian characters are about two Latin characters wide
    def w(x) -> int:
        s = str(x)
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

    sample = [w(col)] + [w(v) for v in values[:200] if v is not None]
    return min(max(sample) + 2, 50)


def write_xlsx(sheets: Mapping[str, pd.DataFrame] | pd.DataFrame, path=None, *, meta: Meta | None = None,
               headers: Mapping | None = None, labels: Mapping | None = None, sheet: str = "Sheet1",
               widths: Mapping[str, Mapping[str, float]] | None = None, freeze: bool = True,
               numeric_text: tuple = (), coord_decimals: int = COORD_DECIMALS) -> bytes | Path:
    """Write one or more tables as an xlsx workbook; strings are always text cells, never formulas.

    Every sheet's header is on row 1 (GDAL, QGIS and spreadsheets take it for the column names); numbers
    are numeric cells with a number format (a column of figures written as text, ``12.3%`` or ``—``
    for none, is written as numbers; coordinates to 6 decimals); dates are date cells, ``yyyy-mm-dd``.

    Parameters
    ----------
    sheets : ``{sheet name: table}`` (names cut to Excel's 31 characters; ``/ \\ ? * [ ] :`` replaced),
        or a single table written to ``sheet``.
    path : where to write; ``None`` returns the bytes.
    meta : what the file is: a ``说明`` sheet after the tables (``项目 | 内容``, the full version token too).
    headers, labels : ``{column: header}`` and ``{column: {code: label}}``, applied to every sheet.
    widths : ``{sheet: {column letter: width}}``; default a width from the content (CJK counted double).
    freeze : freeze the header row.
    numeric_text : columns (headers as written) of mixed facts whose figures are written as numbers cell
        by cell (``指标 | 数值``: ``12`` a number, ``2007-06-30`` text).
    coord_decimals : decimals of coordinate columns (6, about 0.1 m; a sheet to be re-imported: 7, 1 cm).
    """
    import openpyxl
    from openpyxl.utils import get_column_letter

    if isinstance(sheets, pd.DataFrame):
        sheets = {sheet: sheets}
    wb = openpyxl.Workbook(write_only=True)
    used: set[str] = set()
    for k, (name, df) in enumerate(sheets.items()):
        title = re.sub(r"[/\\?*\[\]:]", "_", str(name))[:31] or f"Sheet{k + 1}"
        while title in used or title == META_SHEET and meta is not None:
            title = title[:28] + f"_{len(used)}"
        used.add(title)
        table = _for_people(df, headers, labels) if (headers or labels) else pd.DataFrame(df)
        table = _sheet_table(table, tuple(numeric_text), coord_decimals)
        ws = wb.create_sheet(title)
        cols = list(table.columns)
        formats = {j: _number_format(c, table.iloc[:, j], coord_decimals) for j, c in enumerate(cols)}
        columns = [table.iloc[:, j].tolist() for j in range(len(cols))]
        given = (widths or {}).get(name) or (widths or {}).get(title)
        for j, col in enumerate(cols):
            letter = get_column_letter(j + 1)
            ws.column_dimensions[letter].width = (given or {}).get(letter) or _width_of(col, columns[j])
        if freeze:  # before the first row: a write-only sheet writes its view with the first row
            ws.freeze_panes = "A2"
        ws.append([_text_cell(ws, str(c), bold=True) for c in cols])
        for row in zip(*columns) if cols else ():
            ws.append([_cell(ws, v, _percent_format(v, formats.get(j))) for j, v in enumerate(row)])
    if meta is not None:
        ws = wb.create_sheet(META_SHEET)
        ws.column_dimensions["A"].width = 14
        ws.column_dimensions["B"].width = 60
        ws.append([_text_cell(ws, "项目", bold=True), _text_cell(ws, "内容", bold=True)])
        for label, value in meta.items(full=True):
            ws.append([_text_cell(ws, label), _text_cell(ws, value)])
    if not sheets and meta is None:
        wb.create_sheet(sheet)
    buf = io.BytesIO()
    wb.save(buf)
    return _emit(buf.getvalue(), path)


def _percent_format(v, column_format: str | None) -> str | None:
    """A cell's format: its column's, but ``0.0%`` for a percentage among other figures (指标 | 数值)."""
    if isinstance(v, _Percent) and not (column_format or "").endswith("%"):
        return "0.0%"
    return column_format


# --- GeoJSON ---------------------------------------------------------------------------------

def _properties(gdf, headers: Mapping | None, labels: Mapping | None, decimals: int = COORD_DECIMALS) -> pd.DataFrame:
    """A GeoDataFrame's attributes as written to GeoJSON or a GeoPackage: labels applied, dates as ISO text,
    booleans as booleans (None where missing), coordinates rounded."""
    props = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    if labels:
        props = _for_people(props, None, labels)
    for col in props.columns:
        s = props[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            v = s.dropna()
            dated = bool(len(v)) and bool((v == v.dt.normalize()).all())
            props[col] = s.map(lambda x, dated=dated: None if pd.isna(x) else (x.strftime("%Y-%m-%d") if dated else
                                                                  x.isoformat())).astype(object)
        elif pd.api.types.is_bool_dtype(s):
            props[col] = s.astype(object).where(s.notna(), None)
    return round_coordinates(props, decimals)


def _rounded(geometry, decimals: int = COORD_DECIMALS):
    """Geometries with their coordinates rounded to ``decimals`` (RFC 7946 §11.2: 6 decimals ≈ 0.1 m)."""
    import shapely

    return shapely.transform(np.asarray(geometry), lambda xy: np.round(xy, decimals))


def write_geojson(gdf, path=None, *, headers: Mapping | None = None, labels: Mapping | None = None,
                  crs: str = "EPSG:4326", meta: Meta | None = None,
                  coord_decimals: int = COORD_DECIMALS) -> bytes | Path:
    """Write a GeoDataFrame as GeoJSON (UTF-8, coordinates in ``crs`` to ``coord_decimals``, 6 by default;
    dates as ISO text, NaN as null).

    ``headers``/``labels`` make it a file for people (Chinese property names and labels); ``meta`` is
    written as the top-level foreign member ``"metadata"`` (:meth:`Meta.as_dict`, RFC 7946 §6.1).
    """
    import json

    import geopandas as gpd

    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError("write_geojson needs a GeoDataFrame")
    props = _properties(gdf, headers, labels, coord_decimals)
    if headers:
        props = props.rename(columns=dict(headers))
    out = gpd.GeoDataFrame(props, geometry=gdf.geometry.values, crs=gdf.crs)
    if out.crs is not None and str(crs) and not out.crs.equals(crs):
        out = out.to_crs(crs)
    out = out.set_geometry(_rounded(out.geometry.values, coord_decimals), crs=out.crs)
    collection = json.loads(out.to_json(drop_id=True, ensure_ascii=False, default=str, na="null"))
    if meta is not None:
        collection = {"type": collection["type"], "metadata": meta.as_dict(), "features": collection["features"]}
    text = json.dumps(collection, ensure_ascii=False)
    return _emit(text.encode("utf-8"), path)


# --- GeoPackage ------------------------------------------------------------------------------

_DATA_COLUMNS_DDL = """CREATE TABLE IF NOT EXISTS gpkg_data_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT, mime_type TEXT,
  constraint_name TEXT, CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
  CONSTRAINT gdc_tn UNIQUE (table_name, name))"""
_SCHEMA_EXTENSION = ("gpkg_data_columns", None, "gpkg_schema", "http://www.geopackage.org/spec121/#extension_schema",
                     "read-write")


def write_gpkg(gdf, path=None, *, layer: str, headers: Mapping | None = None, labels: Mapping | None = None,
               meta: Meta | None = None, crs: str = "EPSG:4326") -> bytes | Path:
    """Write a GeoDataFrame as a one-layer GeoPackage for people: field names stay the identifiers, each
    with its Chinese alias; codes as their labels; the statement as metadata.

    Parameters
    ----------
    gdf : the features (any CRS; written in ``crs``, coordinates to 6 decimals).
    path : where to write; ``None`` returns the bytes.
    layer : the layer (table) name.
    headers : ``{column: 中文名}``: written to ``gpkg_data_columns`` (``name`` and ``title``), which GDAL reads
        as each field's alternative name and QGIS shows as its alias.
    labels : ``{column: {code: 标签}}`` value labels.
    meta : the statement: GDAL dataset and layer metadata (the ``gpkg_metadata`` table, full version token
        included), the layer's identifier (title) and description (rule).
    """
    import sqlite3
    import tempfile

    import geopandas as gpd
    import pyogrio

    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError("write_gpkg needs a GeoDataFrame")
    props = _properties(gdf, None, labels)
    out = gpd.GeoDataFrame(props, geometry=gdf.geometry.values, crs=gdf.crs)
    if out.crs is not None and not out.crs.equals(crs):
        out = out.to_crs(crs)
    out = out.set_geometry(_rounded(out.geometry.values), crs=out.crs)
    about = meta.as_dict() if meta is not None else None
    options = {}
    if meta is not None:
        options = {"IDENTIFIER": meta.title, "DESCRIPTION": meta.rule or meta.title}
    with tempfile.TemporaryDirectory(prefix="qingshan-gpkg-") as tmp:
        file = Path(tmp) / "out.gpkg"
        pyogrio.write_dataframe(out, file, layer=layer, driver="GPKG", dataset_metadata=about,
                                layer_metadata=about, layer_options=options or None)
        aliases = {str(c): str(headers[c]) for c in props.columns if headers and c in headers}
        if aliases:
            con = sqlite3.connect(file)
            try:
                with con:
                    con.execute(_DATA_COLUMNS_DDL)
                    con.execute("INSERT OR IGNORE INTO gpkg_extensions VALUES (?, ?, ?, ?, ?)", _SCHEMA_EXTENSION)
                    con.executemany("INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title) "
                                    "VALUES (?, ?, ?, ?)", [(layer, c, a, a) for c, a in aliases.items()])
            finally:
                con.close()
        return _emit(file.read_bytes(), path)


# --- by suffix -------------------------------------------------------------------------------

def write_table(df: pd.DataFrame, path, *, dialect: str = "for_machines", headers: Mapping | None = None,
                labels: Mapping | None = None, meta: Meta | None = None, sheet: str = "Sheet1") -> Path:
    """Write ``df`` to ``path`` in the format its suffix names (``.xlsx``, ``.csv``, ``.geojson``/``.json``).

    ``headers``/``labels`` apply to xlsx always and to CSV as given; ``dialect`` to CSV only; ``meta`` as
    each format states it (GeoJSON: its ``"metadata"`` member).
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".xlsx":
        return write_xlsx(df, path, meta=meta, headers=headers, labels=labels, sheet=sheet)
    if suffix == ".csv":
        return write_csv(df, path, dialect=dialect, headers=headers, labels=labels, meta=meta)
    if suffix in (".geojson", ".json"):
        return write_geojson(df, path, headers=headers, labels=labels, meta=meta)
    raise InputError(f"不支持的输出格式“{suffix}”：请用 .xlsx、.csv 或 .geojson。",
                     f"unsupported output {suffix!r} (.xlsx, .csv, .geojson)")
