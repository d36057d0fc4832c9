"""Ledger intake: read a township's ledger (台账), check every row, then upsert it in one commit.

Ledgers arrive as Excel sheets typed by township staff, CSV files saved in GBK
by old office software, GeoJSON, zipped Shapefiles and GeoPackage layers.
Coordinates are often copied from a phone map (GCJ-02, ~580 m off here).

The pipeline is pure until the last step:

1. :func:`read_ledger` reads any of those formats into raw cells (nothing
   parsed yet) and remembers the row number each row had in the file;
2. :func:`auto_mapping` recognises Chinese (and English) headers;
3. :func:`prepare` parses and validates every cell and builds the rows to
   upsert plus the ``status_events`` they imply, with a per-row report
   (:class:`RowProblem`, in Chinese and English);
4. :func:`commit` writes rows and events in ONE ``Store.commit``, and refuses
   when any error was found, so a file with one bad row writes nothing.

The datum the coordinates were read in is recorded in the note of every
status event the import appends (``导入 ledger.xlsx 第5行；坐标系 GCJ02→WGS84``).
"""
from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from . import contract
from .contract import SITE_LAYERS, STATUS, STORE_CRS, TABLES
from .crs import DATUM_LABELS, DATUMS, to_wgs84, transform_geometry

#: Largest ledger the importer reads (bytes); the page enforces the same limit on uploads.
MAX_BYTES = 20 * 1024 * 1024

#: Layers a ledger can be imported into (key column, geometry kind from the contract).
IMPORT_LAYERS = ("enterprises", "kilns", "farms", "sampling_points", "townships", "rivers", "waterbodies")

# --- headers -----------------------------------------------------------------------------

#: Header spellings recognised for each target field (compared after NFKC, lower case, no spaces).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("编号", "id", "企业编号", "窑编号", "养殖场编号", "点位编号", "断面编号", "河流编号", "水体编号", "代码", "编码"),
    "code": ("编码", "代码", "行政区划代码", "区划代码", "乡镇代码", "code", "编号"),
    "name": ("名称", "企业名称", "单位名称", "养殖场名称", "场名", "窑名称", "窑名", "点位名称", "断面名称",
             "河流名称", "水体名称", "乡镇名称", "name"),
    "lon": ("经度", "lon", "lng", "long", "longitude", "x", "东经", "经度(e)"),
    "lat": ("纬度", "lat", "latitude", "y", "北纬", "纬度(n)"),
    "township": ("所属乡镇", "乡镇", "乡镇(街道)", "所属乡镇(街道)", "所在乡镇", "所在乡镇(街道)", "乡镇街道",
                 "街道", "township"),
    "industry": ("行业", "所属行业", "行业类别", "industry"),
    "species": ("畜种", "养殖品种", "品种", "养殖种类", "species"),
    "head_count": ("存栏量", "存栏", "存栏数", "存栏数量", "存栏头数", "head_count"),
    "status": ("状态", "整治状态", "当前状态", "整治进展", "status"),
    "village": ("村", "所属村", "行政村", "所在村", "village"),
    "kind": ("类型", "窑型", "种类", "kind"),
    "closed_on": ("关停时间", "关停日期", "关闭时间", "关闭日期", "closed_on"),
    "deadline": ("整改期限", "期限", "完成期限", "整治期限", "deadline"),
    "park": ("所在园区", "园区", "park"),
    "destination": ("搬迁去向", "去向", "搬迁地", "destination"),
    "department": ("结对部门", "联系部门", "department"),
    "committed_on": ("承诺签订日期", "签订承诺日期", "承诺日期", "committed_on"),
    "width_m": ("河宽", "河宽(米)", "宽度", "width_m"),
    "grade": ("等级", "河道等级", "grade"),
    "waterbody": ("水体", "水体类型", "waterbody"),
    "target_class": ("目标类别", "水质目标", "目标水质", "target_class"),
    "water_id": ("所在水体编号", "water_id"),
    "feature_id": ("排口所属企业", "feature_id"),
    "note": ("备注", "说明", "note"),
}

#: Fields that are not contract columns: coordinates, the ledger's township (checked, not stored), a note.
EXTRA_FIELDS = {
    "lon": ("经度", "longitude"), "lat": ("纬度", "latitude"),
    "township": ("所属乡镇", "township named in the ledger"), "note": ("备注", "note"),
}


def _norm_header(h) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(h))).lower()


def fields_of(layer: str) -> list[str]:
    """Target fields a ledger of ``layer`` may fill: contract columns plus coordinates, township, note."""
    spec = TABLES[layer]
    out = [c for c in spec.column_names if c != "approximate"]
    if spec.geometry == "Point":
        out += ["lon", "lat"]
    if layer in SITE_LAYERS or layer == "sampling_points":
        out += ["township"]
    if layer in SITE_LAYERS:
        out += ["note"]
    return out


def field_label(layer: str, target: str) -> str:
    """Chinese label of a target field (for mapping widgets and reports)."""
    if target in EXTRA_FIELDS:
        return EXTRA_FIELDS[target][0]
    col = TABLES[layer].column(target)
    return col.label or target


def auto_mapping(columns, layer: str) -> dict[str, str]:
    """Recognise the ledger's headers: ``{header: target field}`` for the ones understood.

    Exact spellings win; then a header with a bracketed unit (``存栏量（头）``)
    is matched without it. Each target takes the first header that matches.
    """
    allowed = fields_of(layer)
    lookup: dict[str, str] = {}
    for target in allowed:
        for alias in ALIASES.get(target, ()) + (target,):
            lookup.setdefault(_norm_header(alias), target)
    out: dict[str, str] = {}
    taken: set[str] = set()
    for exact in (True, False):
        for col in columns:
            if col in out:
                continue
            key = _norm_header(col)
            if not exact:
                key = re.sub(r"\(.*?\)|\[.*?\]", "", key)
            target = lookup.get(key)
            if target and target not in taken:
                out[col] = target
                taken.add(target)
    return {c: out[c] for c in columns if c in out}


# --- cell parsers ------------------------------------------------------------------------

