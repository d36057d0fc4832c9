"""Environmental complaints (信访投诉): intake, one-off entry, handling, placing, alarms and figures.

A complaint arrives by one of seven channels (forwarded by the province, the
city bureau or the district government, or received directly: hotline, visit,
letter, online), concerns a place (a point, often a site of the campaigns) and
must be handled by its due date. The bureau's register (登记簿) is an xlsx or
csv sheet; :func:`prepare` checks every row and :func:`commit` writes all rows
in one commit or nothing, exactly as ledger intake does (:mod:`geo.intake`).

Registers as offices keep them are read as they are: the 12345 hotline's work
orders (工单编号, 来电时间, 诉求类型 ``环境保护-水污染``, 诉求内容, 诉求地址, 承办单位,
办理时限 ``15个工作日`` …), 12369 reports and petition (信访) registers. A row that
gives only an address is stored without a point (未定位, the address kept in the
extra ``address`` column) and placed later by a person (:func:`place`); the
stores and ``geo check`` accept a complaint without a point (a warning there).

Personal data: the complainant's name goes to the contract's ``complainant``
column only; a phone column is recognised and never stored (the report says so),
and the name or a phone number found in the summary text is replaced there.

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
from .crs import parse_datum, to_wgs84
from .errors import GeoError
from .intake.report import Finding, bounded_findings, report_frame
from .io.cells import CONTROLS_IN_ID, CONTROLS_REMOVED, strip_controls
from .io.cells import blank as _blank
from .io.cells import parse_coord, parse_date
from .io.cells import text as _text
from .io.readers import match_headers, read_table

#: Days from receipt to the due date when the register leaves it blank (``[casework] complaint_due_days``).
DEFAULT_DUE_DAYS = 15
MAX_SUMMARY = 1000
MAX_ADDRESS = 200
#: A time limit given as a number of days (办理时限 ``15``, ``15天``, ``15个工作日``) is at most this long.
MAX_LIMIT_DAYS = 366

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("编号", "信访编号", "件号", "登记号", "工单编号", "工单号", "信访件编号", "信访件号", "受理编号",
           "投诉编号", "举报编号", "案件编号", "id"),
    "received_on": ("受理日期", "受理时间", "登记时间", "来电时间", "收件日期", "登记日期", "来件日期",
                    "投诉日期", "投诉时间", "举报时间", "来信日期", "来访日期", "日期", "received_on"),
    "channel": ("来源", "来源渠道", "受理渠道", "渠道", "信访来源", "投诉渠道", "信访形式", "来源方式", "投诉方式",
                "举报方式", "channel"),
    "category": ("类别", "污染类别", "投诉类别", "污染类型", "诉求类型", "诉求分类", "问题类型", "问题分类",
                 "事项类型", "事项分类", "投诉类型", "举报类型", "category"),
    "summary": ("内容", "投诉内容", "反映问题", "事由", "主要内容", "诉求内容", "反映内容", "问题描述", "来电内容",
                "举报内容", "信访内容", "信访事项", "工单内容", "诉求描述", "summary"),
    "due_on": ("办结期限", "期限", "限办日期", "应办结日期", "办理时限", "办结时限", "处理时限", "办理期限",
               "截止日期", "截止时间", "due_on"),
    "handled_on": ("办结日期", "办结时间", "实际办结日期", "实际办结时间", "完成时间", "handled_on"),
    "result": ("处理结果", "办理结果", "处理情况", "办理情况", "办理意见", "处理意见", "答复意见", "答复内容",
               "回复内容", "result"),
    "sensitive": ("敏感", "敏感件", "是否敏感", "是否敏感件", "sensitive"),
    "site": ("关联点位", "涉及企业", "涉及单位", "关联企业", "点位编号", "site"),
    "township": ("乡镇", "所属乡镇", "所在乡镇", "乡镇(街道)", "乡镇街道", "所属街道", "属地", "township"),
    "lon": ("经度", "lon", "lng", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
    "address": ("诉求地址", "事发地址", "地址", "事发地点", "发生地址", "问题地址", "详细地址", "投诉地址",
                "污染地址", "地点", "address"),
    "office": ("承办单位", "办理单位", "承办部门", "责任单位", "处理单位", "office"),
    "complainant": ("投诉人", "来访人", "反映人", "来电人", "诉求人", "举报人", "信访人", "投诉人姓名", "complainant"),
    # recognised so that it is never mistaken for another column, and never stored
    "phone": ("联系电话", "电话", "来电号码", "手机", "手机号码", "联系方式", "phone"),
}
FIELD_LABELS = {"id": "编号", "received_on": "受理日期", "channel": "来源渠道", "category": "污染类别",
                "summary": "投诉内容", "due_on": "办结期限", "handled_on": "办结日期", "result": "处理结果",
                "sensitive": "敏感件", "site": "关联点位", "township": "乡镇", "lon": "经度", "lat": "纬度",
                "address": "地址", "office": "承办单位", "complainant": "投诉人", "phone": "联系电话"}
#: Columns of ``complaints`` beyond the contract (the stores keep extra columns): where an unplaced
#: complaint is, who handles it, who placed it on the map and when, and who recorded its handling and when
#: (``recorded_by``/``recorded_at`` stay who registered the complaint).
EXTRA_COLUMNS = {"address": "地址", "office": "承办单位", "placed_by": "定位人", "placed_at": "定位时间",
                 "handled_by": "办结登记人", "handled_at": "办结登记时间"}
#: Register fields read as multi-line text (TAB and line breaks kept when control characters are removed).
MULTILINE_FIELDS = frozenset({"summary", "result"})

CHANNEL_WORDS = {
    "省转办": "province", "省厅转办": "province", "省环保厅": "province", "省": "province", "省转": "province",
    "省交办": "province", "省信访局转办": "province", "省生态环境厅转办": "province",
    "市局转办": "city", "市转办": "city", "市环保局": "city", "市": "city", "市转": "city", "市交办": "city",
    "市信访局转办": "city", "市生态环境局转办": "city", "市政府转办": "city",
    "区政府转办": "district", "区转办": "district", "区政府": "district", "区": "district", "区交办": "district",
    "区信访局转办": "district", "县政府转办": "district", "县转办": "district",
    "热线": "hotline", "12369": "hotline", "电话": "hotline", "24小时热线": "hotline", "举报电话": "hotline",
    "12345": "hotline", "12345热线": "hotline", "12345政务服务热线": "hotline", "12345政务热线": "hotline",
    "12369环保举报": "hotline", "12369环保举报热线": "hotline", "市长热线": "hotline", "来电": "hotline",
    "来访": "visit", "上访": "visit", "走访": "visit", "群众来访": "visit", "接访": "visit",
    "来信": "letter", "信件": "letter", "人民来信": "letter", "群众来信": "letter",
    "网络": "online", "网上": "online", "网站": "online", "邮件": "online", "电子邮件": "online",
    # mailboxes of leaders are web forms: the medium counts, not whose name is on the box
    "领导信箱": "online", "市长信箱": "online", "区长信箱": "online", "县长信箱": "online", "局长信箱": "online",
    "书记信箱": "online", "微信": "online", "微信公众号": "online", "公众号": "online", "网上信访": "online",
    "网上投诉": "online", "app": "online", "浙里办": "online", "留言板": "online", "人民网留言": "online",
}
#: Channel wordings beyond :data:`CHANNEL_WORDS`, by what they contain (first rule that matches wins):
#: a forwarding (转办/交办) by the office named first, then the medium.
_FORWARDED = re.compile(r"转办|交办|转交|转来|转送|批转")
_FORWARDING_OFFICE = {"省": "province", "市": "city", "区": "district", "县": "district"}
CHANNEL_RULES = (
    (re.compile(r"12345|12369|热线|电话|来电"), "hotline"),
    (re.compile(r"信箱|邮箱|邮件|网|微信|公众号|app|留言|浙里办|小程序|微博"), "online"),
    (re.compile(r"来信|信件|书信"), "letter"),
    (re.compile(r"来访|上访|走访|接访"), "visit"),
)

CATEGORY_WORDS = {
    "水": "water", "水污染": "water", "废水": "water", "污水": "water",
    "气": "air", "大气": "air", "废气": "air", "空气": "air", "烟尘": "air",
    "噪声": "noise", "噪音": "noise", "固废": "solid", "固体废物": "solid", "垃圾": "solid",
    "异味": "odour", "臭味": "odour", "气味": "odour", "恶臭": "odour", "其他": "other", "其它": "other",
    "大气污染": "air", "油烟": "air", "餐饮油烟": "air", "扬尘": "air", "噪声污染": "noise", "噪声扰民": "noise",
    "固废污染": "solid", "危险废物": "solid", "危废": "solid", "臭气": "odour", "异味扰民": "odour",
    "黑臭水体": "water", "辐射": "other", "电磁辐射": "other", "土壤污染": "other", "生态破坏": "other",
}
#: Category wordings beyond :data:`CATEGORY_WORDS`, by what a part of ``环境保护-水污染`` contains (in this
#: order: a smell before the water it comes from, a compound word before its single characters).
CATEGORY_RULES = (
    (("臭气", "恶臭", "异味", "气味", "臭味"), "odour"),
    (("黑臭", "水体", "水质", "废水", "污水", "水污染", "排污口"), "water"),
    (("噪", "声音", "振动", "震动"), "noise"),
    (("油烟", "大气", "废气", "空气", "烟尘", "粉尘", "扬尘", "焚烧", "尾气"), "air"),
    (("固废", "固体废", "危废", "危险废", "废物", "垃圾", "废渣", "渣土", "污泥"), "solid"),
    (("水",), "water"),
    (("烟", "尘", "气"), "air"),
    (("臭",), "odour"),
    (("辐射", "土壤", "生态破坏"), "other"),
)
#: Only the top of a hotline's tree (诉求类型 ``环境保护``): counted as ``other``, with a warning.
GENERIC_CATEGORIES = {"环境保护", "生态环境", "环境污染", "环保", "污染", "环境", "生态环保", "环境问题"}
_CATEGORY_SPLIT = re.compile(r"[-—–_/>|·•、,;:\\→]+")
TRUE_WORDS = {"是", "敏感", "y", "yes", "true", "1", "√", "✓"}
FALSE_WORDS = {"否", "不敏感", "n", "no", "false", "0", "×", "一般"}
#: Mainland mobile numbers and landlines (with an area code) inside free text.
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")
_DAYS = re.compile(r"^(\d{1,3})(?:个)?(天|日|自然日|工作日)?$")


def _word(v) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(v))).lower()


def parse_channel(v) -> str | None:
    """The channel code of a register's 来源 cell (``12345政务服务热线`` → ``hotline``, ``市转办`` → ``city``,
    ``市长信箱`` → ``online``); ``None`` when it names none (``传真``, ``信访``)."""
    w = _word(v)
    if w in CHANNEL_LABELS or w in CHANNEL_WORDS:
        return w if w in CHANNEL_LABELS else CHANNEL_WORDS[w]
    w = re.sub(r"[()（）\[\]【】\-—_/·、,，]", "", w)
    if w in CHANNEL_WORDS:
        return CHANNEL_WORDS[w]
    if _FORWARDED.search(w):
        offices = [(w.find(k), code) for k, code in _FORWARDING_OFFICE.items() if k in w]
        if offices:
            return min(offices)[1]
    for pattern, code in CHANNEL_RULES:
        if pattern.search(w):
            return code
    return None


def _category_part(w: str) -> str | None:
    if w in CATEGORY_LABELS or w in CATEGORY_WORDS:
        return w if w in CATEGORY_LABELS else CATEGORY_WORDS[w]
    for words, code in CATEGORY_RULES:
        if any(k in w for k in words):
            return code
    return None


def parse_category(v) -> str | None:
    """The category code of a register's 类别 cell: a code, a word (``噪音``) or a hotline's path
    (``环境保护-水污染``, ``生态环境/噪声扰民``: the most specific part that names one wins); ``None``
    otherwise (only ``环境保护`` is ``None`` too: :func:`prepare` counts it as ``other`` with a warning)."""
    parts = [p for p in _CATEGORY_SPLIT.split(_word(v)) if p]
    for part in reversed(parts):
        code = _category_part(part)
        if code is not None:
            return code
    return None


def _generic_category(v) -> bool:
    parts = [p for p in _CATEGORY_SPLIT.split(_word(v)) if p]
    return bool(parts) and all(p in GENERIC_CATEGORIES for p in parts)


def parse_bool(v) -> bool | None:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    w = _word(v)
    return True if w in TRUE_WORDS else False if w in FALSE_WORDS else None


def due_days() -> int:
    return int(config.get("casework", "complaint_due_days", DEFAULT_DUE_DAYS))


def parse_time_limit(v) -> tuple[int, bool] | None:
    """A time limit given as days (办理时限 ``15``, ``15天``, ``15个工作日``): ``(days, working_days)``;
    ``None`` when the cell is not one (a date, text)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
        return (int(f), False) if np.isfinite(f) and f.is_integer() and 0 < f <= MAX_LIMIT_DAYS else None
    m = _DAYS.match(_word(v))
    if not m or not 0 < int(m[1]) <= MAX_LIMIT_DAYS:
        return None
    return int(m[1]), m[2] == "工作日"


