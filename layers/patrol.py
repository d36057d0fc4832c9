"""The patrol route map (巡查路线图): water, the teams' tours, numbered stops, dropped stops and the depot.

Draws a :class:`geo.patrol.PatrolPlan`; computes nothing about the plan. Stop numbers that would
overlap (several stops close together, or next to the depot) are moved apart on the screen and tied
to their stop with a thin leader line, so every number stays legible at the initial zoom.
"""
from __future__ import annotations

import html
import math

import folium
import numpy as np
import pandas as pd

from . import mapview, townships, water
from .base import Legend

#: The depot (驻地): a building drawn in SVG (an emoji renders as an empty box where no colour-emoji font is
#: installed, e.g. the bureau's intranet PCs).
DEPOT_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="30" height="30" viewBox="0 0 30 30" role="img" '
             'aria-label="驻地"><title>驻地</title>'
             '<path d="M4 27V12L15 4l11 8v15h-8v-8h-6v8z" fill="#1b3a2a" stroke="#ffffff" stroke-width="2" '
             'stroke-linejoin="round"/><rect x="13" y="12" width="4" height="4" fill="#ffffff"/></svg>')
DROPPED_COLOUR = "#777777"
#: team colours (Okabe–Ito, colour-blind safe), in the order of ``geo.patrol.TEAM_COLOURS`` (the KML uses
#: those; a map layer does not import the domain)
TEAM_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]


def _colour(team: int) -> str:
    return TEAM_COLOURS[(int(team) - 1) % len(TEAM_COLOURS)]
LABEL_PX = 24        # a stop number's badge
DEPOT_PX = 30
MAP_PX = (900, 560)  # the frame the map opens in (width is a typical page column)
FIT_PADDING_PX = 24  # room round the stops when the map opens, for badges and leader lines


def bounds_of(plan, pad_deg: float = 0.01) -> tuple[float, float, float, float]:
    """Bounds holding the depot, every visited and every dropped stop (the map opens on all of them)."""
    g = plan.stops.geometry
    xs = np.concatenate([[plan.depot[0]], g.x.to_numpy()])
    ys = np.concatenate([[plan.depot[1]], g.y.to_numpy()])
    return float(xs.min() - pad_deg), float(ys.min() - pad_deg), float(xs.max() + pad_deg), float(ys.max() + pad_deg)


def _metres(lon, lat, lat0):
    """Local east/north metres (equirectangular; only for laying out labels on the screen)."""
    return (np.asarray(lon) * 111_320.0 * math.cos(math.radians(lat0)), np.asarray(lat) * 110_540.0)


