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
   (:class:`Finding`, in Chinese and English);
4. :func:`commit` writes rows and events in ONE ``Store.commit``, and refuses
   when any error was found, so a file with one bad row writes nothing.

Every row is classified (:class:`RowChange`): **new** (an id not stored),
**updated** (a stored site the row would change; the report lists each field
that changes, old → new) or **unchanged** (the row says what is stored).
Unchanged rows are not written at all, and of updated rows only the columns
that change are written when the store supports partial upserts
(``Change.columns``; whole rows otherwise).

Updating stored sites is a choice: ``update_existing`` (CLI
``--update-existing``, the 更新已有点位 box on /data, off by default). Without
it a ledger in which any row would change a stored site is **refused whole**:
the updated rows are listed in the report and nothing is written, not even the
new rows. A ledger is applied whole or not at all (like a ledger with one bad
row), so no half-applied ledger has to be reconciled later; the user re-runs it
with the choice made.

Lost updates: :func:`import_file` prepares and writes in one unit (see
:func:`_in_one_unit`), and the web page, which shows a preview first, commits
with :func:`commit_if_unchanged`: the ledger is prepared again from the stored
file bytes against the store as it is now and written only when the outcome is
the preview the user confirmed (:meth:`Intake.fingerprint`); otherwise the page
says the data changed and shows the new preview.

The datum the coordinates were read in is recorded in the note of every
status event the import appends (``导入 ledger.xlsx 第5行；坐标系 GCJ02→WGS84``).

Files are read, and cells parsed, by :mod:`geo.io` (within the ``[limits]`` of
qingshan.toml). Names, villages and notes are stored as written (trimmed
only); ids follow the one rule of :func:`geo.io.cells.normalise_id`, and an id
that equals a stored or another row's id only after that rule (``ＫＬ００２``
and ``KL002``) is reported as an error, never merged. The report lists the first
``max_report_lines`` findings of each kind and the totals.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .. import contract
from ..contract import SITE_LAYERS, STATUS, STORE_CRS, TABLES
from ..crs import DATUM_LABELS, parse_datum, to_wgs84, transform_geometry
from ..errors import GeoError
from ..io import cells, coords, readers
from ..io.cells import normalise_id, parse_class, parse_coord, parse_date, parse_number  # noqa: F401 (re-exported)
from ..io.limits import Limits
from ..io.readers import decode_text  # noqa: F401 (re-exported)
from . import datum as datums
from .report import Finding, bounded_findings, report_frame

# The size, row and column limits of a ledger are ``[limits]`` in qingshan.toml (geo.io.limits).

#: Layers a ledger can be imported into (key column, geometry kind from the contract).
IMPORT_LAYERS = ("enterprises", "kilns", "farms", "sampling_points", "townships", "rivers", "waterbodies")

# --- headers -----------------------------------------------------------------------------

#: Header spellings recognised for each target field (compared after NFKC, lower case, no spaces).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("编号", "id", "企业编号", "窑编号", "养殖场编号", "点位编号", "断面编号", "河流编号", "水体编号", "代码", "编码"),
    "code": ("编码", "代码", "行政区划代码", "区划代码", "乡镇代码", "code", "编号"),
    "name": ("名称", "企业名称", "单位名称", "养殖场名称", "场名", "窑名称", "窑名", "点位名称", "断面名称",
             "河流名称", "水体名称", "乡镇名称", "name"),
    # X/Y may be Gauss–Krüger metres in either order (surveyors' X is the northing): geo.io.coords sorts it out
    "lon": ("经度", "lon", "lng", "long", "longitude", "x", "东经", "经度(e)", "x坐标", "坐标x", "东坐标", "横坐标",
            "地理位置经度", "中心经度"),
    "lat": ("纬度", "lat", "latitude", "y", "北纬", "纬度(n)", "y坐标", "坐标y", "北坐标", "纵坐标",
            "地理位置纬度", "中心纬度"),
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


def aliases_of(layer: str) -> dict[str, tuple[str, ...]]:
    """``{target field: accepted headers}`` for a ledger of ``layer`` (for :func:`geo.io.readers.match_headers`)."""
    return {t: ALIASES.get(t, ()) for t in fields_of(layer)}


def auto_mapping(columns, layer: str) -> dict[str, str]:
    """Recognise the ledger's headers: ``{header: target field}`` for the ones understood.

    Exact spellings win; then a header with a bracketed unit (``存栏量（头）``)
    is matched without it. Each target takes the first header that matches. Coordinates split into
    度/分/秒 columns (``经度(度)``, ``经度(分)``, ``经度(秒)``) map the degrees column to ``lon``/``lat``
    (the pipeline reads all three; :func:`geo.io.coords.split_dms_columns`), never the degrees alone.
    """
    columns = list(columns)
    split = coords.split_dms_columns(columns)
    parts = {c for t in ("lon", "lat") if t in split for c in split[t] if c}
    found = readers.match_headers([c for c in columns if c not in parts], aliases_of(layer))
    if "lon" in split and "lat" in split:
        found = {c: t for c, t in found.items() if t not in ("lon", "lat")}
        found.update({split["lon"][0]: "lon", split["lat"][0]: "lat"})
    return found


def parse_mapping(spec, layer: str) -> dict[str, str]:
    """A column mapping written by a person: ``编码=id,乡(镇)=township`` or a ``{header: target}`` dict.

    The same ``{header as written in the file: target field}`` the /data page's mapping table makes (and
    offers as a file), so a mapping chosen on the page can be used from a shell (``--map``, ``--map-file``).
    A target may be the field's code (``id``), its Chinese label (``编号``) or any header spelling the
    ledger intake knows for it (``企业编号``); ``-`` or ``忽略`` ignores the column.

    Raises
    ------
    geo.errors.GeoError : a pair without ``=`` or a target that is no field of ``layer``.
    """
    if isinstance(spec, dict):
        pairs = list(spec.items())
    else:
        pairs = []
        for part in re.split(r"[,，;；\n]+", str(spec or "")):
            if not part.strip():
                continue
            if "=" not in part:
                raise GeoError(f"列对应“{part.strip()}”应写成“文件列=字段”", f"mapping {part.strip()!r} must be header=field")
            head, target = part.rsplit("=", 1)
            pairs.append((head.strip(), target.strip()))
    targets = fields_of(layer)
    by_word = {cells.norm_key(t): t for t in targets}
    by_word.update({cells.norm_key(field_label(layer, t)): t for t in targets})
    for t, words in aliases_of(layer).items():
        for w in words:
            by_word.setdefault(cells.norm_key(w), t)
    out: dict[str, str] = {}
    for head, target in pairs:
        key = cells.norm_key(target)
        if key in ("-", "忽略", "ignore", ""):
            continue
        if key not in by_word:
            raise GeoError(f"列对应“{head}={target}”：“{target}”不是{TABLES[layer].label}的字段（可用：{'、'.join(targets)}）",
                           f"mapping {head}={target}: {target!r} is not a field of {layer} ({', '.join(targets)})")
        out[str(head)] = by_word[key]
    return out


def read_mapping_file(path) -> dict[str, str] | str:
    """A saved mapping for :func:`parse_mapping`: JSON ``{"文件列": "字段"}`` (the /data page's download),
    else the file's text (lines ``文件列=字段``)."""
    import json

    text, _ = decode_text(Path(path).read_bytes()[:1 << 20])
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise GeoError("列对应文件应为 JSON 对象 {\"文件列\": \"字段\"}", "a mapping file must be a JSON object "
                       "{\"header\": \"field\"}")
    return data


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

_blank = cells.blank
#: A cell as text: trimmed, otherwise as written (names, villages and notes are stored verbatim).
_text = cells.text


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


def _target_class(value) -> int | None:
    """A target class is Ⅰ–Ⅴ (劣Ⅴ is a result, never a target)."""
    c = parse_class(value)
    return c if c is not None and c <= 5 else None


# --- reading files -----------------------------------------------------------------------

#: Raw cells of one ledger table (see :class:`geo.io.readers.Table`).
Ledger = readers.Table