def due_from_limit(received: pd.Timestamp, days: int, working_days: bool) -> pd.Timestamp:
    """The due date ``days`` after ``received``: calendar days, or working days (Monday to Friday; public
    holidays are not known here, so a holiday week makes the true date later)."""
    if not working_days:
        return received + pd.Timedelta(days=days)
    return pd.Timestamp(np.busday_offset(np.datetime64(received.date(), "D"), days, roll="forward"))


def scrub_personal(summary: str, name: str | None = None, phone: str | None = None) -> str:
    """``summary`` without the complainant's name and phone numbers (a summary is shown to anyone reading
    the complaints page or a site's file; the name has its own column, a phone number none)."""
    out = summary
    if name and len(name) >= 2:
        out = out.replace(name, "（反映人）")
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) >= 7:
        out = out.replace(phone.strip(), "（电话已隐去）").replace(digits, "（电话已隐去）")
    return _PHONE_IN_TEXT.sub("（电话已隐去）", out)


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
    #: What the import changes in stored complaints, one ``edits`` row per field (who, when, old, new).
    edits: pd.DataFrame = field(default_factory=lambda: contract.empty("edits"))
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


def _file_findings(frame: pd.DataFrame, mapping: dict[str, str], src: dict[str, str]) -> list[Finding]:
    """Findings about the register as a whole: personal data left out, columns not imported."""
    out: list[Finding] = []
    if "phone" in src and (~frame[src["phone"]].map(_blank).astype(bool)).any():
        h = src["phone"]
        out.append(Finding(None, "", h, f"“{h}”是个人信息，未导入、不保存",
                           f"{h!r} holds personal data: not imported, not stored", "warning"))
    ignored = [str(c) for c in frame.columns if c not in mapping and not _blank(c)]
    if ignored:
        out.append(Finding(None, "", "、".join(ignored), f"以下列未识别，未导入：{'、'.join(ignored)}",
                           f"columns not recognised, not imported: {', '.join(ignored)}", "warning"))
    return out


