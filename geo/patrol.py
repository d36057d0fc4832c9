"""Patrol planning: which sites to visit today, by which team, in which order, at what time.

Stops come from named selections on a store (as they stood on an "as of"
date) or from ids picked by hand:

- ``committed``: enterprises that signed a closure commitment;
- ``overdue``: sites whose rectification deadline has passed and that are not done
  (:func:`geo.rules.overdue_mask`, the rule the progress figures use);
- ``violations``: active sites within the riverside limit (200 m by default);
- ``kilns-closed``: closed lime kilns and sheds, spot-checked to stay closed;
- ``sampling``: outfalls of still-producing plants (weekly wastewater samples).

Travel times come from straight-line distances in a local metric CRS times a
circuity factor over a speed, or from shortest paths on a ``roads`` line
layer when the store holds one. :mod:`geo.routing` plans the tours; stops of
kinds marked required are always visited, the others carry a prize by
priority and are dropped (and listed) when the day is full.

Exports: GPX (waypoints numbered per team, a route and a track per team), KML
(a folder per team), CSV and XLSX checklists. Phone apps such as 奥维互动地图
read WGS84 GPX; ``datum="gcj02"`` converts for apps that expect GCJ-02.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import rules
from .contract import LAYER_LABELS, STORE_CRS
from .crs import from_wgs84, metric_crs_for
from .errors import GeoError, InputError
from .history import sites_on
from .spatial import with_township

#: selection name → Chinese label
SELECTIONS = {
    "committed": "已签关停承诺企业",
    "overdue": "逾期未完成整治",
    "violations": "沿河限距内未整治点位",
    "kilns-closed": "已关停石灰窑（棚）抽查",
    "sampling": "在产企业排口采样",
    "picked": "手选点位",
}
#: what the team does at a stop of each kind (printed on the checklist)
CHECKS = {
    "committed": "核查关停承诺落实：是否停产、设备拆除及搬迁进度",
    "overdue": "已过整治期限仍未完成：核查现状，拍照取证，督促整改",
    "violations": "沿河{limit}米内未整治：核查污染防治与整治情况（距水体约{dist}米",
    "kilns-closed": "抽查已关停窑（棚）是否复产：断电、窑体拆除情况",
    "sampling": "排口废水采样送检，记录排放情况",
    "picked": "现场巡查",
}
DEFAULT_SERVICE_MIN = {"committed": 30, "overdue": 30, "violations": 20, "kilns-closed": 10, "sampling": 30,
                       "picked": 20}
#: 3 = high; optional stops of higher priority are kept first when the day is full
DEFAULT_PRIORITY = {"committed": 2, "overdue": 3, "violations": 2, "kilns-closed": 1, "sampling": 3, "picked": 3}
#: kinds visited whatever it costs (weekly sampling is an obligation; hand-picked stops were chosen)
DEFAULT_REQUIRED = frozenset({"sampling", "picked"})
#: enterprise statuses that still discharge wastewater (committed plants run until their deadline)
PRODUCING = frozenset({"operating", "committed"})
#: team colours (Okabe–Ito, colour-blind safe)
TEAM_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
TEAM_NAMES = "一二三四五六七八九十"
#: The most stops one plan routes: travel times grow with the square of the stops and a day holds a few dozen
#: visits per team, so a selection of thousands (every overdue farm of a province) is refused with a message.
MAX_STOPS = 300


def team_label(team: int) -> str:
    """第一组, 第二组, … (1-based)."""
    return f"第{TEAM_NAMES[team - 1] if team <= len(TEAM_NAMES) else team}组"


@dataclass
class PatrolParams:
    """Parameters of one day's plan; defaults suit a district bureau's car patrol."""

    teams: int = 1
    hours: float = 8.0
    start: str = "08:30"
    speed_kmh: float = 40.0
    circuity: float = 1.3
    service_min: dict = field(default_factory=lambda: dict(DEFAULT_SERVICE_MIN))
    priority: dict = field(default_factory=lambda: dict(DEFAULT_PRIORITY))
    required: frozenset = DEFAULT_REQUIRED
    limit_m: float = field(default_factory=lambda: rules.riverside_limit_m())
    time_limit_s: float = 5.0
    seed: int = 0
    balance: float = 0.2
    max_stops: int = MAX_STOPS

    def validate(self) -> None:
        if not 1 <= int(self.teams) <= 20:
            raise GeoError("巡查组数应在 1 到 20 之间。", "teams must be between 1 and 20")
        if not 0.5 <= float(self.hours) <= 24:
            raise GeoError("工作时长应在 0.5 到 24 小时之间。", "hours must be between 0.5 and 24")
        if not 1 <= float(self.speed_kmh) <= 150:
            raise GeoError("车速应在 1 到 150 公里/小时之间。", "speed must be between 1 and 150 km/h")
        if not 1.0 <= float(self.circuity) <= 3.0:
            raise GeoError("绕行系数应在 1.0 到 3.0 之间。", "circuity factor must be between 1.0 and 3.0")
        try:
            dt.time.fromisoformat(self.start)
        except ValueError:
            raise GeoError(f"出发时间“{self.start}”格式应为 HH:MM。", f"start time {self.start!r} must be HH:MM") from None
        bad = [k for k, v in self.service_min.items() if not (0 <= float(v) <= 600)]
        if bad:
            raise GeoError("每处停留时间应在 0 到 600 分钟之间。", f"service minutes out of 0–600 for {bad}")


# --- selections -------------------------------------------------------------------------------

def _stops_frame(rows: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    cols = ["stop_id", "layer", "id", "name", "kind", "check", "distance_m"]
    rows = [r for r in rows if len(r)]
    if not rows:
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in cols},
                                geometry=gpd.GeoSeries([], crs=STORE_CRS), crs=STORE_CRS)
    out = pd.concat(rows, ignore_index=True)
    return gpd.GeoDataFrame(out[cols + ["geometry"]], geometry="geometry", crs=STORE_CRS)


def _as_stops(gdf: pd.DataFrame, layer: str, kind: str, check: str | Sequence[str],
              distance=None) -> gpd.GeoDataFrame:
    out = gpd.GeoDataFrame({
        "stop_id": (layer + ":" + gdf["id"].astype(str)).to_numpy(),
        "layer": layer, "id": gdf["id"].astype(str).to_numpy(), "name": gdf["name"].astype(str).to_numpy(),
        "kind": kind, "check": check,
        "distance_m": np.nan if distance is None else np.asarray(distance, float),
    }, geometry=gdf.geometry.to_numpy(), crs=STORE_CRS)
    return out


def _sites(tables: dict, layer: str, as_of) -> gpd.GeoDataFrame:
    sites = tables[layer]
    events = tables.get("status_events")
    if as_of is not None and events is not None and len(events):
        sites = sites_on(sites, events, layer, as_of)
    return sites


def _violations(tables: dict, as_of, limit_m: float) -> list[gpd.GeoDataFrame]:
    """Active sites within ``limit_m`` of water: the rule as :mod:`geo.buffers` applies it (exact distances)."""
    from .buffers import check

    events = tables.get("status_events")
    # as in _sites: without any status history the status columns are taken as they stand
    replay = as_of if events is not None and len(events) else None
    hits = check(tables, distance=float(limit_m), as_of=replay)
    rows = []
    for layer in ("enterprises", "kilns", "farms"):
        v = hits[hits["layer"] == layer]
        checks = [CHECKS["violations"].format(limit=f"{limit_m:g}", dist=f"{d:.0f}") + (f"，{w}" if w else "") + "）"
                  for d, w in zip(v["distance_m"], v["water_name"].fillna(""))]
        rows.append(_as_stops(v, layer, "violations", checks, v["distance_m"].to_numpy()))
    return rows


def select_stops(tables: dict, selections: Iterable[str] = (), *, ids: Iterable[str] = (), as_of=None,
                 limit_m: float | None = None) -> gpd.GeoDataFrame:
    """Candidate stops of the named ``selections`` plus hand-picked ``ids``, one row per site.

    Parameters
    ----------
    tables
        Contract tables by name (``Store.read_many`` or a dict of frames).
    selections
        Names from :data:`SELECTIONS` (except ``picked``).
    ids
        Hand-picked sites: ``layer:id`` (``farms:F012``) or a bare id looked up in
        enterprises, kilns, farms and sampling points.
    as_of
        Date the statuses are taken at (``None`` = current status); ``overdue``
        compares deadlines with it (today when ``None``) by :func:`geo.rules.overdue_mask`.
    limit_m
        Riverside limit of the ``violations`` selection.

    Returns
    -------
    GeoDataFrame
        ``stop_id`` (``layer:id``), ``layer``, ``id``, ``name``, ``kind`` (the
        selections that chose the site, ``+``-joined, most urgent first), ``check``
        (what to do there), ``distance_m`` (to water, violations only), ``township``,
        the facts that make it urgent (:func:`_urgency_facts`: ``days_overdue``,
        ``outfall_over``, ``outfall_multiple``, ``outfall_exceeding``) and the point.
        A site chosen by several selections is one stop.
    """
    limit_m = rules.riverside_limit_m() if limit_m is None else limit_m
    selections = [s.strip() for s in selections if s and s.strip()]
    unknown = [s for s in selections if s not in SELECTIONS or s == "picked"]
    if unknown:
        raise GeoError(f"未知的巡查对象类别：{', '.join(unknown)}（可选：{', '.join(list(SELECTIONS)[:-1])}）",
                       f"unknown selection(s) {', '.join(unknown)}; choose from {', '.join(list(SELECTIONS)[:-1])}")
    day = rules.as_day(as_of) if as_of is not None else rules.today()
    rows: list[gpd.GeoDataFrame] = []
    for sel in selections:
        if sel == "committed":
            e = _sites(tables, "enterprises", as_of)
            rows.append(_as_stops(e[e["status"] == "committed"], "enterprises", sel, CHECKS[sel]))
        elif sel == "overdue":
            for layer in ("enterprises", "kilns", "farms"):
                s = _sites(tables, layer, as_of)
                late = s[rules.overdue_mask(s, layer, day).to_numpy()]
                rows.append(_as_stops(late, layer, sel, CHECKS[sel]))
        elif sel == "violations":
            rows += _violations(tables, as_of, limit_m)
        elif sel == "kilns-closed":
            k = _sites(tables, "kilns", as_of)
            rows.append(_as_stops(k[k["status"] == "closed"], "kilns", sel, CHECKS[sel]))
        elif sel == "sampling":
            sp = tables["sampling_points"]
            e = _sites(tables, "enterprises", as_of)
            producing = set(e.loc[e["status"].isin(PRODUCING), "id"])
            fid = sp["feature_id"] if "feature_id" in sp.columns else pd.Series(None, index=sp.index)
            out = sp[(sp["kind"] == "outfall") & fid.isin(producing)]
            rows.append(_as_stops(out, "sampling_points", sel, CHECKS[sel]))
    ids = [str(i).strip() for i in ids if str(i).strip()]
    if ids:
        rows.append(_picked(tables, ids))
    stops = _urgency_facts(_merge(_stops_frame(rows)), tables, as_of, day)
    if len(stops):
        stops = with_township(stops, tables["townships"])
    else:
        stops["township"] = pd.Series(dtype=object)
    return stops


def _urgency_facts(stops: gpd.GeoDataFrame, tables: dict, as_of, day) -> gpd.GeoDataFrame:
    """Add what makes each stop urgent (:mod:`geo.urgency` scores it).

    ``days_overdue``: days past the site's rectification deadline when it is overdue on ``day``
    (:func:`geo.rules.overdue_mask`), whatever selection chose it. ``outfall_over``,
    ``outfall_multiple`` (largest 超标倍数) and ``outfall_exceeding``: the latest sampling of an
    outfall up to ``day`` judged against its discharge limits (:mod:`geo.discharge`); a plant's stop
    carries its outfall's. Without ``readings`` in ``tables`` no outfall counts as over.
    """
    out = stops.copy()
    out["days_overdue"] = np.nan
    out["outfall_over"] = False
    out["outfall_multiple"] = np.nan
    out["outfall_exceeding"] = None
    if not len(out):
        return out
    for layer in ("enterprises", "kilns", "farms"):
        on = (out["layer"] == layer).to_numpy(bool)
        if not on.any() or layer not in tables or "deadline" not in tables[layer].columns:
            continue
        s = _sites(tables, layer, as_of)
        late = s[rules.overdue_mask(s, layer, day).to_numpy()]
        days = (pd.Timestamp(day) - pd.to_datetime(late["deadline"])).dt.days
        out.loc[on, "days_overdue"] = out.loc[on, "id"].map(dict(zip(late["id"].astype(str), days))).to_numpy(float)
    sp, readings = tables.get("sampling_points"), tables.get("readings")
    if sp is not None and readings is not None and len(sp) and len(readings):
        from .discharge import EXCEEDS, latest_outfalls

        o = latest_outfalls({"sampling_points": sp, "readings": readings}, as_of=day)
        o = o[o["verdict"] == EXCEEDS]
        fid = sp["feature_id"] if "feature_id" in sp.columns else pd.Series(None, index=sp.index)
        plant = dict(zip(sp["id"].astype(str), fid))
        key = np.where(out["layer"] == "sampling_points", out["id"].astype(str), None)
        by_plant = {plant[i]: i for i in o["id"] if isinstance(plant.get(i), str) and plant[i]}
        key = np.where(out["layer"] == "enterprises", out["id"].map(by_plant), key)
        k = pd.Series(key, index=out.index)
        hit = k.isin(set(o["id"]))
        oi = o.set_index("id")
        out.loc[hit, "outfall_over"] = True
        out.loc[hit, "outfall_multiple"] = k[hit].map(oi["max_multiple"]).to_numpy(float)
        out.loc[hit, "outfall_exceeding"] = k[hit].map(oi["exceeding"]).to_numpy(object)
    return out


def _picked(tables: dict, ids: list[str]) -> gpd.GeoDataFrame:
    layers = ("enterprises", "kilns", "farms", "sampling_points")
    found, missing = [], []
    for ref in ids:
        layer, _, key = ref.rpartition(":")
        search = (layer,) if layer else layers
        if layer and layer not in layers:
            missing.append(ref)
            continue
        hit = None
        for name in search:
            t = tables[name]
            m = t[t["id"].astype(str) == key]
            if len(m):
                hit = _as_stops(m.head(1), name, "picked", CHECKS["picked"])
                break
        if hit is None:
            missing.append(ref)
        else:
            found.append(hit)
    if missing:
        raise GeoError(f"找不到这些点位编号：{', '.join(missing)}", f"no site with id(s) {', '.join(missing)}")
    return pd.concat(found, ignore_index=True)


def _outfalls_of(stops: pd.DataFrame, sampling_points: pd.DataFrame) -> list[str]:
    """Ids of the outfalls among ``stops`` or belonging to an enterprise among them (their readings count)."""
    if not len(stops) or not len(sampling_points):
        return []
    sp = sampling_points[sampling_points["kind"] == "outfall"]
    mine = sp["id"].astype(str).isin(stops.loc[stops["layer"] == "sampling_points", "id"])
    if "feature_id" in sp.columns:
        mine |= sp["feature_id"].isin(stops.loc[stops["layer"] == "enterprises", "id"]).to_numpy()
    return sorted(sp.loc[mine.to_numpy(), "id"].astype(str))


def _merge(stops: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per site: kinds and checks joined, the most urgent kind first."""
    if len(stops) == 0:
        return stops.reset_index(drop=True)
    rank = {k: i for i, k in enumerate(["sampling", "overdue", "violations", "committed", "kilns-closed", "picked"])}
    s = stops.assign(_r=stops["kind"].map(rank)).sort_values(["stop_id", "_r"], kind="stable")
    agg = s.groupby("stop_id", sort=False).agg(
        layer=("layer", "first"), id=("id", "first"), name=("name", "first"),
        kind=("kind", lambda k: "+".join(dict.fromkeys(k))), check=("check", lambda c: "；".join(dict.fromkeys(c))),
        distance_m=("distance_m", "min"), geometry=("geometry", "first"), _first=("_r", "first"),
    ).reset_index()
    agg = agg.sort_values(["_first", "layer", "id"], kind="stable").drop(columns="_first")
    return gpd.GeoDataFrame(agg, geometry="geometry", crs=STORE_CRS).reset_index(drop=True)


