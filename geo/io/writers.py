"""The one writer of xlsx, CSV and GeoJSON: every download and every command's output goes through it.

Names come from township ledgers, so any text may start with ``=``. The writer
makes sure no cell ever becomes a live spreadsheet formula (OWASP "CSV
injection"):

- **xlsx**: a cell from data is a number, a date, a boolean or *text*; a string
  is always stored as a string cell (openpyxl would otherwise store ``=…`` as a
  formula), so ``=HYPERLINK(…)`` stays the name it is. Characters xlsx cannot
  hold (control characters other than tab, LF, CR) are dropped, and text is cut
  to Excel's 32,767 characters (a CR reads back as LF: XML normalises line ends).
- **CSV**: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR gets a
  leading single quote (``'=HYPERLINK(…)``), in every text column and in the
  headers. Numbers stay numbers: numeric columns are written as they are (a
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

- **xlsx**: as a header block above the table on the main (first) sheet — the
  title, then one ``label | value`` row per item, then a blank row — and again
  as a ``说明`` sheet (``项目 | 内容``). :func:`header_row` gives the row the
  table's header is on. The block is at most 1 + 8 + parameters + 1 rows; readers
  search the first 20 rows for a header, so a file with a block re-imports.
- **CSV for people**: as leading lines ``# 标题：…`` and a blank line before the
  header. The consumer is a person opening the file in a spreadsheet, which
  shows these lines above the table.
- **CSV for machines**: never inside the file (a script's CSV parser would take
  the lines for rows). Written to a path, the metadata goes to a sibling note
  ``<file>.meta.txt`` (UTF-8, ``label: value`` lines); returned as bytes, it is
  left out (:func:`meta_text` gives the note for the caller to offer).

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

__all__ = ["Meta", "write_xlsx", "write_csv", "write_geojson", "write_table", "neutralise", "neutralise_frame",
           "header_row", "meta_text", "FORMULA_START", "DIALECTS"]

#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DIALECTS = ("for_people", "for_machines")
XLSX_MAX_TEXT = 32767
META_SHEET = "说明"

_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_ILLEGAL_XLSX = re.compile(r"[\000-\010\013\014\016-\037]")


# --- metadata --------------------------------------------------------------------------------

@dataclass
class Meta:
    """What a file is: written as a header block and a ``说明`` sheet (xlsx) or leading lines (CSV)."""

    title: str
    rule: str | None = None
    parameters: Mapping[str, object] = field(default_factory=dict)
    as_of: object = None
    data_version: str | None = None
    generated_by: str | None = None
    generated_at: dt.datetime | None = None
    software: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """``(label, value)`` pairs in Chinese, title first; absent items left out."""
        from .. import __version__

        out = [("标题", self.title)]
        if self.rule:
            out.append(("规则", self.rule))
        out += [(str(k), _meta_value(v)) for k, v in self.parameters.items()]
        if self.as_of is not None:
            out.append(("截至日期", _meta_value(self.as_of)))
        if self.data_version:
            out.append(("数据版本", str(self.data_version)))
        at = self.generated_at or dt.datetime.now().replace(microsecond=0)
        out.append(("生成时间", at.strftime("%Y-%m-%d %H:%M:%S")))
        if self.generated_by:
            out.append(("生成人", str(self.generated_by)))
        out.append(("软件版本", self.software or f"青山 Qingshan {__version__}"))
        return out


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
    """The metadata as a plain note (``label: value`` lines), e.g. a machine CSV's sibling file."""
    return "".join(f"{k}: {v}\n" for k, v in meta.items())


def header_row(meta: Meta | None) -> int:
    """The 1-based row of the table's header on an xlsx main sheet written with ``meta``."""
    return 1 if meta is None else len(meta.items()) + 2


# --- the formula guard -----------------------------------------------------------------------

