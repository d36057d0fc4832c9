"""Synthetic stores of any size: a province that follows the data contract, for benchmarks and tests.

:func:`build` makes every contract table of an invented province (default: the
size named in issue 13 — 96 townships, 400 rivers, 100 000 sites with about
162 000 status events, 600 sampling points, 1.25 M weekly readings), modelled on
the demo's structure (:mod:`geo.demo`): townships are Voronoi cells clipped to
the province outline, rivers meander, reservoirs are lobed polygons, sites
cluster in townships, industrial parks and along rivers (so the riverside rule
finds violations), every site's ``status`` is its latest event, closures fall
in 2005–2007, and one park is the chemical park (:data:`geo.progress.CHEMICAL_PARK`)
with sampling sections above and below it on the widest river.

Everything is drawn from one seed (the same arguments give the same tables;
each part has its own random stream, so changing the number of sites does not
move the rivers) and built array-at-a-time with numpy and shapely 2 — no
Python loop per geometry or per row — so a province-scale store builds in
seconds. ``minimal=True`` keeps only the contract's required columns (the
store a bureau exporting from another system would give us).

:func:`write` puts the tables in a store with the store's whole-store rebuild
(a GeoPackage is written to a temporary file and renamed into place).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import contract, crs
from .contract import STORE_CRS, TABLES

SEED = 20070630
AS_OF = "2007-06-30"
#: The province's centre and half extents (degrees): about 400 km × 380 km, Zhejiang-like.
CENTRE = (120.2, 29.1)
HALF_EXTENT_M = (200_000.0, 190_000.0)
CHEMICAL_PARK = "沈家经济开发区"  # geo.progress.CHEMICAL_PARK (not imported: keep the generator free of pages' rules)
#: Share of the sites in each layer.
LAYER_SHARES = {"enterprises": 0.3, "kilns": 0.2, "farms": 0.5}
#: Parameters of every weekly sample; Cd is mostly below its detection limit.
PARAMETERS = ("pH", "DO", "CODMn", "COD", "BOD5", "NH3-N", "TP", "Cd")
CD_DETECTION_LIMIT = 0.0005

_SYL = np.array(list("华宏鑫达瑞丰泰兴盛恒康源隆昌润新禾明嘉利通广信安宁弘远正元天顺德永金山青石溪"))
_TOWN_SYL = np.array(list("安平新和清河东西南北白石岭桥塘江溪湖岗口坞"))
_VILLAGE_SUFFIX = np.array(["村", "村", "村", "坞村", "塘村", "岭村"])


# --- helpers ---------------------------------------------------------------------------------

class _Frame:
    """The province's local metric frame (transverse Mercator at its centre)."""

    def __init__(self, lon0: float, lat0: float):
        self.crs = crs.local_tm(lon0, lat0)
        self._inv = pyproj.Transformer.from_crs(self.crs, STORE_CRS, always_xy=True)

    def to_deg(self, geoms):
        return shapely.transform(geoms, lambda c: np.column_stack(self._inv.transform(c[:, 0], c[:, 1])))

    def lonlat(self, x, y):
        return self._inv.transform(np.asarray(x, float), np.asarray(y, float))


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width)).astype(object)


def _words(rng, syllables: np.ndarray, n: int, k: int = 2) -> np.ndarray:
    """``n`` random words of ``k`` syllables (numpy string arrays, no Python loop per word)."""
    out = syllables[rng.integers(0, len(syllables), n)]
    for _ in range(k - 1):
        out = np.char.add(out, syllables[rng.integers(0, len(syllables), n)])
    return out


def _cat(*parts) -> np.ndarray:
    out = np.asarray(parts[0]).astype(str)
    for p in parts[1:]:
        out = np.char.add(out, np.asarray(p).astype(str))
    return out.astype(object)


def _uniform_in(rng, polys: np.ndarray, which: np.ndarray, max_rounds: int = 200) -> np.ndarray:
    """One random point (metres) inside ``polys[which[i]]`` for every ``i`` (rejection sampling in bounding boxes)."""
    n = len(which)
    xy = np.full((n, 2), np.nan)
    bounds = shapely.bounds(polys)
    todo = np.arange(n)
    for _ in range(max_rounds):
        if not len(todo):
            break
        b = bounds[which[todo]]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        ok = shapely.contains_xy(polys[which[todo]], x, y)
        xy[todo[ok]] = np.column_stack([x[ok], y[ok]])
        todo = todo[~ok]
    if len(todo):  # thin slivers only: fall back to a point surely inside
        xy[todo] = shapely.get_coordinates(shapely.point_on_surface(polys[which[todo]]))
    return xy


