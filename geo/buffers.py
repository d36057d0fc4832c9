"""Riverside buffer compliance (沿河缓冲): which active sites lie within D metres of water.

The rule (``../shared/DATA_CONTRACT.md``): a site's distance to water is the
smallest of its distance to a river centre line minus half the river's
``width_m`` (not below 0) and its distance to a waterbody polygon (0 inside;
an island, i.e. a hole, is land). A violation is an active site whose
distance is ≤ D; which statuses leave a site active (a rebuilt kiln and an
accepted farm do) is decided in :mod:`geo.rules`.

How the distance is measured, and why it is exact
-------------------------------------------------
Every water geometry is taken apart into straight segments (an edge is read as
a geodesic, as PostGIS ``geography`` does) and point-to-segment distances are
computed exactly with numpy; the distance to a geometry is the smallest over
its segments. No buffer polygon is ever built (a buffer's chords miss sites at
198–200 m from a curved bank).

The plane of measurement is a transverse Mercator on GRS80 (:func:`geo.crs.local_tm`)
whose central meridian runs through the middle of the site's 0.25°-wide
longitude strip. A transverse Mercator's scale error depends only on the
distance from its central meridian (|x| ≤ 14 km here, anywhere in China), so
one frame per strip is enough: the error is below 3e-6 within 1 km of a site
(under 3 mm at 1 km) and below 0.05 m at 10 km. Pairs farther apart than
:data:`REFINE_FROM_M` are re-measured in an azimuthal equidistant plane centred
on the site itself (``pyproj.Geod`` azimuths and geodesic distances), which is
exact at any range. Frames of different strips are laid side by side along x, and
a segment near a strip edge is copied into the neighbour's frame too.

The search is a vectorised grid join (numpy sort + ``searchsorted``) of sites
against segment boxes widened by the search radius: no GEOS object is made per
segment and no Python loop runs per site (only per strip, ≤ ~260 in China).
Waterbody polygons are tested with ``shapely.intersects_xy`` on the candidate
pairs the same join gives.

Reported distances are rounded to the millimetre (:data:`DISTANCE_DECIMALS`)
and the limit is applied to the reported figure, so a listed site at
``200.000`` m is a violation of a 200 m rule and the list agrees with itself.

What a check costs, at province scale
-------------------------------------
A check on a store reads only what it uses (:func:`read_tables`): from a
GeoPackage, three columns of each site layer, the id, name and width of the
water and only the asked layers' status events. Each segment is searched only
as far as its own river's half width reaches. Sites are measured in parts of
:data:`PART_SITES` in strip order (small arrays stay in the allocator) and, when
processors are idle, in forked worker processes; every part is measured in the
whole's frames, so the answer is the same to the last bit however it is cut.
Townships are looked up only for the sites listed.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import memo, rules
from .contract import LAYER_LABELS, SITE_LAYERS, STORE_CRS, status_label
from .crs import local_tm  # noqa: F401  (the frames below are local_tm(lon0, 0), written as a pipeline)
from .errors import GeoError

STRIP_DEG = 0.25  #: width of the longitude strips that share one transverse Mercator frame
REFINE_FROM_M = 5000.0  #: pairs farther apart than this are re-measured on the ellipsoid (AEQD at the site)
FIRST_RADIUS_M = 2000.0  #: first search radius when looking for the nearest water however far
DISTANCE_DECIMALS = 3  #: reported distances in metres, rounded to the millimetre
#: The built-in riverside limit; the one in force is :func:`geo.rules.riverside_limit_m` (configurable).
DEFAULT_DISTANCE_M = 200.0
MIN_DISTANCE_M, MAX_DISTANCE_M = 50.0, 1000.0  # the page's control; the CLI accepts any D > 0

_M_PER_DEG_LON_EQ = 111319.49  # metres per degree of longitude on the equator (GRS80); × cos(lat) is a lower bound
_M_PER_DEG_LAT_MIN = 110574.0  # shortest degree of latitude (at the equator)
_EARTH_R_MIN = 6.33e6  # smallest radius of curvature in China, for the scale-error bound
_GEOD = pyproj.Geod(ellps="GRS80")

#: Output columns (English identifiers; Chinese headers in :data:`COLUMN_LABELS`).
COLUMNS = ["layer", "id", "name", "township", "distance_m", "water_id", "water_name"]
COLUMN_LABELS = {
    "layer": "图层", "id": "编号", "name": "名称", "township": "乡镇（街道）", "distance_m": "距水体距离(米)",
    "water_id": "最近水体编号", "water_name": "最近水体", "water_layer": "水体类型", "status": "状态",
    "status_label": "状态", "violation": "是否违规", "lon": "经度", "lat": "纬度", "layer_label": "图层",
}
#: The headers of an exported list (:func:`to_table` ``chinese=True``; the GeoPackage's field aliases).
COLUMN_LABELS_OUT = {**COLUMN_LABELS, "active": "是否在管", "status": "状态"}


# --- water geometry ---------------------------------------------------------------------------

@dataclass
class _Water:
    """Water geometries taken apart: segments (lon/lat) for distances, polygons for inside tests."""

    lon1: np.ndarray
    lat1: np.ndarray
    lon2: np.ndarray
    lat2: np.ndarray
    half_width: np.ndarray  # metres taken off the centre-line distance (0 on waterbody edges)
    owner: np.ndarray  # water index: rivers first (0..n_rivers-1), then waterbodies
    polys: np.ndarray  # waterbody geometries (index owner - n_rivers)
    n_rivers: int

    @property
    def max_half_width(self) -> float:
        return float(self.half_width.max()) if len(self.half_width) else 0.0


def _segments_of(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segments (n, 4: lon1, lat1, lon2, lat2) of lines or polygon rings (holes included) and their owner."""
    if len(geoms) == 0:
        return np.empty((0, 4)), np.empty(0, dtype=np.int64)
    types = shapely.get_type_id(geoms)
    if np.all(types == 1):  # plain LineStrings: no need to take multi-parts apart
        parts, owner = geoms, np.arange(len(geoms))
    else:
        parts, owner = shapely.get_parts(geoms, return_index=True)
    if len(parts) and np.any(shapely.get_type_id(parts) == 3):
        rings, ring_owner = shapely.get_rings(parts, return_index=True)
        parts, owner = rings, owner[ring_owner]
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    if len(coords) < 2:
        return np.empty((0, 4)), np.empty(0, dtype=np.int64)
    same = np.flatnonzero(idx[:-1] == idx[1:])
    seg = np.empty((len(same), 4))
    seg[:, :2], seg[:, 2:] = coords[same], coords[same + 1]
    return seg, np.asarray(owner)[idx[same]].astype(np.int64)


