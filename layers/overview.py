"""The overview map: townships, water and the four point layers, as they stood on a date."""
from __future__ import annotations

import folium
import pandas as pd

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


def overview_map(frames: dict[str, pd.DataFrame], *, sites: dict[str, pd.DataFrame],
                 events: pd.DataFrame | None = None, township: list[str] | None = None,
                 layers=ALL_LAYERS, height: int = 640, dark: bool = False, legend: bool = True) -> folium.Map:
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
    """
    tw = frames["townships"]
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
        shown = sites[name]
        if township:
            shown = shown[shown["township"].isin(township)]
        module.add_to(m, shown, events=events)
    if "sampling_points" in layers:
        pts = frames["sampling_points"]
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
