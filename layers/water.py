"""Rivers and waterbodies layer (河流、水库): wide rivers drawn as a band of water between banks."""
from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np

from geo.crs import metric_crs_for

from . import symbols
from .base import GeoLayer, geojson_of

LAYER = "water"
LABEL = "河流水库"
G = symbols.GEOGRAPHY
COLORS = {"river": G["river"], "band": G["water"], "waterbody": G["water"], "zone": G["zone"]}
#: river line widths in px: a normal map, and the wall read from 4 m (doubled again on a 4K wall by qmap.js)
WEIGHT = {"map": 3.0, "wall": 5.0}


def legend_items(dark: bool = False):
    return [symbols.line_item("河流", G["river_dark"] if dark else G["river"]),
            symbols.fill_item("水面（河道、水库）", G["water"])]


def river_bands(rivers: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The water surface of rivers with a width: the centre line buffered by half the width (display only)."""
    wide = rivers[rivers["width_m"] > 0]
    if len(wide) == 0:
        return wide
    crs = metric_crs_for(rivers.total_bounds)
    bands = wide.to_crs(crs).buffer(wide["width_m"].to_numpy() / 2.0, quad_segs=4)
    return gpd.GeoDataFrame(wide.drop(columns="geometry"), geometry=bands.to_crs(4326).values, crs=4326)


def add_to(m: folium.Map, rivers: gpd.GeoDataFrame, waterbodies: gpd.GeoDataFrame, *, show: bool = True,
           name: str | None = None, wall: bool = False, min_band_m: float = 0.0):
    """Rivers (lines, and the water surface of wide ones) and waterbodies; ``wall``: lines for the wall screen.

    ``min_band_m``: rivers narrower than this get no water surface, only their line (a view of a city or a
    province, where a surface would draw under a pixel: :func:`layers.overview.pixel_m`)."""
    line = G["river_dark"] if wall else G["river"]
    weight = WEIGHT["wall" if wall else "map"]
    styles = [{"color": line, "weight": weight, "opacity": 0.95, "lineCap": "round", "lineJoin": "round"},
              {"color": line, "weight": 0.5, "fillColor": COLORS["band"], "fillOpacity": 0.85},
              {"color": line, "weight": 1, "fillColor": COLORS["waterbody"], "fillOpacity": 0.85}]
    bands = river_bands(rivers[rivers["width_m"].fillna(0).to_numpy(float) >= min_band_m] if min_band_m else rivers)
    layers = []
    if len(bands):
        b = bands.assign(width_text=[f"{w:g} 米" for w in bands["width_m"]])
        layers.append(GeoLayer(geojson_of(b, ["name", "width_text"], np.ones(len(b), int), precision=6), styles,
                               name="河道水面", tip="name", popup_labels=[("name", "名称"), ("width_text", "河宽")],
                               show=show, control=False))
    r = rivers.assign(width_text=[f"{w:g} 米" if w > 0 else "窄溪（按中心线）" for w in rivers["width_m"]])
    layers.append(GeoLayer(geojson_of(r, ["name", "width_text", "id"], np.zeros(len(r), int), precision=6), styles,
                           name=name or "河流", tip="name",
                           popup_labels=[("name", "名称"), ("id", "编号"), ("width_text", "河宽")], show=show))
    kinds = {"reservoir": "水库", "lake": "湖泊", "pond": "池塘"}
    w = waterbodies.assign(kind_label=waterbodies["kind"].map(kinds).fillna(waterbodies["kind"]))
    layers.append(GeoLayer(geojson_of(w, ["name", "kind_label", "id"], np.full(len(w), 2), precision=6), styles,
                           name="水库湖泊", tip="name",
                           popup_labels=[("name", "名称"), ("id", "编号"), ("kind_label", "类型")], show=show))
    for layer in layers:
        layer.add_to(m)
    return layers
