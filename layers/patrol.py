"""Patrol maps: one day's routes (a line and numbered stops per team), and the map to pick sites on.

Stops keep their layer's shape (an enterprise is a square on every map),
filled with their team's colour and numbered in visiting order; the depot is
a house icon. Stops that would overlap at the opening zoom (several close
together, or next to the depot) are drawn apart and tied to where they are
with a thin leader line, so every number stays legible; the map opens on every
stop, dropped ones included.
"""
from __future__ import annotations

import html
import math
from typing import Sequence

import folium
import numpy as np
import pandas as pd

from geo.contract import LAYER_LABELS

from . import mapview, symbols, townships, water
from .base import Icon, Legend, PointLayer, text

#: The depot's icon: a dark slate no status or team uses.
DEPOT_COLOUR = "#263238"
#: Stops left out of the day's plan: grey, like every "not this time" on the maps.
DROPPED_COLOUR = symbols.NO_DATA
PICK_LAYERS = ("enterprises", "kilns", "farms", "sampling_points")
#: a stop symbol's size on screen (radius 10 plus its outline), the depot icon's, and the frame the map opens in
LABEL_PX = 24
DEPOT_PX = 30
MAP_PX = (900, 560)
FIT_PADDING_PX = 24


def bounds_of(plan, pad_deg: float = 0.01) -> tuple[float, float, float, float]:
    """Bounds holding the depot, every visited and every dropped stop (the map opens on all of them)."""
    g = plan.stops.geometry
    xs = np.concatenate([[plan.depot[0]], g.x.to_numpy()])
    ys = np.concatenate([[plan.depot[1]], g.y.to_numpy()])
    return float(xs.min() - pad_deg), float(ys.min() - pad_deg), float(xs.max() + pad_deg), float(ys.max() + pad_deg)


def _metres(lon, lat, lat0):
    """Local east/north metres (equirectangular; only for laying symbols out on the screen)."""
    return (np.asarray(lon) * 111_320.0 * math.cos(math.radians(lat0)), np.asarray(lat) * 110_540.0)