# --- depot and travel times -----------------------------------------------------------------

def depot_of(meta: dict, townships: gpd.GeoDataFrame) -> tuple[float, float]:
    """The bureau's location: the store's meta ``depot`` (``lon,lat``), else the townships' centroid."""
    value = (meta or {}).get("depot")
    if value:
        try:
            lon, lat = (float(v) for v in str(value).split(","))
            return lon, lat
        except ValueError:
            pass
    if len(townships) == 0:
        raise InputError("没有出发点：请在数据库元数据中设置 depot（经度,纬度），或先导入乡镇边界。",
                         "no depot: set meta 'depot' to 'lon,lat' or load townships")
    crs = metric_crs_for(townships.total_bounds)
    c = gpd.GeoSeries([townships.to_crs(crs).union_all().centroid], crs=crs).to_crs(STORE_CRS).iloc[0]
    return float(c.x), float(c.y)


def parse_depot(text: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in text.replace("，", ",").split(","))
    except ValueError:
        raise GeoError(f"驻地坐标“{text}”格式应为“经度,纬度”。", f"depot {text!r} must be 'lon,lat'") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise GeoError("驻地坐标超出范围。", "depot coordinates out of range")
    return lon, lat


def read_roads(store) -> gpd.GeoDataFrame | None:
    """The store's optional ``roads`` line layer (not part of the contract), or ``None``.

    Columns used: the geometry and, when present, ``speed_kmh`` per road.
    """
    try:
        roads = store.read_extra("roads")
    except Exception:  # an unreadable optional layer must not block patrols
        return None
    if roads is None or len(roads) == 0:
        return None
    if roads.crs is None:
        roads = roads.set_crs(STORE_CRS)
    return roads.to_crs(STORE_CRS)


