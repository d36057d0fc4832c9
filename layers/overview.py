"""The overview map: townships, water and the four point layers, as they stood on a date."""
from __future__ import annotations

from typing import Hashable, Iterable, Mapping

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import config
from geo.contract import LAYER_LABELS
from geo.crs import metric_crs_for
from geo.rules import DONE

from . import enterprises, farms, kilns, mapview, sampling_points, symbols, townships, water
from .base import Legend, PointLayer

POINT_LAYERS = {"enterprises": enterprises, "kilns": kilns, "farms": farms}
ALL_LAYERS = ("townships", "water", "enterprises", "kilns", "farms", "sampling_points")
#: Above this many points in total (``[map] max_points``) the site layers are drawn one symbol per township.
MAX_POINTS = 5000
#: Where a site outside every township is counted.
OUTSIDE = "区外（未落入乡镇）"
#: Aggregate symbol radius (px): the smallest, and what the largest count adds (by area, √count).
AGG_RADIUS = (9.0, 15.0)
AGG_LABELS = ["乡镇（街道）", "类别", "点位数", "已完成", "完成比例"]


def max_points() -> int:
    """The point budget of one overview map (``[map] max_points`` in qingshan.toml, default 5000)."""
    return int(config.get("map", "max_points", MAX_POINTS))


def points_to_draw(sites: dict[str, pd.DataFrame], sampling: pd.DataFrame | None = None, *,
                   township: list[str] | None = None, layers=ALL_LAYERS) -> int:
    """How many point symbols the overview would draw one per site (the chosen layers, the chosen townships)."""
    frames = [sites[k] for k in POINT_LAYERS if k in layers and k in sites]
    if "sampling_points" in layers and sampling is not None:
        frames.append(sampling)
    return int(sum(len(f[f["township"].isin(township)]) if township else len(f) for f in frames))


def aggregate(sites: gpd.GeoDataFrame, layer: str, *, placed: Iterable[str] = ()) -> pd.DataFrame:
    """One row per township of a site layer: ``township``, ``count``, ``done``, ``share``, ``x``/``y`` (degrees).

    The symbol stands at the mean position of the township's sites, averaged in the local metric CRS
    (grouped in one pass, no loop per site). Sites outside every township are counted under
    :data:`OUTSIDE`, so the counts add up to ``len(sites)``. ``placed``: townships whose symbol
    :func:`place` will put (their mean position is not computed: ``x``/``y`` NaN).
    """
    cols = ["township", "count", "done", "share", "x", "y"]
    if len(sites) == 0:
        return pd.DataFrame(columns=cols)
    town = sites["township"].astype(object).where(sites["township"].notna(), OUTSIDE).to_numpy()
    need = ~pd.Series(town, dtype=object).isin(set(placed)).to_numpy()  # (object: no Arrow round trip)
    mx, my = np.full(len(sites), np.nan), np.full(len(sites), np.nan)
    if need.any():  # only the points whose township's symbol stands at their mean are projected
        g = gpd.GeoSeries(np.asarray(sites["geometry"]), crs=getattr(sites, "crs", None) or 4326)
        metric = metric_crs_for(g.total_bounds)  # the layer's CRS, whichever points are projected
        pts = g[need].to_crs(metric).values
        mx[need], my[need] = shapely.get_x(pts), shapely.get_y(pts)
    df = pd.DataFrame({"township": pd.Series(town, dtype=object),
                       "done": sites["status"].isin(DONE.get(layer, ())).to_numpy(),
                       "mx": mx, "my": my})
    out = df.groupby("township", sort=True).agg(count=("done", "size"), done=("done", "sum"),
                                                mx=("mx", "mean"), my=("my", "mean")).reset_index()
    out["share"] = out["done"] / out["count"]
    out["x"], out["y"] = np.nan, np.nan
    has = out["mx"].notna().to_numpy()
    if has.any():
        back = gpd.GeoSeries(gpd.points_from_xy(out["mx"][has], out["my"][has]), crs=metric).to_crs(4326).values
        out.loc[has, "x"], out.loc[has, "y"] = shapely.get_x(back), shapely.get_y(back)
    return out[cols]


