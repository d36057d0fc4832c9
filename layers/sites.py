"""What the three site layers (enterprises, kilns, farms) share: status colours, popups, history."""
from __future__ import annotations

from typing import Sequence

import folium
import geopandas as gpd
import pandas as pd
import shapely

from geo.contract import LAYER_LABELS, status_label

from . import symbols
from .base import PointLayer, colour_index, text

# One palette for every map: the status colours live in layers.symbols (re-exported here for older callers).
STATUS_COLOURS = symbols.STATUS_COLOURS


def colours_for(layer: str) -> dict[str, str]:
    return symbols.status_colours(layer)


def legend_items_for(layer: str) -> list[dict]:
    """Legend rows of one site layer: its shape and its status colours."""
    return symbols.site_rows(layer)


def history_lines(events: pd.DataFrame | None, layer: str, ids: Sequence[str], last: int = 6) -> list[list[str]]:
    """Each site's latest ``last`` status events as display lines, newest first (vectorised: no loop per site)."""
    if events is None or len(events) == 0:
        return [[] for _ in ids]
    ev = events[events["layer"] == layer].sort_values(["effective_on", "recorded_at"], kind="stable")
    if len(ev) == 0:  # (an empty frame's text columns do not add up)
        return [[] for _ in ids]
    ev = ev.groupby("feature_id", sort=False).tail(last).iloc[::-1]
    labels = {s: status_label(s, layer) for s in ev["status"].unique()}
    note = ev["note"].fillna("").astype(str)
    line = ev["effective_on"].dt.strftime("%Y-%m-%d") + " " + ev["status"].map(labels) + \
        note.where(note == "", "：" + note)
    lines = line.groupby(ev["feature_id"], sort=False).agg(list)
    return [lines.get(i, []) for i in ids]


def add_sites(m: folium.Map, gdf: gpd.GeoDataFrame, layer: str, fields: list[tuple[str, str]], *,
              events: pd.DataFrame | None = None, name: str | None = None, radius: float = 6,
              stroke: str = "#222222", highlight: Sequence[bool] | None = None, show: bool = True,
              colour_by: str = "status", colours: dict[str, str] | None = None, ring: Sequence[int] | None = None,
              rings: Sequence[tuple[str, bool]] | None = None, cluster: bool = True) -> PointLayer:
    """Add a site layer: the layer's shape coloured by status, tooltip = name, popup = ``fields`` and history.

    ``fields`` is [(column, Chinese label)]; ``status`` is shown with its
    Chinese label, dates as YYYY-MM-DD, ``distance_m`` (riverside distance)
    in metres. Missing columns are skipped. ``highlight`` / ``ring`` draw a
    ring around chosen sites (see :class:`layers.base.PointLayer`).
    """
    fields = [(c, lab) for c, lab in fields if c in gdf.columns]
    custom = colours is not None
    colours = colours or colours_for(layer)
    idx, palette = colour_index(gdf[colour_by], colours, fallback=symbols.NO_DATA)
    # Column-wise (one pass per column), then transposed into rows: per-cell pandas access is 100× slower.
    columns = [[text(v) for v in gdf["name"].tolist()]]
    for c, _ in fields:
        if c == "status":
            columns.append([status_label(v, layer) for v in gdf["status"].tolist()])
        elif c == "distance_m":
            columns.append([f"{v:.1f} 米" if v == v and v is not None else None for v in gdf[c].tolist()])
        else:
            columns.append([text(v) for v in gdf[c].tolist()])
    rows = [list(r) for r in zip(*columns)] if len(gdf) else []
    labels = ["名称"] + [lab for _, lab in fields]
    hist = history_lines(events, layer, list(gdf["id"])) if events is not None else None
    pts = gdf.geometry.values
    legend = [symbols.shape_item(layer)] if custom else \
        symbols.site_rows(layer, present=set(gdf[colour_by].dropna()) if len(gdf) else set())
    if not custom and len(gdf) and (idx == len(palette) - 1).any():
        legend.append({**symbols.no_data_item(), "scale": "no_data"})
    layer_el = PointLayer(shapely.get_x(pts), shapely.get_y(pts), idx, palette, rows, labels,
                          name=name or LAYER_LABELS[layer], radius=radius, stroke=stroke, title=0,
                          history=hist, highlight=highlight, sites=[(layer, i) for i in gdf["id"]], show=show, shape=symbols.LAYER_SHAPES[layer],
                          ring=ring, rings=rings, cluster=cluster, legend=legend)
    layer_el.add_to(m)
    return layer_el


def add_mixed(m: folium.Map, df: pd.DataFrame, rows: list[list], labels: Sequence[str], *, name: str,
              x=None, y=None, radius: float = 7, stroke: str = "#222222", ring: Sequence[int] | None = None,
              rings: Sequence[tuple[str, bool]] | None = None, show: bool = True, cluster: bool = True,
              title: int = 0, sites: Sequence[tuple[str, str] | None] | None = None) -> PointLayer:
    """Sites of several layers in one map layer (riverside lists): each in its layer's shape, coloured by status.

    ``df`` needs ``layer`` and ``status`` columns, and a point geometry unless
    ``x``/``y`` (lon/lat) are given; ``rows``/``labels`` are the popup.
    """
    if x is None or y is None:
        pts = df.geometry.values
        x, y = shapely.get_x(pts), shapely.get_y(pts)
    idx, palette = colour_index(df["status"], STATUS_COLOURS, fallback=symbols.NO_DATA)
    legend: list[dict] = []
    for layer in dict.fromkeys(df["layer"]):
        legend += symbols.site_rows(layer, present=set(df.loc[df["layer"] == layer, "status"]))
    layer_el = PointLayer(x, y, idx, palette, rows, labels, name=name, radius=radius, stroke=stroke, title=title,
                          show=show, shape=[symbols.LAYER_SHAPES[k] for k in df["layer"]], ring=ring, rings=rings,
                          cluster=cluster, legend=legend, sites=sites)
    layer_el.add_to(m)
    return layer_el
