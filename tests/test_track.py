"""A GPX track (两步路, a phone's GPS) as an inspection's route: datum required, stops passed, file kept."""
from __future__ import annotations

import shutil

import numpy as np
import pyproj
import pytest

from geo import inspections as I
from geo.crs import wgs84_to_gcj02
from geo.errors import GeoError
from geo.intake import track as T
from geo.store import DEMO_STORE, open_store

GEOD = pyproj.Geod(ellps="WGS84")


@pytest.fixture
def store(tmp_path):
    p = tmp_path / "s.gpkg"
    shutil.copyfile(DEMO_STORE, p)
    return open_store(p)


def _gpx(points, times=None) -> bytes:
    pts = "".join(f'<trkpt lat="{y:.7f}" lon="{x:.7f}">' + (f"<time>{times[i]}</time>" if times else "")
                  + "</trkpt>" for i, (x, y) in enumerate(points))
    return (f'<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="两步路" '
            f'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>巡查</name><trkseg>{pts}</trkseg></trk></gpx>'
            ).encode("utf-8")


def _inspection(store):
    farms = store.read("farms").head(3).rename(columns={"id": "id"})
    stops = farms.assign(layer="farms")[["layer", "id", "geometry"]]
    iid = I.new_inspection(store, held_on="2007-06-28", kind="spot", departments="环保局", user="巡查员",
                           stops=stops)
    return iid, farms


def test_a_track_through_two_stops_passes_them_and_misses_the_third(store):
    iid, farms = _inspection(store)
    (x0, y0), (x1, y1), (x2, y2) = [(g.x, g.y) for g in farms.geometry]
    # through stops 1 and 2, then 1 km north of stop 1
    far = GEOD.fwd(x0, y0, 0, 1000)[:2]
    line = [(x0, y0), (x1, y1), far]
    times = ["2007-06-28T01:00:00Z", "2007-06-28T01:30:00Z", "2007-06-28T02:10:00Z"]
    gx, gy = wgs84_to_gcj02(np.array([p[0] for p in line]), np.array([p[1] for p in line]))
    data = _gpx(list(zip(gx, gy)), times)  # recorded by a Chinese app in GCJ-02
    with pytest.raises(GeoError) as err:
        T.import_track(store, iid, data, name="两步路.gpx", datum=None, user="巡查员")
    assert "未指定坐标系" in err.value.zh and "GCJ-02" in err.value.zh
    tr = T.import_track(store, iid, data, name="两步路.gpx", datum="gcj02", user="巡查员")
    s = tr.stops.set_index("feature_id")
    assert s.loc[farms["id"].iloc[0], "distance_m"] < 0.1 and s.loc[farms["id"].iloc[1], "distance_m"] < 0.1
    assert bool(s.loc[farms["id"].iloc[0], "passed"]) and bool(s.loc[farms["id"].iloc[1], "passed"])
    assert bool(s.loc[farms["id"].iloc[2], "passed"]) == (s.loc[farms["id"].iloc[2], "distance_m"] <= 100)
    # length: the geodesic length of the true line, within a metre
    want = sum(GEOD.inv(*line[i], *line[i + 1])[2] for i in range(len(line) - 1))
    assert abs(tr.length_m - want) < 1.0
    assert tr.started.hour == 9 and tr.ended.hour == 10  # Beijing time
    att = store.read("attachments")
    kept = att[(att["layer"] == "inspections") & (att["feature_id"] == iid)]
    assert len(kept) == 1 and kept["name"].iloc[0] == "两步路.gpx" and kept["mime"].iloc[0] == "application/gpx+xml"
    assert bytes(kept["content"].iloc[0]) == data and "经过计划点位" in kept["note"].iloc[0]


def test_a_track_of_an_unknown_inspection_or_no_track_is_refused(store):
    with pytest.raises(GeoError, match="no inspection"):
        T.import_track(store, "NOPE", _gpx([(118.9, 29.0), (118.91, 29.0)]), datum="wgs84", user="u")
    iid, _ = _inspection(store)
    with pytest.raises(GeoError):
        T.import_track(store, iid, _gpx([(118.9, 29.0)]), datum="wgs84", user="u")  # one point: no line
    assert not (store.read("attachments")["layer"] == "inspections").any()