STATUS_WORDS: dict[str, str] = {
    "在产": "operating", "生产": "operating", "在养": "operating", "正常生产": "operating", "生产中": "operating",
    "养殖中": "operating", "正常": "operating",
    "签订承诺": "committed", "承诺关停": "committed", "已签承诺": "committed", "已签订承诺": "committed",
    "停产整顿": "suspended", "停产": "suspended", "整顿": "suspended",
    "已关停": "closed", "关停": "closed", "已关闭": "closed", "关闭": "closed", "已拆除": "closed", "拆除": "closed",
    "搬迁": "relocated", "已搬迁": "relocated",
    "转产": "converted", "已转产": "converted",
    "治理中": "treating", "整治中": "treating", "正在治理": "treating",
    "已验收": "accepted", "通过验收": "accepted", "验收": "accepted",
    "改建": "rebuilt", "已改建": "rebuilt",
}

KIND_WORDS: dict[str, dict[str, str]] = {
    "kilns": {"窑": "kiln", "石灰窑": "kiln", "土窑": "kiln", "立窑": "kiln", "小石灰窑": "kiln",
              "棚": "shed", "石灰钙棚": "shed", "钙棚": "shed", "石灰棚": "shed"},
    "waterbodies": {"水库": "reservoir", "湖": "lake", "湖泊": "lake", "山塘": "pond", "池塘": "pond", "塘": "pond"},
    "sampling_points": {"断面": "section", "监测断面": "section", "排口": "outfall", "排污口": "outfall",
                        "排放口": "outfall"},
}
WATERBODY_WORDS = {"河流": "river", "河": "river", "江": "river", "溪": "river",
                   "湖库": "lake", "湖泊": "lake", "水库": "lake", "湖": "lake"}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5}


def _blank(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    if v is pd.NaT or (not isinstance(v, str) and pd.isna(v) is True):
        return True
    return isinstance(v, str) and v.strip() == ""


def _text(v) -> str:
    """A cell as clean text (Excel ids typed as numbers: 12.0 → '12')."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return unicodedata.normalize("NFKC", str(v)).strip() if isinstance(v, str) else str(v).strip()


def parse_status(value, layer: str) -> str | None:
    """The status code a ledger word stands for in ``layer`` (``None`` when unknown there)."""
    word = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value))).lower()
    labels = {v: k for k, v in contract.STATUS_LABELS.items()}
    labels.update({v: k for k, v in contract.STATUS_LABELS_BY_LAYER.get(layer, {}).items()})
    code = STATUS_WORDS.get(word) or labels.get(word) or word
    return code if code in STATUS.get(layer, ()) else None


def parse_code(value, layer: str, column: str) -> str | None:
    """A coded value (kinds, water body type) from a ledger word; ``None`` when not recognised."""
    word = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value))).lower()
    allowed = TABLES[layer].codes.get(column, ())
    words = WATERBODY_WORDS if column == "waterbody" else KIND_WORDS.get(layer, {})
    code = words.get(word, word)
    return code if code in allowed else None


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_MONTH_END_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*[底末]$")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def parse_date(value) -> pd.Timestamp | None:
    """A ledger date: ``2007-09-30``, ``2007/9/30``, ``2007年9月30日``, ``2007.9.30``, ``20070930``,
    ``2007年9月底`` (month end), an Excel date cell or an Excel day number; ``None`` when not a date."""
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)) and not pd.isna(value):
        return pd.Timestamp(value).normalize()
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        if v.is_integer() and 19000101 <= v <= 21001231:
            return parse_date(str(int(v)))
        if 1 <= v < 80000:  # an Excel serial day number that lost its date format
            return (_EXCEL_EPOCH + pd.Timedelta(days=int(v))).normalize()
        return None
    s = unicodedata.normalize("NFKC", str(value)).strip()
    m = _DATE_RE.match(s) or re.match(r"^(\d{4})(\d{2})(\d{2})$", s)
    try:
        if m:
            return pd.Timestamp(dt.date(int(m[1]), int(m[2]), int(m[3])))
        m = _MONTH_END_RE.match(s)
        if m:
            y, mo = int(m[1]), int(m[2])
            return pd.Timestamp(dt.date(y, mo, calendar.monthrange(y, mo)[1]))
    except ValueError:  # 2007-02-30
        return None
    return None


def parse_number(value) -> float | None:
    """A number from a cell: ``1,570``, ``1570头``, ``８０`` (full width), ``12.5米``; ``None`` otherwise."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        return v if np.isfinite(v) else None
    s = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    s = re.sub(r"\s*(头|只|羽|米|m|公里|km)$", "", s, flags=re.I)
    try:
        v = float(s)
    except ValueError:
        return None
    return v if np.isfinite(v) else None


_DMS_RE = re.compile(r"^([EWNS东西南北]?)\s*(\d+(?:\.\d+)?)\s*[°度]\s*(?:(\d+(?:\.\d+)?)\s*['′分])?\s*"
                     r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|''|′′|秒))?\s*([EWNS东西南北]?)$", re.I)


def parse_coord(value) -> float | None:
    """A coordinate in decimal degrees, or degrees-minutes-seconds (``118°57′43.2″``, ``118度57分43秒``)."""
    v = parse_number(value)
    if v is not None:
        return v
    s = unicodedata.normalize("NFKC", str(value)).strip()
    m = _DMS_RE.match(s)
    if not m:
        return None
    deg = float(m[2]) + float(m[3] or 0) / 60 + float(m[4] or 0) / 3600
    hemi = (m[1] or m[5] or "").upper()
    return -deg if hemi in ("W", "S", "西", "南") else deg


def parse_class(value) -> int | None:
    """A water quality class: ``3``, ``III``, ``Ⅲ类``, ``三类``."""
    s = unicodedata.normalize("NFKC", str(value)).strip().lower()
    s = re.sub(r"(类|class|级)", "", s).strip()
    v = parse_number(s)
    if v is not None:
        return int(v) if v.is_integer() and 1 <= v <= 5 else None
    return _ROMAN.get(s)


# --- reading files -----------------------------------------------------------------------

