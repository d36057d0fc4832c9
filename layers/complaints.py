"""Complaints layer (信访投诉): one pin per complaint, coloured by its handling state on the page's day.

The layer draws what it is given: complaints with a ``state`` column
(``overdue`` / ``due_today`` / ``open`` / ``handled``, from
:func:`geo.complaints.handling_state`); it never decides which complaint is
overdue. Sensitive complaints get a black ring; a complaint linked to a site
links to that site's file from its popup.
"""
from __future__ import annotations

import folium
import numpy as np
import pandas as pd
import shapely

from geo.contract import CATEGORY_LABELS, CHANNEL_LABELS, LAYER_LABELS
from geo.contract import COMPLAINT_STATE_LABELS as STATE_LABELS

from . import symbols
from .base import PointLayer, colour_index, text

LAYER = "complaints"
LABEL = "信访投诉"
#: The one symbol language (layers/symbols.py): a pin, coloured by where the handling stands.
COLOURS = {"overdue": symbols.COMPLAINT["overdue"].colour, "due_today": symbols.COMPLAINT["due_today"].colour,
           "open": symbols.COMPLAINT["open"].colour, "handled": symbols.COMPLAINT["on_time"].colour}
POPUP_LABELS = ["编号", "办理状态", "受理日期", "来源渠道", "污染类别", "投诉内容", "办结期限", "办结日期", "敏感件", "关联点位"]
#: drawn last = on top: the pins that need action cover the settled ones
DRAW_ORDER = {"handled": 0, "open": 1, "due_today": 2, "overdue": 3}
SUMMARY_CHARS = 80


def legend_items(counts: dict[str, int] | None = None) -> list[tuple[str, str, str]]:
    """Legend entries, with the number of pins per state when ``counts`` is given."""
    items = []
    for k, c in COLOURS.items():
        label = STATE_LABELS[k] if counts is None else f"{STATE_LABELS[k]}（{int(counts.get(k, 0))}）"
        items.append((label, c, "pin"))
    return items + [("敏感件（黑圈）", "#000000", "ring")]


def _short(v) -> str | None:
    t = text(v)
    return t if t is None or len(t) <= SUMMARY_CHARS else t[:SUMMARY_CHARS] + "…"


def add_to(m: folium.Map, complaints: pd.DataFrame, *, name: str = LABEL, radius: float = 7,
           show: bool = True) -> PointLayer | None:
    """Add ``complaints`` (with ``state``) as one point layer; ``None`` when there is nothing to draw.

    Parameters
    ----------
    m : folium.Map
    complaints : GeoDataFrame
        Rows of the ``complaints`` table (points in WGS84) plus ``state``; rows without a state (received
        after the day) or without a point are left out.
    name, radius, show
        Layer name in the layer control, marker radius in pixels, visible when the map opens.
    """
    c = complaints[complaints["state"].isin(list(COLOURS))]
    geoms = c.geometry.values
    c = c[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(c) == 0:
        return None
    c = c.iloc[np.argsort(c["state"].map(DRAW_ORDER).to_numpy(), kind="stable")]
    idx, palette = colour_index(c["state"], COLOURS)
    layers = c["layer"].tolist()
    fids = c["feature_id"].tolist()
    site_text = [f"{LAYER_LABELS.get(lay, '')} {fid}" if isinstance(fid, str) and fid else None
                 for lay, fid in zip(layers, fids)]
    columns = [
        [text(v) for v in c["id"]], [STATE_LABELS[s] for s in c["state"]],
        [text(v) for v in c["received_on"]], [CHANNEL_LABELS.get(v, text(v)) for v in c["channel"]],
        [CATEGORY_LABELS.get(v, text(v)) for v in c["category"]], [_short(v) for v in c["summary"]],
        [text(v) for v in c["due_on"]], [text(v) for v in c["handled_on"]],
        ["是" if bool(v) else "否" for v in c["sensitive"].fillna(False)], site_text,
    ]
    rows = [list(r) for r in zip(*columns)]
    sites = [(lay, fid) if isinstance(fid, str) and fid and lay in LAYER_LABELS else None
             for lay, fid in zip(layers, fids)]
    pts = c.geometry.values
    layer = PointLayer(shapely.get_x(pts), shapely.get_y(pts), idx, palette, rows, POPUP_LABELS, name=name,
                       radius=radius, stroke="#ffffff", title=0, tip=5,
                       highlight=c["sensitive"].fillna(False).astype(bool).tolist(), sites=sites, show=show,
                       shape=symbols.LAYER_SHAPES[LAYER], rings=[("#000000", False)])
    layer.add_to(m)
    return layer
