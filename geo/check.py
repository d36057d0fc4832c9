"""Validation of tables and stores against the data contract.

``check_table`` looks at one table on its own (columns, types, codes, ids,
geometries); ``check_store`` adds what needs several tables (sites inside a
township, status equal to the latest event, references). Each finding is a
:class:`Problem` with a bilingual reason, so a ledger clerk and a developer
read the same report.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import shapely

from .contract import (ACCEPTED_EPSG, ADDED_TABLES, CASEWORK_TABLES, DISCHARGE_PARAMETERS, PARAMETERS, SITE_LAYERS,
                       STATUS, TABLES, parse_permit)


@dataclass(frozen=True)
class Problem:
    table: str
    row_id: str  # the row's key (or row number as "#n" for tables without a key)
    column: str
    why: str  # English
    why_zh: str  # Chinese
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        return f"{self.severity}\t{self.table}\t{self.row_id}\t{self.column}\t{self.why_zh} / {self.why}"

    def as_dict(self) -> dict:
        return asdict(self)


_GEOM_IDS = {"Point": {0}, "LineString": {1, 5}, "Polygon": {3, 6}}
#: Tables whose rows may wait for their place: a complaint a register gives only by its address is stored
#: without a point (未定位) until someone places it on the complaints page; a warning, not a refusal.
UNPLACED_OK = ("complaints",)
_GEOM_ZH = {"Point": "点", "LineString": "线", "Polygon": "面"}


def _bad_permit(text) -> bool:
    from .errors import GeoError

    try:
        parse_permit(text)
    except GeoError:
        return True
    return False

def _row_ids(table: str, df: pd.DataFrame) -> pd.Series:
    key = TABLES[table].key
    if key and key in df.columns:
        return df[key].astype(object).where(df[key].notna(), None).map(
            lambda v: f"#{'?' if v is None else v}" if v is None else str(v))
    return pd.Series([f"#{i + 1}" for i in range(len(df))], index=df.index)


def check_table(table: str, df: pd.DataFrame, only_ids: set | None = None) -> list[Problem]:
    """Problems of one table on its own. ``only_ids`` limits row findings to those keys."""
    spec = TABLES[table]
    out: list[Problem] = []
    ids = _row_ids(table, df)
    if only_ids is not None and spec.key:
        in_scope = df[spec.key].isin(only_ids) if spec.key in df.columns else pd.Series(True, index=df.index)
    else:
        in_scope = pd.Series(True, index=df.index)

    def add(mask, column, why, why_zh, severity="error"):
        mask = pd.Series(mask, index=df.index).fillna(False).astype(bool) & in_scope
        for rid in ids[mask]:
            out.append(Problem(table, rid, column, why, why_zh, severity))

    for col in spec.columns:
        if col.required and col.name not in df.columns:
            out.append(Problem(table, "", col.name, "required column missing", "缺少必需字段"))
    _check_values(table, spec, df, ids, in_scope, add, out)
    if spec.key and spec.key in df.columns:
        dup = df[spec.key].notna() & df[spec.key].duplicated(keep=False)
        add(dup, spec.key, "duplicate id", "编号重复")
    _check_ranges(table, df, add)
    if table in CASEWORK_TABLES:
        _check_casework(table, df, add)
    if spec.geometry:
        out += _check_geometry(table, df, ids, in_scope)
    return out


def _check_values(table: str, spec, df: pd.DataFrame, ids: pd.Series, in_scope: pd.Series, add,
                  found: list[Problem]) -> None:
    """Types, nulls and codes of each column, in column order into ``found`` (numbers that are not numbers
    are listed with their value)."""
    for col in spec.columns:
        if col.name not in df.columns:
            continue
        s = df[col.name]
        if not col.nullable:
            add(s.isna(), col.name, "empty value", "值为空")
        if col.kind in ("float", "int"):
            num = pd.to_numeric(s, errors="coerce")
            bad = (s.notna() & num.isna() & in_scope).to_numpy()
            for rid, v in zip(ids[bad], s[bad]):
                found.append(Problem(table, rid, col.name, f"not a number: {v!r}", f"不是数字：{v!r}"))
            if col.kind == "int":
                add(num.notna() & (num != np.round(num)), col.name, "not a whole number", "不是整数")
        elif col.kind in ("date", "datetime"):
            parsed = pd.to_datetime(s, errors="coerce", format="mixed")
            add(s.notna() & parsed.isna(), col.name, "not a date", "不是有效日期")
        allowed = spec.codes.get(col.name)
        if allowed:
            add(s.notna() & ~s.isin(allowed), col.name,
                f"unknown code (expected one of {', '.join(allowed)})", f"取值无效（应为 {'、'.join(allowed)} 之一）")


def _check_ranges(table: str, df: pd.DataFrame, add) -> None:
    """Values a type allows but the domain does not (negative widths, classes outside 1–5, …)."""
    if table == "rivers" and "width_m" in df.columns:
        add(pd.to_numeric(df["width_m"], errors="coerce") < 0, "width_m", "width below 0", "河宽小于0")
    if table == "farms" and "head_count" in df.columns:
        add(pd.to_numeric(df["head_count"], errors="coerce") < 0, "head_count", "head count below 0", "存栏量小于0")
    if table == "sampling_points" and "target_class" in df.columns:
        tc = pd.to_numeric(df["target_class"], errors="coerce")
        add(tc.notna() & ~tc.isin([1, 2, 3, 4, 5]), "target_class", "target class must be 1–5", "目标类别应为1–5")
    if table == "sampling_points" and "discharge_grade" in df.columns:
        g = pd.to_numeric(df["discharge_grade"], errors="coerce")
        add(g.notna() & ~g.isin([1, 2, 3]), "discharge_grade", "discharge grade must be 1–3 (GB 8978-1996)",
            "排放标准级别应为1–3（一级、二级、三级）")
    if table == "sampling_points" and "permit_limits" in df.columns:
        add(df["permit_limits"].map(_bad_permit).astype(bool), "permit_limits",
            "permit limits must read code=value; … (e.g. COD=80; pH=6-9)", "排污许可限值格式应为“指标=限值；…”（如 COD=80；pH=6-9）")
    if table == "readings" and "parameter" in df.columns:
        add(df["parameter"].notna() & ~df["parameter"].isin(PARAMETERS + DISCHARGE_PARAMETERS), "parameter",
            "unknown parameter code", "未知指标代码")
    if table == "status_events" and {"layer", "status"} <= set(df.columns):
        ok = pd.Series(False, index=df.index)
        for layer, codes in STATUS.items():
            ok |= (df["layer"] == layer) & df["status"].isin(codes)
        add(df["layer"].isin(SITE_LAYERS) & ~ok, "status", "status not valid for this layer", "状态与图层不符")


def _dates_of(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df.columns:
        return pd.Series(pd.NaT, index=df.index)
    return pd.to_datetime(df[column], errors="coerce", format="mixed").dt.normalize()


def _check_casework(table: str, df: pd.DataFrame, add) -> None:
    """Rules of the casework tables that one table shows on its own (reported through check_table's ``add``)."""
    import hashlib

    if table == "complaints":
        received, due, handled = (_dates_of(df, c) for c in ("received_on", "due_on", "handled_on"))
        add(due < received, "due_on", "due date before the date received", "办结期限早于受理日期")
        add(handled < received, "handled_on", "handled before it was received", "办结日期早于受理日期")
        if {"layer", "feature_id"} <= set(df.columns):
            add(df["layer"].isna() != df["feature_id"].isna(), "feature_id",
                "a linked site needs both layer and id", "关联点位须同时填写图层和编号")
    elif table == "inspections" and {"kind", "departments"} <= set(df.columns):
        add((df["kind"] == "joint") & df["departments"].isna(), "departments",
            "a joint patrol names its departments", "联合巡查须填写参加部门")
    elif table == "attachments":
        if "size" in df.columns:
            add(pd.to_numeric(df["size"], errors="coerce") < 0, "size", "size below 0", "大小小于0")
        if {"content", "size", "sha256"} <= set(df.columns):
            blobs = df["content"].to_numpy(dtype=object)
            is_bytes = np.array([isinstance(b, (bytes, bytearray, memoryview)) for b in blobs], dtype=bool)
            add(df["content"].notna() & ~is_bytes, "content", "content is not binary", "内容不是二进制数据")
            sizes = pd.to_numeric(df["size"], errors="coerce").to_numpy()
            digests = df["sha256"].astype(object).to_numpy()
            wrong_size = np.zeros(len(df), dtype=bool)
            wrong_hash = np.zeros(len(df), dtype=bool)
            for i in np.flatnonzero(is_bytes):
                b = bytes(blobs[i])
                wrong_size[i] = not (sizes[i] == len(b))
                wrong_hash[i] = digests[i] != hashlib.sha256(b).hexdigest()
            add(wrong_size, "size", "size differs from the content", "大小与文件内容不符")
            add(wrong_hash, "sha256", "SHA-256 differs from the content", "SHA-256 与文件内容不符")
    elif table == "assessment_entries":
        if "score" in df.columns:
            sc = pd.to_numeric(df["score"], errors="coerce")
            add(~np.isfinite(sc.fillna(0.0)), "score", "score is not a finite number", "得分不是有效数字")
        if "year" in df.columns:
            yr = pd.to_numeric(df["year"], errors="coerce")
            add(yr.notna() & ((yr < 1990) | (yr > 2100)), "year", "year outside 1990–2100", "年度超出1990–2100")


def _check_geometry(table: str, df: pd.DataFrame, ids: pd.Series, in_scope: pd.Series) -> list[Problem]:
    spec = TABLES[table]
    out: list[Problem] = []
    crs = getattr(df, "crs", None)
    if not hasattr(df, "geometry"):
        return [Problem(table, "", "geometry", "table has no geometry", "缺少几何字段")]
    if crs is None:
        out.append(Problem(table, "", "geometry", "no CRS; expected EPSG:4326", "未设置坐标系，应为 EPSG:4326"))
    elif crs.to_epsg() not in ACCEPTED_EPSG:
        out.append(Problem(table, "", "geometry", f"CRS is {crs.to_string()}, expected EPSG:4326",
                           f"坐标系为 {crs.to_string()}，应为 EPSG:4326（WGS84/CGCS2000）"))
    g = np.asarray(df.geometry.values, dtype=object)
    missing = shapely.is_missing(g) | shapely.is_empty(g)
    type_ok = np.isin(shapely.get_type_id(g), list(_GEOM_IDS[spec.geometry]))
    valid = shapely.is_valid(g)
    bounds = shapely.bounds(g)
    with np.errstate(invalid="ignore"):
        out_of_range = (bounds[:, 0] < -180) | (bounds[:, 2] > 180) | (bounds[:, 1] < -90) | (bounds[:, 3] > 90)
    scope = in_scope.to_numpy()
    for i in np.flatnonzero(scope & missing):
        if table in UNPLACED_OK:
            out.append(Problem(table, ids.iloc[i], "geometry", "not placed yet (no point)", "未定位（尚无位置）",
                               "warning"))
        else:
            out.append(Problem(table, ids.iloc[i], "geometry", "missing or empty geometry", "缺少几何或几何为空"))
    for i in np.flatnonzero(scope & ~missing & ~type_ok):
        out.append(Problem(table, ids.iloc[i], "geometry", f"geometry is {shapely.get_type_id(g[i])!r}, "
                           f"expected {spec.geometry}", f"几何类型应为{_GEOM_ZH[spec.geometry]}"))
    for i in np.flatnonzero(scope & ~missing & type_ok & ~valid):
        reason = shapely.is_valid_reason(g[i])
        out.append(Problem(table, ids.iloc[i], "geometry", f"invalid geometry: {reason}", f"几何无效：{reason}"))
    if crs is None or crs.to_epsg() in ACCEPTED_EPSG:
        for i in np.flatnonzero(scope & ~missing & out_of_range):
            out.append(Problem(table, ids.iloc[i], "geometry", "coordinates outside lon/lat range",
                               "坐标超出经纬度范围"))
    return out


def check_frames(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    """Every problem in a set of tables: each table on its own, then across tables."""
    out: list[Problem] = []
    for name in TABLES:
        if name == "meta":
            continue
        if name not in tables:
            if name not in ADDED_TABLES:  # a store from before casework (or published classes) has none
                out.append(Problem(name, "", "", "table missing", "缺少数据表"))
            continue
        out += check_table(name, tables[name])
    out += _check_across(tables)
    return out


def _check_across(t: dict[str, pd.DataFrame]) -> list[Problem]:
    from .spatial import township_of

    out: list[Problem] = []
    townships = t.get("townships")
    events = t.get("status_events")
    for layer in SITE_LAYERS:
        sites = t.get(layer)
        if sites is None or len(sites) == 0 or "id" not in sites.columns or not hasattr(sites, "geometry"):
            continue
        ok_geom = ~(shapely.is_missing(sites.geometry.values) | shapely.is_empty(sites.geometry.values))
        if townships is not None and len(townships) and _crs_ok(sites) and _crs_ok(townships):
            tw = township_of(sites[ok_geom], townships)
            for sid in sites.loc[ok_geom, "id"][tw.isna().to_numpy()]:
                out.append(Problem(layer, str(sid), "geometry", "site lies outside every township",
                                   "点位不在任何乡镇（街道）范围内"))
        if events is not None and {"layer", "feature_id", "status", "effective_on"} <= set(events.columns) \
                and "status" in sites.columns:
            ev = events[events["layer"] == layer].copy()
            ev["_eff"] = pd.to_datetime(ev["effective_on"], errors="coerce", format="mixed")
            ev["_rec"] = pd.to_datetime(ev.get("recorded_at"), errors="coerce", format="mixed") \
                if "recorded_at" in ev.columns else pd.NaT
            ev["_n"] = np.arange(len(ev))
            latest = ev.sort_values(["_eff", "_rec", "_n"]).groupby("feature_id").tail(1).set_index("feature_id")["status"]
            current = sites.drop_duplicates("id").set_index("id")["status"]
            both = current.index.intersection(latest.index)
            for sid in both[(current.loc[both].to_numpy() != latest.loc[both].to_numpy())]:
                out.append(Problem(layer, str(sid), "status",
                                   f"status {current.loc[sid]!r} differs from latest event {latest.loc[sid]!r}",
                                   f"当前状态“{current.loc[sid]}”与最新状态记录“{latest.loc[sid]}”不一致"))
            for sid in current.index.difference(latest.index):
                out.append(Problem(layer, str(sid), "status", "no status event for this site",
                                   "该点位没有状态记录", "warning"))
            for fid in pd.Index(ev["feature_id"].unique()).difference(current.index):
                out.append(Problem("status_events", str(fid), "feature_id", f"event refers to unknown {layer} id",
                                   "状态记录引用了不存在的编号"))
    out += _check_casework_refs(t)
    readings, points = t.get("readings"), t.get("sampling_points")
    if readings is not None and points is not None and "point_id" in readings.columns and "id" in points.columns:
        for pid in pd.Index(readings["point_id"].dropna().unique()).difference(points["id"]):
            out.append(Problem("readings", str(pid), "point_id", "reading refers to unknown sampling point",
                               "监测数据引用了不存在的监测点"))
    return out


def _check_casework_refs(t: dict[str, pd.DataFrame]) -> list[Problem]:
    """Casework rows that name a site, an inspection or a record that does not exist."""
    out: list[Problem] = []
    ids = {layer: set(t[layer]["id"].dropna()) for layer in SITE_LAYERS
           if t.get(layer) is not None and "id" in t[layer].columns}
    for table, row_key in (("complaints", "id"), ("inspection_visits", "id")):
        df = t.get(table)
        if df is None or not {"layer", "feature_id"} <= set(df.columns):
            continue
        for layer, known in ids.items():
            bad = df[(df["layer"] == layer) & df["feature_id"].notna() & ~df["feature_id"].isin(known)]
            for _, r in bad.iterrows():
                out.append(Problem(table, str(r.get(row_key, "")), "feature_id", f"refers to unknown {layer} id",
                                   "引用了不存在的点位编号"))
    visits, inspections = t.get("inspection_visits"), t.get("inspections")
    if visits is not None and inspections is not None and "inspection_id" in visits.columns:
        for _, r in visits[~visits["inspection_id"].isin(inspections["id"])].iterrows():
            out.append(Problem("inspection_visits", str(r.get("id", "")), "inspection_id",
                               "refers to unknown inspection", "引用了不存在的巡查"))
    att = t.get("attachments")
    if att is not None and len(att) and {"layer", "feature_id"} <= set(att.columns):
        for layer in att["layer"].dropna().unique():
            df = t.get(layer)
            key = TABLES[layer].key if layer in TABLES else None
            if df is None or key is None or key not in df.columns:
                continue
            for _, r in att[(att["layer"] == layer) & ~att["feature_id"].isin(df[key])].iterrows():
                out.append(Problem("attachments", str(r.get("id", "")), "feature_id",
                                   f"attached to unknown {layer} id", "附件所属记录不存在"))
    return out


def _crs_ok(df) -> bool:
    return df.crs is not None and df.crs.to_epsg() in ACCEPTED_EPSG


def check_store(store) -> list[Problem]:
    """Every problem in ``store`` (see :func:`check_frames`)."""
    present = set(store.tables())
    frames = {name: store.read_raw(name) for name in TABLES if name in present}
    return check_frames(frames)