@dataclass
class Ledger:
    """Raw cells of one ledger table.

    ``frame`` holds the cells as read (object dtype, nothing parsed);
    ``row_numbers`` the row each had in the file (the spreadsheet row, or the
    feature number in a spatial file); ``geometry`` the features' geometries
    in EPSG:4326 for spatial files (``None`` for spreadsheets).
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    source: str
    geometry: gpd.GeoSeries | None = None
    encoding: str | None = None
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)


class IntakeError(ValueError):
    """A ledger that cannot be read at all (bilingual; the CLI prints it without a traceback)."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a CSV: UTF-8 (with or without BOM), then GB18030 (a superset of GBK/GB2312), else a guess.

    Trying strict decoders in this order is more reliable than statistical
    detection on short Chinese files, where GBK is often guessed as Big5.
    """
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc), ("utf-8" if enc == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf")
                                      else enc)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise IntakeError("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV。",
                          "cannot detect the text encoding; save the CSV as UTF-8 or GBK")
    return str(best), best.encoding


def _header_row(rows: list[list], layer: str | None) -> int:
    """Index of the header row: the one among the first 10 with most recognised headers (title rows skipped)."""
    best, best_n = 0, 0
    for i, row in enumerate(rows[:10]):
        cells = [c for c in row if not _blank(c)]
        n = len(auto_mapping([_text(c) for c in cells], layer or "enterprises")) if cells else 0
        if n > best_n:
            best, best_n = i, n
    return best


def _from_rows(rows: list[list], source: str, layer: str | None, first_row_number: int = 1) -> Ledger:
    """A ledger from a grid of cells (CSV rows or a worksheet), finding the header row."""
    rows = [list(r) for r in rows]
    while rows and all(_blank(c) for c in rows[-1]):
        rows.pop()
    if not rows:
        raise IntakeError("文件为空。", "the file is empty")
    h = _header_row(rows, layer)
    width = max(len(r) for r in rows)
    header = []
    for j in range(width):
        c = rows[h][j] if j < len(rows[h]) else None
        name = _text(c) if not _blank(c) else f"列{j + 1}"
        while name in header:  # two columns with one header: keep both, distinguishable
            name += "_2"
        header.append(name)
    body, numbers = [], []
    for i in range(h + 1, len(rows)):
        r = rows[i] + [None] * (width - len(rows[i]))
        if all(_blank(c) for c in r):
            continue  # blank separator lines are not rows
        body.append([None if _blank(c) else c for c in r])
        numbers.append(first_row_number + i)
    frame = pd.DataFrame(body, columns=header, dtype=object) if body else pd.DataFrame(columns=header, dtype=object)
    return Ledger(frame, np.asarray(numbers, dtype=int), source)


def read_ledger(path: str | Path, *, sheet: str | int | None = None, layer: str | None = None,
                name: str | None = None) -> Ledger:
    """Read a ledger file into raw cells.

    Parameters
    ----------
    path : the file (``.xlsx``, ``.csv``/``.txt``, ``.geojson``/``.json``, ``.zip`` holding a
        Shapefile, ``.shp``, ``.gpkg``).
    sheet : Excel sheet (name, or number counting from 1); for GeoPackage and zipped Shapefiles the
        layer (name, or number counting from 1). Default: the first sheet; the GeoPackage layer named
        like ``layer``, else the only one.
    layer : target layer, used to find the header row and the GeoPackage layer.
    name : the file's name as the user knows it (uploads are saved under a temporary name).
    """
    path = Path(path)
    source = name or path.name
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise IntakeError(f"文件过大（{size / 1e6:.1f} MB，上限 {MAX_BYTES / 1e6:.0f} MB）。",
                          f"file too large ({size / 1e6:.1f} MB; limit {MAX_BYTES / 1e6:.0f} MB)")
    suffix = Path(source).suffix.lower() or path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path, sheet, layer, source)
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path, layer, source)
    if suffix in (".geojson", ".json", ".gpkg", ".shp", ".zip"):
        return _read_spatial(path, suffix, sheet, layer, source)
    if suffix == ".xls":
        raise IntakeError("不支持旧版 .xls 文件，请在 Excel/WPS 中另存为 .xlsx。",
                          "old .xls files are not supported; save as .xlsx")
    raise IntakeError(f"不支持的文件类型“{suffix}”（支持 xlsx、csv、geojson、zip 压缩的 shapefile、gpkg）。",
                      f"unsupported file type {suffix!r} (xlsx, csv, geojson, zipped shapefile, gpkg)")


def _read_excel(path: Path, sheet, layer, source) -> Ledger:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise IntakeError(f"无法读取 Excel 文件：{exc}", f"cannot read the Excel file: {exc}") from exc
    try:
        names = wb.sheetnames
        if sheet is None or sheet == "":
            ws_name = names[0]
        elif str(sheet) in names:
            ws_name = str(sheet)
        elif str(sheet).isdigit() and 1 <= int(sheet) <= len(names):
            ws_name = names[int(sheet) - 1]
        else:
            raise IntakeError(f"没有工作表“{sheet}”（有：{'、'.join(names)}）。",
                              f"no sheet {sheet!r} (sheets: {', '.join(names)})")
        rows = [list(r) for r in wb[ws_name].iter_rows(values_only=True)]
    finally:
        wb.close()
    led = _from_rows(rows, source, layer)
    led.sheet = ws_name
    return led


def _read_csv(path: Path, layer, source) -> Ledger:
    text, enc = decode_text(path.read_bytes())
    first = text.split("\n", 1)[0]
    delim = max(",\t;", key=first.count) if any(d in first for d in ",\t;") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    led = _from_rows(rows, source, layer)
    led.encoding = enc
    return led


def _pick_layer(layers: list[str], sheet, layer, what: str) -> str:
    if sheet not in (None, ""):
        if str(sheet) in layers:
            return str(sheet)
        if str(sheet).isdigit() and 1 <= int(sheet) <= len(layers):
            return layers[int(sheet) - 1]
        raise IntakeError(f"没有图层“{sheet}”（有：{'、'.join(layers)}）。",
                          f"no layer {sheet!r} in the {what} (layers: {', '.join(layers)})")
    if layer in layers:
        return layer
    if len(layers) == 1:
        return layers[0]
    raise IntakeError(f"文件中有多个图层，请用 --sheet 指定：{'、'.join(layers)}。",
                      f"the {what} holds several layers; choose one with --sheet: {', '.join(layers)}")


def _dbf_encoding(data: bytes) -> str:
    """Encoding of a Shapefile's .dbf when no .cpg says: UTF-8 if it decodes, else GB18030 (GBK)."""
    try:
        data.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"


