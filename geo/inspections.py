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


def plan_team_stops(plan, store=None) -> list[tuple[int, str, gpd.GeoDataFrame]]:
    """Each team of a patrol plan with its visited stops in the team's route order: ``(team, label, stops)``.

    Every stop the plan visits is kept (sampling stops at outfalls too: :func:`visits_from_stops` makes an
    outfall a stop at the enterprise it belongs to, the contract's only layers of a stop being
    :data:`~geo.contract.SITE_LAYERS`); teams without a stop that can be recorded (only river sections, or no
    stops at all) are left out. ``label`` is the plan's name of the team (第一组 …).
    """
    from .patrol import team_label

    v = plan.visited
    labels = {}
    if getattr(plan, "teams", None) is not None and {"team", "label"} <= set(plan.teams.columns):
        labels = {int(t): str(lab) for t, lab in zip(plan.teams["team"], plan.teams["label"])}
    out = []
    for k in sorted({int(t) for t in v["team"].dropna()}):
        stops = v[(v["team"] == k).fillna(False).to_numpy(bool)].sort_values("order", kind="stable")
        if len(visits_from_stops("check", stops, store)):
            out.append((k, labels.get(k) or team_label(k), stops))
    return out


def from_plan(store, plan, *, kind: str = "joint", departments, team: str = "", note: str = "", user: str,
              held_on=None) -> list[str]:
    """Turn a patrol plan (:class:`geo.patrol.PatrolPlan`) into one inspection per team; returns their ids.

    Each team with stops (:func:`plan_team_stops`) becomes an inspection of its own, named by the team
    (``team`` given: ``<team>（第一组）``), holding the team's stops in its route order. All of them are
    written in one :meth:`~geo.store.Store.atomic` unit: a failure at any of them writes none.
    """
    user = _user(user)
    now = dt.datetime.now().replace(microsecond=0)  # one time for all of them
    team = (team or "").strip()

    def work(tx) -> list[str]:
        teams = plan_team_stops(plan, tx)
        if not teams:
            raise GeoError("路线中没有企业、窑（棚）或养殖场（监测断面不列为巡查点位），未建立巡查。",
                           "the plan visits no enterprise, kiln or farm (river sections are not inspection "
                           "stops); no inspection was made")
        # one after the other in the unit: each reads the ones before it, so their ids follow on
        return [new_inspection(tx, held_on=held_on or plan.day, kind=kind, departments=departments,
                               team=f"{team}（{label}）" if team else label, note=note, stops=stops, user=user,
                               now=now)
                for _, label, stops in teams]

    return store.atomic(work)


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

    A stop's row (``<inspection id>-<NN>``) always holds its latest finding. A finding at a stop already
    recorded never replaces the earlier one: that record is first kept whole as a visit row of its own
    (id ``<stop id>-1``, ``-2`` … in the order recorded; its photos and any status event it led to go
    with it), then the stop's row takes the new finding, at the site's point unless the phone gives one.
    :func:`stops_of` counts each stop's records. The reads and the write are one
    :meth:`~geo.store.Store.atomic` unit, so two inspectors saving at once each keep their record.

    Parameters
    ----------
    visit_id : the stop (``inspection_visits.id``; a kept record's id stands for its stop); or ``None``
        with ``inspection_id``, ``layer`` and ``feature_id`` to add an unplanned stop to an inspection
        (a site it already has a stop for is recorded at that stop).
    finding : ``ok``, ``violation``, ``closed_confirmed`` or ``not_found`` (or the Chinese label).
    location : (lon, lat) in WGS84 from the phone, else the site's point.
    photos : ``(name, bytes)`` pairs; checked by :func:`geo.attachments.prepare_all` (type sniffed from
        content).
    """
    from .attachments import prepare_all
    from .store import Change

    user = _user(user)
    code = {v: k for k, v in FINDING_LABELS.items()}.get(finding, finding)
    if code not in FINDING_LABELS:
        raise GeoError(f"检查结果“{finding}”无效（可选：{'、'.join(FINDING_LABELS.values())}）。",
                       f"unknown finding {finding!r} (one of {', '.join(FINDING_LABELS)})")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise GeoError(f"备注过长（上限 {MAX_NOTE} 字）。", f"note too long (limit {MAX_NOTE})")
    if location is not None:
        lon, lat = (float(v) for v in location)
        if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise GeoError("定位坐标无效。", "the device location is not a valid lon/lat")
    when = when or dt.datetime.now().replace(microsecond=0)

    def work(tx) -> gpd.GeoDataFrame:
        if visit_id:
            hit = tx.read("inspection_visits", where={"id": [str(visit_id)]}, for_update=True)
            if not len(hit):
                raise GeoError(f"没有巡查点位记录“{visit_id}”。", f"no inspection stop {visit_id!r}")
            row, changes = _at_stop(tx, hit)
        else:
            row, changes = _unplanned(tx, inspection_id, layer, feature_id)
        if location is not None:
            row["geometry"] = [shapely.Point(lon, lat)]
            row["located_by"] = "device"
        row["finding"] = code
        row["note"] = note or None
        row["visited_at"] = pd.Timestamp(when)
        row["recorded_by"] = user
        vid = str(row["id"].iat[0])
        changes.append(Change("inspection_visits", row, "upsert"))
        att = prepare_all(photos, layer="inspection_visits", feature_id=vid, user=user, now=when) if photos else None
        if att is not None and len(att):
            # an attachment's id is its owner's and its content's: a photo the kept record holds too (moved
            # to it in this commit, its id unchanged) would be taken from it, so the new one gets its own id
            moved = {str(i) for ch in changes if ch.table == "attachments" for i in ch.rows["id"]}
            clash = att["id"].astype(str).isin(moved).to_numpy(bool)
            if clash.any():
                att = att.copy()
                att.loc[clash, "id"] = att.loc[clash, "id"].astype(str) + f"-{_records_at(changes)}"
            changes.append(Change("attachments", att, "upsert"))
        tx.commit(changes)
        return row

    row = store.atomic(work)
    vid = str(row["id"].iat[0])
    lay, fid = row["layer"].iat[0], row["feature_id"].iat[0]
    sites = store.read(lay, where={"id": [fid]})
    cur = sites.loc[sites["id"] == fid, "status"]
    status = proposed_event(lay, cur.iat[0] if len(cur) else "", code)
    if status is None:
        return None
    why = f"巡查{row['inspection_id'].iat[0]}：{FINDING_LABELS[code]}" + (f"（{note}）" if note else "")
    # dated the visit's day, or a replay store's present (its as_of) when that is earlier: the event must be
    # one the store can take (geo.datecheck), as an undated ledger change takes the store's date
    from .datecheck import latest_allowed

    effective = min(pd.Timestamp(when).normalize(), pd.Timestamp(latest_allowed(store, pd.Timestamp(when).date())))
    return Proposal(lay, fid, status, effective, why, vid)


def _records_at(changes) -> str:
    """The number of the kept record an archiving commit writes (``<stop id>-<n>`` → ``n``)."""
    kept = [ch for ch in changes if ch.table == "inspection_visits"][0]
    return str(kept.rows["id"].iat[0]).rsplit("-", 1)[-1]


def _stop_key(v: pd.DataFrame) -> pd.Series:
    """Which stop each visit row belongs to: its inspection and site (a stop's kept records share both)."""
    return v["inspection_id"].astype(str) + "\x1f" + v["layer"].astype(str) + "\x1f" + v["feature_id"].astype(str)


def _is_stop_row(v: pd.DataFrame) -> np.ndarray:
    """Which visit rows are stops (not kept earlier records): per stop, the row of the shortest id (a kept
    record's id is its stop's id and ``-<n>``), the first such row on a tie."""
    if not len(v):
        return np.zeros(0, dtype=bool)
    d = pd.DataFrame({"stop": _stop_key(v).to_numpy(), "len": v["id"].astype(str).str.len().to_numpy(),
                      "n": np.arange(len(v))})
    first = d.sort_values(["stop", "len", "n"], kind="stable").drop_duplicates("stop")["n"].to_numpy()
    out = np.zeros(len(v), dtype=bool)
    out[first] = True
    return out


def _at_stop(tx, hit: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list]:
    """The row a new finding at the stop of visit row ``hit`` goes to, and the changes that keep what the
    stop holds: its earlier record copied whole to a row of its own, with its photos."""
    from .store import Change

    iid = str(hit["inspection_id"].iat[0])
    mine = tx.read("inspection_visits", where={"inspection_id": [iid]}, for_update=True)
    same = mine[(_stop_key(mine) == _stop_key(hit).iat[0]).to_numpy(bool)]
    stop = same[_is_stop_row(same)].copy() if len(same) else hit.copy()
    if not stop["finding"].notna().iat[0]:
        return stop, []  # the stop's first finding: its planned row is filled
    sid = str(stop["id"].iat[0])
    taken = set(mine["id"].astype(str))
    n = len(same)
    while f"{sid}-{n}" in taken:
        n += 1
    kept = stop.copy()
    kept["id"] = f"{sid}-{n}"
    changes = [Change("inspection_visits", kept, "upsert")]
    photos = tx.read("attachments", where={"layer": ["inspection_visits"], "feature_id": [sid]})
    if len(photos):  # the earlier record's photos stay with it
        changes.append(Change("attachments", pd.DataFrame({"id": photos["id"].to_numpy(), "feature_id": kept["id"].iat[0]}),
                              "upsert", columns=["feature_id"]))
    row = stop.copy()
    if "event_status" in row.columns:
        row["event_status"] = None  # a status event of the earlier record is the kept record's
    lay, fid = str(row["layer"].iat[0]), str(row["feature_id"].iat[0])
    site = tx.read(lay, where={"id": [fid]})
    if len(site) and not shapely.is_missing(site.geometry.values[0]):
        row["geometry"] = [site.geometry.values[0]]  # the earlier record's place is its own
        row["located_by"] = "site"
    return row, changes


def _unplanned(tx, inspection_id, layer, feature_id) -> tuple[gpd.GeoDataFrame, list]:
    """A finding at a site without a planned stop: the inspection's stop at the site when it has one
    (:func:`_at_stop`), else a new stop (the next number, the site's point)."""
    insp = tx.read("inspections", where={"id": [str(inspection_id)]})
    if inspection_id is None or not len(insp):
        raise GeoError(f"没有巡查“{inspection_id}”。", f"no inspection {inspection_id!r}")
    if layer not in SITE_LAYERS:
        raise GeoError("请选择点位图层。", f"not a site layer: {layer!r}")
    site = tx.read(layer, where={"id": [str(feature_id)]})
    if not len(site):
        raise GeoError(f"{contract.LAYER_LABELS[layer]}中没有编号为“{feature_id}”的点位。",
                       f"no {layer} site {feature_id!r}")
    mine = tx.read("inspection_visits", where={"inspection_id": [inspection_id]})
    here = mine[((mine["layer"] == layer) & (mine["feature_id"].astype(str) == str(feature_id))).to_numpy(bool)]
    if len(here):
        return _at_stop(tx, here.iloc[[0]])
    taken = set(mine["id"].astype(str))
    n = len(mine) + 1
    while f"{inspection_id}-{n:02d}" in taken:
        n += 1
    row = gpd.GeoDataFrame(dict(id=[f"{inspection_id}-{n:02d}"], inspection_id=[inspection_id], layer=[layer],
                                feature_id=[str(feature_id)], seq=[n], located_by=["site"]),
                           geometry=[site.geometry.iat[0]], crs=STORE_CRS)
    return row, []


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
    """The inspections as users read them: 点位 (stops), 已记录 (stops with a finding), 违规 (stops whose
    latest finding is a violation); a stop's earlier records (:func:`record_finding`) are not stops."""
    stops = visits[_is_stop_row(visits)]
    n = stops.groupby("inspection_id").size()
    done = stops[stops["finding"].notna()].groupby("inspection_id").size()
    viol = stops[stops["finding"] == "violation"].groupby("inspection_id").size()
    i = inspections.sort_values("held_on", ascending=False)
    return pd.DataFrame({
        "编号": i["id"], "日期": i["held_on"].dt.strftime("%Y-%m-%d"),
        "类型": i["kind"].map(INSPECTION_KIND_LABELS), "参加部门": i["departments"].fillna(""),
        "联合巡查(≥4部门)": np.where(is_joint_patrol(i), "是", "否"), "巡查组": i["team"].fillna(""),
        "点位": i["id"].map(n).fillna(0).astype(int), "已记录": i["id"].map(done).fillna(0).astype(int),
        "违规": i["id"].map(viol).fillna(0).astype(int),
    }).reset_index(drop=True)


def stops_of(store, inspection_id: str) -> pd.DataFrame:
    """The stops of one inspection, in stop order, with each site's name and current status (the phone page).

    One row per stop: the stop's row, which holds its latest finding (:func:`record_finding`), and
    ``records``, how many findings the stop has (its earlier ones are rows of their own).
    """
    v = store.read("inspection_visits", where={"inspection_id": [inspection_id]})
    v = v[v["inspection_id"] == inspection_id].copy()
    # a store written by others may lack the optional stop number and visit id: derive them
    if "seq" not in v.columns:
        v = v.sort_values("visited_at", kind="stable")
        v["seq"] = np.arange(1, len(v) + 1)
    if "id" not in v.columns:
        v["id"] = [f"{inspection_id}-{n}" for n in v["seq"]]
    v = v.reset_index(drop=True)
    key = _stop_key(v)
    records = key[v["finding"].notna().to_numpy(bool)].value_counts()
    out = v[_is_stop_row(v)].copy()
    out["records"] = key[out.index].map(records).fillna(0).astype(int).to_numpy()
    out = out.sort_values("seq", kind="stable")
    names, statuses = {}, {}
    for layer, ids in out.groupby("layer")["feature_id"]:
        s = store.read(layer, where={"id": sorted(set(map(str, ids)))})
        names.update({(layer, i): n for i, n in zip(s["id"], s["name"])})
        statuses.update({(layer, i): st for i, st in zip(s["id"], s["status"])})
    out["name"] = [names.get((lay, f), f) for lay, f in zip(out["layer"], out["feature_id"])]
    out["status"] = [statuses.get((lay, f), "") for lay, f in zip(out["layer"], out["feature_id"])]
    return out.reset_index(drop=True)


__all__ = ["JOINT_PER_MONTH", "JOINT_MIN_DEPARTMENTS", "Proposal", "is_joint_patrol", "new_inspection", "from_plan",
           "plan_team_stops", "record_finding", "confirm", "joint_by_month", "findings_summary", "proposed_event",
           "stops_of", "visits_from_stops", "labelled_inspections", "departments_of", "TABLES"]
