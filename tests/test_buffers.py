"""Riverside buffer rule: hand-built cases per rule, geodesic agreement across China, CLI.

Expected distances are built with ``pyproj.Geod`` (sites placed at a known
geodesic distance from a geodesic edge or a vertex), and the random-data check
compares with an independent computation: an azimuthal equidistant projection
centred on each site, with every water edge densified along the geodesic.
"""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon

from geo import buffers, contract
from geo.store import GpkgStore

GEOD = pyproj.Geod(ellps="GRS80")


def fwd(lon, lat, az, dist):
    x, y, _ = GEOD.fwd(lon, lat, az, dist)
    return float(x), float(y)


def rivers_gdf(rows):
    """rows: (id, name, width_m, geometry)."""
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "name": [r[1] for r in rows],
                             "width_m": [float(r[2]) for r in rows]},
                            geometry=[r[3] for r in rows], crs=4326)


def lakes_gdf(rows):
    """rows: (id, name, geometry)."""
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "name": [r[1] for r in rows],
                             "kind": ["reservoir"] * len(rows)},
                            geometry=[r[2] for r in rows] if rows else gpd.GeoSeries([], crs=4326), crs=4326)


def sites_gdf(points):
    return gpd.GeoDataFrame({"id": [f"S{i}" for i in range(len(points))]},
                            geometry=[Point(p) for p in points], crs=4326)


NO_LAKES = lakes_gdf([])


def meridian(lon, lat0, lat1):
    return LineString([(lon, lat0), (lon, lat1)])


# --- hand-built rules --------------------------------------------------------------------------

def test_bank_not_centre_line():
    line = meridian(119.0, 29.00, 29.02)
    site = fwd(119.0, 29.01, 90, 240.0)  # 240 m east of the centre line
    in_river = fwd(119.0, 29.01, 270, 40.0)
    wide = rivers_gdf([("R1", "宽河", 100.0, line)])
    narrow = rivers_gdf([("R1", "小溪", 0.0, line)])
    d = buffers.distance_to_water(sites_gdf([site, in_river]), wide, NO_LAKES)
    assert d["distance_m"].iloc[0] == pytest.approx(190.0, abs=0.005)  # from the bank, 50 m nearer
    assert d["distance_m"].iloc[1] == 0.0  # on the water between the banks
    assert d["water_id"].iloc[0] == "R1" and d["water_name"].iloc[0] == "宽河"
    d = buffers.distance_to_water(sites_gdf([site]), narrow, NO_LAKES)
    assert d["distance_m"].iloc[0] == pytest.approx(240.0, abs=0.005)
    # the limit: the wide river's site is a violation at 200 m, the stream's is not
    assert buffers.distance_to_water(sites_gdf([site]), wide, NO_LAKES, max_distance=200)["distance_m"].notna().all()
    assert buffers.distance_to_water(sites_gdf([site]), narrow, NO_LAKES, max_distance=200)["distance_m"].isna().all()


def _square(lon0, lat0, half_m):
    """A square-ish polygon with meridian east/west edges (geodesics), corners at ±half_m."""
    w, _ = fwd(lon0, lat0, 270, half_m)
    e, _ = fwd(lon0, lat0, 90, half_m)
    _, s = fwd(lon0, lat0, 180, half_m)
    _, n = fwd(lon0, lat0, 0, half_m)
    return [(w, s), (e, s), (e, n), (w, n), (w, s)]


