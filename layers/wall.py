"""The wall screen's map: one Leaflet map that rotates between the closure, riverside and water views."""
from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd
from folium.template import Template

from geo.contract import LAYER_LABELS

from . import mapview, sampling_points, symbols, townships, water
from . import overview as overview_layer
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


class FitDistrict(folium.MacroElement):
    """Keep the district fitted to the frame whenever the frame changes size (the page sizes it by CSS)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            (function (map, b) {
              // the legends (bottom right, wall CSS) take the frame's right side: keep the district left of the
              // widest of them, measured as drawn (hidden ones shown invisibly for a moment)
              var legendWidth = function () {
                var w = 0;
                map.getContainer().querySelectorAll(".leaflet-bottom .leaflet-control").forEach(function (el) {
                  var display = el.style.display, visibility = el.style.visibility;
                  el.style.visibility = "hidden"; el.style.display = "";
                  w = Math.max(w, el.getBoundingClientRect().width);
                  el.style.display = display; el.style.visibility = visibility;
                });
                return w;
              };
              var fit = function () {
                var u = document.body.classList.contains("qs-wall-4k") ? 2 : 1;
                map.invalidateSize(false);
                map.fitBounds(b, {paddingTopLeft: [8 * u, 8 * u], paddingBottomRight: [legendWidth() + 30 * u, 8 * u],
                                  animate: false});
              };
              // the frame gets its final size from the page's CSS after the map is made: refit on every change
              var last = "";
              new ResizeObserver(function () {
                var key = map.getContainer().clientWidth + "x" + map.getContainer().clientHeight;
                if (key !== last && map.getContainer().clientHeight > 0) { last = key; fit(); }
              }).observe(map.getContainer());
            })({{ this._parent.get_name() }}, {{ this.bounds }});
        {% endmacro %}
    """)

    def __init__(self, bounds):
        super().__init__()
        self._name = "QsFitDistrict"
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        self.bounds = js_json([[miny, minx], [maxy, maxx]])


#: The map's frame is narrow (the district is tall), so a 4K screen is told by the page around it, not by the
#: frame's own width: ``qs-wall-4k`` on the body doubles sizes (here and in ``web/qmap.js``).
WALL_4K = ("try { if (window.top.innerWidth >= 2800 && window.top.innerHeight >= 1500) "
           "document.body.classList.add('qs-wall-4k'); } catch (e) {}")
#: Wall sizes: everything on the map readable from 4 m, twice as large on a 4K screen.
WALL_CSS = """<style>
.qs-wall .qs-label, .qs-wall .qs-legend, .qs-wall .qs-legend-sub { font-size: 24px; }
/* one column, as narrow as its rows (a wrapping column flexbox is as wide as all its groups side by side),
   and as tall as the frame allows: the whole legend, never a scrolled part of it */
.qs-wall .qs-legend-body { flex-wrap: nowrap; }
.qs-wall .qs-legend { max-height: calc(100vh - 120px); }
.qs-wall .qs-swatch, .qs-wall .qs-swatch svg { width: 24px; height: 24px; }
.qs-wall .qs-cluster-mini, .qs-wall .qs-cluster-mini svg { width: 32px; height: 32px; font-size: 24px; }
.qs-wall .qs-view-title { font-size: 30px; }
/* large scale text may be longer than the bar: let it run left, into the map, not off the frame's edge */
.qs-wall .leaflet-control-scale-line { font-size: 24px; line-height: 1.2; display: flex; justify-content: flex-end;
  white-space: nowrap; }
/* the district is tall and leans west at its foot: the legend and the scale go to the free corner */
.qs-wall .leaflet-bottom.leaflet-left { left: auto; right: 0; }
.qs-wall .leaflet-bottom.leaflet-left .leaflet-control { float: right; clear: both; margin-right: 10px; }
.qs-wall-4k .qs-label, .qs-wall-4k .qs-legend, .qs-wall-4k .qs-legend-sub,
.qs-wall-4k .leaflet-control-scale-line { font-size: 48px; }
.qs-wall-4k .qs-swatch, .qs-wall-4k .qs-swatch svg { width: 48px; height: 48px; }
.qs-wall-4k .qs-cluster-mini, .qs-wall-4k .qs-cluster-mini svg { width: 64px; height: 64px; font-size: 48px; }
.qs-wall-4k .qs-legend-row { gap: 20px; }
.qs-wall-4k .qs-chip { width: 56px; height: 32px; }
.qs-wall-4k .qs-line { height: 10px; }
.qs-wall-4k .qs-ring { border-width: 6px; }
.qs-wall-4k .qs-view-title { font-size: 60px; }
.qs-wall-4k .qs-legend { max-height: calc(100vh - 240px); }
</style>"""


def _wall_rows(items: list[dict]) -> list[dict]:
    """Legend rows for the wall: nobody zooms a wall map, so the cluster row says only what the number is
    (and stays short enough not to widen the legend over the district)."""
    return [dict(it, label="数字：重叠的点位数") if it.get("swatch") == "cluster" else it for it in items]


def _aggregated(m: folium.Map, layers: dict[str, pd.DataFrame], tw: gpd.GeoDataFrame, name: str = "") -> list:
    """Each site layer drawn one symbol per township (``layers.overview``), hidden until its view shows."""
    aggregates = overview_layer.aggregate_placed({k: (v, k) for k, v in layers.items()}, tw)
    largest = max((int(a["count"].max()) for a in aggregates.values() if len(a)), default=1)
    return [overview_layer.add_aggregate(m, a, k, largest=largest, show=False,
                                         name=f"{name}·{LAYER_LABELS[k]}（按乡镇汇总）" if name else None)
            for k, a in aggregates.items()]