def _stored_places(existing: pd.DataFrame | None) -> dict[str, tuple[object, object, object]]:
    """``{id: (point, placed_by, placed_at)}`` of the stored complaints that have a point: a register
    imported again keeps the place someone gave an address-only complaint."""
    if existing is None or not len(existing) or not hasattr(existing, "geometry"):
        return {}
    g = existing.geometry.values
    has = ~(shapely.is_missing(g) | shapely.is_empty(g))
    by = existing["placed_by"] if "placed_by" in existing.columns else pd.Series(None, index=existing.index)
    at = existing["placed_at"] if "placed_at" in existing.columns else pd.Series(pd.NaT, index=existing.index)
    return {str(i): (p, None if _blank(b) else str(b), a)
            for i, p, b, a in zip(existing["id"][has], g[has], by[has], at[has])}


def _stored_handling(existing: pd.DataFrame | None) -> dict[str, dict]:
    """``{id: {handled_on, result, handled_by, handled_at, recorded_by, recorded_at}}`` of the stored
    complaints: a register imported again keeps who registered a complaint and how it was handled."""
    if existing is None or not len(existing):
        return {}
    cols = ("handled_on", "result", "handled_by", "handled_at", "recorded_by", "recorded_at")
    df = pd.DataFrame({c: existing[c].to_numpy(dtype=object) if c in existing.columns else None for c in cols},
                      index=existing["id"].astype(str).to_numpy())
    df = df[~df.index.duplicated()]
    return df.to_dict("index")