def test_reservoir_edge_inside_and_corner():
    ring = _square(118.5, 29.5, 1000.0)
    lake = lakes_gdf([("L1", "水库", Polygon(ring))])
    east_lon = ring[1][0]
    outside = fwd(east_lon, 29.5, 90, 150.0)  # 150 m east of the (meridian) east shore
    inside = (118.5, 29.5)
    corner = fwd(ring[2][0], ring[2][1], 45, 180.0)  # beyond the NE corner: nearest point is the corner
    d = buffers.distance_to_water(sites_gdf([outside, inside, corner]), rivers_gdf([]), lake)
    assert d["distance_m"].iloc[0] == pytest.approx(150.0, abs=0.005)
    assert d["distance_m"].iloc[1] == 0.0
    assert d["distance_m"].iloc[2] == pytest.approx(180.0, abs=0.005)
    assert list(d["water_id"]) == ["L1"] * 3 and set(d["water_layer"]) == {"waterbodies"}


def test_island_is_land():
    shore = _square(120.2, 30.1, 2000.0)
    # a tall narrow island: its east and west shores (meridians) are 300 m from its centre line
    w, _ = fwd(120.2, 30.1, 270, 300.0)
    e, _ = fwd(120.2, 30.1, 90, 300.0)
    _, s = fwd(120.2, 30.1, 180, 1500.0)
    _, n = fwd(120.2, 30.1, 0, 1500.0)
    island = [(w, s), (e, s), (e, n), (w, n), (w, s)]
    lake = lakes_gdf([("L1", "湖", Polygon(shore, [island]))])
    on_island = (120.2, 30.1)
    on_water = fwd(e, 30.1, 90, 500.0)  # between the island and the shore
    near_shore_on_island = fwd(e, 30.1, 270, 120.0)
    d = buffers.distance_to_water(sites_gdf([on_island, on_water, near_shore_on_island]), rivers_gdf([]), lake)
    assert d["distance_m"].iloc[0] == pytest.approx(300.0, abs=0.005)
    assert d["distance_m"].iloc[1] == 0.0
    assert d["distance_m"].iloc[2] == pytest.approx(120.0, abs=0.005)
    within = buffers.distance_to_water(sites_gdf([on_island]), rivers_gdf([]), lake, max_distance=200)
    assert within["distance_m"].isna().all()  # the island's middle is no violation at 200 m


def test_multipart_river_nearest_part_and_width():
    part_a = meridian(119.00, 29.0, 29.01)
    part_b = meridian(119.02, 29.0, 29.01)
    river = rivers_gdf([("R7", "双汊河", 20.0, MultiLineString([part_a, part_b])),
                        ("R8", "远河", 0.0, meridian(119.05, 29.0, 29.01))])
    site = fwd(119.02, 29.005, 90, 150.0)
    d = buffers.distance_to_water(sites_gdf([site]), river, NO_LAKES)
    assert d["water_id"].iloc[0] == "R7"
    assert d["distance_m"].iloc[0] == pytest.approx(140.0, abs=0.005)


def _diagonal(lon, lat, az=40.0, length=1500.0):
    """A geodesic segment and the point and azimuth at its middle."""
    end = fwd(lon, lat, az, length)
    mid_lon, mid_lat, back = GEOD.fwd(lon, lat, az, length / 2)
    return LineString([(lon, lat), end]), (float(mid_lon), float(mid_lat)), float(back) + 180.0


@pytest.mark.parametrize("lon", [117.0, 121.4999, 121.5, 122.98])  # UTM central meridian, strip edge, zone edge
def test_sites_0_2_m_either_side_of_the_limit_at_30N(lon):
    seg, mid, az = _diagonal(lon, 30.0)
    inside = fwd(*mid, az + 90, 199.8)
    outside = fwd(*mid, az + 90, 200.2)
    exactly = fwd(*mid, az - 90, 200.0)
    rivers = rivers_gdf([("R1", "河", 0.0, seg)])
    d = buffers.distance_to_water(sites_gdf([inside, outside, exactly]), rivers, NO_LAKES, max_distance=200.0)
    assert d["distance_m"].iloc[0] == pytest.approx(199.8, abs=0.005)
    assert np.isnan(d["distance_m"].iloc[1])
    assert d["distance_m"].iloc[2] == 200.0  # exactly at D: listed (reported to the mm)
    full = buffers.distance_to_water(sites_gdf([outside]), rivers, NO_LAKES)
    assert full["distance_m"].iloc[0] == pytest.approx(200.2, abs=0.005)


