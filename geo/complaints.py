"""Environmental complaints (信访投诉): intake, one-off entry, handling, alarms and figures.

A complaint arrives by one of seven channels (forwarded by the province, the
city bureau or the district government, or received directly: hotline, visit,
letter, online), concerns a place (a point, often a site of the campaigns) and
must be handled by its due date. The bureau's register (登记簿) is an xlsx or
csv sheet; :func:`prepare` checks every row and :func:`commit` writes all rows
in one commit or nothing, exactly as ledger intake does (:mod:`geo.intake`).

Rules (DATA_CONTRACT.md): handled on time = ``handled_on`` not null and
``handled_on <= due_on``; overdue on a day = unhandled and ``due_on`` before
that day.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import config, contract
from .contract import CHANNEL_LABELS, CATEGORY_LABELS, DIRECT_CHANNELS, SITE_LAYERS, STORE_CRS, TABLES
from .crs import DATUMS, to_wgs84
from .errors import GeoError
from .intake.ledger import _blank, _text
from .intake.report import Finding, bounded_findings, report_frame
from .io.cells import parse_coord, parse_date
from .io.limits import Limits, bounded
from .io.readers import match_headers, read_table

#: Days from receipt to the due date when the register leaves it blank (``[casework] complaint_due_days``).
DEFAULT_DUE_DAYS = 15
MAX_SUMMARY = 1000

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("编号", "信访编号", "件号", "登记号", "id"),
    "received_on": ("受理日期", "收件日期", "登记日期", "来件日期", "投诉日期", "日期", "received_on"),
    "channel": ("来源", "来源渠道", "渠道", "信访来源", "投诉渠道", "channel"),
    "category": ("类别", "污染类别", "投诉类别", "污染类型", "category"),
    "summary": ("内容", "投诉内容", "反映问题", "事由", "主要内容", "summary"),
    "due_on": ("办结期限", "期限", "限办日期", "应办结日期", "due_on"),
    "handled_on": ("办结日期", "办结时间", "实际办结日期", "handled_on"),
    "result": ("处理结果", "办理结果", "处理情况", "result"),
    "sensitive": ("敏感", "敏感件", "是否敏感", "sensitive"),
    "site": ("关联点位", "涉及企业", "涉及单位", "关联企业", "点位编号", "site"),
    "township": ("乡镇", "所属乡镇", "所在乡镇", "乡镇(街道)", "township"),
    "lon": ("经度", "lon", "lng", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
    "complainant": ("投诉人", "来访人", "反映人", "complainant"),
}
FIELD_LABELS = {"id": "编号", "received_on": "受理日期", "channel": "来源渠道", "category": "污染类别",
                "summary": "投诉内容", "due_on": "办结期限", "handled_on": "办结日期", "result": "处理结果",
                "sensitive": "敏感件", "site": "关联点位", "township": "乡镇", "lon": "经度", "lat": "纬度",
                "complainant": "投诉人"}

CHANNEL_WORDS = {
    "省转办": "province", "省厅转办": "province", "省环保厅": "province", "省": "province", "省转": "province",
    "市局转办": "city", "市转办": "city", "市环保局": "city", "市": "city", "市转": "city",
    "区政府转办": "district", "区转办": "district", "区政府": "district", "区": "district",
    "热线": "hotline", "12369": "hotline", "电话": "hotline", "24小时热线": "hotline", "举报电话": "hotline",
    "来访": "visit", "上访": "visit", "来信": "letter", "信件": "letter",
    "网络": "online", "网上": "online", "网站": "online", "邮件": "online", "电子邮件": "online",
}
CATEGORY_WORDS = {
    "水": "water", "水污染": "water", "废水": "water", "污水": "water",
    "气": "air", "大气": "air", "废气": "air", "空气": "air", "烟尘": "air",
    "噪声": "noise", "噪音": "noise", "固废": "solid", "固体废物": "solid", "垃圾": "solid",
    "异味": "odour", "臭味": "odour", "气味": "odour", "恶臭": "odour", "其他": "other", "其它": "other",
}
TRUE_WORDS = {"是", "敏感", "y", "yes", "true", "1", "√", "✓"}
FALSE_WORDS = {"否", "不敏感", "n", "no", "false", "0", "×", "一般"}


def _word(v) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(v))).lower()


def parse_channel(v) -> str | None:
    w = _word(v)
    return w if w in CHANNEL_LABELS else CHANNEL_WORDS.get(w)


def parse_category(v) -> str | None:
    w = _word(v)
    return w if w in CATEGORY_LABELS else CATEGORY_WORDS.get(w)


def parse_bool(v) -> bool | None:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    w = _word(v)
    return True if w in TRUE_WORDS else False if w in FALSE_WORDS else None


def due_days() -> int:
    return int(config.get("casework", "complaint_due_days", DEFAULT_DUE_DAYS))


# --- reading a register -----------------------------------------------------------------

def auto_mapping(headers) -> dict[str, str]:
    """``{header: field}`` for the headers recognised (first header wins per field; a bracketed unit is
    ignored): :func:`geo.io.readers.match_headers` with :data:`ALIASES`."""
    return match_headers(headers, ALIASES)


def read_register(path, *, name: str | None = None) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Raw cells of a register (xlsx or csv in UTF-8/GBK; a path or bytes): frame, file row numbers, source
    name. Read by :func:`geo.io.readers.read_table`, within the ``[limits]`` of qingshan.toml; the header
    row is the one among the first rows with most recognised headers (title rows are skipped)."""
    t = read_table(path, name=name, aliases=ALIASES, formats=("csv", "xlsx"))
    return t.frame, t.row_numbers, t.source


