"""The overview map: townships, water and the four point layers, as they stood on a date."""
from __future__ import annotations

import folium
import pandas as pd

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


def overview_map(frames: dict[str, pd.DataFrame], *, sites: dict[str, pd.DataFrame],
                 events: pd.DataFrame | None = None, township: list[str] | None = None,
                 layers=ALL_LAYERS, height: int = 640, dark: bool = False, legend: bool = True,
                 water_classes: pd.DataFrame | None = None) -> folium.Map:
    """Draw the overview map from what the page computed.

    Parameters
    ----------
    frames : dict
        ``townships``, ``rivers``, ``waterbodies`` and ``sampling_points`` (with ``township``).
    sites : dict
        The ``enterprises``, ``kilns`` and ``farms`` as they stood on the page's date, with ``status``
        and ``township`` (``geo.progress.sites_as_of``).
    events : DataFrame, optional
        The status events up to that date (each site's history in its popup).
    township : list of str, optional
        Only sites in these townships, the map fitted to them.
    water_classes : DataFrame, optional
        The latest assessment of the sampling points (``id``, ``class``, ``meets``, ``exceeding``; optional
        ``judgment``, ``judgment_text``), shown in their popups.
    """
    tw = frames["townships"]
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
        shown = sites[name]
        if township:
            shown = shown[shown["township"].isin(township)]
        drawn.append(module.add_to(m, shown, events=events))
    if "sampling_points" in layers:
        pts = frames["sampling_points"]
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
