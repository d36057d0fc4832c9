"""The overview map: townships, water and the four point layers, as they stood on a date."""
from __future__ import annotations

import folium
import pandas as pd

from geo.history import sites_on
from geo.spatial import with_township

from . import enterprises, farms, kilns, mapview, sampling_points, symbols, townships, water
from .base import Legend

POINT_LAYERS = {"enterprises": enterprises, "kilns": kilns, "farms": farms}
ALL_LAYERS = ("townships", "water", "enterprises", "kilns", "farms", "sampling_points")


def status_legend(layers=tuple(POINT_LAYERS)) -> list[dict]:
    """One legend for the site layers: every layer's shape, then every status colour once, with its meaning."""
    rows = []
    for layer in layers:
        rows += symbols.site_rows(layer)
    return symbols.compose(points=rows)


def overview_map(frames: dict[str, pd.DataFrame], *, as_of=None, township: list[str] | None = None,
                 layers=ALL_LAYERS, height: int = 640, dark: bool = False, legend: bool = True,
                 water_classes: pd.DataFrame | None = None) -> folium.Map:
    """Build the overview map from store ``frames`` (a dict of tables).

    ``as_of``: sites with their status on that date (from ``status_events``);
    ``township``: only sites in these townships, map fitted to them;
    ``water_classes``: the latest assessment of the sampling points (``id``,
    ``class``, ``meets``, ``exceeding``; optional ``judgment``) for their popups.
    """
    tw = frames["townships"]
    events = frames.get("status_events")
    focus = tw[tw["name"].isin(township)] if township else tw
    m = mapview.new_map(focus.total_bounds if len(focus) else None, height=height, dark=dark)
    approximate = bool(tw.get("approximate", pd.Series([False])).fillna(False).any())
    geography, drawn = [], []
    if "townships" in layers:
        townships.add_to(m, tw, dark=dark, label_cls="")
        geography += townships.legend_items(approximate, dark=dark)
    if "water" in layers:
        water.add_to(m, frames["rivers"], frames["waterbodies"])
        geography += water.legend_items()
    for name, module in POINT_LAYERS.items():
        if name not in layers:
            continue
        sites = sites_on(frames[name], events, name, as_of) if as_of is not None else frames[name]
        sites = with_township(sites, tw)
        if township:
            sites = sites[sites["township"].isin(township)]
        drawn.append(module.add_to(m, sites, events=_events_until(events, as_of)))
    if "sampling_points" in layers:
        pts = with_township(frames["sampling_points"], tw)
        if township:
            pts = pts[pts["township"].isin(township)]
        if water_classes is not None and len(water_classes):
            cols = [c for c in ("id", "class", "meets", "exceeding", "judgment", "judgment_text")
                    if c in water_classes.columns]
            pts = pts.merge(water_classes[cols], on="id", how="left")
        # Sections and outfalls in their own shapes, hollow: their colours would clash with the site statuses.
        drawn.append(sampling_points.add_to(m, pts, class_col="class" if "class" in pts.columns else None,
                                             coloured=False))
    if legend:
        rows = [r for layer in drawn for r in layer.legend]
        Legend("图例", symbols.compose(geography=geography, points=rows, cluster=True)).add_to(m)
    mapview.layer_control(m)
    return m


def _events_until(events, as_of):
    if events is None or as_of is None:
        return events
    return events[events["effective_on"] <= pd.Timestamp(as_of)]
