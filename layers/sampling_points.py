"""Water sampling points layer (水质监测点): coloured by their GB 3838-2002 class when known."""
from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import shapely

from .base import PointLayer, colour_index, text

LAYER = "sampling_points"
LABEL = "水质监测点"
#: customary class colours on Chinese water-quality maps (I–II blues, III green, IV yellow, V orange, 劣V red)
CLASS_COLOURS = {1: "#2166AC", 2: "#67A9CF", 3: "#1A9850", 4: "#FEE08B", 5: "#FC8D59", 6: "#D73027"}
CLASS_LABELS = {1: "Ⅰ类", 2: "Ⅱ类", 3: "Ⅲ类", 4: "Ⅳ类", 5: "Ⅴ类", 6: "劣Ⅴ类"}
KIND_COLOURS = {"section": "#0072B2", "outfall": "#CC79A7"}
KIND_LABELS = {"section": "监测断面", "outfall": "排污口"}
COLORS = CLASS_COLOURS


#: outfalls are judged against discharge limits, not classed: their own two colours (purple, the outfall colour)
VERDICT_COLOURS = {"达标": "#C2A5CF", "超标": "#7B3294"}
VERDICT_LABELS = {"达标": "排污口达标", "超标": "排污口超标"}


def legend_items(by_class: bool = True, outfalls: bool = False):
    if by_class:
        items = [(lab, CLASS_COLOURS[k], "circle") for k, lab in CLASS_LABELS.items()]
        if outfalls:
            items += [(VERDICT_LABELS[v], c, "circle") for v, c in VERDICT_COLOURS.items()]
        return items + [("无数据", "#999999", "circle")]
    return [(KIND_LABELS[k], c, "circle") for k, c in KIND_COLOURS.items()]


def add_to(m: folium.Map, gdf: gpd.GeoDataFrame, *, class_col: str | None = None, name: str | None = None,
           show: bool = True, radius: float = 8, highlight=None):
    """Draw sampling points; with ``class_col`` (1–6) coloured by water class, else by kind.

    With ``class_col``, outfalls that carry a ``verdict`` column (达标/超标 against their discharge limits,
    ``geo.discharge``) are coloured by it; ``standard`` and ``exceeding`` columns show in the popup.
    """
    g = gdf.assign(kind_label=gdf["kind"].map(KIND_LABELS).fillna(gdf["kind"]),
                   target_label=gdf["target_class"].map(lambda c: CLASS_LABELS.get(int(c), "") if c == c else ""))
    outfall = (g["kind"] == "outfall").to_numpy(bool)
    if class_col and class_col in g.columns:
        idx, palette = colour_index(g[class_col].map(lambda c: int(c) if c == c and c is not None else -1),
                                    {**CLASS_COLOURS, **VERDICT_COLOURS})
        if "verdict" in g.columns:
            vidx, _ = colour_index(g["verdict"], {**CLASS_COLOURS, **VERDICT_COLOURS})
            idx = np.where(outfall, vidx, idx)
        g["class_label"] = g[class_col].map(lambda c: CLASS_LABELS.get(int(c), "无数据") if c == c and c is not None
                                            else "无数据")
        g.loc[outfall, "class_label"] = None  # an outfall has no surface-water class
        g.loc[outfall, "target_label"] = ""
    else:
        idx, palette = colour_index(g["kind"], KIND_COLOURS)
        g["class_label"] = None
    if "verdict" in g.columns:
        g["verdict_label"] = np.where(outfall, g["verdict"].astype(object), None)
    fields = [("id", "编号"), ("kind_label", "类型"), ("class_label", "水质类别"), ("target_label", "目标类别"),
              ("standard", "执行标准"), ("verdict_label", "判定"), ("exceeding", "超标项目（倍数）"),
              ("township", "乡镇（街道）")]
    fields = [(c, lab) for c, lab in fields if c in g.columns]
    columns = [[text(v) for v in g[c].tolist()] for c in ["name"] + [c for c, _ in fields]]
    rows = [list(r) for r in zip(*columns)] if len(g) else []
    pts = g.geometry.values
    el = PointLayer(shapely.get_x(pts), shapely.get_y(pts), idx, palette, rows, ["名称"] + [lab for _, lab in fields],
                    name=name or LABEL, radius=radius, stroke="#111111", highlight=highlight, show=show)
    el.add_to(m)
    return el
