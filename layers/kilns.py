"""Lime kilns and lime-calcium sheds layer (石灰窑、石灰钙棚)."""
from __future__ import annotations

from .sites import add_sites, colours_for, legend_items_for

LAYER = "kilns"
LABEL = "石灰窑（棚）"
COLORS = colours_for(LAYER)
KIND_LABELS = {"kiln": "石灰窑", "shed": "石灰钙棚"}
FIELDS = [("id", "编号"), ("kind_label", "类型"), ("village", "所属村"), ("status", "状态"),
          ("township", "乡镇（街道）"), ("closed_on", "关停日期")]


def legend_items():
    return legend_items_for(LAYER)


def add_to(m, gdf, *, events=None, name=None, highlight=None, show=True, radius=4.5):
    gdf = gdf.assign(kind_label=gdf["kind"].map(KIND_LABELS).fillna(gdf["kind"]))
    return add_sites(m, gdf, LAYER, FIELDS, events=events, name=name or LABEL, radius=radius,
                     highlight=highlight, show=show)
