"""One file per site (一企一档): everything the store knows about one enterprise, kiln or farm.

:func:`site_file` gathers it as data (facts, status history, riverside
distance, outfall readings and their judgment, inspections and findings,
complaints, attachments); :func:`to_pdf` prints it as one PDF.

Outfalls are judged against GB 8978-1996 Table 4 (units built after
1998-01-01), grade 一级 — the grade for discharges into class III waters, the
target of the district's river sections: pH 6–9, COD ≤ 100 mg/L, NH3-N ≤ 15 mg/L.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from . import contract, rules
from .contract import CATEGORY_LABELS, CHANNEL_LABELS, FINDING_LABELS, INSPECTION_KIND_LABELS, SITE_LAYERS, TABLES
from .errors import GeoError

#: GB 8978-1996 Table 4, grade 一级: parameter → (min, max) in mg/L (pH dimensionless).
DISCHARGE_LIMITS = {"pH": (6.0, 9.0), "COD": (None, 100.0), "NH3-N": (None, 15.0)}
DISCHARGE_STANDARD = "GB 8978-1996 表4 一级标准"
TABLES_NEEDED = ("townships", "rivers", "waterbodies", *SITE_LAYERS, "status_events", "sampling_points", "readings",
                 "complaints", "inspections", "inspection_visits", "attachments")


@dataclass
class SiteFile:
    """The file of one site (every table already labelled for reading)."""

    layer: str
    id: str
    name: str
    facts: pd.DataFrame  # 项目 / 内容
    history: pd.DataFrame
    water: dict  # distance_m, water_name, limit_m, within_limit
    outfalls: pd.DataFrame  # latest readings with their judgment
    visits: pd.DataFrame
    complaints: pd.DataFrame
    attachments: pd.DataFrame  # id, name, mime, size, sha256, uploaded_at, uploaded_by, note, thumb (no content)
    notes: list[str] = field(default_factory=list)


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


def judge(parameter: str, value: float) -> str:
    """``达标`` / ``超标`` against :data:`DISCHARGE_LIMITS`, ``—`` for parameters without a limit here."""
    lim = DISCHARGE_LIMITS.get(parameter)
    if lim is None or value is None or np.isnan(value):
        return "—"
    lo, hi = lim
    ok = (lo is None or value >= lo) and (hi is None or value <= hi)
    return "达标" if ok else "超标"


def site_file(frames_or_store, layer: str, feature_id: str, *, cache_thumbs: bool = False) -> SiteFile:
    """Gather the file of site ``feature_id`` of ``layer`` (raises :class:`GeoError` when it does not exist).

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
    limit = rules.riverside_limit_m()
    water = {"distance_m": None, "water_name": None, "limit_m": limit, "within_limit": None}
    if len(t["rivers"]) or len(t["waterbodies"]):
        d = distance_to_water(gpd.GeoDataFrame(hit[["id"]], geometry=hit.geometry.values, crs=hit.crs),
                              t["rivers"], t["waterbodies"])
        dist = float(d["distance_m"].iat[0]) if "distance_m" in d.columns else None
        name = d["water_name"].iat[0] if "water_name" in d.columns else None
        water = {"distance_m": dist, "water_name": None if pd.isna(name) else name,
                 "limit_m": limit, "within_limit": None if dist is None or np.isnan(dist) else bool(dist <= limit)}
    outfalls = _outfalls(t, fid) if layer == "enterprises" else pd.DataFrame()
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
                    complaints.reset_index(drop=True), mine.sort_values("uploaded_at").reset_index(drop=True))


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


def _outfalls(t: dict, fid: str) -> pd.DataFrame:
    sp = t["sampling_points"]
    if "feature_id" not in sp.columns:
        return pd.DataFrame()
    mine = sp[(sp["kind"] == "outfall") & (sp["feature_id"] == fid)]
    r = t["readings"]
    r = r[r["point_id"].isin(mine["id"])]
    if not len(r):
        return pd.DataFrame()
    r = r.sort_values("sampled_at")
    latest = r.groupby(["point_id", "parameter"]).tail(1)
    n_over = r.assign(j=[judge(p, v) for p, v in zip(r["parameter"], r["value"])]).query("j == '超标'") \
        .groupby(["point_id", "parameter"]).size()
    n_all = r.groupby(["point_id", "parameter"]).size()
    names = dict(zip(mine["id"], mine["name"]))
    return pd.DataFrame({
        "排口": latest["point_id"].map(names), "指标": latest["parameter"],
        "最近采样": latest["sampled_at"].dt.strftime("%Y-%m-%d"), "数值": latest["value"].round(3),
        "单位": latest["unit"].fillna(""),
        "判定": [judge(p, v) for p, v in zip(latest["parameter"], latest["value"])],
        "超标次数/采样次数": [f"{int(n_over.get((a, b), 0))}/{int(n_all.get((a, b), 0))}"
                        for a, b in zip(latest["point_id"], latest["parameter"])],
    }).reset_index(drop=True)


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
        doc.para(f"截至 {pd.Timestamp(as_of):%Y年%m月%d日}")
    doc.heading("基本情况").table(f.facts)
    doc.heading("状态记录").table(f.history)
    doc.heading("沿河距离")
    if f.water["distance_m"] is None:
        doc.para("无河流、水库数据。")
    else:
        inside = ("在" if f.water["within_limit"] else "不在") + f"沿河{f.water['limit_m']:g}米范围内"
        doc.para(f"距最近水体（{f.water['water_name'] or '—'}）{f.water['distance_m']:.0f} 米，{inside}。")
    if f.layer == "enterprises":
        doc.heading(f"排口监测（按 {DISCHARGE_STANDARD} 判定）").table(f.outfalls)
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
