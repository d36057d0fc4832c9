"""Folium elements behind every layer: compact point layers, GeoJSON layers, labels, legends.

Points travel as columns (x, y, colour index, rows of popup values), not as
one folium object per site, and are drawn on a canvas by ``web/qmap.js``; a
10k-site layer is a few hundred kilobytes and builds in milliseconds. All text
reaches the page through ``textContent`` in the browser, so names typed into a
ledger are shown as text, never run as HTML.
"""
from __future__ import annotations

import json
from typing import Sequence

import folium
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from . import assets


def js_json(value) -> str:
    """JSON for inlining in a <script>: UTF-8, compact, and no ``</script>`` breakout possible."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_default)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _default(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, (pd.Timestamp,)):
        return v.strftime("%Y-%m-%d")
    if v is pd.NA or v is pd.NaT:
        return None
    return str(v)


def text(v) -> str | None:
    """A display string for a cell (dates as YYYY-MM-DD, blanks as None)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, (np.floating, float)):
        return f"{float(v):g}"
    return str(v)


class _QsElement(JSCSSMixin):
    """Mixin giving an element the local qmap assets."""

    def _qs_assets(self):
        base = assets.base_url()
        self.default_js = [("qmap", f"{base}/qmap.js")]
        self.default_css = [("qmap_css", f"{base}/qmap.css")]


class PointLayer(_QsElement, folium.map.Layer):
    """Sites as canvas circle markers with a tooltip (name) and a popup (facts and history)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = QS.points({{ this.data }}, {});
        {% endmacro %}
    """)

    def __init__(self, x, y, colour_index, palette: Sequence[str], rows: list[list], labels: Sequence[str], *,
                 name: str, radius: float = 6, stroke: str = "#222222", title: int = 0, tip: int | None = None,
                 history: list[list[str]] | None = None, highlight: Sequence[bool] | None = None,
                 sites: Sequence[tuple[str, str] | None] | None = None,
                 show: bool = True, overlay: bool = True, control: bool = True):
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "QsPoints"
        self._qs_assets()
        data = {
            "x": np.round(np.asarray(x, float), 6).tolist(), "y": np.round(np.asarray(y, float), 6).tolist(),
            "c": np.asarray(colour_index, int).tolist(), "palette": list(palette), "radius": radius,
            "stroke": stroke, "labels": list(labels), "rows": rows, "title": title,
        }
        if tip is not None:
            data["tip"] = tip
        if history is not None:
            data["history"] = history
        if highlight is not None:
            data["highlight"] = [1 if h else 0 for h in highlight]
        if sites is not None:  # (layer, id) per point, or None: the popup links to that site's file
            data["site"] = [[str(s[0]), str(s[1])] if s else None for s in sites]
            data["siteUrl"] = assets.page_url("site")
        self.data = js_json(data)


class GeoLayer(_QsElement, folium.map.Layer):
    """Polygons or lines from a GeoJSON dict; ``_s`` in properties picks a style from ``styles``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = QS.geo({{ this.data }}, {{ this.opts }});
        {% endmacro %}
    """)

    def __init__(self, geojson: dict, styles: list[dict], *, name: str, tip: str | None = "name",
                 popup_labels: list[tuple[str, str]] | None = None, interactive: bool = True,
                 show: bool = True, overlay: bool = True, control: bool = True):
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "QsGeo"
        self._qs_assets()
        self.data = js_json(geojson)
        self.opts = js_json({"styles": styles, "tip": tip, "popupLabels": popup_labels, "interactive": interactive})


class Labels(_QsElement, folium.map.Layer):
    """Permanent text labels at points: ``items`` = [(lon, lat, text)]."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = QS.labels({{ this.data }}, {{ this.cls }});
        {% endmacro %}
    """)

    def __init__(self, items: list[tuple[float, float, str]], *, name: str, cls: str = "",
                 show: bool = True, control: bool = False):
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "QsLabels"
        self._qs_assets()
        self.data = js_json([[round(float(a), 6), round(float(b), 6), str(t)] for a, b, t in items])
        self.cls = js_json(cls)


class Legend(_QsElement, MacroElement):
    """A legend control: ``items`` = [(label, colour, kind)] with kind circle | ring | line | fill."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = QS.legend({{ this._parent.get_name() }}, {{ this.title }},
                {{ this.items }}, {{ this.position }});
        {% endmacro %}
    """)

    def __init__(self, title: str, items: list[tuple[str, str, str]], position: str = "bottomleft"):
        super().__init__()
        self._name = "QsLegend"
        self._qs_assets()
        self.title = js_json(title)
        self.items = js_json([list(i) for i in items])
        self.position = js_json(position)


def geojson_of(gdf, props: Sequence[str], style_index: Sequence[int] | None = None, precision: int = 6) -> dict:
    """A compact GeoJSON FeatureCollection of ``gdf`` with the ``props`` columns as display strings."""
    geoms = shapely.set_precision(gdf.geometry.values, 10 ** -precision)
    feats = []
    cols = {p: [text(v) for v in gdf[p]] for p in props}
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            continue
        properties = {p: cols[p][i] for p in props}
        properties["_s"] = int(style_index[i]) if style_index is not None else 0
        feats.append({"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": properties})
    return {"type": "FeatureCollection", "features": feats}


def colour_index(values: pd.Series, colours: dict[str, str], fallback: str = "#999999") -> tuple[np.ndarray, list[str]]:
    """Palette indices of ``values`` by ``colours`` (unknown values get ``fallback``)."""
    palette = list(colours.values()) + [fallback]
    lookup = {k: i for i, k in enumerate(colours)}
    idx = values.map(lambda v: lookup.get(v, len(palette) - 1)).to_numpy(dtype=int)
    return idx, palette