def travel_matrix(lon: np.ndarray, lat: np.ndarray, *, speed_kmh: float = 40.0, circuity: float = 1.3,
                  roads: gpd.GeoDataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Travel times (s, int) and road distances (m) between all points.

    Without ``roads``: straight-line distance in a local transverse Mercator
    times ``circuity``, at ``speed_kmh``. With ``roads``: shortest paths on the
    road graph (networkx), each road at its ``speed_kmh`` (default the given
    speed), plus a straight access leg (× circuity) from each point to its
    nearest road vertex; pairs the network does not connect fall back to the
    straight-line estimate.
    """
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    crs = metric_crs_for((lon.min(), lat.min(), lon.max(), lat.max()))
    pts = gpd.GeoSeries(shapely.points(lon, lat), crs=STORE_CRS).to_crs(crs)
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    straight = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) * circuity
    mps = speed_kmh / 3.6
    seconds = straight / mps
    metres = straight.copy()
    if roads is not None and len(roads):
        rs, rm = _road_times(x, y, roads.to_crs(crs), mps, circuity)
        ok = np.isfinite(rs)
        seconds = np.where(ok, rs, seconds)
        metres = np.where(ok, rm, metres)
    np.fill_diagonal(seconds, 0)
    np.fill_diagonal(metres, 0)
    return np.rint(seconds).astype(np.int64), metres


def _road_times(x, y, roads: gpd.GeoDataFrame, mps: float, circuity: float):
    import networkx as nx
    from scipy.sparse.csgraph import dijkstra

    lines = roads.explode(index_parts=False)
    speeds = (lines["speed_kmh"].astype(float).fillna(mps * 3.6).to_numpy() / 3.6
              if "speed_kmh" in lines.columns else np.full(len(lines), mps))
    coords, idx = shapely.get_coordinates(lines.geometry.values, return_index=True)
    same = idx[1:] == idx[:-1]  # consecutive vertices of one line form an edge
    # Vertices closer than 0.1 m are one node: lines that share an end point connect.
    keys = np.round(coords / 0.1).astype(np.int64)
    uniq, node = np.unique(keys, axis=0, return_inverse=True)
    node = node.ravel()
    a, b = node[:-1][same], node[1:][same]
    length = np.hypot(*(coords[1:][same] - coords[:-1][same]).T)
    secs = length / speeds[idx[:-1][same]]
    g = nx.Graph()
    g.add_nodes_from(range(len(uniq)))
    for u, v, s, m in zip(a.tolist(), b.tolist(), secs.tolist(), length.tolist()):
        if u != v and (not g.has_edge(u, v) or g[u][v]["weight"] > s):
            g.add_edge(u, v, weight=s, metres=m)
    node_xy = uniq * 0.1
    tree = shapely.STRtree(shapely.points(node_xy))
    snap = tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=False)
    near = np.empty(len(x), np.int64)
    near[snap[0][0]] = snap[0][1]
    access_m = np.empty(len(x))
    access_m[snap[0][0]] = snap[1]
    access_m *= circuity
    w = nx.to_scipy_sparse_array(g, nodelist=range(len(uniq)), weight="weight")
    dm = nx.to_scipy_sparse_array(g, nodelist=range(len(uniq)), weight="metres")
    src, pred = dijkstra(w, directed=False, indices=np.unique(near), return_predecessors=True)
    row = {n: i for i, n in enumerate(np.unique(near))}
    t = src[[row[n] for n in near]][:, near]
    seconds = t + access_m[:, None] / mps + access_m[None, :] / mps
    # metres along the same paths: re-run on the metre weights (cheap at district scale)
    dsrc = dijkstra(dm, directed=False, indices=np.unique(near))
    metres = dsrc[[row[n] for n in near]][:, near] + access_m[:, None] + access_m[None, :]
    return seconds, metres


# --- the plan ---------------------------------------------------------------------------------

@dataclass
class PatrolPlan:
    """One day's patrol.

    ``stops`` holds every candidate stop with ``team`` (1-based; NA when dropped),
    ``order`` within the team, ``arrive``/``depart`` times, ``service_min``,
    ``required``, ``priority`` and ``dropped``. ``teams`` summarises each team.
    """

    stops: gpd.GeoDataFrame
    teams: pd.DataFrame
    depot: tuple[float, float]
    day: dt.date
    params: PatrolParams
    feasible: bool = True
    warnings: list[str] = field(default_factory=list)
    solver_seconds: float = 0.0
    #: what the plan was made from, for the files' metadata: the statuses' date, the store's data
    #: version and the selections (set by :func:`plan_from_store`)
    as_of: dt.date | None = None
    data_version: str | None = None
    selections: tuple = ()

    @property
    def visited(self) -> gpd.GeoDataFrame:
        v = self.stops[~self.stops["dropped"]]
        return v.sort_values(["team", "order"], kind="stable")

    @property
    def dropped(self) -> gpd.GeoDataFrame:
        return self.stops[self.stops["dropped"]]

    def team_path(self, team: int) -> list[tuple[float, float]]:
        """(lon, lat) of the team's tour: depot, stops in order, depot (WGS84)."""
        v = self.visited
        v = v[v["team"] == team]
        pts = [(g.x, g.y) for g in v.geometry]
        return [self.depot, *pts, self.depot] if pts else []


def _stop_params(stops: pd.DataFrame, params: PatrolParams) -> pd.DataFrame:
    """Service time, required flag and urgency (``priority`` 0–100, ``urgency_note``) of each stop."""
    from .urgency import score

    out = stops.copy()
    kinds = out["kind"].str.split("+")
    out["service_min"] = kinds.map(lambda ks: max(float(params.service_min.get(k, DEFAULT_SERVICE_MIN[k]))
                                                  for k in ks)).astype(float)
    out["required"] = kinds.map(lambda ks: any(k in params.required for k in ks)).astype(bool)
    base = kinds.map(lambda ks: max(int(params.priority.get(k, DEFAULT_PRIORITY[k])) for k in ks)).astype(int) * 10
    u = score(out, base=base, limit_m=params.limit_m)
    out["priority"] = u["urgency"].to_numpy(int)
    out["tier"] = u["tier"].to_numpy(int)
    out["urgency_note"] = u["urgency_note"].to_numpy(object)
    return out


def check_size(n: int, max_stops: int = MAX_STOPS) -> None:
    """Refuse a plan of more than ``max_stops`` stops (bilingual :class:`GeoError`) before any matrix is built."""
    if n > int(max_stops):
        raise GeoError(f"所选巡查对象共 {n:,} 处点位，超过一次可规划的上限 {int(max_stops):,} 处："
                       "请减少巡查对象类别，或改为手选点位。",
                       f"the selection holds {n:,} sites, more than one plan routes ({int(max_stops):,}): "
                       "choose fewer kinds or pick sites by hand")


def plan_patrol(stops: gpd.GeoDataFrame, depot: tuple[float, float], params: PatrolParams | None = None, *,
                roads: gpd.GeoDataFrame | None = None, day: dt.date | None = None) -> PatrolPlan:
    """Plan the day's tours over ``stops`` (from :func:`select_stops`) from ``depot`` (lon, lat).

    Required stops are always planned (the plan is flagged infeasible when they
    do not fit the day); optional stops are dropped only when the day is full,
    least urgent first (:mod:`geo.urgency`): a stop of a lower urgency tier never
    displaces one of a higher tier, and within a tier the more urgent carry the
    larger prize. Each dropped stop gets ``drop_reason``.
    """
    from .routing import solve_by_priority

    params = params or PatrolParams()
    params.validate()
    day = day or dt.date.today()
    check_size(len(stops), params.max_stops)
    stops = _stop_params(stops.reset_index(drop=True), params)
    n = len(stops)
    lon = np.concatenate([[depot[0]], shapely.get_x(stops.geometry.values)])
    lat = np.concatenate([[depot[1]], shapely.get_y(stops.geometry.values)])
    seconds, metres = travel_matrix(lon, lat, speed_kmh=params.speed_kmh, circuity=params.circuity, roads=roads)
    service = np.concatenate([[0], np.rint(stops["service_min"].to_numpy(float) * 60)]).astype(np.int64)
    day_s = int(round(params.hours * 3600))
    required = np.concatenate([[True], stops["required"].to_numpy(bool)])
    warnings = []
    if n:
        # Optional stops are kept by urgency, highest tier first (see routing.solve_by_priority).
        tier = np.concatenate([[0], stops["tier"].to_numpy(int)])
        weight = np.concatenate([[0], stops["priority"].to_numpy(int)])
        plan = solve_by_priority(seconds, priority=tier, weight=weight, teams=int(params.teams),
                                 time_limit_s=params.time_limit_s, service=service, max_duration=day_s,
                                 required=required, seed=params.seed, balance=params.balance)
        routes, feasible, solver_s = plan.routes, plan.feasible, plan.seconds
        if not feasible:
            over = max(plan.duration) - day_s if plan.duration else 0
            warnings.append(f"必去点位在{params.hours:g}小时内跑不完（超出约{max(over, 0) / 60:.0f}分钟）："
                            f"请增加组数、延长工作时间或减少必去点位。")
    else:
        routes, feasible, solver_s = [[] for _ in range(params.teams)], True, 0.0
    start = dt.datetime.combine(day, dt.time.fromisoformat(params.start))
    team = np.full(n, -1)
    order = np.zeros(n, int)
    arrive = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    leg_km = np.full(n, np.nan)
    rows = []
    for k, route in enumerate(routes, start=1):
        t, prev, km = 0, 0, 0.0
        for pos, node in enumerate(route, start=1):
            t += int(seconds[prev, node])
            km += metres[prev, node] / 1000
            i = node - 1
            team[i], order[i], leg_km[i] = k, pos, metres[prev, node] / 1000
            arrive[i] = np.datetime64(start + dt.timedelta(seconds=t), "s")
            t += int(service[node])
            prev = node
        travel = sum(int(seconds[a, b]) for a, b in zip([0, *route], [*route, 0])) if route else 0
        km_total = sum(metres[a, b] for a, b in zip([0, *route], [*route, 0])) / 1000 if route else 0.0
        work = travel + int(service[route].sum()) if route else 0
        rows.append({"team": k, "label": team_label(k), "stops": len(route), "km": round(km_total, 1),
                     "travel_min": round(travel / 60), "service_min": round(int(service[route].sum()) / 60) if route else 0,
                     "finish": (start + dt.timedelta(seconds=work)).strftime("%H:%M") if route else "",
                     "hours": round(work / 3600, 2)})
    out = stops.copy()
    out["team"] = pd.array([int(k) if k > 0 else pd.NA for k in team], dtype="Int64")
    out["order"] = pd.array([int(o) if k > 0 else pd.NA for k, o in zip(team, order)], dtype="Int64")
    out["arrive"] = pd.to_datetime(arrive)
    out["depart"] = out["arrive"] + pd.to_timedelta(out["service_min"], unit="min")
    out["leg_km"] = leg_km
    out["dropped"] = team <= 0
    out["drop_reason"] = _drop_reasons(out, seconds, service, params)
    missing_required = out["dropped"] & out["required"]
    if missing_required.any():
        feasible = False
    if out["dropped"].any() and not missing_required.all():
        warnings.append(f"一天内安排不下，{int((out['dropped'] & ~out['required']).sum())} 处可选点位未安排（见未安排清单）。")
    return PatrolPlan(gpd.GeoDataFrame(out, geometry="geometry", crs=STORE_CRS), pd.DataFrame(rows),
                      (float(depot[0]), float(depot[1])), day, params, feasible, warnings, solver_s)


def _drop_reasons(stops: pd.DataFrame, seconds: np.ndarray, service: np.ndarray, params: PatrolParams) -> list[str]:
    """Why each dropped stop was left out (empty for visited ones), in words for the checklist."""
    kept = stops[~stops["dropped"] & ~stops["required"]]
    lowest = int(kept["priority"].min()) if len(kept) else None
    out = []
    for i, (dropped, required, p) in enumerate(zip(stops["dropped"], stops["required"], stops["priority"])):
        if not dropped:
            out.append("")
            continue
        trip = (int(seconds[0, i + 1]) + int(seconds[i + 1, 0]) + int(service[i + 1])) / 60
        if required:
            out.append(f"必去点位，但{params.hours:g}小时内排不下（单独往返约{trip:.0f}分钟）")
        elif lowest is None or p < lowest:
            out.append(f"紧急程度{p}分，低于已安排的点位（最低{lowest}分）：当天{params.hours:g}小时排不下"
                       if lowest is not None else f"紧急程度{p}分：当天{params.hours:g}小时排不下")
        else:
            out.append(f"紧急程度{p}分，但绕行太远（单独往返约{trip:.0f}分钟），加入后超出当天{params.hours:g}小时")
    return out


#: the site layers each selection reads whole (the others only the hand-picked rows)
_LAYERS_READ = {"committed": ("enterprises",), "overdue": ("enterprises", "kilns", "farms"),
                "violations": ("enterprises", "kilns", "farms"), "kilns-closed": ("kilns",),
                "sampling": ("enterprises",)}


def _tables_for(store, selections: Iterable[str], ids: Iterable[str]) -> dict[str, pd.DataFrame]:
    """What :func:`select_stops` needs for these selections, read by the database's filters.

    Site layers no selection needs hold only the hand-picked rows; the events only those sites';
    rivers and water bodies only for the riverside selection. (At province scale this reads a
    fraction of the store; the tables are read one after another, not from one snapshot.)
    """
    from .contract import empty

    selections = [str(s).strip() for s in selections]
    whole = {t for s in selections for t in _LAYERS_READ.get(s, ())}
    wanted: dict[str, set] = {}
    for ref in (str(i).strip() for i in ids):
        layer, _, key = ref.rpartition(":")
        for t in ((layer,) if layer else ("enterprises", "kilns", "farms", "sampling_points")):
            wanted.setdefault(t, set()).add(key)
    tables = {t: store.read(t) for t in ("townships", "sampling_points")}
    for t in ("rivers", "waterbodies"):
        tables[t] = store.read(t) if "violations" in selections else empty(t)
    events = [store.read("status_events", where={"layer": sorted(whole)})] if whole else []
    for t in ("enterprises", "kilns", "farms"):
        if t in whole:
            tables[t] = store.read(t)
        else:
            tables[t] = store.read(t, where={"id": sorted(wanted.get(t, ()))})
            if len(tables[t]):
                events.append(store.read("status_events", where={"layer": [t], "feature_id": tables[t]["id"]}))
    tables["status_events"] = pd.concat(events, ignore_index=True) if events else store.read(
        "status_events", where={"layer": []})
    return tables


def within_townships(stops: gpd.GeoDataFrame, townships: Iterable[str], ids: Iterable[str] = ()) -> gpd.GeoDataFrame:
    """``stops`` inside the named ``townships`` (all when none are named), hand-picked ``ids`` kept anywhere."""
    towns = [str(t) for t in townships if str(t).strip()]
    if not towns or not len(stops):
        return stops
    picked = {str(i).strip() for i in ids}
    keep = stops["township"].isin(towns).to_numpy(bool) | stops["stop_id"].isin(picked).to_numpy(bool) | \
        stops["id"].astype(str).isin(picked).to_numpy(bool)
    return stops[keep].reset_index(drop=True)


def plan_from_store(store, selections: Iterable[str] = (), *, ids: Iterable[str] = (), as_of=None,
                    params: PatrolParams | None = None, depot: tuple[float, float] | None = None,
                    use_roads: bool = True, townships: Iterable[str] = ()) -> PatrolPlan:
    """Select stops on ``store`` and plan them (see :func:`select_stops`, :func:`plan_patrol`).

    ``as_of`` defaults to the store's default as-of date (:func:`geo.rules.default_as_of`), as on the pages.
    ``townships`` (names) keeps the selections' stops inside those townships (a team patrols its area; a
    city's or province's selections are more than one day holds); hand-picked sites stay wherever they are.
    """
    if as_of is None:
        as_of = rules.default_as_of(store.meta())
    params = params or PatrolParams()
    tables = _tables_for(store, selections, ids)
    stops = select_stops(tables, selections, ids=ids, as_of=as_of, limit_m=params.limit_m)
    stops = within_townships(stops, townships, ids)
    if len(stops) == 0:
        raise GeoError("所选类别在该日期没有需要巡查的点位。", "the selections hold no sites on that date")
    check_size(len(stops), params.max_stops)  # before reading readings or building any matrix
    points = _outfalls_of(stops, tables["sampling_points"])
    if points:
        # only the readings of the stops' outfalls (their latest sampling makes a stop urgent), not the store's
        tables["readings"] = store.read("readings", where={"point_id": points})
        stops = _urgency_facts(stops, tables, as_of, rules.as_day(as_of))
    depot = depot or depot_of(store.meta(), tables["townships"])
    day = rules.as_day(as_of).date()
    plan = plan_patrol(stops, depot, params, roads=read_roads(store) if use_roads else None, day=day)
    plan.as_of, plan.data_version = day, store.version()
    plan.selections = tuple(selections) + (("picked",) if list(ids) else ())
    return plan


# --- exports ------------------------------------------------------------------------------------

def _xy(plan: PatrolPlan, lon, lat, datum: str):
    x, y = from_wgs84(np.asarray(lon, float), np.asarray(lat, float), datum)
    return x, y


def _stop_title(row) -> str:
    return f"{int(row.team)}-{int(row.order):02d} {row['name']}"


def _describe(row) -> str:
    return (f"{row['arrive']:%H:%M} 到达，停留 {row['service_min']:.0f} 分钟；{row['township'] or ''}；"
            f"{row['check']}（{LAYER_LABELS.get(row['layer'], row['layer'])} {row['id']}）")


def _utc(t) -> dt.datetime | None:
    """GPX times are UTC; plan times are local (Beijing time)."""
    if pd.isna(t):
        return None
    return pd.Timestamp(t).tz_localize("Asia/Shanghai").tz_convert("UTC").to_pydatetime()


def to_gpx(plan: PatrolPlan, datum: str = "wgs84", *, meta=None) -> str:
    """GPX 1.1: one waypoint per stop named ``team-order name``, plus a route and a track per team.

    The description states what the file is (``meta``, default :func:`plan_meta`)."""
    import gpxpy.gpx

    from .io.writers import meta_text
    from .io.xmlsafe import xml_frame, xml_text

    gpx = gpxpy.gpx.GPX()
    gpx.name = f"巡查路线 {plan.day:%Y-%m-%d}"
    gpx.description = xml_text(meta_text(meta if meta is not None else plan_meta(plan, datum)).strip()
                               .replace("\n", "；"))
    gpx.creator = "Qingshan 青山"
    v = xml_frame(plan.visited)  # a stored name's ESC or BEL would make the file ill-formed XML
    x, y = _xy(plan, shapely.get_x(v.geometry.values), shapely.get_y(v.geometry.values), datum)
    dx, dy = _xy(plan, [plan.depot[0]], [plan.depot[1]], datum)
    gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(latitude=float(dy[0]), longitude=float(dx[0]), name="驻地 出发/返回",
                                               symbol="Flag"))
    for (_, row), lon, lat in zip(v.iterrows(), x, y):
        gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(
            latitude=float(lat), longitude=float(lon), name=_stop_title(row), description=_describe(row),
            comment=row["check"], time=_utc(row["arrive"]),
            symbol="Waypoint", type=row["kind"]))
    for k in plan.teams["team"]:
        sel = (v["team"] == k).to_numpy()
        if not sel.any():
            continue
        path = list(zip(x[sel], y[sel]))
        path = [(dx[0], dy[0]), *path, (dx[0], dy[0])]
        route = gpxpy.gpx.GPXRoute(name=f"{team_label(int(k))}路线")
        names = ["驻地", *[_stop_title(r) for _, r in v[sel].iterrows()], "驻地"]
        for (lon, lat), nm in zip(path, names):
            route.points.append(gpxpy.gpx.GPXRoutePoint(latitude=float(lat), longitude=float(lon), name=nm))
        gpx.routes.append(route)
        track = gpxpy.gpx.GPXTrack(name=f"{team_label(int(k))}轨迹")
        seg = gpxpy.gpx.GPXTrackSegment()
        for lon, lat in path:
            seg.points.append(gpxpy.gpx.GPXTrackPoint(latitude=float(lat), longitude=float(lon)))
        track.segments.append(seg)
        gpx.tracks.append(track)
    # No address anywhere: gpxpy adds an xsi:schemaLocation naming the schema's URL (a validator would fetch
    # it); the namespaces (xmlns) are names, not addresses, and stay.
    xml = re.sub(r'\s+xsi:schemaLocation="[^"]*"', "", gpx.to_xml(version="1.1"))
    return re.sub(r'\s+xmlns:xsi="[^"]*"', "", xml)