class IntakeError(GeoError):
    """A ledger that cannot be read at all (bilingual; the CLI prints it without a traceback)."""


def read_ledger(path, *, sheet: str | int | None = None, layer: str | None = None,
                name: str | None = None, limits: Limits | None = None) -> Ledger:
    """Read a ledger file into raw cells (:func:`geo.io.readers.read_table`).

    Parameters
    ----------
    path : the file (``.xlsx``, ``.csv``/``.txt``, ``.geojson``/``.json``, ``.zip`` holding a
        Shapefile, ``.shp``, ``.gpkg``), or its bytes.
    sheet : Excel sheet (name, or number counting from 1); for GeoPackage and zipped Shapefiles the
        layer (name, or number counting from 1). Default: the first sheet; the GeoPackage layer named
        like ``layer``, else the only one.
    layer : target layer, used to find the header row and the GeoPackage layer.
    name : the file's name as the user knows it (uploads are saved under a temporary name).
    limits : size, row and column limits (default: ``[limits]`` of qingshan.toml), checked before the
        file is expanded; a site ledger's rows by ``max_ledger_rows`` (:meth:`Limits.for_ledger`).
    """
    if layer is None or layer in SITE_LAYERS:
        limits = (limits or Limits.current()).for_ledger()
    try:
        return readers.read_table(path, name=name, sheet=sheet, aliases=aliases_of(layer or "enterprises"),
                                  limits=limits, crs=STORE_CRS, accepted_epsg=contract.ACCEPTED_EPSG,
                                  layer_hint=layer)
    except GeoError as exc:
        raise IntakeError(exc.zh, exc.en) from exc


# --- validation --------------------------------------------------------------------------


#: How a ledger row relates to the store (shown in the report in Chinese and English).
KIND_LABELS = {"new": "新增 new", "updated": "更新 updated", "unchanged": "不变 unchanged"}
CHANGE_COLUMNS = {"row": "行号", "id": "编号", "kind": "类别", "changes": "变更 (原 → 新)"}


@dataclass(frozen=True)
class FieldChange:
    """One field an import changes in a stored row, as the user reads it (``old``/``new`` are display text)."""

    column: str
    label: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.label}：{self.old} → {self.new}"


@dataclass(frozen=True)
class RowChange:
    """A ledger row's class: ``new``, ``updated`` (with the fields that change) or ``unchanged``."""

    row: int
    id: str
    kind: str
    fields: tuple[FieldChange, ...] = ()

    def __str__(self) -> str:
        return f"{self.row}\t{self.id}\t{KIND_LABELS[self.kind]}\t{'；'.join(map(str, self.fields))}"