# --- checking ---------------------------------------------------------------------------

@dataclass
class ComplaintIntake:
    """What :func:`prepare` found: the rows to write and every problem (per row, bilingual)."""

    rows: gpd.GeoDataFrame
    problems: list[Finding]
    datum: str = "wgs84"
    source: str = ""
    new_ids: list[str] = field(default_factory=list)
    updated_ids: list[str] = field(default_factory=list)
    #: Findings per severity before the report was bounded.
    totals: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        # the first [limits] max_report_lines findings of each kind, then one line with the kind's total
        self.totals = {sev: sum(p.severity == sev for p in self.problems) for sev in ("error", "warning")}
        self.problems = bounded_findings(self.problems)

    @property
    def errors(self) -> list[Finding]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def report(self) -> pd.DataFrame:
        return report_frame(self.problems)

    def summary(self) -> str:
        n_err = max(self.totals.get("error", 0), len(self.errors))
        n_warn = max(self.totals.get("warning", 0), len(self.problems) - len(self.errors))
        return (f"新增 {len(self.new_ids)} 件，更新 {len(self.updated_ids)} 件；错误 {n_err} 条，提示 {n_warn} 条 / "
                f"{len(self.new_ids)} new, {len(self.updated_ids)} updated; {n_err} error(s), "
                f"{n_warn} warning(s)")


def _site_index(frames: dict) -> dict[str, tuple[str, str, object]]:
    """Site lookup by id and by name: ``{key: (layer, id, point)}`` (ids win over names)."""
    out: dict[str, tuple[str, str, object]] = {}
    for layer in SITE_LAYERS:
        df = frames.get(layer)
        if df is None or len(df) == 0:
            continue
        for fid, nm, g in zip(df["id"], df["name"], df.geometry.values):
            out.setdefault(f"name:{nm}", (layer, str(fid), g))
            out[f"id:{fid}"] = (layer, str(fid), g)
            out[f"id:{layer}:{fid}"] = (layer, str(fid), g)
    return out


