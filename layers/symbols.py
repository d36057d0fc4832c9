"""The one symbol language of every map: shape by layer, colour by status or judgment, one legend builder.

Every map (overview, buffer, water, patrol, wall) draws its points from these
tables and builds its legend from the same tables, so a legend cannot
disagree with the drawing:

- **shape** says *what* a point is (:data:`LAYER_SHAPES`): enterprise square,
  kiln triangle, farm circle, section diamond, outfall down-pointing triangle
  (a discharge into the water), complaint pin, patrol depot house. Shapes are
  SVG path data in a unit box (a circle of radius 1; equal areas, so no layer
  looks bigger than another); ``web/qmap.js`` draws exactly these paths on the
  map canvas, in legends and in cluster icons.
- **colour** says *how it stands* (:data:`STATUS`, :data:`WATER_CLASS`,
  :data:`OUTFALL`): every colour comes from the Okabe–Ito palette
  (:data:`PALETTE`), distinguishable with the common colour-vision
  deficiencies; vermillion is always the worst state, bluish green done or
  good. Geography (townships, water, the buffer zone) has its own muted
  colours, far from every palette colour (:data:`GEOGRAPHY`).
- a **ring** around a symbol marks a highlight (a riverside violation, the
  chosen point), never a cover: the symbol stays readable inside it.

A legend lists shapes drawn hollow (they mean a layer, not a colour), then one
colour chip per meaning; :func:`check_legend` refuses a legend that gives one
colour two meanings.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from geo.contract import LAYER_LABELS, STATUS as LAYER_STATUSES, status_label

#: Okabe & Ito (2008), "Color Universal Design": the palette every status and judgment colour comes from.
PALETTE = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
#: Not judged yet (no sampling, unknown status): a neutral grey, never a palette colour.
NO_DATA = "#999999"
NO_DATA_LABEL = "无数据"
#: Fill of a point drawn for its shape only (no status passed), and of a passing outfall.
HOLLOW = "#FFFFFF"

#: Geography, muted and far (CIE ΔE ≥ 15) from every palette colour, so a river never reads as a status.
GEOGRAPHY = {
    "township": "#3d5a45",  # township outlines (dark green-grey)
    "township_dark": "#bcc9b8",  # the same on the dark wall (light sage)
    "river": "#6a8caf",  # river centre lines (steel blue)
    "river_dark": "#7fa7c9",
    "water": "#a6cee3",  # water surfaces: wide rivers, reservoirs, lakes
    "zone": "#d9b77e",  # the display-only zone within D metres of water (sand)
}


@dataclass(frozen=True)
class Shape:
    """A marker shape: SVG path data around (0, 0) in units of the marker radius.

    ``extent`` is the farthest the path reaches from (0, 0) (for redraw bounds
    and rings); ``tip`` shapes (the pin) stand on their point instead of being
    centred on it.
    """

    name: str
    label: str
    path: str
    extent: float
    tip: bool = False


def _poly(points: Sequence[tuple[float, float]]) -> str:
    return "M" + "L".join(f"{x:g},{y:g}" for x, y in points) + "Z"


# Equal areas (π, a unit circle's): a square of half-side √π/2 ≈ 0.886, a diamond of half-diagonal ≈ 1.253,
# an equilateral triangle of circumradius ≈ 1.555 (drawn at 1.45: its corners already carry it further).
SHAPES: dict[str, Shape] = {s.name: s for s in (
    Shape("circle", "圆形", "M1,0A1,1 0 1,1 -1,0A1,1 0 1,1 1,0Z", 1.0),
    Shape("square", "方形", _poly([(-0.886, -0.886), (0.886, -0.886), (0.886, 0.886), (-0.886, 0.886)]), 1.253),
    Shape("triangle", "三角形", _poly([(0, -1.45), (1.256, 0.725), (-1.256, 0.725)]), 1.45),
    Shape("triangle_down", "倒三角形", _poly([(0, 1.45), (1.256, -0.725), (-1.256, -0.725)]), 1.45),
    Shape("diamond", "菱形", _poly([(0, -1.253), (1.253, 0), (0, 1.253), (-1.253, 0)]), 1.253),
    # A map pin standing on its tip at (0, 0), with a hole (even-odd fill).
    Shape("pin", "图钉", "M0,0C-0.35,-0.7 -1.05,-1.35 -1.05,-2.05A1.05,1.05 0 1,1 1.05,-2.05"
                         "C1.05,-1.35 0.35,-0.7 0,0ZM0.4,-2.05A0.4,0.4 0 1,0 -0.4,-2.05A0.4,0.4 0 1,0 0.4,-2.05Z",
          3.1, tip=True),
    # A house with a door (even-odd fill): the patrol teams' depot.
    Shape("house", "房屋", "M-1.25,1.15V-0.2L0,-1.35L1.25,-0.2V1.15H0.38V0.3H-0.38V1.15Z", 1.4),
)}

#: What each point layer is drawn as. Sampling points split by kind: a section is the river, an outfall a source.
LAYER_SHAPES = {
    "enterprises": "square", "kilns": "triangle", "farms": "circle",
    "section": "diamond", "outfall": "triangle_down",
    "complaints": "pin", "depot": "house",
}
LAYER_SYMBOL_LABELS = {
    "enterprises": LAYER_LABELS["enterprises"], "kilns": LAYER_LABELS["kilns"], "farms": LAYER_LABELS["farms"],
    "section": "监测断面", "outfall": "排污口", "complaints": "信访投诉", "depot": "驻地（出发/返回）",
}


@dataclass(frozen=True)
class Meaning:
    """One colour and what it means; ``codes`` are the data values it stands for."""

    colour: str
    label: str
    codes: tuple = ()


# Site status → colour. Statuses of one colour are one meaning (e.g. committed and treating: "work under way").
STATUS_COLOURS = {
    "operating": PALETTE["vermillion"],  # still producing: the problem
    "committed": PALETTE["orange"], "treating": PALETTE["orange"],  # under way
    "suspended": PALETTE["yellow"],
    "closed": PALETTE["green"],  # done
    "relocated": PALETTE["blue"],
    "converted": PALETTE["sky"], "accepted": PALETTE["sky"],
    "rebuilt": PALETTE["purple"],
}

#: GB 3838-2002 class → colour: the customary blue–green–yellow–orange–red order, in Okabe–Ito colours.
WATER_CLASS = {
    1: Meaning(PALETTE["blue"], "Ⅰ类", (1,)), 2: Meaning(PALETTE["sky"], "Ⅱ类", (2,)),
    3: Meaning(PALETTE["green"], "Ⅲ类", (3,)), 4: Meaning(PALETTE["yellow"], "Ⅳ类", (4,)),
    5: Meaning(PALETTE["orange"], "Ⅴ类", (5,)), 6: Meaning(PALETTE["vermillion"], "劣Ⅴ类", (6,)),
}
#: An outfall is judged by its discharge limit (达标/超标), not by a surface-water class. Purple and white: no
#: class colour, so one water map can show both.
OUTFALL = {
    "pass": Meaning(HOLLOW, "排污口达标", ("pass",)),
    "fail": Meaning(PALETTE["purple"], "排污口超标", ("fail",)),
}

#: A complaint (信访投诉, a pin where the problem is) by where its handling stands on the map's date.
COMPLAINT = {
    "overdue": Meaning(PALETTE["vermillion"], "逾期未办结", ("overdue",)),
    "due_today": Meaning(PALETTE["orange"], "今日到期", ("due_today",)),
    "open": Meaning(PALETTE["yellow"], "办理中", ("open",)),
    "late": Meaning(PALETTE["purple"], "逾期办结", ("late",)),
    "on_time": Meaning(PALETTE["green"], "按期办结", ("on_time",)),
}

#: Rings (highlights around a symbol) on light and dark maps.
RING = {"light": PALETTE["black"], "dark": "#FFFFFF"}
#: A second kind of highlight on the same map (e.g. sites a stricter limit would add).
RING_SECOND = PALETTE["blue"]


def shape_of(layer: str) -> Shape:
    """The shape of a point layer (``enterprises`` … or a sampling point kind ``section`` / ``outfall``)."""
    return SHAPES[LAYER_SHAPES[layer]]


def status_meanings(layers: Iterable[str], present: Iterable[str] | None = None) -> list[Meaning]:
    """Status colours of ``layers`` as meanings, one per colour, in palette order of the first status.

    Statuses sharing a colour share one entry whose label joins their Chinese
    labels (``在产 / 在养``); ``present`` keeps only statuses actually drawn.
    """
    keep = set(present) if present is not None else None
    by_colour: dict[str, list] = {}
    for layer in layers:
        for s in LAYER_STATUSES.get(layer, ()):
            if keep is not None and s not in keep:
                continue
            labels, codes = by_colour.setdefault(STATUS_COLOURS[s], ([], []))
            lab = status_label(s, layer)
            if lab not in labels:
                labels.append(lab)
            if s not in codes:
                codes.append(s)
    order = list(dict.fromkeys(STATUS_COLOURS.values()))
    return [Meaning(c, " / ".join(by_colour[c][0]), tuple(by_colour[c][1])) for c in order if c in by_colour]


def status_colours(layer: str) -> dict[str, str]:
    """Status code → colour for one site layer."""
    return {s: STATUS_COLOURS[s] for s in LAYER_STATUSES[layer]}


# --- legends ------------------------------------------------------------------------------------------------

def shape_item(layer: str, label: str | None = None) -> dict:
    """A legend row for a layer's shape, drawn hollow: it names a layer, not a colour."""
    s = shape_of(layer)
    return {"label": label or LAYER_SYMBOL_LABELS[layer], "swatch": "shape", "role": "shape", "shape": s.name,
            "path": s.path, "tip": s.tip, "colour": None}


