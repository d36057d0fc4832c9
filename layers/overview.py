"""The overview map: townships, water and the four point layers, as they stood on a date."""
from __future__ import annotations

import folium
import pandas as pd

from geo.history import sites_on
from geo.spatial import with_township

from . import enterprises, farms, kilns, mapview, sampling_points, townships, water
from .base import Legend
from .sites import STATUS_COLOURS

POINT_LAYERS = {"enterprises": enterprises, "kilns": kilns, "farms": farms}
ALL_LAYERS = ("townships", "water", "enterprises", "kilns", "farms", "sampling_points")


def status_legend() -> list[tuple[str, str, str]]:
    """One legend for the site layers: every status colour once, with its meaning."""
    seen = {}
    labels = {"#D55E00": "在产 / 在养", "#E69F00": "已签承诺 / 治理中", "#F0E442": "停产整顿",
              "#009E73": "已关停", "#0072B2": "已搬迁", "#56B4E9": "已转产 / 已验收", "#CC79A7": "已改建"}
    for colour in STATUS_COLOURS.values():
        seen.setdefault(colour, labels[colour])
    return [(lab, c, "circle") for c, lab in seen.items()]


def overview_map(frames: dict[str, pd.DataFrame], *, as_of=None, township: list[str] | None = None,
                 layers=ALL_LAYERS, height: int = 640, dark: bool = False, legend: bool = True) -> folium.Map:
    """Build the overview map from store ``frames`` (a dict of tables).

    ``as_of``: sites with their status on that date (from ``status_events``);
    ``township``: only sites in these townships, map fitted to them.
    """
    tw = frames["townships"]
    events = frames.get("status_events")
    focus = tw[tw["name"].isin(township)] if township else tw
    m = mapview.new_map(focus.total_bounds if len(focus) else None, height=height, dark=dark)
    if "townships" in layers:
        approximate = bool(tw.get("approximate", pd.Series([False])).fillna(False).any())
        townships.add_to(m, tw, dark=dark, label_cls="")
    if "water" in layers:
        water.add_to(m, frames["rivers"], frames["waterbodies"])
    for name, module in POINT_LAYERS.items():
        if name not in layers:
            continue
        sites = sites_on(frames[name], events, name, as_of) if as_of is not None else frames[name]
        sites = with_township(sites, tw)
        if township:
            sites = sites[sites["township"].isin(township)]
        module.add_to(m, sites, events=_events_until(events, as_of))
    if "sampling_points" in layers:
        pts = with_township(frames["sampling_points"], tw)
        if township:
            pts = pts[pts["township"].isin(township)]
        sampling_points.add_to(m, pts, class_col="class" if "class" in pts.columns else None)
    if legend:
        items = []
        if "townships" in layers:
            items += townships.legend_items(approximate if "townships" in layers else False)
        if "water" in layers:
            items += water.legend_items()
        if any(n in layers for n in POINT_LAYERS):
            items += status_legend()
        if "sampling_points" in layers:
            items += sampling_points.legend_items(by_class=False)
        Legend("图例", items).add_to(m)
    mapview.layer_control(m)
    return m


def _events_until(events, as_of):
    if events is None or as_of is None:
        return events
    return events[events["effective_on"] <= pd.Timestamp(as_of)]