def _kml_colour(hex_rgb: str) -> str:
    r, g, b = hex_rgb[1:3], hex_rgb[3:5], hex_rgb[5:7]
    return f"ff{b}{g}{r}"  # KML is aabbggrr


def to_kml(plan: PatrolPlan, datum: str = "wgs84", *, meta=None) -> str:
    """KML: the depot, then one folder per team with its numbered stops and its route line.

    The document's description states what the file is (``meta``, default :func:`plan_meta`)."""
    import simplekml

    from .io.writers import meta_text
    from .io.xmlsafe import xml_frame, xml_text

    kml = simplekml.Kml(name=f"巡查路线 {plan.day:%Y-%m-%d}（{datum.upper()}）")
    kml.document.description = xml_text(meta_text(meta if meta is not None else plan_meta(plan, datum)))
    v = xml_frame(plan.visited)  # simplekml parses what it writes: an ESC or BEL in a name would raise
    x, y = _xy(plan, shapely.get_x(v.geometry.values), shapely.get_y(v.geometry.values), datum)
    dx, dy = _xy(plan, [plan.depot[0]], [plan.depot[1]], datum)
    depot = kml.newpoint(name="驻地", coords=[(float(dx[0]), float(dy[0]))])
    depot.description = "出发与返回地点"
    for k in plan.teams["team"]:
        sel = (v["team"] == k).to_numpy()
        if not sel.any():
            continue
        colour = _kml_colour(TEAM_COLOURS[(int(k) - 1) % len(TEAM_COLOURS)])
        folder = kml.newfolder(name=team_label(int(k)))
        for (_, row), lon, lat in zip(v[sel].iterrows(), x[sel], y[sel]):
            p = folder.newpoint(name=_stop_title(row), coords=[(float(lon), float(lat))])
            p.description = _describe(row)
            p.style.iconstyle.color = colour
            p.style.iconstyle.icon = None  # the reader's own pin: simplekml's default is an internet URL
        line = folder.newlinestring(name=f"{team_label(int(k))}路线",
                                    coords=[(float(dx[0]), float(dy[0])),
                                            *[(float(a), float(b)) for a, b in zip(x[sel], y[sel])],
                                            (float(dx[0]), float(dy[0]))])
        line.style.linestyle.color = colour
        line.style.linestyle.width = 4
    return kml.kml()


