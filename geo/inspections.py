"""Inspections (联合巡查): a planned patrol becomes an inspection; inspectors record each stop's finding.

An inspection holds its stops as ``inspection_visits`` rows (id =
``<inspection id>-<stop number>``) at the site's point. Recording a finding
updates that row: finding, note, time, the inspector and, when the phone gave
one, the place the finding was made. Photos go to ``attachments`` in the same
commit.

A finding can change what the register says about the site: ``closed_confirmed``
at a site not yet closed, or ``violation`` at a site the register has as closed,
yields a *proposed* status event (:class:`Proposal`). It is written only when
the inspector confirms it (:func:`confirm`), with the inspector as its author;
the visit keeps its own record either way.

Rule: a joint patrol is an inspection of kind ``joint`` with at least four
departments; the bureau holds at least two each month (每半月一次以上).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import contract
from .contract import DEPARTMENT_SEP, FINDING_LABELS, INSPECTION_KIND_LABELS, SITE_LAYERS, STORE_CRS, TABLES
from .rules import RESOLVED
from .errors import GeoError

#: Joint patrols required per month, and departments a joint patrol needs.
JOINT_PER_MONTH = 2
JOINT_MIN_DEPARTMENTS = 4
MAX_NOTE = 500


def departments_of(text) -> list[str]:
    """The departments named in ``inspections.departments`` (split on 、，, and spaces)."""
    if not isinstance(text, str):
        return []
    import re

    return [d for d in re.split(r"[、，,;；\s]+", text.strip()) if d]


def is_joint_patrol(inspections: pd.DataFrame) -> pd.Series:
    """Kind ``joint`` with at least :data:`JOINT_MIN_DEPARTMENTS` departments."""
    n = inspections["departments"].map(lambda t: len(set(departments_of(t))))
    return (inspections["kind"] == "joint") & (n >= JOINT_MIN_DEPARTMENTS)


def _user(user: str) -> str:
    user = (user or "").strip()
    if not user:
        raise GeoError("必须指明录入人。", "the recording user is required")
    return user


def _next_id(existing: pd.DataFrame, day: pd.Timestamp) -> str:
    prefix = f"XC{day:%Y%m%d}-"
    taken = [i for i in existing["id"].dropna() if str(i).startswith(prefix)] if len(existing) else []
    n = 1
    while f"{prefix}{n:02d}" in taken:
        n += 1
    return f"{prefix}{n:02d}"


def new_inspection(store, *, held_on, kind: str, departments, team: str = "", note: str = "",
                   stops: pd.DataFrame | None = None, user: str, inspection_id: str | None = None,
                   now: dt.datetime | None = None) -> str:
    """Create an inspection and its planned stops in one commit; returns the inspection id.

    ``stops``: rows with ``layer``, ``id`` (or ``feature_id``) and a point geometry (a patrol plan's
    ``visited`` frame; stops of other layers are mapped to the enterprise an outfall belongs to when known,
    else left out). ``departments``: a list or a 、-joined string.
    """
    from .store import Change

    user = _user(user)
    if kind not in INSPECTION_KIND_LABELS:
        raise GeoError(f"巡查类型“{kind}”无效（可选：{'、'.join(INSPECTION_KIND_LABELS.values())}）。",
                       f"unknown inspection kind {kind!r}")
    try:
        day = pd.Timestamp(held_on).normalize()
    except (TypeError, ValueError):
        day = pd.NaT
    if pd.isna(day):
        raise GeoError("巡查日期无法识别。", "the inspection date is not a date")
    depts = departments_of(DEPARTMENT_SEP.join(departments) if isinstance(departments, (list, tuple))
                           else departments)
    if kind == "joint" and len(set(depts)) < JOINT_MIN_DEPARTMENTS:
        raise GeoError(f"联合巡查须有至少 {JOINT_MIN_DEPARTMENTS} 个部门参加（现有 {len(set(depts))} 个）。",
                       f"a joint patrol needs at least {JOINT_MIN_DEPARTMENTS} departments")
    if len(note or "") > MAX_NOTE:
        raise GeoError(f"备注过长（上限 {MAX_NOTE} 字）。", f"note too long (limit {MAX_NOTE})")
    existing = store.read("inspections")
    iid = inspection_id or _next_id(existing, day)
    if inspection_id and len(existing) and (existing["id"] == inspection_id).any():
        raise GeoError(f"巡查编号“{inspection_id}”已存在。", f"inspection {inspection_id!r} exists")
    now = now or dt.datetime.now().replace(microsecond=0)
    row = pd.DataFrame([dict(id=iid, held_on=day, kind=kind, departments=DEPARTMENT_SEP.join(depts) or None,
                             team=team or None, note=note or None, recorded_by=user, recorded_at=pd.Timestamp(now))])
    changes = [Change("inspections", row, "upsert")]
    visits = visits_from_stops(iid, stops, store) if stops is not None else None
    if visits is not None and len(visits):
        changes.append(Change("inspection_visits", visits, "upsert"))
    store.commit(changes)
    return iid


def visits_from_stops(inspection_id: str, stops: pd.DataFrame, store=None) -> gpd.GeoDataFrame:
    """Planned stops as unrecorded visit rows (finding empty), in the plan's order."""
    rows = []
    outfall_owner = {}
    if store is not None and "sampling_points" in set(stops.get("layer", [])):
        sp = store.read("sampling_points")
        outfall_owner = dict(zip(sp["id"], sp.get("feature_id", pd.Series(None, index=sp.index))))
    order = stops
    if {"team", "order"} <= set(stops.columns):
        order = stops.sort_values(["team", "order"], kind="stable")
    for _, s in order.iterrows():
        layer, fid = s["layer"], str(s.get("id", s.get("feature_id")))
        if layer == "sampling_points":
            owner = outfall_owner.get(fid)
            if not isinstance(owner, str):
                continue
            layer, fid = "enterprises", owner
        if layer not in SITE_LAYERS:
            continue
        rows.append(dict(inspection_id=inspection_id, layer=layer, feature_id=fid, visited_at=pd.NaT, finding=None,
                         note=None, recorded_by=None, located_by="site", geometry=s.geometry))
    df = pd.DataFrame(rows, columns=["inspection_id", "layer", "feature_id", "visited_at", "finding", "note",
                                     "recorded_by", "located_by", "geometry"])
    df = df.drop_duplicates(["layer", "feature_id"]).reset_index(drop=True)
    df.insert(0, "id", [f"{inspection_id}-{k + 1:02d}" for k in range(len(df))])
    df["seq"] = np.arange(1, len(df) + 1)
    return gpd.GeoDataFrame(df, geometry="geometry", crs=STORE_CRS)