def label_positions(lon, lat, depot, bounds, frame_px=MAP_PX) -> tuple[np.ndarray, np.ndarray]:
    """Where to draw each stop so that none overlaps another or the depot at the opening zoom.

    Greedy in the given order: a stop stays where it is when that spot is free, else it moves outward
    (away from the depot) in steps of half a symbol until it is. Returns (lon, lat) to draw at.
    """
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    lat0 = (bounds[1] + bounds[3]) / 2
    bx, by = _metres([bounds[0], bounds[2]], [bounds[1], bounds[3]], lat0)
    # Leaflet snaps the fitted zoom down (zoomSnap 0.25: up to 2^0.25 = 1.19× more metres per pixel) and the
    # frame may be narrower than assumed: lay out for a little more ground per pixel than estimated.
    m_per_px = 1.25 * max((bx[1] - bx[0]) / (frame_px[0] - 2 * FIT_PADDING_PX),
                          (by[1] - by[0]) / (frame_px[1] - 2 * FIT_PADDING_PX), 1e-6)
    x, y = _metres(lon, lat, lat0)
    dx, dy = _metres([depot[0]], [depot[1]], lat0)
    placed = [(float(dx[0]), float(dy[0]), (DEPOT_PX + LABEL_PX) / 2 * m_per_px)]
    gap = LABEL_PX * 1.1 * m_per_px
    out_x, out_y = x.copy(), y.copy()
    for i in range(len(x)):
        ang = math.atan2(y[i] - dy[0], x[i] - dx[0]) if (x[i], y[i]) != (dx[0], dy[0]) else math.pi / 4
        cx, cy = x[i], y[i]
        for step in range(0, 60):
            # outward from the depot, turning a little each ring so stacked symbols fan out
            a = ang + (step // 8) * 0.35 * (1 if step % 2 else -1)
            cx = x[i] + math.cos(a) * gap * step / 2
            cy = y[i] + math.sin(a) * gap * step / 2
            if all(math.hypot(cx - px, cy - py) >= r for px, py, r in placed):
                break
        out_x[i], out_y[i] = cx, cy
        placed.append((cx, cy, gap))
    return out_x / (111_320.0 * math.cos(math.radians(lat0))), out_y / 110_540.0


def _layout(plan) -> tuple[tuple, np.ndarray, np.ndarray]:
    """The opening view and where each visited stop is drawn: widened until the moved symbols fit in it."""
    v = plan.visited
    bounds = bounds_of(plan)
    if not len(v):
        return bounds, np.array([]), np.array([])
    base = bounds
    for _ in range(3):  # a few rounds settle it
        lx, ly = label_positions(v.geometry.x.to_numpy(), v.geometry.y.to_numpy(), plan.depot, bounds)
        pad = 0.25 * (base[3] - base[1]) * LABEL_PX / MAP_PX[1]
        bounds = (min(base[0], lx.min() - pad), min(base[1], ly.min() - pad),
                  max(base[2], lx.max() + pad), max(base[3], ly.max() + pad))
    lx, ly = label_positions(v.geometry.x.to_numpy(), v.geometry.y.to_numpy(), plan.depot, bounds)
    return bounds, lx, ly


def symbol_layers(stops: pd.DataFrame, sampling_points: pd.DataFrame | None) -> list[str]:
    """The symbol of each stop: its site layer, or ``section`` / ``outfall`` for a sampling point."""
    kinds = dict(zip(sampling_points["id"].astype(str), sampling_points["kind"])) \
        if sampling_points is not None and len(sampling_points) else {}
    return [(kinds.get(str(i), "section") if layer == "sampling_points" else layer)
            for layer, i in zip(stops["layer"], stops["id"])]


def plan_map(plan, frames: dict[str, pd.DataFrame], *, team_colours: Sequence[str],
             height: int = 560) -> folium.Map:
    """The day's routes: township names, water, each team's tour and numbered stops, dropped stops, the depot.

    Parameters
    ----------
    plan : geo.patrol.PatrolPlan
        The plan the page made (``visited``, ``dropped``, ``teams`` with ``team`` and ``label``, ``depot``).
    frames : dict
        ``townships``; ``rivers``, ``waterbodies`` and ``sampling_points`` when available.
    team_colours : sequence of str
        The teams' colours (``geo.patrol.TEAM_COLOURS``: the same as in the GPX/KML downloads).
    """
    def team_colour(team: int) -> str:
        return team_colours[(int(team) - 1) % len(team_colours)]

    labels = {int(k): str(lab) for k, lab in zip(plan.teams["team"], plan.teams["label"])}

    def team_label(team: int) -> str:
        return labels.get(int(team), str(team))

    v, tw = plan.visited, frames["townships"]
    if len(plan.stops):
        bounds, lx, ly = _layout(plan)
    else:
        bounds, lx, ly = tw.total_bounds, np.array([]), np.array([])
    m = mapview.new_map(None, height=height)
    # every stop, dropped ones included, in view when the map opens; symbols need a margin
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding=(FIT_PADDING_PX, FIT_PADDING_PX))
    geography = []
    if len(tw):
        townships.add_to(m, tw, label_within=bounds if len(v) else None)
        geography += townships.legend_items(bool(tw.get("approximate", pd.Series([False])).fillna(False).any()))
    if "rivers" in frames and "waterbodies" in frames:
        water.add_to(m, frames["rivers"], frames["waterbodies"])
        geography += water.legend_items()
    teams = [int(k) for k in plan.teams["team"]]
    team_rows = []
    for k in teams:
        path = plan.team_path(k)
        if not path:
            continue
        folium.PolyLine([(lat, lon) for lon, lat in path], color=team_colour(k), weight=4, opacity=0.85,
                        tooltip=html.escape(team_label(k))).add_to(m)
        team_rows.append(symbols.line_item(f"{team_label(k)}（路线与站点）", team_colour(k)))
    pts = frames.get("sampling_points")
    drawn = []
    if len(v):
        palette = [team_colour(k) for k in teams]
        idx = [teams.index(int(t)) for t in v["team"]]
        kinds = symbol_layers(v, pts)
        rows = [[text(n), team_label(int(t)), f"第{int(o)}站", f"{a:%H:%M}" if pd.notna(a) else None,
                 LAYER_LABELS.get(layer, layer), text(c)]
                for n, t, o, a, layer, c in zip(v["name"], v["team"], v["order"], v["arrive"], v["layer"],
                                                v["check"])]
        moved = (np.abs(lx - v.geometry.x.to_numpy()) > 1e-9) | (np.abs(ly - v.geometry.y.to_numpy()) > 1e-9)
        for (row, ax, ay, mv) in zip(v.itertuples(), lx, ly, moved):
            if mv:  # a leader line from the symbol to where the stop is, and a dot there
                colour = team_colour(row.team)
                folium.PolyLine([(row.geometry.y, row.geometry.x), (ay, ax)], color=colour, weight=1,
                                opacity=0.9).add_to(m)
                folium.CircleMarker((row.geometry.y, row.geometry.x), radius=3, color=colour, fill=True,
                                    fill_opacity=1, weight=1).add_to(m)
        el = PointLayer(lx, ly, idx, palette, rows,
                        ["名称", "组别", "顺序", "预计到达", "类别", "巡查内容"], name="巡查站点", radius=10,
                        stroke="#ffffff", weight=1.5, shape=[symbols.LAYER_SHAPES[k] for k in kinds],
                        text=[str(int(o)) for o in v["order"]],
                        legend=[symbols.shape_item(k) for k in dict.fromkeys(kinds)])
        el.add_to(m)
        drawn.append(el)
    d = plan.dropped
    extra = []
    if len(d):
        kinds = symbol_layers(d, pts)
        urgency = d["priority"] if "priority" in d.columns else pd.Series(None, index=d.index)
        why = d["drop_reason"] if "drop_reason" in d.columns else pd.Series(None, index=d.index)
        rows = [[text(n), LAYER_LABELS.get(layer, layer), text(u), text(w), text(c)]
                for n, layer, u, w, c in zip(d["name"], d["layer"], urgency, why, d["check"])]
        el = PointLayer(d.geometry.x, d.geometry.y, [0] * len(d), [DROPPED_COLOUR], rows,
                        ["未安排", "类别", "紧急程度", "未安排原因", "巡查内容"],
                        name="未安排点位", radius=5, shape=[symbols.LAYER_SHAPES[k] for k in kinds],
                        legend=[symbols.shape_item(k) for k in dict.fromkeys(kinds)])
        el.add_to(m)
        drawn.append(el)
        extra.append(symbols.colour_item("今日未安排", DROPPED_COLOUR))
    depot = Icon(plan.depot[1], plan.depot[0], "depot", DEPOT_COLOUR, tooltip="驻地（出发/返回）")
    depot.add_to(m)
    Legend("图例", symbols.compose(geography=geography, points=[r for el in drawn for r in el.legend],
                                   extra=team_rows + extra + depot.legend, colour_title="组别与安排")).add_to(m)
    mapview.layer_control(m)
    return m