def colour_item(label: str, colour: str, shape: str | None = None) -> dict:
    """A legend row for one colour meaning: a chip (or ``shape`` filled with the colour)."""
    item = {"label": label, "swatch": "chip", "role": "colour", "colour": colour}
    if shape:
        s = SHAPES[shape]
        item.update(swatch="shape", shape=s.name, path=s.path, tip=s.tip)
    return item


def ring_item(label: str, colour: str, dashed: bool = False) -> dict:
    return {"label": label, "swatch": "ring", "role": "colour", "colour": colour, "dashed": dashed}


def line_item(label: str, colour: str) -> dict:
    return {"label": label, "swatch": "line", "role": "colour", "colour": colour}


def fill_item(label: str, colour: str) -> dict:
    return {"label": label, "swatch": "fill", "role": "colour", "colour": colour}


def icon_item(layer: str, colour: str, label: str | None = None) -> dict:
    """A legend row for an icon drawn in one fixed colour (the depot)."""
    s = shape_of(layer)
    return {"label": label or LAYER_SYMBOL_LABELS[layer], "swatch": "shape", "role": "icon", "shape": s.name,
            "path": s.path, "tip": s.tip, "colour": colour}


def cluster_item() -> dict:
    """The legend row explaining clusters (a count of overlapping points; zoom in to see them)."""
    return {"label": "数字：此处重叠的点位数（放大后展开）", "swatch": "cluster", "role": "note", "colour": None}