def _handling_of(handled, result, before: dict | None, user: str, now, bad) -> tuple:
    """``(handled_on, result, handled_by, handled_at)`` to store for a register row.

    A complaint already handled in the store keeps its handling (date, result, who recorded it, when):
    a register that leaves it blank or says otherwise never reopens or rewrites it; where it says
    otherwise the row gets a warning saying what is kept. Otherwise the register's handling is stored,
    recorded by ``user`` at ``now``.
    """
    if before is not None and not _blank(before.get("handled_on")):
        kept_on, kept_result = pd.Timestamp(before["handled_on"]), before.get("result")
        kept_result = None if _blank(kept_result) else str(kept_result)
        differs = (handled is not None and handled.normalize() != kept_on.normalize()) or \
            (result is not None and result != kept_result)
        if differs:
            who = before.get("handled_by")
            by = "" if _blank(who) else f"，{who} 登记"
            by_en = "" if _blank(who) else f" by {who}"
            bad("handled_on", f"登记簿的办结信息与库中已登记的不一致，保留库中记录（{kept_on:%Y-%m-%d} 办结{by}）；"
                              f"如需更正请在信访投诉页办理",
                f"the register's handling differs from the one stored ({kept_on:%Y-%m-%d}{by_en}); the stored "
                f"handling is kept", "warning")
        at = before.get("handled_at")
        return (kept_on, kept_result, None if _blank(before.get("handled_by")) else before["handled_by"],
                pd.NaT if _blank(at) else pd.Timestamp(at))
    if handled is None:
        return None, result, None, pd.NaT
    return handled, result, user, pd.Timestamp(now)