def prepare(frame: pd.DataFrame, row_numbers, *, frames: dict, existing: pd.DataFrame | None = None,
            mapping: dict[str, str] | None = None, datum: str = "wgs84", user: str,
            now: dt.datetime | None = None, source: str = "") -> ComplaintIntake:
    """Check every row of a register and build the complaints to upsert.

    Parameters
    ----------
    frame : raw cells (object dtype), as from :func:`read_register`.
    row_numbers : the row each had in the file (for the report).
    frames : ``townships`` and the site layers (a complaint's place is checked against the district; a
        site named in the register supplies the place when no coordinates are given).
    existing : the stored complaints (an id already stored is updated, with a warning).
    datum : the datum of the register's coordinates (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``).
    user : who imports (``recorded_by``).
    """
    if datum not in DATUMS:
        raise GeoError(f"未知坐标系“{datum}”。", f"unknown datum {datum!r} (one of {', '.join(DATUMS)})")
    user = (user or "").strip()
    if not user:
        raise GeoError("必须指明录入人。", "the recording user is required")
    now = now or dt.datetime.now().replace(microsecond=0)
    today = pd.Timestamp(now.date())
    mapping = dict(mapping) if mapping is not None else auto_mapping(frame.columns)
    src = {f: h for h, f in mapping.items()}
    problems: list[Finding] = []
    for f in ("received_on", "channel", "category", "summary"):
        if f not in src:
            problems.append(Finding(None, "", FIELD_LABELS[f], f"缺少必需列“{FIELD_LABELS[f]}”",
                                       f"required column {f!r} missing"))
    if "site" not in src and not {"lon", "lat"} <= set(src):
        problems.append(Finding(None, "", "经度/纬度", "缺少位置：须有“经度”“纬度”两列或“关联点位”列",
                                   "no location: give lon and lat columns or a site column"))
    if problems:
        return ComplaintIntake(contract.empty("complaints"), problems, datum, source)
    sites = _site_index(frames)
    townships = frames.get("townships")
    district = shapely.union_all(shapely.make_valid(townships.geometry.values)) \
        if townships is not None and len(townships) else None
    stored = set(existing["id"].dropna()) if existing is not None and len(existing) else set()
    year_count: dict[int, int] = {}
    for i in (existing["id"].dropna() if existing is not None and len(existing) else []):
        m = re.match(r"^TS(\d{4})-(\d+)$", str(i))
        if m:
            year_count[int(m[1])] = max(year_count.get(int(m[1]), 0), int(m[2]))
    out_rows, seen = [], {}
    cell = lambda r, f: r[src[f]] if f in src else None  # noqa: E731
    for k, (_, r) in enumerate(frame.iterrows()):
        row_no = int(row_numbers[k]) if len(row_numbers) > k else k + 2
        rid = "" if _blank(cell(r, "id")) else _text(cell(r, "id"))
        errs: list[Finding] = []

        def bad(f, zh, en, sev="error"):
            (errs if sev == "error" else problems).append(Finding(row_no, rid, FIELD_LABELS[f], zh, en, sev))

        rec = parse_date(cell(r, "received_on")) if not _blank(cell(r, "received_on")) else None
        if rec is None:
            bad("received_on", f"受理日期“{_show(cell(r, 'received_on'))}”无法识别或为空",
                "date received missing or not a date")
        elif rec > today:
            bad("received_on", "受理日期晚于今天", "date received is in the future")
        ch = parse_channel(cell(r, "channel")) if not _blank(cell(r, "channel")) else None
        if ch is None:
            bad("channel", f"来源渠道“{_show(cell(r, 'channel'))}”无效（可选：{'、'.join(CHANNEL_LABELS.values())}）",
                f"unknown channel (one of {', '.join(CHANNEL_LABELS)})")
        cat = parse_category(cell(r, "category")) if not _blank(cell(r, "category")) else None
        if cat is None:
            bad("category", f"污染类别“{_show(cell(r, 'category'))}”无效（可选：{'、'.join(CATEGORY_LABELS.values())}）",
                f"unknown category (one of {', '.join(CATEGORY_LABELS)})")
        summary = "" if _blank(cell(r, "summary")) else str(cell(r, "summary")).strip()
        if not summary:
            bad("summary", "投诉内容为空", "summary is empty")
        elif len(summary) > MAX_SUMMARY:
            bad("summary", f"投诉内容过长（上限 {MAX_SUMMARY} 字）", f"summary too long (limit {MAX_SUMMARY})")
        due = None
        if not _blank(cell(r, "due_on")):
            due = parse_date(cell(r, "due_on"))
            if due is None:
                bad("due_on", f"办结期限“{_show(cell(r, 'due_on'))}”无法识别", "due date is not a date")
        elif rec is not None:
            due = rec + pd.Timedelta(days=due_days())
            bad("due_on", f"未填办结期限，按受理后 {due_days()} 天计", f"no due date: {due_days()} days after receipt",
                "warning")
        if rec is not None and due is not None and due < rec:
            bad("due_on", "办结期限早于受理日期", "due date before the date received")
        handled = None
        if not _blank(cell(r, "handled_on")):
            handled = parse_date(cell(r, "handled_on"))
            if handled is None:
                bad("handled_on", f"办结日期“{_show(cell(r, 'handled_on'))}”无法识别", "handled date is not a date")
            elif rec is not None and handled < rec:
                bad("handled_on", "办结日期早于受理日期", "handled before it was received")
            elif handled > today:
                bad("handled_on", "办结日期晚于今天", "handled date is in the future")
        sens = False
        if not _blank(cell(r, "sensitive")):
            sens = parse_bool(cell(r, "sensitive"))
            if sens is None:
                bad("sensitive", f"敏感件“{_show(cell(r, 'sensitive'))}”应填 是/否", "sensitive must be yes or no")
        layer = fid = None
        geom = None
        if not _blank(cell(r, "site")):
            key = _text(cell(r, "site"))
            hit = sites.get(f"id:{key}") or sites.get(f"name:{key}")
            if hit is None:
                bad("site", f"关联点位“{key}”不存在（填编号或名称）", f"no site with id or name {key!r}")
            else:
                layer, fid, geom = hit
        lon, lat = cell(r, "lon"), cell(r, "lat")
        if not (_blank(lon) and _blank(lat)):
            x = parse_coord(lon) if not _blank(lon) else None
            y = parse_coord(lat) if not _blank(lat) else None
            if x is None or y is None or not (-180 <= x <= 180 and -90 <= y <= 90):
                bad("lon", "经纬度无效", "coordinates are not valid lon/lat")
            else:
                wx, wy = to_wgs84(np.array([x]), np.array([y]), datum)
                geom = shapely.Point(float(wx[0]), float(wy[0]))
                if district is not None and not district.contains(geom):
                    bad("lon", "位置不在本区范围内（坐标系选错了？）", "the place lies outside the district (wrong datum?)")
        elif geom is None and not any(p.column == "关联点位" for p in errs):
            bad("lon", "缺少位置：请填经纬度或关联点位", "no location: give lon/lat or a site")
        if not rid:
            year = rec.year if rec is not None else today.year
            year_count[year] = year_count.get(year, 0) + 1
            rid = f"TS{year}-{year_count[year]:03d}"
        if rid in seen:
            bad("id", f"编号与第{seen[rid]}行重复", f"id repeats row {seen[rid]}")
        seen.setdefault(rid, row_no)
        if rid in stored:
            bad("id", "该编号已存在，将被更新", "this id exists and will be updated", "warning")
        # every error of this row carries the final id
        problems.extend(Finding(p.row, rid, p.column, p.why_zh, p.why, p.severity) for p in errs)
        if errs:
            continue
        out_rows.append(dict(
            id=rid, received_on=rec, channel=ch, category=cat, summary=summary, due_on=due, handled_on=handled,
            result=None if _blank(cell(r, "result")) else str(cell(r, "result")).strip(), sensitive=bool(sens),
            layer=layer, feature_id=fid,
            complainant=None if _blank(cell(r, "complainant")) else str(cell(r, "complainant")).strip(),
            recorded_by=user, recorded_at=pd.Timestamp(now), geometry=geom))
    if not len(frame):
        problems.append(Finding(None, "", "", "登记簿中没有数据行", "the register has no rows"))
    cols = TABLES["complaints"].column_names
    rows = gpd.GeoDataFrame(pd.DataFrame(out_rows, columns=cols + ["geometry"]), geometry="geometry", crs=STORE_CRS)
    rows = contract.coerce("complaints", rows)
    return ComplaintIntake(rows, problems, datum, source,
                           [i for i in rows["id"] if i not in stored], [i for i in rows["id"] if i in stored])