def meaning_items(meanings: Iterable[Meaning]) -> list[dict]:
    return [colour_item(m.label, m.colour) for m in meanings]


def no_data_item() -> dict:
    return colour_item(NO_DATA_LABEL, NO_DATA)


def as_item(item) -> dict:
    """A legend row from a dict, or from the older ``(label, colour, kind)`` tuple (kind circle|ring|line|fill)."""
    if isinstance(item, dict):
        return item
    label, colour, kind = item
    if kind == "line":
        return line_item(label, colour)
    if kind == "fill":
        return fill_item(label, colour)
    if kind == "ring":
        return ring_item(label, colour)
    return colour_item(label, colour, "circle" if kind == "circle" else None)


def check_legend(items: Iterable) -> list[dict]:
    """The legend rows as dicts; raises ``ValueError`` if one colour is given two meanings.

    Shape rows (hollow) carry no colour. Everything else — chips, rings, lines,
    fills, icons — claims its colour for one label.
    """
    rows = [as_item(i) for i in items]
    seen: dict[str, str] = {}
    for r in rows:
        c = r.get("colour")
        if r["role"] in ("shape", "note") or not c:
            continue
        key = c.upper()
        if key in seen and seen[key] != r["label"]:
            raise ValueError(f"legend colour {c} means both {seen[key]!r} and {r['label']!r}")
        seen[key] = r["label"]
    return rows


def heading(label: str) -> dict:
    return {"label": label, "swatch": "heading", "role": "note", "colour": None}


def merge(rows: Iterable[dict]) -> list[dict]:
    """Rows of several layers as one list: identical rows once, and rows of one scale with one colour joined.

    Two layers' status rows of one colour (企业 在产, 养殖场 在养) become one row
    ``在产 / 在养``; rows of *different* scales with one colour are kept apart, so
    :func:`check_legend` refuses them.
    """
    out: list[dict] = []
    index: dict[tuple, int] = {}
    for r in rows:
        r = as_item(r)
        if r["role"] == "shape":
            key = ("shape", r["shape"], r["label"])
        elif r.get("scale") and r.get("colour"):
            key = ("scale", r["scale"], r["colour"].upper(), r["swatch"])
        else:
            key = ("row", r["swatch"], r["role"], (r.get("colour") or "").upper(), r["label"])
        if key in index:
            prev = out[index[key]]
            if key[0] == "scale" and r["label"] not in prev["label"].split(" / "):
                out[index[key]] = {**prev, "label": prev["label"] + " / " + r["label"]}
            continue
        index[key] = len(out)
        out.append(dict(r))
    return out