def from_plan(store, plan, *, kind: str = "joint", departments, team: str = "", note: str = "", user: str,
              held_on=None) -> str:
    """Turn a patrol plan (:class:`geo.patrol.PatrolPlan`) into an inspection with its stops."""
    return new_inspection(store, held_on=held_on or plan.day, kind=kind, departments=departments, team=team,
                          note=note, stops=plan.visited, user=user)


@dataclass(frozen=True)
class Proposal:
    """A status event a finding suggests (written only on :func:`confirm`)."""

    layer: str
    feature_id: str
    status: str
    effective_on: pd.Timestamp
    note: str
    visit_id: str

    @property
    def label(self) -> str:
        return (f"{contract.LAYER_LABELS[self.layer]} {self.feature_id} → "
                f"{contract.status_label(self.status, self.layer)}（{self.effective_on:%Y-%m-%d}）")


def proposed_event(layer: str, current_status: str, finding: str) -> str | None:
    """The status a finding implies at a site, or ``None``: closed confirmed at a site not resolved → closed;
    a violation at a site the register has as resolved → operating (it produces again)."""
    resolved = RESOLVED.get(layer, frozenset())
    if finding == "closed_confirmed" and current_status not in resolved:
        return "closed"
    if finding == "violation" and current_status in resolved:
        return "operating"
    return None