CHECKLIST_COLUMNS = {  # English csv header → Chinese xlsx header
    "team": "组别", "order": "序号", "arrive": "预计到达", "depart": "预计离开", "name": "点位名称",
    "township": "乡镇（街道）", "layer": "图层", "id": "编号", "kind_label": "类别", "check": "巡查内容",
    "required": "必去", "priority": "紧急程度", "urgency_note": "紧急原因", "drop_reason": "未安排原因",
    "lon": "经度", "lat": "纬度", "result": "巡查结果（现场填写）",
}


def checklist(plan: PatrolPlan, datum: str = "wgs84", *, dropped: bool = False) -> pd.DataFrame:
    """The printed checklist: one row per visited stop (or per dropped stop), English column names."""
    v = plan.dropped if dropped else plan.visited
    x, y = _xy(plan, shapely.get_x(v.geometry.values), shapely.get_y(v.geometry.values), datum)
    out = pd.DataFrame({
        "team": v["team"].to_numpy(),
        "order": v["order"].to_numpy(),
        "arrive": [a.strftime("%H:%M") if pd.notna(a) else "" for a in v["arrive"]],
        "depart": [a.strftime("%H:%M") if pd.notna(a) else "" for a in v["depart"]],
        "name": v["name"].to_numpy(), "township": v["township"].fillna("").to_numpy(),
        "layer": [LAYER_LABELS.get(x_, x_) for x_ in v["layer"]], "id": v["id"].to_numpy(),
        "kind_label": ["、".join(SELECTIONS[k] for k in ks.split("+")) for ks in v["kind"]],
        "check": v["check"].to_numpy(), "required": np.where(v["required"], "是", "否"),
        "priority": v["priority"].to_numpy(),
        "urgency_note": (v["urgency_note"] if "urgency_note" in v.columns else pd.Series("", index=v.index))
        .fillna("").to_numpy(object),
        "lon": np.round(x, 6), "lat": np.round(y, 6), "result": "",
    })
    if dropped:
        out.insert(out.columns.get_loc("urgency_note") + 1, "drop_reason",
                   (v["drop_reason"] if "drop_reason" in v.columns else pd.Series("", index=v.index)).to_numpy(object))
    return out.reset_index(drop=True)