def _valid(gdf: gpd.GeoDataFrame) -> np.ndarray:
    g = np.asarray(gdf.geometry.values, dtype=object)
    if len(g) == 0:
        return np.zeros(0, bool)
    return ~(shapely.is_missing(g) | shapely.is_empty(g))


def _water(rivers: gpd.GeoDataFrame, waterbodies: gpd.GeoDataFrame) -> _Water:
    rg = np.asarray(rivers.geometry.values, dtype=object)
    wg = np.asarray(waterbodies.geometry.values, dtype=object)
    rg, wg = np.where(_valid(rivers), rg, None), np.where(_valid(waterbodies), wg, None)
    rseg, rown = _segments_of(rg[shapely.is_geometry(rg)] if len(rg) else rg)
    rown = np.flatnonzero(shapely.is_geometry(rg))[rown] if len(rown) else rown
    wseg, wown = _segments_of(wg[shapely.is_geometry(wg)] if len(wg) else wg)
    wown = np.flatnonzero(shapely.is_geometry(wg))[wown] if len(wown) else wown
    if "width_m" in rivers.columns:
        widths = pd.to_numeric(rivers["width_m"], errors="coerce").fillna(0.0).clip(lower=0).to_numpy(float)
    else:
        widths = np.zeros(len(rivers))
    seg = np.vstack([rseg, wseg])
    return _Water(seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3],
                  np.concatenate([widths[rown] / 2.0, np.zeros(len(wown))]),
                  np.concatenate([rown, wown + len(rivers)]).astype(np.int64), wg, len(rivers))


# --- strip frames -----------------------------------------------------------------------------

def _strip_of(lon) -> np.ndarray:
    return np.floor(np.asarray(lon, float) / STRIP_DEG).astype(np.int64)


@functools.lru_cache(maxsize=512)
def _transformer(strip: int) -> pyproj.Transformer:
    """lon/lat → the strip's frame: :func:`geo.crs.local_tm` at the strip's middle meridian (lat_0 = 0).

    Built as a PROJ pipeline with the "approx" (Evenden/Snyder) transverse
    Mercator, which agrees with the exact one to nanometres this close to the
    central meridian, is twice as fast, and skips a CRS lookup per strip.
    """
    lon0 = (strip + 0.5) * STRIP_DEG
    return pyproj.Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=tmerc +approx +lat_0=0 +lon_0={lon0!r} +k=1 +x_0=0 +y_0=0 +ellps=GRS80")


def _lon_margin_deg(radius_m: float, lat: np.ndarray) -> np.ndarray:
    """Degrees of longitude that surely cover ``radius_m`` metres around latitude ``lat`` (conservative)."""
    reach = np.minimum(np.abs(lat) + radius_m / _M_PER_DEG_LAT_MIN, 89.0)
    return 1.01 * radius_m / (_M_PER_DEG_LON_EQ * np.cos(np.radians(reach))) + 1e-9


def _project(strips: np.ndarray, rank: np.ndarray, lon: np.ndarray, lat: np.ndarray, spacing: float):
    """(x, y) of each point in its strip's frame, frame ``rank`` shifted along x by ``rank × spacing``.

    One pyproj call per strip."""
    x = np.empty(len(lon))
    y = np.empty(len(lat))
    if len(lon) == 0:
        return x, y
    order = np.argsort(strips, kind="stable")
    cuts = np.flatnonzero(np.diff(strips[order])) + 1
    for chunk in np.split(order, cuts):
        x[chunk], y[chunk] = _transformer(int(strips[chunk[0]])).transform(lon[chunk], lat[chunk])
    x += rank * spacing
    return x, y


def _point_segment(px, py, x1, y1, x2, y2) -> np.ndarray:
    """Planar distance from points to segments (arrays of one length), computed relative to the point."""
    ax, ay = x1 - px, y1 - py
    dx, dy = x2 - x1, y2 - y1
    len2 = dx * dx + dy * dy
    t = -(ax * dx + ay * dy) / np.where(len2 > 0, len2, 1.0)
    t = np.clip(np.where(len2 > 0, t, 0.0), 0.0, 1.0)
    return np.hypot(ax + t * dx, ay + t * dy)


def _geodesic_point_segment(plon, plat, lon1, lat1, lon2, lat2) -> np.ndarray:
    """Distance from points to segments in the azimuthal equidistant plane centred on each point.

    ``Geod.inv`` gives each vertex's azimuth and geodesic distance from the
    point, i.e. its exact AEQD coordinates; distances from an AEQD's centre are
    geodesic, so this holds at any range (for segments of river scale).
    """
    az1, _, s1 = _GEOD.inv(plon, plat, lon1, lat1)
    az2, _, s2 = _GEOD.inv(plon, plat, lon2, lat2)
    a1, a2 = np.radians(az1), np.radians(az2)
    zero = np.zeros(len(plon))
    return _point_segment(zero, zero, s1 * np.sin(a1), s1 * np.cos(a1), s2 * np.sin(a2), s2 * np.cos(a2))


