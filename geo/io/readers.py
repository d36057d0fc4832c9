"""Read an uploaded or imported table: xlsx, xls, CSV, GeoJSON, zipped Shapefile, GeoPackage, KML/KMZ, GPX.

One reader for every import of the project (ledgers, lab files, the water
command line). :func:`read_table` takes a path, bytes or an uploaded file and
returns a :class:`Table`: the raw cells (nothing parsed: cells are parsed by
:mod:`geo.io.cells`), the row number each row had in the file, the geometry of
spatial files, and which headers matched which canonical columns.

- **CSV** in UTF-8 (with or without BOM), GBK or GB18030 (:func:`decode_text`:
  strict decoders first, then charset-normalizer), comma, tab or semicolon
  separated.
- **xlsx**: streamed with openpyxl's read-only mode (formulas read as their
  cached values); a sheet by name or number from 1. Its merged cells are read
  from the sheet XML's ``<mergeCells>`` in a second, streamed pass
  (:mod:`geo.io.xmlsafe`), skipped when the sheet has none.
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
uncompressed size, rows and columns are checked before more than the limit is
expanded. A file that cannot be read raises :class:`geo.errors.GeoError`; one
over a limit :class:`geo.errors.LimitError`, both in Chinese and English.
"""
from __future__ import annotations

import csv
import io
import re
import struct
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import GeoError, LimitError
from . import layout
from .cells import blank, text
from .headers import match_headers
from .limits import Limits

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


def _bounded_rows(rows: Iterator, limits: Limits) -> list[list]:
    """Rows of cells, trailing blanks cut, stopping as soon as the row or column limit is passed.

    Up to :data:`HEADER_SCAN` rows above the header are allowed on top of ``max_rows``; the exact count
    of data rows is checked again once the header is known.
    """
    cap = limits.max_rows + HEADER_SCAN + 1
    out: list[list] = []
    for row in rows:
        row = list(row)
        w = _width(row)
        if w > limits.max_columns:
            limits.check_columns(w)
        out.append(row[:w])
        if len(out) > cap:
            limits.check_rows(len(out) - HEADER_SCAN - 1, at_least=True)
    return out


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


def _xlsx_rows(src, sheet, limits: Limits) -> tuple[list[list], str, list, list[str]]:
    """``(rows, sheet name, merges, notes)`` of an xlsx sheet."""
    import openpyxl

    try:
        with zipfile.ZipFile(src) as zf:
            _check_zip(zf, limits, "Excel 文件")
    except zipfile.BadZipFile as exc:
        raise GeoError("无法读取 Excel 文件：文件已损坏或不是 xlsx。",
                       "cannot read the Excel file: damaged or not an xlsx") from exc
    if hasattr(src, "seek"):
        src.seek(0)
    try:
        wb = openpyxl.load_workbook(src, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise GeoError(f"无法读取 Excel 文件：{exc}", f"cannot read the Excel file: {exc}") from exc
    try:
        ws_name = _pick_sheet(wb.sheetnames, sheet)
        ws = wb[ws_name]
        # The declared dimension may be absent or wrong (A1:XFD1048576): read rows as they are.
        ws.reset_dimensions()
        rows = _bounded_rows(ws.iter_rows(values_only=True), limits)
        # openpyxl's read-only sheet knows the part it streams from, not its merges
        sheet_xml = getattr(ws, "_worksheet_path", None)
    except (GeoError, LimitError):
        raise
    except Exception as exc:  # a damaged sheet
        raise GeoError(f"无法读取 Excel 文件：{exc}", f"cannot read the Excel file: {exc}") from exc
    finally:
        wb.close()
    if hasattr(src, "seek"):
        src.seek(0)
    merges, notes = _xlsx_merges(src, sheet_xml) if sheet_xml else ([], [])
    return rows, ws_name, merges, notes


def _cell_ref(ref: str) -> tuple[int, int] | None:
    """``"C12"`` → ``(11, 2)`` (0-based row, column)."""
    m = re.fullmatch(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})", ref)
    if not m:
        return None
    col = 0
    for ch in m[1].upper():
        col = col * 26 + ord(ch) - 64
    return int(m[2]) - 1, col - 1


