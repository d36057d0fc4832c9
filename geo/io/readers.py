"""Read an uploaded or imported table: xlsx, xls, CSV, GeoJSON, zipped Shapefile, GeoPackage, KML/KMZ, GPX.

One reader for every import of the project (ledgers, lab files, the water
command line). :func:`read_table` takes a path, bytes or an uploaded file and
returns a :class:`Table`: the raw cells (nothing parsed: cells are parsed by
:mod:`geo.io.cells`), the row number each row had in the file, the geometry of
spatial files, and which headers matched which canonical columns.

- **CSV** in UTF-8 (with or without BOM), GBK or GB18030 (:func:`decode_text`:
  strict decoders first, then charset-normalizer), comma, tab or semicolon
  separated.
- **xlsx**: checked before anything is parsed (declared sizes, each part's
  compression ratio, the number of shared strings); the workbook, styles and
  shared strings read by openpyxl, the sheet streamed by expat
  (:mod:`geo.io.xmlsafe`) with its merged cells in the same pass, cells as
  openpyxl's read-only mode gives them (formulas as their cached values), no
  row wider than ``max_columns`` kept (a stray value beyond is refused by its
  cell reference); a sheet by name or number from 1.
- **xls** (Excel 97–2003, BIFF8): read with xlrd 2.0 (pure Python, so a damaged
  file raises a catchable error instead of aborting the process, as
  python-calamine's Rust core did in our fuzzing), merges included; sheets as
  for xlsx. A ``.xls`` that is really an xlsx is read as one.
- **Ledger layout** (:mod:`geo.io.layout`): title and ``填报单位：…`` rows above
  the header are skipped; a header over several rows (``地理坐标`` merged over
  ``经度 | 纬度``) is flattened to one name per column; vertical merges in the
  body are filled down (only where a merge range says so, counted in
  :attr:`Table.merged_down`); totals (合计/小计/总计/累计), signature lines
  (填表人：…) and blank rows between data rows are left out and listed in
  :attr:`Table.skipped` with their row numbers and reasons.
- **KML/KMZ and GPX** (:mod:`geo.io.kml`, :mod:`geo.io.gpx`): placemarks and
  waypoints as rows, coordinates as written (never transformed; a note says the
  datum must be chosen), parsed by expat with DOCTYPEs (entity bombs) refused.
- **Spatial** (GeoJSON, ``.zip`` holding a Shapefile, ``.shp``, GeoPackage):
  read by GDAL inside the zip (nothing is extracted, so no member name becomes a
  path on disk); a ``.dbf`` without ``.cpg`` is UTF-8 when it decodes, else
  GB18030; a ``.cpg`` whose encoding does not decode the ``.dbf`` (UTF-8 over
  GBK, as some tools write) is overruled, with a note. Geometries come back in ``crs`` (reprojected with a note when the
  file declares another CRS, assumed with a note when it declares none).
- **Header matching** (:func:`match_headers`): the caller passes its canonical
  columns and their accepted spellings (Chinese and English); headers are
  compared after NFKC, without spaces and case-insensitively, then without a
  bracketed unit (``存栏量（头）``). For spreadsheets the header row is the one
  among the first ten rows with most matches, so title rows above it are skipped.

Every read is bounded (:mod:`geo.io.limits`): the file size, a zip's declared
uncompressed size (and an xlsx part's compression ratio and shared strings),
rows, columns and filled cells are checked before more than the limit is
expanded; a spatial file's vertices are counted before GDAL or the KML reader
builds a geometry (a Shapefile's record headers, the positions of a GeoJSON,
the coordinate tuples of a KML) and again on the geometries read. A file that cannot be read raises :class:`geo.errors.GeoError`; one
over a limit :class:`geo.errors.LimitError`, both in Chinese and English.
"""
from __future__ import annotations

import csv
import functools
import io
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import GeoError, LimitError
from . import layout
from .cells import blank, text
from .headers import match_headers
from .limits import MB, Limits
from .xmlsafe import local, parse

__all__ = ["Table", "read_table", "read_gpx_track", "match_headers", "find_header", "decode_text", "FORMATS",
           "HEADER_SCAN"]

#: File suffixes per format.
FORMATS = {
    "xlsx": (".xlsx", ".xlsm", ".xls"),  # Excel: .xls (97–2003) too, so every caller taking Excel takes it
    "csv": (".csv", ".txt", ".tsv"),
    "geojson": (".geojson", ".json"),
    "shapefile": (".zip", ".shp"),
    "gpkg": (".gpkg",),
    "kml": (".kml", ".kmz"),
    "gpx": (".gpx",),
}
#: Rows searched for the header (title rows above it are skipped).
HEADER_SCAN = 20
#: Bytes of a .dbf read to guess its encoding.
_DBF_SAMPLE = 1 << 20
#: Merge ranges read from one sheet; past this a note says the rest were not used.
MAX_MERGES = 100_000
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the Compound File signature of an .xls


