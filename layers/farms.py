"""Livestock farms layer (养殖场)."""
from __future__ import annotations

from .sites import add_sites, colours_for, legend_items_for

LAYER = "farms"
LABEL = "养殖场"
COLORS = colours_for(LAYER)
FIELDS = [("id", "编号"), ("species", "畜种"), ("head_count", "存栏量（头/羽）"), ("status", "状态"),
          ("township", "乡镇（街道）"), ("deadline", "整改期限"), ("distance_m", "距水体（米）"),
          ("water_name", "最近水体")]


def legend_items():
    return legend_items_for(LAYER)


def add_to(m, gdf, *, events=None, name=None, highlight=None, show=True, radius=6):
    return add_sites(m, gdf, LAYER, FIELDS, events=events, name=name or LABEL, radius=radius,
                     highlight=highlight, show=show)