def test_site_exactly_at_limit_from_a_bank_is_a_violation(tmp_path):
    line = meridian(119.0, 29.0, 29.02)
    site = fwd(119.0, 29.01, 90, 260.0)  # 200 m from the bank of a 120 m wide river
    frames = _frames(rivers_gdf([("R1", "河", 120.0, line)]), NO_LAKES,
                     farms=[("F1", "场", "operating", site)])
    res = buffers.check(frames, 200)
    assert list(res["id"]) == ["F1"] and res["distance_m"].iloc[0] == 200.0
    assert buffers.check(frames, 199.99).empty


def test_curved_bank_a_buffer_polygon_would_miss():
    """A site 199.9 m beyond a river's end lies outside a 200 m buffer polygon (its arc is chords)."""
    line = meridian(117.0, 29.0, 29.02)
    rivers = rivers_gdf([("R1", "河", 0.0, line)])
    utm = rivers.to_crs(32650).buffer(200.0).iloc[0]  # the careful GIS user's zone (k = 0.9996 here)
    missed = None
    for az in np.arange(90.0, 270.0, 0.25):  # around the southern end of the river
        p = fwd(117.0, 29.0, az, 199.9)
        if not utm.contains(gpd.GeoSeries([Point(p)], crs=4326).to_crs(32650).iloc[0]):
            missed = p
            break
    assert missed is not None, "the buffer polygon should miss some point at 199.9 m"
    d = buffers.distance_to_water(sites_gdf([missed]), rivers, NO_LAKES, max_distance=200.0)
    assert d["distance_m"].iloc[0] == pytest.approx(199.9, abs=0.005)


# --- check(): status, history, townships -----------------------------------------------------------

def _frames(rivers, lakes, farms=(), enterprises=(), kilns=(), events=None, townships=None):
    def sites(table, rows, extra):
        df = contract.empty(table)
        if not rows:
            return df
        data = {"id": [r[0] for r in rows], "name": [r[1] for r in rows], "status": [r[2] for r in rows], **extra(rows)}
        data = {**{c: [None] * len(rows) for c in contract.TABLES[table].required_names}, **data}
        return gpd.GeoDataFrame(contract.coerce(table, pd.DataFrame(data)), geometry=[Point(r[3]) for r in rows],
                                crs=4326)

    if townships is None:
        townships = gpd.GeoDataFrame({"code": ["T1"], "name": ["甲镇"], "kind": ["镇"]},
                                     geometry=[shapely.box(100, 0, 140, 55)], crs=4326)
    return {
        "rivers": rivers, "waterbodies": lakes, "townships": townships,
        "farms": sites("farms", list(farms), lambda r: {"species": "猪", "head_count": 600}),
        "enterprises": sites("enterprises", list(enterprises), lambda r: {"industry": "化工"}),
        "kilns": sites("kilns", list(kilns), lambda r: {"kind": "kiln", "village": "村"}),
        "status_events": events if events is not None else contract.empty("status_events"),
    }