@dataclass
class Table:
    """Raw cells of one table.

    ``frame`` holds the cells as read (object dtype, nothing parsed, blanks as
    ``None``; headers as written, trimmed); ``row_numbers`` the row each had in
    the file (the spreadsheet or text line, or the feature number of a spatial
    file); ``geometry`` the features' geometries (``None`` for spreadsheets);
    ``matched`` ``{header: canonical column}`` for the headers recognised.

    For spreadsheets and CSV: ``skipped`` ``(row, reason zh, reason en)`` for the rows left out (totals,
    signature lines, blank rows between data rows); ``merged_down`` ``{header: cells}`` for the columns
    whose vertically merged cells were filled down; ``header_rows`` the file rows of the header block.
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    source: str
    geometry: object | None = None  # a GeoSeries for spatial files
    encoding: str | None = None
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)
    matched: dict[str, str] = field(default_factory=dict)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)
    merged_down: dict[str, int] = field(default_factory=dict)
    header_rows: tuple[int, ...] = ()


# --- header matching -------------------------------------------------------------------------

def find_header(rows: list[list], aliases: Mapping[str, Iterable[str]] | None) -> int:
    """Index of the header row: among the first :data:`HEADER_SCAN` rows the one with most recognised
    headers (the first on a tie); the first row when none is recognised or no aliases are given."""
    if not aliases:
        return 0
    best, best_n = 0, 0
    for i, row in enumerate(rows[:HEADER_SCAN]):
        cells = [text(c) for c in row if not blank(c)]
        n = len(match_headers(cells, aliases)) if cells else 0
        if n > best_n:
            best, best_n = i, n
    return best


# --- sources ---------------------------------------------------------------------------------

def _suffix_of(name: str) -> str:
    return Path(name).suffix.lower()


def _load(src, name: str | None, limits: Limits) -> tuple[Path | None, bytes | None, str]:
    """``(path, None, name)`` for a path (its size checked), ``(None, data, name)`` for bytes or an upload."""
    if isinstance(src, (str, Path)):
        p = Path(src)
        if not p.is_file():
            raise GeoError(f"找不到文件：{p}", f"file not found: {p}")
        limits.check_upload(p.stat().st_size)
        return p, None, name or p.name
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif hasattr(src, "getvalue"):
        data = src.getvalue()
    elif hasattr(src, "read"):
        data = src.read(limits.max_upload_bytes + 1)
    else:
        raise TypeError(f"cannot read a table from {type(src).__name__}")
    limits.check_upload(len(data))
    return None, data, name or getattr(src, "name", "") or ""


def _format_of(suffix: str, head: bytes) -> str | None:
    for fmt, suffixes in FORMATS.items():
        if suffix in suffixes:
            return fmt
    if not suffix:  # bytes without a name: an xlsx is a zip, an xls a compound file, anything else text
        return "xlsx" if head[:4] == b"PK\x03\x04" or head[:8] == _OLE else "csv"
    return None


def read_table(src, *, name: str | None = None, sheet: str | int | None = None,
               aliases: Mapping[str, Iterable[str]] | None = None, formats: Iterable[str] | None = None,
               limits: Limits | None = None, crs: str = "EPSG:4326",
               accepted_epsg: Iterable[int] = (4326, 4490), layer_hint: str | None = None) -> Table:
    """Read a table from a file, bytes or an uploaded file.

    Parameters
    ----------
    src : a path, bytes, or a file-like object (``getvalue()``/``read()``; ``.name`` gives the suffix).
    name : the file's name as the user knows it (for the suffix and :attr:`Table.source`; uploads are
        saved under other names).
    sheet : xlsx or xls sheet, or GeoPackage / zip layer: a name, or a number counting from 1. Default:
        the first sheet; the GeoPackage layer named ``layer_hint``, else the only one. (A KML's folders
        are a column, not layers: every placemark is read.)
    aliases : ``{canonical column: accepted headers}`` for :func:`match_headers` (and to find the header
        row of a spreadsheet).
    formats : the formats accepted (keys of :data:`FORMATS`); default all.
    limits : default :meth:`Limits.current` (``qingshan.toml``).
    crs : the CRS geometries are returned in; files in one of ``accepted_epsg`` are taken as they are.
    layer_hint : the layer name preferred in a GeoPackage or zip holding several.

    Raises
    ------
    geo.errors.LimitError : the file is over a limit (nothing more was read).
    geo.errors.GeoError : the file cannot be read (type, encoding, damage, sheet or layer not found).
    """
    limits = limits or Limits.current()
    path, data, source = _load(src, name, limits)
    suffix = _suffix_of(source) or (path.suffix.lower() if path else "")
    if data is not None:
        head = data[:8]
    else:
        with path.open("rb") as fh:
            head = fh.read(8)
    fmt = _format_of(suffix, head)
    allowed = tuple(formats) if formats is not None else tuple(FORMATS)
    if fmt not in allowed:
        names = {"xlsx": "Excel（xlsx/xls）", "csv": "csv", "geojson": "geojson", "shapefile": "zip 压缩的 shapefile",
                 "gpkg": "gpkg", "kml": "kml/kmz", "gpx": "gpx"}
        names_en = {"xlsx": "Excel xlsx/xls", "shapefile": "zipped shapefile", "kml": "kml/kmz"}
        raise GeoError(f"不支持的文件类型“{suffix or '无扩展名'}”（支持 {'、'.join(names[f] for f in allowed)}）。",
                       f"unsupported file type {suffix!r} ({', '.join(names_en.get(f, f) for f in allowed)})")
    if fmt in ("xlsx", "csv"):
        merges, notes, encoding, sheet_name = [], [], None, None
        if fmt == "xlsx" and head[:4] != b"PK\x03\x04" and (suffix == ".xls" or head == _OLE):
            rows, sheet_name, merges = _xls_rows(path.read_bytes() if path is not None else data, sheet, limits)
        elif fmt == "xlsx":
            rows, sheet_name, merges, notes = _xlsx_rows(path if path is not None else io.BytesIO(data), sheet, limits)
        else:
            textdata, encoding = decode_text(data if data is not None else path.read_bytes())
            rows = _csv_rows(textdata, limits)
        table = _from_rows(rows, source, aliases, limits, merges)
        table.encoding, table.sheet = encoding, sheet_name
        table.notes += notes
    elif fmt in ("kml", "gpx"):
        table = _read_features(path, data, suffix, fmt, source, limits, crs, tuple(accepted_epsg))
    else:
        table = _read_spatial(path, data, suffix, sheet, layer_hint, source, limits, crs, tuple(accepted_epsg))
    if aliases:
        table.matched = match_headers(table.frame.columns, aliases)
    return table


# --- text ------------------------------------------------------------------------------------

def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a CSV: UTF-8 (with or without BOM), then GB18030 (a superset of GBK/GB2312), else a guess.

    Returns ``(text, encoding)`` (``utf-8-sig`` when a BOM was present). Trying strict decoders in this
    order is more reliable than statistical detection on short Chinese files, where GBK is often guessed
    as Big5.
    """
    for enc in ("utf-8-sig", "gb18030"):
        try:
            decoded = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "utf-8-sig":
            return decoded, ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8")
        return decoded, enc
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise GeoError("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV。",
                       "cannot detect the text encoding; save the CSV as UTF-8 or GBK")
    return str(best), best.encoding


def _width(row) -> int:
    """Columns up to the last non-blank cell."""
    for j in range(len(row) - 1, -1, -1):
        if not blank(row[j]):
            return j + 1
    return 0


class _Grid:
    """Rows of cells as a reader streams them, trailing blanks cut, refused as soon as a limit is passed.

    Up to :data:`HEADER_SCAN` rows above the header are allowed on top of ``max_rows`` (the exact count
    of data rows is checked again once the header is known); the filled cells are counted against
    ``max_cells`` as they come.
    """

    def __init__(self, limits: Limits):
        self.limits = limits
        self.rows: list[list] = []
        self.cells = 0
        self.row_cap = limits.max_rows + HEADER_SCAN + 1

    def add(self, row: list) -> None:
        w = _width(row)
        if w > self.limits.max_columns:
            self.limits.check_columns(w)
        if w < len(row):
            del row[w:]
        self.rows.append(row)
        if len(self.rows) > self.row_cap:
            self.limits.check_rows(len(self.rows) - HEADER_SCAN - 1, at_least=True)
        self.cells += w - row.count(None) - row.count("")  # counted in C: no Python loop per cell
        if self.cells > self.limits.max_cells:
            self.limits.check_cells(self.cells, at_least=True)


