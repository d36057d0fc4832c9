"""Enterprises layer (企业): chemical plants of the park and the "five small" enterprises."""
from __future__ import annotations

from .sites import add_sites, colours_for, legend_items_for

LAYER = "enterprises"
LABEL = "企业"
COLORS = colours_for(LAYER)
FIELDS = [("id", "编号"), ("industry", "行业"), ("status", "状态"), ("township", "乡镇（街道）"),
          ("park", "所在园区"), ("deadline", "整改期限"), ("closed_on", "关停日期"),
          ("department", "结对部门"), ("destination", "搬迁去向")]


def legend_items():
    return legend_items_for(LAYER)


def add_to(m, gdf, *, events=None, name=None, highlight=None, show=True, radius=7):
    return add_sites(m, gdf, LAYER, FIELDS, events=events, name=name or LABEL, radius=radius,
                     highlight=highlight, show=show)