def compose(*, geography: Iterable = (), points: Iterable = (), extra: Iterable = (),
            colour_title: str = "状态（颜色）", cluster: bool = False) -> list[dict]:
    """A legend: geography, then the shapes of the point layers, then their colour meanings, then ``extra``.

    ``points`` are the rows of the drawn point layers (``PointLayer.legend``),
    so the legend lists the shapes and colours the map draws and nothing else.
    """
    rows = merge(points)
    shapes = [r for r in rows if r["role"] == "shape"]
    # status colours in the palette's order (worst first), whatever order the layers were drawn in
    order = list(dict.fromkeys(STATUS_COLOURS.values()))
    status = sorted((r for r in rows if r.get("scale") == "status"), key=lambda r: order.index(r["colour"]))
    colours = status + [r for r in rows if r["role"] != "shape" and r.get("scale") != "status"]
    out: list[dict] = []
    geography = [as_item(g) for g in geography]
    if geography:
        out += [heading("边界与水体"), *geography]
    if shapes:
        out += [heading("类别（形状）"), *shapes]
    more = [as_item(e) for e in extra]
    if colours or more:
        out += [heading(colour_title), *colours, *more]
    if cluster:
        out.append(cluster_item())
    return check_legend(out)


def complaint_rows(present: Iterable[str] | None = None) -> list[dict]:
    """Legend rows of a complaints layer: the pin, then the handling colours (only ``present`` ones if given)."""
    keep = set(present) if present is not None else set(COMPLAINT)
    return [shape_item("complaints")] + [{**colour_item(m.label, m.colour), "scale": "complaint"}
                                         for k, m in COMPLAINT.items() if k in keep]


def site_rows(layer: str, present: Iterable[str] | None = None) -> list[dict]:
    """Legend rows of a site layer: its shape, then its status colours (only ``present`` ones if given)."""
    rows = [shape_item(layer)]
    for m in status_meanings([layer], present):
        for code in m.codes:  # one row per layer label so that merge() joins 在产 / 在养 across layers
            rows.append({**colour_item(status_label(code, layer), m.colour), "scale": "status"})
    return rows


def svg(layer_or_shape: str, fill: str = HOLLOW, stroke: str = "#222222", px: int = 14) -> str:
    """The shape as an inline ``<svg>`` (for folium icons built in Python): the same path the canvas draws."""
    s = SHAPES.get(layer_or_shape) or shape_of(layer_or_shape)
    box = "-1.6 -3.25 3.2 3.4" if s.tip else "-1.6 -1.6 3.2 3.2"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{box}" width="{px}" height="{px}" '
            f'style="overflow:visible;display:block"><path d="{s.path}" fill="{fill}" fill-rule="evenodd" '
            f'stroke="{stroke}" stroke-width="1.3" vector-effect="non-scaling-stroke"/></svg>')


#: An aggregate symbol (all of one layer's sites in a township, on a large overview) coloured by the share of
#: its sites resolved (done): the status colours' order, worst first. ``codes`` hold each band's lower bound.
RESOLVED_SHARE = (
    Meaning(PALETTE["vermillion"], "完成不足五成", (0.0,)),
    Meaning(PALETTE["orange"], "完成五成至八成", (0.5,)),
    Meaning(PALETTE["yellow"], "完成八成以上", (0.8,)),
    Meaning(PALETTE["green"], "全部完成", (1.0,)),
)


def share_index(share):
    """The :data:`RESOLVED_SHARE` band of each share (0–1), vectorised; NaN (no site) falls in the first band."""
    import numpy as np

    bounds = np.array([m.codes[0] for m in RESOLVED_SHARE[1:]])
    s = np.nan_to_num(np.asarray(share, float), nan=0.0)
    return np.searchsorted(bounds, s, side="right")


def share_rows(present: Iterable[int] | None = None) -> list[dict]:
    """Legend rows of the aggregate symbols: one colour per :data:`RESOLVED_SHARE` band (``present`` indices)."""
    keep = set(present) if present is not None else set(range(len(RESOLVED_SHARE)))
    return [{**colour_item(m.label, m.colour), "scale": "share"} for i, m in enumerate(RESOLVED_SHARE) if i in keep]


def aggregate_item(unit: str = "乡镇（街道）") -> dict:
    """The legend note of aggregate symbols: size and number are the count of sites in the unit."""
    return {"label": f"数字与大小：该{unit}此类点位数（选择乡镇后显示各点位）", "swatch": "cluster", "role": "note",
            "colour": None}