def _bounded_rows(rows: Iterator, limits: Limits) -> list[list]:
    """Rows of cells, trailing blanks cut, stopping as soon as a row, column or cell limit is passed."""
    grid = _Grid(limits)
    for row in rows:
        grid.add(list(row))
    return grid.rows


def _sniff_delimiter(textdata: str) -> str:
    """Comma, tab or semicolon: the one most used in the first lines (a title line may have none)."""
    head = textdata[:65536].split("\n")[:HEADER_SCAN]
    counts = {d: sum(line.count(d) for line in head) for d in ",\t;"}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _csv_rows(textdata: str, limits: Limits) -> list[list]:
    delim = _sniff_delimiter(textdata)
    try:
        return _bounded_rows(csv.reader(io.StringIO(textdata), delimiter=delim), limits)
    except csv.Error as exc:
        raise GeoError(f"CSV 文件格式有误：{exc}", f"malformed CSV: {exc}") from exc


def _check_zip(zf: zipfile.ZipFile, limits: Limits, what: str) -> list[zipfile.ZipInfo]:
    """The members of a zip, after checking the uncompressed sizes they declare (nothing is expanded)."""
    infos = zf.infolist()
    limits.check_uncompressed(sum(i.file_size for i in infos), what)
    return infos


def _pick_sheet(names: list[str], sheet) -> str:
    """A sheet by name, or by number counting from 1; the first by default."""
    if sheet is None or sheet == "":
        return names[0]
    if str(sheet) in names:
        return str(sheet)
    if str(sheet).isdigit() and 1 <= int(sheet) <= len(names):
        return names[int(sheet) - 1]
    raise GeoError(f"没有工作表“{sheet}”（有：{'、'.join(names)}）。", f"no sheet {sheet!r} (sheets: {', '.join(names)})")


#: An xlsx part openpyxl parses whole (workbook, styles, theme, properties) is never this big in a workbook.
XLSX_WHOLE_PART = 16 * MB
_SI = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,31}:)?si[\s/>]")
_SST_DECLARED = re.compile(rb"<(?:[\w.-]{1,32}:)?sst\b[^>]*?\buniqueCount\s*=\s*[\"'](\d+)")


def _count_shared_strings(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> int:
    """The strings (``<si>``) of a shared-strings part, counted on its streamed bytes without parsing them;
    refused at the declared ``uniqueCount`` or as soon as the count passes ``max_shared_strings``."""
    from .xmlsafe import CHUNK

    with zf.open(info) as fh:
        first = fh.read(CHUNK)
        m = _SST_DECLARED.search(first[:4096])
        if m:
            limits.check_shared_strings(int(m[1]), declared=True)
        # a tag name is short: the last "<" of the final 64 bytes is the only one that can start an unfinished <si
        n = _count_streamed(fh, _SI, b"<", 64, limits.max_shared_strings, limits.check_shared_strings, first)
    limits.check_shared_strings(n)
    return n


def _count_streamed(fh, pattern: re.Pattern, start: bytes, tail: int, limit: int, refuse, first: bytes = b"") -> int:
    """Matches of ``pattern`` in a stream read in chunks, without holding more than one; ``refuse(n)`` as soon as
    the count passes ``limit``. A match cut by a chunk's end is counted with the next chunk: it begins at the
    last ``start`` byte among the final ``tail`` bytes (the longest a match's head can be)."""
    from .xmlsafe import CHUNK

    n, carry = 0, b""
    chunk = first or fh.read(CHUNK)
    while chunk:
        buf = carry + chunk
        cut = buf.rfind(start, max(0, len(buf) - tail))
        cut = len(buf) if cut < 0 else cut
        n += len(pattern.findall(buf, 0, cut))
        carry = buf[cut:]
        if n > limit:
            refuse(n)
        chunk = fh.read(CHUNK)
    return n + len(pattern.findall(carry))


def _xlsx_preflight(zf: zipfile.ZipFile, limits: Limits) -> None:
    """Check an xlsx before openpyxl reads anything: the declared sizes, each part's compression ratio, the
    size of the parts openpyxl parses whole, and the number of shared strings (which openpyxl would hold
    in one list: 11 million of them took 1.9 GB)."""
    for info in _check_zip(zf, limits, "Excel 文件"):
        if info.is_dir():
            continue
        limits.check_ratio(info.filename, info.file_size, info.compress_size, "Excel 文件")
        low = info.filename.lower()
        shared = low.endswith("sharedstrings.xml")
        if (not shared and not low.startswith("xl/worksheets/") and low.endswith((".xml", ".rels"))
                and info.file_size > XLSX_WHOLE_PART):
            raise LimitError(f"Excel 文件中的 {info.filename} 过大（{info.file_size / MB:,.0f} MB），不是正常的工作簿；"
                             f"请在 Excel/WPS 中另存后重试。",
                             f"{info.filename} in the Excel file is {info.file_size / MB:,.0f} MB: not a normal "
                             f"workbook; save it again in Excel/WPS")
        if shared:
            _count_shared_strings(zf, info, limits)


def _xlsx_rows(src, sheet, limits: Limits) -> tuple[list[list], str, list, list[str]]:
    """``(rows, sheet name, merges, notes)`` of an xlsx sheet.

    openpyxl reads the workbook, its styles and shared strings (:class:`_Workbook`, after
    :func:`_xlsx_preflight`); the sheet itself is streamed by :class:`_SheetReader` (expat, DOCTYPE
    refused), which keeps no more than ``max_columns`` cells of a row and reads the merges in the same pass.
    """
    if isinstance(src, (str, Path)):
        with open(src, "rb") as fh:  # openpyxl judges a path by its suffix (a .xls that is an xlsx)
            return _xlsx_rows(fh, sheet, limits)
    try:
        with zipfile.ZipFile(src) as zf:
            _xlsx_preflight(zf, limits)
    except zipfile.BadZipFile as exc:
        raise GeoError("无法读取 Excel 文件：文件已损坏或不是 xlsx。",
                       "cannot read the Excel file: damaged or not an xlsx") from exc
    except (NotImplementedError, RuntimeError, zlib.error, EOFError) as exc:  # compression, encryption, damage
        raise GeoError(f"无法读取 Excel 文件：{exc}", f"cannot read the Excel file: {exc}") from exc
    if hasattr(src, "seek"):
        src.seek(0)
    try:
        book = _Workbook(src)
    except GeoError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise GeoError(f"无法读取 Excel 文件：{exc}", f"cannot read the Excel file: {exc}") from exc
    try:
        ws_name = _pick_sheet(list(book.parts), sheet)
        part, chart = book.parts[ws_name]
        if chart:
            raise GeoError(f"工作表“{ws_name}”是图表，不是表格。", f"sheet {ws_name!r} is a chart, not a table")
        reader = _SheetReader(book, limits)
        with book.archive.open(part) as fh:
            parse(fh, what_zh="Excel 工作表", what_en="the Excel sheet", start=reader.start, end=reader.end,
                  chars=reader.chars)
    except (GeoError, LimitError):
        raise
    except Exception as exc:  # a damaged sheet
        raise GeoError(f"无法读取 Excel 文件：{exc}", f"cannot read the Excel file: {exc}") from exc
    finally:
        book.archive.close()
    notes = []
    if reader.merges_dropped:
        notes.append(f"合并单元格超过 {MAX_MERGES:,} 处，其余未按合并处理 / more than {MAX_MERGES:,} merged "
                     f"ranges; the rest were not used")
    return reader.grid.rows, ws_name, reader.merges, notes


class _Workbook:
    """What a sheet's cells need from its workbook, read by openpyxl's own readers: the sheets' parts, the
    shared strings, the styles whose number format is a date, the date epoch.

    ``openpyxl.load_workbook`` is not used: in read-only mode it streams every sheet that lacks a
    ``<dimension>`` to its end only to size it, and it parses external links' cached sheets.
    """

    def __init__(self, fh):
        from openpyxl.reader.excel import ExcelReader
        from openpyxl.styles.stylesheet import apply_stylesheet

        reader = ExcelReader(fh, read_only=True, data_only=True, keep_links=False)
        self.archive = reader.archive
        try:
            reader.read_manifest()
            reader.read_strings()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
        except BaseException:
            self.archive.close()
            raise
        wb = reader.wb
        self.strings = reader.shared_strings
        self.dates, self.durations, self.epoch = wb._date_formats, wb._timedelta_formats, wb.epoch
        #: {sheet name: (part in the zip, whether it is a chart sheet)}, in the workbook's order
        self.parts = {sheet.name: (rel.target, "chartsheet" in rel.Type) for sheet, rel in reader.parser.find_sheets()
                      if rel.target in reader.valid_files}
        if not self.parts:
            self.archive.close()
            raise GeoError("Excel 文件中没有工作表。", "the Excel file holds no sheet")


def _cell_ref(ref: str) -> tuple[int, int] | None:
    """``"C12"`` → ``(11, 2)`` (0-based row, column)."""
    m = re.fullmatch(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})", ref)
    if not m:
        return None
    return int(m[2]) - 1, _column_number(m[1].upper()) - 1