def test_resolved_sites_are_excluded_and_history_applies():
    line = meridian(119.0, 29.0, 29.02)
    near = [fwd(119.0, 29.002 + 0.001 * k, 90, 50.0) for k in range(6)]
    events = contract.coerce("status_events", pd.DataFrame({
        "layer": ["farms", "farms", "farms", "enterprises"],
        "feature_id": ["F1", "F2", "F2", "E1"],
        "status": ["operating", "operating", "closed", "converted"],
        "effective_on": ["2007-01-01", "2007-01-01", "2007-05-01", "2007-03-01"],
    }))
    frames = _frames(
        rivers_gdf([("R1", "河", 0.0, line)]), NO_LAKES,
        farms=[("F1", "在养场", "operating", near[0]), ("F2", "关停场", "closed", near[1]),
               ("F3", "搬迁场", "relocated", near[2])],
        enterprises=[("E1", "转产厂", "converted", near[3]), ("E2", "停产厂", "suspended", near[4])],
        kilns=[("K1", "改建窑", "rebuilt", near[5])], events=events)
    res = buffers.check(frames, 200)
    assert set(zip(res["layer"], res["id"])) == {("farms", "F1"), ("enterprises", "E2"), ("kilns", "K1")}
    assert list(res.columns[:7]) == buffers.COLUMNS
    assert (res["township"] == "甲镇").all()
    assert res["distance_m"].to_numpy() == pytest.approx([50.0] * 3, abs=0.005)
    # On 2007-04-01 the history says F2 still operated and E1 was converted; F3/E2/K1 had no event yet.
    past = buffers.check(frames, 200, as_of="2007-04-01")
    assert set(past["id"]) == {"F1", "F2"}
    assert len(buffers.within(buffers.check(frames, 300), 200)) == 3  # a larger computation, cut to the limit
    only_farms = buffers.check(frames, 200, layers="farms")
    assert list(only_farms["id"]) == ["F1"]
    everything = buffers.check(frames, 200, all_sites=True)
    assert len(everything) == 6 and everything["violation"].sum() == 3
    assert not everything.loc[everything["id"] == "F2", "violation"].iloc[0]


def test_what_if_lists_what_the_larger_limit_adds():
    line = meridian(119.0, 29.0, 29.02)
    farms = [(f"F{k}", f"场{k}", "operating", fwd(119.0, 29.01, 90, dist))
             for k, dist in enumerate([150.0, 250.0, 299.9, 300.1, 450.0])]
    frames = _frames(rivers_gdf([("R1", "河", 0.0, line)]), NO_LAKES, farms=farms)
    added = buffers.compare_limits(buffers.check(frames, 300), 200, 300)
    assert list(added["id"]) == ["F1", "F2"] and set(added["change"]) == {"added"}
    res = buffers.check(frames, 500)
    assert list(buffers.within(res, 200)["id"]) == ["F0"]
    counts = buffers.counts_by_township(buffers.within(res, 300))
    assert counts.loc[0, "township"] == "甲镇" and counts.loc[0, "total"] == 3


def test_bad_inputs():
    frames = _frames(rivers_gdf([]), NO_LAKES)
    # a user's input, refused in both languages (a ValueError would be a bug)
    from geo.errors import GeoError

    with pytest.raises(GeoError, match="positive number") as e:
        buffers.check(frames, -5)
    assert "缓冲距离须为正数" in e.value.zh
    with pytest.raises(GeoError) as e:
        buffers.check(frames, 200, layers="cows")
    assert "图层“cows”无效" in e.value.zh and "养殖场" in e.value.zh
    assert buffers.check(frames, 200).empty  # no sites, no water: an empty list, not an error


def test_no_water_and_missing_geometry():
    sites = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[Point(119, 29), None], crs=4326)
    d = buffers.distance_to_water(sites, rivers_gdf([]), NO_LAKES)
    assert d["distance_m"].isna().all()
    d = buffers.distance_to_water(sites, rivers_gdf([("R1", "河", 0.0, meridian(119.1, 29.0, 29.1))]), NO_LAKES)
    assert np.isnan(d["distance_m"].iloc[1]) and d["distance_m"].iloc[0] > 9000


# --- agreement with an independent geodesic computation --------------------------------------------------

