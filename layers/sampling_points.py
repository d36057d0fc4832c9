"""Water sampling points layer (水质监测点): a section is a diamond, an outfall a down-pointing triangle.

Sections are coloured by their GB 3838-2002 class when the page passes one.
Outfalls are judged by their discharge limit, not by a surface-water class:
when the page passes a ``judgment`` column (``pass``/``fail``, 达标/超标 or
True/False) an outfall is coloured by it, with ``judgment_text`` (e.g. the
超标倍数) in its popup; without one it is coloured by class like a section.
"""
from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import symbols
from .base import PointLayer, text

LAYER = "sampling_points"
LABEL = "水质监测点"
#: GB 3838-2002 class → colour (from the one palette in layers.symbols)
CLASS_COLOURS = {k: m.colour for k, m in symbols.WATER_CLASS.items()}
CLASS_LABELS = {k: m.label for k, m in symbols.WATER_CLASS.items()}
KIND_LABELS = {"section": "监测断面", "outfall": "排污口"}
COLORS = CLASS_COLOURS
#: The ring around a point that misses its target or limit, and its legend row.
FAIL_RING = symbols.PALETTE["vermillion"]
FAIL_LABEL = "未达标（红圈）"
_PASS = {"pass", "达标", "true", "1", "yes"}
_FAIL = {"fail", "超标", "false", "0", "no"}