@functools.lru_cache(maxsize=20_000)
def _column_number(letters: str) -> int:
    """``"A"`` → 1, ``"XFD"`` → 16384."""
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return col


def _column_letters(col: int) -> str:
    out = ""
    while col:
        col, r = divmod(col - 1, 26)
        out = chr(65 + r) + out
    return out


_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?\d")


class _SheetReader:
    """expat handlers reading one worksheet's cells as openpyxl's read-only, ``data_only`` mode gives them.

    A value is converted as openpyxl does (shared strings, numbers, dates by the cell's style, booleans,
    cached formula results, inline strings without their phonetic runs); rows go to a :class:`_Grid`, so
    the sheet is refused at the first row, column or cell over a limit. A filled cell beyond
    ``max_columns`` (a stray value at XFD) is refused when its row ends, naming the farthest such cell;
    blank cells there, and rows with no filled cell, are never stored.
    """

    def __init__(self, book: _Workbook, limits: Limits):
        self.grid = _Grid(limits)
        self.limits = limits
        self.strings = book.strings
        self.dates = book.dates  # style ids with a date (or duration) number format
        self.durations = book.durations
        self.epoch = book.epoch
        self.tags: dict[str, str] = {}  # expat's "namespace local" names → local names
        self.merges: list[tuple[int, int, int, int]] = []
        self.merges_dropped = False
        self.row = 0  # the current row's number (from 1)
        self.col = 0
        self.cells: dict[int, object] = {}
        self.ctype = self.style = self.ref = None
        self.value: list[str] | None = None  # text of <v> being read
        self.inline: list[str] | None = None  # text of an inline string
        self.buf: list[str] | None = None
        self.phonetic = 0
        self.far, self.far_ref = 0, ""  # the farthest filled cell of the row beyond max_columns

    def _local(self, name: str) -> str:
        tag = self.tags[name] = local(name)
        return tag

    def start(self, name: str, attrs: dict) -> None:
        tag = self.tags.get(name) or self._local(name)
        if tag == "c":
            ref = attrs.get("r")
            m = _REF.match(ref) if ref else None
            self.col = _column_number(m[1].upper()) if m else self.col + 1
            self.ref, self.ctype, self.style = ref, attrs.get("t", "n"), attrs.get("s")
            self.value = None
            self.inline = [] if self.ctype == "inlineStr" else None
        elif tag == "v":
            self.buf = self.value = []
        elif tag == "t" and self.inline is not None and not self.phonetic:
            self.buf = self.inline
        elif tag == "rPh":
            self.phonetic += 1
        elif tag == "row":
            r = attrs.get("r")
            self.row = int(float(r)) if r else self.row + 1
            self.col = 0
            self.cells = {}
        elif tag == "mergeCell":
            self._merge(str(attrs.get("ref", "")))

    def chars(self, data: str) -> None:
        if self.buf is not None:
            self.buf.append(data)

    def end(self, name: str) -> None:
        tag = self.tags.get(name) or self._local(name)
        if tag in ("v", "t"):
            self.buf = None
        elif tag == "rPh":
            self.phonetic -= 1
        elif tag == "c":
            v = self._cell_value()
            if v is not None:
                self._put(v)
        elif tag == "row":
            self._row_done()

    def _cell_value(self):
        if self.inline is not None:
            return "".join(self.inline)
        text = "".join(self.value) if self.value else None
        if not text:
            return None
        t = self.ctype
        if t == "n":
            v = float(text) if ("." in text or "E" in text or "e" in text) else int(text)
            style = int(self.style) if self.style else 0
            if style and style in self.dates:
                from openpyxl.utils.datetime import from_excel

                try:
                    return from_excel(v, self.epoch, timedelta=style in self.durations)
                except (OverflowError, ValueError):
                    return "#VALUE!"  # as openpyxl: a date serial out of range
            return v
        if t == "s":
            return self.strings[int(text)]
        if t == "b":
            return bool(int(text))
        if t == "d":
            from openpyxl.utils.datetime import from_ISO8601

            return from_ISO8601(text)
        return text  # "str" (a formula's text result), "e" (an error such as #N/A)

    def _put(self, v) -> None:
        if self.col > self.limits.max_columns:
            if not blank(v) and self.col > self.far:  # refused when the row ends, naming its farthest cell
                self.far, self.far_ref = self.col, self.ref or f"{_column_letters(self.col)}{self.row}"
            return
        self.cells[self.col] = v

    def _too_wide(self) -> None:
        try:
            self.limits.check_columns(self.far)
        except LimitError as exc:
            raise LimitError(f"{exc.zh.rstrip('。')}；最右边有内容的单元格是 {self.far_ref}，请删除表格右侧多余的内容后重试。",
                             f"{exc.en}; the farthest filled cell is {self.far_ref}: delete what lies right of the "
                             f"table and try again") from None

    def _row_done(self) -> None:
        if self.far:
            self._too_wide()
        cells, self.cells = self.cells, {}
        if not cells or self.row <= len(self.grid.rows):  # a blank row; a row out of order (openpyxl drops it)
            return
        if self.row > self.grid.row_cap and self.row - 1 > len(self.grid.rows):  # far below the rows read
            ref = f"{_column_letters(min(cells))}{self.row}"
            raise LimitError(
                f"单元格 {ref} 有内容，位于第 {self.row:,} 行，超过行数上限 {self.limits.max_rows:,} 行"
                f"（qingshan.toml [limits] max_rows）；请删除表格下方多余的内容或分批导入。",
                f"cell {ref} is filled, in row {self.row:,}; the limit is {self.limits.max_rows:,} rows "
                f"([limits] max_rows in qingshan.toml); delete what lies below the table or import it in parts")
        while len(self.grid.rows) < self.row - 1:  # rows the file skips are blank rows
            self.grid.add([])
        row = [None] * max(cells)
        for j, v in cells.items():
            row[j - 1] = v
        self.grid.add(row)

    def _merge(self, ref: str) -> None:
        if len(self.merges) >= MAX_MERGES:
            self.merges_dropped = True
            return
        a, _, b = ref.partition(":")
        p, q = _cell_ref(a), _cell_ref(b or a)
        if p and q:
            self.merges.append((min(p[0], q[0]), min(p[1], q[1]), max(p[0], q[0]), max(p[1], q[1])))