def _read_spatial(path: Path, suffix: str, sheet, layer, source) -> Ledger:
    kwargs: dict = {}
    target = str(path)
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                members = zf.namelist()
                shps = [m for m in members if m.lower().endswith(".shp") and not m.startswith("__MACOSX")]
                if not shps:
                    raise IntakeError("压缩包中没有 .shp 文件。", "the zip holds no .shp file")
                stems = [m[:-4] for m in shps]
                chosen = _pick_layer([Path(s).name for s in stems], sheet, layer, "zip")
                stem = stems[[Path(s).name for s in stems].index(chosen)]
                if not any(m.lower() == (stem + ".cpg").lower() for m in members):
                    dbf = [m for m in members if m.lower() == (stem + ".dbf").lower()]
                    if dbf:
                        kwargs["encoding"] = _dbf_encoding(zf.read(dbf[0]))
        except zipfile.BadZipFile as exc:
            raise IntakeError("压缩文件损坏。", "the zip file is damaged") from exc
        # GDAL reads inside the zip: nothing is extracted, so no member name becomes a path on disk.
        target = f"/vsizip/{path}/{stem}.shp"
    elif suffix == ".gpkg":
        layers = [str(r[0]) for r in pyogrio.list_layers(path)]
        kwargs["layer"] = _pick_layer(layers, sheet, layer, "GeoPackage")
    elif suffix == ".shp":
        cpg, dbf = path.with_suffix(".cpg"), path.with_suffix(".dbf")
        if not cpg.exists() and dbf.exists():
            kwargs["encoding"] = _dbf_encoding(dbf.read_bytes())
    try:
        gdf = pyogrio.read_dataframe(target, **kwargs)
    except Exception as exc:  # pyogrio/GDAL errors for unreadable data
        raise IntakeError(f"无法读取空间数据文件：{exc}", f"cannot read the spatial file: {exc}") from exc
    notes = []
    geom = None
    if isinstance(gdf, gpd.GeoDataFrame):
        geom = gdf.geometry
        if geom.crs is None:
            notes.append("文件未声明坐标系，按经纬度（EPSG:4326）读取 / no CRS in the file; read as lon/lat")
            geom = geom.set_crs(STORE_CRS)
        elif geom.crs.to_epsg() not in contract.ACCEPTED_EPSG:
            notes.append(f"已从 {geom.crs.to_string()} 转换为 EPSG:4326 / reprojected from {geom.crs.to_string()}")
            geom = geom.to_crs(STORE_CRS)
        else:
            geom = geom.set_crs(STORE_CRS, allow_override=True)
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    else:
        frame = pd.DataFrame(gdf)
    frame = frame.astype(object).where(frame.notna(), None)
    frame.columns = [str(c) for c in frame.columns]
    led = Ledger(frame.reset_index(drop=True), np.arange(1, len(frame) + 1), source,
                 geometry=None if geom is None else geom.reset_index(drop=True),
                 encoding=kwargs.get("encoding"), sheet=kwargs.get("layer"), notes=notes)
    return led


# --- validation --------------------------------------------------------------------------

@dataclass(frozen=True)
class RowProblem:
    """One finding about a ledger row (``row`` as numbered in the file; ``None`` for the whole file)."""

    row: int | None
    id: str
    column: str
    why_zh: str
    why: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        return (f"{'' if self.row is None else self.row}\t{self.id}\t{self.column}\t{self.severity}\t"
                f"{self.why_zh} / {self.why}")

    def as_dict(self) -> dict:
        return asdict(self)


REPORT_COLUMNS = {"row": "行号", "id": "编号", "column": "列", "severity": "级别", "why_zh": "问题", "why": "problem"}