def aggregate_placed(parts: Mapping[Hashable, tuple[pd.DataFrame, str]], townships: gpd.GeoDataFrame
                     ) -> dict[Hashable, pd.DataFrame]:
    """:func:`aggregate` of each ``key: (sites, layer)``, then :func:`place`d: a township's mean position is
    computed only where :func:`place` does not put the symbol itself (the projection of every site, the
    most of the work at province scale, is spared)."""
    live = [k for k, (s, _) in parts.items() if len(s)]
    anchors = _anchors(townships) if len(live) >= 2 and len(townships) else None
    placed = set() if anchors is None else set(anchors.loc[anchors["ax"].notna(), "township"])
    out = {k: aggregate(s, layer, placed=placed) for k, (s, layer) in parts.items() if len(s)}
    place(out, townships, anchors=anchors)
    return out


def _anchors(townships: gpd.GeoDataFrame, spread: float = 0.3) -> pd.DataFrame:
    """Each township's point inside it and the distance its symbols stand from it (local metric CRS)."""
    metric = metric_crs_for(townships.total_bounds)
    polys = townships.geometry.to_crs(metric).values
    anchor = shapely.point_on_surface(polys)
    base = pd.DataFrame({"township": townships["name"].to_numpy(), "ax": shapely.get_x(anchor),
                         "ay": shapely.get_y(anchor), "d": spread * np.sqrt(shapely.area(polys))})
    base.attrs["crs"] = metric
    return base.drop_duplicates("township")


def place(aggregates: dict[str, pd.DataFrame], townships: gpd.GeoDataFrame, spread: float = 0.3, *,
          anchors: pd.DataFrame | None = None) -> None:
    """Move each township's aggregates apart, around a point inside the township (in place).

    The layers' symbols of one township would otherwise stack on one another: with ``n`` layers, layer
    ``k`` stands ``spread`` × √area from the township's representative point (local metric CRS), at
    ``90° + k·360°/n`` (the first layer above). Sites outside every township keep their mean position.
    """
    live = [k for k, a in aggregates.items() if len(a)]
    if len(live) < 2 or len(townships) == 0:
        return
    base = _anchors(townships, spread) if anchors is None else anchors  # (aggregate_placed has them)
    metric = base.attrs["crs"]
    for k, name in enumerate(live):
        a = aggregates[name]
        at = a[["township"]].merge(base, on="township", how="left")
        ok = at["ax"].notna().to_numpy()
        angle = np.pi / 2 + 2 * np.pi * k / len(live)
        x = at["ax"].to_numpy(float) + at["d"].to_numpy(float) * np.cos(angle)
        y = at["ay"].to_numpy(float) + at["d"].to_numpy(float) * np.sin(angle)
        moved = gpd.GeoSeries(gpd.points_from_xy(x[ok], y[ok]), crs=metric).to_crs(4326).values
        xs, ys = a["x"].to_numpy(float).copy(), a["y"].to_numpy(float).copy()
        xs[ok], ys[ok] = shapely.get_x(moved), shapely.get_y(moved)
        aggregates[name] = a.assign(x=xs, y=ys)