def _xls_value(cell, datemode: int):
    """A BIFF cell as openpyxl would give it: text, a number (an integer when whole), a datetime, a bool."""
    import xlrd

    t, v = cell.ctype, cell.value
    if t in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if t == xlrd.XL_CELL_NUMBER:
        return int(v) if float(v).is_integer() and abs(v) < 2 ** 53 else v
    if t == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate.xldate_as_datetime(v, datemode)
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return v
    if t == xlrd.XL_CELL_BOOLEAN:
        return bool(v)
    if t == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(v, "#ERR")
    return v


def _xls_rows(data: bytes, sheet, limits: Limits) -> tuple[list[list], str, list[tuple[int, int, int, int]]]:
    """``(rows, sheet name, merges)`` of an Excel 97–2003 workbook (BIFF8), read by xlrd."""
    import xlrd

    damaged = ("无法读取 .xls 文件：文件已损坏或不是 Excel 97-2003 工作簿；请在 Excel/WPS 中打开并另存为 .xlsx 后重试。",
               "cannot read the .xls file: damaged or not an Excel 97-2003 workbook; open it in Excel/WPS and save "
               "it as .xlsx")
    if data.lstrip()[:1] == b"<":  # web systems export HTML tables named .xls
        raise GeoError("该 .xls 文件实为网页（HTML/XML）表格，不是 Excel 工作簿；请在 Excel/WPS 中打开并另存为 .xlsx。",
                       "this .xls is a web page (HTML/XML table), not an Excel workbook; open it in Excel/WPS "
                       "and save it as .xlsx")
    try:  # xlrd's warnings go to a buffer, not to the server's stdout
        # ragged rows: a row holds its own cells only, where xlrd would pad every row to the widest
        # (one formatted cell at IV65536 would make 16.7 million cells of 65,536 short rows)
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True, ragged_rows=True,
                                  logfile=io.StringIO())
    except Exception as exc:  # xlrd raises many kinds (XLRDError, CompDocError, struct.error, IndexError …)
        raise GeoError(*damaged) from exc
    try:
        ws_name = _pick_sheet(book.sheet_names(), sheet)
        sh = book.sheet_by_name(ws_name)  # ncols counts formatted blank cells: widths are checked per row
        grid = _Grid(limits)
        if sh.nrows > grid.row_cap:  # known before a row is converted
            limits.check_rows(sh.nrows - HEADER_SCAN - 1, at_least=True)
        for r in range(sh.nrows):  # a BIFF8 row has at most 256 cells
            grid.add([_xls_value(c, book.datemode) for c in sh.row(r)])
        rows = grid.rows
        merges = [(r0, c0, r1 - 1, c1 - 1) for r0, r1, c0, c1 in sh.merged_cells]  # xlrd's are half-open
    except (GeoError, LimitError):
        raise
    except Exception as exc:  # a damaged sheet
        raise GeoError(*damaged) from exc
    finally:
        book.release_resources()
    return rows, ws_name, merges


def _from_rows(rows: list[list], source: str, aliases, limits: Limits, merges=()) -> Table:
    """A table from a grid of cells (CSV rows or a worksheet): the header block found and flattened, the
    body's vertical merges filled down, totals, signature lines and blank rows left out (:mod:`layout`)."""
    while rows and all(blank(c) for c in rows[-1]):
        rows.pop()
    if not rows:
        raise GeoError("文件为空。", "the file is empty")
    width = max(len(r) for r in rows)
    for r in rows:  # the grid is ours (built by the reader): blanks to None and padded, in place
        r[:] = [None if blank(c) else c for c in r]
        r.extend([None] * (width - len(r)))
    merges = [m for m in merges if m[0] < len(rows) and m[1] < width]
    h = find_header(rows, aliases)
    near = [m for m in merges if m[0] <= h + layout.MAX_HEADER_ROWS]  # the body's merges play no part here
    top, bottom = layout.header_block(rows, h, near, aliases)
    names = layout.flatten(rows, top, bottom, near, aliases, width)
    header: list[str] = []
    for j, name in enumerate(names):
        name = name if name is not None else f"列{j + 1}"
        while name in header:  # two columns with one header: keep both, distinguishable
            name += "_2"
        header.append(name)
    ids = [header.index(c) for c, t in (match_headers(header, aliases) if aliases else {}).items()
           if t in layout.ID_TARGETS]
    data, skipped, filled = layout.classify_body(rows, bottom + 1, merges, ids)
    limits.check_rows(len(data))
    body = [rows[i] for i in data]
    frame = pd.DataFrame(body, columns=header, dtype=object) if body else pd.DataFrame(columns=header, dtype=object)
    return Table(frame, np.asarray([i + 1 for i in data], dtype=int), source, skipped=skipped,
                 merged_down={header[j]: n for j, n in sorted(filled.items())},
                 header_rows=tuple(range(top + 1, bottom + 2)))


# --- spatial ---------------------------------------------------------------------------------

