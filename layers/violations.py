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

from . import overview as overview_layer
from . import symbols
from .base import GeoLayer, PointLayer, geojson_of, text
from .sites import add_mixed
from .water import COLORS as WATER_COLORS

#: A colour per site layer for the page's charts (bars per layer). On the maps a layer is told by its shape
#: and a site's colour is its status (layers.symbols).
COLOURS = {"farms": "#D55E00", "enterprises": "#E69F00", "kilns": "#CC79A7"}
#: The ring of the sites a stricter limit would add (dashed), next to the ring of the violations.
ADDED_COLOUR = symbols.RING_SECOND
POPUP_LABELS = ["名称", "类别", "编号", "状态", "乡镇（街道）", "距水体", "最近水体"]


def add_to(m: folium.Map, violations: pd.DataFrame, *, name: str, radius: float = 8, highlight: bool = True,
           show: bool = True, dark: bool = False, added: bool = False) -> PointLayer | None:
    """Add the sites of ``violations`` as one point layer (``None`` when there are none).

    Each site is drawn in its layer's shape and its status colour, with a ring
    around it: the ring says why it is listed, the symbol stays readable.

    Parameters
    ----------
    m : folium.Map
    violations : DataFrame
        Rows of a :func:`geo.buffers.check` result.
    name : str
        The layer's name in the layer control.
    radius, highlight, show
        Marker radius in pixels, a ring around each site, visible when the map opens.
    dark : bool
        The ring for a dark map (the wall screen).
    added : bool
        The sites a stricter limit would add: a dashed ring of :data:`ADDED_COLOUR`.
    """
    if len(violations) == 0:
        return None
    rows = [[f"{text(n) or ''}（{d:.1f} 米）", LAYER_LABELS.get(lay, lay), text(i), text(s), text(t) or "—",
             f"{d:.3f} 米", text(w) or "—"]
            for n, lay, i, s, t, d, w in zip(violations["name"], violations["layer"], violations["id"],
                                             violations["status_label"], violations["township"],
                                             violations["distance_m"], violations["water_name"])]
    ring = (ADDED_COLOUR, True) if added else (symbols.RING["dark" if dark else "light"], False)
    return add_mixed(m, violations, rows, POPUP_LABELS, name=name, x=violations["lon"], y=violations["lat"],
                     radius=radius, ring=[0 if highlight or added else -1] * len(violations), rings=[ring],
                     show=show, sites=list(zip(violations["layer"], violations["id"])))


def add_aggregated(m: folium.Map, groups: dict[str, pd.DataFrame], townships: gpd.GeoDataFrame, *,
                   show: dict[str, bool] | None = None) -> list[PointLayer]:
    """Violations one symbol per township and site layer (too many to draw one by one): the count is the symbol.

    ``groups`` maps a layer name in the layer control (e.g. ``"200 米内在管点位"``) to rows of a
    :func:`geo.buffers.check` result. Each site layer of each group becomes one
    :func:`layers.overview.add_aggregate` layer (its shape, sized by count, the count inside, coloured by the
    share resolved: the overview's symbols), the symbols of one township placed around it
    (:func:`layers.overview.place`) so that no group covers another. The counts of a group's layers add up
    to its rows (sites outside every township are counted under :data:`layers.overview.OUTSIDE`).
    ``show`` says which groups are visible when the map opens (default: all).
    """
    parts: dict[tuple[str, str], tuple[pd.DataFrame, str]] = {}
    for group, rows in groups.items():
        for layer in ("farms", "enterprises", "kilns"):
            part = rows[rows["layer"] == layer]
            if len(part):
                parts[(group, layer)] = (part, layer)
    aggs = overview_layer.aggregate_placed(parts, townships)
    largest = max((int(a["count"].max()) for a in aggs.values() if len(a)), default=1)
    show = show or {}
    return [overview_layer.add_aggregate(m, a, layer, largest=largest, show=show.get(group, True),
                                         name=f"{group}·{LAYER_LABELS[layer]}（按乡镇汇总）")
            for (group, layer), a in aggs.items()]


def legend_items(layers, distance: float, *, dark: bool = False) -> list[dict]:
    """The legend row of :func:`add_to`'s ring at a limit of ``distance`` metres (the sites' shapes and status
    colours come with the layer: ``PointLayer.legend``)."""
    return [symbols.ring_item(f"距水体 {distance:g} 米内（在管）", symbols.RING["dark" if dark else "light"])]


def added_legend_item(proposed: float) -> dict:
    """The legend row of the sites a limit of ``proposed`` metres would add (``add_to(..., added=True)``)."""
    return symbols.ring_item(f"改为 {proposed:g} 米时新增", ADDED_COLOUR, dashed=True)


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


def view_water(rivers: gpd.GeoDataFrame, waterbodies: gpd.GeoDataFrame, distance: float, bounds,
               detail: float = 4000.0) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The rivers, the water bodies and a :func:`zone` for a view of ``bounds`` (display only), the zone made
    from the water as the view draws it.

    The water is cut to one view-width around the view and simplified to about a pixel at the fitted
    zoom (:func:`layers.overview.for_view`), then buffered, and the zone cut to that window too: the
    province's banks are never buffered at full detail for a map that cannot show it (a third of the
    buffer page's time at province scale), and a township's view never carries the province's zone. The
    map draws the water the zone was made from, projected and simplified once.
    """
    r = overview_layer.for_view(rivers, bounds, detail, cut=True)
    w = overview_layer.for_view(waterbodies, bounds, detail, cut=True)
    return r, w, overview_layer.for_view(zone(r, w, distance), bounds, detail, cut=True)


def zone_label(distance: float) -> str:
    return f"距水体 {distance:g} 米范围（示意）"


def add_zone(m: folium.Map, zone_gdf: gpd.GeoDataFrame, distance: float) -> GeoLayer | None:
    """Draw a :func:`zone` (not clickable; ``None`` when empty)."""
    if len(zone_gdf) == 0:
        return None
    colour = WATER_COLORS["zone"]
    layer = GeoLayer(geojson_of(zone_gdf, ["name"], [0], precision=5),
                     [{"color": colour, "weight": 1, "fillColor": colour, "fillOpacity": 0.3}],
                     name=f"{distance:g} 米范围（示意）", tip="name", interactive=False)
    layer.add_to(m)
    return layer


def zone_legend_item(distance: float) -> dict:
    return symbols.fill_item(zone_label(distance), WATER_COLORS["zone"])