@dataclass
class Intake:
    """The outcome of :func:`prepare`: what would be written, and why not if anything is wrong."""

    layer: str
    datum: str
    mapping: dict[str, str]
    #: The rows to write: new and updated rows only (unchanged rows are never written).
    rows: gpd.GeoDataFrame
    events: pd.DataFrame
    problems: list[Finding]
    new_ids: list[str] = field(default_factory=list)
    #: Stored sites the ledger changes (written only with ``update_existing``).
    updated_ids: list[str] = field(default_factory=list)
    suggested_datum: str | None = None
    source: str = ""
    #: Findings per severity before the report was bounded (``{"error": n, "warning": m}``).
    totals: dict[str, int] = field(default_factory=dict)
    #: Stored sites the ledger repeats as they are.
    unchanged_ids: list[str] = field(default_factory=list)
    #: Every row's class, in file order (empty when the rows could not be checked).
    changes: list[RowChange] = field(default_factory=list)
    #: Whether the user chose to update stored sites.
    update_existing: bool = False
    #: Columns written to updated rows (``None``: whole rows; new rows are always written whole).
    columns: list[str] | None = None
    #: File rows left out by the user's choice "good rows only" (``skip_bad_rows``).
    skipped_rows: list[int] = field(default_factory=list)
    #: Every change the import makes to a stored row, one ``edits`` row per field (who, when, from which
    #: file row, old → new, a point's move in metres): the history of what is not a status (:func:`_edit_rows`).
    edits: pd.DataFrame = field(default_factory=lambda: contract.empty("edits"))

    def __post_init__(self):
        # A bounded report: the first N findings of each kind, then one line with the kind's total
        # ([limits] max_report_lines), so a file of a million bad rows gives a report one can read.
        self.unbounded = list(self.problems)
        self.totals = {sev: sum(p.severity == sev for p in self.problems) for sev in ("error", "warning")}
        self.problems = bounded_findings(self.problems)

    @property
    def error_rows(self) -> list[int]:
        """Every file row with an error (the report may list only the first of each kind)."""
        return sorted({p.row for p in self.unbounded if p.severity == "error" and p.row is not None})

    @property
    def errors(self) -> list[Finding]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def skipped(self) -> list[Finding]:
        """Findings of the rows left out by "good rows only"."""
        return [p for p in self.problems if p.severity == "skipped"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def report(self) -> pd.DataFrame:
        """The per-row report as a table (Chinese headers), errors first."""
        return report_frame(self.problems)

    def changes_report(self, limit: int | None = None) -> pd.DataFrame:
        """Every row's class as a table (Chinese headers): updated rows first, then new, then unchanged.

        ``limit`` lists at most that many rows of each class, then one line with the class's total
        (default: ``[limits] max_report_lines``; ``0`` lists every row).
        """
        limit = Limits.current().max_report_lines if limit is None else limit
        recs = []
        for kind in ("updated", "new", "unchanged"):
            of_kind = [c for c in self.changes if c.kind == kind]
            shown = of_kind if not limit else of_kind[:limit]
            recs += [{"row": c.row, "id": c.id, "kind": KIND_LABELS[kind], "changes": "；".join(map(str, c.fields))}
                     for c in shown]
            if len(shown) < len(of_kind):
                more = len(of_kind) - len(shown)
                recs.append({"row": None, "id": "", "kind": KIND_LABELS[kind],
                             "changes": f"另有 {more:,} 行未列出（共 {len(of_kind):,} 行） / "
                                        f"{more:,} more row(s) not listed ({len(of_kind):,} in all)"})
        df = pd.DataFrame(recs, columns=list(CHANGE_COLUMNS))
        df["row"] = df["row"].astype("Int64")
        return df.rename(columns=CHANGE_COLUMNS)

    def fingerprint(self) -> str:
        """A digest of everything this import would write and report (not the clock of ``recorded_at``).

        Two preparations of one file give the same fingerprint exactly when they would write the same
        rows and events and show the same report: the web page compares the one the user confirmed
        with the one prepared at commit (:func:`commit_if_unchanged`).
        """
        h = hashlib.sha256()
        h.update(repr((self.layer, self.datum, self.update_existing, self.columns,
                       [(p.row, p.id, p.column, p.severity, p.why_zh) for p in self.problems],
                       [(c.row, c.id, c.kind, c.fields) for c in self.changes])).encode("utf-8"))
        _digest(h, self.rows)
        _digest(h, self.events.drop(columns=["recorded_at"], errors="ignore"))
        _digest(h, self.edits.drop(columns=["recorded_at"], errors="ignore"))
        return h.hexdigest()

    def summary(self) -> str:
        changes = len(self.events)
        n_err = max(self.totals.get("error", 0), len(self.errors))
        n_warn = max(self.totals.get("warning", 0), len(self.warnings))
        n_new, n_upd, n_same = len(self.new_ids), len(self.updated_ids), len(self.unchanged_ids)
        n_skip = len(self.skipped_rows)
        skip_zh = f"跳过有错误的行 {n_skip} 行；" if n_skip else ""
        skip_en = f"{n_skip} row(s) with errors skipped; " if n_skip else ""
        n_edits = len(self.edits)
        return (f"新增 {n_new} 条，更新 {n_upd} 条，不变 {n_same} 条，状态变更记录 {changes} 条，修改记录 {n_edits} 条；"
                f"{skip_zh}错误 {n_err} 条，提示 {n_warn} 条 / "
                f"{n_new} new, {n_upd} updated, {n_same} unchanged, {changes} status event(s), {n_edits} field "
                f"change(s) recorded; {skip_en}{n_err} error(s), {n_warn} warning(s)")


def _digest(h, df: pd.DataFrame) -> None:
    """Feed ``df`` (columns, values and geometries) into the hash ``h``."""
    h.update(repr((len(df), list(df.columns))).encode("utf-8"))
    if len(df) == 0:
        return
    plain = pd.DataFrame(df.drop(columns="geometry", errors="ignore")).astype(str)
    h.update(pd.util.hash_pandas_object(plain, index=False).to_numpy().tobytes())
    if "geometry" in df.columns:
        wkb = shapely.to_wkb(np.asarray(df["geometry"].values, dtype=object))
        h.update(b"|".join(b"-" if w is None else w for w in wkb))


def _district(townships: gpd.GeoDataFrame | None):
    if townships is None or len(townships) == 0:
        return None
    return shapely.union_all(shapely.make_valid(townships.geometry.values))


def _township_at(lon: np.ndarray, lat: np.ndarray, townships: gpd.GeoDataFrame) -> np.ndarray:
    """Township name at each (lon, lat) (None outside all; first township wins on a border)."""
    from ..spatial import township_of

    pts = gpd.GeoDataFrame(geometry=shapely.points(lon, lat), crs=STORE_CRS)
    return township_of(pts, townships).to_numpy(dtype=object)


def _town_core(name: str) -> str:
    """A township's name without its kind (``樟潭街道`` → ``樟潭``): ledgers write either."""
    return re.sub(r"(街道办事处|街道|镇|乡|办事处)$", "", unicodedata.normalize("NFKC", str(name)).strip())


def _same_township(named: str, actual) -> bool:
    if actual is None or actual is pd.NA:
        return False
    return _town_core(named) == _town_core(str(actual)) and _town_core(named) != ""


class _Rows:
    """Per-row context while checking: row numbers, ids, headers, and the findings so far."""

    def __init__(self, layer: str, ledger: Ledger, src: dict[str, str], problems: list[Finding]):
        self.layer, self.ledger, self.src, self.problems = layer, ledger, src, problems
        self.n = len(ledger.frame)
        self.rownum = ledger.row_numbers
        self.rid = [""] * self.n
        self.labels: dict[str, str] = {}  # made columns (ids from 序号) → the header the user knows

    def header(self, target: str) -> str:
        if target in self.src:
            return self.labels.get(self.src[target], self.src[target])
        return field_label(self.layer, target) if target in fields_of(self.layer) else target

    def cell(self, target: str) -> pd.Series:
        if target in self.src:
            return self.ledger.frame[self.src[target]]
        return pd.Series([None] * self.n, index=self.ledger.frame.index, dtype=object)

    def has(self, target: str) -> bool:
        return target in self.src

    def one(self, i: int, target: str, zh: str, en: str, severity: str = "error") -> None:
        self.problems.append(Finding(int(self.rownum[i]), self.rid[i], self.header(target), zh, en, severity))

    def add(self, mask, target: str, zh: str, en: str, severity: str = "error") -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            self.one(i, target, zh, en, severity)


def prepare(ledger: Ledger, layer: str, *, townships: gpd.GeoDataFrame | None, existing: pd.DataFrame | None,
            events: pd.DataFrame | None = None, mapping: dict[str, str] | None = None, datum: str | None = None,
            user: str = "", now: dt.datetime | None = None, today: dt.date | None = None,
            update_existing: bool = False, latest: dt.date | None = None, confirm_datum: bool = False,
            gk_zone: str | None = None, skip_bad_rows: bool = False) -> Intake:
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
    datum : datum of the ledger's coordinates (any spelling :func:`geo.crs.parse_datum` knows). Required
        for coordinates typed into a table and for KML/GPX (:mod:`geo.intake.datum`): without it the
        import is refused, with what the data suggest. GIS files declare their CRS; Gauss–Krüger metres
        are CGCS2000.
    confirm_datum : the user confirms ``datum`` although the data point to another (stored sites the
        ledger repeats sitting ~580 m off, townships matching only under another datum).
    gk_zone : the Gauss–Krüger zone of projected coordinates when the magnitudes cannot tell it
        (``"3:40"``, ``"6:20"``, ``"cm:120"``; see :func:`geo.io.coords.detect_projected`).
    skip_bad_rows : import the good rows only: rows with an error are left out and listed (severity
        ``skipped``); findings about the whole file still refuse it. Default: all or nothing.
    user : who imports (``recorded_by``).
    now, today : clock for ``recorded_at`` and the default ``effective_on`` (tests pass fixed values).
    update_existing : the user's choice to change stored sites. Without it, a ledger in which any row
        would change a stored site gets one error (the updated rows are listed in ``changes``) and
        nothing of it is written, new rows included.
    latest : the last date a closure or commitment may carry (default ``today``; a replay store's
        ``as_of``, see :func:`geo.datecheck.latest_allowed`), and the ``effective_on`` of status changes
        the ledger gives no date for. Deadlines may lie ahead.

    Returns
    -------
    Intake
        ``rows`` (new and updated rows only) and ``events`` are empty when any error was found;
        ``changes`` classifies every row once the rows could be checked.
    """
    if layer not in IMPORT_LAYERS:
        raise IntakeError(f"不能导入到图层“{layer}”（可导入：{'、'.join(IMPORT_LAYERS)}）。",
                          f"cannot import into {layer!r} (one of {', '.join(IMPORT_LAYERS)})")
    if skip_bad_rows:
        return _good_rows_only(ledger, layer, dict(townships=townships, existing=existing, events=events,
                                                   mapping=mapping, datum=datum, user=user, now=now, today=today,
                                                   update_existing=update_existing, latest=latest,
                                                   confirm_datum=confirm_datum, gk_zone=gk_zone))
    chosen = parse_datum(datum) if datum is not None and str(datum).strip() else None
    declared = datums.declared_by_file(ledger.source, ledger.geometry is not None)
    # the checks below need some datum; without a stated one the import is refused at the end
    datum = chosen or declared or "wgs84"
    now = now or dt.datetime.now().replace(microsecond=0)
    today = today or now.date()
    spec = TABLES[layer]
    key = spec.key
    mapping = dict(auto_mapping(ledger.frame.columns, layer) if mapping is None else mapping)
    mapping = {c: t for c, t in mapping.items() if t and c in ledger.frame.columns}
    problems: list[Finding] = []

    def file_problem(col, zh, en, sev="error"):
        problems.append(Finding(None, "", col, zh, en, sev))

    def failed(suggested=None) -> Intake:
        return Intake(layer, datum, mapping, contract.empty(layer), contract.empty("status_events"), problems,
                      suggested_datum=suggested, source=ledger.source)

    for row, zh, en in ledger.skipped:
        problems.append(Finding(int(row), "", "", f"已跳过：{zh}", f"left out: {en}", "warning"))
    for col, n_filled in ledger.merged_down.items():
        file_problem(col, f"合并单元格已向下填充 {n_filled} 格（按所在合并区域的值）",
                     f"{n_filled} merged cell(s) filled down from their merged range", "warning")

    for t in [t for t in mapping.values() if t not in fields_of(layer)]:
        file_problem(t, f"“{t}”不是{spec.label}图层的字段", f"{t!r} is not a field of {layer}")
    counts = pd.Series(list(mapping.values()), dtype=object).value_counts()
    for t in counts[counts > 1].index:
        file_problem(t, f"多列对应同一字段“{t}”", f"several columns map to {t!r}")
    split = coords.split_dms_columns(list(ledger.frame.columns))
    dms_parts = {c for t in ("lon", "lat") if t in split for c in split[t] if c}
    for col in ledger.frame.columns:
        if col not in mapping and col not in dms_parts:
            file_problem(col, "未识别的列，已忽略", "column not recognised; ignored", "warning")
    src = {t: c for c, t in mapping.items()}  # target → header
    r = _Rows(layer, ledger, src, problems)
    n = r.n
    derive_ids = key not in src and layer in SITE_LAYERS and "name" in src
    if key not in src and not derive_ids:
        file_problem(field_label(layer, key), f"缺少“{field_label(layer, key)}”列，无法按编号新增或更新",
                     f"no id column ({key}); rows cannot be matched")
    if spec.geometry and spec.geometry != "Point" and ledger.geometry is None:
        file_problem("geometry", f"{spec.label}需要带几何的空间数据文件（GeoJSON、shapefile、GeoPackage）",
                     f"{layer} needs a spatial file (GeoJSON, shapefile, GeoPackage)")
    if n == 0:
        file_problem("", "文件中没有数据行", "the file has no data rows")
    if any(p.severity == "error" for p in problems):
        return failed()

    # control characters out of every cell read, before anything parses them (reported once ids are known)
    controls = _strip_controls(r, {**mapping, **{c: t for t in ("lon", "lat") if t in split for c in split[t] if c}})
    stored = existing if existing is not None and len(existing) else contract.empty(layer)
    stored_ids = set(stored[key].dropna().astype(str)) if key in stored.columns else set()
    if derive_ids:
        _derive_ids(r, key, stored, townships)
    ids = _ids(r, key, stored_ids)
    for target, removed in controls.items():
        if target == key:  # an id is changed by normalise_id's rule only: refused, not cleaned into another
            r.add(removed, key, *cells.CONTROLS_IN_ID)
        else:
            r.add(removed, target, *cells.CONTROLS_REMOVED, "warning")
    is_new = np.array([i is not None and i not in stored_ids for i in ids])

    values = _parse_values(r, is_new)
    latest = min(latest or today, today)
    _refuse_future_dates(r, values, latest, today)
    district = _district(townships)
    geoms, raw_xy, projected = _geometries(r, is_new, datum, district=district, gk_zone=gk_zone)
    if projected is not None:
        if chosen is not None and not datums.same_datum(chosen, "cgcs2000"):
            file_problem(r.header("lon"), f"坐标为{projected.label}，属 CGCS2000，不能按 {DATUM_LABELS[chosen]} 解读",
                         f"the coordinates are {projected.epsg} Gauss-Krüger metres (CGCS2000), not {chosen}")
            return failed()
        file_problem(r.header("lon"), f"坐标为{projected.label}，已用 pyproj 转换为经纬度",
                     f"projected coordinates (EPSG:{projected.epsg}) converted to lon/lat with pyproj", "warning")
        chosen = datum = "cgcs2000"
    found: list[datums.Evidence] = []
    if district is not None and raw_xy is not None and projected is None:
        found.append(_check_points(r, geoms, raw_xy, datum, townships, district))
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
    # Which datum: stated, declared by the file, or projected metres; and what the data say of it.
    if raw_xy is not None and projected is None:
        found.append(_stored_evidence(raw_xy, ids, is_new, stored, key, datum))
    found.append(datums.header_evidence(ledger.frame.columns, ledger.notes))
    against = [e for e in found if e is not None and not datums.same_datum(e.datum, datum)]
    suggested = against[0].datum if against else None
    stated = chosen or declared
    typed = raw_xy is not None and bool(np.isfinite(raw_xy[0]).any())
    if spec.geometry == "Point" and typed and stated is None:
        file_problem(r.header("lon"), *datums.not_stated(ledger.source, against[0] if against else None))
    elif spec.geometry and not confirm_datum and any(e.strong for e in against):
        file_problem(r.header("lon"), *datums.contradicted(datum, next(e for e in against if e.strong)))
    if any(p.severity == "error" for p in problems):
        return failed(suggested)
    # a status change without a date of its own takes effect on the store's date (a replay store's as_of)
    datum_note = projected.label if projected is not None else \
        {"wgs84": "WGS84", "cgcs2000": "CGCS2000"}.get(datum, f"{datum.upper()}→WGS84")
    rows, new_events = _build(r, ids, is_new, values, geoms, stored, events, datum_note, user, now, latest)
    changes, changed, diffs = _classify(r, ids, is_new, rows, stored, new_events)
    updated = np.array([c.kind == "updated" for c in changes], dtype=bool)
    by_kind = {k: [c.id for c in changes if c.kind == k] for k in KIND_LABELS}
    edits = contract.empty("edits")
    if updated.any() and not update_existing:
        what = spec.label or layer
        file_problem(r.header(key),
                     f"{int(updated.sum()):,} 行将修改库中已有的{what}（报告中“更新”的行，列出了原值和新值），"
                     f"未选择“更新已有点位”，整个台账未写入（新增的行也未写入）；确认要修改时请勾选“更新已有点位”"
                     f"（命令行 --update-existing）后重新导入",
                     f"{int(updated.sum()):,} row(s) would change stored {layer} (listed as updated, old → new); "
                     f"'update existing' was not chosen, so nothing of the ledger was written (new rows "
                     f"neither): to apply the changes choose 'update existing' (--update-existing)")
        rows, new_events = contract.empty(layer), contract.empty("status_events")
    else:
        edits = _edit_rows(r, changes, diffs, datum_note, user, now)
        rows = rows[(is_new | updated)].reset_index(drop=True)
    columns = [c for c in [*rows.columns] if c in changed] if updated.any() else None
    return Intake(layer, datum, mapping, rows, new_events, problems, by_kind["new"], by_kind["updated"],
                  suggested, ledger.source, unchanged_ids=by_kind["unchanged"], changes=changes,
                  update_existing=update_existing, columns=columns, edits=edits)


def _stored_evidence(raw_xy, ids, is_new, stored, key: str, datum: str) -> datums.Evidence | None:
    """What the stored sites the ledger repeats say of its datum (:func:`geo.intake.datum.stored_evidence`)."""
    if not len(stored) or "geometry" not in stored.columns:
        return None
    x, y = raw_xy
    again = ~is_new & np.array([i is not None for i in ids]) & np.isfinite(x) & np.isfinite(y)
    if not again.any():
        return None
    g = stored.set_index(stored[key].astype(str))["geometry"]
    g = g[~g.index.duplicated()].reindex(pd.Index(ids[again], dtype=object))
    pts = np.asarray(g.values, dtype=object)
    point = np.array([p is not None for p in pts]) & np.isin(shapely.get_type_id(pts), [0])
    if not point.any():
        return None
    return datums.stored_evidence(x[again][point], y[again][point],
                                  (shapely.get_x(pts[point]), shapely.get_y(pts[point])), datum)


#: Id prefixes of ids made for ledgers without an id column (序号 only), by layer.
DERIVED_PREFIX = {"enterprises": "QY", "kilns": "YL", "farms": "YZ"}


#: Targets read as multi-line text (TAB and line breaks kept when control characters are removed).
MULTILINE_FIELDS = frozenset({"note"})


def _strip_controls(r: "_Rows", columns: dict[str, str]) -> dict[str, np.ndarray]:
    """Control characters removed from the cells of ``columns`` (``{header: target}``) by
    :func:`geo.io.cells.strip_controls`; per target, the rows that held any (to report)."""
    frame = r.ledger.frame
    new, found = {}, {}
    for col, target in columns.items():
        if col not in frame.columns:
            continue
        before = frame[col]
        cleaned, removed = cells.strip_controls(before, multiline=target in MULTILINE_FIELDS)
        if cleaned is not before:
            new[col] = cleaned
        if removed.any():
            found[target] = found[target] | removed if target in found else removed
    if new:
        r.ledger = dataclasses.replace(r.ledger, frame=frame.assign(**new))
    return found


def _derive_ids(r: "_Rows", key: str, stored, townships) -> None:
    """Ids for a ledger whose only key is 序号: a stored site of the same name in the same township keeps
    its id; any other row gets an id made from its layer, township and name, so the same ledger imported
    again (or next month's, renumbered) gives the same ids. Every made id is reported."""
    name = r.cell("name").map(lambda v: "" if _blank(v) else _text(v))
    town = r.cell("township").map(lambda v: "" if _blank(v) else _text(v)) if r.has("township") else \
        pd.Series([""] * r.n, index=name.index)
    known: dict[tuple[str, str], str] = {}
    if len(stored) and "name" in stored.columns:
        from ..spatial import township_of

        names = stored["name"].astype(str).str.strip().to_numpy()
        if townships is not None and len(townships) and "geometry" in stored.columns:
            tw = township_of(stored, townships).fillna("").astype(str).to_numpy()
        else:
            tw = np.full(len(stored), "", dtype=object)
        sid = stored[key].astype(str).to_numpy()
        unique_name = pd.Series(names).map(pd.Series(names).value_counts()).to_numpy() == 1
        for i, nm in enumerate(names):
            known.setdefault((nm, tw[i]), sid[i])
            known.setdefault((nm, _town_core(tw[i])), sid[i])
            if unique_name[i]:
                known.setdefault((nm, ""), sid[i])  # a name the store holds once: matched without a township
    prefix = DERIVED_PREFIX.get(r.layer, r.layer[:2].upper())
    made = []
    for nm, tw in zip(name.tolist(), town.tolist()):
        if not nm:
            made.append(None)
            continue
        hit = known.get((nm, tw)) or known.get((nm, _town_core(tw))) or (known.get((nm, "")) if not tw else None)
        made.append(hit or f"{prefix}-{hashlib.sha1(f'{r.layer}|{tw}|{nm}'.encode()).hexdigest()[:8].upper()}")
    col = "__derived_id__"
    r.ledger = dataclasses.replace(r.ledger, frame=r.ledger.frame.assign(**{col: made}))
    r.src[key] = col
    r.labels[col] = "序号"
    for i, v in enumerate(made):
        if v is not None:
            r.one(i, key, f"台账无编号列：按名称“{name.iloc[i]}”{'与乡镇“' + town.iloc[i] + '”' if town.iloc[i] else ''}"
                          f"确定编号 {v}（再次导入同一台账得到同一编号）",
                  f"no id column: id {v} from the name{' and township' if town.iloc[i] else ''} (the same ledger "
                  f"imported again gets the same id)", "warning")


def _good_rows_only(ledger: Ledger, layer: str, kwargs: dict) -> Intake:
    """:func:`prepare` of the rows without an error: the rows with one are left out and listed.

    Findings about the whole file (a missing column, no datum, stored sites changed without
    ``update_existing``) still refuse it: only rows can be skipped, not a wrong file.
    """
    first = prepare(ledger, layer, **kwargs)
    bad = set(first.error_rows)
    if first.ok or not bad or any(p.row is None for p in first.errors):
        return first
    keep = ~np.isin(np.asarray(ledger.row_numbers), sorted(bad))
    geometry = ledger.geometry
    if geometry is not None:
        geometry = geometry[keep].reset_index(drop=True)
    subset = dataclasses.replace(ledger, frame=ledger.frame[keep].reset_index(drop=True),
                                 row_numbers=np.asarray(ledger.row_numbers)[keep], geometry=geometry)
    second = prepare(subset, layer, **kwargs)
    skipped = [dataclasses.replace(p, severity="skipped") for p in first.unbounded if p.row in bad
               and p.severity == "error"]
    note = Finding(None, "", "", f"按“只导入无误的行”跳过 {len(bad):,} 行（均列于报告，级别“已跳过”），其余 "
                                 f"{int(keep.sum()):,} 行照常检查",
                   f"'good rows only': {len(bad):,} row(s) with errors left out (listed as skipped); the other "
                   f"{int(keep.sum()):,} row(s) checked as usual", "warning")
    second.problems = bounded_findings([note, *skipped, *second.unbounded])
    second.totals["skipped"] = len(skipped)
    second.skipped_rows = sorted(bad)
    return second


def _ids(r: "_Rows", key: str, stored_ids: set[str]) -> np.ndarray:
    """The id of every row by the rule of :func:`geo.io.cells.normalise_id`, with its findings.

    An id written exactly as a stored one updates that site. Otherwise the row's id is the normalised
    one (NFKC, trimmed, upper case), and an id that equals a stored id or another row's id only after
    that rule (``ＫＬ００２`` next to ``KL002``) is a collision: reported, never merged.
    """
    raw = r.cell(key).map(lambda v: None if _blank(v) else _text(v)).to_numpy(dtype=object)
    r.rid = [i or "" for i in raw]
    stored_norm: dict[str, str] = {}
    for sid in stored_ids:
        stored_norm.setdefault(normalise_id(sid), sid)
    ids = np.array([None if v is None else (v if v in stored_ids else normalise_id(v)) for v in raw], dtype=object)
    r.add([i is None for i in ids], key, "编号为空", "empty id")
    for i in np.flatnonzero([v is not None and v not in stored_ids and ids[k] != v for k, v in enumerate(raw)]):
        other = stored_norm.get(ids[i])
        if other is not None:
            r.one(i, key, f"编号“{raw[i]}”与已有点位“{other}”仅在全角/半角、大小写或空格上不同，未合并；"
                          f"更新该点位请按原样填写“{other}”",
                  f"id {raw[i]!r} differs from the stored id {other!r} only by full-width characters, case or "
                  f"spaces; not merged: to update that site write {other!r} exactly")
            ids[i] = None  # reported: neither new nor an update
        else:
            r.one(i, key, f"编号“{raw[i]}”按规则（全角转半角、去空格、大写）记为“{ids[i]}”",
                  f"id {raw[i]!r} is stored as {ids[i]!r} (full-width to ASCII, trimmed, upper case)", "warning")
    # Once per file: a second row with one id is ambiguous, not an update.
    norm = pd.Series([None if v is None else normalise_id(v) for v in raw], dtype=object)
    dup = (norm.notna() & norm.duplicated(keep=False)).to_numpy()
    for i in np.flatnonzero(dup):
        same = [j for j in np.flatnonzero(norm.to_numpy() == norm[i]) if j != i]
        others = "、".join(str(r.rownum[j]) for j in same)
        if all(raw[j] == raw[i] for j in same):
            r.one(i, key, f"编号在文件中重复（另见第{others}行）",
                  f"duplicate id in the file (also row {others.replace('、', ', ')})")
        else:
            r.one(i, key, f"编号“{raw[i]}”与第{others}行的编号只在全角/半角、大小写或空格上不同",
                  f"id {raw[i]!r} equals the id of row {others.replace('、', ', ')} after normalisation "
                  f"(full-width, case, spaces)")
    return ids


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
        shown = lambda i, raw=raw: _text(raw.iloc[i])
        if t in spec.codes:
            if t == "status" and layer in SITE_LAYERS:
                parse = lambda v: parse_status(v, layer)
            else:
                parse = lambda v, t=t: parse_code(v, layer, t)
            parsed = raw.map(lambda v, parse=parse: None if _blank(v) else parse(v)).astype(object)
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
            parser = _target_class if t == "target_class" else parse_number
            p = raw.map(lambda v, parser=parser: None if _blank(v) else parser(v))
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


def _refuse_future_dates(r: _Rows, values: dict[str, pd.Series], limit: dt.date, today: dt.date) -> None:
    """A finding for each closure or commitment date after ``limit`` (deadlines may lie ahead)."""
    from ..datecheck import EVENT_DATE_COLUMNS, future_message, is_future

    for t in EVENT_DATE_COLUMNS:
        if t not in values:
            continue
        label = field_label(r.layer, t)
        for i, v in enumerate(values[t].tolist()):
            if is_future(v, limit):
                r.one(i, t, *future_message(label, t, v, limit, today))


def _geometries(r: _Rows, is_new: np.ndarray, datum: str, *, district=None, gk_zone: str | None = None):
    """Geometries converted to WGS84 (None where unusable), the raw (x, y) of points as typed, and the
    Gauss–Krüger zone when the coordinates are projected metres (:class:`geo.io.coords.Projected`).

    Existing rows with no coordinates in the file keep their stored geometry
    (a status-only ledger is a valid update); new rows need coordinates. Coordinates come from the
    file's geometry, from longitude and latitude columns (decimal or any DMS spelling), from 度/分/秒
    in separate columns, or from Gauss–Krüger X/Y metres (zone found from the magnitudes).
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
        return geoms, None, None
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    ok = np.array([gg is not None for gg in geoms])
    if ok.any():
        x[ok], y[ok] = shapely.get_x(geoms[ok]), shapely.get_y(geoms[ok])
    need = ~from_file
    split = coords.split_dms_columns(list(r.ledger.frame.columns))
    if "lon" in split and "lat" in split:
        for t, what in (("lon", ("经度", "longitude")), ("lat", ("纬度", "latitude"))):
            parts = [r.ledger.frame[c].to_numpy(dtype=object) if c else np.full(n, None, dtype=object)
                     for c in split[t]]
            val, bad = coords.combine_dms(*parts)
            blank = _blank_mask(parts[0])
            head = "、".join(c for c in split[t] if c)
            r.add(need & blank & is_new, t, f"缺少{what[0]}（{head}）", f"missing {what[1]} ({head})")
            for i in np.flatnonzero(need & ~blank & bad):
                cells_shown = "/".join("" if _blank(p[i]) else _text(p[i]) for p in parts)
                r.one(i, t, f"{what[0]}“{cells_shown}”（{head}）不是有效的度/分/秒",
                      f"{what[1]} {cells_shown!r} is not valid degrees/minutes/seconds")
            (x if t == "lon" else y)[need] = np.where(bad | blank, np.nan, val)[need]
        r.src.setdefault("lon", split["lon"][0])
        r.src.setdefault("lat", split["lat"][0])
    elif r.has("lon") and r.has("lat"):
        for t, what in (("lon", ("经度", "longitude")), ("lat", ("纬度", "latitude"))):
            raw = r.cell(t)
            blank = raw.map(_blank).to_numpy(dtype=bool)
            val = raw.map(lambda v: None if _blank(v) else parse_coord(v)).astype(float).to_numpy()
            r.add(need & blank & is_new, t, f"缺少{what[0]}", f"missing {what[1]}")
            for i in np.flatnonzero(need & ~blank & np.isnan(val)):
                why = (cells.coord_problem(raw.iloc[i]) or "不是坐标 / not a coordinate").split(" / ")
                r.one(i, t, f"{what[0]}“{_text(raw.iloc[i])}”：{why[0]}",
                      f"{what[1]} {_text(raw.iloc[i])!r}: {why[-1]}")
            (x if t == "lon" else y)[need] = val[need]
        half = need & (np.isnan(x) != np.isnan(y))
        r.add(half & ~is_new, "lon", "经度、纬度只填了一个", "only one of longitude and latitude given")
    else:
        r.add(need & is_new, "lon", "缺少坐标（经度、纬度）", "missing coordinates (longitude, latitude)")
    projected = _projected(r, x, y, need, district, gk_zone)
    if projected is not None:
        metres = need & np.isfinite(x) & np.isfinite(y)
        x[metres], y[metres] = coords.projected_to_lonlat(x[metres], y[metres], projected)
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
    return geoms, (x, y), projected


def _projected(r: _Rows, x: np.ndarray, y: np.ndarray, typed: np.ndarray, district, gk_zone):
    """The Gauss–Krüger zone of coordinates typed as metres, or ``None`` for degrees.

    Rows in metres and rows in degrees in one file are an error of each minority row: a ledger is
    in one system. Where the magnitudes leave the zone open, the district's extent decides, and a
    zone it cannot decide is asked for (:func:`geo.io.coords.detect_projected` raises).
    """
    finite = typed & np.isfinite(x) & np.isfinite(y)
    metres = finite & ((np.abs(x) > 1000) | (np.abs(y) > 1000))
    if not metres.any():
        return None
    degrees = finite & ~metres
    if degrees.any():
        minority = degrees if degrees.sum() <= metres.sum() else metres
        r.add(minority, "lon", "坐标单位与本文件其他行不同（经纬度与高斯-克吕格米制坐标混用）",
              "coordinates in another unit than the file's other rows (degrees mixed with Gauss-Krüger metres)")
        if minority is metres:
            return None
    area = tuple(district.bounds) if district is not None else None
    try:
        return coords.detect_projected(x[metres], y[metres], area_lonlat=area, zone=gk_zone)
    except GeoError as exc:
        r.problems.append(Finding(None, "", r.header("lon"), exc.zh, exc.en))
        return None


def _check_points(r: _Rows, geoms: np.ndarray, raw_xy, datum: str, townships,
                  district) -> datums.Evidence | None:
    """District and township checks of point rows; returns what the townships say of the datum.

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
    found = datums.township_evidence(explained, mismatched)
    if found is not None:
        r.problems.append(Finding(None, "", r.header("township"), f"{found.zh}，建议选择坐标系 {found.datum}",
                                  f"{found.en}; choose datum {found.datum}", "warning"))
    return found


def _build(r: _Rows, ids, is_new, values, geoms, stored, events, datum_note, user, now, today):
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
    ev = _events_for(r, rows, ids, is_new, old, events, datum_note, user, now, today)
    return rows, ev


def _events_for(r: _Rows, rows, ids, is_new, old, events, datum_note, user, now, today) -> pd.DataFrame:
    """One event per new site and per status change; ``status`` then set to the latest event.

    ``effective_on`` is the ledger's closure date for closures (commitment date
    for commitments) when given, else ``today``.
    """
    layer = r.layer
    if layer not in SITE_LAYERS or "status" not in rows.columns:
        return contract.empty("status_events")
    from ..history import status_on

    old_status = old["status"].to_numpy(dtype=object) if old is not None else np.full(r.n, None, dtype=object)
    notes = r.cell("note").to_numpy(dtype=object)
    # Plain arrays: this loop runs once per row and pandas scalar access would dominate it.
    status = rows["status"].to_numpy(dtype=object)
    # Column at a time, not a record per row: a 100,000-row ledger's records (dicts of Timestamps) once
    # took 170 MB (bench/readers_rss.py).
    keep = np.flatnonzero([bool(is_new[i]) or status[i] != old_status[i] for i in range(r.n)])
    st = status[keep]
    eff = np.full(len(keep), pd.Timestamp(today).to_datetime64(), dtype="datetime64[ns]")
    for code, col in (("closed", "closed_on"), ("committed", "committed_on")):
        if col not in rows.columns:
            continue
        given = pd.to_datetime(pd.Series(rows[col].to_numpy()[keep]), errors="coerce")
        use = (st == code) & given.notna().to_numpy()
        eff[use] = given.to_numpy(dtype="datetime64[ns]")[use]
    rownum = np.asarray(r.rownum)
    head = f"导入 {r.ledger.source} 第"
    tail = f"行；坐标系 {datum_note}"
    note = [f"{head}{rownum[i]}{tail}" + ("" if _blank(notes[i]) else f"；{_text(notes[i])}") for i in keep]
    cols = {"layer": layer, "feature_id": np.asarray(ids, dtype=object)[keep], "status": st, "effective_on": eff,
            "recorded_at": pd.Timestamp(now), "recorded_by": user, "note": note}
    names = TABLES["status_events"].column_names
    frame = pd.DataFrame({c: cols.get(c) for c in names}, index=pd.RangeIndex(len(keep)), columns=names)
    ev = contract.coerce("status_events", frame)
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


# --- new / updated / unchanged ---------------------------------------------------------

#: Geometries closer than this (Hausdorff distance, metres) are the same: an exported sheet
#: re-imported (coordinates rounded to 1e-7°, about 1 cm) changes nothing.
SAME_GEOMETRY_M = 0.05
#: Longest value shown whole in the report (a 5,000-character name is cut, with its length).
SHOWN_CHARS = 200


def _classify(r: _Rows, ids, is_new: np.ndarray, rows, stored, events) -> tuple[list[RowChange], set[str]]:
    """Every row as new / updated / unchanged, and the columns that change in some updated row.

    A stored row is updated when a column to be written differs from the stored value (blank and
    empty text are the same; geometries within :data:`SAME_GEOMETRY_M`), or when the row appends a
    status event (a ledger status that differs from the stored one, even if a later recorded event
    keeps the current status).
    """
    layer = r.layer
    spec = TABLES[layer]
    key = spec.key
    n = r.n
    diffs: dict[str, tuple[np.ndarray, list, list]] = {}  # column -> (mask, old values, new values)
    old_rows = (stored.set_index(stored[key].astype(str)).reindex(pd.Index(ids, dtype=object))
                if len(stored) and (~is_new).any() else None)
    if old_rows is not None:
        for c in rows.columns:
            if c in (key, "geometry", "status"):
                continue
            new = rows[c].reset_index(drop=True)
            old = (old_rows[c].reset_index(drop=True) if c in old_rows.columns
                   else pd.Series([None] * n, dtype=object))
            mask = ~is_new & ~_same_values(old, new, spec.column(c).kind if c in spec.column_names else "str")
            if mask.any():
                diffs[c] = (mask, old.to_numpy(dtype=object), new.to_numpy(dtype=object))
        if spec.geometry and "geometry" in rows.columns and "geometry" in old_rows.columns:
            mask, old_txt, new_txt, moved = _geometry_changes(np.asarray(old_rows["geometry"].values, dtype=object),
                                                              np.asarray(rows.geometry.values, dtype=object),
                                                              ~is_new, spec.geometry)
            if mask.any():
                diffs["geometry"] = (mask, old_txt, new_txt)
                diffs[_MOVED] = (mask, moved, moved)
                diffs[_GEOMETRIES] = (mask, np.asarray(old_rows["geometry"].values, dtype=object),
                                      np.asarray(rows.geometry.values, dtype=object))
        if "status" in rows.columns and len(events):
            # The status a row asks for is the event it appends (the current status may stay, see _events_for).
            asked = dict(zip(events["feature_id"], events["status"]))
            olds = old_rows["status"].to_numpy(dtype=object) if "status" in old_rows.columns else [None] * n
            mask = ~is_new & np.array([i in asked for i in ids], dtype=bool)
            if mask.any():
                diffs["status"] = (mask, olds, [asked.get(i) for i in ids])
    order = [c for c in dict.fromkeys([*rows.columns, "geometry"]) if c in diffs]  # the file's order, once each
    labels = {c: _field_name(layer, c) for c in order}

    def shown(c: str, i: int) -> tuple[str, str]:
        _, old, new = diffs[c]
        if c != "geometry":
            return _shown(layer, c, old[i]), _shown(layer, c, new[i])
        moved = diffs[_MOVED][1][i]
        return old[i], new[i] + (f"（偏移 {moved:,.1f} 米）" if moved else "")

    out = []
    for i in range(n):
        if is_new[i]:
            out.append(RowChange(int(r.rownum[i]), ids[i], "new"))
            continue
        # Shown as text only here, for the cells that change (a large re-import is mostly unchanged).
        fields = tuple(FieldChange(c, labels[c], *shown(c, i)) for c in order if diffs[c][0][i])
        out.append(RowChange(int(r.rownum[i]), ids[i], "updated" if fields else "unchanged", fields))
    return out, set(order), diffs


#: Keys among :func:`_classify`'s differences that are no column: how far each geometry moved (metres), and
#: the old and new geometries themselves.
_MOVED, _GEOMETRIES = "__moved_m__", "__geometries__"


def _edit_rows(r: _Rows, changes: list[RowChange], diffs: dict, datum_note: str, user: str, now) -> pd.DataFrame:
    """The ``edits`` rows of an update: one per stored row and field that changes (status aside: a status
    change is its ``status_events`` row), with who (``user``), when (``now``), from which file row, the old
    and the new value as stored (full text; a point as ``lon, lat``, a line or polygon as WKT) and, for a
    geometry, how far it moved (metres: geodesic for a point, :func:`_geometry_changes`)."""
    updated = np.array([c.kind == "updated" for c in changes], dtype=bool)
    cols = TABLES["edits"].column_names
    if not updated.any():
        return contract.empty("edits")
    key_of = np.array([c.id for c in changes], dtype=object)
    notes = r.cell("note").to_numpy(dtype=object)
    source = np.full(len(changes), None, dtype=object)
    for i in np.flatnonzero(updated):  # (the updated rows only: a re-imported ledger is mostly unchanged)
        source[i] = f"导入 {r.ledger.source} 第{changes[i].row}行；坐标系 {datum_note}" + (
            "" if _blank(notes[i]) else f"；备注：{_text(notes[i])}")
    parts = []
    for c in [c for c in diffs if c not in ("status", _MOVED, _GEOMETRIES)]:
        mask, old, new = diffs[c]
        at = np.flatnonzero(mask & updated)
        if not len(at):
            continue
        if c == "geometry":
            moved = diffs[_MOVED][1][at]
            if TABLES[r.layer].geometry == "Point":
                olds = [None if old[i] == "（空）" else old[i] for i in at]
                news = [None if new[i] == "（空）" else new[i] for i in at]
            else:
                _, g_old, g_new = diffs[_GEOMETRIES]
                olds, news = (shapely.to_wkt(g[at], rounding_precision=7) for g in (g_old, g_new))
        else:
            moved = np.full(len(at), np.nan)
            olds = [_plain(r.layer, c, old[i]) for i in at]
            news = [_plain(r.layer, c, new[i]) for i in at]
        parts.append(pd.DataFrame({"layer": r.layer, "feature_id": key_of[at], "field": c, "old": olds, "new": news,
                                   "moved_m": moved, "source": source[at], "recorded_at": pd.Timestamp(now),
                                   "recorded_by": user}, columns=cols))
    if not parts:
        return contract.empty("edits")
    out = pd.concat(parts, ignore_index=True)
    # in the file's order, and each row's fields in the report's order
    order = {fid: k for k, fid in enumerate(key_of)}
    out = out.iloc[np.argsort(out["feature_id"].map(order).to_numpy(), kind="stable")].reset_index(drop=True)
    return contract.coerce("edits", out)


def _plain(layer: str, column: str, v) -> str | None:
    """A stored or prepared value as the history keeps it: whole, as stored (codes as codes), dates ISO."""
    if _blank(v):
        return None
    spec = TABLES[layer]
    kind = spec.column(column).kind if column in spec.column_names else "str"
    if kind == "date":
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    if kind == "datetime":
        return pd.Timestamp(v).isoformat(sep=" ")
    if kind in ("float", "int"):
        return format(float(v), ".12g")
    if kind == "bool":
        return "true" if bool(v) else "false"
    return str(v)


def _field_name(layer: str, column: str) -> str:
    if column == "geometry":
        return "坐标" if TABLES[layer].geometry == "Point" else "几何"
    return field_label(layer, column) if column in TABLES[layer].column_names else column


def _same_values(old: pd.Series, new: pd.Series, kind: str) -> np.ndarray:
    """Element-wise equality of a stored and a prepared column (blank equals blank)."""
    o = old.astype(object).to_numpy()
    w = new.astype(object).to_numpy()
    blank_o, blank_w = _blank_mask(o), _blank_mask(w)
    same = blank_o & blank_w
    both = ~blank_o & ~blank_w
    if not both.any():
        return same
    a, b = o[both], w[both]
    if kind in ("float", "int"):
        same[both] = np.isclose(a.astype(float), b.astype(float), rtol=1e-12, atol=0.0)
    elif kind in ("date", "datetime"):
        same[both] = pd.to_datetime(pd.Series(a)).to_numpy() == pd.to_datetime(pd.Series(b)).to_numpy()
    elif kind == "bool":
        same[both] = a.astype(bool) == b.astype(bool)
    else:
        same[both] = a.astype(str) == b.astype(str)
    return same


def _blank_mask(values: np.ndarray) -> np.ndarray:
    """:func:`geo.io.cells.blank` of every value, vectorised (None, NaN, NaT, NA, only white space)."""
    values = np.asarray(values, dtype=object)
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(pd.isna(values), dtype=bool) | _EMPTY_TEXT(values).astype(bool)


_EMPTY_TEXT = np.frompyfunc(lambda v: isinstance(v, str) and not v.strip(), 1, 1)


#: The ellipsoid a point's move is measured on (geodesic distance in metres).
_GEOD = pyproj.Geod(ellps="WGS84")


def _geometry_changes(old: np.ndarray, new: np.ndarray, stored: np.ndarray, kind: str):
    """Which stored rows' geometries move by more than :data:`SAME_GEOMETRY_M`, how (as text), and how far
    (metres; 0 where nothing is measured, e.g. a point added to a row that had none).

    A point's move is its geodesic distance (WGS84 ellipsoid, :data:`_GEOD`); a line's or polygon's the
    Hausdorff distance in a local transverse Mercator (metres); never degrees.
    """
    from ..crs import metric_crs_for

    n = len(new)
    mask = np.zeros(n, dtype=bool)
    old_txt, new_txt = [""] * n, [""] * n
    miss_o = shapely.is_missing(old) | shapely.is_empty(old)
    miss_w = shapely.is_missing(new) | shapely.is_empty(new)
    mask |= stored & (miss_o != miss_w)
    both = stored & ~miss_o & ~miss_w
    exact = np.zeros(n, dtype=bool)
    exact[both] = shapely.equals_exact(old[both], new[both], tolerance=0.0)
    near = both & ~exact
    moved = np.zeros(n)
    if near.any() and kind == "Point":
        # a point's move: the geodesic distance on the WGS84 ellipsoid (what the history records)
        _, _, dist = _GEOD.inv(shapely.get_x(old[near]), shapely.get_y(old[near]),
                               shapely.get_x(new[near]), shapely.get_y(new[near]))
        moved[near] = dist
        mask |= near & (moved > SAME_GEOMETRY_M)
    elif near.any():
        crs = metric_crs_for(shapely.total_bounds(np.concatenate([old[near], new[near]])))
        a = gpd.GeoSeries(old[near], crs=STORE_CRS).to_crs(crs).values
        b = gpd.GeoSeries(new[near], crs=STORE_CRS).to_crs(crs).values
        moved[near] = shapely.hausdorff_distance(a, b)
        mask |= near & (moved > SAME_GEOMETRY_M)
    for i in np.flatnonzero(mask):
        if kind == "Point":
            old_txt[i] = "（空）" if miss_o[i] else f"{shapely.get_x(old[i]):.7f}, {shapely.get_y(old[i]):.7f}"
            new_txt[i] = "（空）" if miss_w[i] else f"{shapely.get_x(new[i]):.7f}, {shapely.get_y(new[i]):.7f}"
        else:
            old_txt[i] = "（空）" if miss_o[i] else "原几何"
            new_txt[i] = "（空）" if miss_w[i] else "新几何"
    return mask, old_txt, new_txt, moved


def _code_word(layer: str, column: str, code) -> str:
    """A code as users write it (``shed`` → 棚): never a raw English code in the report."""
    if column == "status":
        return contract.status_label(str(code), layer)
    words = WATERBODY_WORDS if column == "waterbody" else KIND_WORDS.get(layer, {})
    return next((w for w, c in words.items() if c == code), str(code))


def _shown(layer: str, column: str, v) -> str:
    """A stored or prepared value as report text: one line, Chinese for codes, dates as YYYY-MM-DD."""
    if _blank(v):
        return "（空）"
    spec = TABLES[layer]
    kind = spec.column(column).kind if column in spec.column_names else "str"
    if column in spec.codes:
        return _code_word(layer, column, v)
    if kind == "date":
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    if kind == "datetime":
        return pd.Timestamp(v).strftime("%Y-%m-%d %H:%M")
    if kind in ("float", "int"):
        return format(float(v), ".12g")
    if kind == "bool":
        return "是" if bool(v) else "否"
    text = str(v).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    if len(text) > SHOWN_CHARS:
        text = f"“{text[:SHOWN_CHARS]}…”（共 {len(str(v)):,} 字）"
    else:
        text = f"“{text}”"
    return text


# --- store -------------------------------------------------------------------------------

def prepare_for_store(store, ledger: Ledger, layer: str, **kwargs) -> Intake:
    """:func:`prepare` with the townships, layer and events read from ``store`` (and its ``as_of``)."""
    from ..datecheck import latest_allowed

    kwargs.setdefault("latest", latest_allowed(store, kwargs.get("today")))
    return prepare(ledger, layer, townships=store.read("townships"), existing=store.read(layer),
                   events=store.read("status_events"), **kwargs)


def commit(store, intake: Intake) -> None:
    """Write ``intake`` in one ``Store.commit``: the upsert and its status events, or nothing at all.

    Only new and updated rows are written (``intake.rows``); of updated rows only the columns that
    change (``intake.columns``) when the store supports partial upserts (``Change.columns``),
    whole rows otherwise. ``store`` may be a unit of :func:`_in_one_unit`: the rows should have been
    prepared from its reads, as :func:`import_file` and :func:`commit_if_unchanged` do (rows
    prepared earlier may carry values changed since).
    """
    from ..store import Change

    if not intake.ok:
        raise IntakeError(f"有 {len(intake.errors)} 个错误，未写入任何数据。",
                          f"{len(intake.errors)} error(s); nothing was written")
    if len(intake.rows) == 0:
        return
    if intake.columns is not None:
        upsert = Change(intake.layer, intake.rows, "upsert", columns=list(intake.columns))
    else:
        upsert = Change(intake.layer, intake.rows, "upsert")
    changes = [upsert]
    if len(intake.events):
        changes.append(Change("status_events", intake.events, "append"))
    if len(intake.edits):  # the history of every other change, in the same commit as the change itself
        changes.append(Change("edits", intake.edits, "append"))
    store.commit(changes)


def _in_one_unit(store, work):
    """Run ``work(unit)``, which reads from ``unit`` and writes with ``unit.commit``, in one ``Store.atomic``
    unit: no other writer comes between its reads and its write."""
    return store.atomic(work)


def commit_if_unchanged(store, ledger: Ledger, layer: str, expected: str, **kwargs) -> tuple[Intake, bool]:
    """Prepare ``ledger`` again against the store as it is now; write it only if it is the confirmed preview.

    The web page shows a preview (:func:`prepare_for_store`) and keeps its
    :meth:`Intake.fingerprint`; on 确认导入 it calls this with the same file and options. The
    preparation and the write run as one unit (:func:`_in_one_unit`), so what is written is what
    was checked against the store at that moment.

    Returns
    -------
    (Intake, bool)
        The fresh preparation, and whether it was written: ``False`` when it has errors or differs
        from ``expected`` (the store changed under the preview: show the new one instead).
    """
    def work(source) -> tuple[Intake, bool]:
        fresh = prepare_for_store(source, ledger, layer, **kwargs)
        if not fresh.ok or fresh.fingerprint() != expected:
            return fresh, False
        commit(source, fresh)
        return fresh, True

    return _in_one_unit(store, work)


def import_file(store, layer: str, path: str | Path, *, datum: str | None = None, sheet=None, user: str,
                dry_run: bool = False, mapping: dict[str, str] | None = None, name: str | None = None,
                now: dt.datetime | None = None, today: dt.date | None = None,
                update_existing: bool = False, confirm_datum: bool = False, gk_zone: str | None = None,
                skip_bad_rows: bool = False) -> Intake:
    """Read, check and (unless ``dry_run`` or any error) commit a ledger file.

    The rows are prepared from what is stored and written in one unit (:func:`_in_one_unit`), so a
    status update or another import in between is never undone. ``update_existing``: see
    :func:`prepare` (without it, a ledger that changes a stored site writes nothing); so do ``datum``,
    ``confirm_datum``, ``gk_zone`` and ``skip_bad_rows``.
    """
    if not user or not str(user).strip():
        raise IntakeError("必须指明导入人（--user）。", "the importing user is required (--user)")
    ledger = read_ledger(path, sheet=sheet, layer=layer, name=name)

    def check_and_write(source) -> Intake:
        intake = prepare_for_store(source, ledger, layer, mapping=mapping, datum=datum, user=str(user).strip(),
                                   now=now, today=today, update_existing=update_existing,
                                   confirm_datum=confirm_datum, gk_zone=gk_zone, skip_bad_rows=skip_bad_rows)
        for note in ledger.notes:
            intake.problems.insert(0, Finding(None, "", "", note.split(" / ")[0], note.split(" / ")[-1],
                                                 "warning"))
        if intake.ok and not dry_run:
            commit(source, intake)
        return intake

    return check_and_write(store) if dry_run else _in_one_unit(store, check_and_write)