def _pick_layer(layers: list[str], sheet, hint, what: str) -> str:
    if sheet not in (None, ""):
        if str(sheet) in layers:
            return str(sheet)
        if str(sheet).isdigit() and 1 <= int(sheet) <= len(layers):
            return layers[int(sheet) - 1]
        raise GeoError(f"没有图层“{sheet}”（有：{'、'.join(layers)}）。",
                       f"no layer {sheet!r} in the {what} (layers: {', '.join(layers)})")
    if hint in layers:
        return hint
    if len(layers) == 1:
        return layers[0]
    if not layers:
        raise GeoError("文件中没有图层。", f"the {what} holds no layer")
    raise GeoError(f"文件中有多个图层，请指定其一（--sheet）：{'、'.join(layers)}。",
                   f"the {what} holds several layers; choose one with --sheet: {', '.join(layers)}")


def _dbf_header(head: bytes) -> tuple[int, int]:
    """``(records, fields)`` from the 32-byte header of a dBASE file."""
    if len(head) < 12:
        raise GeoError("Shapefile 的 .dbf 文件已损坏。", "the shapefile's .dbf is damaged")
    records, header_len = struct.unpack("<IH", head[4:10])
    return records, max(0, (header_len - 33) // 32)


def _dbf_encoding(sample: bytes) -> str:
    """Encoding of a .dbf with no .cpg: UTF-8 if its first bytes decode (a cut character at the end of the
    sample is allowed), else GB18030 (GBK)."""
    return "UTF-8" if _decodes(sample, "utf-8") else "GB18030"


def _decodes(sample: bytes, encoding: str) -> bool:
    """Whether ``sample`` decodes strictly as ``encoding`` (a character cut at its end allowed)."""
    import codecs

    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        return True
    except UnicodeDecodeError:
        return False


#: What .cpg files say, as Python codecs (ArcGIS and QGIS write code page numbers too).
_CPG = {"utf-8": "utf-8", "utf8": "utf-8", "65001": "utf-8", "gbk": "gb18030", "936": "gb18030",
        "cp936": "gb18030", "ansi 936": "gb18030", "gb2312": "gb18030", "gb18030": "gb18030", "54936": "gb18030"}


def _cpg_choice(cpg: bytes, sample: bytes) -> tuple[str | None, str | None]:
    """``(encoding to read with or None to trust the .cpg, note)`` for a .cpg and a sample of its .dbf.

    A .cpg that says UTF-8 over a GBK .dbf (or GBK over a UTF-8 one) is overruled: the sample decides.
    """
    declared = cpg.decode("ascii", errors="replace").strip()
    codec = _CPG.get(declared.lower())
    if codec is None:
        return None, None  # an encoding we do not second-guess (Latin-1, Big5 …): GDAL reads it
    if codec == "utf-8" and not _decodes(sample, "utf-8"):
        actual = "GB18030"
    elif codec == "gb18030" and not sample.isascii() and _decodes(sample, "utf-8"):
        actual = "UTF-8"  # GBK text is almost never valid UTF-8, UTF-8 text always is
    else:
        return None, None
    return actual, (f".cpg 声明编码为 {declared}，但 .dbf 的文字不是该编码，已按 {actual} 读取 / the .cpg says "
                    f"{declared} but the .dbf text is not; read as {actual}")


def _undecodable(encoding: str) -> GeoError:
    return GeoError(f"无法识别属性表（.dbf）的文字编码（按 {encoding} 也无法读取）；请在 GIS 软件中另存为 UTF-8"
                    f"（并附 .cpg 文件）后重试。",
                    f"cannot read the text encoding of the attribute table (.dbf; not {encoding} either); save it "
                    f"as UTF-8 (with a .cpg) in the GIS software and try again")


def _dbf_choice(sample: bytes, cpg: bytes | None) -> tuple[str | None, str | None]:
    """``(encoding to read the .dbf with, or None to let GDAL follow the .cpg; note)``.

    Without a .cpg the sample decides (:func:`_dbf_encoding`); with one, :func:`_cpg_choice`. An encoding
    chosen here must decode the sample, else the file is refused in both languages (GDAL would replace
    the characters it cannot convert and warn only once per process).
    """
    if cpg is None:
        enc, note = _dbf_encoding(sample), None
    else:
        enc, note = _cpg_choice(cpg, sample)
    if enc is not None and not _decodes(sample, enc):
        raise _undecodable(enc)
    return enc, note


def _use_encoding(kwargs: dict, notes: list, enc: str | None, note: str | None) -> None:
    if enc:
        kwargs["encoding"] = enc
    if note:
        notes.append(note)


def _check_dbf(fh, limits: Limits) -> bytes:
    """Check a .dbf's declared rows and columns; returns its field names and a sample of its records, the
    text whose encoding matters (the binary field descriptors would fail any text decoder)."""
    head = fh.read(32)
    records, nfields = _dbf_header(head)
    limits.check_columns(nfields)
    limits.check_rows(records)
    limits.check_cells(records * nfields)  # GDAL would make one Python object of each
    header_len = struct.unpack("<H", head[8:10])[0]
    descriptors = fh.read(max(0, header_len - 32))
    names = b"".join(descriptors[i:i + 11].split(b"\0")[0] for i in range(0, len(descriptors) - 31, 32))
    return names + b" " + fh.read(_DBF_SAMPLE)


# --- vertices: counted before a spatial file is parsed, and again on what was read ------------------

#: Shapefile shape types by where a record states its vertex count (``numPoints``).
_SHP_ONE = {1, 11, 21}  # a point: one vertex
_SHP_PARTS = {3, 5, 13, 15, 23, 25, 31}  # lines, polygons, multipatch: numParts then numPoints after the box
_SHP_MULTI = {8, 18, 28}  # multipoints: numPoints after the box


def _check_shp(fh, limits: Limits) -> None:
    """Walk a .shp's record headers (each states its vertex count) and refuse the file at the first feature
    or running total over the vertex limits, before GDAL builds any geometry. Only the 8-byte record
    header and the first 44 bytes of each record are read; the coordinates are skipped."""
    head = fh.read(100)
    if len(head) < 100 or struct.unpack(">i", head[:4])[0] != 9994:
        raise GeoError("Shapefile 的 .shp 文件已损坏。", "the shapefile's .shp is damaged")
    if struct.unpack("<i", head[32:36])[0] in _SHP_ONE:
        return  # one vertex per record: the .dbf's record count (max_rows) bounds them
    total = feature = 0
    while len(rec := fh.read(8)) == 8:
        feature += 1
        size = struct.unpack(">i", rec[4:8])[0] * 2
        if size < 4:
            break  # damaged: GDAL says so
        body = fh.read(min(size, 44))
        kind = struct.unpack("<i", body[:4])[0] if len(body) >= 4 else 0
        n = 0
        if kind in _SHP_PARTS and len(body) >= 44:
            n = struct.unpack("<i", body[40:44])[0]
        elif kind in _SHP_MULTI and len(body) >= 40:
            n = struct.unpack("<i", body[36:40])[0]
        elif kind in _SHP_ONE:
            n = 1
        limits.check_feature_vertices(n, feature)
        total += max(n, 0)
        if total > limits.max_vertices:
            limits.check_vertices(total, at_least=True)
        if size > len(body):
            fh.seek(size - len(body), 1)


_POSITION = re.compile(rb"\[\s*-?\d[\d.eE+-]*\s*,\s*-?\d[\d.eE+-]*\s*(?:,\s*-?\d[\d.eE+-]*\s*)?\]")


def _check_json_positions(fh, limits: Limits) -> None:
    """Count a GeoJSON's positions (``[x, y]`` or ``[x, y, z]``) on its bytes, before GDAL parses it, and
    refuse it as soon as they pass ``max_vertices``."""
    # a position holds no "[": one cut by the chunk's end starts at the last "[" of the final bytes
    n = _count_streamed(fh, _POSITION, b"[", 128, limits.max_vertices,
                        lambda k: limits.check_vertices(k, at_least=True))
    limits.check_vertices(n)


class _KmlVertices:
    """expat handlers counting a KML's vertices: the coordinate tuples of each ``<coordinates>`` and each
    ``<gx:coord>``, refused as soon as they pass ``max_vertices`` (nothing is stored)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.n = 0
        self.inside = False
        self.joined = False  # the text so far ends inside a tuple: the next piece may continue it

    def start(self, name: str, attrs: dict) -> None:
        tag = local(name)
        if tag == "coordinates":
            self.inside, self.joined = True, False
        elif tag == "coord":
            self._count(1)

    def end(self, name: str) -> None:
        if local(name) == "coordinates":
            self.inside = False

    def chars(self, data: str) -> None:
        if not self.inside or not data:
            return
        k = len(_COMMA_SPACE.sub(",", data).split())
        if self.joined and not data[0].isspace():
            k -= 1
        self.joined = not data[-1].isspace()
        self._count(k)

    def _count(self, k: int) -> None:
        self.n += k
        if self.n > self.limits.max_vertices:
            self.limits.check_vertices(self.n, at_least=True)


_COMMA_SPACE = re.compile(r"\s*,\s*")  # "118.9, 29.1" is one tuple (as geo.io.kml reads it)


def _check_kml(path: Path | None, data: bytes | None, kmz: bool, limits: Limits) -> None:
    """Count a KML's (or KMZ's document's) vertices in a streamed pass before it is read."""
    from . import kml

    counter = _KmlVertices(limits)
    handlers = dict(what_zh="KML 文件", what_en="the KML file", start=counter.start, end=counter.end,
                    chars=counter.chars)
    if not kmz:
        with _open_source(path, data) as fh:
            parse(fh, **handlers)
        return
    try:
        with zipfile.ZipFile(path if path is not None else io.BytesIO(data)) as zf:
            limits.check_uncompressed(sum(i.file_size for i in zf.infolist()), "KMZ 文件")
            with zf.open(kml._kmz_member(zf)) as fh:
                parse(fh, **handlers)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise GeoError("KMZ 文件已损坏。", "the KMZ file is damaged") from exc
    except (NotImplementedError, RuntimeError) as exc:  # an unknown compression method, encryption
        raise GeoError(f"无法读取 KMZ 压缩包：{exc}", f"cannot read the KMZ: {exc}") from exc


def _check_geometries(geoms, limits: Limits) -> None:
    """The vertices of what was read (vectorised): per feature and in all, before anything is reprojected
    or checked (a GeoPackage, or what the pre-counts cannot see)."""
    import shapely

    n = shapely.get_num_coordinates(np.asarray(geoms, dtype=object))
    if len(n):
        worst = int(np.argmax(n))
        limits.check_feature_vertices(int(n[worst]), worst + 1)
        limits.check_vertices(int(n.sum()))


def _read_spatial(path: Path | None, data: bytes | None, suffix: str, sheet, hint, source, limits: Limits,
                  crs: str, accepted_epsg: tuple) -> Table:
    if path is None:
        # GDAL reads files: the bytes go to a private temporary file named by the suffix only
        # (the name the browser sent never becomes a path).
        if suffix == ".shp":
            raise GeoError("Shapefile 须打包为 .zip（含 .shp、.dbf、.shx、.prj）后上传。",
                           "upload a Shapefile as a .zip (with its .shp, .dbf, .shx, .prj)")
        if suffix == ".zip":  # check the zip before it is even written
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    _check_zip(zf, limits, "压缩包")
            except zipfile.BadZipFile as exc:
                raise GeoError("压缩文件损坏。", "the zip file is damaged") from exc
        with tempfile.TemporaryDirectory(prefix="qingshan-read-") as tmp:
            p = Path(tmp) / f"upload{suffix}"
            p.write_bytes(data)
            return _read_spatial(p, None, suffix, sheet, hint, source, limits, crs, accepted_epsg)
    import pyogrio

    kwargs: dict = {}
    notes: list[str] = []
    target = str(path)
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                members = [i.filename for i in _check_zip(zf, limits, "压缩包")]
                shps = [m for m in members if m.lower().endswith(".shp") and not m.startswith("__MACOSX")]
                if not shps:
                    raise GeoError("压缩包中没有 .shp 文件。", "the zip holds no .shp file")
                stems = [m[:-4] for m in shps]
                chosen = _pick_layer([Path(s).name for s in stems], sheet, hint, "zip")
                stem = stems[[Path(s).name for s in stems].index(chosen)]
                with zf.open(shps[stems.index(stem)]) as fh:  # streamed: record headers, coordinates skipped
                    _check_shp(fh, limits)
                dbf = [m for m in members if m.lower() == (stem + ".dbf").lower()]
                if dbf:
                    with zf.open(dbf[0]) as fh:  # streamed: only the header and a sample are expanded
                        sample = _check_dbf(fh, limits)
                    cpg = [m for m in members if m.lower() == (stem + ".cpg").lower()]
                    # a .cpg is a code page name: one of more than 64 bytes is not read
                    enc, note = _dbf_choice(sample, (zf.read(cpg[0]) if zf.getinfo(cpg[0]).file_size <= 64
                                                     else b"") if cpg else None)
                    _use_encoding(kwargs, notes, enc, note)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise GeoError("压缩文件损坏。", "the zip file is damaged") from exc
        except (NotImplementedError, RuntimeError) as exc:  # an unknown compression method, encryption
            raise GeoError(f"无法读取压缩包：{exc}", f"cannot read the zip: {exc}") from exc
        target = f"/vsizip/{path}/{stem}.shp"
    elif suffix == ".shp":
        with path.open("rb") as fh:
            _check_shp(fh, limits)
        cpg, dbf = path.with_suffix(".cpg"), path.with_suffix(".dbf")
        if dbf.exists():
            with dbf.open("rb") as fh:
                sample = _check_dbf(fh, limits)
            enc, note = _dbf_choice(sample, (cpg.read_bytes() if cpg.stat().st_size <= 64 else b"")
                                    if cpg.exists() else None)
            _use_encoding(kwargs, notes, enc, note)
    else:
        try:
            layers = [str(r[0]) for r in pyogrio.list_layers(path)]
        except Exception as exc:  # GDAL cannot open it
            raise GeoError(f"无法读取空间数据文件：{exc}", f"cannot read the spatial file: {exc}") from exc
        if suffix == ".gpkg" or len(layers) > 1:
            kwargs["layer"] = _pick_layer(layers, sheet, hint, "GeoPackage" if suffix == ".gpkg" else "file")
        try:
            info = pyogrio.read_info(path, layer=kwargs.get("layer"), force_feature_count=True)
        except Exception as exc:  # GDAL cannot open it
            raise GeoError(f"无法读取空间数据文件：{exc}", f"cannot read the spatial file: {exc}") from exc
        limits.check_columns(len(info.get("fields", ())))
        limits.check_rows(int(info.get("features") or 0))
        limits.check_cells(int(info.get("features") or 0) * len(info.get("fields", ())))
        if suffix in (".geojson", ".json"):
            with path.open("rb") as fh:
                _check_json_positions(fh, limits)
    try:
        gdf = pyogrio.read_dataframe(target, **kwargs)
    except UnicodeDecodeError as exc:  # never the codec's own words: say what to do
        raise GeoError("无法识别属性表的文字编码；请在 GIS 软件中另存为 UTF-8（并附 .cpg 文件）后重试。",
                       "cannot read the text encoding of the attribute table; save it as UTF-8 (with a .cpg) "
                       "in the GIS software and try again") from exc
    except Exception as exc:  # pyogrio/GDAL errors for unreadable data
        raise GeoError(f"无法读取空间数据文件：{exc}", f"cannot read the spatial file: {exc}") from exc
    limits.check_rows(len(gdf))
    import geopandas as gpd

    geom = None
    if isinstance(gdf, gpd.GeoDataFrame):
        _check_geometries(gdf.geometry.values, limits)
        geom = gdf.geometry
        if geom.crs is None:
            notes.append(f"文件未声明坐标系，按 {crs} 读取 / no CRS in the file; read as {crs}")
            geom = geom.set_crs(crs)
        elif geom.crs.to_epsg() not in accepted_epsg:
            notes.append(f"已从 {geom.crs.to_string()} 转换为 {crs} / reprojected from {geom.crs.to_string()}")
            geom = geom.to_crs(crs)
        else:
            geom = geom.set_crs(crs, allow_override=True)
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    else:
        frame = pd.DataFrame(gdf)
    frame = frame.astype(object).where(frame.notna(), None)
    frame.columns = [str(c) for c in frame.columns]
    return Table(frame.reset_index(drop=True), np.arange(1, len(frame) + 1), source,
                 geometry=None if geom is None else geom.reset_index(drop=True),
                 encoding=kwargs.get("encoding"), sheet=kwargs.get("layer"), notes=notes)


# --- KML / KMZ / GPX -------------------------------------------------------------------------

def _open_source(path: Path | None, data: bytes | None):
    return path.open("rb") if path is not None else io.BytesIO(data)


def _geoseries(geoms, crs: str, accepted_epsg: tuple):
    """The features' geometries as written, declared WGS84 (EPSG:4326) as KML and GPX say; reprojected
    only when the caller asks for a CRS that is not a lon/lat one it accepts."""
    import geopandas as gpd

    geom = gpd.GeoSeries(list(geoms), crs="EPSG:4326")
    if 4326 in accepted_epsg:
        return geom.set_crs(crs, allow_override=True), []
    return geom.to_crs(crs), [f"已从 EPSG:4326 转换为 {crs} / reprojected from EPSG:4326"]


def _read_features(path: Path | None, data: bytes | None, suffix: str, fmt: str, source: str, limits: Limits,
                   crs: str, accepted_epsg: tuple) -> Table:
    """A KML, KMZ or GPX file as a table of placemarks / waypoints (:mod:`geo.io.kml`, :mod:`geo.io.gpx`)."""
    from . import gpx, kml

    if fmt == "kml":
        _check_kml(path, data, suffix == ".kmz", limits)
        feats = kml.read_kml(path, data, kmz=suffix == ".kmz", limits=limits)
    else:
        with _open_source(path, data) as fh:
            feats = gpx.read_waypoints(fh, limits)
    _check_geometries(feats.geometry, limits)
    frame = pd.DataFrame(feats.columns, dtype=object)
    frame = frame.where(frame.notna(), None)
    limits.check_rows(len(frame))
    geom, notes = _geoseries(feats.geometry, crs, accepted_epsg)
    return Table(frame, np.arange(1, len(frame) + 1), source, geometry=geom, encoding=None,
                 notes=[*feats.notes, *notes])


def read_gpx_track(src, *, name: str | None = None, limits: Limits | None = None):
    """The tracks of a GPX file (两步路, a phone's GPS) for an inspection's route.

    Parameters
    ----------
    src : a path, bytes or an uploaded file (as for :func:`read_table`).
    name : the file's name as the user knows it.
    limits : default :meth:`Limits.current`; the file size and the number of track points are checked
        before the track is built.

    Returns
    -------
    (GeoSeries, list of pandas.DatetimeIndex)
        One LineString per ``<trk>`` in file order (its segments joined in order; empty when it has fewer
        than two points), coordinates as written in EPSG:4326 (never transformed: the datum is the
        caller's choice), the tracks' names as the series' ``attrs["names"]``; and for each track the time
        of each vertex in Beijing time (``NaT`` where a point has none).

    Raises
    ------
    geo.errors.LimitError, geo.errors.GeoError : over a limit; not a GPX, damaged, a DOCTYPE, no track.
    """
    import geopandas as gpd

    from . import gpx

    limits = limits or Limits.current()
    path, data, source = _load(src, name, limits)
    suffix = _suffix_of(source) or (path.suffix.lower() if path else "")
    if suffix not in ("", ".gpx"):
        raise GeoError(f"巡查轨迹须为 GPX 文件（不是“{suffix}”）。", f"a track must be a GPX file, not {suffix!r}")
    with _open_source(path, data) as fh:
        lines, names, times = gpx.read_tracks(fh, limits)
    series = gpd.GeoSeries(list(lines), crs="EPSG:4326")
    series.attrs["names"] = names
    return series, times