def record_finding(store, visit_id: str, finding: str, *, note: str = "", user: str,
                   location: tuple[float, float] | None = None, photos=(), when: dt.datetime | None = None,
                   inspection_id: str | None = None, layer: str | None = None, feature_id: str | None = None
                   ) -> Proposal | None:
    """Record a stop's finding (and photos) in one commit; return the status event it suggests, if any.

    Parameters
    ----------
    visit_id : the stop (``inspection_visits.id``); or ``None`` with ``inspection_id``, ``layer`` and
        ``feature_id`` to add an unplanned stop to an inspection.
    finding : ``ok``, ``violation``, ``closed_confirmed`` or ``not_found`` (or the Chinese label).
    location : (lon, lat) in WGS84 from the phone, else the site's point is kept.
    photos : ``(name, bytes)`` pairs; checked by :func:`geo.attachments.prepare` (type sniffed from content).
    """
    from .attachments import prepare as prepare_attachment
    from .store import Change

    user = _user(user)
    code = {v: k for k, v in FINDING_LABELS.items()}.get(finding, finding)
    if code not in FINDING_LABELS:
        raise GeoError(f"检查结果“{finding}”无效（可选：{'、'.join(FINDING_LABELS.values())}）。",
                       f"unknown finding {finding!r} (one of {', '.join(FINDING_LABELS)})")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise GeoError(f"备注过长（上限 {MAX_NOTE} 字）。", f"note too long (limit {MAX_NOTE})")
    visits = store.read("inspection_visits")
    if visit_id:
        row = visits[visits["id"] == str(visit_id)]
        if not len(row):
            raise GeoError(f"没有巡查点位记录“{visit_id}”。", f"no inspection stop {visit_id!r}")
        row = row.copy()
    else:
        insp = store.read("inspections")
        if inspection_id is None or not (insp["id"] == inspection_id).any():
            raise GeoError(f"没有巡查“{inspection_id}”。", f"no inspection {inspection_id!r}")
        if layer not in SITE_LAYERS:
            raise GeoError("请选择点位图层。", f"not a site layer: {layer!r}")
        sites = store.read(layer)
        site = sites[sites["id"] == str(feature_id)]
        if not len(site):
            raise GeoError(f"{contract.LAYER_LABELS[layer]}中没有编号为“{feature_id}”的点位。",
                           f"no {layer} site {feature_id!r}")
        mine = visits[visits["inspection_id"] == inspection_id]
        n = len(mine) + 1
        while f"{inspection_id}-{n:02d}" in set(visits["id"]):
            n += 1
        row = gpd.GeoDataFrame(dict(id=[f"{inspection_id}-{n:02d}"], inspection_id=[inspection_id], layer=[layer],
                                    feature_id=[str(feature_id)], seq=[n], located_by=["site"]),
                               geometry=[site.geometry.iat[0]], crs=STORE_CRS)
    when = when or dt.datetime.now().replace(microsecond=0)
    if location is not None:
        lon, lat = (float(v) for v in location)
        if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise GeoError("定位坐标无效。", "the device location is not a valid lon/lat")
        row["geometry"] = [shapely.Point(lon, lat)]
        row["located_by"] = "device"
    row["finding"] = code
    row["note"] = note or None
    row["visited_at"] = pd.Timestamp(when)
    row["recorded_by"] = user
    vid = str(row["id"].iat[0])
    att_rows = [prepare_attachment(name, data, layer="inspection_visits", feature_id=vid, user=user, now=when)
                for name, data in photos]
    changes = [Change("inspection_visits", row, "upsert")]
    if att_rows:
        changes.append(Change("attachments", pd.concat(att_rows, ignore_index=True), "upsert"))
    store.commit(changes)
    lay, fid = row["layer"].iat[0], row["feature_id"].iat[0]
    sites = store.read(lay)
    cur = sites.loc[sites["id"] == fid, "status"]
    status = proposed_event(lay, cur.iat[0] if len(cur) else "", code)
    if status is None:
        return None
    why = f"巡查{row['inspection_id'].iat[0]}：{FINDING_LABELS[code]}" + (f"（{note}）" if note else "")
    return Proposal(lay, fid, status, pd.Timestamp(when).normalize(), why, vid)


def confirm(store, proposal: Proposal, *, user: str, today: dt.date | None = None):
    """Write the proposed status event, with the inspector as its author (via :func:`geo.updates.update_status`)."""
    from .store import Change
    from .updates import update_status

    user = _user(user)
    result = update_status(store, proposal.layer, proposal.feature_id, proposal.status, proposal.effective_on,
                           proposal.note, user, today=today)
    visits = store.read("inspection_visits")
    row = visits[visits["id"] == proposal.visit_id].copy()
    if len(row):
        row["event_status"] = proposal.status
        store.commit([Change("inspection_visits", row, "upsert")])
    return result