def _show(v) -> str:
    return "" if _blank(v) else _text(v)


def commit(store, intake: ComplaintIntake) -> None:
    """Write every checked complaint in one commit; refuse (nothing written) when any row has an error."""
    from .store import Change

    if not intake.ok:
        raise GeoError(f"有 {len(intake.errors)} 个错误，未写入任何数据。",
                       f"{len(intake.errors)} error(s); nothing was written", intake.errors)
    if len(intake.rows):
        store.commit([Change("complaints", intake.rows, "upsert")])


def _frames(store) -> dict:
    return store.read_many(["townships", *SITE_LAYERS])


def import_file(store, path: str | Path, *, datum: str = "wgs84", user: str, dry_run: bool = False,
                name: str | None = None, now: dt.datetime | None = None) -> ComplaintIntake:
    """Read, check and (unless ``dry_run`` or any error) write a complaints register."""
    frame, numbers, source = read_register(path, name=name)
    intake = prepare(frame, numbers, frames=_frames(store), existing=store.read("complaints"), datum=datum,
                     user=user, now=now, source=source)
    if intake.ok and not dry_run:
        commit(store, intake)
    return intake


def create(store, values: dict, *, user: str, datum: str = "wgs84", now: dt.datetime | None = None) -> str:
    """Record one complaint from form values (keys as :data:`ALIASES`); returns its id.

    The form goes through the same checks as a register row; any error raises
    :class:`~geo.errors.GeoError` listing the problems, and nothing is written.
    """
    # Every field is a column (blank when not given): a form has no "missing column", only empty fields.
    frame = pd.DataFrame([{k: values.get(k) for k in ALIASES}], dtype=object)
    intake = prepare(frame, np.array([1]), frames=_frames(store), existing=store.read("complaints"),
                     mapping={k: k for k in frame.columns}, datum=datum, user=user, now=now, source="form")
    if not intake.ok:
        raise GeoError("；".join(p.why_zh for p in intake.errors) + "。未保存。",
                       "; ".join(p.why for p in intake.errors) + ". Nothing was saved.", intake.errors)
    commit(store, intake)
    return str(intake.rows["id"].iat[0])