def _due_on(v, rec, bad) -> pd.Timestamp | None:
    """The due date of a 办结期限/办理时限 cell: a date, or a number of (working) days after receipt."""
    limit = parse_time_limit(v)
    if limit is None:
        due = parse_date(v)
        if due is None:
            bad("due_on", f"办结期限“{_show(v)}”无法识别", "due date is not a date")
        return due
    if rec is None:
        return None  # the missing date received is reported already
    days, working = limit
    if working:
        bad("due_on", f"办理时限按受理后 {days} 个工作日计（未计节假日）",
            f"time limit counted as {days} working days after receipt (public holidays not counted)", "warning")
    elif not re.search(r"[天日]", _word(v)):
        bad("due_on", f"办理时限“{_show(v)}”按受理后 {days} 天计", f"time limit counted as {days} calendar days",
            "warning")
    return due_from_limit(rec, days, working)


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
    existing : the stored complaints (an id already stored is updated, with a warning; its place is kept
        when the register gives only an address).
    datum : the datum of the register's coordinates (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``).
    user : who imports (``recorded_by``).

    A row with neither coordinates nor a site but an address is kept without a point (未定位, a warning);
    findings name the header as written in the register.
    """
    datum = parse_datum(datum)  # the one datum parser: a bilingual error for a name it does not know
    user = (user or "").strip()
    if not user:
        raise GeoError("必须指明录入人。", "the recording user is required")
    now = now or dt.datetime.now().replace(microsecond=0)
    today = pd.Timestamp(now.date())
    mapping = dict(mapping) if mapping is not None else auto_mapping(frame.columns)
    src = {f: h for h, f in mapping.items()}
    # a finding names the column as the register heads it (a form's fields by their Chinese names)
    label = {f: src[f] if src.get(f, f) != f else FIELD_LABELS[f] for f in FIELD_LABELS}
    problems: list[Finding] = []
    for f in ("received_on", "channel", "category", "summary"):
        if f not in src:
            problems.append(Finding(None, "", FIELD_LABELS[f], f"缺少必需列“{FIELD_LABELS[f]}”",
                                       f"required column {f!r} missing"))
    if "site" not in src and "address" not in src and not {"lon", "lat"} <= set(src):
        problems.append(Finding(None, "", "经度/纬度", "缺少位置：须有“经度”“纬度”两列、“关联点位”列或“地址”列",
                                   "no location: give lon and lat columns, a site column or an address column"))
    if problems:
        return ComplaintIntake(contract.empty("complaints"), problems, datum, source)
    problems += _file_findings(frame, mapping, src)
    # control characters out of every cell read, before anything parses them (each cleaned cell reported)
    controls: dict[str, np.ndarray] = {}
    cleaned = {}
    for f, h in src.items():
        if h not in frame.columns:
            continue
        before = frame[h]
        out, removed = strip_controls(before, multiline=f in MULTILINE_FIELDS)
        if out is not before:
            cleaned[h] = out.to_numpy(dtype=object)
        if removed.any():
            controls[f] = removed
    if cleaned:
        frame = frame.copy()
        for h, values in cleaned.items():
            frame[h] = pd.Series(values, index=frame.index, dtype=object)
    history = _stored_handling(existing)
    sites = _site_index(frames)
    district = _district(frames.get("townships"))
    stored = set(existing["id"].dropna()) if existing is not None and len(existing) else set()
    placed = _stored_places(existing)
    year_count: dict[int, int] = {}
    for i in (existing["id"].dropna() if existing is not None and len(existing) else []):
        m = re.match(r"^TS(\d{4})-(\d+)$", str(i))
        if m:
            year_count[int(m[1])] = max(year_count.get(int(m[1]), 0), int(m[2]))
    out_rows, seen = [], {}
    cell = lambda r, f: r[src[f]] if f in src else None  # noqa: E731
    text_of = lambda r, f: None if _blank(cell(r, f)) else re.sub(r"\s+", " ", _text(cell(r, f))).strip()  # noqa: E731
    for k, (_, r) in enumerate(frame.iterrows()):
        row_no = int(row_numbers[k]) if len(row_numbers) > k else k + 2
        rid = "" if _blank(cell(r, "id")) else _text(cell(r, "id"))
        found: list[Finding] = []

        def bad(f, zh, en, sev="error", found=found, row_no=row_no, rid=rid):  # bound now: one row's findings
            found.append(Finding(row_no, rid, label[f], zh, en, sev))

        for f, removed in controls.items():
            if removed[k]:
                # an id is changed by no rule but the register's own: refused, not cleaned into another
                bad(f, *(CONTROLS_IN_ID if f == "id" else CONTROLS_REMOVED), "error" if f == "id" else "warning")

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
        if cat is None and not _blank(cell(r, "category")) and _generic_category(cell(r, "category")):
            cat = "other"
            bad("category", f"“{_show(cell(r, 'category'))}”未写明污染类别，按“其他”计",
                "no pollution category given: counted as other", "warning")
        if cat is None:
            bad("category", f"污染类别“{_show(cell(r, 'category'))}”无效（可选：{'、'.join(CATEGORY_LABELS.values())}）",
                f"unknown category (one of {', '.join(CATEGORY_LABELS)})")
        complainant, phone = text_of(r, "complainant"), text_of(r, "phone")
        raw_summary = "" if _blank(cell(r, "summary")) else str(cell(r, "summary")).strip()
        summary = scrub_personal(raw_summary, complainant, phone)
        if summary != raw_summary:
            bad("summary", "投诉内容中的反映人姓名或电话号码已隐去", "the complainant's name or a phone number in the "
                "summary was replaced", "warning")
        if not summary:
            bad("summary", "投诉内容为空", "summary is empty")
        elif len(summary) > MAX_SUMMARY:
            bad("summary", f"投诉内容过长（上限 {MAX_SUMMARY} 字）", f"summary too long (limit {MAX_SUMMARY})")
        due = None
        if not _blank(cell(r, "due_on")):
            due = _due_on(cell(r, "due_on"), rec, bad)
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
        address = text_of(r, "address")
        if address is not None and len(address) > MAX_ADDRESS:
            bad("address", f"地址过长（上限 {MAX_ADDRESS} 字）", f"address too long (limit {MAX_ADDRESS})")
        layer = fid = None
        geom = None
        placed_by, placed_at = None, pd.NaT
        site_unknown = False
        if not _blank(cell(r, "site")):
            key = _text(cell(r, "site"))
            hit = sites.get(f"id:{key}") or sites.get(f"name:{key}")
            if hit is None:
                site_unknown = True
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
        elif geom is None and not site_unknown:
            if address and rid in placed:
                geom, placed_by, placed_at = placed[rid]  # placed by someone since the last import
            elif address:
                bad("address", f"未定位：只有地址“{address}”，导入后请在信访投诉页标注位置",
                    "not placed: only an address; place it on the complaints page after the import", "warning")
            else:
                bad("lon", "缺少位置：请填经纬度、关联点位或地址", "no location: give lon/lat, a site or an address")
        if not rid:
            year = rec.year if rec is not None else today.year
            year_count[year] = year_count.get(year, 0) + 1
            rid = f"TS{year}-{year_count[year]:03d}"
        if rid in seen:
            bad("id", f"编号与第{seen[rid]}行重复", f"id repeats row {seen[rid]}")
        seen.setdefault(rid, row_no)
        if rid in stored:
            bad("id", "该编号已存在，将被更新", "this id exists and will be updated", "warning")
        before = history.get(rid) if rid in stored else None
        result = None if _blank(cell(r, "result")) else str(cell(r, "result")).strip()
        handled, result, handled_by, handled_at = _handling_of(handled, result, before, user, now, bad)
        # who registered a complaint stays its author when a register brings it again
        author = before.get("recorded_by") if before is not None else None
        registered = before.get("recorded_at") if before is not None else None
        # every finding of this row carries the final id
        problems.extend(Finding(p.row, rid, p.column, p.why_zh, p.why, p.severity) for p in found)
        if any(p.severity == "error" for p in found):
            continue
        out_rows.append(dict(
            id=rid, received_on=rec, channel=ch, category=cat, summary=summary, due_on=due, handled_on=handled,
            result=result, sensitive=bool(sens), layer=layer, feature_id=fid, complainant=complainant,
            recorded_by=user if _blank(author) else author,
            recorded_at=pd.Timestamp(now) if _blank(registered) else pd.Timestamp(registered),
            address=address, office=text_of(r, "office"), placed_by=placed_by, placed_at=placed_at,
            handled_by=handled_by, handled_at=handled_at, geometry=geom))
    if not len(frame):
        problems.append(Finding(None, "", "", "登记簿中没有数据行", "the register has no rows"))
    rows = _rows_frame(out_rows)
    updated = [i for i in (r["id"] for r in out_rows) if i in stored]
    return ComplaintIntake(rows, problems, datum, source,
                           [i for i in (r["id"] for r in out_rows) if i not in stored], updated,
                           edits=_edits(rows, existing, updated, user=user, now=now, source=source))


#: Fields of a complaint a register brings again whose changes are kept in ``edits`` (the handling is kept
#: as it was, :func:`_handling_of`; the place given by hand too, :func:`_stored_places`).
EDITED_FIELDS = ("received_on", "channel", "category", "summary", "due_on", "sensitive", "layer", "feature_id",
                 "complainant", "address", "office", "geometry")


def _plain_value(v) -> str | None:
    """A stored value as the text an ``edits`` row holds: ISO dates, ``lon, lat`` for a point, else as is."""
    if v is None or _blank(v):
        return None
    if isinstance(v, shapely.Point):
        return f"{v.x:.7f}, {v.y:.7f}"
    if isinstance(v, (pd.Timestamp, dt.date)):
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    return str(v)


def _edits(rows: pd.DataFrame, existing: pd.DataFrame | None, updated: list[str], *, user: str, now,
           source: str) -> pd.DataFrame:
    """One ``edits`` row (``layer`` = ``complaints``) per field of :data:`EDITED_FIELDS` a re-imported
    register changes in a stored complaint: the old and the new value, who and when."""
    cols = TABLES["edits"].column_names
    if not updated or existing is None or not len(existing):
        return contract.empty("edits")
    old = existing.drop_duplicates("id", keep="last")
    old = old.set_index(old["id"].to_numpy())
    new = rows.set_index(rows["id"].to_numpy())
    recs = []
    for cid in updated:
        if cid not in old.index or cid not in new.index:
            continue
        for f in EDITED_FIELDS:
            if f not in old.columns or f not in new.columns:
                continue
            a, b = _plain_value(old.at[cid, f]), _plain_value(new.at[cid, f])
            if a != b:
                recs.append({"layer": "complaints", "feature_id": cid, "field": f, "old": a, "new": b,
                             "moved_m": np.nan, "source": f"导入 {source}" if source else "导入",
                             "recorded_at": pd.Timestamp(now), "recorded_by": user})
    if not recs:
        return contract.empty("edits")
    return contract.coerce("edits", pd.DataFrame(recs, columns=cols))


def _rows_frame(out_rows: list[dict]) -> gpd.GeoDataFrame:
    """Checked rows as a complaints frame: contract dtypes, then the extra columns (typed, so that a store
    creates them with their kinds even when every value is empty)."""
    cols = TABLES["complaints"].column_names + list(EXTRA_COLUMNS)
    df = pd.DataFrame(out_rows, columns=cols + ["geometry"])
    for c in ("placed_at", "handled_at"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ms]")
    for c in ("address", "office", "placed_by", "handled_by"):
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    rows = gpd.GeoDataFrame(df, geometry="geometry", crs=STORE_CRS)
    return contract.coerce("complaints", rows)


def _show(v) -> str:
    return "" if _blank(v) else _text(v)


def commit(store, intake: ComplaintIntake) -> None:
    """Write every checked complaint in one commit; refuse (nothing written) when any row has an error."""
    from .store import Change

    if not intake.ok:
        raise GeoError(f"有 {len(intake.errors)} 个错误，未写入任何数据。",
                       f"{len(intake.errors)} error(s); nothing was written", intake.errors)
    if len(intake.rows):
        changes = [Change("complaints", intake.rows, "upsert")]
        if len(intake.edits):  # what the register changed, in the same commit
            changes.append(Change("edits", intake.edits, "append"))
        store.commit(changes)


def _frames(store) -> dict:
    return store.read_many(["townships", *SITE_LAYERS])


def import_file(store, path: str | Path, *, datum: str = "wgs84", user: str, dry_run: bool = False,
                name: str | None = None, now: dt.datetime | None = None) -> ComplaintIntake:
    """Read, check and (unless ``dry_run`` or any error) write a complaints register (see :func:`prepare`)."""
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
                 today: dt.date | None = None, now: dt.datetime | None = None) -> None:
    """Record that a complaint was handled (date and result), and who recorded it when.

    Writes only ``handled_on``, ``result``, ``handled_by`` (``user``) and ``handled_at`` (``now``), inside one
    :meth:`~geo.store.Store.atomic` unit: who registered the complaint (``recorded_by``, ``recorded_at``)
    and anything else about it stay as stored, and a concurrent change is never undone.

    Raises
    ------
    geo.errors.GeoError
        No user, no such complaint, a date that is not one (or in the future, or before receipt), no
        result, or a complaint already handled (its handling is never replaced silently); nothing is written.
    """
    from .store import Change

    user = (user or "").strip()
    if not user:
        raise GeoError("必须指明录入人。", "the recording user is required")
    day = parse_date(handled_on)
    if day is None:
        raise GeoError("办结日期无法识别。", "the handled date is not a date")
    if day.date() > (today or dt.date.today()):
        raise GeoError("办结日期晚于今天。", "the handled date is in the future")
    # a form's text as a register's: control characters out (TAB and line breaks kept)
    result = strip_controls(pd.Series([result or ""], dtype=object), multiline=True)[0].iat[0]
    if not result.strip():
        raise GeoError("请填写处理结果。", "the result is required")
    cid = str(complaint_id).strip()
    when = pd.Timestamp(now or dt.datetime.now().replace(microsecond=0))

    def work(tx) -> None:
        row = tx.read("complaints", where={"id": [cid]}, for_update=True)
        if not len(row):
            raise GeoError(f"没有编号为“{complaint_id}”的投诉。", f"no complaint {complaint_id!r}")
        if day < row["received_on"].iat[0]:
            raise GeoError("办结日期早于受理日期。", "handled before it was received")
        done = row["handled_on"].iat[0]
        if not _blank(done):
            who = row["handled_by"].iat[0] if "handled_by" in row.columns else None
            by = "" if _blank(who) else f"（{who} 登记）"
            raise GeoError(f"投诉“{cid}”已于 {pd.Timestamp(done):%Y-%m-%d} 办结{by}，不重复登记。",
                           f"complaint {cid!r} was handled on {pd.Timestamp(done):%Y-%m-%d} already; not replaced")
        rows = gpd.GeoDataFrame({"id": [cid], "handled_on": [day], "result": [result.strip()[:MAX_SUMMARY]],
                                 "handled_by": [user], "handled_at": [when]},
                                geometry=[row.geometry.iat[0]], crs=STORE_CRS)
        tx.commit([Change("complaints", rows, "upsert", columns=["handled_on", "result", "handled_by", "handled_at"])])

    store.atomic(work)


# --- complaints without a point (未定位) ------------------------------------------------------

def is_unplaced(c: pd.DataFrame) -> pd.Series:
    """Complaints without a point (a register gave only an address): they wait for :func:`place`."""
    if not hasattr(c, "geometry"):
        return pd.Series(True, index=c.index)
    g = np.asarray(c.geometry.values, dtype=object)
    return pd.Series(shapely.is_missing(g) | shapely.is_empty(g), index=c.index)


def unplaced(c: pd.DataFrame, day=None) -> pd.DataFrame:
    """The complaints without a point, oldest first, as users read them (:func:`labelled` on ``day``)."""
    rows = c[is_unplaced(c).to_numpy()].sort_values(["received_on", "id"], kind="stable")
    return labelled(rows, day)


def _district(townships: pd.DataFrame | None):
    """The district as one geometry (the union of its townships), or ``None`` without townships."""
    if townships is None or not len(townships):
        return None
    return shapely.union_all(shapely.make_valid(np.asarray(townships.geometry.values, dtype=object)))


def place(store, complaint_id: str, lon, lat, *, datum: str = "wgs84", user: str,
          now: dt.datetime | None = None, replace: bool = False) -> shapely.Point:
    """Give a complaint its point: typed coordinates in ``datum`` or a click on the page's map (WGS84).

    Writes only the point and who placed it when (``placed_by``, ``placed_at``), inside one
    :meth:`~geo.store.Store.atomic` unit, so a concurrent change to the complaint is never undone.

    Parameters
    ----------
    complaint_id : the complaint's id.
    lon, lat : longitude and latitude (numbers or text: ``118.95``, ``118°57'E``).
    datum : the datum of ``lon, lat`` (any name :func:`geo.crs.parse_datum` knows); stored in WGS84.
    user : who places it (required).
    replace : also move a complaint that already has a point (else refused).

    Returns
    -------
    The stored point (WGS84).

    Raises
    ------
    geo.errors.GeoError
        No user, unknown datum, not coordinates, a place outside the district, no such complaint, or one
        already placed (without ``replace``); nothing is written.
    """
    user = (user or "").strip()
    if not user:
        raise GeoError("必须指明录入人。", "the recording user is required")
    datum = parse_datum(datum)  # the one datum parser: a bilingual error for a name it does not know
    x = None if _blank(lon) else parse_coord(lon)
    y = None if _blank(lat) else parse_coord(lat)
    if x is None or y is None or not (-180 <= x <= 180 and -90 <= y <= 90):
        raise GeoError("经纬度无效。", "the coordinates are not valid lon/lat")
    wx, wy = to_wgs84(np.array([x]), np.array([y]), datum)
    point = shapely.Point(float(wx[0]), float(wy[0]))
    district = _district(store.read("townships"))
    if district is not None and not district.contains(point):
        raise GeoError("位置不在本区范围内（坐标系选错了？）。", "the place lies outside the district (wrong datum?)")
    cid = str(complaint_id).strip()
    when = pd.Timestamp(now or dt.datetime.now().replace(microsecond=0))

    def work(tx) -> None:
        from .store import Change

        row = tx.read("complaints", where={"id": [cid]}, for_update=True)
        if not len(row):
            raise GeoError(f"没有编号为“{cid}”的投诉。", f"no complaint {cid!r}")
        if not replace and not bool(is_unplaced(row).iat[0]):
            raise GeoError(f"投诉“{cid}”已有位置。", f"complaint {cid!r} already has a place")
        rows = gpd.GeoDataFrame({"id": [cid], "placed_by": [user], "placed_at": [when]},
                                geometry=[point], crs=STORE_CRS)
        tx.commit([Change("complaints", rows, "upsert", columns=["geometry", "placed_by", "placed_at"])])

    store.atomic(work)
    return point


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
        # a complaint without a point is in no township yet: counted apart from those outside the district
        out["by_township"] = tw.where(~is_unplaced(c), "（未定位）").fillna("（区外）").value_counts()
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
    """Complaints as users read them: Chinese headers and labels, a handling state word, the address and
    承办单位 the register gave, and 定位 (未定位 for a complaint without a point)."""
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
        "地址": _extra_text(c, "address"), "承办单位": _extra_text(c, "office"),
        "定位": np.where(is_unplaced(c), "未定位", "已定位"),
    })
    return out.reset_index(drop=True)


def _extra_text(c: pd.DataFrame, column: str) -> np.ndarray:
    """An extra text column of the complaints (absent from stores written before it), blanks as ``""``."""
    if column not in c.columns:
        return np.full(len(c), "", dtype=object)
    s = c[column].astype(object)
    return s.where(s.notna(), "").to_numpy(dtype=object)
