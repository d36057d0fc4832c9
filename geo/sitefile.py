"""One file per site (一企一档): everything the store knows about one enterprise, kiln or farm.

:func:`site_file` gathers it as data (facts, status history, riverside
distance, outfall readings and their judgment, inspections and findings,
complaints, attachments); :func:`to_pdf` prints it as one PDF.

Outfalls are judged by :mod:`geo.discharge` and nothing else: each outfall's latest sampling
(:func:`geo.discharge.latest_outfalls` and, reading by reading, :func:`geo.discharge.latest_sampling`)
against GB 8978-1996 at the outfall's grade, or its permit limits — the same standard, limits, 达标 / 超标
and 超标倍数 text as the water page, the wall and the briefing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from . import contract, discharge, fmt, rules
from .contract import CATEGORY_LABELS, CHANNEL_LABELS, FINDING_LABELS, INSPECTION_KIND_LABELS, SITE_LAYERS, TABLES
from .errors import GeoError

TABLES_NEEDED = ("townships", "rivers", "waterbodies", *SITE_LAYERS, "status_events", "sampling_points", "readings",
                 "complaints", "inspections", "inspection_visits", "attachments", "edits")


@dataclass
class SiteFile:
    """The file of one site (every table already labelled for reading)."""

    layer: str
    id: str
    name: str
    facts: pd.DataFrame  # 项目 / 内容
    history: pd.DataFrame
    water: dict  # distance_m, water_name, limit_m, within_limit
    outfalls: pd.DataFrame  # each outfall's latest sampling, reading by reading, with its judgment
    visits: pd.DataFrame
    complaints: pd.DataFrame
    attachments: pd.DataFrame  # id, name, mime, size, sha256, uploaded_at, uploaded_by, note, thumb (no content)
    notes: list[str] = field(default_factory=list)
    #: one row per outfall, as the water page lists it: 排口, 采样日期, 执行标准, 判定, 超标项目（超标倍数）
    outfall_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: every other recorded change (a ledger update's rename, move …): 修改时间, 字段, 原值, 新值, 移动距离, 修改人, 来源
    edits: pd.DataFrame = field(default_factory=pd.DataFrame)


def _fmt(v, kind: str = "str") -> str:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return "—"
    if kind == "date" or (isinstance(v, pd.Timestamp) and v == v.normalize()):
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d %H:%M")
    if kind == "bool":
        return "是" if v else "否"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def site_file(frames_or_store, layer: str, feature_id: str, *, cache_thumbs: bool = False, as_of=None) -> SiteFile:
    """Gather the file of site ``feature_id`` of ``layer`` (raises :class:`GeoError` when it does not exist).

    Outfall readings count up to the end of ``as_of`` (default: all of them), as on the water page.

    From a store, attachments are read without their content: the listing and the stored thumbnails
    (:func:`geo.attachments.listing`); a thumbnail not stored yet (a row older than thumbnails) is made
    from that one file, and stored when ``cache_thumbs``. From frames (a dict of tables), thumbnails
    missing from ``attachments`` are made from its ``content`` column when it has one. The file keeps
    no content either way: the original is read only to be downloaded.
    """
    from .buffers import distance_to_water
    from .history import history_of
    from .spatial import township_of

    if layer not in SITE_LAYERS:
        raise GeoError(f"“{layer}”不是点位图层（可选：企业、石灰窑（棚）、养殖场）。",
                       f"not a site layer: {layer!r} (one of {', '.join(SITE_LAYERS)})")
    store = None if isinstance(frames_or_store, dict) else frames_or_store
    t = frames_or_store if store is None else store.read_many([n for n in TABLES_NEEDED if n != "attachments"])
    sites = t[layer]
    hit = sites[sites["id"] == str(feature_id)]
    if not len(hit):
        raise GeoError(f"{contract.LAYER_LABELS[layer]}中没有编号为“{feature_id}”的点位。",
                       f"no {layer} site with id {feature_id!r}")
    site = hit.iloc[0]
    fid = str(feature_id)
    spec = TABLES[layer]
    facts = []
    for col in spec.columns:
        if col.name in hit.columns:
            v = site[col.name]
            if col.name == "status":
                v = contract.status_label(v, layer)
            facts.append((col.label or col.name, _fmt(v, col.kind)))
    tw = township_of(hit, t["townships"]).iat[0] if len(t["townships"]) else None
    facts.insert(2, ("所在乡镇", _fmt(tw)))
    g = site.geometry
    facts.append(("经纬度", f"{g.x:.6f}, {g.y:.6f}" if g is not None and not g.is_empty else "—"))
    ev = history_of(t["status_events"], layer, fid)
    history = pd.DataFrame({"生效日期": ev["effective_on"].dt.strftime("%Y-%m-%d"),
                            "状态": [contract.status_label(s, layer) for s in ev["status"]],
                            "录入人": ev["recorded_by"].fillna(""), "备注": ev["note"].fillna("")})
    changed = _edits_table(t.get("edits"), layer, fid)
    limit = rules.riverside_limit_m()
    water = {"distance_m": None, "water_name": None, "limit_m": limit, "within_limit": None}
    if len(t["rivers"]) or len(t["waterbodies"]):
        d = distance_to_water(gpd.GeoDataFrame(hit[["id"]], geometry=hit.geometry.values, crs=hit.crs),
                              t["rivers"], t["waterbodies"])
        dist = float(d["distance_m"].iat[0]) if "distance_m" in d.columns else None
        name = d["water_name"].iat[0] if "water_name" in d.columns else None
        water = {"distance_m": dist, "water_name": None if pd.isna(name) else name,
                 "limit_m": limit, "within_limit": None if dist is None or np.isnan(dist) else bool(dist <= limit)}
    outfalls, summary = _outfalls(t, fid, as_of) if layer == "enterprises" else (pd.DataFrame(), pd.DataFrame())
    visits = _visits(t, layer, fid)
    comp = t["complaints"]
    comp = comp[(comp["layer"] == layer) & (comp["feature_id"] == fid)].sort_values("received_on")
    complaints = pd.DataFrame({
        "编号": comp["id"], "受理日期": comp["received_on"].dt.strftime("%Y-%m-%d"),
        "来源": comp["channel"].map(CHANNEL_LABELS), "类别": comp["category"].map(CATEGORY_LABELS),
        "内容": comp["summary"], "办结日期": comp["handled_on"].dt.strftime("%Y-%m-%d").fillna("未办结"),
        "处理结果": comp["result"].fillna("")})
    keys = {("inspection_visits", v) for v in visits.get("_id", [])} | {(layer, fid)}
    keys |= {("complaints", c) for c in comp["id"]}
    mine = _attachments(store, t.get("attachments"), keys, cache_thumbs)
    return SiteFile(layer, fid, str(site["name"]), pd.DataFrame(facts, columns=["项目", "内容"]),
                    history.reset_index(drop=True), water, outfalls, visits.drop(columns="_id", errors="ignore"),
                    complaints.reset_index(drop=True), mine.sort_values("uploaded_at").reset_index(drop=True),
                    outfall_summary=summary, edits=changed)


def _edits_table(edits: pd.DataFrame | None, layer: str, fid: str) -> pd.DataFrame:
    """The site's ``edits`` (:func:`geo.history.edits_of`) as a person reads them: labels, no codes, no blanks."""
    from .history import edits_of

    cols = ["修改时间", "字段", "原值", "新值", "移动距离", "修改人", "来源"]
    if edits is None or not len(edits):
        return pd.DataFrame(columns=cols)
    e = edits_of(edits, layer, fid)
    labels = {c.name: c.label or c.name for c in TABLES[layer].columns}
    labels["geometry"] = "位置"
    moved = pd.to_numeric(e["moved_m"], errors="coerce") if "moved_m" in e.columns else pd.Series(np.nan, index=e.index)
    return pd.DataFrame({
        "修改时间": pd.to_datetime(e["recorded_at"]).dt.strftime("%Y-%m-%d %H:%M"),
        "字段": [labels.get(f, f) for f in e["field"]],
        "原值": [_fmt(v) for v in e["old"]], "新值": [_fmt(v) for v in e["new"]],
        "移动距离": ["—" if pd.isna(m) else f"{m:,.0f} 米" for m in moved],
        "修改人": [_fmt(v) for v in e["recorded_by"]], "来源": [_fmt(v) for v in e["source"]],
    }, columns=cols)


