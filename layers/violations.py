"""Riverside violations (沿河违规): the sites ``geo.buffers`` lists, highlighted on a map; the zone for the eye.

One builder for every map that shows them (the buffer page and the wall
screen). The layer draws what it is given: the rows of a
:func:`geo.buffers.check` result (``layer``, ``id``, ``name``, ``status_label``,
``township``, ``distance_m``, ``water_name``, ``lon``, ``lat``); it never decides
which site is a violation.
"""
from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd

from geo.contract import LAYER_LABELS
from geo.crs import metric_crs_for

from .base import GeoLayer, PointLayer, colour_index, geojson_of, text
from .water import COLORS as WATER_COLORS

#: Highlight colour of each site layer (Okabe–Ito), and of the sites a stricter limit would add.
COLOURS = {"farms": "#D55E00", "enterprises": "#E69F00", "kilns": "#CC79A7"}
ADDED_COLOUR = "#0072B2"
POPUP_LABELS = ["名称", "类别", "编号", "状态", "乡镇（街道）", "距水体", "最近水体"]


def add_to(m: folium.Map, violations: pd.DataFrame, *, name: str, colours: dict[str, str] | None = None,
           radius: float = 8, highlight: bool = True, show: bool = True) -> PointLayer | None:
    """Add the sites of ``violations`` as one point layer (``None`` when there are none).

    Parameters
    ----------
    m : folium.Map
    violations : DataFrame
        Rows of a :func:`geo.buffers.check` result.
    name : str
        The layer's name in the layer control.
    colours : dict, optional
        Colour per site layer (default :data:`COLOURS`).
    radius, highlight, show
        Marker radius in pixels, a white halo, visible when the map opens.
    """
    if len(violations) == 0:
        return None
    idx, palette = colour_index(violations["layer"], colours or COLOURS)
    rows = [[f"{text(n) or ''}（{d:.1f} 米）", LAYER_LABELS.get(lay, lay), text(i), text(s), text(t) or "—",
             f"{d:.3f} 米", text(w) or "—"]
            for n, lay, i, s, t, d, w in zip(violations["name"], violations["layer"], violations["id"],
                                             violations["status_label"], violations["township"],
                                             violations["distance_m"], violations["water_name"])]
    layer = PointLayer(violations["lon"], violations["lat"], idx, palette, rows, POPUP_LABELS, name=name,
                       radius=radius, stroke="#ffffff", title=0, highlight=[highlight] * len(violations),
                       sites=list(zip(violations["layer"], violations["id"])), show=show)
    layer.add_to(m)
    return layer


def legend_items(layers, distance: float) -> list[tuple[str, str, str]]:
    """Legend entries of :func:`add_to` for ``layers`` at a limit of ``distance`` metres."""
    return [(f"{LAYER_LABELS[k]}（{distance:g} 米内）", COLOURS[k], "circle") for k in layers]


def zone(rivers: gpd.GeoDataFrame, waterbodies: gpd.GeoDataFrame, distance: float) -> gpd.GeoDataFrame:
    """The area within ``distance`` metres of water (from the banks), for display only.

    A buffer polygon's chords miss sites near a curved bank: whether a site is
    listed is decided by ``geo.buffers``' exact distances, never by this zone.
    """
    parts = [g for g in (rivers.geometry, waterbodies.geometry) if len(g)]
    if not parts:
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    crs = metric_crs_for(pd.concat([rivers.geometry, waterbodies.geometry]).total_bounds)
    zones = []
    if len(rivers):
        r = rivers.to_crs(crs)
        zones.append(r.buffer(distance + r["width_m"].fillna(0).to_numpy() / 2.0, quad_segs=8))
    if len(waterbodies):
        zones.append(waterbodies.to_crs(crs).buffer(distance, quad_segs=8))
    union = pd.concat(zones).union_all()
    return gpd.GeoDataFrame({"name": [zone_label(distance)]}, geometry=[union], crs=crs).to_crs(4326)


def zone_label(distance: float) -> str:
    return f"距水体 {distance:g} 米范围（示意）"


def add_zone(m: folium.Map, zone_gdf: gpd.GeoDataFrame, distance: float) -> GeoLayer | None:
    """Draw a :func:`zone` (not clickable; ``None`` when empty)."""
    if len(zone_gdf) == 0:
        return None
    colour = WATER_COLORS["zone"]
    layer = GeoLayer(geojson_of(zone_gdf, ["name"], [0], precision=5),
                     [{"color": colour, "weight": 1, "fillColor": colour, "fillOpacity": 0.18}],
                     name=f"{distance:g} 米范围（示意）", tip="name", interactive=False)
    layer.add_to(m)
    return layer


def zone_legend_item(distance: float) -> tuple[str, str, str]:
    return (zone_label(distance), WATER_COLORS["zone"], "fill")
