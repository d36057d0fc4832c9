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

from . import assets, symbols


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

    def _qs_assets(self, cluster: bool = False):
        base = assets.base_url()
        self.default_js = [("qmap", f"{base}/qmap.js")]
        self.default_css = [("qmap_css", f"{base}/qmap.css")]
        if cluster:  # Leaflet.markercluster from the xstatic package, served by the app
            self.default_js.append(("markerclusterjs", f"{base}/{assets.LOCAL_ASSETS['markerclusterjs']}"))
            self.default_css.append(("markerclustercss", f"{base}/{assets.LOCAL_ASSETS['markerclustercss']}"))


class PointLayer(_QsElement, folium.map.Layer):
    """Sites as canvas symbols (shape and colour from :mod:`layers.symbols`) with a tooltip and a popup.

    ``shape`` is one shape name for every point or one per point; ``ring``
    (one int per point, -1 for none) picks a ring from ``rings`` ([(colour,
    dashed)]) drawn around the symbol; ``highlight`` (booleans) is the short
    form for the first ring. ``cluster`` merges points that overlap at the
    current zoom into one count (Leaflet.markercluster, served by the app).
    ``text`` is a short label drawn inside each symbol (a patrol stop's
    order). ``legend`` holds the legend rows of what this layer draws (see
    :func:`layers.symbols.compose`).
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = QS.points({{ this.data }}, {});
        {% endmacro %}
    """)

    def __init__(self, x, y, colour_index, palette: Sequence[str], rows: list[list], labels: Sequence[str], *,
                 name: str, radius: float = 6, stroke: str = "#222222", title: int = 0, tip: int | None = None,
                 history: list[list[str]] | None = None, highlight: Sequence[bool] | None = None,
                 sites: Sequence[tuple[str, str] | None] | None = None,
                 show: bool = True, overlay: bool = True, control: bool = True,
                 shape: str | Sequence[str] = "circle", ring: Sequence[int] | None = None,
                 rings: Sequence[tuple[str, bool]] | None = None, cluster: bool = False, weight: float = 1.0,
                 legend: list[dict] | None = None, text: Sequence[str] | None = None):
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "QsPoints"
        self._qs_assets(cluster=cluster)
        n = len(np.asarray(x))
        if isinstance(shape, str):
            names, s_idx = [shape], None
        else:
            names = list(dict.fromkeys(shape))
            lookup = {k: i for i, k in enumerate(names)}
            s_idx = [lookup[k] for k in shape]
        shapes = [symbols.SHAPES[k] for k in names]
        if highlight is not None and ring is None:
            ring = [0 if h else -1 for h in highlight]
        rings = list(rings) if rings is not None else [(symbols.RING["light"], False)]
        c = np.asarray(colour_index, int)
        self.payload = {
            "x": np.round(np.asarray(x, float), 6).tolist(), "y": np.round(np.asarray(y, float), 6).tolist(),
            "c": c.tolist(), "palette": list(palette), "radius": radius, "weight": weight,
            "stroke": stroke, "labels": list(labels), "rows": rows, "title": title,
            "shapes": [{"name": s.name, "path": s.path, "extent": s.extent, "tip": s.tip} for s in shapes],
        }
        if s_idx is not None:
            self.payload["s"] = s_idx
        if ring is not None:
            r = [int(v) for v in ring]
            if any(v >= 0 for v in r):
                self.payload["ring"] = r
                self.payload["rings"] = [{"colour": col, "dashed": bool(d)} for col, d in rings]
        if tip is not None:
            self.payload["tip"] = tip
        if text is not None:
            self.payload["text"] = [str(t) for t in text]
        if history is not None:
            self.payload["history"] = history
        if sites is not None:  # (layer, id) per point, or None: the popup links to that site's file
            self.payload["site"] = [[str(s[0]), str(s[1])] if s else None for s in sites]
            self.payload["siteUrl"] = assets.page_url("site")
        if cluster:
            self.payload["cluster"] = {"radius": 4, "until": 14}
        #: what is actually drawn (tests compare it with the legends)
        self.colours_used = sorted({palette[i] for i in set(c.tolist())}) if n else []
        self.shapes_used = sorted({names[i] for i in (set(s_idx) if s_idx is not None else {0})}) if n else []
        self.rings_used = sorted({rings[i][0] for i in set(self.payload.get("ring", [])) if i >= 0})
        self.legend = list(legend or [])
        self.data = js_json(self.payload)


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
    """A legend control built from :mod:`layers.symbols` rows (or older ``(label, colour, kind)`` tuples).

    Refuses (``ValueError``) a legend that gives one colour two meanings. The
    browser draws each swatch from the row: shapes from the same SVG path the
    map canvas uses, so the legend shows what the map draws.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = QS.legend({{ this._parent.get_name() }}, {{ this.title }},
                {{ this.items }}, {{ this.position }}, {{ this.fit }});
        {% endmacro %}
    """)

    def __init__(self, title: str, items: list, position: str = "bottomleft"):
        super().__init__()
        self._name = "QsLegend"
        self._qs_assets()
        self.rows = symbols.check_legend(items)
        self.title = js_json(title)
        self.items = js_json(self.rows)
        self.position = js_json(position)
        self.fit = "null"

    def render(self, **kwargs):
        # the map's data bounds (see layers.mapview.new_map): the map is refitted beside the legend
        self.fit = js_json(getattr(self._parent, "qs_bounds", None))
        return super().render(**kwargs)


class Fit(_QsElement, MacroElement):
    """Fit the map to ``bounds`` ([[south, west], [north, east]]) without animation."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            QS.fit({{ this._parent.get_name() }}, {{ this.bounds }});
        {% endmacro %}
    """)

    def __init__(self, bounds):
        super().__init__()
        self._name = "QsFit"
        self._qs_assets()
        self.bounds = js_json(bounds)


class Scale(_QsElement, MacroElement):
    """A metric-only scale bar (m / km; never miles or feet)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            QS.scale({{ this._parent.get_name() }}, {{ this.position }});
        {% endmacro %}
    """)

    def __init__(self, position: str = "bottomright"):
        super().__init__()
        self._name = "QsScale"
        self._qs_assets()
        self.position = js_json(position)


class Icon(_QsElement, MacroElement):
    """One fixed symbol drawn as an SVG marker above the canvas (the patrol depot): ``layer``'s shape in ``colour``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = QS.icon({{ this.lat }}, {{ this.lon }}, {{ this.shape }}, {{ this.colour }},
                {{ this.px }}, {{ this.tooltip }}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, lat: float, lon: float, layer: str, colour: str, *, px: int = 28, tooltip: str = ""):
        super().__init__()
        self._name = "QsIcon"
        self._qs_assets()
        s = symbols.shape_of(layer)
        self.lat, self.lon = js_json(round(float(lat), 6)), js_json(round(float(lon), 6))
        self.shape = js_json({"name": s.name, "path": s.path, "extent": s.extent, "tip": s.tip})
        self.colour, self.px, self.tooltip = js_json(colour), int(px), js_json(tooltip)
        self.legend = [symbols.icon_item(layer, colour)]


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
