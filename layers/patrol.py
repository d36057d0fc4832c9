"""Patrol maps: one day's routes (a line and numbered stops per team), and the map to pick sites on.

Stops keep their layer's shape (an enterprise is a square on every map),
filled with their team's colour and numbered in visiting order; the depot is
a house icon.
"""
from __future__ import annotations

import html
from typing import Sequence

import folium
import pandas as pd

from geo.contract import LAYER_LABELS

from . import mapview, symbols, townships, water
from .base import Icon, Legend, PointLayer, text

#: The depot's icon: a dark slate no status or team uses.
DEPOT_COLOUR = "#263238"
#: Stops left out of the day's plan: grey, like every "not this time" on the maps.
DROPPED_COLOUR = symbols.NO_DATA
PICK_LAYERS = ("enterprises", "kilns", "farms", "sampling_points")


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
    if len(v):
        pad = 0.01
        xs, ys = [*v.geometry.x, plan.depot[0]], [*v.geometry.y, plan.depot[1]]
        bounds = (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)
    else:
        bounds = tw.total_bounds
    m = mapview.new_map(bounds, height=height)
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
        el = PointLayer(v.geometry.x, v.geometry.y, idx, palette, rows,
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
        rows = [[text(n), LAYER_LABELS.get(layer, layer), text(c)] for n, layer, c in zip(d["name"], d["layer"],
                                                                                           d["check"])]
        el = PointLayer(d.geometry.x, d.geometry.y, [0] * len(d), [DROPPED_COLOUR], rows, ["未安排", "类别", "巡查内容"],
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
    """Sites to click on (each in its layer's shape, hollow); a click reports the feature's ``stop_id``."""
    tw = frames["townships"]
    m = mapview.new_map(tw.total_bounds if len(tw) else None, height=height)
    townships.add_to(m, tw)
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
