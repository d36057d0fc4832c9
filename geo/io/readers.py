"""Read an uploaded or imported table: xlsx, CSV, GeoJSON, zipped Shapefile, GeoPackage.

One reader for every import of the project (ledgers, lab files, the water
command line). :func:`read_table` takes a path, bytes or an uploaded file and
returns a :class:`Table`: the raw cells (nothing parsed: cells are parsed by
:mod:`geo.io.cells`), the row number each row had in the file, the geometry of
spatial files, and which headers matched which canonical columns.

- **CSV** in UTF-8 (with or without BOM), GBK or GB18030 (:func:`decode_text`:
  strict decoders first, then charset-normalizer), comma, tab or semicolon
  separated.
- **xlsx**: streamed with openpyxl's read-only mode (formulas read as their
  cached values); a sheet by name or number from 1.
- **Spatial** (GeoJSON, ``.zip`` holding a Shapefile, ``.shp``, GeoPackage):
  read by GDAL inside the zip (nothing is extracted, so no member name becomes a
  path on disk); a ``.dbf`` without ``.cpg`` is UTF-8 when it decodes, else
  GB18030. Geometries come back in ``crs`` (reprojected with a note when the
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
from .cells import blank, norm_key, text
from .limits import Limits

__all__ = ["Table", "read_table", "match_headers", "find_header", "decode_text", "FORMATS", "HEADER_SCAN"]

#: File suffixes per format.
FORMATS = {
    "xlsx": (".xlsx", ".xlsm"),
    "csv": (".csv", ".txt", ".tsv"),
    "geojson": (".geojson", ".json"),
    "shapefile": (".zip", ".shp"),
    "gpkg": (".gpkg",),
}
#: Rows searched for the header (title rows above it are skipped).
HEADER_SCAN = 20
#: Bytes of a .dbf read to guess its encoding.
_DBF_SAMPLE = 1 << 20


@dataclass
class Table:
    """Raw cells of one table.

    ``frame`` holds the cells as read (object dtype, nothing parsed, blanks as
    ``None``; headers as written, trimmed); ``row_numbers`` the row each had in
    the file (the spreadsheet or text line, or the feature number of a spatial
    file); ``geometry`` the features' geometries (``None`` for spreadsheets);
    ``matched`` ``{header: canonical column}`` for the headers recognised.
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    source: str
    geometry: object | None = None  # a GeoSeries for spatial files
    encoding: str | None = None
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)
    matched: dict[str, str] = field(default_factory=dict)


# --- header matching -------------------------------------------------------------------------

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
    if not suffix:  # bytes without a name: an xlsx is a zip, anything else is read as text
        return "xlsx" if head[:4] == b"PK\x03\x04" else "csv"
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
    sheet : xlsx sheet, or GeoPackage / zip layer: a name, or a number counting from 1. Default: the
        first sheet; the GeoPackage layer named ``layer_hint``, else the only one.
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
    if suffix == ".xls":
        raise GeoError("不支持旧版 .xls 文件，请在 Excel/WPS 中另存为 .xlsx。",
                       "old .xls files are not supported; save as .xlsx")
    if fmt not in allowed:
        names = {"xlsx": "xlsx", "csv": "csv", "geojson": "geojson", "shapefile": "zip 压缩的 shapefile",
                 "gpkg": "gpkg"}
        names_en = {"shapefile": "zipped shapefile"}
        raise GeoError(f"不支持的文件类型“{suffix or '无扩展名'}”（支持 {'、'.join(names[f] for f in allowed)}）。",
                       f"unsupported file type {suffix!r} ({', '.join(names_en.get(f, f) for f in allowed)})")
    if fmt in ("xlsx", "csv"):
        if fmt == "xlsx":
            rows, sheet_name = _xlsx_rows(path if path is not None else io.BytesIO(data), sheet, limits)
            encoding = None
        else:
            textdata, encoding = decode_text(data if data is not None else path.read_bytes())
            rows, sheet_name = _csv_rows(textdata, limits), None
        table = _from_rows(rows, source, aliases, limits)
        table.encoding, table.sheet = encoding, sheet_name
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


def _xlsx_rows(src, sheet, limits: Limits) -> tuple[list[list], str]:
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
        names = wb.sheetnames
        if sheet is None or sheet == "":
            ws_name = names[0]
        elif str(sheet) in names:
            ws_name = str(sheet)
        elif str(sheet).isdigit() and 1 <= int(sheet) <= len(names):
            ws_name = names[int(sheet) - 1]
        else:
            raise GeoError(f"没有工作表“{sheet}”（有：{'、'.join(names)}）。",
                           f"no sheet {sheet!r} (sheets: {', '.join(names)})")
        ws = wb[ws_name]
        # The declared dimension may be absent or wrong (A1:XFD1048576): read rows as they are.
        ws.reset_dimensions()
        rows = _bounded_rows(ws.iter_rows(values_only=True), limits)
    except (GeoError, LimitError):
        raise
    except Exception as exc:  # a damaged sheet
        raise GeoError(f"无法读取 Excel 文件：{exc}", f"cannot read the Excel file: {exc}") from exc
    finally:
        wb.close()
    return rows, ws_name


def _from_rows(rows: list[list], source: str, aliases, limits: Limits) -> Table:
    """A table from a grid of cells (CSV rows or a worksheet), finding the header row."""
    while rows and all(blank(c) for c in rows[-1]):
        rows.pop()
    if not rows:
        raise GeoError("文件为空。", "the file is empty")
    h = find_header(rows, aliases)
    width = max(len(r) for r in rows)
    header: list[str] = []
    for j in range(width):
        c = rows[h][j] if j < len(rows[h]) else None
        name = text(c) if not blank(c) else f"列{j + 1}"
        while name in header:  # two columns with one header: keep both, distinguishable
            name += "_2"
        header.append(name)
    body, numbers = [], []
    for i in range(h + 1, len(rows)):
        r = rows[i] + [None] * (width - len(rows[i]))
        if all(blank(c) for c in r):
            continue  # blank separator lines are not rows
        body.append([None if blank(c) else c for c in r])
        numbers.append(i + 1)  # spreadsheet / text line numbering from 1
    limits.check_rows(len(body))
    frame = pd.DataFrame(body, columns=header, dtype=object) if body else pd.DataFrame(columns=header, dtype=object)
    return Table(frame, np.asarray(numbers, dtype=int), source)


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
    import codecs

    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"


def _check_dbf(fh, limits: Limits) -> bytes:
    """Check a .dbf's declared rows and columns; returns a sample of its records for the encoding."""
    records, nfields = _dbf_header(fh.read(32))
    limits.check_columns(nfields)
    limits.check_rows(records)
    return fh.read(_DBF_SAMPLE)


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
                    if not any(m.lower() == (stem + ".cpg").lower() for m in members):
                        kwargs["encoding"] = _dbf_encoding(sample)
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
            if not cpg.exists():
                kwargs["encoding"] = _dbf_encoding(sample)
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
    except Exception as exc:  # pyogrio/GDAL errors for unreadable data
        raise GeoError(f"无法读取空间数据文件：{exc}", f"cannot read the spatial file: {exc}") from exc
    limits.check_rows(len(gdf))
    import geopandas as gpd

    notes = []
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
