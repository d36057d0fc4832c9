"""The yardstick of ``bench/page_speed.py``: the least a Streamlit page can do to show the demo's map.

    QINGSHAN_STORE=copy-of-demo.gpkg streamlit run bench/minimal_page.py

Plain streamlit + streamlit-folium: the townships and rivers as ``folium.GeoJson``, every site (enterprises,
kilns, farms, sampling points) as a ``folium.CircleMarker`` with a tooltip, read with geopandas and cached
by ``st.cache_data`` as any small app would. Not part of the dashboard. The one thing borrowed from the
dashboard is where the browser fetches Leaflet from: the app's own copies (``layers.assets``), since the
benchmark runs offline, as the dashboard must; the page is otherwise what a tutorial would write.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import folium
import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from layers import assets, mapview  # noqa: E402,F401  (mapview registers the asset route with Streamlit)

st.set_page_config(page_title="minimal", layout="wide")
STORE = os.environ.get("QINGSHAN_STORE", str(ROOT / "data" / "demo.gpkg"))
SITES = {"enterprises": "#D55E00", "kilns": "#0072B2", "farms": "#009E73", "sampling_points": "#CC79A7"}


@st.cache_data(show_spinner=False)
def read(layer: str) -> gpd.GeoDataFrame:
    return gpd.read_file(STORE, layer=layer)


def local_assets(m: folium.Map) -> None:
    """Point folium's CDN links at the app's copies (the bench machine is offline)."""
    def walk(el):
        for attr in ("default_js", "default_css"):
            if getattr(el, attr, None):
                setattr(el, attr, assets.local_links(list(getattr(el, attr))))
        for child in getattr(el, "_children", {}).values():
            walk(child)

    walk(m.get_root())


st.title("最小页面 · 同样的图层")
townships = read("townships")
minx, miny, maxx, maxy = townships.total_bounds
m = folium.Map(tiles=None)
m.fit_bounds([[miny, minx], [maxy, maxx]])
folium.GeoJson(townships[["name", "geometry"]], name="乡镇", tooltip=folium.GeoJsonTooltip(["name"]),
               style_function=lambda f: {"color": "#555555", "weight": 1, "fillOpacity": 0.05}).add_to(m)
folium.GeoJson(read("rivers")[["name", "geometry"]], name="河流",
               style_function=lambda f: {"color": "#3A7BD5", "weight": 2}).add_to(m)
for layer, colour in SITES.items():
    sites = read(layer)
    for name, point in zip(sites["name"], sites.geometry):
        folium.CircleMarker([point.y, point.x], radius=5, color=colour, fill=True, fill_opacity=0.8,
                            tooltip=str(name)).add_to(m)
local_assets(m)
st_folium(m, height=640, use_container_width=True, returned_objects=[], key="map")