def neutralise(value):
    """A CSV cell that cannot run as a formula: text starting with = + - @ tab or CR gets a leading ``'``
    (a plain number written as text, ``-2``, is left alone); anything else is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value):
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


_FORMULA_START_RE = "^[=+\\-@\t\r]"  # FORMULA_START as one character class (RE2 syntax)


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
              sep: str = ",") -> bytes | Path:
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
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown CSV dialect {dialect!r}; one of {DIALECTS}")
    people = dialect == "for_people"
    table = _for_people(df, headers, labels) if (headers or labels) else pd.DataFrame(df)
    safe = neutralise_frame(table)
    for col in safe.columns:  # a bare CR would end the row for some readers: a line break inside the cell
        if _texty(safe[col]):
            safe[col] = _map_cells(safe[col], _no_cr, "\r")
    text = safe.to_csv(index=False, sep=sep, lineterminator="\n")
    if meta is not None and people:
        lead = io.StringIO()
        import csv

        w = csv.writer(lead, lineterminator="\n")
        for k, v in meta.items():
            w.writerow([neutralise(f"# {k}：{v}")])
        lead.write("\n")
        text = lead.getvalue() + text
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
    """What ``ws.append`` gets for one data value: plain numbers as they are, text and dates as cells."""
    from openpyxl.cell import WriteOnlyCell

    v = _xlsx_value(value)
    if isinstance(v, str):
        c = WriteOnlyCell(ws, value=v)
        c.data_type = "s"  # openpyxl marks "=…" as a formula: it is data
        return c
    if number_format and isinstance(v, (dt.date, dt.datetime)):
        c = WriteOnlyCell(ws, value=v)
        c.number_format = number_format
        return c
    return v


def _date_formats(df: pd.DataFrame) -> dict[int, str]:
    out = {}
    for i, col in enumerate(df.columns):
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            v = s.dropna()
            has_time = bool(len(v)) and bool((v != v.dt.normalize()).any())
            out[i] = "yyyy-mm-dd hh:mm" if has_time else "yyyy-mm-dd"
        elif s.dtype == object:
            v = s.dropna()
            if len(v) and all(isinstance(x, dt.date) for x in v.head(50)):
                has_time = any(isinstance(x, dt.datetime) and x.time() != dt.time() for x in v.head(200))
                out[i] = "yyyy-mm-dd hh:mm" if has_time else "yyyy-mm-dd"
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
               widths: Mapping[str, Mapping[str, float]] | None = None, freeze: bool = True) -> bytes | Path:
    """Write one or more tables as an xlsx workbook; strings are always text cells, never formulas.

    Parameters
    ----------
    sheets : ``{sheet name: table}`` (names cut to Excel's 31 characters; ``/ \\ ? * [ ] :`` replaced),
        or a single table written to ``sheet``.
    path : where to write; ``None`` returns the bytes.
    meta : what the file is: a header block above the first sheet's table and a ``说明`` sheet.
    headers, labels : ``{column: header}`` and ``{column: {code: label}}``, applied to every sheet.
    widths : ``{sheet: {column letter: width}}``; default a width from the content (CJK counted double).
    freeze : freeze the header row.
    """
    import openpyxl
    from openpyxl.utils import get_column_letter

    if isinstance(sheets, pd.DataFrame):
        sheets = {sheet: sheets}
    wb = openpyxl.Workbook(write_only=True)
    used: set[str] = set()
    for k, (name, df) in enumerate(sheets.items()):
        title = re.sub(r"[/\\?*\[\]:]", "_", str(name))[:31] or f"Sheet{k + 1}"
        while title in used:
            title = title[:28] + f"_{len(used)}"
        used.add(title)
        table = _for_people(df, headers, labels) if (headers or labels) else pd.DataFrame(df)
        ws = wb.create_sheet(title)
        formats = _date_formats(table)
        cols = list(table.columns)
        columns = [table.iloc[:, j].tolist() for j in range(len(cols))]
        given = (widths or {}).get(name) or (widths or {}).get(title)
        for j, col in enumerate(cols):
            letter = get_column_letter(j + 1)
            ws.column_dimensions[letter].width = (given or {}).get(letter) or _width_of(col, columns[j])
        first = header_row(meta) if (meta is not None and k == 0) else 1
        if freeze:  # before the first row: a write-only sheet writes its view with the first row
            ws.freeze_panes = f"A{first + 1}"
        if first > 1:
            items = meta.items()
            ws.append([_text_cell(ws, items[0][1], bold=True)])
            for label, value in items[1:]:
                ws.append([_text_cell(ws, label, bold=True), _text_cell(ws, value)])
            ws.append([])
        ws.append([_text_cell(ws, str(c), bold=True) for c in cols])
        for row in zip(*columns) if cols else ():
            ws.append([_cell(ws, v, formats.get(j)) for j, v in enumerate(row)])
    if meta is not None:
        ws = wb.create_sheet(META_SHEET if META_SHEET not in used else f"{META_SHEET}_2")
        ws.column_dimensions["A"].width = 14
        ws.column_dimensions["B"].width = 60
        ws.append([_text_cell(ws, "项目", bold=True), _text_cell(ws, "内容", bold=True)])
        for label, value in meta.items():
            ws.append([_text_cell(ws, label), _text_cell(ws, value)])
    if not sheets and meta is None:
        wb.create_sheet(sheet)
    buf = io.BytesIO()
    wb.save(buf)
    return _emit(buf.getvalue(), path)


# --- GeoJSON ---------------------------------------------------------------------------------

def write_geojson(gdf, path=None, *, headers: Mapping | None = None, labels: Mapping | None = None,
                  crs: str = "EPSG:4326") -> bytes | Path:
    """Write a GeoDataFrame as GeoJSON (UTF-8, coordinates in ``crs``; dates as ISO text, NaN as null)."""
    import geopandas as gpd

    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError("write_geojson needs a GeoDataFrame")
    geometry = gdf.geometry
    props = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    if headers or labels:
        props = _for_people(props, headers, labels)
    for col in props.columns:
        s = props[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            props[col] = s.map(lambda v: None if pd.isna(v) else v.isoformat()).astype(object)
        elif pd.api.types.is_bool_dtype(s):
            props[col] = s.astype(object).where(s.notna(), None)
    out = gpd.GeoDataFrame(props, geometry=geometry.values, crs=gdf.crs)
    if out.crs is not None and str(crs) and not out.crs.equals(crs):
        out = out.to_crs(crs)
    text = out.to_json(drop_id=True, ensure_ascii=False, default=str, na="null")
    return _emit(text.encode("utf-8"), path)


# --- by suffix -------------------------------------------------------------------------------

def write_table(df: pd.DataFrame, path, *, dialect: str = "for_machines", headers: Mapping | None = None,
                labels: Mapping | None = None, meta: Meta | None = None, sheet: str = "Sheet1") -> Path:
    """Write ``df`` to ``path`` in the format its suffix names (``.xlsx``, ``.csv``, ``.geojson``/``.json``).

    ``headers``/``labels`` apply to xlsx always and to CSV as given; ``dialect`` to CSV only.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".xlsx":
        return write_xlsx(df, path, meta=meta, headers=headers, labels=labels, sheet=sheet)
    if suffix == ".csv":
        return write_csv(df, path, dialect=dialect, headers=headers, labels=labels, meta=meta)
    if suffix in (".geojson", ".json"):
        return write_geojson(df, path, headers=headers, labels=labels)
    raise ValueError(f"unsupported output {suffix!r} (.xlsx, .csv, .geojson)")
