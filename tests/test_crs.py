"""Datum conversions and the metric CRS."""
import numpy as np
import pyproj
import pytest

from geo import crs
from geo.errors import GeoError

GEOD = pyproj.Geod(ellps="WGS84")


def _metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


@pytest.fixture(scope="module")
def china_points():
    rng = np.random.default_rng(1)
    return rng.uniform(75, 134, 5000), rng.uniform(18, 53, 5000)


def test_gcj02_round_trip_below_5cm_across_china(china_points):
    lon, lat = china_points
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    back_lon, back_lat = crs.gcj02_to_wgs84(glon, glat)
    assert np.max(_metres(lon, lat, back_lon, back_lat)) < 0.05


def test_bd09_round_trip_below_5cm_across_china(china_points):
    lon, lat = china_points
    blon, blat = crs.from_wgs84(lon, lat, "bd09")
    back_lon, back_lat = crs.to_wgs84(blon, blat, "bd09")
    assert np.max(_metres(lon, lat, back_lon, back_lat)) < 0.05


def test_gcj02_offset_at_qujiang_is_about_580_m():
    lon, lat = np.array([118.955, 118.93, 118.88]), np.array([28.975, 29.18, 28.60])
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    offset = _metres(lon, lat, glon, glat)
    assert np.all((offset > 500) & (offset < 650)), offset


def test_bd09_is_further_offset_from_gcj02():
    glon, glat = crs.wgs84_to_gcj02(118.955, 28.975)
    blon, blat = crs.gcj02_to_bd09(glon, glat)
    assert 500 < _metres(glon, glat, blon, blat)[0] < 1500


def test_identity_outside_china():
    lon, lat = np.array([2.35, -74.0, 139.7]), np.array([48.85, 40.7, 35.7])  # Paris, New York, Tokyo
    for f in (crs.wgs84_to_gcj02, crs.gcj02_to_wgs84, crs.gcj02_to_bd09, crs.bd09_to_gcj02):
        x, y = f(lon, lat)
        assert np.array_equal(x, lon) and np.array_equal(y, lat)


def test_known_published_value():
    # Tiananmen: WGS84 (116.391, 39.907) is GCJ-02 (116.397240, 39.908404) by the published algorithm.
    x, y = crs.wgs84_to_gcj02(116.391, 39.907)
    assert abs(x[0] - 116.397240) < 2e-5 and abs(y[0] - 39.908404) < 2e-5


def test_shapes_must_match():
    with pytest.raises(ValueError):
        crs.wgs84_to_gcj02([1.0, 2.0], [3.0])
    with pytest.raises(GeoError):  # a datum a person names wrongly is bad input, said in both languages
        crs.to_wgs84(1, 2, "mars")


def test_metric_crs_scale_error_below_1e4_at_every_demo_site(demo_frames):
    sites = [demo_frames[t] for t in ("enterprises", "kilns", "farms", "sampling_points")]
    bounds = demo_frames["townships"].total_bounds
    local = crs.metric_crs_for(bounds)
    for s in sites:
        err = crs.scale_error(local, s.geometry.x, s.geometry.y)
        assert err.max() < 1e-4
    # The reason not to use Web Mercator: 14 % at 29°N.
    merc = crs.scale_error(pyproj.CRS("EPSG:3857"), [118.95], [29.0])[0]
    assert merc > 0.13


def test_metric_crs_measures_like_the_geodesic():
    local = crs.metric_crs_for((118.73, 28.52, 119.11, 29.34))
    t = pyproj.Transformer.from_crs("EPSG:4326", local, always_xy=True)
    rng = np.random.default_rng(2)
    lon, lat = rng.uniform(118.73, 119.11, 200), rng.uniform(28.52, 29.34, 200)
    lon2, lat2 = lon + rng.uniform(-0.01, 0.01, 200), lat + rng.uniform(-0.01, 0.01, 200)
    x1, y1 = t.transform(lon, lat)
    x2, y2 = t.transform(lon2, lat2)
    planar = np.hypot(x2 - x1, y2 - y1)
    geodesic = GEOD.inv(lon, lat, lon2, lat2)[2]
    assert np.max(np.abs(planar - geodesic) / geodesic) < 1e-4


def test_cgcs2000_gk_zone():
    assert crs.cgcs2000_gk3_epsg(118.9) == 4549  # CM 120°E
    assert "120" in pyproj.CRS.from_epsg(crs.cgcs2000_gk3_epsg(118.9)).name