def _xlsx_merges(src, sheet_xml: str) -> tuple[list[tuple[int, int, int, int]], list[str]]:
    """The merge ranges of one sheet, ``(first row, first col, last row, last col)`` 0-based, from its XML.

    The part is streamed (its declared size was checked with the workbook); a sheet without the word
    ``mergeCell`` is passed over at the speed of a byte search, one with merges parsed by expat.
    """
    from .xmlsafe import CHUNK, local, parse

    member = sheet_xml.lstrip("/")
    with zipfile.ZipFile(src) as zf:
        try:
            info = zf.getinfo(member)
        except KeyError:
            return [], []
        with zf.open(info) as fh:
            tail, found = b"", False
            while chunk := fh.read(CHUNK):
                if b"mergeCell" in tail + chunk:
                    found = True
                    break
                tail = chunk[-16:]
        if not found:
            return [], []
        merges: list[tuple[int, int, int, int]] = []

        def start(name, attrs):
            if local(name) == "mergeCell" and len(merges) <= MAX_MERGES:
                a, _, b = str(attrs.get("ref", "")).partition(":")
                p, q = _cell_ref(a), _cell_ref(b or a)
                if p and q:
                    merges.append((min(p[0], q[0]), min(p[1], q[1]), max(p[0], q[0]), max(p[1], q[1])))

        with zf.open(info) as fh:
            parse(fh, what_zh="Excel 工作表", what_en="the Excel sheet", start=start)
    notes = []
    if len(merges) > MAX_MERGES:
        del merges[MAX_MERGES:]
        notes.append(f"合并单元格超过 {MAX_MERGES:,} 处，其余未按合并处理 / more than {MAX_MERGES:,} merged "
                     f"ranges; the rest were not used")
    return merges, notes


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
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True, logfile=io.StringIO())
    except Exception as exc:  # xlrd raises many kinds (XLRDError, CompDocError, struct.error, IndexError …)
        raise GeoError(*damaged) from exc
    try:
        ws_name = _pick_sheet(book.sheet_names(), sheet)
        sh = book.sheet_by_name(ws_name)  # ncols counts formatted blank cells: widths are checked per row
        rows = _bounded_rows(([_xls_value(c, book.datemode) for c in sh.row(r)] for r in range(sh.nrows)), limits)
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
        raise GeoError(f"文件中没有图层。", f"the {what} holds no layer")
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
    header_len = struct.unpack("<H", head[8:10])[0]
    descriptors = fh.read(max(0, header_len - 32))
    names = b"".join(descriptors[i:i + 11].split(b"\0")[0] for i in range(0, len(descriptors) - 31, 32))
    return names + b" " + fh.read(_DBF_SAMPLE)


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
                dbf = [m for m in members if m.lower() == (stem + ".dbf").lower()]
                if dbf:
                    with zf.open(dbf[0]) as fh:  # streamed: only the header and a sample are expanded
                        sample = _check_dbf(fh, limits)
                    cpg = [m for m in members if m.lower() == (stem + ".cpg").lower()]
                    # a .cpg is a code page name: one of more than 64 bytes is not read
                    enc, note = _dbf_choice(sample, (zf.read(cpg[0]) if zf.getinfo(cpg[0]).file_size <= 64
                                                     else b"") if cpg else None)
                    _use_encoding(kwargs, notes, enc, note)
        except zipfile.BadZipFile as exc:
            raise GeoError("压缩文件损坏。", "the zip file is damaged") from exc
        except (NotImplementedError, RuntimeError) as exc:  # an unknown compression method, encryption
            raise GeoError(f"无法读取压缩包：{exc}", f"cannot read the zip: {exc}") from exc
        target = f"/vsizip/{path}/{stem}.shp"
    elif suffix == ".shp":
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
        feats = kml.read_kml(path, data, kmz=suffix == ".kmz", limits=limits)
    else:
        with _open_source(path, data) as fh:
            feats = gpx.read_waypoints(fh, limits)
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