def add_aggregate(m: folium.Map, agg: pd.DataFrame, layer: str, *, largest: int | None = None,
                  name: str | None = None, show: bool = True) -> PointLayer:
    """Draw a layer's township aggregates: its shape sized by count (the count inside), coloured by share done."""
    n = agg["count"].to_numpy(float)
    top = float(largest or (n.max() if len(n) else 1)) or 1.0
    sizes = AGG_RADIUS[0] + AGG_RADIUS[1] * np.sqrt(n / top)
    idx = symbols.share_index(agg["share"].to_numpy(float))
    palette = [mm.colour for mm in symbols.RESOLVED_SHARE]
    label = LAYER_LABELS[layer]
    rows = [[t, label, f"{c:,}", f"{d:,}", f"{s:.0%}"] for t, c, d, s in
            zip(agg["township"], agg["count"].astype(int), agg["done"].astype(int), agg["share"])]
    legend = [symbols.shape_item(layer)] + symbols.share_rows(set(idx.tolist()))
    el = PointLayer(agg["x"].to_numpy(float), agg["y"].to_numpy(float), idx, palette, rows, AGG_LABELS,
                    name=name or f"{label}（按乡镇汇总）", shape=symbols.LAYER_SHAPES[layer], sizes=sizes,
                    text=[str(int(c)) for c in agg["count"]], legend=legend, cluster=False, weight=1.5, show=show)
    el.add_to(m)
    el.aggregates = agg
    return el


def for_view(gdf: gpd.GeoDataFrame, bounds, detail: float = 4000.0, *, cut: bool = False) -> gpd.GeoDataFrame:
    """``gdf`` for a view of ``bounds``: what lies within one view-width around it, simplified (display only).

    In the local metric CRS the view's span is measured, features beyond one span around the view are left
    out (one can pan that far and still see them), and detail finer than span / ``detail`` (about a pixel at
    the fitted zoom) is simplified away. ``cut`` also cuts each geometry to that window: a single polygon
    over the whole store (the riverside zone) would otherwise come whole at the view's detail.
    """
    if len(gdf) == 0:
        return gdf
    metric, (minx, miny, maxx, maxy) = _view_metric(bounds)
    span = max(maxx - minx, maxy - miny)
    window = (minx - span, miny - span, maxx + span, maxy + span)
    geoms = gdf.geometry.to_crs(metric).values
    if cut:
        geoms = shapely.clip_by_rect(geoms, *window)
    simple = shapely.simplify(geoms, span / detail, preserve_topology=True)
    keep = ~shapely.is_empty(simple) if cut else shapely.intersects(geoms, shapely.box(*window))
    return gdf[keep].set_geometry(gpd.GeoSeries(simple[keep], crs=metric).to_crs(4326).values)


def _view_metric(bounds) -> tuple:
    """The local metric CRS of a view of ``bounds`` (degrees) and the view's bounds in it."""
    metric = metric_crs_for(bounds)
    view = gpd.GeoSeries([shapely.box(*bounds)], crs=4326).to_crs(metric).values[0]
    return metric, view.bounds


def pixel_m(bounds, detail: float = 4000.0) -> float:
    """About a pixel, in metres, of a map fitted to ``bounds``: the detail :func:`for_view` keeps (a river's
    water surface narrower than this would draw under a pixel: ``layers.water.add_to(min_band_m=…)``)."""
    _, (minx, miny, maxx, maxy) = _view_metric(bounds)
    return max(maxx - minx, maxy - miny) / detail


def status_legend(layers=tuple(POINT_LAYERS)) -> list[dict]:
    """One legend for the site layers: every layer's shape, then every status colour once, with its meaning."""
    rows = []
    for layer in layers:
        rows += symbols.site_rows(layer)
    return symbols.compose(points=rows)