def label_positions(lon, lat, depot, bounds, frame_px=MAP_PX) -> tuple[np.ndarray, np.ndarray]:
    """Where to draw each stop's number so that none overlaps another or the depot at the initial zoom.

    Greedy in the given order: a label stays on its stop when that spot is free, else it moves outward
    (away from the depot) in steps of one badge until it is. Returns label (lon, lat).
    """
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    lat0 = (bounds[1] + bounds[3]) / 2
    bx, by = _metres([bounds[0], bounds[2]], [bounds[1], bounds[3]], lat0)
    # Leaflet snaps the fitted zoom down (zoomSnap 0.25: up to 2^0.25 = 1.19× more metres per pixel) and the
    # frame may be narrower than assumed: lay labels out for a little more ground per pixel than estimated.
    m_per_px = 1.25 * max((bx[1] - bx[0]) / (frame_px[0] - 2 * FIT_PADDING_PX),
                          (by[1] - by[0]) / (frame_px[1] - 2 * FIT_PADDING_PX), 1e-6)
    x, y = _metres(lon, lat, lat0)
    dx, dy = _metres([depot[0]], [depot[1]], lat0)
    placed = [(float(dx[0]), float(dy[0]), (DEPOT_PX + LABEL_PX) / 2 * m_per_px)]
    gap = LABEL_PX * 1.1 * m_per_px
    out_x, out_y = x.copy(), y.copy()
    for i in range(len(x)):
        ang = math.atan2(y[i] - dy[0], x[i] - dx[0]) if (x[i], y[i]) != (dx[0], dy[0]) else math.pi / 4
        for step in range(0, 60):
            # outward from the depot, turning a little each ring so stacked labels fan out
            a = ang + (step // 8) * 0.35 * (1 if step % 2 else -1)
            cx = x[i] + math.cos(a) * gap * (step / 2 if step else 0)
            cy = y[i] + math.sin(a) * gap * (step / 2 if step else 0)
            if all(math.hypot(cx - px, cy - py) >= r for px, py, r in placed):
                break
        out_x[i], out_y[i] = cx, cy
        placed.append((cx, cy, gap))
    scale_x = 111_320.0 * math.cos(math.radians(lat0))
    return out_x / scale_x, out_y / 110_540.0


def _badge(number: int, colour: str) -> str:
    return (f"<div style='background:{colour};color:#fff;border:2px solid #fff;border-radius:12px;"
            f"width:{LABEL_PX}px;height:{LABEL_PX}px;line-height:{LABEL_PX - 4}px;text-align:center;"
            f"font:bold 12px sans-serif;box-shadow:0 0 2px #000'>{int(number)}</div>")


def route_map(plan, frames: dict[str, pd.DataFrame], *, height: int = 560) -> folium.Map:
    """The day's routes over townships, rivers and reservoirs; dropped stops greyed; the depot as an icon.

    ``frames`` needs ``townships``, ``rivers`` and ``waterbodies``.
    """
    v = plan.visited
    bounds = bounds_of(plan)
    label_of = dict(zip(plan.teams["team"].astype(int), plan.teams["label"]))  # 第一组, 第二组, …
    lx = ly = np.array([])
    if len(v):
        # labels moved off crowded stops may fall outside the stops' bounds: widen the view to hold them
        # and lay out again at the wider scale (a few rounds settle it)
        base = bounds
        for _ in range(3):
            lx, ly = label_positions(v.geometry.x.to_numpy(), v.geometry.y.to_numpy(), plan.depot, bounds)
            pad = 0.25 * (base[3] - base[1]) * LABEL_PX / MAP_PX[1]
            bounds = (min(base[0], lx.min() - pad), min(base[1], ly.min() - pad),
                      max(base[2], lx.max() + pad), max(base[3], ly.max() + pad))
        lx, ly = label_positions(v.geometry.x.to_numpy(), v.geometry.y.to_numpy(), plan.depot, bounds)
    m = mapview.new_map(None, height=height)
    # every stop, dropped ones included, in view when the map opens; badges need a margin
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding=(FIT_PADDING_PX, FIT_PADDING_PX))
    if len(frames["townships"]):
        townships.add_to(m, frames["townships"], labels=False)
    water.add_to(m, frames["rivers"], frames["waterbodies"])
    for k in plan.teams["team"]:
        path = plan.team_path(int(k))
        if path:
            folium.PolyLine([(lat, lon) for lon, lat in path], color=_colour(k), weight=4, opacity=0.85,
                            tooltip=html.escape(str(label_of.get(int(k), k)))).add_to(m)
    d = plan.dropped
    for row in d.itertuples():
        why = getattr(row, "drop_reason", "") or ""
        folium.CircleMarker((row.geometry.y, row.geometry.x), radius=7, color=DROPPED_COLOUR, weight=2, fill=True,
                            fill_color="#ffffff", fill_opacity=0.9,
                            tooltip=html.escape(f"未安排：{row.name}" + (f"（{why}）" if why else ""))).add_to(m)
    if len(v):
        for row, ax, ay in zip(v.itertuples(), lx, ly):
            colour = _colour(row.team)
            tip = html.escape(f"{label_of.get(int(row.team), row.team)} 第{int(row.order)}站 {row.arrive:%H:%M} {row.name}")
            moved = abs(ax - row.geometry.x) > 1e-9 or abs(ay - row.geometry.y) > 1e-9
            if moved:  # a leader line from the badge to where the stop is
                folium.PolyLine([(row.geometry.y, row.geometry.x), (ay, ax)], color=colour, weight=1,
                                opacity=0.9).add_to(m)
                folium.CircleMarker((row.geometry.y, row.geometry.x), radius=3, color=colour, fill=True,
                                    fill_opacity=1, tooltip=tip).add_to(m)
            folium.Marker((ay, ax), tooltip=tip,
                          icon=folium.DivIcon(html=_badge(row.order, colour), icon_size=(LABEL_PX, LABEL_PX),
                                              icon_anchor=(LABEL_PX // 2, LABEL_PX // 2),
                                              class_name="qs-stop")).add_to(m)
    folium.Marker((plan.depot[1], plan.depot[0]), tooltip="驻地（出发/返回）", z_index_offset=1000,
                  icon=folium.DivIcon(html=DEPOT_SVG, icon_size=(DEPOT_PX, DEPOT_PX),
                                      icon_anchor=(DEPOT_PX // 2, DEPOT_PX // 2), class_name="qs-depot")).add_to(m)
    items = [(str(label_of.get(int(k), k)), _colour(k), "line") for k, n in zip(plan.teams["team"], plan.teams["stops"])
             if n]
    if len(d):
        items.append((f"未安排点位（{len(d)} 处）", DROPPED_COLOUR, "ring"))
    items.append(("驻地", "#1b3a2a", "fill"))
    Legend("巡查路线", items + water.legend_items(), position="bottomleft").add_to(m)
    return m