def wall_map(frames: dict[str, pd.DataFrame], *, sites: dict[str, pd.DataFrame], rotate_seconds: int = 20,
             height: int = 760, violations: gpd.GeoDataFrame | None = None, buffer_m: float = 200,
             water_classes: pd.DataFrame | None = None, max_points: int | None = None) -> folium.Map:
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
    max_points : int, optional
        The point budget (default ``[map] max_points``). A store with more sites draws the closure view one
        symbol per township and layer (sized by count, coloured by the share done, as the overview does),
        the riverside violations likewise when they exceed it, and the water simplified to the district's
        scale: a wall shows a city or a province legibly, and the frame stays small enough to draw at once.
    """
    tw = frames["townships"]
    limit = max_points if max_points is not None else overview_layer.max_points()
    large = sum(len(sites[k]) for k in ("kilns", "farms", "enterprises") if k in sites) > limit
    rivers, waterbodies = frames["rivers"], frames["waterbodies"]
    if large and len(tw):
        rivers = overview_layer.for_view(rivers, tw.total_bounds)
        waterbodies = overview_layer.for_view(waterbodies, tw.total_bounds)
    # The map fills its frame, whatever the screen: the page sizes the frame.
    m = mapview.new_map(tw.total_bounds, height="100%", dark=True, zoom_control=False, attribution=False)
    # no zoom animation: an animated zoom still running would undo the refit to the frame's final size
    m.options["zoomAnimation"] = False
    # one fitter only: FitDistrict keeps the district clear of the widest of the rotating legends (the
    # legends' own refit, beside whichever legend shows first, is for the other maps)
    m.qs_bounds = None
    m.get_root().html.add_child(folium.Element(
        "<script>document.body.classList.add('qs-wall');" + WALL_4K + "</script>" + WALL_CSS))
    townships.add_to(m, tw, dark=True, label_cls="", name="乡镇", show=True)
    views = []

    # 1. Closure: every site coloured by its status on the date (above the budget: per township, by share done).
    closure_layers = []
    if large:
        closure_layers = _aggregated(m, {k: sites[k] for k in ("kilns", "farms", "enterprises")}, tw)
        items = symbols.compose(points=[r for l in closure_layers for r in l.legend],
                                extra=[symbols.aggregate_item()], colour_title="完成比例（颜色）")
    else:
        for layer, radius in (("kilns", 5), ("farms", 7), ("enterprises", 8)):
            closure_layers.append(add_sites(m, sites[layer], layer,
                                            [("id", "编号"), ("status", "状态"), ("township", "乡镇")],
                                            radius=radius, name=LAYER_LABELS[layer], show=False))
        items = symbols.compose(points=[r for l in closure_layers for r in l.legend], cluster=True)
    leg1 = Legend("关停整治", _wall_rows(items), position="bottomleft")
    leg1.add_to(m)
    views.append({"key": "closure", "title": "关停整治进度", "layers": [l.get_name() for l in closure_layers],
                  "legends": [leg1.get_name()]})

    # 2. Riverside: water, and the active sites within the limit highlighted.
    wl = water.add_to(m, rivers, waterbodies, show=False, wall=True,
                      min_band_m=overview_layer.pixel_m(tw.total_bounds) if large and len(tw) else 0.0)
    river_layers = [l.get_name() for l in wl]
    drawn, extra = [], []
    if violations is not None and len(violations) > limit and "township" in violations.columns:
        # more violations than a frame can show one by one: per township and layer, sized by count
        agg = _aggregated(m, {k: violations[violations["layer"] == k] for k in ("farms", "enterprises", "kilns")},
                          tw, name="沿河违规")
        river_layers += [l.get_name() for l in agg]
        drawn += agg
        extra += [symbols.aggregate_item()]
    elif violations is not None and len(violations):
        # each site in its own shape and status colour, ringed: a ring marks the violation, never covers it
        pl = violations_layer.add_to(m, violations, name="沿河违规", radius=9, show=False, dark=True)
        river_layers.append(pl.get_name())
        drawn.append(pl)
        extra += violations_layer.legend_items(("farms", "enterprises", "kilns"), buffer_m, dark=True)
    items = symbols.compose(geography=water.legend_items(dark=True), points=[r for l in drawn for r in l.legend],
                            extra=extra, cluster=bool(drawn))
    leg2 = Legend(f"沿河{buffer_m:g}米", _wall_rows(items), position="bottomleft")
    leg2.add_to(m)
    views.append({"key": "riverside", "title": f"沿河{buffer_m:g}米缓冲区", "layers": river_layers,
                  "legends": [leg2.get_name()]})

    # 3. Water quality: sampling points by class.
    pts = frames["sampling_points"]
    if water_classes is not None and len(water_classes):
        cols = [c for c in ("id", "class", "meets", "exceeding", "judgment", "judgment_text") if c in water_classes]
        pts = pts.merge(water_classes[cols], on="id", how="left")
    wl2 = wl  # the riverside view's water, drawn once for both views (half the wall map's bytes at scale)
    # never clustered: a district has tens of points, and a cluster would hide the one Ⅳ类 section
    sp = sampling_points.add_to(m, pts, class_col="class" if "class" in pts.columns else None, radius=12,
                                show=False, cluster=False)
    leg3 = Legend("水质类别", _wall_rows(symbols.compose(points=sp.legend, colour_title="类别（颜色）", cluster=True)),
                  position="bottomleft")
    leg3.add_to(m)
    views.append({"key": "water", "title": "水质监测", "layers": [l.get_name() for l in wl2] + [sp.get_name()],
                  "legends": [leg3.get_name()]})
    Rotate(views, rotate_seconds).add_to(m)
    # No clock on the map: the page header shows the data date and, labelled, the current time.
    FitDistrict(tw.total_bounds).add_to(m)
    return m