def _attachments(store, att: pd.DataFrame | None, keys: set, cache_thumbs: bool) -> pd.DataFrame:
    """The attachments of the owners ``keys`` ((layer, id) pairs) with a ``thumb`` each and no ``content``."""
    from . import attachments as ATT

    if store is not None:
        owners = {"layer": sorted({a for a, _ in keys}), "feature_id": sorted({str(b) for _, b in keys})}
        att = ATT.listing(store, owners)
    elif att is None:
        att = contract.empty("attachments")
    mine = att[[(lay, f) in keys for lay, f in zip(att["layer"], att["feature_id"])]] if len(att) else att
    mine = mine.copy()
    if "thumb" not in mine.columns:
        mine["thumb"] = pd.Series([None] * len(mine), index=mine.index, dtype=object)
    if store is not None:
        mine = ATT.with_thumbs(store, mine, save=cache_thumbs)
    elif "content" in mine.columns:
        todo = ATT.needs_thumb(mine) & mine["content"].notna()
        mine["thumb"] = mine["thumb"].astype(object)
        for i in mine.index[todo.to_numpy()]:
            mine.at[i, "thumb"] = ATT.preview(mine.at[i, "content"]) or ATT.NO_THUMB
    return mine.drop(columns="content", errors="ignore")


def _outfalls(t: dict, fid: str, as_of=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The outfalls of site ``fid`` judged by :mod:`geo.discharge`: (readings of the latest sampling, per outfall).

    Both come from the functions the water page, the wall and the briefing use, so the file says what they say.
    """
    sp = t["sampling_points"]
    if "feature_id" not in sp.columns or "kind" not in sp.columns:
        return pd.DataFrame(), pd.DataFrame()
    mine = sp[(sp["kind"] == "outfall") & (sp["feature_id"].astype(str) == fid)]
    if not len(mine):
        return pd.DataFrame(), pd.DataFrame()
    readings = t["readings"]
    judged = discharge.outfall_readings(readings, mine, as_of=as_of)
    if not len(judged):
        return pd.DataFrame(), pd.DataFrame()
    names = dict(zip(mine["id"].astype(str), mine["name"].astype(str)))
    n_all = judged.groupby(["point_id", "parameter"]).size()
    n_over = judged[judged["verdict"] == discharge.EXCEEDS].groupby(["point_id", "parameter"]).size()
    last = discharge.latest_sampling(readings, mine, as_of=as_of)
    last = last.sort_values("sampled_at", kind="stable").sort_values("point_id", kind="stable")
    over = (last["verdict"] == discharge.EXCEEDS).to_numpy()
    bd = last["below_detection"].astype("boolean").fillna(False).to_numpy(bool) if "below_detection" in last.columns \
        else np.zeros(len(last), bool)
    detail = pd.DataFrame({
        "排口": last["point_id"].map(names), "指标": last["parameter"],
        "采样日期": last["sampled_at"].dt.strftime("%Y-%m-%d"),
        # as the water page prints a reading: four significant digits, ``<`` for a detection limit
        "数值": [("<" if b else "") + fmt.plain(v, 4) for v, b in zip(last["value"], bd)],
        "单位": last["unit"].fillna("") if "unit" in last.columns else "",
        "限值": [lt or "—" for lt in last["limit_text"]],
        "依据": [b or "—" for b in last["basis"]],
        "判定": last["verdict"],
        # the water page's wording, one reading at a time: ``TP 超标4.11倍``
        "超标项目（超标倍数）": [discharge.exceedance_text(last.iloc[[k]]) if o else "—" for k, o in enumerate(over)],
        "超标次数/采样次数": [f"{int(n_over.get((a, b), 0))}/{int(n_all.get((a, b), 0))}"
                        for a, b in zip(last["point_id"], last["parameter"])],
    }).reset_index(drop=True)
    o = discharge.latest_outfalls({"sampling_points": mine, "readings": readings}, as_of=as_of)
    summary = pd.DataFrame({
        "排口": o["name"], "采样日期": o["sampled_on"].map(fmt.iso_date),
        "执行标准": discharge.CODE + " " + o["grade_label"], "判定": o["verdict"],
        "超标项目（超标倍数）": o["exceeding"].fillna("").replace("", "—"),
    }).reset_index(drop=True)
    return detail, summary


def _visits(t: dict, layer: str, fid: str) -> pd.DataFrame:
    v = t["inspection_visits"]
    v = v[(v["layer"] == layer) & (v["feature_id"] == fid)]
    insp = t["inspections"].set_index("id")
    v = v.sort_values("visited_at")
    return pd.DataFrame({
        "_id": v["id"],
        "巡查编号": v["inspection_id"],
        "日期": [_fmt(insp["held_on"].get(i), "date") for i in v["inspection_id"]],
        "类型": [INSPECTION_KIND_LABELS.get(insp["kind"].get(i), "") for i in v["inspection_id"]],
        "参加部门": [insp["departments"].get(i) or "" if i in insp.index else "" for i in v["inspection_id"]],
        "检查结果": v["finding"].map(FINDING_LABELS).fillna("未记录"), "备注": v["note"].fillna(""),
        "检查人": v["recorded_by"].fillna(""),
    }).reset_index(drop=True)


def to_pdf(f: SiteFile, *, as_of=None, data_version: str | None = None, generated_by: str | None = None) -> bytes:
    """The site file as one PDF: every attachment listed with type, size and full SHA-256 (so a printed file
    can be checked against the stored one), images as thumbnails and PDF documents by their first page."""
    from .attachments import TYPES, thumb_png
    from .casepdf import Doc

    from .io.writers import Meta

    meta = Meta(title=f"一企一档 · {f.name}（{f.id}）",
                rule="点位档案：基本情况、状态记录、沿河距离（至河岸或水面的精确距离，本地横轴墨卡托投影）、"
                     "排口监测（GB 8978-1996 或排污许可限值）、巡查记录、信访投诉、附件（含 SHA-256）",
                as_of=None if as_of is None else pd.Timestamp(as_of).date(), data_version=data_version,
                generated_by=generated_by)
    doc = Doc(meta.title, meta=meta)
    if as_of is not None:
        doc.para(f"截至 {fmt.date_zh(as_of)}")
    doc.heading("基本情况").table(f.facts)
    doc.heading("状态记录").table(f.history)
    if len(f.edits):
        doc.heading("修改记录").table(f.edits)
    doc.heading("沿河距离")
    if f.water["distance_m"] is None:
        doc.para("无河流、水库数据。")
    else:
        inside = ("在" if f.water["within_limit"] else "不在") + f"沿河{f.water['limit_m']:g}米范围内"
        doc.para(f"距最近水体（{f.water['water_name'] or '—'}）{f.water['distance_m']:.0f} 米，{inside}。")
    if f.layer == "enterprises":
        doc.heading("排口监测（最新一次采样）")
        doc.small(discharge.RULE + "。")
        if len(f.outfall_summary):
            doc.table(f.outfall_summary)
        doc.table(f.outfalls)
    doc.heading("巡查记录").table(f.visits)
    doc.heading("信访投诉").table(f.complaints)
    doc.heading("附件")
    if not len(f.attachments):
        doc.para("（无）")
    for k, (_, a) in enumerate(f.attachments.iterrows(), start=1):
        doc.para(f"{k}. {a['name']}")
        doc.small(f"{TYPES.get(a['mime'], a['mime'])} · {_size(a['size'])} · 上传 {_fmt(a['uploaded_at'])} "
                  f"{a['uploaded_by'] or ''}" + (f" · {a['note']}" if _fmt(a['note']) != "—" else ""))
        doc.small(f"SHA-256 {a['sha256']}")
        png = thumb_png(a.get("thumb"))  # stored once; the original is never decoded here
        if png:
            is_pdf = a["mime"] == "application/pdf"
            doc.image(png, "（文档第 1 页）" if is_pdf else "", border=is_pdf)
    return doc.pdf()


def _size(n) -> str:
    n = int(n)
    return f"{n} 字节" if n < 1024 else f"{n / 1024:.1f} KB（{n} 字节）" if n < 1024 ** 2 \
        else f"{n / 1024 ** 2:.1f} MB（{n} 字节）"
