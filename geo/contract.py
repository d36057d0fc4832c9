"""The data contract: tables, columns, codes and their Chinese labels.

Every store (GeoPackage, PostGIS) holds these tables. In memory a table is a
``geopandas.GeoDataFrame`` in EPSG:4326 (spatial tables) or a
``pandas.DataFrame`` (``readings``, ``status_events``, ``meta``). Dates and
date-times are ``datetime64`` (naive, local time); ids are strings.

See ``../shared/DATA_CONTRACT.md``; columns beyond the required ones are
marked ``required=False`` and may be absent from stores written by others.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

#: CRS of every stored geometry. CGCS2000 (EPSG:4490) is accepted on input as equivalent.
STORE_CRS = "EPSG:4326"
ACCEPTED_EPSG = (4326, 4490)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "str", "float", "int", "date", "datetime", "bool", "bytes" (binary: BLOB / bytea)
    required: bool = True
    nullable: bool = True
    label: str = ""  # Chinese header for users


@dataclass(frozen=True)
class Table:
    name: str
    label: str
    columns: tuple[Column, ...]
    geometry: str | None = None  # "Point", "Polygon", "LineString" (multi variants accepted)
    key: str | None = "id"
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_names(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


STATUS = {
    "enterprises": ("operating", "committed", "suspended", "closed", "relocated", "converted"),
    "kilns": ("operating", "closed", "rebuilt", "relocated"),
    "farms": ("operating", "treating", "accepted", "closed", "relocated"),
}

# Which statuses resolve a site (riverside rule) or finish it (campaigns): geo/rules.py.

STATUS_LABELS = {
    "operating": "在产",
    "committed": "已签承诺",
    "suspended": "停产整顿",
    "closed": "已关停",
    "relocated": "已搬迁",
    "converted": "已转产",
    "rebuilt": "已改建",
    "treating": "治理中",
    "accepted": "已验收",
}
# Farms "operating" reads better as 在养 to a livestock officer.
STATUS_LABELS_BY_LAYER = {"farms": {**STATUS_LABELS, "operating": "在养"}}

SITE_LAYERS = ("enterprises", "kilns", "farms")

LAYER_LABELS = {
    "townships": "乡镇（街道）",
    "rivers": "河流",
    "waterbodies": "水库湖泊",
    "enterprises": "企业",
    "kilns": "石灰窑（棚）",
    "farms": "养殖场",
    "sampling_points": "水质监测点",
    "readings": "监测数据",
    "section_classes": "断面月度类别",
    "status_events": "状态记录",
    "meta": "元数据",
    "complaints": "信访投诉",
    "inspections": "巡查",
    "inspection_visits": "巡查点位记录",
    "attachments": "附件",
    "assessment_entries": "考核录入",
    "edits": "修改记录",
}

# --- casework: complaints, inspections, site files, assessment ------------------------------

CHANNEL_LABELS = {
    "province": "省转办", "city": "市局转办", "district": "区政府转办",
    "hotline": "热线", "visit": "来访", "letter": "来信", "online": "网络",
}
#: Channels by which a complaint reaches the bureau directly (not forwarded by a higher office).
DIRECT_CHANNELS = ("hotline", "visit", "letter", "online")
CATEGORY_LABELS = {"water": "水", "air": "气", "noise": "噪声", "solid": "固废", "odour": "异味", "other": "其他"}
#: A complaint's handling state on a day (geo.complaints.handling_state), worst first.
COMPLAINT_STATE_LABELS = {"overdue": "已超期", "due_today": "今日到期", "open": "办理中", "handled": "已办结"}
INSPECTION_KIND_LABELS = {"joint": "联合巡查", "sampling": "采样", "spot": "抽查", "night": "夜查"}
FINDING_LABELS = {"ok": "正常", "violation": "违规", "closed_confirmed": "确认已关停", "not_found": "未找到"}
#: Tables an attachment may belong to (a site, a complaint, an inspection or one of its visits).
ATTACHMENT_LAYERS = SITE_LAYERS + ("complaints", "inspections", "inspection_visits")
#: Casework tables: a store written before they existed simply has none of their rows.
CASEWORK_TABLES = ("complaints", "inspections", "inspection_visits", "attachments", "assessment_entries")
#: Tables a store written before them simply lacks (no rows of them yet): the casework, the published classes.
ADDED_TABLES = CASEWORK_TABLES + ("section_classes", "edits")
#: Separator of ``inspections.departments``.
DEPARTMENT_SEP = "、"

C = Column
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "townships", "乡镇（街道）",
            (C("code", "str", nullable=False, label="编码"), C("name", "str", nullable=False, label="名称"),
             C("kind", "str", nullable=False, label="类型"),
             C("approximate", "bool", required=False, label="示意边界"),
             C("note", "str", required=False, label="备注")),
            geometry="Polygon", key="code", codes={"kind": ("街道", "镇", "乡")},
        ),
        Table(
            "rivers", "河流",
            (C("id", "str", nullable=False, label="编号"), C("name", "str", nullable=False, label="名称"),
             C("width_m", "float", nullable=False, label="河宽(米)"),
             C("grade", "str", required=False, label="等级")),
            geometry="LineString",
        ),
        Table(
            "waterbodies", "水库湖泊",
            (C("id", "str", nullable=False, label="编号"), C("name", "str", nullable=False, label="名称"),
             C("kind", "str", nullable=False, label="类型")),
            geometry="Polygon", codes={"kind": ("reservoir", "lake", "pond")},
        ),
        Table(
            "enterprises", "企业",
            (C("id", "str", nullable=False, label="编号"), C("name", "str", nullable=False, label="企业名称"),
             C("industry", "str", label="行业"), C("status", "str", nullable=False, label="状态"),
             C("deadline", "date", label="整改期限"), C("closed_on", "date", label="关停日期"),
             C("park", "str", required=False, label="所在园区"),
             C("destination", "str", required=False, label="搬迁去向"),
             C("department", "str", required=False, label="结对部门"),
             C("committed_on", "date", required=False, label="承诺签订日期")),
            geometry="Point", codes={"status": STATUS["enterprises"]},
        ),
        Table(
            "kilns", "石灰窑（棚）",
            (C("id", "str", nullable=False, label="编号"), C("name", "str", nullable=False, label="名称"),
             C("village", "str", label="所属村"), C("kind", "str", nullable=False, label="类型"),
             C("status", "str", nullable=False, label="状态"), C("closed_on", "date", label="关停日期")),
            geometry="Point", codes={"status": STATUS["kilns"], "kind": ("kiln", "shed")},
        ),
        Table(
            "farms", "养殖场",
            (C("id", "str", nullable=False, label="编号"), C("name", "str", nullable=False, label="养殖场名称"),
             C("species", "str", label="畜种"), C("head_count", "int", label="存栏量"),
             C("status", "str", nullable=False, label="状态"), C("deadline", "date", label="整改期限"),
             C("village", "str", required=False, label="所属村")),
            geometry="Point", codes={"status": STATUS["farms"]},
        ),
        Table(
            "sampling_points", "水质监测点",
            (C("id", "str", nullable=False, label="编号"), C("name", "str", nullable=False, label="名称"),
             C("kind", "str", nullable=False, label="类型"), C("waterbody", "str", nullable=False, label="水体"),
             C("target_class", "int", nullable=False, label="目标类别"),
             C("water_id", "str", required=False, label="所在水体编号"),
             C("feature_id", "str", required=False, label="排口所属企业"),
             # Outfalls only (geo/discharge.py): the GB 8978-1996 grade 1–3 (一级/二级/三级; default from the
             # receiving water's class) and the plant's permit limits, e.g. "COD=80; NH3-N=10", which override it.
             C("discharge_grade", "int", required=False, label="排放标准级别"),
             C("permit_limits", "str", required=False, label="排污许可限值")),
            geometry="Point", codes={"kind": ("section", "outfall"), "waterbody": ("river", "lake")},
        ),
        Table(
            "readings", "监测数据",
            (C("point_id", "str", nullable=False, label="监测点"), C("sampled_at", "datetime", nullable=False, label="采样时间"),
             C("parameter", "str", nullable=False, label="指标"), C("value", "float", nullable=False, label="数值"),
             C("unit", "str", label="单位"),
             # True when the lab reported "<value" or ND: value then holds the detection limit.
             C("below_detection", "bool", required=False, label="低于检出限"),
             # Who imported the reading (the account, or the command line's), and the source's own mark on
             # it as published (the platform's "0.077*" or a station state such as 维护), kept as text.
             C("recorded_by", "str", required=False, label="录入人"),
             C("flag", "str", required=False, label="数据标识")),
            key=None,
        ),
        Table(
            # Classes as the national water platform publishes them per section and month (not computed
            # here); one row per point and month (a unique index in both stores).
            "section_classes", "断面月度类别",
            (C("point_id", "str", nullable=False, label="断面"), C("month", "date", nullable=False, label="月份"),
             C("water_class", "int", nullable=False, label="水质类别"),  # 1–6, 6 = 劣Ⅴ
             C("target_class", "int", label="目标类别"),
             C("exceeding", "str", label="超标项目"),  # as published, e.g. "总磷(0.2)"
             C("source", "str", label="来源文件"), C("recorded_by", "str", label="录入人"),
             C("recorded_at", "datetime", label="录入时间")),
            key=None,
        ),
        Table(
            "status_events", "状态记录",
            (C("layer", "str", nullable=False, label="图层"), C("feature_id", "str", nullable=False, label="编号"),
             C("status", "str", nullable=False, label="状态"), C("effective_on", "date", nullable=False, label="生效日期"),
             C("recorded_at", "datetime", label="录入时间"), C("recorded_by", "str", label="录入人"),
             C("note", "str", label="备注")),
            key=None, codes={"layer": SITE_LAYERS},
        ),
        Table(
            "meta", "元数据",
            (C("key", "str", nullable=False), C("value", "str")),
            key="key",
        ),
        Table(
            "complaints", "信访投诉",
            (C("id", "str", nullable=False, label="编号"), C("received_on", "date", nullable=False, label="受理日期"),
             C("channel", "str", nullable=False, label="来源渠道"), C("category", "str", nullable=False, label="污染类别"),
             C("summary", "str", nullable=False, label="投诉内容"), C("due_on", "date", nullable=False, label="办结期限"),
             C("handled_on", "date", label="办结日期"), C("result", "str", label="处理结果"),
             C("sensitive", "bool", nullable=False, label="敏感件"),
             C("layer", "str", label="关联图层"), C("feature_id", "str", label="关联点位编号"),
             C("complainant", "str", required=False, label="投诉人"),
             C("recorded_by", "str", required=False, label="录入人"),
             C("recorded_at", "datetime", required=False, label="录入时间")),
            geometry="Point",
            codes={"channel": tuple(CHANNEL_LABELS), "category": tuple(CATEGORY_LABELS), "layer": SITE_LAYERS},
        ),
        Table(
            "inspections", "巡查",
            (C("id", "str", nullable=False, label="编号"), C("held_on", "date", nullable=False, label="巡查日期"),
             C("kind", "str", nullable=False, label="巡查类型"), C("departments", "str", label="参加部门"),
             C("team", "str", label="巡查组"), C("note", "str", label="备注"),
             C("recorded_by", "str", required=False, label="录入人"),
             C("recorded_at", "datetime", required=False, label="录入时间")),
            codes={"kind": tuple(INSPECTION_KIND_LABELS)},
        ),
        Table(
            "inspection_visits", "巡查点位记录",
            # ``id`` (inspection id + stop number) is not in the minimum contract: it lets a finding update its stop.
            (C("id", "str", nullable=False, label="记录编号"),
             C("inspection_id", "str", nullable=False, label="巡查编号"),
             C("layer", "str", nullable=False, label="图层"), C("feature_id", "str", nullable=False, label="点位编号"),
             C("visited_at", "datetime", label="检查时间"), C("finding", "str", label="检查结果"),
             C("note", "str", label="备注"), C("recorded_by", "str", label="录入人"),
             C("seq", "int", required=False, label="顺序"),
             # where the location came from: "site" (the site's point) or "device" (the phone's position)
             C("located_by", "str", required=False, label="定位来源"),
             C("event_status", "str", required=False, label="据此登记的状态")),
            geometry="Point",
            codes={"layer": SITE_LAYERS, "finding": tuple(FINDING_LABELS), "located_by": ("site", "device")},
        ),
        Table(
            "attachments", "附件",
            (C("id", "str", nullable=False, label="编号"), C("layer", "str", nullable=False, label="所属图层"),
             C("feature_id", "str", nullable=False, label="所属编号"), C("name", "str", nullable=False, label="文件名"),
             C("mime", "str", nullable=False, label="类型"), C("size", "int", nullable=False, label="大小(字节)"),
             C("sha256", "str", nullable=False, label="SHA-256"), C("content", "bytes", nullable=False, label="内容"),
             C("uploaded_at", "datetime", label="上传时间"), C("uploaded_by", "str", label="上传人"),
             C("note", "str", label="说明"),
             # a PNG made once from the content (b"" when the file has none), so a page never decodes the file
             C("thumb", "bytes", required=False, label="缩略图")),
            codes={"layer": ATTACHMENT_LAYERS},
        ),
        Table(
            # The history of what is not a status: one row per field an import changed in a stored row (a
            # ledger update's rename, move …), who and when; status changes are status_events.
            "edits", "修改记录",
            (C("layer", "str", nullable=False, label="图层"), C("feature_id", "str", nullable=False, label="编号"),
             C("field", "str", nullable=False, label="字段"), C("old", "str", label="原值"),
             C("new", "str", label="新值"), C("moved_m", "float", label="移动距离(米)"),
             C("source", "str", label="来源"), C("recorded_at", "datetime", label="修改时间"),
             C("recorded_by", "str", label="修改人")),
            key=None,
        ),
        Table(
            "assessment_entries", "考核录入",
            (C("year", "int", nullable=False, label="年度"), C("unit", "str", nullable=False, label="考核对象"),
             C("item", "str", nullable=False, label="考核项目"), C("score", "float", nullable=False, label="得分"),
             C("note", "str", label="说明"), C("entered_by", "str", label="录入人"),
             C("entered_at", "datetime", label="录入时间")),
            key=None,
        ),
    )
}
del C

#: GB 3838-2002 parameter codes accepted in ``readings.parameter`` (plus water temperature, unclassed), then
#: the automatic stations' parameters beyond GB 3838, also unclassed: conductivity (µS/cm), turbidity (NTU),
#: chlorophyll a (mg/L), algal density (个/L) (:data:`geo.water.UNCLASSED`).
PARAMETERS = (
    "pH", "DO", "CODMn", "COD", "BOD5", "NH3-N", "TP", "TN", "Cu", "Zn", "F", "Se", "As", "Hg", "Cd",
    "Cr6", "Pb", "CN", "VP", "OIL", "LAS", "S2", "FC", "WT",
    "EC", "TURB", "CHLA", "ALGAE",
)


#: Codes of discharge parameters beyond GB 3838 accepted in ``readings.parameter`` at outfalls (GB 8978-1996:
#: total chromium, nickel, benzo(a)pyrene, beryllium, silver, suspended solids, manganese).
DISCHARGE_PARAMETERS = ("Cr", "Ni", "BaP", "Be", "Ag", "SS", "Mn")


_PERMIT_SPLIT = re.compile(r"[;；,，\n]+")
_PERMIT_ITEM = re.compile(r"^\s*([A-Za-z0-9()\-]+)\s*[=:：]\s*([0-9.]+)\s*(?:[-–~～]\s*([0-9.]+))?\s*(?:mg/L)?\s*$")


def parse_permit(text) -> dict[str, tuple[float | None, float]]:
    """``sampling_points.permit_limits`` (``COD=80; NH3-N=10; pH=6-9``) → ``{code: (low, high)}``.

    ``low`` is ``None`` for an upper limit. Items are separated by ``;``, ``，`` or new lines.

    Raises
    ------
    GeoError
        For an item that is not ``code=value`` or ``code=low-high``.
    """
    from .errors import GeoError

    if text is None or text is pd.NA or (isinstance(text, float) and text != text) or not str(text).strip():
        return {}
    out: dict[str, tuple[float | None, float]] = {}
    for part in filter(None, (p.strip() for p in _PERMIT_SPLIT.split(str(text)))):
        m = _PERMIT_ITEM.match(part)
        if not m:
            raise GeoError(f"排污许可限值“{part}”格式应为“指标=限值”（如 COD=80；pH=6-9）。",
                           f"permit limit {part!r} must be code=value (e.g. COD=80; pH=6-9)")
        code, a, b = m.group(1), float(m.group(2)), m.group(3)
        out[code] = (a, float(b)) if b is not None else (None, a)
    return out


def status_label(status: str, layer: str | None = None) -> str:
    """Chinese label of a status code (the code itself when unknown)."""
    labels = STATUS_LABELS_BY_LAYER.get(layer or "", STATUS_LABELS)
    return labels.get(status, status)


def empty(table: str) -> pd.DataFrame:
    """An empty frame of ``table`` with every contract column and dtype."""
    import geopandas as gpd

    spec = TABLES[table]
    df = coerce(table, pd.DataFrame({c: [] for c in spec.column_names}))
    if spec.geometry:
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([], crs=STORE_CRS), crs=STORE_CRS)
    return df


def coerce(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with the contract dtypes on every contract column it has.

    Raises ``ValueError`` naming the column when a value cannot be converted;
    the store calls this before it writes, so nothing half-typed is stored.
    """
    spec = TABLES[table]
    out = df.copy()
    for col in spec.columns:
        if col.name not in out.columns:
            continue
        s = out[col.name]
        try:
            if col.kind == "str":
                out[col.name] = s.astype(object).where(s.notna(), None).map(
                    lambda v: v if v is None else str(v)).astype(object)
            elif col.kind == "float":
                out[col.name] = pd.to_numeric(s, errors="raise").astype("float64")
            elif col.kind == "int":
                out[col.name] = pd.to_numeric(s, errors="raise").astype("Int64")
            elif col.kind == "bool":
                out[col.name] = s.astype("boolean")
            elif col.kind == "date":
                out[col.name] = pd.to_datetime(s, errors="raise", format="mixed").dt.normalize().astype("datetime64[ms]")
            elif col.kind == "datetime":
                out[col.name] = pd.to_datetime(s, errors="raise", format="mixed").astype("datetime64[ms]")
            elif col.kind == "bytes":
                out[col.name] = pd.Series([_as_bytes(v) for v in s], index=s.index, dtype=object)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{table}.{col.name}: {exc}") from exc
    return out


def _as_bytes(v) -> bytes | None:
    """A binary cell as ``bytes`` (stores return ``bytes``, ``memoryview`` or ``bytearray``); NULL as ``None``."""
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise TypeError(f"expected binary content, got {type(v).__name__}")
