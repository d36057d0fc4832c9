"""The patrol route map (layers/patrol.py): depot as SVG, legible stop numbers, dropped stops and water shown."""
from __future__ import annotations

import datetime as dt
import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.patrol import PatrolParams, plan_patrol
from layers import mapview
from geo.patrol import TEAM_COLOURS
from layers.patrol import FIT_PADDING_PX, LABEL_PX, MAP_PX, bounds_of, label_positions, plan_map
from tests.test_patrol import LAT0, LON0, grid_stops, hand_tables, offset


def _plan():
    """Six stops crowded round the depot, six far out east; a 3-hour day drops some of the far ones."""
    near = grid_stops(6, spacing_m=60, kind="violations")
    far = grid_stops(6, spacing_m=3000, kind="kilns-closed")
    far["stop_id"] = far["stop_id"] + "k"
    far["geometry"] = far.geometry.translate(0.15, 0.02)
    stops = gpd.GeoDataFrame(pd.concat([near, far], ignore_index=True), geometry="geometry", crs="EPSG:4326")
    params = PatrolParams(teams=1, hours=3, time_limit_s=1, required=frozenset())
    return plan_patrol(stops, offset(LON0, LAT0, 30, 30), params, day=dt.date(2007, 7, 2))


def _px(lon, lat, bounds):
    lat0 = (bounds[1] + bounds[3]) / 2
    kx = 111_320.0 * math.cos(math.radians(lat0))
    w = (bounds[2] - bounds[0]) * kx
    h = (bounds[3] - bounds[1]) * 110_540.0
    mpp = max(w / (MAP_PX[0] - 2 * FIT_PADDING_PX), h / (MAP_PX[1] - 2 * FIT_PADDING_PX))
    return np.asarray(lon) * kx / mpp, np.asarray(lat) * 110_540.0 / mpp


def test_stop_numbers_do_not_overlap_each_other_or_the_depot():
    plan = _plan()
    v = plan.visited
    assert len(v) >= 6 and len(plan.dropped)
    b = bounds_of(plan)
    lx, ly = label_positions(v.geometry.x.to_numpy(), v.geometry.y.to_numpy(), plan.depot, b)
    x, y = _px(lx, ly, b)
    dx, dy = _px([plan.depot[0]], [plan.depot[1]], b)
    # at the opening zoom the six stops near the depot are within a few pixels of each other
    sx, sy = _px(v.geometry.x.to_numpy(), v.geometry.y.to_numpy(), b)
    assert (np.hypot(sx - dx[0], sy - dy[0]) < LABEL_PX).sum() >= 3
    for i in range(len(x)):
        assert math.hypot(x[i] - dx[0], y[i] - dy[0]) >= LABEL_PX - 0.5  # clear of the depot icon
        for j in range(i):
            assert math.hypot(x[i] - x[j], y[i] - y[j]) >= LABEL_PX - 0.5, (i, j)


def test_map_opens_on_every_stop_and_draws_depot_water_and_dropped():
    plan = _plan()
    t = hand_tables()
    m = plan_map(plan, {"townships": t["townships"], "rivers": t["rivers"], "waterbodies": t["waterbodies"]},
                 team_colours=TEAM_COLOURS)
    html = mapview.to_html(m)
    # the depot is an icon (an SVG house drawn by QS.icon), never an emoji
    assert "QS.icon(" in html and '"name":"house"' in html.replace(" ", "") and "🏢" not in html
    assert not re.search("[\U0001F300-\U0001FAFF]", html)
    # rivers are on the map, and in the legend
    assert "甲江" in html and "河流" in html
    # dropped stops are drawn with their urgency and why they were left out
    for why in plan.dropped["drop_reason"]:
        assert why and why in html
    assert "未安排原因" in html and "紧急程度" in html
    # the view holds every stop, dropped ones included
    fit = re.search(r"fitBounds\(\s*\[\[([-\d.]+),\s*([-\d.]+)\],\s*\[([-\d.]+),\s*([-\d.]+)\]\]", html)
    miny, minx, maxy, maxx = (float(g) for g in fit.groups())
    g = plan.stops.geometry
    assert minx <= g.x.min() and maxx >= g.x.max() and miny <= g.y.min() and maxy >= g.y.max()
    # stops drawn away from a crowded spot are tied to where they are by a leader line
    assert html.count("L.polyline") > len(plan.teams)