def overview_map(frames: dict[str, pd.DataFrame], *, sites: dict[str, pd.DataFrame],
                 events: pd.DataFrame | None = None, township: list[str] | None = None,
                 layers=ALL_LAYERS, height: int = 640, dark: bool = False, legend: bool = True,
                 water_classes: pd.DataFrame | None = None, max_points: int | None = None) -> folium.Map:
    """Draw the overview map from what the page computed.

    Parameters
    ----------
    frames : dict
        ``townships``, ``rivers``, ``waterbodies`` and ``sampling_points`` (with ``township``).
    sites : dict
        The ``enterprises``, ``kilns`` and ``farms`` as they stood on the page's date, with ``status``
        and ``township`` (``geo.progress.sites_as_of``).
    events : DataFrame, optional
        The status events up to that date (each site's history in its popup).
    township : list of str, optional
        Only sites in these townships, the map fitted to them.
    water_classes : DataFrame, optional
        The latest assessment of the sampling points (``id``, ``class``, ``meets``, ``exceeding``; optional
        ``judgment``, ``judgment_text``), shown in their popups.
    max_points : int, optional
        The point budget (default ``[map] max_points``, 5000). When the chosen layers and townships hold
        more points, each site layer is drawn as one symbol per township (sized by count, the count
        inside, coloured by the share done, :data:`layers.symbols.RESOLVED_SHARE`) and ``m.qs_aggregated``
        is True; on a store over the budget the water is drawn for the view (near it, simplified to its scale); choosing townships with fewer points draws the
        sites themselves. ``m.qs_points`` is the number of points the chosen layers hold.
    """
    tw = frames["townships"]
    focus = tw[tw["name"].isin(township)] if township else tw
    m = mapview.new_map(focus.total_bounds if len(focus) else None, height=height, dark=dark)
    approximate = bool(tw.get("approximate", pd.Series([False])).fillna(False).any())
    geography, drawn = [], []
    if "townships" in layers:
        townships.add_to(m, tw, dark=dark, label_cls="")
        geography += townships.legend_items(approximate, dark=dark)
    limit = max_points if max_points is not None else globals()["max_points"]()
    m.qs_points = points_to_draw(sites, frames.get("sampling_points"), township=township, layers=layers)
    m.qs_aggregated = m.qs_points > limit
    # A large store (more points than the budget in all): its water is drawn for the scale of the view.
    large = m.qs_aggregated or points_to_draw(sites, frames.get("sampling_points")) > limit
    if "water" in layers:
        rivers, waterbodies = frames["rivers"], frames["waterbodies"]
        if large and len(focus):
            rivers, waterbodies = for_view(rivers, focus.total_bounds), for_view(waterbodies, focus.total_bounds)
        water.add_to(m, rivers, waterbodies, min_band_m=pixel_m(focus.total_bounds) if large and len(focus) else 0.0)
        geography += water.legend_items()
    parts = {}
    for name, module in POINT_LAYERS.items():
        if name not in layers:
            continue
        shown = sites[name]
        if township:
            shown = shown[shown["township"].isin(township)]
        if m.qs_aggregated:
            parts[name] = (shown, name)
        else:
            drawn.append(module.add_to(m, shown, events=events))
    aggregates = aggregate_placed(parts, tw) if parts else {}
    if aggregates:  # one size scale for every layer: the largest count of any layer's township
        largest = max((int(a["count"].max()) for a in aggregates.values() if len(a)), default=1)
        drawn += [add_aggregate(m, a, name, largest=largest) for name, a in aggregates.items()]
    if "sampling_points" in layers:
        pts = frames["sampling_points"]
        if township:
            pts = pts[pts["township"].isin(township)]
        if water_classes is not None and len(water_classes):
            cols = [c for c in ("id", "class", "meets", "exceeding", "judgment", "judgment_text")
                    if c in water_classes.columns]
            pts = pts.merge(water_classes[cols], on="id", how="left")
        # Sections and outfalls in their own shapes, hollow: their colours would clash with the site statuses.
        drawn.append(sampling_points.add_to(m, pts, class_col="class" if "class" in pts.columns else None,
                                             coloured=False))
    if legend:
        rows = [r for layer in drawn for r in layer.legend]
        extra = [symbols.aggregate_item()] if aggregates else []
        Legend("图例", symbols.compose(geography=geography, points=rows, extra=extra,
                                       colour_title="完成比例（颜色）" if aggregates else "状态（颜色）",
                                       cluster=True)).add_to(m)
    mapview.layer_control(m)
    return m
