"""Offline Leaflet maps in Streamlit.

``new_map`` makes a folium map whose every asset is served by this app (see
:mod:`layers.assets`); by default it has no basemap, the project's own layers
are the basemap, and an intranet tile server or a local tile folder can be
configured in ``qingshan.toml``. ``show`` draws a display-only map (no rerun
on pan or zoom); ``pick`` draws one that reports the clicked site.
"""
from __future__ import annotations

import re

import folium

from geo import config

from . import assets
from .base import Fit, Scale

assets.ensure_vendor()

try:  # register the asset folder (and a local tile folder) with Streamlit's component route
    import streamlit.components.v1 as _components

    _components.declare_component("qmap", path=str(assets.WEB_DIR))
    _TILE_DIR = config.get("map", "tile_folder", "")
    if _TILE_DIR:
        _components.declare_component("tiles", path=_TILE_DIR)
except Exception:  # pragma: no cover - outside a Streamlit process (bench, CLI)
    _components = None


def new_map(bounds=None, *, height: int | str = 600, dark: bool = False, zoom_control: bool = True,
            attribution: bool | None = None) -> folium.Map:
    """A folium map fitted to ``bounds`` (minx, miny, maxx, maxy in degrees), offline by construction.

    Basemap: ``[map] tiles`` (a URL template of an intranet tile server) or
    ``[map] tile_folder`` (z/x/y files served by the app) from the config;
    otherwise none. ``attribution`` defaults to ``[map] attribution``.
    """
    if attribution is None:
        attribution = bool(config.get("map", "attribution", True))
    # folium's own scale bar shows miles and feet too: ours is metric only (layers.base.Scale).
    m = folium.Map(location=[29.0, 118.95], zoom_start=10, tiles=None, prefer_canvas=True, control_scale=False,
                   zoom_control=zoom_control, attribution_control=attribution, height=height,
                   zoom_snap=0.25, zoom_delta=0.5)
    m.options["attributionControl"] = attribution
    # Without a basemap Leaflet knows no zoom range; clusters need one (they open up at street level).
    m.options["maxZoom"] = int(config.get("map", "max_zoom", 18))
    m.options["minZoom"] = 7
    Scale("bottomleft").add_to(m)
    tiles = config.get("map", "tiles", "")
    tile_attr = config.get("map", "tiles_attribution", "") or "本地瓦片"
    if not tiles and config.get("map", "tile_folder", ""):
        tiles = assets.component_url("tiles") + "/{z}/{x}/{y}.png"
    if tiles:
        folium.TileLayer(tiles=tiles, attr=tile_attr, name="底图", overlay=False, control=False).add_to(m)
    if bounds is not None:
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        m.qs_bounds = [[miny, minx], [maxy, maxx]]  # legends refit the map beside themselves
        Fit(m.qs_bounds).add_to(m)
    if dark:
        m.get_root().html.add_child(folium.Element(
            "<style>.leaflet-container{background:#0d1b24 !important;}</style>"))
    return m


def _localize(m: folium.Map) -> None:
    """Point every element's JS/CSS at the app's own copies (raises on an unknown external asset)."""
    def walk(el):
        if getattr(el, "default_js", None):
            el.default_js = assets.local_links(list(el.default_js))
        if getattr(el, "default_css", None):
            el.default_css = assets.local_links(list(el.default_css))
        for child in list(getattr(el, "_children", {}).values()):
            walk(child)

    walk(m.get_root())


_EXTERNAL = re.compile(r"""<(?:script|link)[^>]+(?:src|href)=["']?(?:https?:)?//""", re.I)


def to_html(m: folium.Map) -> str:
    """The map's full HTML page, with local assets only."""
    _localize(m)
    html = m.get_root().render()
    if _EXTERNAL.search(html):
        raise ValueError("map HTML would load an external asset; the dashboard must work offline")
    return html


def show(m: folium.Map | str, *, height: int = 600, key: str | None = None) -> None:
    """Display a map (or HTML from :func:`to_html`) without rerunning the script on pan or zoom."""
    import streamlit as st

    # The HTML is ours: every value from the data is escaped into JSON and shown with textContent.
    html = m if isinstance(m, str) else to_html(m)
    st.iframe(html, height=height)


def pick(m: folium.Map, *, height: int = 600, key: str) -> dict | None:
    """Display a map and return the properties of the last clicked feature (GeoJSON layers), else None."""
    from streamlit_folium import st_folium

    _localize(m)
    out = st_folium(m, height=height, key=key, use_container_width=True,
                    returned_objects=["last_object_clicked", "last_active_drawing"])
    drawing = (out or {}).get("last_active_drawing") or {}
    props = drawing.get("properties") if isinstance(drawing, dict) else None
    if props:
        return props
    clicked = (out or {}).get("last_object_clicked")
    return {"lat": clicked["lat"], "lng": clicked["lng"]} if clicked else None


def click(m: folium.Map, *, height: int = 600, key: str) -> tuple[float, float] | None:
    """Display a map and return where it was last clicked, ``(lon, lat)`` in the map's WGS84, else None
    (anywhere on the map, over a drawn feature or not: for placing something that has no point yet)."""
    from streamlit_folium import st_folium

    _localize(m)
    out = st_folium(m, height=height, key=key, use_container_width=True, returned_objects=["last_clicked"])
    at = (out or {}).get("last_clicked")
    try:
        return (float(at["lng"]), float(at["lat"])) if at else None
    except (KeyError, TypeError, ValueError):  # it comes from the browser: anything malformed is no click
        return None


def layer_control(m: folium.Map, collapsed: bool = False) -> None:
    folium.LayerControl(collapsed=collapsed, position="topright").add_to(m)