def pick_map(frames: dict[str, pd.DataFrame], *, height: int = 420) -> folium.Map:
    """Sites to click on (each in its layer's shape, hollow); a click reports the feature's ``stop_id``.

    Draws every site of ``frames``' pick layers: the page passes at most ``[map] max_points``
    (one township's sites on a large store). ``m.qs_points`` is the number of sites drawn.
    """
    tw = frames["townships"]
    m = mapview.new_map(tw.total_bounds if len(tw) else None, height=height)
    townships.add_to(m, tw)
    m.qs_points = int(sum(len(frames[layer]) for layer in PICK_LAYERS if layer in frames))
    shapes = []
    for layer in PICK_LAYERS:
        df = frames[layer]
        if len(df) == 0:
            continue
        kinds = df["kind"] if layer == "sampling_points" else pd.Series(layer, index=df.index)
        for kind in dict.fromkeys(kinds):
            part = df[kinds == kind]
            gj = part[["id", "name", "geometry"]].copy()
            gj["stop_id"] = layer + ":" + gj["id"].astype(str)
            gj["name"] = gj["name"].astype(str).map(html.escape)
            icon = folium.DivIcon(html=symbols.svg(kind, symbols.HOLLOW, "#222222", 12), icon_size=(12, 12),
                                  icon_anchor=(6, 6), class_name="qs-icon-wrap")
            folium.GeoJson(gj.to_json(), name=symbols.LAYER_SYMBOL_LABELS[kind], marker=folium.Marker(icon=icon),
                           tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)).add_to(m)
            shapes.append(symbols.shape_item(kind))
    Legend("图例", symbols.compose(points=shapes)).add_to(m)
    return m
