"""One symbol language on every map: the symbol table, the legends built from it, and maps that agree with them.

The legends are generated from the same rows the point layers draw with; these
tests build every map from the demo store and check, per legend, that each
drawn colour, shape and ring is explained by exactly one legend row, that no
legend colour has two meanings, and that the colours of one legend can be told
apart (CIE ΔE).
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from geo.contract import STATUS
from geo.patrol import TEAM_COLOURS
from layers import mapview, sampling_points, symbols
from layers.base import Icon, Legend, PointLayer

PALETTE = set(symbols.PALETTE.values())
ALLOWED_FILLS = PALETTE | {symbols.NO_DATA, symbols.HOLLOW} | set(TEAM_COLOURS)


def lab(hex_colour: str) -> np.ndarray:
    """CIE L*a*b* (D65) of an sRGB hex colour."""
    h = hex_colour.lstrip("#")
    rgb = np.array([int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str) -> float:
    return float(np.linalg.norm(lab(a) - lab(b)))


# --- the table ------------------------------------------------------------------------------------------

def test_every_layer_has_its_own_shape_and_every_shape_is_drawable():
    shapes = symbols.LAYER_SHAPES
    assert len(set(shapes.values())) == len(shapes), "two layers share a shape"
    assert {"enterprises": "square", "kilns": "triangle", "farms": "circle", "section": "diamond"}.items() \
        <= shapes.items()
    for layer, name in shapes.items():
        s = symbols.SHAPES[name]
        assert s.path.startswith("M") and s.path.endswith("Z") and s.extent >= 1
        assert symbols.LAYER_SYMBOL_LABELS[layer]
    # about equal areas (a unit circle's, π): no layer looks bigger than another at one radius
    from shapely.geometry import Polygon

    for name in ("square", "triangle", "triangle_down", "diamond"):
        xy = [tuple(map(float, p.split(","))) for p in symbols.SHAPES[name].path[1:-1].split("L")]
        area = Polygon(xy).area
        assert 0.85 * np.pi <= area <= 1.05 * np.pi, (name, area)
        assert max(abs(c) for p in xy for c in p) <= symbols.SHAPES[name].extent + 1e-9


def test_every_status_and_judgment_has_a_palette_colour():
    for layer, statuses in STATUS.items():
        for s in statuses:
            assert symbols.STATUS_COLOURS[s] in PALETTE, (layer, s)
    assert {m.colour for m in symbols.WATER_CLASS.values()} <= PALETTE
    assert len({m.colour for m in symbols.WATER_CLASS.values()}) == 6  # six classes, six colours
    assert symbols.OUTFALL["fail"].colour in PALETTE
    complaints = [m.colour for m in symbols.COMPLAINT.values()]
    assert set(complaints) <= PALETTE and len(set(complaints)) == len(complaints)
    assert symbols.COMPLAINT["overdue"].colour == symbols.PALETTE["vermillion"]
    assert symbols.compose(points=symbols.complaint_rows())[1]["shape"] == "pin"
    assert symbols.NO_DATA not in PALETTE and symbols.HOLLOW not in PALETTE
    # vermillion always means the worst state
    assert symbols.STATUS_COLOURS["operating"] == symbols.WATER_CLASS[6].colour == symbols.PALETTE["vermillion"]


def test_geography_never_looks_like_a_status():
    for name, g in symbols.GEOGRAPHY.items():
        for p in PALETTE | {symbols.NO_DATA}:
            assert delta_e(g, p) >= 15, (name, g, p)


def test_status_meanings_join_the_labels_of_one_colour():
    meanings = symbols.status_meanings(["enterprises", "farms"])
    by_colour = {m.colour: m.label for m in meanings}
    assert by_colour[symbols.PALETTE["vermillion"]] == "在产 / 在养"
    assert by_colour[symbols.PALETTE["orange"]] == "已签承诺 / 治理中"
    assert len(by_colour) == len(meanings)  # one entry per colour
    only = symbols.status_meanings(["kilns"], present={"closed"})
    assert [m.label for m in only] == ["已关停"]


def test_a_legend_refuses_one_colour_for_two_meanings():
    blue = symbols.PALETTE["blue"]
    with pytest.raises(ValueError, match="两|both"):
        Legend("图例", [symbols.colour_item("已搬迁", blue), symbols.colour_item("监测断面", blue)])
    with pytest.raises(ValueError):
        symbols.compose(points=symbols.site_rows("enterprises"), extra=[symbols.ring_item("新增", blue)])
    # hollow shapes carry no colour; the same row twice is one meaning
    rows = symbols.check_legend([symbols.shape_item("section"), symbols.shape_item("outfall"),
                                 symbols.colour_item("Ⅰ类", blue), symbols.colour_item("Ⅰ类", blue)])
    assert len(rows) == 4
    # the older (label, colour, kind) triples still work
    assert symbols.as_item(("河流", "#123456", "line"))["swatch"] == "line"


def test_compose_lists_geography_shapes_then_colours_in_palette_order():
    rows = symbols.compose(geography=[symbols.line_item("河流", symbols.GEOGRAPHY["river"])],
                           points=symbols.site_rows("farms") + symbols.site_rows("enterprises"), cluster=True)
    kinds = [r["swatch"] for r in rows]
    assert kinds[0] == "heading" and kinds[-1] == "cluster"
    shapes = [r["shape"] for r in rows if r["role"] == "shape"]
    assert shapes == ["circle", "square"]
    colours = [r["colour"] for r in rows if r.get("scale") == "status"]
    order = list(dict.fromkeys(symbols.STATUS_COLOURS.values()))
    assert colours == sorted(colours, key=order.index) and len(colours) == len(set(colours))


# --- maps agree with their legends ------------------------------------------------------------------------

def _elements(m):
    out, stack = [], [m]
    while stack:
        el = stack.pop()
        out.append(el)
        stack.extend(el._children.values())
    return out


def _check(points: list[PointLayer], legend: Legend, icons=()) -> None:
    """Every drawn colour, shape and ring of ``points`` is explained by ``legend``, and its colours differ."""
    rows = legend.rows
    colour_rows = [r for r in rows if r["role"] in ("colour", "icon") and r.get("colour")]
    shape_rows = {r["shape"] for r in rows if r["role"] == "shape"}
    ring_rows = {r["colour"] for r in rows if r["swatch"] == "ring"}
    fills = {r["colour"].upper() for r in colour_rows if r["swatch"] in ("chip", "shape", "line")}
    for p in points:
        assert set(p.colours_used) <= ALLOWED_FILLS, p.colours_used
        assert set(p.shapes_used) <= set(symbols.SHAPES)
        for s in p.shapes_used:
            assert s in shape_rows, (legend.rows, s)
        for c in p.colours_used:
            if c == symbols.HOLLOW and c.upper() not in fills:
                continue  # hollow: drawn for its shape only
            assert c.upper() in fills, (c, [r["label"] for r in colour_rows])
        for c in p.rings_used:
            assert c in ring_rows, (c, ring_rows)
    for i in icons:
        assert i.legend[0]["colour"] in {r["colour"] for r in colour_rows}
    # one meaning per colour, and colours one can tell apart
    by_colour = {}
    for r in colour_rows:
        assert by_colour.setdefault(r["colour"].upper(), r["label"]) == r["label"], r
    for a, b in itertools.combinations(by_colour, 2):
        assert delta_e(a, b) >= 12, (by_colour[a], by_colour[b])


def _prepared(frames: dict, as_of: str = "2007-06-30"):
    """What the pages hand the map builders: tables with townships, and the sites as they stood on ``as_of``."""
    from geo import progress
    from geo.contract import SITE_LAYERS
    from geo.spatial import with_township

    prepared = progress.prepare(frames)
    prepared["sampling_points"] = with_township(frames["sampling_points"], frames["townships"])
    return prepared, {layer: progress.sites_as_of(prepared, layer, as_of) for layer in SITE_LAYERS}


def test_overview_map_draws_only_what_its_legend_says(demo_frames):
    from geo import water
    from layers.overview import overview_map

    prepared, sites = _prepared(demo_frames)
    m = overview_map(prepared, sites=sites, events=prepared["status_events"],
                     water_classes=water.latest_assessment(demo_frames, as_of="2007-06-30"))
    els = _elements(m)
    points = [e for e in els if isinstance(e, PointLayer)]
    legends = [e for e in els if isinstance(e, Legend)]
    assert len(points) == 4 and len(legends) == 1
    _check(points, legends[0])
    by_name = {p.layer_name: p for p in points}
    assert by_name["企业"].shapes_used == ["square"] and by_name["石灰窑（棚）"].shapes_used == ["triangle"]
    assert by_name["养殖场"].shapes_used == ["circle"]
    assert by_name["水质监测点"].shapes_used == ["diamond", "triangle_down"]
    # sampling points hollow on the overview: their colours would clash with the statuses
    assert by_name["水质监测点"].colours_used == [symbols.HOLLOW]
    # clusters for the dense places, and a metric scale bar only
    assert all(p.payload.get("cluster") for p in points)
    html = mapview.to_html(m)
    assert "QS.scale(" in html and "L.control.scale()" not in html


def test_wall_views_each_agree_with_their_legend(demo_frames):
    from geo import buffers, water
    from layers.wall import Rotate, wall_map

    v = buffers.check(demo_frames, 200, as_of="2007-06-30")
    a = water.latest_assessment(demo_frames, as_of="2007-06-30")
    prepared, sites = _prepared(demo_frames)
    m = wall_map(prepared, sites=sites, violations=v, water_classes=a)
    els = _elements(m)
    by_name = {e.get_name(): e for e in els}
    rotate = next(e for e in els if isinstance(e, Rotate))
    assert len(rotate.views) == 3
    for view in rotate.views:
        points = [by_name[n] for n in view["layers"] if isinstance(by_name.get(n), PointLayer)]
        legends = [by_name[n] for n in view["legends"]]
        assert points and len(legends) == 1
        _check(points, legends[0])
    riverside = next(e for e in els if isinstance(e, PointLayer) and e.layer_name == "沿河违规")
    assert riverside.rings_used == [symbols.RING["dark"]]  # a ring around each violation, not a cover
    assert set(riverside.shapes_used) <= {"circle", "square", "triangle"}


def test_wall_above_the_budget_draws_townships_not_sites(demo_frames):
    """A store with more sites than ``max_points``: the closure view (and the violations, when they too are
    over it) are one symbol per township and layer whose counts add up to the sites; the legend agrees."""
    from geo import buffers, water
    from layers.wall import Rotate, wall_map

    v = buffers.check(demo_frames, 200, as_of="2007-06-30")
    a = water.latest_assessment(demo_frames, as_of="2007-06-30")
    prepared, sites = _prepared(demo_frames)
    m = wall_map(prepared, sites=sites, violations=v, water_classes=a, max_points=10)
    els = _elements(m)
    by_name = {e.get_name(): e for e in els}
    views = {v_["key"].strip('"'): v_ for v_ in next(e for e in els if isinstance(e, Rotate)).views}
    closure = [by_name[n] for n in views["closure"]["layers"]]
    assert closure and all("按乡镇汇总" in p.layer_name for p in closure)
    total = sum(int(p.aggregates["count"].sum()) for p in closure)
    assert total == sum(len(sites[k]) for k in ("enterprises", "kilns", "farms"))
    n_towns = prepared["townships"]["name"].nunique() + 1  # plus the sites outside every township
    assert all(len(p.aggregates) <= n_towns for p in closure)
    _check(closure, by_name[views["closure"]["legends"][0]])
    river = [by_name[n] for n in views["riverside"]["layers"] if isinstance(by_name.get(n), PointLayer)]
    assert river and all("沿河违规" in p.layer_name and "按乡镇汇总" in p.layer_name for p in river)
    assert sum(int(p.aggregates["count"].sum()) for p in river) == len(v)
    # under the budget: each site its own symbol
    small = wall_map(prepared, sites=sites, violations=v, water_classes=a)
    assert not any("按乡镇汇总" in (getattr(e, "layer_name", "") or "") for e in _elements(small))


def test_violations_ring_each_site_in_its_own_shape_and_status(demo_frames):
    import folium

    from geo import buffers
    from layers import violations

    v = buffers.check(demo_frames, 200, as_of="2007-06-30")
    added = buffers.compare_limits(buffers.check(demo_frames, 300, as_of="2007-06-30"), 200, 300)
    assert len(v) and len(added)
    m = folium.Map()
    layer = violations.add_to(m, v, name="沿河")
    shapes = [layer.payload["shapes"][i]["name"] for i in layer.payload["s"]]
    assert shapes == [symbols.LAYER_SHAPES[k] for k in v["layer"]]
    fills = [layer.payload["palette"][i] for i in layer.payload["c"]]
    assert fills == [symbols.STATUS_COLOURS[s] for s in v["status"]]
    assert layer.rings_used == [symbols.RING["light"]] and set(layer.payload["ring"]) == {0}
    more = violations.add_to(m, added, name="新增", added=True)
    assert more.payload["rings"] == [{"colour": violations.ADDED_COLOUR, "dashed": True}]
    legend = Legend("图例", symbols.compose(points=layer.legend + more.legend,
                                          extra=violations.legend_items(["farms"], 200) +
                                          [violations.added_legend_item(300), violations.zone_legend_item(200)]))
    _check([layer, more], legend)
    assert violations.add_to(m, v.iloc[:0], name="无") is None


def test_sampling_points_show_class_against_target_and_outfall_judgment():
    import folium
    import geopandas as gpd
    from shapely.geometry import Point

    pts = gpd.GeoDataFrame({
        "id": ["W1", "W2", "O1", "O2", "O3"], "name": ["甲断面", "乙断面", "甲排口", "乙排口", "丙排口"],
        "kind": ["section", "section", "outfall", "outfall", "outfall"], "target_class": [3, 2, 3, 3, 3],
        "class": [4.0, 2.0, 6.0, 6.0, np.nan], "meets": [False, True, None, None, None],
        "judgment": [None, None, "超标", "pass", None], "judgment_text": [None, None, "COD 1.3倍", None, None],
    }, geometry=[Point(118.9 + i / 100, 29.0) for i in range(5)], crs=4326)
    m = folium.Map()
    layer = sampling_points.add_to(m, pts, class_col="class")
    data = layer.payload
    fills = [data["palette"][i] for i in data["c"]]
    assert fills == [symbols.WATER_CLASS[4].colour, symbols.WATER_CLASS[2].colour, symbols.OUTFALL["fail"].colour,
                     symbols.OUTFALL["pass"].colour, symbols.NO_DATA]
    rows = {r[0]: dict(zip(data["labels"], r)) for r in data["rows"]}
    assert rows["甲断面"]["评价"] == "Ⅳ类，目标Ⅲ类：未达标"
    assert rows["乙断面"]["评价"] == "Ⅱ类，目标Ⅱ类：达标"
    assert rows["甲排口"]["排放判定"] == "超标（COD 1.3倍）" and rows["乙排口"]["排放判定"] == "达标"
    assert rows["丙排口"]["排放判定"] == "无数据" and rows["甲断面"]["排放判定"] is None
    legend = Legend("水质", symbols.compose(points=layer.legend))
    _check([layer], legend)
    labels = {r["label"] for r in legend.rows}
    assert {"排污口超标", "排污口达标", "Ⅳ类", "Ⅱ类", "无数据", "监测断面", "排污口"} <= labels
    # no raw value reaches a popup (None is left out of it)
    assert not {"None", "nan", "NaT"} & {v for r in data["rows"] for v in r if v is not None}


def test_patrol_map_numbers_stops_in_their_layer_shape(demo_store):
    from geo.patrol import PatrolParams, plan_from_store
    from geo.store import open_store
    from layers.patrol import DEPOT_COLOUR, plan_map

    store = open_store(demo_store)
    plan = plan_from_store(store, ["sampling", "committed"], as_of=pd.Timestamp("2007-06-30"),
                           params=PatrolParams(teams=2, hours=8, time_limit_s=1))
    frames = store.read_many(["townships", "rivers", "waterbodies", "sampling_points"])
    m = plan_map(plan, frames, team_colours=TEAM_COLOURS)
    els = _elements(m)
    points = [e for e in els if isinstance(e, PointLayer)]
    icons = [e for e in els if isinstance(e, Icon)]
    legends = [e for e in els if isinstance(e, Legend)]
    assert len(icons) == 1 and icons[0].legend[0]["colour"] == DEPOT_COLOUR and len(legends) == 1
    _check(points, legends[0], icons)
    stops = next(p for p in points if p.layer_name == "巡查站点")
    v = plan.visited
    assert stops.payload["text"] == [str(int(o)) for o in v["order"]]
    assert {"square", "triangle_down"} <= set(stops.shapes_used)  # committed enterprises, outfalls sampled
    assert not stops.payload.get("cluster")  # numbered stops never merge


def test_wall_water_view_marks_what_misses_its_target_and_hides_nothing(demo_frames):
    """The wall's water view: never clustered (a cluster hid the one Ⅳ类 section), and a red ring on every
    section that misses its target (a Ⅲ-class section with a Ⅱ target is Ⅲ green yet 未达标)."""
    from geo import buffers, water
    from layers import sampling_points as SP
    from layers.wall import wall_map

    v = buffers.check(demo_frames, 200, as_of="2007-06-30")
    a = water.latest_assessment(demo_frames, as_of="2007-06-30")
    prepared, sites = _prepared(demo_frames)
    m = wall_map(prepared, sites=sites, violations=v, water_classes=a)
    sp = next(e for e in _elements(m) if isinstance(e, PointLayer) and e.layer_name == "水质监测点")
    assert not sp.payload.get("cluster")
    drawn = prepared["sampling_points"]
    assert len(sp.payload["x"]) == len(drawn)
    # which points the assessment says miss: sections not meeting their target (independent of the layer's code)
    judged = drawn[["id", "kind"]].merge(a[["id", "meets"]], on="id", how="left")
    want = set(judged.loc[(judged["kind"] == "section") & (judged["meets"] == False), "id"])  # noqa: E712
    ringed = {row[1] for row, r in zip(sp.payload["rows"], sp.payload.get("ring", [])) if r >= 0}
    assert want and {i for i in ringed if i in set(drawn.loc[drawn["kind"] == "section", "id"])} == want
    assert sp.rings_used == [SP.FAIL_RING]
    assert any(row.get("label") == SP.FAIL_LABEL for row in sp.legend)
