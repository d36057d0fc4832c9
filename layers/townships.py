"""Township boundaries layer (乡镇街道): outlines, names, and an optional choropleth of a 0–1 value."""
from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import shapely

from . import symbols
from .base import GeoLayer, Labels, geojson_of

LAYER = "townships"
LABEL = "乡镇（街道）边界"
COLORS = {"outline": symbols.GEOGRAPHY["township"], "fill": "#f4f7f2"}
#: sequential, colour-blind-safe (ColorBrewer Greens), for completion rates: light = little done
CHOROPLETH = ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"]
NO_TARGET = "#bdbdbd"


def legend_items(approximate: bool = True, dark: bool = False):
    label = "乡镇（街道）边界（示意）" if approximate else "乡镇（街道）边界"
    return [symbols.line_item(label, symbols.GEOGRAPHY["township_dark" if dark else "township"])]


def choropleth_items(edges=(0, 0.2, 0.4, 0.6, 0.8, 1.0), fmt="{:.0%}"):
    return [(f"{fmt.format(a)}–{fmt.format(b)}", c, "fill") for a, b, c in zip(edges[:-1], edges[1:], CHOROPLETH)] \
        + [("无任务", NO_TARGET, "fill")]


def add_to(m: folium.Map, gdf: gpd.GeoDataFrame, *, values: dict | None = None, value_label: str = "完成率",
           show: bool = True, labels: bool = True, dark: bool = False, name: str | None = None,
           label_cls: str = "", label_within=None):
    """Draw townships; ``values`` maps township name → 0–1 to fill them as a choropleth.

    ``label_within`` (minx, miny, maxx, maxy): a map showing only part of the
    district; each township reaching into it is labelled inside that part, so
    its name is on screen.
    """
    outline = symbols.GEOGRAPHY["township_dark"] if dark else COLORS["outline"]
    styles = [{"color": outline, "weight": 1.5, "fillColor": "#0d1b24" if dark else COLORS["fill"],
               "fillOpacity": 0.0 if dark else 0.35}]
    styles += [{"color": outline, "weight": 1.5, "fillColor": c, "fillOpacity": 0.75} for c in CHOROPLETH]
    # No target in this campaign: grey and dashed, so it never reads as "0 % done".
    styles.append({"color": outline, "weight": 1, "dashArray": "4 4", "fillColor": NO_TARGET, "fillOpacity": 0.6})
    props = ["name", "kind", "code"]
    gdf = gdf.copy()
    if values is not None:
        v = gdf["name"].map(values)
        gdf["value_text"] = [f"{x:.0%}" if x == x and x is not None else "无目标" for x in v]
        bins = np.where(v.isna(), -1, np.clip((v.fillna(0).to_numpy() * 5).astype(int), 0, 4))
        style_index = [len(CHOROPLETH) + 1 if b < 0 else b + 1 for b in bins]
        props.append("value_text")
    else:
        style_index = None
    popup = [("name", "名称"), ("kind", "类型"), ("code", "编码")] + \
        ([("value_text", value_label)] if values is not None else [])
    layer = GeoLayer(geojson_of(gdf, props, style_index, precision=5), styles, name=name or LABEL, tip="name",
                     popup_labels=popup, show=show)
    layer.add_to(m)
    if labels:
        geoms = gdf.geometry.values
        if label_within is not None:
            view = shapely.box(*label_within)
            inside = shapely.intersects(geoms, view)
            geoms = np.where(inside, shapely.intersection(geoms, view), geoms)
        pts = shapely.point_on_surface(geoms)
        Labels([(p.x, p.y, n) for p, n in zip(pts, gdf["name"])], name="乡镇名称", cls=label_cls).add_to(m)
    return layer