def plan_meta(plan: PatrolPlan, datum: str = "wgs84", *, generated_by: str | None = None):
    """What a patrol file is (:class:`geo.io.writers.Meta`): the day, how stops were chosen and ordered,
    the parameters of the plan, the datum of the coordinates, the data version."""
    from .io.writers import Meta

    p = plan.params
    chosen = "、".join(SELECTIONS.get(s, s) for s in plan.selections) or "（见清单“类别”列）"
    return Meta(
        title=f"巡查路线与清单 {plan.day:%Y-%m-%d}",
        rule=("按所选类别取当日需巡查的点位；一天排不下时先舍弃紧急程度最低的点位（距水越近、逾期越久、排口超标越紧急，"
              "按 10 分一档，高档优先；必去点位不舍弃）；行车时间按直线距离×绕行系数÷车速估算（有道路图层时按道路最短路径）"),
        parameters={"巡查日期": f"{plan.day:%Y-%m-%d}", "巡查对象": chosen, "组数": int(p.teams),
                    "每组工作时长（小时）": float(p.hours), "出发时间": p.start, "车速（公里/小时）": float(p.speed_kmh),
                    "绕行系数": float(p.circuity), "沿河限距（米）": float(p.limit_m),
                    "驻地": f"经度 {plan.depot[0]:.6f}，纬度 {plan.depot[1]:.6f}",
                    "坐标": "GCJ-02（高德等国内地图）" if datum == "gcj02" else "WGS84 经纬度（EPSG:4326）"},
        as_of=plan.as_of or plan.day, data_version=plan.data_version, generated_by=generated_by)