# --- figures ------------------------------------------------------------------------------

def joint_by_month(inspections: pd.DataFrame, start, end) -> pd.DataFrame:
    """Joint patrols held per month from ``start`` to ``end`` against the twice-a-month rule.

    Columns: ``month`` (YYYY-MM), ``joint`` (count), ``required``, ``met`` (bool), ``half_months``
    (how many of the month's two halves saw a joint patrol: 每半月一次以上).
    """
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    j = inspections[is_joint_patrol(inspections) & inspections["held_on"].between(start, end)]
    months = pd.period_range(start, end, freq="M")
    rows = []
    for m in months:
        days = j.loc[j["held_on"].dt.to_period("M") == m, "held_on"]
        halves = len(set((days.dt.day > 15).tolist()))
        rows.append(dict(month=str(m), joint=len(days), required=JOINT_PER_MONTH,
                         met=len(days) >= JOINT_PER_MONTH, half_months=halves))
    return pd.DataFrame(rows, columns=["month", "joint", "required", "met", "half_months"])


def findings_summary(visits: pd.DataFrame, inspections: pd.DataFrame | None = None, start=None, end=None) -> dict:
    """Sites visited and findings by kind (recorded visits only), optionally within dates."""
    v = visits[visits["finding"].notna()]
    if start is not None:
        v = v[v["visited_at"] >= pd.Timestamp(start)]
    if end is not None:
        v = v[v["visited_at"] < pd.Timestamp(end) + pd.Timedelta(days=1)]
    by = v["finding"].value_counts().reindex(list(FINDING_LABELS), fill_value=0)
    return {"visits": len(v), "sites": int(v[["layer", "feature_id"]].drop_duplicates().shape[0]),
            "by_finding": by, "by_layer": v.groupby("layer")["feature_id"].nunique()}


def labelled_inspections(inspections: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    n = visits.groupby("inspection_id").size()
    done = visits[visits["finding"].notna()].groupby("inspection_id").size()
    viol = visits[visits["finding"] == "violation"].groupby("inspection_id").size()
    i = inspections.sort_values("held_on", ascending=False)
    return pd.DataFrame({
        "编号": i["id"], "日期": i["held_on"].dt.strftime("%Y-%m-%d"),
        "类型": i["kind"].map(INSPECTION_KIND_LABELS), "参加部门": i["departments"].fillna(""),
        "联合巡查(≥4部门)": np.where(is_joint_patrol(i), "是", "否"), "巡查组": i["team"].fillna(""),
        "点位": i["id"].map(n).fillna(0).astype(int), "已记录": i["id"].map(done).fillna(0).astype(int),
        "违规": i["id"].map(viol).fillna(0).astype(int),
    }).reset_index(drop=True)


def stops_of(store, inspection_id: str) -> pd.DataFrame:
    """The stops of one inspection with each site's name and current status (for the phone page)."""
    v = store.read("inspection_visits")
    v = v[v["inspection_id"] == inspection_id].copy()
    # a store written by others may lack the optional stop number and visit id: derive them
    if "seq" not in v.columns:
        v = v.sort_values("visited_at", kind="stable")
        v["seq"] = np.arange(1, len(v) + 1)
    if "id" not in v.columns:
        v["id"] = [f"{inspection_id}-{n}" for n in v["seq"]]
    v = v.sort_values("seq", kind="stable")
    names, statuses = {}, {}
    for layer in SITE_LAYERS:
        s = store.read(layer)
        names.update({(layer, i): n for i, n in zip(s["id"], s["name"])})
        statuses.update({(layer, i): st for i, st in zip(s["id"], s["status"])})
    v = v.copy()
    v["name"] = [names.get((lay, f), f) for lay, f in zip(v["layer"], v["feature_id"])]
    v["status"] = [statuses.get((lay, f), "") for lay, f in zip(v["layer"], v["feature_id"])]
    return v.reset_index(drop=True)


__all__ = ["JOINT_PER_MONTH", "JOINT_MIN_DEPARTMENTS", "Proposal", "is_joint_patrol", "new_inspection", "from_plan",
           "record_finding", "confirm", "joint_by_month", "findings_summary", "proposed_event", "stops_of",
           "visits_from_stops", "labelled_inspections", "departments_of", "TABLES"]