def judgment_code(v) -> str | None:
    """``pass`` / ``fail`` / None from a judgment cell (codes, 达标/超标, or booleans)."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    t = str(v).strip().lower()
    return "pass" if t in _PASS else ("fail" if t in _FAIL else None)


def legend_items(by_class: bool = True, judgment: bool = False) -> list[dict]:
    """Legend rows: both shapes, then the class colours (and the outfall judgment colours)."""
    rows = [symbols.shape_item("section"), symbols.shape_item("outfall")]
    if by_class:
        rows += [symbols.colour_item(m.label, m.colour) for m in symbols.WATER_CLASS.values()]
    if judgment:
        rows += [symbols.colour_item(m.label, m.colour) for m in symbols.OUTFALL.values()]
    if by_class or judgment:
        rows.append(symbols.no_data_item())
    return rows


def _class(v) -> int:
    return int(v) if v is not None and v == v else -1


def add_to(m: folium.Map, gdf: gpd.GeoDataFrame, *, class_col: str | None = None, name: str | None = None,
           show: bool = True, radius: float = 8, highlight=None, cluster: bool = True, coloured: bool = True):
    """Draw sampling points in their kind's shape; with ``class_col`` (1–6) coloured by water class.

    ``coloured=False`` draws them hollow (shape only) but keeps the class and
    judgment in the popups: for maps whose colours already mean site statuses.

    Optional columns shown in the popup: ``meets`` (the class meets the
    target), ``exceeding`` (parameters over the target), ``judgment`` and
    ``judgment_text`` (outfalls).
    """
    g = gdf.copy()
    kind = g["kind"].where(g["kind"].isin(list(KIND_LABELS)), "section")
    g["kind_label"] = g["kind"].map(KIND_LABELS).fillna(g["kind"])
    g["target_label"] = g["target_class"].map(lambda c: CLASS_LABELS.get(_class(c), ""))
    judged = "judgment" in g.columns
    # lists, not Series.map: pandas would turn a None result back into NaN (truthy)
    codes = [judgment_code(v) for v in g["judgment"]] if judged else [None] * len(g)
    by_class = bool(class_col and class_col in g.columns)
    classes = g[class_col].map(_class) if by_class else pd.Series(-1, index=g.index)
    legend = [symbols.shape_item(k) for k in dict.fromkeys(kind)]
    # colour per point: an outfall's judgment when given, else the class, else hollow (shape only)
    palette: list[str] = []
    meanings: dict[str, dict] = {}

    def colour(col: str, row: dict | None) -> int:
        if col not in palette:
            palette.append(col)
        if row is not None:
            meanings.setdefault(col, row)
        return palette.index(col)

    idx = []
    for k, c, j in zip(kind, classes, codes):
        if not coloured:
            idx.append(colour(symbols.HOLLOW, None))
        elif k == "outfall" and judged:
            mn = symbols.OUTFALL.get(j)
            idx.append(colour(mn.colour, symbols.colour_item(mn.label, mn.colour)) if mn else
                       colour(symbols.NO_DATA, symbols.no_data_item()))
        elif by_class:
            mn = symbols.WATER_CLASS.get(c)
            idx.append(colour(mn.colour, symbols.colour_item(mn.label, mn.colour)) if mn else
                       colour(symbols.NO_DATA, symbols.no_data_item()))
        else:
            idx.append(colour(symbols.HOLLOW, None))
    order = [m_.colour for m_ in symbols.WATER_CLASS.values()] + [m_.colour for m_ in symbols.OUTFALL.values()] + \
        [symbols.NO_DATA]
    legend += [meanings[c] for c in order if c in meanings]
    # 未达标 said by a ring, not only by the colour: a Ⅲ-class section with a Ⅱ target is Ⅲ green yet fails
    fails = failing(g, kind, codes) if coloured and highlight is None else None
    ring = None
    if fails is not None and fails.any():
        ring = np.where(fails, 0, -1).tolist()
        legend.append(symbols.ring_item(FAIL_LABEL, FAIL_RING))

    if by_class:
        g["class_label"] = classes.map(lambda c: CLASS_LABELS.get(c, symbols.NO_DATA_LABEL))
        g["verdict"] = _verdicts(g, classes)
    if "exceeding" in g.columns:
        g["exceeding"] = [text(v) or None for v in g["exceeding"]]
    if judged:
        note = [text(v) for v in g["judgment_text"]] if "judgment_text" in g.columns else [None] * len(g)
        g["judgment_label"] = [None if k != "outfall" else
                               (("达标" if j == "pass" else "超标") + (f"（{t}）" if t else "") if j else "无数据")
                               for k, j, t in zip(kind, codes, note)]
    fields = [("id", "编号"), ("kind_label", "类型"), ("class_label", "水质类别"), ("target_label", "目标类别"),
              ("verdict", "评价"), ("exceeding", "超标项目（倍数）"), ("judgment_label", "排放判定"),
              ("township", "乡镇（街道）")]
    fields = [(c, lab) for c, lab in fields if c in g.columns]
    columns = [[text(v) for v in g[c].tolist()] for c in ["name"] + [c for c, _ in fields]]
    rows = [list(r) for r in zip(*columns)] if len(g) else []
    pts = g.geometry.values
    # an outfall's file is the file of the enterprise it drains (sections have none)
    owner = g["feature_id"] if "feature_id" in g.columns else [None] * len(g)
    sites = [("enterprises", o) if k == "outfall" and isinstance(o, str) and o else None
             for k, o in zip(g["kind"], owner)]
    el = PointLayer(shapely.get_x(pts), shapely.get_y(pts), idx, palette, rows, ["名称"] + [lab for _, lab in fields],
                    name=name or LABEL, radius=radius, stroke="#111111", highlight=highlight, sites=sites, show=show,
                    shape=[symbols.LAYER_SHAPES[k] for k in kind], cluster=cluster, legend=legend,
                    ring=ring, rings=[(FAIL_RING, False)] if ring is not None else None)
    el.add_to(m)
    return el


def failing(g: pd.DataFrame, kind: pd.Series, codes: list) -> np.ndarray:
    """Points that miss what they are judged against: a section whose class misses its target (``meets`` is
    False), an outfall judged 超标; a point without data is not marked."""
    meets = g["meets"] if "meets" in g.columns else pd.Series(pd.NA, index=g.index, dtype="boolean")
    section_fails = (kind.to_numpy() != "outfall") & meets.astype("boolean").eq(False).fillna(False).to_numpy()
    outfall_fails = (kind.to_numpy() == "outfall") & np.array([c == "fail" for c in codes], dtype=bool)
    return section_fails | outfall_fails


def _verdicts(g: pd.DataFrame, classes: pd.Series) -> list[str | None]:
    """``Ⅳ类，目标Ⅲ类：未达标`` for sections with a class; outfalls are judged by their discharge limit."""
    out = []
    meets = g["meets"] if "meets" in g.columns else pd.Series(None, index=g.index, dtype=object)
    for k, c, t, ok in zip(g["kind"], classes, g["target_class"], meets):
        if k == "outfall" or c < 0 or c not in CLASS_LABELS:
            out.append(None)
            continue
        target = _class(t)
        if ok is None or ok is pd.NA or (isinstance(ok, float) and np.isnan(ok)):
            ok = c <= target if target > 0 else None
        word = "" if ok is None else ("达标" if ok else "未达标")
        tgt = f"，目标{CLASS_LABELS[target]}" if target in CLASS_LABELS else ""
        out.append(f"{CLASS_LABELS[c]}{tgt}：{word}" if word else f"{CLASS_LABELS[c]}{tgt}")
    return out