def mark_handled(store, complaint_id: str, handled_on, result: str, *, user: str,
                 today: dt.date | None = None) -> None:
    """Record that a complaint was handled (date and result); one commit."""
    from .store import Change

    user = (user or "").strip()
    if not user:
        raise GeoError("必须指明录入人。", "the recording user is required")
    df = store.read("complaints")
    row = df[df["id"] == str(complaint_id)]
    if not len(row):
        raise GeoError(f"没有编号为“{complaint_id}”的投诉。", f"no complaint {complaint_id!r}")
    day = parse_date(handled_on)
    if day is None:
        raise GeoError("办结日期无法识别。", "the handled date is not a date")
    if day.date() > (today or dt.date.today()):
        raise GeoError("办结日期晚于今天。", "the handled date is in the future")
    if day < row["received_on"].iat[0]:
        raise GeoError("办结日期早于受理日期。", "handled before it was received")
    if not (result or "").strip():
        raise GeoError("请填写处理结果。", "the result is required")
    row = row.copy()
    row["handled_on"] = day
    row["result"] = result.strip()[:MAX_SUMMARY]
    row["recorded_by"] = user
    row["recorded_at"] = pd.Timestamp(dt.datetime.now().replace(microsecond=0))
    store.commit([Change("complaints", row, "upsert")])


# --- rules, alarms and figures ------------------------------------------------------------

def on_time(c: pd.DataFrame) -> pd.Series:
    """Handled on time: ``handled_on`` not null and ``handled_on <= due_on``."""
    return c["handled_on"].notna() & (c["handled_on"] <= c["due_on"])


def overdue(c: pd.DataFrame, day) -> pd.Series:
    """Overdue on ``day``: unhandled (as of that day) and due before it."""
    day = pd.Timestamp(day).normalize()
    unhandled = c["handled_on"].isna() | (c["handled_on"] > day)
    return unhandled & (c["due_on"] < day) & (c["received_on"] <= day)


def alarms(c: pd.DataFrame, day) -> pd.DataFrame:
    """Complaints overdue on ``day`` or due that day and unhandled; sensitive first, then the most overdue."""
    day = pd.Timestamp(day).normalize()
    unhandled = (c["handled_on"].isna() | (c["handled_on"] > day)) & (c["received_on"] <= day)
    due_today = unhandled & (c["due_on"] == day)
    late = overdue(c, day)
    out = c[late | due_today].copy()
    out["alarm"] = np.where(late[late | due_today], "overdue", "due_today")
    out["alarm_label"] = out["alarm"].map({"overdue": "已超期", "due_today": "今日到期"})
    out["days_overdue"] = (day - out["due_on"]).dt.days.clip(lower=0)
    return out.sort_values(["sensitive", "days_overdue", "due_on"], ascending=[False, False, True], kind="stable")


#: Handling state of a complaint on a day (the map's colours): worst first.
STATE_LABELS = contract.COMPLAINT_STATE_LABELS


def handling_state(c: pd.DataFrame, day) -> pd.Series:
    """Each complaint's state on ``day``: ``overdue``, ``due_today``, ``open`` (unhandled, not yet due) or
    ``handled`` (handled on or before ``day``). Complaints received after ``day`` are ``<NA>``."""
    day = pd.Timestamp(day).normalize()
    unhandled = c["handled_on"].isna() | (c["handled_on"] > day)
    state = np.select([~unhandled, overdue(c, day), c["due_on"] == day], ["handled", "overdue", "due_today"],
                      default="open")
    return pd.Series(state, index=c.index, dtype=object).where(c["received_on"] <= day)


