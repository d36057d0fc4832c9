"""The wall screen's map: one Leaflet map that rotates between the closure, riverside and water views."""
from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd
from folium.template import Template

from geo.contract import LAYER_LABELS

from . import mapview, sampling_points, symbols, townships, water
from . import violations as violations_layer
from .base import Legend, _QsElement, js_json
from .sites import add_sites


class Rotate(_QsElement, folium.MacroElement):
    _template = Template("""
        {% macro script(this, kwargs) %}
            QS.rotate({{ this._parent.get_name() }}, [
            {% for v in this.views %}
                {key: {{ v.key }}, title: {{ v.title }},
                 layers: [{% for l in v.layers %}{{ l }},{% endfor %}],
                 legends: [{% for l in v.legends %}{{ l }},{% endfor %}]},
            {% endfor %}
            ], {{ this.seconds }});
        {% endmacro %}
    """)

    def __init__(self, views: list[dict], seconds: int):
        super().__init__()
        self._name = "QsRotate"
        self._qs_assets()
        self.views = [{"key": js_json(v["key"]), "title": js_json(v["title"]), "layers": v["layers"],
                       "legends": v["legends"]} for v in views]
        self.seconds = int(seconds)


class Clock(_QsElement, folium.MacroElement):
    _template = Template("""
        {% macro script(this, kwargs) %}
            QS.clock({{ this._parent.get_name() }}, "topleft");
        {% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "QsClock"
        self._qs_assets()


def wall_map(frames: dict[str, pd.DataFrame], *, sites: dict[str, pd.DataFrame], rotate_seconds: int = 20,
             height: int = 760, violations: gpd.GeoDataFrame | None = None, buffer_m: float = 200,
             water_classes: pd.DataFrame | None = None) -> folium.Map:
    """The rotating wall map, drawn from what the page computed.

    Parameters
    ----------
    frames : dict
        ``townships``, ``rivers``, ``waterbodies`` and ``sampling_points``.
    sites : dict
        The ``enterprises``, ``kilns`` and ``farms`` as they stood on the page's
        date, with ``status`` and ``township`` (``geo.progress.sites_as_of``).
    violations : GeoDataFrame, optional
        The riverside violations at ``buffer_m`` (a ``geo.buffers.check`` result).
    water_classes : DataFrame, optional
        ``id`` and ``class`` of the sampling points (``geo.water``).
    """
    tw = frames["townships"]
    # The map fills its frame, whatever the screen: the page sizes the frame.
    m = mapview.new_map(tw.total_bounds, height="100%", dark=True, zoom_control=False, attribution=False)
    m.get_root().html.add_child(folium.Element(
        "<script>document.body.classList.add('qs-wall');</script>"))
    townships.add_to(m, tw, dark=True, label_cls="", name="乡镇", show=True)
    views = []

    # 1. Closure: every site coloured by its status on the date.
    closure_layers = []
    for layer, radius in (("kilns", 5), ("farms", 7), ("enterprises", 8)):
        closure_layers.append(add_sites(m, sites[layer], layer,
                                        [("id", "编号"), ("status", "状态"), ("township", "乡镇")],
                                        radius=radius, name=LAYER_LABELS[layer], show=False))
    leg1 = Legend("关停整治", symbols.compose(points=[r for l in closure_layers for r in l.legend], cluster=True),
                  position="bottomleft")
    leg1.add_to(m)
    views.append({"key": "closure", "title": "关停整治进度", "layers": [l.get_name() for l in closure_layers],
                  "legends": [leg1.get_name()]})

    # 2. Riverside: water, and the active sites within the limit highlighted.
    wl = water.add_to(m, frames["rivers"], frames["waterbodies"], show=False, wall=True)
    river_layers = [l.get_name() for l in wl]
    drawn, extra = [], []
    if violations is not None and len(violations):
        # each site in its own shape and status colour, ringed: a ring marks the violation, never covers it
        pl = violations_layer.add_to(m, violations, name="沿河违规", radius=9, show=False, dark=True)
        river_layers.append(pl.get_name())
        drawn.append(pl)
        extra += violations_layer.legend_items(("farms", "enterprises", "kilns"), buffer_m, dark=True)
    items = symbols.compose(geography=water.legend_items(dark=True), points=[r for l in drawn for r in l.legend],
                            extra=extra, cluster=bool(drawn))
    leg2 = Legend(f"沿河{buffer_m:g}米", items, position="bottomleft")
    leg2.add_to(m)
    views.append({"key": "riverside", "title": f"沿河{buffer_m:g}米缓冲区", "layers": river_layers,
                  "legends": [leg2.get_name()]})

    # 3. Water quality: sampling points by class.
    pts = frames["sampling_points"]
    if water_classes is not None and len(water_classes):
        cols = [c for c in ("id", "class", "meets", "exceeding", "judgment", "judgment_text") if c in water_classes]
        pts = pts.merge(water_classes[cols], on="id", how="left")
    wl2 = water.add_to(m, frames["rivers"], frames["waterbodies"], show=False, wall=True)
    sp = sampling_points.add_to(m, pts, class_col="class" if "class" in pts.columns else None, radius=12,
                                show=False)
    leg3 = Legend("水质类别", symbols.compose(points=sp.legend, colour_title="类别（颜色）", cluster=True),
                  position="bottomleft")
    leg3.add_to(m)
    views.append({"key": "water", "title": "水质监测", "layers": [l.get_name() for l in wl2] + [sp.get_name()],
                  "legends": [leg3.get_name()]})
    Rotate(views, rotate_seconds).add_to(m)
    Clock().add_to(m)
    return m