def to_csv(plan: PatrolPlan, datum: str = "wgs84", *, dialect: str = "for_machines", meta=None,
           path=None) -> bytes | Path:
    """CSV checklist through :mod:`geo.io.writers` (no formula from a site's name).

    ``for_machines`` (the command line): the English columns of :func:`checklist` (``meta`` in a sibling
    ``.meta.txt`` when written to ``path``); ``for_people`` (the page's download): UTF-8 with BOM, Chinese
    headers (:data:`CHECKLIST_COLUMNS`), team names and ``meta`` (default :func:`plan_meta`) as leading lines.
    """
    from .io.writers import write_csv

    cl = checklist(plan, datum)
    meta = meta if meta is not None else plan_meta(plan, datum)
    if dialect == "for_people":
        cl["team"] = [team_label(int(t)) for t in cl["team"]]
        return write_csv(cl, path, dialect=dialect, headers=CHECKLIST_COLUMNS, meta=meta)
    return write_csv(cl, path, dialect=dialect, meta=meta)


def to_xlsx(plan: PatrolPlan, datum: str = "wgs84", *, meta=None) -> bytes:
    """XLSX checklist with Chinese headers: sheets 巡查清单, 各组汇总, 未安排点位 (each table's header on row 1),
    说明 (``meta``, default :func:`plan_meta`)."""
    from .io.writers import write_xlsx

    summary = plan.teams.rename(columns={"label": "组别", "stops": "点位数", "km": "里程(公里)",
                                         "travel_min": "行车(分钟)", "service_min": "现场(分钟)",
                                         "finish": "预计返回", "hours": "用时(小时)"}).drop(columns="team")
    cl = checklist(plan, datum)
    cl["team"] = [team_label(int(t)) for t in cl["team"]]
    sheets = {
        "巡查清单": cl.rename(columns=CHECKLIST_COLUMNS),
        "各组汇总": summary,
        "未安排点位": checklist(plan, datum, dropped=True).drop(columns=["team", "order", "arrive", "depart", "result"])
        .rename(columns=CHECKLIST_COLUMNS),
    }
    widths = {"A": 8, "B": 6, "C": 9, "D": 9, "E": 28, "F": 12, "G": 10, "H": 8, "I": 16, "J": 48,
              "K": 6, "L": 8, "M": 30, "N": 11, "O": 11, "P": 24}
    return write_xlsx(sheets, widths={"巡查清单": widths}, meta=meta if meta is not None else plan_meta(plan, datum))


EXPORTS = {".gpx": to_gpx, ".kml": to_kml, ".csv": to_csv, ".xlsx": to_xlsx}


def write(plan: PatrolPlan, out: str | Path, datum: str = "wgs84", *, generated_by: str | None = None,
          labels: str | None = None) -> Path:
    """Write the plan to ``out``; the format follows the suffix (.gpx, .kml, .csv, .xlsx).

    Every file states what it is (:func:`plan_meta`): xlsx on its 说明 sheet, GPX/KML in
    their description, CSV for machines in a sibling ``.meta.txt`` (``labels="zh"``: CSV for people).
    """
    out = Path(out)
    fn = EXPORTS.get(out.suffix.lower())
    if fn is None:
        raise GeoError(f"不支持的输出格式“{out.suffix}”，可选 .gpx .kml .csv .xlsx",
                       f"unsupported output format {out.suffix!r}; use .gpx, .kml, .csv or .xlsx")
    meta = plan_meta(plan, datum, generated_by=generated_by)
    if fn is to_csv:
        return to_csv(plan, datum, dialect="for_people" if labels == "zh" else "for_machines", meta=meta, path=out)
    data = fn(plan, datum, meta=meta)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return out