def in_period(c: pd.DataFrame, start=None, end=None) -> pd.DataFrame:
    m = pd.Series(True, index=c.index)
    if start is not None:
        m &= c["received_on"] >= pd.Timestamp(start)
    if end is not None:
        m &= c["received_on"] <= pd.Timestamp(end)
    return c[m]


def figures(c: pd.DataFrame, townships: pd.DataFrame | None = None, *, start=None, end=None) -> dict:
    """Received, handled, on time (and rates), by channel, by township and by month, for complaints received
    between ``start`` and ``end`` (inclusive); handling is judged as of ``end`` when given."""
    c = in_period(c, start, end)
    if end is not None:
        c = c.assign(handled_on=c["handled_on"].where(c["handled_on"] <= pd.Timestamp(end)))
    n = len(c)
    handled = int(c["handled_on"].notna().sum())
    ok = int(on_time(c).sum())
    by_channel = c["channel"].value_counts().reindex(list(CHANNEL_LABELS), fill_value=0)
    out = {
        "received": n, "handled": handled, "on_time": ok,
        "handled_rate": handled / n if n else None, "on_time_rate": ok / n if n else None,
        "sensitive": int(c["sensitive"].fillna(False).sum()),
        "sensitive_same_day": int((c["sensitive"].fillna(False) & (c["handled_on"] == c["received_on"])).sum()),
        "forwarded": int(c["channel"].isin(["province", "city", "district"]).sum()),
        "direct": int(c["channel"].isin(DIRECT_CHANNELS).sum()),
        "by_channel": by_channel,
        "by_month": c.groupby(c["received_on"].dt.to_period("M")).size() if n else pd.Series(dtype=int),
    }
    if townships is not None and len(townships) and n:
        from .spatial import township_of

        tw = township_of(gpd.GeoDataFrame(c[["id"]], geometry=c.geometry.values, crs=STORE_CRS), townships)
        out["by_township"] = tw.fillna("（区外）").value_counts()
    else:
        out["by_township"] = pd.Series(dtype=int)
    return out


def figures_table(f: dict) -> pd.DataFrame:
    """The headline figures as a two-column table (Chinese labels; rates as percentages)."""
    pct = lambda r: "—" if r is None else f"{r * 100:.0f}%"  # noqa: E731
    rows = [("受理", f["received"]), ("办结", f["handled"]), ("按期办结", f["on_time"]),
            ("办结率", pct(f["handled_rate"])), ("按期办结率", pct(f["on_time_rate"])),
            ("上级转办", f["forwarded"]), ("直接受理", f["direct"]),
            ("敏感件", f["sensitive"]), ("敏感件当日查处", f["sensitive_same_day"])]
    rows += [(f"来源·{CHANNEL_LABELS[k]}", int(v)) for k, v in f["by_channel"].items()]
    return pd.DataFrame(rows, columns=["指标", "数值"]).astype({"数值": str})


def labelled(c: pd.DataFrame, day=None) -> pd.DataFrame:
    """Complaints as users read them: Chinese headers and labels, a handling state word."""
    day = pd.Timestamp(day).normalize() if day is not None else None
    state = np.where(c["handled_on"].notna(), np.where(on_time(c), "按期办结", "超期办结"), "办理中")
    if day is not None:
        state = np.where(overdue(c, day), "已超期", state)
    out = pd.DataFrame({
        "编号": c["id"], "受理日期": c["received_on"].dt.strftime("%Y-%m-%d"),
        "来源渠道": c["channel"].map(CHANNEL_LABELS), "污染类别": c["category"].map(CATEGORY_LABELS),
        "投诉内容": c["summary"], "办结期限": c["due_on"].dt.strftime("%Y-%m-%d"),
        "办结日期": c["handled_on"].dt.strftime("%Y-%m-%d").fillna(""), "办理状态": state,
        "敏感件": np.where(c["sensitive"].fillna(False), "是", "否"),
        "处理结果": c["result"].fillna(""),
        "关联点位": [f"{contract.LAYER_LABELS.get(lay, '')} {fid}" if isinstance(fid, str) else ""
                 for lay, fid in zip(c["layer"], c["feature_id"])],
    })
    return out.reset_index(drop=True)
