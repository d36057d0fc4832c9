"""What the three site layers (enterprises, kilns, farms) share: status colours, popups, history."""
from __future__ import annotations

from typing import Sequence

import folium
import geopandas as gpd
import pandas as pd
import shapely

from geo.contract import LAYER_LABELS, STATUS, status_label

from .base import PointLayer, colour_index, text

# Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
STATUS_COLOURS = {
    "operating": "#D55E00",  # vermillion: still producing, the problem
    "committed": "#E69F00",  # orange: signed to close
    "treating": "#E69F00",
    "suspended": "#F0E442",  # yellow
    "closed": "#009E73",  # bluish green: done
    "relocated": "#0072B2",  # blue
    "converted": "#56B4E9",  # sky blue
    "accepted": "#56B4E9",
    "rebuilt": "#CC79A7",  # reddish purple
}


def colours_for(layer: str) -> dict[str, str]:
    return {s: STATUS_COLOURS[s] for s in STATUS[layer]}


def legend_items_for(layer: str) -> list[tuple[str, str, str]]:
    return [(status_label(s, layer), c, "circle") for s, c in colours_for(layer).items()]


def history_lines(events: pd.DataFrame | None, layer: str, ids: Sequence[str], last: int = 6) -> list[list[str]]:
    """Each site's latest ``last`` status events as display lines, newest first (vectorised: no loop per site)."""
    if events is None or len(events) == 0:
        return [[] for _ in ids]
    ev = events[events["layer"] == layer].sort_values(["effective_on", "recorded_at"], kind="stable")
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
              colour_by: str = "status", colours: dict[str, str] | None = None) -> PointLayer:
    """Add a site layer: coloured by status, tooltip = name, popup = ``fields`` and status history.

    ``fields`` is [(column, Chinese label)]; ``status`` is shown with its
    Chinese label, dates as YYYY-MM-DD. Missing columns are skipped.
    """
    fields = [(c, lab) for c, lab in fields if c in gdf.columns]
    colours = colours or colours_for(layer)
    idx, palette = colour_index(gdf[colour_by], colours)
    # Column-wise (one pass per column), then transposed into rows: per-cell pandas access is 100× slower.
    columns = [[text(v) for v in gdf["name"].tolist()]]
    for c, _ in fields:
        if c == "status":
            columns.append([status_label(v, layer) for v in gdf["status"].tolist()])
        else:
            columns.append([text(v) for v in gdf[c].tolist()])
    rows = [list(r) for r in zip(*columns)] if len(gdf) else []
    labels = ["名称"] + [lab for _, lab in fields]
    hist = history_lines(events, layer, list(gdf["id"])) if events is not None else None
    pts = gdf.geometry.values
    layer_el = PointLayer(shapely.get_x(pts), shapely.get_y(pts), idx, palette, rows, labels,
                          name=name or LAYER_LABELS[layer], radius=radius, stroke=stroke, title=0,
                          history=hist, highlight=highlight, sites=[(layer, i) for i in gdf["id"]], show=show)
    layer_el.add_to(m)
    return layer_el