@dataclass
class Intake:
    """The outcome of :func:`prepare`: what would be written, and why not if anything is wrong."""

    layer: str
    datum: str
    mapping: dict[str, str]
    rows: gpd.GeoDataFrame
    events: pd.DataFrame
    problems: list[RowProblem]
    new_ids: list[str] = field(default_factory=list)
    updated_ids: list[str] = field(default_factory=list)
    suggested_datum: str | None = None
    source: str = ""

    @property
    def errors(self) -> list[RowProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[RowProblem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def report(self) -> pd.DataFrame:
        """The per-row report as a table (Chinese headers), errors first."""
        df = pd.DataFrame([p.as_dict() for p in self.problems], columns=list(REPORT_COLUMNS))
        if len(df):
            df["row"] = df["row"].astype("Int64")
            df = df.sort_values(["severity", "row"], key=lambda s: s.map({"error": 0, "warning": 1})
                                if s.name == "severity" else s, na_position="first", kind="stable")
            df["severity"] = df["severity"].map({"error": "错误 error", "warning": "提示 warning"})
        return df.rename(columns=REPORT_COLUMNS).reset_index(drop=True)

    def summary(self) -> str:
        changes = len(self.events)
        return (f"新增 {len(self.new_ids)} 条，更新 {len(self.updated_ids)} 条，状态变更记录 {changes} 条；"
                f"错误 {len(self.errors)} 条，提示 {len(self.warnings)} 条 / "
                f"{len(self.new_ids)} new, {len(self.updated_ids)} updated, {changes} status event(s); "
                f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")


def _district(townships: gpd.GeoDataFrame | None):
    if townships is None or len(townships) == 0:
        return None
    return shapely.union_all(shapely.make_valid(townships.geometry.values))


def _township_at(lon: np.ndarray, lat: np.ndarray, townships: gpd.GeoDataFrame) -> np.ndarray:
    """Township name at each (lon, lat) (None outside all; first township wins on a border)."""
    from .spatial import township_of

    pts = gpd.GeoDataFrame(geometry=shapely.points(lon, lat), crs=STORE_CRS)
    return township_of(pts, townships).to_numpy(dtype=object)


def _same_township(named: str, actual) -> bool:
    if actual is None or actual is pd.NA:
        return False
    core = lambda s: re.sub(r"(街道|镇|乡|办事处)$", "", unicodedata.normalize("NFKC", s).strip())
    return core(named) == core(str(actual)) and core(named) != ""


class _Rows:
    """Per-row context while checking: row numbers, ids, headers, and the findings so far."""

    def __init__(self, layer: str, ledger: Ledger, src: dict[str, str], problems: list[RowProblem]):
        self.layer, self.ledger, self.src, self.problems = layer, ledger, src, problems
        self.n = len(ledger.frame)
        self.rownum = ledger.row_numbers
        self.rid = [""] * self.n

    def header(self, target: str) -> str:
        if target in self.src:
            return self.src[target]
        return field_label(self.layer, target) if target in fields_of(self.layer) else target

    def cell(self, target: str) -> pd.Series:
        if target in self.src:
            return self.ledger.frame[self.src[target]]
        return pd.Series([None] * self.n, index=self.ledger.frame.index, dtype=object)

    def has(self, target: str) -> bool:
        return target in self.src

    def one(self, i: int, target: str, zh: str, en: str, severity: str = "error") -> None:
        self.problems.append(RowProblem(int(self.rownum[i]), self.rid[i], self.header(target), zh, en, severity))

    def add(self, mask, target: str, zh: str, en: str, severity: str = "error") -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            self.one(i, target, zh, en, severity)


def prepare(ledger: Ledger, layer: str, *, townships: gpd.GeoDataFrame | None, existing: pd.DataFrame | None,
            events: pd.DataFrame | None = None, mapping: dict[str, str] | None = None, datum: str = "wgs84",
            user: str = "", now: dt.datetime | None = None, today: dt.date | None = None) -> Intake:
    """Parse and check every row of ``ledger`` for ``layer``; build the upsert and its status events.

    Parameters
    ----------
    ledger : from :func:`read_ledger`.
    layer : contract table to import into (see :data:`IMPORT_LAYERS`).
    townships : the district's townships (district outline and township checks); ``None`` skips them.
    existing : the layer as stored (ids found there are updates: columns the file lacks keep their
        stored values, and so do empty status or coordinate cells).
    events : ``status_events`` as stored (to keep ``status`` equal to the latest event).
    mapping : ``{header: target field}``; default :func:`auto_mapping`.
    datum : datum of the ledger's coordinates (:data:`geo.crs.DATUMS`).
    user : who imports (``recorded_by``).
    now, today : clock for ``recorded_at`` and the default ``effective_on`` (tests pass fixed values).

    Returns
    -------
    Intake
        ``rows`` and ``events`` are empty when any error was found.
    """
    if layer not in IMPORT_LAYERS:
        raise IntakeError(f"不能导入到图层“{layer}”（可导入：{'、'.join(IMPORT_LAYERS)}）。",
                          f"cannot import into {layer!r} (one of {', '.join(IMPORT_LAYERS)})")
    datum = datum.lower().replace("-", "").replace("_", "")
    if datum not in DATUMS:
        raise IntakeError(f"未知坐标系“{datum}”（可选：{'、'.join(DATUMS)}）。",
                          f"unknown datum {datum!r} (one of {', '.join(DATUMS)})")
    now = now or dt.datetime.now().replace(microsecond=0)
    today = today or now.date()
    spec = TABLES[layer]
    key = spec.key
    mapping = dict(auto_mapping(ledger.frame.columns, layer) if mapping is None else mapping)
    mapping = {c: t for c, t in mapping.items() if t and c in ledger.frame.columns}
    problems: list[RowProblem] = []

    def file_problem(col, zh, en, sev="error"):
        problems.append(RowProblem(None, "", col, zh, en, sev))

    def failed(suggested=None) -> Intake:
        return Intake(layer, datum, mapping, contract.empty(layer), contract.empty("status_events"), problems,
                      suggested_datum=suggested, source=ledger.source)

    for t in [t for t in mapping.values() if t not in fields_of(layer)]:
        file_problem(t, f"“{t}”不是{spec.label}图层的字段", f"{t!r} is not a field of {layer}")
    counts = pd.Series(list(mapping.values()), dtype=object).value_counts()
    for t in counts[counts > 1].index:
        file_problem(t, f"多列对应同一字段“{t}”", f"several columns map to {t!r}")
    for col in ledger.frame.columns:
        if col not in mapping:
            file_problem(col, "未识别的列，已忽略", "column not recognised; ignored", "warning")
    src = {t: c for c, t in mapping.items()}  # target → header
    r = _Rows(layer, ledger, src, problems)
    n = r.n
    if key not in src:
        file_problem(field_label(layer, key), f"缺少“{field_label(layer, key)}”列，无法按编号新增或更新",
                     f"no id column ({key}); rows cannot be matched")
    if spec.geometry and spec.geometry != "Point" and ledger.geometry is None:
        file_problem("geometry", f"{spec.label}需要带几何的空间数据文件（GeoJSON、shapefile、GeoPackage）",
                     f"{layer} needs a spatial file (GeoJSON, shapefile, GeoPackage)")
    if n == 0:
        file_problem("", "文件中没有数据行", "the file has no data rows")
    if any(p.severity == "error" for p in problems):
        return failed()

    ids = r.cell(key).map(lambda v: None if _blank(v) else _text(v)).to_numpy(dtype=object)
    r.rid = [i or "" for i in ids]
    # Ids: present, and once per file (a second row with one id is ambiguous, not an update).
    r.add([i is None for i in ids], key, "编号为空", "empty id")
    id_series = pd.Series(ids, dtype=object)
    dup = (id_series.notna() & id_series.duplicated(keep=False)).to_numpy()
    for i in np.flatnonzero(dup):
        others = [str(r.rownum[j]) for j in np.flatnonzero(id_series.to_numpy() == ids[i]) if j != i]
        r.one(i, key, f"编号在文件中重复（另见第{'、'.join(others)}行）",
              f"duplicate id in the file (also row {', '.join(others)})")
    stored = existing if existing is not None and len(existing) else contract.empty(layer)
    stored_ids = set(stored[key].dropna().astype(str)) if key in stored.columns else set()
    is_new = np.array([i is not None and i not in stored_ids for i in ids])

    values = _parse_values(r, is_new)
    geoms, raw_xy = _geometries(r, is_new, datum)
    district = _district(townships)
    suggested = None
    if district is not None and raw_xy is not None:
        suggested = _check_points(r, geoms, raw_xy, datum, townships, district)
    elif district is not None and spec.geometry and layer != "townships":
        ok = np.array([g is not None for g in geoms])
        r.add(ok & ~shapely.intersects(geoms, district), "geometry", "几何不在本区范围内",
              "geometry lies outside the district")
    name_col = "name" if "name" in spec.column_names else None
    if name_col in values and name_col in stored.columns and len(stored):
        # The same name under another id is probably the same site renumbered.
        by_name = dict(zip(stored[name_col].astype(str), stored[key].astype(str)))
        for i, nm in enumerate(values[name_col]):
            other = by_name.get(nm) if nm is not None else None
            if other is not None and other != ids[i]:
                r.one(i, name_col, f"库中已有同名点位（编号 {other}），请确认是否同一点位",
                      f"the store already holds this name under id {other}", "warning")
    if any(p.severity == "error" for p in problems):
        return failed(suggested)
    rows, new_events = _build(r, ids, is_new, values, geoms, stored, events, datum, user, now, today)
    return Intake(layer, datum, mapping, rows, new_events, problems,
                  [i for i, nw in zip(ids, is_new) if nw], [i for i, nw in zip(ids, is_new) if not nw],
                  suggested, ledger.source)


def _parse_values(r: _Rows, is_new: np.ndarray) -> dict[str, pd.Series]:
    """Every mapped contract column parsed to its kind; a finding for each cell that does not parse."""
    layer = r.layer
    spec = TABLES[layer]
    values: dict[str, pd.Series] = {}
    for col in spec.columns:
        t = col.name
        if t == spec.key:
            continue
        label = field_label(layer, t)
        if not r.has(t):
            if not col.nullable and t in spec.required_names:
                r.add(is_new, t, f"缺少“{label}”（新增点位必填）", f"{t} missing (required for new rows)")
            continue
        raw = r.cell(t)
        blank = raw.map(_blank).to_numpy(dtype=bool)
        shown = lambda i: _text(raw.iloc[i])
        if t in spec.codes:
            if t == "status" and layer in SITE_LAYERS:
                parse = lambda v: parse_status(v, layer)
            else:
                parse = lambda v, t=t: parse_code(v, layer, t)
            parsed = raw.map(lambda v: None if _blank(v) else parse(v)).astype(object)
            for i in np.flatnonzero(~blank & parsed.isna().to_numpy()):
                what = "状态" if t == "status" else label
                r.one(i, t, f"未知{what}“{shown(i)}”",
                      f"unknown {t} {shown(i)!r} for {layer} (expected {', '.join(spec.codes[t])})")
        elif col.kind == "str":
            parsed = raw.map(lambda v: None if _blank(v) else _text(v)).astype(object)
        elif col.kind in ("date", "datetime"):
            p = raw.map(lambda v: None if _blank(v) else parse_date(v))
            for i in np.flatnonzero(~blank & p.isna().to_numpy()):
                r.one(i, t, f"日期无法识别“{shown(i)}”", f"not a date: {shown(i)!r}")
            parsed = pd.to_datetime(p.astype(object), errors="coerce")
        elif col.kind in ("float", "int"):
            parser = parse_class if t == "target_class" else parse_number
            p = raw.map(lambda v: None if _blank(v) else parser(v))
            for i in np.flatnonzero(~blank & p.isna().to_numpy()):
                r.one(i, t, f"不是数字“{shown(i)}”", f"not a number: {shown(i)!r}")
            parsed = pd.to_numeric(p.astype(object), errors="coerce").astype("float64")
            if col.kind == "int":
                r.add((parsed.notna() & (parsed != np.round(parsed))).to_numpy(), t, "应为整数",
                      "not a whole number")
            r.add((parsed < 0).to_numpy(), t, "不能为负数", "negative value")
        elif col.kind == "bool":
            parsed = raw.map(lambda v: None if _blank(v) else str(v).strip().lower() in ("1", "true", "是", "yes"))
        else:  # pragma: no cover - every contract kind is handled above
            continue
        if not col.nullable:
            # New rows need a value; a stored row keeps its status when the cell is empty,
            # but an explicitly empty name is an error either way.
            need = is_new if t == "status" else np.ones(r.n, dtype=bool)
            r.add(blank & need, t, f"“{label}”为空", f"empty {t}")
        values[t] = parsed
    return values


def _geometries(r: _Rows, is_new: np.ndarray, datum: str):
    """Geometries converted to WGS84 (None where unusable) and, for points, the raw (x, y) as typed.

    Existing rows with no coordinates in the file keep their stored geometry
    (a status-only ledger is a valid update); new rows need coordinates.
    """
    spec = TABLES[r.layer]
    n = r.n
    geoms = np.full(n, None, dtype=object)
    if not spec.geometry:
        return geoms, None
    kind_zh = {"Point": "点", "LineString": "线", "Polygon": "面"}[spec.geometry]
    from_file = np.zeros(n, dtype=bool)
    if r.ledger.geometry is not None:
        g = np.asarray(r.ledger.geometry.values, dtype=object)
        present = ~(shapely.is_missing(g) | shapely.is_empty(g))
        from_file = present
        want = {"Point": (0,), "LineString": (1, 5), "Polygon": (3, 6)}[spec.geometry]
        type_ok = present & np.isin(shapely.get_type_id(g), want)
        finite = np.zeros(n, dtype=bool)
        if present.any():
            finite[present] = np.isfinite(shapely.bounds(g[present])).all(axis=1)
        valid = shapely.is_valid(g) & finite
        r.add(present & ~type_ok, "geometry", f"几何类型应为{kind_zh}", f"geometry must be a {spec.geometry}")
        for i in np.flatnonzero(type_ok & ~valid):
            reason = shapely.is_valid_reason(g[i]) if finite[i] else "non-finite coordinates"
            r.one(i, "geometry", f"几何无效：{reason}", f"invalid geometry: {reason}")
        good = type_ok & valid
        geoms[good] = g[good]
        if spec.geometry != "Point":
            r.add(~present & is_new, "geometry", "缺少几何", "missing geometry")
    if spec.geometry != "Point":
        ok = np.array([x is not None for x in geoms])
        if ok.any():
            geoms[ok] = transform_geometry(geoms[ok], lambda x, y: to_wgs84(x, y, datum))
        return geoms, None
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    ok = np.array([gg is not None for gg in geoms])
    if ok.any():
        x[ok], y[ok] = shapely.get_x(geoms[ok]), shapely.get_y(geoms[ok])
    need = ~from_file
    if r.has("lon") and r.has("lat"):
        for t, what in (("lon", ("经度", "longitude")), ("lat", ("纬度", "latitude"))):
            raw = r.cell(t)
            blank = raw.map(_blank).to_numpy(dtype=bool)
            val = raw.map(lambda v: None if _blank(v) else parse_coord(v)).astype(float).to_numpy()
            r.add(need & blank & is_new, t, f"缺少{what[0]}", f"missing {what[1]}")
            r.add(need & ~blank & np.isnan(val), t, f"{what[0]}不是数字", f"{what[1]} is not a number")
            (x if t == "lon" else y)[need] = val[need]
        half = need & (np.isnan(x) != np.isnan(y))
        r.add(half & ~is_new, "lon", "经度、纬度只填了一个", "only one of longitude and latitude given")
    else:
        r.add(need & is_new, "lon", "缺少坐标（经度、纬度）", "missing coordinates (longitude, latitude)")
    finite = np.isfinite(x) & np.isfinite(y)
    # lat > 90 with lon ≤ 90 is the usual swap: left to _check_points, which says so.
    in_range = finite & (np.abs(y) <= 90) & (np.abs(x) <= 180)
    swappable = finite & (np.abs(x) <= 90) & (np.abs(y) <= 180)
    r.add(finite & ~in_range & ~swappable, "lon", "坐标超出经纬度范围", "coordinates outside the lon/lat range")
    usable = finite & (in_range | swappable)
    geoms = np.full(n, None, dtype=object)
    if usable.any():
        wx, wy = to_wgs84(np.clip(x[usable], -180, 180), np.clip(y[usable], -90, 90), datum)
        geoms[usable] = shapely.points(wx, wy)
    return geoms, (x, y)


def _check_points(r: _Rows, geoms: np.ndarray, raw_xy, datum: str, townships, district) -> str | None:
    """District and township checks of point rows; returns a suggested datum or ``None``.

    A point outside the district that falls inside it with longitude and
    latitude exchanged (or whose "longitude" is 0–90 and "latitude" above 60)
    is reported as swapped; a point whose township differs from the one the
    ledger names is a warning, with a hint when reading it as GCJ-02 (or BD-09)
    would put it in the named township.
    """
    x, y = raw_xy
    idx = np.flatnonzero(np.array([g is not None for g in geoms]))
    if len(idx) == 0:
        return None
    x, y = x[idx], y[idx]
    shapely.prepare(district)
    wx, wy = shapely.get_x(geoms[idx]), shapely.get_y(geoms[idx])
    inside = shapely.contains_xy(district, wx, wy) & (np.abs(y) <= 90)
    obvious = (x >= 0) & (x <= 90) & (y > 60)
    sx, sy = to_wgs84(np.clip(y, -180, 180), np.clip(x, -90, 90), datum)
    swapped = ~inside & (obvious | shapely.contains_xy(district, sx, sy))
    for k in np.flatnonzero(swapped):
        r.one(idx[k], "lat", "经纬度可能填反（两列互换后才在本区内）",
              "latitude and longitude look swapped (the point fits the district only when exchanged)")
    alt = {d: to_wgs84(x, y, d) for d in ("gcj02", "bd09") if d != datum}
    for k in np.flatnonzero(~inside & ~swapped):
        hint_zh, hint_en = "", ""
        for d, (ax, ay) in alt.items():
            if shapely.contains_xy(district, ax[k], ay[k]):
                hint_zh = f"；按 {d.upper()} 转换后在区内，请确认坐标系（--crs {d}）"
                hint_en = f"; read as {d.upper()} it lies inside: check the datum (--crs {d})"
                break
        r.one(idx[k], "lon", f"点位不在本区范围内{hint_zh}", f"point lies outside the district{hint_en}")
    if not r.has("township"):
        return None
    named = r.cell("township").to_numpy(dtype=object)[idx]
    has_name = np.array([not _blank(v) for v in named]) & inside
    if not has_name.any():
        return None
    actual = _township_at(wx, wy, townships)
    alt_tw = {d: _township_at(ax, ay, townships) for d, (ax, ay) in alt.items()}
    explained: dict[str, int] = {}
    mismatched = 0
    for k in np.flatnonzero(has_name):
        nm = _text(named[k])
        if _same_township(nm, actual[k]):
            continue
        mismatched += 1
        hint_zh, hint_en = "", ""
        for d, tw in alt_tw.items():
            if _same_township(nm, tw[k]):
                explained[d] = explained.get(d, 0) + 1
                hint_zh = f"；若坐标取自{DATUM_LABELS[d]}，按 {d.upper()} 转换后正好落在{nm}，建议按 --crs {d} 导入"
                hint_en = f"; read as {d.upper()} the point falls in {nm}: import with --crs {d}"
                break
        here = actual[k] if isinstance(actual[k], str) else "无"
        r.one(idx[k], "township", f"台账所填乡镇“{nm}”与点位所在乡镇“{here}”不一致{hint_zh}",
              f"the ledger's township {nm!r} differs from the point's township {here!r}{hint_en}", "warning")
    if explained:
        best = max(explained, key=explained.get)
        if explained[best] * 2 >= mismatched:
            r.problems.append(RowProblem(
                None, "", r.header("township"),
                f"{explained[best]} 个点位按 {best.upper()} 转换后与台账乡镇一致，坐标很可能抄自手机地图，"
                f"建议选择坐标系 {best}",
                f"{explained[best]} point(s) match the ledger's township when read as {best.upper()}: the "
                f"coordinates were probably copied from a phone map; choose datum {best}", "warning"))
            return best
    return None


def _build(r: _Rows, ids, is_new, values, geoms, stored, events, datum, user, now, today):
    """The rows to upsert (stored rows merged with the file's columns) and the status events they imply."""
    layer = r.layer
    spec = TABLES[layer]
    key = spec.key
    idx = pd.Index(ids, dtype=object)
    old = stored.set_index(stored[key].astype(str)).reindex(idx) if len(stored) else None
    cols = [c for c in spec.column_names if c != key]
    extra = [c for c in (stored.columns if old is not None else []) if c not in spec.column_names and c != "geometry"]
    merged = pd.DataFrame({key: list(ids)}, dtype=object)
    for c in cols + extra:
        new = values.get(c)
        prev = old[c].reset_index(drop=True) if old is not None and c in old.columns else None
        if new is None and prev is None:
            continue
        if new is None:
            merged[c] = prev
        elif prev is not None and c == "status":
            merged[c] = new.astype(object).where(new.notna(), prev.astype(object))
        else:
            merged[c] = new.reset_index(drop=True)
    if spec.geometry:
        geom = np.asarray(geoms, dtype=object).copy()
        if old is not None:
            keep = np.array([g is None for g in geom]) & ~is_new
            geom[keep] = np.asarray(old["geometry"].values, dtype=object)[keep]
        rows = gpd.GeoDataFrame(merged, geometry=gpd.GeoSeries(list(geom), crs=STORE_CRS), crs=STORE_CRS)
    else:
        rows = merged
    rows = contract.coerce(layer, rows)
    ev = _events_for(r, rows, ids, is_new, old, events, datum, user, now, today)
    return rows, ev


def _events_for(r: _Rows, rows, ids, is_new, old, events, datum, user, now, today) -> pd.DataFrame:
    """One event per new site and per status change; ``status`` then set to the latest event.

    ``effective_on`` is the ledger's closure date for closures (commitment date
    for commitments) when given, else ``today``.
    """
    layer = r.layer
    if layer not in SITE_LAYERS or "status" not in rows.columns:
        return contract.empty("status_events")
    from .history import status_on

    old_status = old["status"].to_numpy(dtype=object) if old is not None else np.full(r.n, None, dtype=object)
    notes = r.cell("note").to_numpy(dtype=object)
    datum_note = {"wgs84": "WGS84", "cgcs2000": "CGCS2000"}.get(datum, f"{datum.upper()}→WGS84")
    # Plain arrays: this loop runs once per row and pandas scalar access would dominate it.
    status = rows["status"].to_numpy(dtype=object)
    dates = {c: rows[c].to_numpy() if c in rows.columns else None for c in ("closed_on", "committed_on")}
    recs = []
    for i in range(r.n):
        st = status[i]
        if not is_new[i] and st == old_status[i]:
            continue
        eff = pd.Timestamp(today)
        for code, col in (("closed", "closed_on"), ("committed", "committed_on")):
            if st == code and dates[col] is not None and not pd.isna(dates[col][i]):
                eff = pd.Timestamp(dates[col][i])
        note = f"导入 {r.ledger.source} 第{r.rownum[i]}行；坐标系 {datum_note}"
        if not _blank(notes[i]):
            note += f"；{_text(notes[i])}"
        recs.append({"layer": layer, "feature_id": ids[i], "status": st, "effective_on": eff,
                     "recorded_at": pd.Timestamp(now), "recorded_by": user, "note": note})
    ev = contract.coerce("status_events", pd.DataFrame(recs, columns=TABLES["status_events"].column_names))
    if len(ev) and events is not None and len(events):
        # An event dated before a later recorded one does not become the current status.
        latest = status_on(pd.concat([events, ev], ignore_index=True), layer)
        pos = {fid: k for k, fid in enumerate(ids)}
        for fid in ev["feature_id"]:
            k = pos[fid]
            now_status = latest.get(fid)
            if now_status is not None and now_status != rows.at[k, "status"]:
                r.one(k, "status", f"台账状态的生效日期早于已有的状态记录，当前状态仍为“"
                                   f"{contract.status_label(now_status, layer)}”",
                      f"the ledger's status is dated before a later recorded event; the current status stays "
                      f"{now_status!r}", "warning")
                rows.at[k, "status"] = now_status
    return ev


# --- store -------------------------------------------------------------------------------

def prepare_for_store(store, ledger: Ledger, layer: str, **kwargs) -> Intake:
    """:func:`prepare` with the townships, layer and events read from ``store``."""
    return prepare(ledger, layer, townships=store.read("townships"), existing=store.read(layer),
                   events=store.read("status_events"), **kwargs)


def commit(store, intake: Intake) -> None:
    """Write ``intake`` in one ``Store.commit``: the upsert and its status events, or nothing at all.

    ``store`` may be a store or a unit of :meth:`geo.store.Store.atomic` (then the rows should have been
    prepared from that unit's reads; rows prepared earlier may carry values changed since).
    """
    from .store import Change

    if not intake.ok:
        raise IntakeError(f"有 {len(intake.errors)} 个错误，未写入任何数据。",
                          f"{len(intake.errors)} error(s); nothing was written")
    if len(intake.rows) == 0:
        return
    changes = [Change(intake.layer, intake.rows, "upsert")]
    if len(intake.events):
        changes.append(Change("status_events", intake.events, "append"))
    store.commit(changes)


def import_file(store, layer: str, path: str | Path, *, datum: str = "wgs84", sheet=None, user: str,
                dry_run: bool = False, mapping: dict[str, str] | None = None, name: str | None = None,
                now: dt.datetime | None = None, today: dt.date | None = None) -> Intake:
    """Read, check and (unless ``dry_run`` or any error) commit a ledger file."""
    if not user or not str(user).strip():
        raise IntakeError("必须指明导入人（--user）。", "the importing user is required (--user)")
    ledger = read_ledger(path, sheet=sheet, layer=layer, name=name)

    def check_and_write(source) -> Intake:
        # source: the store (dry run) or the write unit: then the rows are prepared from what is stored
        # under the writer lock and written before anyone else writes (no lost update).
        intake = prepare_for_store(source, ledger, layer, mapping=mapping, datum=datum, user=str(user).strip(),
                                   now=now, today=today)
        for note in ledger.notes:
            intake.problems.insert(0, RowProblem(None, "", "", note.split(" / ")[0], note.split(" / ")[-1],
                                                 "warning"))
        if intake.ok and not dry_run:
            commit(source, intake)
        return intake

    return check_and_write(store) if dry_run else store.atomic(check_and_write)


# --- command line ------------------------------------------------------------------------

def add_cli(sub) -> None:
    from .cli import add_store_arg

    p = sub.add_parser(
        "import", help="import a ledger (xlsx, csv, geojson, zipped shapefile, gpkg) / 导入台账",
        description="Check every row of a ledger and upsert it by id in one commit; any error writes nothing. "
                    "Shell use is trusted: --user is recorded as the author of every status event "
                    "(the web page asks for a password instead).")
    add_store_arg(p)
    p.add_argument("--layer", required=True, choices=IMPORT_LAYERS, help="target layer / 目标图层")
    p.add_argument("--file", required=True, help="ledger file / 台账文件")
    p.add_argument("--crs", default="wgs84", choices=DATUMS,
                   help="datum of the coordinates (gcj02: copied from Amap/Tencent; bd09: Baidu) / 坐标系")
    p.add_argument("--sheet", help="Excel sheet or GeoPackage/zip layer (name or number from 1) / 工作表")
    p.add_argument("--dry-run", action="store_true", help="check only, write nothing / 只检查不写入")
    p.add_argument("--user", required=True, help="who imports (recorded in status_events) / 导入人")
    p.set_defaults(func=_cli)


def _cli(args) -> int:
    import sys

    from .auth import check_cli_user
    from .cli import UserError, store_from

    check_cli_user(args.user, "import")
    store = store_from(args)
    try:
        intake = import_file(store, args.layer, args.file, datum=args.crs, sheet=args.sheet, user=args.user,
                             dry_run=args.dry_run)
    except IntakeError as exc:
        raise UserError(exc.zh, exc.en) from exc
    if intake.problems:
        print("行号/row\t编号/id\t列/column\t级别/severity\t问题/problem")
        for p in sorted(intake.problems, key=lambda p: (p.severity != "error", p.row or 0)):
            print(p)
    print(intake.summary(), file=sys.stderr)
    if not intake.ok:
        print("未写入任何数据。 Nothing was written.", file=sys.stderr)
        return 1
    if args.dry_run:
        print("试运行：未写入。 Dry run: nothing was written.", file=sys.stderr)
    else:
        print(f"已写入 {store.url}。 Written.", file=sys.stderr)
    return 0