def _days(rng, start: str, end: str, n: int) -> np.ndarray:
    a, b = np.datetime64(start, "D"), np.datetime64(end, "D")
    return a + rng.integers(0, int((b - a).astype(int)) + 1, n).astype("timedelta64[D]")


# --- the land and the water ------------------------------------------------------------------

def _outline(rng) -> shapely.Polygon:
    """The province's outline (metres): a lobed ellipse."""
    t = np.linspace(0, 2 * np.pi, 361)[:-1]
    phases = rng.uniform(0, 2 * np.pi, 4)
    r = 1 + 0.07 * np.sin(3 * t + phases[0]) + 0.05 * np.sin(5 * t + phases[1]) + 0.03 * np.sin(11 * t + phases[2])
    return shapely.Polygon(np.column_stack([HALF_EXTENT_M[0] * r * np.cos(t), HALF_EXTENT_M[1] * r * np.sin(t)]))


def _townships(rng, outline, n: int) -> tuple[np.ndarray, pd.DataFrame]:
    seats = _uniform_in(rng, np.array([outline]), np.zeros(n, dtype=int))
    pts = shapely.points(seats)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=outline.envelope.buffer(50_000)))
    tree = shapely.STRtree(cells)
    seat_idx, cell_idx = tree.query(pts, predicate="within")
    order = pd.Series(cell_idx, index=seat_idx).sort_index().to_numpy()
    polys = shapely.make_valid(shapely.intersection(cells[order], outline))
    kinds = rng.choice(["街道", "镇", "乡"], n, p=[0.2, 0.6, 0.2])
    suffix = np.where(kinds == "街道", "街道", kinds)
    names = _cat(_words(rng, _TOWN_SYL, n), suffix)
    # Voronoi names may repeat: number the repeats so names stay unique (pages filter by name).
    dup = pd.Series(names).groupby(names).cumcount().to_numpy()
    names = np.where(dup > 0, _cat(names, "（", dup + 1, "）"), names).astype(object)
    attrs = pd.DataFrame({
        "code": _cat("33", np.char.zfill((np.arange(n) // 30 + 1).astype(str), 4),
                     np.char.zfill((np.arange(n) % 30 + 1).astype(str), 3)),
        "name": names, "kind": kinds.astype(object), "approximate": True,
        "note": "合成数据：按驻地泰森多边形生成的示意边界 / synthetic boundary",
    })
    return polys, attrs


def _rivers(rng, outline, n: int) -> tuple[np.ndarray, pd.DataFrame]:
    """``n`` meandering rivers (metres), the first the widest, clipped to the province."""
    m = int(n * 1.6) + 8  # candidates: some leave the province at once and are dropped
    steps = 160
    start = _uniform_in(rng, np.array([outline]), np.zeros(m, dtype=int))
    start[0] = (-0.9 * HALF_EXTENT_M[0], -0.1 * HALF_EXTENT_M[1])  # the main river crosses the province
    heading = rng.uniform(0, 2 * np.pi, m)
    heading[0] = 0.15
    turn = rng.normal(0, 0.12, (m, steps))
    turn[0] *= 0.5
    ang = heading[:, None] + np.cumsum(turn, axis=1)
    step = np.where(np.arange(m) == 0, 2600.0, rng.uniform(250, 700, m))[:, None]
    xy = start[:, None, :] + np.cumsum(np.stack([np.cos(ang), np.sin(ang)], axis=-1) * step[..., None], axis=1)
    xy = np.concatenate([start[:, None, :], xy], axis=1)
    n_vert = np.where(np.arange(m) == 0, steps + 1, rng.integers(30, steps + 1, m))
    keep = np.arange(steps + 1)[None, :] < n_vert[:, None]
    line_idx = np.repeat(np.arange(m), steps + 1).reshape(m, steps + 1)[keep]
    lines = shapely.linestrings(xy[keep], indices=line_idx)
    clipped = shapely.intersection(lines, outline)
    # Keep one piece per river: the longest part inside the province.
    parts, part_of = shapely.get_parts(clipped, return_index=True)
    parts_len = shapely.length(parts)
    best = pd.DataFrame({"r": part_of, "len": parts_len, "k": np.arange(len(parts))}).sort_values(
        ["r", "len"], ascending=[True, False]).drop_duplicates("r")
    best = best[best["len"] > 3000].head(n)
    geoms = parts[best["k"].to_numpy()]
    k = len(geoms)
    grade = rng.choice(["main", "tributary", "stream"], k, p=[0.06, 0.34, 0.6])
    grade[0] = "main"
    width = np.where(grade == "main", rng.uniform(80, 300, k),
                     np.where(grade == "tributary", rng.uniform(10, 60, k),
                              np.where(rng.random(k) < 0.4, 0.0, rng.uniform(2, 10, k))))
    width[0] = 320.0
    names = _cat(_words(rng, _SYL, k), np.where(grade == "stream", "溪", np.where(grade == "main", "江", "河")))
    dup = pd.Series(names).groupby(names).cumcount().to_numpy()
    names = np.where(dup > 0, _cat(names, dup + 1), names).astype(object)
    attrs = pd.DataFrame({"id": _ids("R", k, 4), "name": names, "width_m": np.round(width, 1),
                          "grade": grade.astype(object)})
    return geoms, attrs


def _waterbodies(rng, outline, n: int) -> tuple[np.ndarray, pd.DataFrame]:
    """``n`` lobed reservoirs and lakes (metres) inside the province."""
    centres = _uniform_in(rng, np.array([outline.buffer(-12_000)]), np.zeros(n, dtype=int))
    radius = rng.uniform(600, 5000, n)
    t = np.linspace(0, 2 * np.pi, 49)[:-1]
    phase = rng.uniform(0, 2 * np.pi, (n, 2))
    r = radius[:, None] * (1 + 0.25 * np.sin(3 * t[None, :] + phase[:, :1]) + 0.12 * np.sin(5 * t[None, :] + phase[:, 1:]))
    ring = np.stack([centres[:, :1] + r * np.cos(t), centres[:, 1:] + r * np.sin(t)], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    polys = shapely.polygons(ring)
    kind = rng.choice(["reservoir", "lake", "pond"], n, p=[0.6, 0.3, 0.1])
    names = _cat(_words(rng, _SYL, n), np.where(kind == "reservoir", "水库", np.where(kind == "lake", "湖", "塘")))
    return polys, pd.DataFrame({"id": _ids("L", n, 3), "name": names, "kind": kind.astype(object)})


# --- sites and their histories -------------------------------------------------------------

def _site_points(rng, n: int, town_polys, outline, rivers_m, widths, near_river: float, parks=None,
                 in_park: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Points (metres) of ``n`` sites: some along rivers, some in parks, the rest in townships.

    Returns the coordinates and the park index of each site (-1 outside parks).
    """
    weight = rng.gamma(1.5, 1.0, len(town_polys))
    which = rng.choice(len(town_polys), n, p=weight / weight.sum())
    xy = _uniform_in(rng, town_polys, which)
    park = np.full(n, -1)
    u = rng.random(n)
    riv = u < near_river
    k = int(riv.sum())
    if k:
        # Along a river (wider rivers draw more), 0–800 m from its bank, on either side.
        p = (np.sqrt(widths) + 1.0) * shapely.length(rivers_m)
        r = rng.choice(len(rivers_m), k, p=p / p.sum())
        s = rng.uniform(0.02, 0.98, k)
        a = shapely.get_coordinates(shapely.line_interpolate_point(rivers_m[r], s, normalized=True))
        b = shapely.get_coordinates(shapely.line_interpolate_point(rivers_m[r], np.minimum(s + 0.002, 1.0),
                                                                   normalized=True))
        tang = b - a
        tang /= np.maximum(np.linalg.norm(tang, axis=1, keepdims=True), 1e-9)
        normal = np.column_stack([-tang[:, 1], tang[:, 0]]) * rng.choice([-1.0, 1.0], k)[:, None]
        off = widths[r] / 2 + rng.gamma(1.3, 220.0, k)
        xy[riv] = a + normal * off[:, None]
    if parks is not None and in_park > 0:
        inp = (u >= near_river) & (u < near_river + in_park)
        k = int(inp.sum())
        park[inp] = rng.choice(len(parks), k, p=np.r_[0.02, np.full(len(parks) - 1, 0.98 / (len(parks) - 1))])
        xy[inp] = parks[park[inp]] + rng.normal(0, 700, (k, 2))
    # Sites pushed outside the province (river offsets, park spread) go back into a township.
    out = ~shapely.contains_xy(outline.buffer(-50), xy[:, 0], xy[:, 1])
    if out.any():
        xy[out] = _uniform_in(rng, town_polys, which[out])
        park[out] = -1
    return xy, park


class _History:
    """Status events of one layer, built column-wise for all its sites at once."""

    def __init__(self, rng, layer: str, ids: np.ndarray):
        self.rng, self.layer, self.ids = rng, layer, ids
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: np.ndarray, status, days: np.ndarray, note) -> None:
        k = int(mask.sum())
        if not k:
            return
        eff = days[mask] if len(days) == len(mask) else days
        rec = eff.astype("datetime64[m]") + (self.rng.integers(9 * 60, 17 * 60, k)
                                              + 1440 * self.rng.integers(0, 3, k)).astype("timedelta64[m]")
        self.parts.append(pd.DataFrame({
            "layer": self.layer, "feature_id": self.ids[mask],
            "status": status[mask] if isinstance(status, np.ndarray) else status,
            "effective_on": eff.astype("datetime64[ms]"), "recorded_at": rec.astype("datetime64[ms]"),
            "recorded_by": "台账录入", "note": note[mask] if isinstance(note, np.ndarray) else note}))

    def frame(self) -> pd.DataFrame:
        return pd.concat(self.parts, ignore_index=True)


_NOTES = {"operating": "台账建档", "committed": "签订关停承诺书", "suspended": "停产整顿", "closed": "断水断电，关停拆除",
          "relocated": "搬迁入园", "converted": "转产", "rebuilt": "改建为环保型窑", "treating": "列入治理对象，开始治理",
          "accepted": "治理通过验收"}


def _notes(status: np.ndarray) -> np.ndarray:
    return pd.Series(status).map(_NOTES).to_numpy(dtype=object)


def _lifecycle(rng, layer: str, ids: np.ndarray, final_p: dict, step_p: dict) -> tuple[np.ndarray, dict, _History]:
    """Final status of each site and its events: 建档 (2004), maybe a step (2005–mid 2006), the final change.

    ``step_p[final]`` = (intermediate status, probability) for statuses usually reached through another one;
    statuses that are themselves intermediate (committed, suspended, treating) are reached in the step window.
    Returns the final status, the date of each status reached (``{status: days}``), and the history.
    """
    n = len(ids)
    codes = np.array(list(final_p), dtype=object)
    final = codes[rng.choice(len(codes), n, p=np.array(list(final_p.values())) / sum(final_p.values()))]
    h = _History(rng, layer, ids)
    h.add(np.ones(n, bool), "operating", _days(rng, "2004-01-01", "2004-12-31", n), _NOTES["operating"])
    step_days = _days(rng, "2005-01-01", "2006-06-30", n)
    final_days = _days(rng, "2006-07-01", "2007-06-29", n)
    intermediate = {"committed", "suspended", "treating"}
    step = np.full(n, None, dtype=object)
    for fin, (mid, p) in step_p.items():
        m = (final == fin) & (rng.random(n) < p)
        step[m] = mid
    has_step = step != None  # noqa: E711 - elementwise on an object array
    h.add(has_step, step.astype(object), step_days, _notes(step))
    is_mid = np.isin(final, list(intermediate))
    h.add(is_mid, final, step_days, _notes(final))
    late = (final != "operating") & ~is_mid
    h.add(late, final, final_days, _notes(final))
    when = {"final": np.where(is_mid, step_days, np.where(late, final_days, np.datetime64("NaT"))),
            "step": np.where(has_step, step_days, np.datetime64("NaT")), "step_status": step}
    return final, when, h


def _dates_or_nat(mask: np.ndarray, days) -> np.ndarray:
    days = np.broadcast_to(np.asarray(days, dtype="datetime64[D]"), mask.shape)
    return np.where(mask, days, np.datetime64("NaT")).astype("datetime64[ms]")


def _enterprises(rng, ids, xy_deg, park_idx, park_names, town_names) -> tuple[gpd.GeoDataFrame, _History]:
    n = len(ids)
    final, when, h = _lifecycle(rng, "enterprises", ids,
                                {"operating": 0.4, "committed": 0.12, "suspended": 0.08, "closed": 0.24,
                                 "relocated": 0.11, "converted": 0.05},
                                {"closed": ("suspended", 0.2), "relocated": ("committed", 0.3),
                                 "converted": ("committed", 0.2)})
    chem = park_idx == 0
    industry = rng.choice(["化工", "造纸", "印染", "制革", "电镀", "小冶炼", "水泥", "建材", "食品"], n).astype(object)
    industry[chem] = "化工"
    done = np.isin(final, ["closed", "relocated", "converted"])
    deadline = np.where(done, np.datetime64("2006-12-31"),
                        rng.choice(np.array(["2007-03-31", "2007-09-30", "2007-12-31"], dtype="datetime64[D]"), n))
    committed = final == "committed"
    destinations = np.array(["省级工业园区", "安徽", "江西", "江苏", "就地关停", "就地转产"], dtype=object)
    depts = np.array(["开发区管委会", "环保局", "安监局", "经贸局", "发改局", "统计局"], dtype=object)
    suffix = np.where(industry == "化工", "化工有限公司", _cat(industry, "厂"))
    df = gpd.GeoDataFrame({
        "id": ids, "name": _cat(town_names.astype(str), _words(rng, _SYL, n), suffix),
        "industry": industry, "status": final,
        "deadline": deadline.astype("datetime64[ms]"),
        "closed_on": _dates_or_nat(done, when["final"]),
        "park": np.where(park_idx >= 0, park_names[np.maximum(park_idx, 0)], None).astype(object),
        "destination": np.where(committed | (final == "relocated"), destinations[rng.integers(0, 6, n)], None),
        "department": np.where(chem & ~done | (chem & (rng.random(n) < 0.1)), depts[rng.integers(0, 6, n)], None),
        "committed_on": _dates_or_nat(committed, when["final"]),
    }, geometry=shapely.points(xy_deg), crs=STORE_CRS)
    return df, h


def _kilns(rng, ids, xy_deg) -> tuple[gpd.GeoDataFrame, _History]:
    n = len(ids)
    final, when, h = _lifecycle(rng, "kilns", ids, {"operating": 0.38, "closed": 0.36, "rebuilt": 0.17,
                                                    "relocated": 0.09}, {})
    kind = rng.choice(["kiln", "shed"], n, p=[0.45, 0.55]).astype(object)
    village = _cat(_words(rng, _TOWN_SYL, n), _VILLAGE_SUFFIX[rng.integers(0, len(_VILLAGE_SUFFIX), n)])
    df = gpd.GeoDataFrame({
        "id": ids, "name": _cat(village.astype(str), np.where(kind == "kiln", "石灰窑", "石灰钙棚"),
                                np.arange(1, n + 1), "号"),
        "village": village, "kind": kind, "status": final,
        "closed_on": _dates_or_nat(final == "closed", when["final"]),
    }, geometry=shapely.points(xy_deg), crs=STORE_CRS)
    return df, h


def _farms(rng, ids, xy_deg) -> tuple[gpd.GeoDataFrame, _History]:
    n = len(ids)
    final, when, h = _lifecycle(rng, "farms", ids,
                                {"operating": 0.55, "treating": 0.18, "accepted": 0.1, "closed": 0.11,
                                 "relocated": 0.06},
                                {"accepted": ("treating", 1.0), "closed": ("treating", 0.2)})
    species = rng.choice(["猪", "猪", "猪", "牛", "鸡", "鸭"], n).astype(object)
    big = np.isin(species, ["猪", "牛"])
    heads = np.where(big, rng.integers(50, 3200, n), rng.integers(2000, 20000, n))
    treating_deadline = rng.choice(np.array(["2007-03-31", "2007-09-30"], dtype="datetime64[D]"), n)
    village = _cat(_words(rng, _TOWN_SYL, n), _VILLAGE_SUFFIX[rng.integers(0, len(_VILLAGE_SUFFIX), n)])
    df = gpd.GeoDataFrame({
        "id": ids, "name": _cat(_words(rng, _SYL, n), species.astype(str), "场"),
        "species": species, "head_count": heads, "status": final,
        "deadline": _dates_or_nat((final == "treating") | (when["step_status"] == "treating"), treating_deadline),
        "village": village,
    }, geometry=shapely.points(xy_deg), crs=STORE_CRS)
    return df, h


# --- water quality ---------------------------------------------------------------------------

def _sampling_points(rng, n: int, rivers_m, river_attrs, lakes_m, lake_attrs, chem_xy, ent) -> tuple[np.ndarray, pd.DataFrame]:
    n_lake = max(int(round(n * 0.08)), 1) if len(lakes_m) else 0
    n_out = max(int(round(n * 0.1)), 1)
    n_sec = n - n_lake - n_out
    # Sections: 8 on the main river (above and below the chemical park), the rest on rivers by length.
    n_main = min(8, n_sec)
    main = rivers_m[0]
    s_park = shapely.line_locate_point(main, shapely.Point(chem_xy), normalized=True)
    offsets = np.array([-0.12, -0.06, -0.025, 0.01, 0.03, 0.06, 0.1, 0.16])[:n_main]
    s_main = np.clip(s_park + offsets, 0.01, 0.99)
    length = shapely.length(rivers_m)
    r = rng.choice(len(rivers_m), n_sec - n_main, p=length / length.sum())
    which = np.r_[np.zeros(n_main, dtype=int), r]
    s = np.r_[s_main, rng.uniform(0.05, 0.95, n_sec - n_main)]
    sec = shapely.line_interpolate_point(rivers_m[which], s, normalized=True)
    lk = rng.integers(0, len(lakes_m), n_lake) if n_lake else np.array([], dtype=int)
    lake_pts = shapely.point_on_surface(lakes_m[lk])
    # Outfalls: beside operating or committed enterprises, the park's first.
    ent_active = np.flatnonzero(ent["status"].isin(["operating", "committed", "suspended"]).to_numpy())
    in_chem = ent_active[ent["park"].to_numpy()[ent_active] == CHEMICAL_PARK] if "park" in ent else ent_active[:0]
    pick = np.r_[in_chem[:n_out], rng.choice(ent_active, max(n_out - len(in_chem), 0), replace=False)][:n_out]
    out_pts = shapely.points(ent["_x"].to_numpy()[pick] + 40, ent["_y"].to_numpy()[pick] + 40)
    tree = shapely.STRtree(rivers_m)
    nearest = tree.query_nearest(out_pts, all_matches=False)[1]
    geoms = np.r_[sec, lake_pts, out_pts]
    kind = np.r_[np.full(n_sec + n_lake, "section", dtype=object), np.full(n_out, "outfall", dtype=object)]
    names = np.r_[_cat(river_attrs["name"].to_numpy()[which].astype(str), np.arange(1, n_sec + 1), "号断面"),
                  _cat(lake_attrs["name"].to_numpy()[lk].astype(str), "库心", np.arange(1, n_lake + 1)),
                  _cat(ent["name"].to_numpy()[pick].astype(str), "排污口")]
    attrs = pd.DataFrame({
        "id": np.r_[_ids("W", n_sec + n_lake, 4), _ids("O", n_out, 4)],
        "name": names, "kind": kind,
        "waterbody": np.r_[np.full(n_sec, "river"), np.full(n_lake, "lake"), np.full(n_out, "river")].astype(object),
        "target_class": np.r_[rng.choice([2, 3, 3, 3, 4], n_sec), np.full(n_lake, 2), np.full(n_out, 3)],
        "water_id": np.r_[river_attrs["id"].to_numpy()[which], lake_attrs["id"].to_numpy()[lk],
                          river_attrs["id"].to_numpy()[nearest]].astype(object),
        "feature_id": np.r_[np.full(n_sec + n_lake, None), ent["id"].to_numpy()[pick]].astype(object),
    })
    # How dirty each point runs (and how much of it the chemical park adds, fading downstream).
    load = rng.lognormal(np.log(0.5), 0.35, n)
    park_effect = np.zeros(n)
    park_effect[:n_main] = np.where(offsets > 0, 1.2 * np.exp(-offsets / 0.08), 0.0)
    park_effect[n_sec + n_lake:] = 2.0
    attrs["_load"], attrs["_park"] = load, park_effect
    return geoms, attrs


def _readings(rng, points: pd.DataFrame, n: int, closing_share) -> pd.DataFrame:
    """About ``n`` weekly readings: every point, every parameter, the most recent weeks up to :data:`AS_OF`."""
    P, K = len(points), len(PARAMETERS)
    weeks = max(int(round(n / max(P * K, 1))), 1)
    days = pd.date_range(end=AS_OF, periods=weeks, freq="W-WED") + pd.Timedelta(hours=9, minutes=30)
    W = len(days)
    month = days.month.to_numpy()
    season = 0.25 * np.sin(2 * np.pi * (month - 4) / 12)
    share = closing_share(days)  # share of the chemical park still producing on each day
    base = points["_load"].to_numpy()[:, None] * (1 + season[None, :])
    load = base + points["_park"].to_numpy()[:, None] * 1.2 * share[None, :]
    load = load * np.exp(rng.normal(0, 0.12, (P, W)))
    lake = (points["waterbody"] == "lake").to_numpy()[:, None]
    noise = lambda s: rng.normal(0, s, (P, W))  # noqa: E731
    cd = 0.0004 * (1 + 2 * points["_park"].to_numpy()[:, None] * share[None, :]) * np.exp(noise(0.4))
    below = cd < CD_DETECTION_LIMIT
    values = {
        "pH": 7.3 + noise(0.25) - 0.3 * points["_park"].to_numpy()[:, None] * share[None, :],
        "DO": np.maximum(9.2 - 3.2 * load + noise(0.3), 1.0),
        "CODMn": 1.6 + 3.2 * load, "COD": 8 + 10 * load, "BOD5": 1.4 + 2.2 * load,
        "NH3-N": 0.08 + 0.75 * load ** 1.3, "TP": np.where(lake, 0.010 + 0.04 * load, 0.03 + 0.16 * load),
        "Cd": np.where(below, CD_DETECTION_LIMIT, cd),
    }
    # Row order: point, time, parameter (as a lab file lists them).
    v = np.stack([np.round(values[p], 6) for p in PARAMETERS], axis=-1)  # (P, W, K)
    bd = np.zeros((P, W, K), dtype=bool)
    bd[:, :, PARAMETERS.index("Cd")] = below
    units = np.array(["无量纲" if p == "pH" else "mg/L" for p in PARAMETERS], dtype=object)
    return pd.DataFrame({
        "point_id": np.repeat(points["id"].to_numpy(), W * K),
        "sampled_at": np.tile(np.repeat(days.to_numpy().astype("datetime64[ms]"), K), P),
        "parameter": np.tile(np.array(PARAMETERS, dtype=object), P * W),
        "value": v.ravel(), "unit": np.tile(units, P * W), "below_detection": bd.ravel(),
    })


# --- the whole store ---------------------------------------------------------------------------

def build(*, sites: int = 100_000, townships: int = 96, rivers: int = 400, waterbodies: int = 24,
          sampling_points: int = 600, readings: int = 1_250_000, parks: int = 40, seed: int = SEED,
          minimal: bool = False) -> dict[str, pd.DataFrame]:
    """Every contract table of a synthetic province.

    Parameters
    ----------
    sites
        Enterprises, kilns and farms together (shared as in :data:`LAYER_SHARES`); about 1.6 status
        events each.
    townships, rivers, waterbodies, sampling_points
        Number of rows of each table (``rivers`` may come out a few short when candidates leave the
        province at once).
    readings
        About this many weekly readings: every point and parameter (:data:`PARAMETERS`), over as
        many recent weeks as it takes.
    parks
        Industrial parks enterprises cluster in; the first is the chemical park.
    seed
        Same seed and sizes, same tables.
    minimal
        Keep only the contract's required columns (no ``park``, ``below_detection``, ``water_id`` …).

    Returns
    -------
    dict
        Table name → frame, in the store's in-memory form (see :mod:`geo.contract`).
    """
    ss = np.random.SeedSequence(seed)
    r_land, r_water, r_lakes, r_sites, r_hist, r_points, r_read, r_parks = (
        np.random.default_rng(s) for s in ss.spawn(8))
    frame = _Frame(*CENTRE)
    outline = _outline(r_land)
    town_m, towns = _townships(r_land, outline, townships)
    rivers_m, river_attrs = _rivers(r_water, outline, rivers)
    lakes_m, lake_attrs = _waterbodies(r_lakes, outline, waterbodies)
    widths = river_attrs["width_m"].to_numpy()

    # Parks: the chemical park 900 m off the main river's south bank, a third of the way down; others anywhere.
    main = rivers_m[0]
    a = shapely.get_coordinates(shapely.line_interpolate_point(main, [0.35, 0.352], normalized=True))
    t = (a[1] - a[0]) / np.linalg.norm(a[1] - a[0])
    chem_xy = a[0] + np.array([t[1], -t[0]]) * (widths[0] / 2 + 900)
    park_xy = np.vstack([chem_xy, _uniform_in(r_parks, np.array([outline.buffer(-5000)]),
                                               np.zeros(max(parks - 1, 0), dtype=int))])
    park_names = np.r_[[CHEMICAL_PARK], _cat(_words(r_parks, _SYL, max(parks - 1, 0)), "工业园区")].astype(object)

    counts = {k: int(round(sites * s)) for k, s in LAYER_SHARES.items()}
    counts["farms"] = sites - counts["enterprises"] - counts["kilns"]
    prefix = {"enterprises": "E", "kilns": "K", "farms": "F"}
    near = {"enterprises": 0.15, "kilns": 0.05, "farms": 0.35}
    town_name_arr = towns["name"].to_numpy()
    tree = shapely.STRtree(town_m)
    layers, histories = {}, []
    for layer in ("enterprises", "kilns", "farms"):
        n = counts[layer]
        xy, park_idx = _site_points(r_sites, n, town_m, outline, rivers_m, widths, near[layer],
                                    park_xy if layer == "enterprises" else None,
                                    0.15 if layer == "enterprises" else 0.0)
        # Townships by location (for names only; pages join themselves).
        p_idx, t_idx = tree.query(shapely.points(xy), predicate="intersects")
        town = np.full(n, "", dtype=object)
        town[p_idx[::-1]] = town_name_arr[t_idx[::-1]]
        town = pd.Series(town).str[:2].to_numpy()
        lon, lat = frame.lonlat(xy[:, 0], xy[:, 1])
        xy_deg = np.column_stack([lon, lat])
        ids = _ids(prefix[layer], n, max(len(str(n)), 5))
        if layer == "enterprises":
            df, h = _enterprises(r_hist, ids, xy_deg, park_idx, park_names, town)
            df["_x"], df["_y"] = xy[:, 0], xy[:, 1]
        elif layer == "kilns":
            df, h = _kilns(r_hist, ids, xy_deg)
        else:
            df, h = _farms(r_hist, ids, xy_deg)
        layers[layer] = df
        histories.append(h.frame())
    events = pd.concat(histories, ignore_index=True)

    ent = layers["enterprises"]
    pts_m, points = _sampling_points(r_points, sampling_points, rivers_m, river_attrs, lakes_m, lake_attrs,
                                     chem_xy, ent)
    chem_closed = np.sort(ent.loc[(ent["park"] == CHEMICAL_PARK) & ent["closed_on"].notna(), "closed_on"]
                          .to_numpy().astype("datetime64[ns]"))
    n_chem = max(int((ent["park"] == CHEMICAL_PARK).sum()), 1)

    def closing_share(days):
        return 1.0 - np.searchsorted(chem_closed, days.to_numpy(), side="right") / n_chem

    read = _readings(r_read, points, readings, closing_share)
    layers["enterprises"] = ent.drop(columns=["_x", "_y"])
    points = points.drop(columns=["_load", "_park"])

    def geo(attrs, geoms_m):
        return gpd.GeoDataFrame(attrs, geometry=frame.to_deg(np.asarray(geoms_m)), crs=STORE_CRS)

    clon, clat = frame.lonlat(0.0, 0.0)
    tables = {
        "townships": geo(towns, town_m), "rivers": geo(river_attrs, rivers_m),
        "waterbodies": geo(lake_attrs, lakes_m), **layers,
        "sampling_points": geo(points, pts_m), "readings": read, "status_events": events,
        "meta": pd.DataFrame({"key": ["as_of", "district", "district_code", "depot", "synthetic", "source"],
                              "value": [AS_OF, "青山省（合成）", "330000", f"{float(clon):.4f},{float(clat):.4f}",
                                        "true", f"合成数据 / synthetic province-scale store (geo.synth, seed {seed})"]}),
    }
    # casework tables start empty: a province store is written before its casework is
    for name in TABLES:
        if name not in tables:
            tables[name] = contract.empty(name)
    if minimal:
        tables = {name: _required_only(name, df) for name, df in tables.items()}
    return tables


def _required_only(table: str, df: pd.DataFrame) -> pd.DataFrame:
    spec = TABLES[table]
    drop = [c.name for c in spec.columns if not c.required and c.name in df.columns]
    return df.drop(columns=drop)


def write(out: str | os.PathLike, *, check: bool = True, **sizes) -> str:
    """Build a synthetic province (``sizes``: the arguments of :func:`build`) and write it as a whole new store.

    ``out`` is a GeoPackage path (written to a temporary file and renamed into place) or a
    ``postgresql://`` URL (every table replaced in one transaction). With ``check`` the tables are
    first validated against the contract (:func:`geo.check.check_frames`). Returns ``out``.
    """
    from .check import check_frames
    from .store import open_store

    tables = build(**sizes)
    if check:
        problems = [p for p in check_frames(tables) if p.severity == "error"]
        if problems:
            raise ValueError("the synthetic store does not pass the contract:\n" + "\n".join(map(str, problems[:50])))
    spec = str(out)
    if spec.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        open_store(spec, create=True).replace_all(tables)
        return spec
    path = Path(spec).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".synth-", suffix=".gpkg", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        open_store(tmp, create=True).replace_all(tables)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp + ".lock"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return str(path)