def _grid_pairs(px, py, bx0, by0, bx1, by1, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """(point, box) index pairs where the point's grid cell is one the box touches.

    A vectorised spatial join: points are sorted by cell key; every box lists
    the cells it covers and finds the points of each by ``searchsorted``.
    Every point inside a box is in a returned pair (plus some near it).
    """
    if len(px) == 0 or len(bx0) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    ix, iy = np.floor(px / cell).astype(np.int64), np.floor(py / cell).astype(np.int64)
    jx0, jx1 = np.floor(bx0 / cell).astype(np.int64), np.floor(bx1 / cell).astype(np.int64)
    jy0, jy1 = np.floor(by0 / cell).astype(np.int64), np.floor(by1 / cell).astype(np.int64)
    # boxes away from every point's column/row range cannot pair; keeps keys small and the lists short
    keep = (jx1 >= ix.min()) & (jx0 <= ix.max()) & (jy1 >= iy.min()) & (jy0 <= iy.max())
    box = np.flatnonzero(keep)
    jx0, jx1 = np.maximum(jx0[box], ix.min()), np.minimum(jx1[box], ix.max())
    jy0, jy1 = np.maximum(jy0[box], iy.min()), np.minimum(jy1[box], iy.max())
    x0, y0 = ix.min(), iy.min()
    nx, ny = ix.max() - x0 + 1, iy.max() - y0 + 1
    key = (ix - x0) * ny + (iy - y0)
    # enumerate the cells of each box
    wx, wy = jx1 - jx0 + 1, jy1 - jy0 + 1
    count = wx * wy
    total = int(count.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if count.max() == 1:
        owner, ckey = np.arange(len(box)), (jx0 - x0) * ny + (jy0 - y0)
    else:
        owner = np.repeat(np.arange(len(box)), count)
        k = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
        wy_o = wy[owner]
        ckey = (jx0[owner] + k // wy_o - x0) * ny + (jy0[owner] + k % wy_o - y0)
    order = np.argsort(key, kind="stable")
    if nx * ny <= 2 * (len(px) + total) + (1 << 20):
        # dense table of cells: a counting sort, then direct look-ups (no binary search)
        counts = np.bincount(key, minlength=int(nx * ny))
        start = np.cumsum(counts) - counts
        lo, n = start[ckey], counts[ckey]
    else:
        skey = key[order]
        lo = np.searchsorted(skey, ckey, side="left")
        n = np.searchsorted(skey, ckey, side="right") - lo
    has = n > 0
    lo, n, owner = lo[has], n[has], owner[has]
    m = int(n.sum())
    pos = np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(m)
    return order[pos].astype(np.int64), box[np.repeat(owner, n)].astype(np.int64)


# --- the distance ---------------------------------------------------------------------------------

def distance_to_water(sites: gpd.GeoDataFrame, rivers: gpd.GeoDataFrame, waterbodies: gpd.GeoDataFrame,
                      *, max_distance: float | None = None) -> pd.DataFrame:
    """Distance from each site to the nearest water, by the riverside rule.

    Parameters
    ----------
    sites
        Point sites in EPSG:4326 (any columns).
    rivers, waterbodies
        The contract's ``rivers`` (``id``, ``name``, ``width_m``; lines) and
        ``waterbodies`` (``id``, ``name``; polygons) in EPSG:4326.
    max_distance
        Only look this far (metres); sites with no water within it get NaN.
        ``None`` finds the nearest water however far (radius grown ×4 from
        :data:`FIRST_RADIUS_M` for the sites still without one).

    Returns
    -------
    DataFrame
        Indexed like ``sites``: ``distance_m`` (float, metres rounded to the
        mm; NaN without water in reach or without a point geometry),
        ``water_id``, ``water_name``, ``water_layer`` (``rivers`` or
        ``waterbodies``). Ties go to the water listed first (rivers before
        waterbodies, then table order).
    """
    n = len(sites)
    dist = np.full(n, np.nan)
    wat = np.full(n, -1, dtype=np.int64)
    water = _water(rivers, waterbodies)
    pts = np.asarray(sites.geometry.values, dtype=object)
    if n and len(water.owner):
        ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
        ok[ok] = shapely.get_type_id(pts[ok]) == 0
        idx = np.flatnonzero(ok)
        plon, plat = shapely.get_x(pts[idx]), shapely.get_y(pts[idx])
        fine = np.isfinite(plon) & np.isfinite(plat)
        idx, plon, plat = idx[fine], plon[fine], plat[fine]
        if max_distance is not None:
            d, w = _nearest_within(plon, plat, float(max_distance), water)
            d = np.round(d, DISTANCE_DECIMALS)
            hit = d <= float(max_distance)
            dist[idx[hit]], wat[idx[hit]] = d[hit], w[hit]
        else:
            radius = FIRST_RADIUS_M
            todo = np.arange(len(idx))
            while len(todo) and radius < 4.1e7:
                d, w = _nearest_within(plon[todo], plat[todo], radius, water)
                hit = d <= radius  # nothing outside the radius can be nearer than a hit inside it
                dist[idx[todo[hit]]] = np.round(d[hit], DISTANCE_DECIMALS)
                wat[idx[todo[hit]]] = w[hit]
                todo = todo[~hit]
                radius *= 4.0
    return _water_columns(sites.index, dist, wat, rivers, waterbodies, water.n_rivers)


def _water_columns(index, dist, wat, rivers, waterbodies, n_rivers) -> pd.DataFrame:
    out = pd.DataFrame({"distance_m": dist}, index=index)
    r = np.flatnonzero((wat >= 0) & (wat < n_rivers))
    b = np.flatnonzero(wat >= n_rivers)
    for col, src in (("water_id", "id"), ("water_name", "name")):
        vals = np.full(len(dist), None, dtype=object)
        vals[r] = rivers[src].iloc[wat[r]].astype(object).to_numpy()  # only the rows that won
        vals[b] = waterbodies[src].iloc[wat[b] - n_rivers].astype(object).to_numpy()
        out[col] = pd.Series(vals, index=index, dtype=object)
    layer = np.full(len(dist), None, dtype=object)
    layer[r], layer[b] = "rivers", "waterbodies"
    out["water_layer"] = pd.Series(layer, index=index, dtype=object)
    return out


def _nearest_within(plon, plat, radius: float, water: _Water, *, workers: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per site: distance (m) to and index of the nearest water among all water within ``radius`` of it
    (inf / -1 when none). Every water whose rule distance is ≤ ``radius`` is examined.

    Many sites are measured in parts of about :data:`PART_SITES` in strip order (at least ``workers``
    parts), in ``workers`` processes (default: the idle processors, :func:`_workers`; see
    :func:`_measure_parts`). Each site is measured against exactly the segments and in exactly the
    frame (the same strip offset, :func:`_pairs`' ``frames``) it would be in one part, so the answer
    is the same to the last bit however the sites are cut and whoever measures them.
    """
    frames = np.unique(_strip_of(plon))
    workers = None if workers is None else max(int(workers), 1)
    parts = _parts(plon, workers or 1)
    if len(parts) == 1:
        return _nearest_part(plon, plat, radius, water, frames)
    best_d = np.full(len(plon), np.inf)
    best_w = np.full(len(plon), -1, dtype=np.int64)
    for idx, (d, w) in zip(parts, _measure_parts(parts, plon, plat, radius, water, frames, workers)):
        best_d[idx], best_w[idx] = d, w
    return best_d, best_w


#: Fewer sites than this are measured in one part by this process (a process pool costs more than it saves).
PARALLEL_FROM_SITES = 20_000
#: Sites per part: parts this size keep the candidate-pair arrays to some tens of MB, so they stay in
#: the allocator instead of being mapped and zeroed anew by the kernel for every step (at 300 000 sites
#: in one part the kernel's page faults cost more time than the arithmetic).
PART_SITES = 50_000

_SHARED: tuple | None = None  # what forked workers measure: set just before the fork, cleared after


def _measure_parts(parts, plon, plat, radius, water, frames, workers: int | None) -> list:
    """``_nearest_part`` of each part: in ``workers`` forked processes (``None``: as many as there
    are idle processors, :func:`_workers`) when that is safe, else here.

    Processes, not threads: numpy and PROJ release the GIL in their loops, but between them the two
    threads hand the GIL back and forth, and on a busy machine a thread waiting for the processor
    holds the other one up (measured: two threads slower than one under load). Forked processes
    share the arrays copy-on-write and send back two small arrays per part. A fork is only made
    on Linux from a process with no other Python thread (the command line; a page server measures
    here, in its own thread); if the pool cannot start or a worker dies, the parts are measured
    here instead.
    """
    import multiprocessing
    import sys
    import threading

    def here():
        return [_nearest_part(plon[idx], plat[idx], radius, water, frames) for idx in parts]

    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return here()
    workers = _workers() if workers is None else workers
    if workers <= 1:
        return here()
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    global _SHARED
    _SHARED = (plon, plat, radius, water, frames, parts)
    try:
        for stream in (sys.stdout, sys.stderr):  # a child flushes what it inherited: print nothing twice
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        with ProcessPoolExecutor(min(workers, len(parts)), mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_measure_shared_part, range(len(parts))))
    except (BrokenProcessPool, OSError):
        return here()
    finally:
        _SHARED = None


def _measure_shared_part(k: int):
    plon, plat, radius, water, frames, parts = _SHARED
    idx = parts[k]
    return _nearest_part(plon[idx], plat[idx], radius, water, frames)


def _workers() -> int:
    """Processes worth measuring in: the processors this process may use that are idle just now.

    Forking costs some processor time (page tables, fresh heaps: about 10 % more in all), which
    pays only when another processor would otherwise sit idle; on a busy shared machine the parts
    are measured here (measured on 2 busy cores: forked workers 8 % slower than one process).
    """
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux: no fork either (see _measure_parts)
        return 1
    idle = _idle_processors(cpus)
    return max(1, min(len(cpus), int(idle + 0.5)))


def _idle_processors(cpus: list[int], window: float = 0.1) -> float:
    """How many of ``cpus`` were idle over the next ``window`` seconds (this process sleeping), from
    the kernel's per-processor counters in ``/proc/stat``; ``len(cpus)`` when they cannot be read."""
    import time

    def sample():
        out = {}
        with open("/proc/stat") as fh:
            for line in fh:
                if line.startswith("cpu") and line[3:4].isdigit():
                    name, *ticks = line.split()
                    t = [int(x) for x in ticks[:8]]  # user nice system idle iowait irq softirq steal
                    out[int(name[3:])] = (t[3] + t[4], sum(t))
        return out

    try:
        a = sample()
        time.sleep(window)
        b = sample()
        idle = 0.0
        for c in cpus:
            total = b[c][1] - a[c][1]
            idle += (b[c][0] - a[c][0]) / total if total > 0 else 1.0
        return idle
    except (OSError, ValueError, KeyError, IndexError):
        return float(len(cpus))


def _parts(plon, workers: int) -> list[np.ndarray]:
    """Site indices cut into at least ``workers`` parts of at most about :data:`PART_SITES` sites each,
    of equal size in strip order (one part when too few sites to be worth it)."""
    n = len(plon)
    k = max(workers, -(-n // PART_SITES))
    if k <= 1 or n < max(PARALLEL_FROM_SITES, 2 * k):
        return [np.arange(n)]
    order = np.argsort(_strip_of(plon), kind="stable")
    return [np.sort(p) for p in np.array_split(order, k)]


def _nearest_part(plon, plat, radius: float, water: _Water, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    i, w, d = _pairs(plon, plat, radius, water, frames)
    best_d = np.full(len(plon), np.inf)
    best_w = np.full(len(plon), -1, dtype=np.int64)
    if len(i):
        order = np.lexsort((w, d, i))  # by site, then distance, then water order
        i, w, d = i[order], w[order], d[order]
        first = np.r_[True, i[1:] != i[:-1]]
        best_d[i[first]], best_w[i[first]] = d[first], w[first]
    return best_d, best_w


def _pairs(plon, plat, radius: float, water: _Water, frames: np.ndarray | None = None):
    """(site, water, rule distance) for site–segment pairs whose rule distance may be ≤ ``radius``
    (every such pair is included, and some a little farther) and for sites inside a waterbody (distance 0).

    ``frames``: the strips of all sites being measured (default: of these sites); a strip's frame is
    laid at its rank among them, so a part of the sites is measured in the very frames the whole is.
    """
    site_strip = _strip_of(plon)
    strips = np.unique(site_strip)  # strips holding these sites: segments are copied only into these
    frames = strips if frames is None else frames
    site_rank = np.searchsorted(frames, site_strip)
    reach = radius + water.max_half_width  # the farthest centre line that can matter

    # Copy each segment into every strip (holding sites) that it comes within ``reach`` of.
    lo = np.minimum(water.lon1, water.lon2)
    hi = np.maximum(water.lon1, water.lon2)
    margin = _lon_margin_deg(reach, np.maximum(np.abs(water.lat1), np.abs(water.lat2)))
    s0, s1 = _strip_of(lo - margin), _strip_of(hi + margin)
    seg = np.flatnonzero((s1 >= strips[0]) & (s0 <= strips[-1]))
    s0, s1 = np.maximum(s0[seg], strips[0]), np.minimum(s1[seg], strips[-1])  # only strips that hold sites
    count = s1 - s0 + 1
    if count.max(initial=1) > 1:
        seg, s0 = np.repeat(seg, count), np.repeat(s0, count)
        s0 = s0 + (np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count))
    rank = np.minimum(np.searchsorted(strips, s0), len(strips) - 1)
    held = strips[rank] == s0
    if not held.all():
        seg, s0 = seg[held], s0[held]
    seg_strip, seg_rank = s0, np.searchsorted(frames, s0)

    # The frame's scale is ≥ 1 and exceeds 1 by at most (|x| + reach)² / 2R² (|x| ≤ 14 km from the
    # meridian): widen the search by that so no pair within the true reach is missed.
    x_half = 0.5 * STRIP_DEG * _M_PER_DEG_LON_EQ + 100.0  # sites lie within this of their meridian
    search = reach * (1.0 + 1.2 * (x_half + reach) ** 2 / (2 * _EARTH_R_MIN ** 2)) + 1e-3
    cell = max(2.0 * search, 1.0)
    spacing = 2.0 * (x_half + search + cell)  # frames side by side: a site's cell never meets another frame's

    px, py = _project(site_strip, site_rank, plon, plat, spacing)
    m = len(seg)
    sx, sy = _project(np.concatenate([seg_strip, seg_strip]), np.concatenate([seg_rank, seg_rank]),
                      np.concatenate([water.lon1[seg], water.lon2[seg]]),
                      np.concatenate([water.lat1[seg], water.lat2[seg]]), spacing)
    x1, x2, y1, y2 = sx[:m], sx[m:], sy[:m], sy[m:]

    # Long segments are cut (along the same straight line) into pieces no longer than a cell,
    # so each piece's widened box covers only a few cells.
    parts = np.maximum(np.ceil(np.hypot(x2 - x1, y2 - y1) / cell), 1).astype(np.int64)
    if parts.max(initial=1) > 1:
        piece = np.repeat(np.arange(m), parts)
        k = np.arange(len(piece)) - np.repeat(np.cumsum(parts) - parts, parts)
        t0, t1 = k / parts[piece], (k + 1) / parts[piece]
        dx, dy = x2 - x1, y2 - y1
        x1, y1, x2, y2 = (x1[piece] + t0 * dx[piece], y1[piece] + t0 * dy[piece],
                          x1[piece] + t1 * dx[piece], y1[piece] + t1 * dy[piece])
    else:
        piece = None

    # Each segment is searched only as far as it can matter: ``radius`` plus its own half width (a
    # brook's box is 150 m narrower than the 300 m river's). The grid and the pieces stay those of the
    # widest river, so every distance measured is the very number it would be without this.
    own = radius + water.half_width[seg]
    own = own * (1.0 + 1.2 * (x_half + own) ** 2 / (2 * _EARTH_R_MIN ** 2)) + 1e-3
    own = np.minimum(own, search)
    own_p = own if piece is None else own[piece]
    i, p = _grid_pairs(px, py, np.minimum(x1, x2) - own_p, np.minimum(y1, y2) - own_p,
                       np.maximum(x1, x2) + own_p, np.maximum(y1, y2) + own_p, cell)
    q = p if piece is None else piece[p]  # index of the segment copy
    d = _point_segment(px[i], py[i], x1[p], y1[p], x2[p], y2[p])
    keep = (d <= own[q]) & (site_rank[i] == seg_rank[q])  # a long segment's copy may reach another frame
    i, q, d = i[keep], q[keep], d[keep]
    k = seg[q]
    far = d > REFINE_FROM_M
    if far.any():
        d[far] = _geodesic_point_segment(plon[i[far]], plat[i[far]], water.lon1[k[far]], water.lat1[k[far]],
                                         water.lon2[k[far]], water.lat2[k[far]])
    d = np.maximum(d - water.half_width[k], 0.0)
    w = water.owner[k]

    # Sites in or on a waterbody (holes are land) are at distance 0.
    if len(water.polys):
        ii, ww = _inside(px, py, site_rank, strips, water.polys, cell, spacing, frames)
        i = np.concatenate([i, ii])
        w = np.concatenate([w, ww + water.n_rivers])
        d = np.concatenate([d, np.zeros(len(ii))])
    return i, w, d


def _inside(px, py, site_rank, strips, polys: np.ndarray, cell: float, spacing: float, frames=None):
    """(site, polygon) pairs where the site lies in or on the polygon, tested in the site's strip frame
    (polygons copied into the ``strips`` holding sites, each frame at its rank among ``frames``)."""
    ok = np.flatnonzero(shapely.is_geometry(polys))
    if len(ok) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    b = shapely.bounds(polys[ok])
    s0, s1 = _strip_of(b[:, 0]), _strip_of(b[:, 2])
    count = np.maximum(s1 - s0 + 1, 0)
    poly = np.repeat(ok, count)
    strip = np.repeat(s0, count) + (np.arange(len(poly)) - np.repeat(np.cumsum(count) - count, count))
    rank = np.minimum(np.searchsorted(strips, strip), len(strips) - 1)
    held = strips[rank] == strip
    poly, strip = poly[held], strip[held]
    if len(poly) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rank = np.searchsorted(strips if frames is None else frames, strip)
    projected = np.empty(len(poly), dtype=object)
    for s in np.unique(strip):  # one projection per strip, over all its polygons at once
        sel = np.flatnonzero(strip == s)
        tr, shift = _transformer(int(s)), float(rank[sel[0]]) * spacing

        def fwd(xy, tr=tr, shift=shift):
            x, y = tr.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([np.asarray(x) + shift, y])

        projected[sel] = shapely.transform(polys[poly[sel]], fwd)
    pb = shapely.bounds(projected)
    i, k = _grid_pairs(px, py, pb[:, 0], pb[:, 1], pb[:, 2], pb[:, 3], cell)
    hit = (site_rank[i] == rank[k]) & shapely.intersects_xy(projected[k], px[i], py[i])
    return i[hit], poly[k[hit]]


# --- the rule on a store ------------------------------------------------------------------------------

#: The columns the riverside check uses of each table (besides the geometry): all it reads of a GeoPackage.
USED_COLUMNS = {
    "rivers": ("id", "name", "width_m"), "waterbodies": ("id", "name"), "townships": ("name",),
    "status_events": ("layer", "feature_id", "status", "effective_on", "recorded_at"),
    **{layer: ("id", "name", "status") for layer in SITE_LAYERS},
}
_POSTGRES = ("postgresql://", "postgresql+psycopg://", "postgres://")


def _frames(frames_or_store, tables) -> dict[str, pd.DataFrame]:
    if hasattr(frames_or_store, "read"):
        return read_tables(frames_or_store, tables)
    missing = [t for t in tables if t not in frames_or_store]
    if missing:
        from .contract import empty

        return {**frames_or_store, **{t: empty(t) for t in missing}}
    return frames_or_store


def read_tables(store, tables) -> dict[str, pd.DataFrame]:
    """The ``tables`` of ``store`` with the columns the check uses (:data:`USED_COLUMNS`).

    A GeoPackage (the store's ``url`` is a file) is read straight with GDAL
    through pyogrio's Arrow reader, and only what the check uses: three columns
    of a site layer of a dozen, and of ``status_events`` only the events of the
    site layers asked for (an SQL ``WHERE`` on ``layer``). At province scale
    this is five to ten times less work than the store's whole-table reads with
    every contract column coerced. A table the file lacks is the contract's
    empty table, as ``Store.read`` gives; a layer whose CRS is not EPSG:4326 or
    4490 (or is missing) is left to ``Store.read``, which reports it. Any other
    store (PostGIS) is read whole through ``Store.read``.
    """
    path = _gpkg_file(store)
    if path is None:
        return {t: store.read(t) for t in tables}
    from . import contract

    present = set(store.tables())
    layers = [t for t in tables if t in SITE_LAYERS]
    out = {}
    for t in tables:
        if t not in present:
            out[t] = contract.empty(t)
            continue
        # ``layers`` are names from SITE_LAYERS (checked by _parse_layers), never user text.
        where = f"layer IN ({', '.join(repr(x) for x in layers)})" if t == "status_events" and layers else None
        df = _read_gpkg(path, t, where)
        out[t] = store.read(t) if df is None else df
    return out


def _gpkg_file(store) -> Path | None:
    url = str(getattr(store, "url", "") or "")
    if not url or url.startswith(_POSTGRES):
        return None
    path = Path(url)
    return path if path.is_file() else None


def _read_gpkg(path: Path, table: str, where: str | None) -> pd.DataFrame | None:
    """``table``'s used columns from a GeoPackage with contract dtypes (``None``: leave it to the store)."""
    import pyogrio

    from . import contract

    spec = contract.TABLES[table]
    fields = set(pyogrio.read_info(path, layer=table)["fields"])
    cols = [c for c in USED_COLUMNS.get(table, spec.column_names) if c in fields]
    df = pyogrio.read_dataframe(path, layer=table, columns=cols, read_geometry=bool(spec.geometry), where=where,
                                use_arrow=True)
    if spec.geometry:
        epsg = df.crs.to_epsg() if df.crs is not None else None
        if epsg not in (4326, 4490):
            return None
        df = df.set_crs(STORE_CRS, allow_override=True)
    elif isinstance(df, gpd.GeoDataFrame):
        df = pd.DataFrame(df.drop(columns="geometry", errors="ignore"))
    # Text as Python strings (None for NULL) in object columns, as Store.read gives (pandas' Arrow strings
    # have a per-value ``isin``); dates and numbers get the contract's coercion, which is vectorised for them.
    for c in spec.columns:
        if c.name in cols and c.kind == "str":
            df[c.name] = pd.Series(df[c.name].to_numpy(dtype=object, na_value=None), index=df.index, dtype=object)
    typed = [c.name for c in spec.columns if c.name in cols and c.kind != "str"]
    if typed:
        df[typed] = contract.coerce(table, pd.DataFrame(df[typed]))
    return df


def _parse_layers(layers) -> tuple[str, ...]:
    if isinstance(layers, str):
        layers = [s.strip() for s in layers.split(",") if s.strip()]
    layers = tuple(layers)
    bad = [x for x in layers if x not in SITE_LAYERS]
    if bad or not layers:
        names = "、".join(LAYER_LABELS.get(k, k) for k in SITE_LAYERS)
        raise GeoError(f"图层“{'、'.join(map(str, bad)) or '（未选）'}”无效，可选：{names}（{', '.join(SITE_LAYERS)}）。",
                       f"unknown layer(s) {', '.join(map(str, bad)) or '(none)'}; expected some of {', '.join(SITE_LAYERS)}")
    return layers


def sites_table(frames_or_store, layers=("farms", "enterprises", "kilns"), as_of=None) -> gpd.GeoDataFrame:
    """Every site of ``layers`` as it stood on ``as_of`` (latest when ``None``): layer, id, name, status,
    active, township, geometry."""
    layers = _parse_layers(layers)
    frames = _frames(frames_or_store, (*layers, "townships", "status_events"))
    sites = _sites(frames, layers, as_of)
    sites["township"] = _townships_of(sites.geometry.values, frames["townships"])
    return sites


def _sites(frames: dict, layers: tuple[str, ...], as_of) -> gpd.GeoDataFrame:
    """:func:`sites_table` without the township (the check looks it up only for the sites it lists)."""
    from .history import replays, sites_on

    parts = []
    for layer in layers:
        df = frames[layer]
        if as_of is not None:
            if not replays(frames, layer):  # a snapshot without the layer's history cannot replay another day
                raise ValueError(f"these frames do not hold the {layer} history to replay {as_of}")
            df = sites_on(df, frames["status_events"], layer, as_of)
        # object columns (not pandas' inferred Arrow strings: the check zips and hashes them; converting
        # 100 000 ids and names to Arrow and back cost a sixth of the check)
        obj = lambda v: pd.Series(np.asarray(v, dtype=object), dtype=object)  # noqa: E731
        parts.append(gpd.GeoDataFrame({
            "layer": obj(np.full(len(df), layer, dtype=object)), "id": obj(_text(df["id"])),
            "name": obj(_text(df["name"], "")), "status": obj(df["status"].to_numpy(dtype=object)),
        }, geometry=np.asarray(df.geometry.values, dtype=object), crs=STORE_CRS))
    sites = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=STORE_CRS)
    sites["active"] = rules.is_active(sites["layer"].to_numpy(), sites["status"].to_numpy())
    return sites


def _text(values: pd.Series, missing=None) -> np.ndarray:
    """``values`` as an object array of ``str`` (``missing`` for empty cells when given), without a round
    trip through pandas' Arrow strings when they already are text (the store's ids and names are)."""
    arr = values.to_numpy(dtype=object, na_value=None)
    if missing is not None:
        arr = np.where(pd.isna(arr), missing, arr)
    if pd.api.types.infer_dtype(arr, skipna=missing is None) == "string":
        return arr
    return np.array([v if v is None else str(v) for v in arr], dtype=object)


def _townships_of(geoms, townships: pd.DataFrame) -> np.ndarray:
    from .spatial import township_of

    pts = gpd.GeoDataFrame(geometry=np.asarray(geoms, dtype=object), crs=STORE_CRS)
    return township_of(pts, townships).to_numpy()


def _status_labels(status, layer) -> np.ndarray:
    """:func:`geo.contract.status_label` of each (status, layer), one dictionary lookup per distinct pair."""
    status = np.asarray(status, dtype=object)
    layer = np.asarray(layer, dtype=object)
    out = np.empty(len(status), dtype=object)
    for name in pd.unique(layer):
        sel = np.flatnonzero(layer == name)
        codes, uniq = pd.factorize(status[sel], use_na_sentinel=False)
        out[sel] = np.array([status_label(u, name) for u in uniq] + [None], dtype=object)[codes]
    return out


def check(frames_or_store, distance: float | None = None, layers=("farms", "enterprises", "kilns"),
          as_of=None, all_sites: bool = False) -> gpd.GeoDataFrame:
    """Riverside violations: active sites of ``layers`` within ``distance`` metres of water on ``as_of``.

    Parameters
    ----------
    frames_or_store
        A :class:`geo.store.Store` or a dict of contract tables (``rivers``,
        ``waterbodies``, ``townships``, ``status_events`` and the site layers).
    distance
        The limit D in metres; a site at exactly D is a violation. ``None``: the configured limit
        (:func:`geo.rules.riverside_limit_m`).
    layers
        Site layers to check (names or a comma-separated string).
    as_of
        Date whose statuses apply (replayed from ``status_events``); ``None`` = current status.
    all_sites
        List every site (active or resolved) with its distance to the nearest
        water and a ``violation`` flag, instead of the violations only.

    Returns
    -------
    GeoDataFrame
        Columns ``layer, id, name, township, distance_m, water_id, water_name``
        then ``water_layer, status, status_label, active, violation, lon, lat``
        and ``geometry`` (EPSG:4326), sorted by distance.
    """
    distance = rules.riverside_limit_m() if distance is None else distance
    if not np.isfinite(distance) or distance <= 0:
        raise GeoError(f"缓冲距离须为正数（米），而不是“{distance}”。",
                       f"distance must be a positive number of metres, not {distance!r}")
    layers = _parse_layers(layers)
    uses = (*layers, "rivers", "waterbodies", "townships") + (() if as_of is None else ("status_events",))
    # one day's snapshot asks the same check from its tile, its alert and its assessment: once (geo.memo)
    return memo.remember(frames_or_store, ("check", float(distance), layers, None if as_of is None else
                                           pd.Timestamp(as_of).normalize(), bool(all_sites)),
                         lambda: _check(frames_or_store, float(distance), layers, as_of, all_sites), uses=uses)


def _check(frames_or_store, distance: float, layers: tuple[str, ...], as_of, all_sites: bool) -> gpd.GeoDataFrame:
    frames = _frames(frames_or_store, (*layers, "rivers", "waterbodies", "townships", "status_events"))
    sites = _sites(frames, layers, as_of)
    if not all_sites:
        sites = sites[sites["active"]].reset_index(drop=True)
    dist = distance_to_water(sites, frames["rivers"], frames["waterbodies"],
                             max_distance=None if all_sites else float(distance))
    res = pd.concat([sites.drop(columns="geometry"), dist.reset_index(drop=True)], axis=1)
    res["violation"] = res["active"] & (res["distance_m"] <= float(distance))
    if not all_sites:
        res = res[res["violation"]]
    geom = sites.geometry.values[res.index.to_numpy()]
    res["township"] = _townships_of(geom, frames["townships"])  # only for the rows listed
    res["status_label"] = _status_labels(res["status"].to_numpy(), res["layer"].to_numpy())
    res["lon"], res["lat"] = shapely.get_x(np.asarray(geom, dtype=object)), shapely.get_y(np.asarray(geom, dtype=object))
    res = gpd.GeoDataFrame(res, geometry=np.asarray(geom, dtype=object), crs=STORE_CRS)
    res = res.sort_values(["distance_m", "layer", "id"], na_position="last", kind="stable").reset_index(drop=True)
    cols = COLUMNS + ["water_layer", "status", "status_label", "active", "violation", "lon", "lat", "geometry"]
    return res[cols]


def violations_earlier(frames, now: pd.DataFrame, day, earlier, distance: float | None = None
                       ) -> pd.DataFrame:
    """The violations on ``earlier`` (before ``day``), from ``now``, the violations on ``day``: equal to
    :func:`check` of ``earlier`` (its ``layer, id, name, township, distance_m`` …), without measuring
    every site again.

    ``frames``: the sites on ``day`` and every event up to it of each site changed after ``earlier`` (a
    :func:`geo.progress.snapshot` with their layers' history, or with the changes since ``earlier`` or
    before; other frames raise ``ValueError``). A site's distance to water does not change with
    the date, so only sites with an event after ``earlier`` can be a violation on one day and not the
    other: a violation now with no such event was one then; of the sites with such an event, those
    active on ``earlier`` and not violations now are measured (as if active).
    """
    distance = rules.riverside_limit_m() if distance is None else distance
    from .history import active_on, replays

    earlier = pd.Timestamp(earlier).normalize()
    short = [layer for layer in SITE_LAYERS if frames.get(layer) is not None and not replays(frames, layer, earlier)]
    if short:
        raise ValueError(f"these frames do not hold the changes since {earlier:%Y-%m-%d} of {', '.join(short)}")
    ev = frames["status_events"]
    recent = ev[((ev["effective_on"] > earlier) & (ev["effective_on"] <= pd.Timestamp(day))).to_numpy(bool)]
    # numpy object arrays zip at C speed; arrow-backed strings would be iterated one by one
    changed = set(zip(recent["layer"].to_numpy(object), recent["feature_id"].to_numpy(object)))
    now_keys = list(zip(now["layer"].to_numpy(object), now["id"].to_numpy(object)))
    now_set = set(now_keys)
    then = {k for k in now_keys if k not in changed}  # no event since: a violation then too
    gone: dict[str, pd.DataFrame] = {}
    for layer in SITE_LAYERS:
        ids = {i for lay, i in changed if lay == layer}
        if not ids or frames.get(layer) is None:
            continue
        was_active = active_on(ev, layer, ids, earlier)
        then |= {(layer, i) for i in was_active if (layer, i) in now_set}
        # active then and not a violation now: a violation then if within the distance (resolved since)
        ids = [i for i in was_active if (layer, i) not in now_set]
        if ids:
            sites = frames[layer]
            gone[layer] = sites[sites["id"].isin(ids).to_numpy(bool)].assign(status="operating")  # as active
    keep = np.array([k in then for k in now_keys], dtype=bool)
    parts = [now[keep]]
    if gone:  # the sites no longer active, every layer measured at once
        fr = {t: frames[t] for t in ("rivers", "waterbodies", "townships") if frames.get(t) is not None}
        fr.update(gone)
        parts.append(check(fr, distance=distance, layers=tuple(gone), as_of=None))
    parts = [parts[0]] + [q for q in parts[1:] if len(q)]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)


def within(result: pd.DataFrame, distance: float) -> pd.DataFrame:
    """Rows of a :func:`check` result that violate a limit of ``distance`` metres (no recomputation)."""
    keep = result["active"].astype(bool) & (result["distance_m"] <= float(distance))
    return result[keep.to_numpy()]


def compare_limits(result: pd.DataFrame, current: float, proposed: float) -> pd.DataFrame:
    """From a :func:`check` result at the larger of two limits: the rows only the larger limit lists."""
    lo, hi = sorted((float(current), float(proposed)))
    rows = result[(result["distance_m"] > lo).to_numpy() & (result["distance_m"] <= hi).to_numpy()
                  & result["active"].astype(bool).to_numpy()].copy()
    rows["change"] = "added" if float(proposed) >= float(current) else "removed"
    return rows


def counts_by_township(result: pd.DataFrame) -> pd.DataFrame:
    """Violations per township and layer (rows: township; columns: layer; plus ``total``)."""
    if len(result) == 0:
        return pd.DataFrame(columns=["township", "total"])
    t = pd.DataFrame(result[["layer", "id", "township"]]).assign(township=result["township"].fillna("（区外）"))
    table = t.pivot_table(index="township", columns="layer", values="id", aggfunc="count", fill_value=0)
    table["total"] = table.sum(axis=1)
    return table.sort_values("total", ascending=False).reset_index()


# --- export ---------------------------------------------------------------------------------------------

def to_table(result: pd.DataFrame, *, chinese: bool = False) -> pd.DataFrame:
    """A plain table of a result for csv/xlsx: English columns (or Chinese headers and labels)."""
    cols = COLUMNS + ["water_layer", "status", "active", "violation", "lon", "lat"]
    df = pd.DataFrame(result[cols]).copy()
    if not chinese:
        return df
    df["layer"] = df["layer"].map(LAYER_LABELS)
    df["water_layer"] = df["water_layer"].map(LAYER_LABELS)
    df["status"] = result["status_label"].to_numpy()
    df["active"] = np.where(df["active"].astype(bool), "是", "否")
    df["violation"] = np.where(df["violation"].astype(bool), "是", "否")
    return df.rename(columns=COLUMN_LABELS_OUT)


def riverside_meta(distance: float, as_of=None, layers=("farms", "enterprises", "kilns"), *,
                   data_version: str | None = None, generated_by: str | None = None):
    """What a riverside list is (:class:`geo.io.writers.Meta`): the rule, its limit, the layers, the date."""
    from .io.writers import Meta

    names = "、".join(LAYER_LABELS.get(k, k) for k in _parse_layers(layers))
    d, official = float(distance), float(rules.riverside_limit_m())
    how = "距离按局部横轴墨卡托平面（GRS80）精确计算，单位米，保留到毫米"
    if d == official:
        title = f"沿河{d:g}米缓冲区内在管点位清单"
        rule = (f"在管点位距河流岸线（中心线减半河宽）或水库、湖泊水面不超过 {d:g} 米即为违规（含 {d:g} 米）；{how}")
    else:
        # a list at another limit is a what-if: it must never read as the rule in force
        title = f"沿河{d:g}米范围内在管点位清单（假设比较，现行限值 {official:g} 米）"
        rule = (f"现行规则：在管点位距河流岸线（中心线减半河宽）或水库、湖泊水面不超过 {official:g} 米即为违规。"
                f"本清单为假设比较，按假设限值 {d:g} 米列出距水体不超过 {d:g} 米的在管点位，不是现行规则下的违规清单；{how}")
    return Meta(
        title=title,
        rule=rule,
        parameters={"限值（米）": d, "现行限值（米）": official, "检查的图层": names,
                    "坐标": "经纬度 WGS84（EPSG:4326）",
                    "距离算法": "点到河流中心线距离减半河宽（不小于0），水库湖泊内为0；局部横轴墨卡托平面"},
        as_of=pd.Timestamp(as_of).date() if as_of is not None else "当前状态",
        data_version=data_version, generated_by=generated_by)


def write_result(result: gpd.GeoDataFrame, path: str | Path, *, meta=None, labels: str | None = None) -> Path:
    """Write a result as ``.csv``, ``.xlsx`` (Chinese headers; ``meta`` on its 说明 sheet), ``.geojson``
    (points, ``meta`` as its ``"metadata"`` member) or ``.gpkg`` (for people: Chinese aliases and labels,
    ``meta`` as metadata), through :mod:`geo.io.writers` (no spreadsheet formula from a site's name).

    CSV and GeoJSON: by default for scripts (English columns ``layer,id,name,township,distance_m,water_id,
    water_name,…`` and codes; a CSV's ``meta`` in a sibling ``<file>.meta.txt``); ``labels="zh"`` for people
    (Chinese headers and labels; a CSV in UTF-8 with BOM, ``meta`` as leading ``#`` lines).
    """
    from .io.writers import write_csv, write_geojson, write_xlsx

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if labels == "zh":
            return write_csv(to_table(result, chinese=True), path, dialect="for_people", meta=meta)
        return write_csv(to_table(result), path, dialect="for_machines", meta=meta)
    if suffix == ".xlsx":
        return write_xlsx({SHEET: to_table(result, chinese=True)}, path, meta=meta)
    if suffix in (".geojson", ".json"):
        return write_geojson(_geo_table(result, chinese=labels == "zh"), path, meta=meta)
    if suffix == ".gpkg":
        return to_gpkg(result, path, meta=meta)
    raise GeoError(f"不支持的输出格式“{suffix}”（可用 .xlsx、.csv、.geojson、.gpkg）。", f"unsupported output {suffix!r}")


#: The sheet and GeoPackage layer of a riverside list.
SHEET, GPKG_LAYER = "河岸缓冲", "riverside"


def _geo_table(result: gpd.GeoDataFrame, *, chinese: bool = False) -> gpd.GeoDataFrame:
    """The list with its points: codes and booleans (scripts), or Chinese headers and labels (people)."""
    gdf = gpd.GeoDataFrame(to_table(result, chinese=chinese), geometry=result.geometry.values, crs=STORE_CRS)
    if not chinese:
        gdf["active"] = gdf["active"].astype(bool)
        gdf["violation"] = gdf["violation"].astype(bool)
    return gdf


def to_geojson(result: gpd.GeoDataFrame, *, meta=None, chinese: bool = True) -> str:
    """The list as GeoJSON for people (Chinese property names, layer and status labels, 是/否; ``meta``:
    the statement as the top-level ``"metadata"`` member); ``chinese=False``: the codes, for scripts."""
    from .io.writers import write_geojson

    return write_geojson(_geo_table(result, chinese=chinese), meta=meta).decode("utf-8")


def to_gpkg(result: gpd.GeoDataFrame, path: str | Path | None = None, *, meta=None) -> bytes | Path:
    """The list as a GeoPackage (layer :data:`GPKG_LAYER`) for people in a GIS: the identifiers as field names
    with their Chinese aliases, Chinese labels for layers and statuses, 是/否; ``meta`` as the file's and the
    layer's metadata (:func:`geo.io.writers.write_gpkg`)."""
    from .io.writers import write_gpkg

    table = to_table(result)
    people = to_table(result, chinese=True)
    for col in ("layer", "water_layer", "status", "active", "violation"):  # the words of the Chinese table
        table[col] = people[COLUMN_LABELS_OUT[col]].to_numpy()
    gdf = gpd.GeoDataFrame(table, geometry=result.geometry.values, crs=STORE_CRS)
    return write_gpkg(gdf, path, layer=GPKG_LAYER, headers=COLUMN_LABELS_OUT, meta=meta)


def to_xlsx_bytes(result: pd.DataFrame, *, meta=None) -> bytes:
    """The xlsx of a result (Chinese headers; ``meta``: see :func:`riverside_meta`, on the 说明 sheet)."""
    from .io.writers import write_xlsx

    return write_xlsx({SHEET: to_table(result, chinese=True)}, meta=meta)


def to_csv_bytes(result: pd.DataFrame, *, meta=None) -> bytes:
    """The CSV of a result for people: UTF-8 with BOM, Chinese headers and labels (``meta`` as leading lines)."""
    from .io.writers import write_csv

    return write_csv(to_table(result, chinese=True), dialect="for_people", meta=meta)