def _densify(coords, step=20.0):
    """Points along each geodesic edge, ``step`` metres apart."""
    out = [coords[0]]
    for (x1, y1), (x2, y2) in zip(coords[:-1], coords[1:]):
        _, _, d = GEOD.inv(x1, y1, x2, y2)
        n = int(d // step)
        if n > 1:
            out += GEOD.npts(x1, y1, x2, y2, n - 1)
        out.append((x2, y2))
    return out


def _truth(site, rivers, lakes):
    """Rule distance from ``site`` in an AEQD centred on it (exact geodesic distances from the centre)."""
    aeqd = pyproj.Proj(proj="aeqd", lon_0=site[0], lat_0=site[1], ellps="GRS80")

    def proj(coords):
        xy = np.array(_densify(list(coords)))
        x, y = aeqd(xy[:, 0], xy[:, 1])
        return list(zip(x, y))

    origin = Point(0, 0)
    best = np.inf
    for geom, width in zip(rivers.geometry, rivers["width_m"]):
        for part in getattr(geom, "geoms", [geom]):
            best = min(best, max(origin.distance(LineString(proj(part.coords))) - width / 2, 0.0))
    for geom in lakes.geometry:
        for part in getattr(geom, "geoms", [geom]):
            poly = Polygon(proj(part.exterior.coords), [proj(r.coords) for r in part.interiors])
            best = min(best, origin.distance(poly))
    return best


def _random_water(rng, lon0, lat0):
    rows = []
    for r in range(4):
        lon, lat = lon0 + rng.uniform(-0.02, 0.02), lat0 + rng.uniform(-0.02, 0.02)
        az = rng.uniform(0, 360)
        pts = [(lon, lat)]
        for _ in range(int(rng.integers(5, 15))):
            az += rng.normal(0, 35)
            lon, lat = fwd(lon, lat, az, rng.uniform(30, 400))
            pts.append((lon, lat))
        rows.append((f"R{r}", f"河{r}", float(rng.choice([0.0, 0.0, 12.0, 80.0])), LineString(pts)))
    shore = _square(lon0 + 0.015, lat0 - 0.015, 700.0)
    island = _square(lon0 + 0.015, lat0 - 0.015, 200.0)[::-1]
    lakes = lakes_gdf([("L1", "库", Polygon(shore, [island]))])
    return rivers_gdf(rows), lakes


PLACES = {
    "UTM 50 central meridian, 30N": (117.0, 30.0),
    "3° off the UTM 50 meridian, 30N": (119.99, 30.0),
    "strip edge 118.5E": (118.5, 29.1),
    "Mohe 53N": (122.5, 53.0),
    "Harbin 46N": (126.6, 45.75),
    "Urumqi": (87.6, 43.8),
    "Lhasa": (91.1, 29.65),
    "Sanya 18N": (109.5, 18.3),
    "Nansha 4N": (112.3, 4.2),
}


@pytest.mark.parametrize("place", list(PLACES))
def test_agrees_with_geodesic_truth(place):
    lon0, lat0 = PLACES[place]
    rng = np.random.default_rng(abs(hash(place)) % 2**32)
    rivers, lakes = _random_water(rng, lon0, lat0)
    pts = [(lon0 + rng.uniform(-0.035, 0.035), lat0 + rng.uniform(-0.035, 0.035)) for _ in range(40)]
    ours = buffers.distance_to_water(sites_gdf(pts), rivers, lakes)["distance_m"].to_numpy()
    truth = np.array([_truth(p, rivers, lakes) for p in pts])
    err = np.abs(ours - truth)
    assert err.max() <= 0.1, f"{place}: worst error {err.max():.4f} m"
    assert err.max() <= 0.01  # in practice the error is millimetres
    # the bounded search returns the same distances for the sites within its reach
    bounded = buffers.distance_to_water(sites_gdf(pts), rivers, lakes, max_distance=500)["distance_m"].to_numpy()
    near = truth <= 499.9
    assert np.allclose(bounded[near], ours[near], atol=1e-3) and np.isnan(bounded[truth > 500.1]).all()


def test_far_sites_are_exact_too():
    """A site tens of km from water (re-measured on the ellipsoid) is still right to the decimetre."""
    river = rivers_gdf([("R1", "河", 0.0, meridian(100.0, 35.0, 35.05))])
    sites = [fwd(100.0, 35.02, 90, 40_000.0), fwd(100.0, 35.02, 270, 12_345.0)]
    d = buffers.distance_to_water(sites_gdf(sites), river, NO_LAKES)["distance_m"].to_numpy()
    assert d == pytest.approx([40_000.0, 12_345.0], abs=0.1)


def test_truth_is_sensitive_enough_to_catch_a_distorted_plane():
    """The reference would catch the classic mistakes: Web Mercator, and one UTM zone 3° off its meridian."""
    rng = np.random.default_rng(7)
    rivers, lakes = _random_water(rng, 122.99, 30.0)
    pts = [(122.99 + rng.uniform(-0.03, 0.03), 30.0 + rng.uniform(-0.03, 0.03)) for _ in range(10)]
    truth = np.array([_truth(p, rivers, lakes) for p in pts])
    for epsg in (3857, 32650):
        s = sites_gdf(pts).to_crs(epsg)
        r, lk = rivers.to_crs(epsg), lakes.to_crs(epsg)
        naive = np.array([min(np.min(np.maximum(r.distance(p) - r["width_m"] / 2, 0)), lk.distance(p).min())
                          for p in s.geometry])
        assert np.abs(naive - truth).max() > 0.1


# --- parts, worker processes and narrow reads give the same answer -----------------------------------

def _wide_water(rng, lon0=118.3, lon1=119.2, lat0=29.0, lat1=29.4):
    """Rivers (some wide, some crossing strip edges) and lakes with islands over several 0.25° strips."""
    rows = []
    for r in range(60):
        lon, lat = rng.uniform(lon0, lon1), rng.uniform(lat0, lat1)
        az, pts = rng.uniform(0, 360), [(lon, lat)]
        for _ in range(int(rng.integers(3, 30))):
            az += rng.normal(0, 30)
            lon, lat = fwd(lon, lat, az, rng.uniform(50, 3000))
            pts.append((lon, lat))
        rows.append((f"R{r:02d}", f"河{r}", float(rng.choice([0.0, 4.0, 30.0, 320.0])), LineString(pts)))
    lakes = []
    for k in range(5):
        x, y = rng.uniform(lon0, lon1), rng.uniform(lat0, lat1)
        lakes.append((f"L{k}", f"库{k}", Polygon(_square(x, y, 900.0), [_square(x, y, 250.0)[::-1]])))
    return rivers_gdf(rows), lakes_gdf(lakes)


def _many_sites(rng, n, lon0=118.3, lon1=119.2, lat0=29.0, lat1=29.4):
    return sites_gdf(list(zip(rng.uniform(lon0, lon1, n), rng.uniform(lat0, lat1, n))))


def test_parts_in_worker_processes_give_the_one_process_answer_to_the_bit(monkeypatch):
    rng = np.random.default_rng(13)
    rivers, lakes = _wide_water(rng)
    sites = _many_sites(rng, 6000)
    water = buffers._water(rivers, lakes)
    pts = np.asarray(sites.geometry.values, dtype=object)
    plon, plat = shapely.get_x(pts), shapely.get_y(pts)
    one = buffers._nearest_within(plon, plat, 200.0, water, workers=1)  # one part, here
    assert np.isfinite(one[0]).sum() > 300 and (one[1] >= water.n_rivers).any()  # rivers and lakes both hit

    monkeypatch.setattr(buffers, "PARALLEL_FROM_SITES", 100)
    monkeypatch.setattr(buffers, "PART_SITES", 700)  # nine parts, cut inside strips too
    assert len(buffers._parts(plon, 2)) == 9
    here = []
    real_part = buffers._nearest_part
    monkeypatch.setattr(buffers, "_nearest_part", lambda *a: here.append(1) or real_part(*a))
    forked = buffers._nearest_within(plon, plat, 200.0, water, workers=2)
    assert here == []  # every part was measured by a forked worker, none in this process
    serial_parts = buffers._nearest_within(plon, plat, 200.0, water, workers=1)
    assert len(here) == 9  # the same nine parts, measured here
    for got in (forked, serial_parts):
        assert np.array_equal(got[0], one[0]) and np.array_equal(got[1], one[1])

    # the whole rule, bounded and unbounded (growing radius), with two workers or one
    for max_distance in (200.0, None):
        a = buffers.distance_to_water(sites, rivers, lakes, max_distance=max_distance)
        monkeypatch.setattr(buffers, "_workers", lambda: 1)
        b = buffers.distance_to_water(sites, rivers, lakes, max_distance=max_distance)
        monkeypatch.setattr(buffers, "_workers", lambda: 2)
        pd.testing.assert_frame_equal(a, b)


def test_a_failed_worker_pool_falls_back_to_this_process(monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    rng = np.random.default_rng(5)
    rivers, lakes = _wide_water(rng)
    sites = _many_sites(rng, 1500)
    want = buffers.distance_to_water(sites, rivers, lakes, max_distance=300.0)
    monkeypatch.setattr(buffers, "PARALLEL_FROM_SITES", 100)
    monkeypatch.setattr(buffers, "PART_SITES", 400)
    monkeypatch.setattr(buffers, "_workers", lambda: 2)

    def broken(*a, **k):
        raise BrokenProcessPool("a worker died")

    monkeypatch.setattr("concurrent.futures.ProcessPoolExecutor", broken)
    pd.testing.assert_frame_equal(buffers.distance_to_water(sites, rivers, lakes, max_distance=300.0), want)


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    from geo import synth

    path = tmp_path_factory.mktemp("province") / "p.gpkg"
    synth.write(path, sites=4000, townships=12, rivers=60, waterbodies=6, sampling_points=10, readings=200,
                parks=4)
    return path


@pytest.mark.parametrize("layers, as_of, all_sites", [
    ("farms", None, False), ("farms,enterprises,kilns", "2007-06-30", False), ("kilns,farms", "2006-01-15", True),
    ("enterprises", "2005-06-01", False),
])
def test_narrow_reads_of_a_geopackage_give_the_whole_tables_answer(province, layers, as_of, all_sites):
    store = GpkgStore(province)
    frames = {t: store.read(t) for t in ("farms", "enterprises", "kilns", "rivers", "waterbodies", "townships",
                                          "status_events")}
    got = buffers.check(store, 250.0, layers, as_of, all_sites=all_sites)
    want = buffers.check(frames, 250.0, layers, as_of, all_sites=all_sites)
    assert len(want) > 20
    pd.testing.assert_frame_equal(got, want)


def test_narrow_reads_only_what_the_check_uses(province, tmp_path):
    store = GpkgStore(province)
    t = buffers.read_tables(store, ("farms", "rivers", "status_events"))
    assert list(t["farms"].columns) == ["id", "name", "status", "geometry"]
    assert list(t["rivers"].columns) == ["id", "name", "width_m", "geometry"]
    assert set(t["status_events"]["layer"]) == {"farms"}  # only the events of the layers asked for
    assert str(t["status_events"]["effective_on"].dtype).startswith("datetime64")


@pytest.mark.parametrize("minimal", [False, True])
def test_narrow_reads_of_a_store_without_reservoirs_or_optional_columns(tmp_path, minimal):
    from geo import synth

    tables = synth.build(sites=1500, townships=8, rivers=30, waterbodies=4, sampling_points=5, readings=100,
                         parks=2, minimal=minimal)
    del tables["waterbodies"]
    store = _store(tmp_path, tables)
    assert "waterbodies" not in store.tables()
    got = buffers.check(store, 300.0, "farms,kilns", "2007-06-30")
    want = buffers.check({**tables, "waterbodies": contract.empty("waterbodies")}, 300.0, "farms,kilns",
                         "2007-06-30")
    assert len(want) > 10 and (want["water_layer"] == "rivers").all()
    pd.testing.assert_frame_equal(got, want)


# --- CLI ---------------------------------------------------------------------------------------------

def _store(tmp_path, frames):
    store = GpkgStore(tmp_path / "s.gpkg", create=True)
    store.replace_all({k: v for k, v in frames.items()})
    return store


def test_cli_writes_csv_xlsx_geojson(tmp_path):
    from geo.cli import main

    line = meridian(119.0, 29.0, 29.02)
    frames = _frames(rivers_gdf([("R1", "衢江", 40.0, line)]), NO_LAKES,
                     farms=[("F1", "甲猪场", "operating", fwd(119.0, 29.01, 90, 150.0)),
                            ("F2", "乙猪场", "closed", fwd(119.0, 29.012, 90, 50.0)),
                            ("F3", "丙猪场", "treating", fwd(119.0, 29.014, 90, 400.0))])
    store = _store(tmp_path, frames)
    out = tmp_path / "v.csv"
    assert main(["buffer", "--store", str(store.path), "--distance", "200", "--out", str(out)]) == 0
    df = pd.read_csv(out, encoding="utf-8-sig", dtype={"id": str})
    assert list(df.columns[:7]) == ["layer", "id", "name", "township", "distance_m", "water_id", "water_name"]
    assert list(df["id"]) == ["F1"] and df["distance_m"].iloc[0] == pytest.approx(130.0, abs=0.005)
    assert df["water_name"].iloc[0] == "衢江"
    # --all lists every site; --distance 400 adds F3
    assert main(["buffer", "--store", str(store.path), "--distance", "400", "--all", "--out", str(out)]) == 0
    df = pd.read_csv(out, encoding="utf-8-sig")
    assert len(df) == 3 and df["violation"].sum() == 2
    xlsx = tmp_path / "v.xlsx"
    assert main(["buffer", "--store", str(store.path), "--layers", "farms", "--out", str(xlsx)]) == 0
    book = openpyxl.load_workbook(xlsx)
    head = {r[0]: r[1] for r in book["说明"].iter_rows(values_only=True) if r[0]}
    assert head["限值（米）"] == "200" and head["截至日期"] == "当前状态"  # the workbook states its rule
    assert [c.value for c in book["河岸缓冲"][1]][0] == "图层"  # the table from row 1
    x = pd.read_excel(xlsx, sheet_name="河岸缓冲")
    assert "距水体距离(米)" in x.columns and x["名称"].tolist() == ["甲猪场"]
    gj = tmp_path / "v.geojson"
    assert main(["buffer", "--store", str(store.path), "--as-of", "2007-06-30", "--out", str(gj)]) == 0
    feats = json.loads(gj.read_text(encoding="utf-8"))["features"]
    assert feats == []  # no status events: on that date no site was on the ledger yet


@pytest.mark.parametrize("args", [["--distance", "-1"], ["--distance", "abc"], ["--distance", "0"],
                                  ["--layers", "cows"], ["--as-of", "June"], ["--out-ext", ".txt"]])
def test_cli_rejects_bad_input_and_writes_nothing(tmp_path, capsys, args):
    from geo.cli import main

    frames = _frames(rivers_gdf([("R1", "河", 0.0, meridian(119.0, 29.0, 29.02))]), NO_LAKES)
    store = _store(tmp_path, frames)
    out = tmp_path / ("v.txt" if args == ["--out-ext", ".txt"] else "v.csv")
    extra = [] if args[0] == "--out-ext" else args
    try:
        rc = main(["buffer", "--store", str(store.path), *extra, "--out", str(out)])
    except SystemExit as exc:  # argparse rejects a malformed number before the command runs
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert ("错误" in err and "error:" in err) or ("距离" in err and "metres" in err)
    assert not out.exists()
