"""Monthly briefing: one PDF a leadership meeting can use, plus an xlsx of the same figures.

The PDF (A4 landscape, matplotlib, CJK font embedded) holds, dated:

1. the headline figures (:func:`geo.progress.kpis`) and a township map of
   completion for each campaign;
2. the cumulative closures of each campaign against its deadline, with the
   projection at the trailing 90-day pace;
3. water: the sampling sections by GB 3838-2002 class, and the outfalls judged
   against their discharge limits (GB 8978-1996 or the permit: 达标 / 超标 with
   the exceedance multiple), when the frames hold ``sampling_points`` and ``readings``;
4. the overdue list (or, when nothing is overdue, the sites due soonest) and
   the department pairing.

Chinese text needs a CJK font: :func:`cjk_family` finds Noto Sans CJK (Debian
``fonts-noto-cjk``) or another CJK family and fails with a clear bilingual
message when none is installed.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from . import fmt
from . import progress as P
from .fonts import CJK_FAMILIES, cjk_family  # noqa: F401 (re-exported: geo.briefing.cjk_family)
from .water import METHOD_BRIEF  # the water method, stated once (geo.water)

#: five classes of completion, 0–20 % … 80–100 %: the same ColorBrewer Greens as the page's map
#: (``layers.townships.CHOROPLETH``; repeated here because the core does not import the UI layers).
CHOROPLETH = ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"]

#: GB 3838 class colours, as on the water page's map (``layers.sampling_points.CLASS_COLOURS``; repeated
#: here for the same reason as CHOROPLETH).
CLASS_COLOURS = {1: "#2166AC", 2: "#67A9CF", 3: "#1A9850", 4: "#FEE08B", 5: "#FC8D59", 6: "#D73027"}

A4_LANDSCAPE = (11.69, 8.27)
#: Longest data text printed in a table cell and as a map label (longer ones end in "…").
CELL_CHARS, MAP_LABEL_CHARS = 24, 16




# --- drawing ----------------------------------------------------------------------------------

def _fmt_date(d) -> str:
    d = pd.Timestamp(d)
    return f"{d.year}年{d.month}月{d.day}日"


def _fit(text, limit: int) -> str:
    """A data text as printed: line breaks and tabs as spaces, and cut to ``limit`` characters with "…".

    Names are printed as written ("$" included: mathtext is off); only their length is bounded, so
    that a 5,000-character name cannot run across the page over its neighbours.
    """
    t = re.sub(r"[\r\n\t\v\f]+", " ", str(text))
    return t if len(t) <= limit else t[: limit - 1] + "…"


def _pct(r) -> str:
    return "—" if r is None or (isinstance(r, float) and np.isnan(r)) else f"{100 * r:.1f}%"


def _draw_map(ax, townships, comp: pd.DataFrame, title: str) -> None:
    """Township choropleth of completion rate (0–100 %), grey where the campaign has no target."""
    import matplotlib as mpl
    from matplotlib import patheffects

    rate = comp.set_index("township")["rate"]
    g = townships.copy()
    g["rate"] = g["name"].map(rate)
    cmap = mpl.colors.ListedColormap(CHOROPLETH)
    norm = mpl.colors.BoundaryNorm([0, 0.2, 0.4, 0.6, 0.8, 1.0 + 1e-9], cmap.N)
    has = g["rate"].notna()
    if (~has).any():
        g[~has].plot(ax=ax, color="#eeeeee", edgecolor="#999999", linewidth=0.4, hatch="///")
    if has.any():
        g[has].plot(ax=ax, column="rate", cmap=cmap, norm=norm, edgecolor="#555555", linewidth=0.5)
    pts = g.geometry.representative_point()
    for name, p, r in zip(g["name"], pts, g["rate"]):
        name = _fit(name, MAP_LABEL_CHARS)
        label = name if pd.isna(r) else f"{name}\n{100 * r:.0f}%"
        ax.annotate(label, (p.x, p.y), ha="center", va="center", fontsize=5.5 if pd.isna(r) else 6.5,
                    color="#666666" if pd.isna(r) else "#111111",
                    path_effects=[patheffects.withStroke(linewidth=2, foreground="white")])
    ax.set_title(title, fontsize=11)
    ax.set_axis_off()
    sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
    box = ax.get_position()
    cax = ax.figure.add_axes((box.x0 + 0.03, box.y0 - 0.045, box.width - 0.06, 0.015))
    cb = ax.figure.colorbar(sm, cax=cax, orientation="horizontal", format=mpl.ticker.PercentFormatter(1.0),
                            ticks=[0, 0.2, 0.4, 0.6, 0.8, 1.0])
    cb.ax.tick_params(labelsize=7)
    cb.set_label("完成率（灰色斜线：无任务）", fontsize=7)


def _draw_timeline(ax, series: pd.DataFrame, proj: P.Projection, title: str, unit: str) -> None:
    ax.step(series["date"], series["done"], where="post", color="#1f6fb2", linewidth=1.8, label="累计完成")
    ax.axhline(proj.targets, color="#888888", linewidth=0.8, linestyle=":", label=f"目标 {proj.targets}{unit}")
    line = proj.line()
    if len(line):
        ax.plot(line["date"], line["done"], color="#1f6fb2", linestyle="--", linewidth=1.2,
                label=f"按近{proj.window_days}天进度预计 {proj.projected_on:%Y-%m-%d} 完成")
    elif proj.remaining > 0:
        ax.plot([], [], " ", label=f"近{proj.window_days}天无进展，按此进度无法完成")
    if proj.deadline is not None:
        ax.axvline(proj.deadline, color="#c0392b", linewidth=1.2, label=f"期限 {proj.deadline:%Y-%m-%d}")
    ax.axvline(proj.as_of, color="#555555", linewidth=0.6, linestyle="-.")
    ax.set_title(title, fontsize=11)
    ax.set_ylim(0, max(proj.targets, int(series["done"].max()) if len(series) else 0) * 1.08 + 1)
    ax.legend(fontsize=7, loc="upper left")
    fmt.month_ticks(ax)  # 2007年1月, 4月, 7月 … (matplotlib's own ticks say Jul, May, Sep)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def _draw_no_progress(ax, proj: P.Projection, title: str, unit: str) -> None:
    """In place of a flat line at zero: a sentence saying why there is no curve yet."""
    ax.set_axis_off()
    ax.set_title(title, fontsize=11)
    lines = [f"截至{_fmt_date(proj.as_of)}尚无完成，暂无进度曲线。", f"目标 {proj.targets}{unit}，已完成 0{unit}。"]
    if proj.deadline is not None:
        days = (pd.Timestamp(proj.deadline) - pd.Timestamp(proj.as_of)).days
        lines.append(f"期限 {_fmt_date(proj.deadline)}（" + (f"剩余 {days} 天）" if days >= 0 else f"已逾期 {-days} 天）"))
    ax.text(0.5, 0.6, "\n".join(lines), ha="center", va="center", fontsize=10, color="#444444", linespacing=1.8,
            transform=ax.transAxes)


#: The landscape page in points, and its side margin.
PAGE_W, PAGE_H = A4_LANDSCAPE[0] * 72, A4_LANDSCAPE[1] * 72
MARGIN = 0.04 * PAGE_W
#: Bottom of the area tables and notes may use (the footer sits below it), as a fraction of the page.
BODY_BOTTOM = 0.06


def _texts(fig, text, x: float, y: float, size: float, *, width: float | None = None, ha: str = "left",
           color: str = "#000000", weight: str = "normal") -> float:
    """``text`` wrapped to ``width`` points (default the page between its margins), its first line's top at
    ``y`` (figure fraction); the ``y`` below its last line."""
    from .casepdf import LEADING, wrap

    width = width or PAGE_W - 2 * MARGIN
    for line in wrap(text, size, width):
        fig.text(x, y, line, fontsize=size, ha=ha, va="top", color=color, weight=weight)
        y -= size * LEADING / PAGE_H
    return y


def _table_layout(df: pd.DataFrame, width: float, size: float, *, keep: tuple = ()):
    """``df`` laid out as a table of ``width`` points (:func:`geo.casepdf.layout_table`), texts as people read
    them and cut to :data:`CELL_CHARS` (names longer than that end in "…")."""
    from .casepdf import layout_table

    cells = [[_fit(v, CELL_CHARS) for v in row] for row in fmt.frame_text(df).to_numpy()]
    return layout_table([str(c) for c in df.columns], cells, width, size=size, keep=keep)


def _draw_table(fig, table, start: int, left: float, top: float, bottom: float) -> int:
    """Rows ``start``… of ``table`` under its header, from ``top`` down to ``bottom`` (points from the page's
    bottom); the first row not drawn."""
    from .casepdf import draw_row

    # the header in the regular weight on its fill: a bold face would embed a second 20 MB font
    y = draw_row(fig, table, 0, left, top, fill="#dde7f0", page_h=PAGE_H, page_w=PAGE_W)
    i = start
    while i < len(table.rows) and (y - table.heights[i] >= bottom or i == start):
        y = draw_row(fig, table, i, left, y, page_h=PAGE_H, page_w=PAGE_W)
        i += 1
    return i


def _table_pages(title: str, df: pd.DataFrame, note: str = "") -> list:
    """A list as pages (as many as its rows need), each with its title, note and the table's header."""
    from matplotlib.figure import Figure

    figs = []
    table = _table_layout(df, PAGE_W - 2 * MARGIN, 8, keep=("名称",)) if len(df) else None
    i, part = 1, 0
    while True:
        fig = Figure(figsize=A4_LANDSCAPE)
        figs.append(fig)
        _texts(fig, title + (f"（续 {part}）" if part else ""), 0.5, 0.965, 15, ha="center")
        y = 0.925
        if note:
            y = _texts(fig, note, 0.5, y, 9, ha="center", color="#555555")
        if table is None:
            fig.text(0.5, y - 0.1, "（无）", ha="center", fontsize=12)
            return figs
        i = _draw_table(fig, table, i, MARGIN, (y - 0.015) * PAGE_H, BODY_BOTTOM * PAGE_H)
        if i >= len(table.rows):
            return figs
        part += 1


def _water_frames(frames: Mapping[str, pd.DataFrame], day) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Sections (GB 3838 class) and outfalls (discharge verdict) on ``day`` as tables for people; ``None`` without data."""
    from . import fmt, water

    pts, rd = frames.get("sampling_points"), frames.get("readings")
    if pts is None or rd is None or not len(pts):
        return None
    a = water.latest_assessment({"sampling_points": pts, "readings": rd}, as_of=day)
    kind = a["kind"] if "kind" in a.columns else pd.Series("section", index=a.index)
    sec = a[kind != "outfall"].sort_values(["class", "id"], ascending=[False, True], na_position="last")
    out = a[kind == "outfall"].sort_values(["verdict", "id"], ascending=[False, True])
    sections = pd.DataFrame({
        "断面": sec["name"].astype(str), "水体": sec["waterbody"].map({"river": "河流", "lake": "湖库"}).fillna("—"),
        "采样日期": sec["sampled_on"].map(fmt.iso_date), "水质类别": sec["class_label"],
        "目标": sec["target_class"].map(water.label), "达标": sec["meets"].map(
            lambda v: "—" if pd.isna(v) else ("是" if v else "否")),
        "超标项目（超标倍数）": sec["exceeding"].fillna("—").replace("", "—"),
    })
    sections.attrs["classes"] = sec["class"]
    outfalls = pd.DataFrame({
        "排污口": out["name"].astype(str), "执行标准": out["standard"], "采样日期": out["sampled_on"].map(fmt.iso_date),
        "判定": out["verdict"], "超标项目（超标倍数）": out["exceeding"].fillna("—").replace("", "—"),
    })
    return sections, outfalls


def _draw_water_page(fig, sections: pd.DataFrame, outfalls: pd.DataFrame, dated: str) -> None:
    """Sections counted and listed by GB 3838 class; outfalls 达标/超标 against their discharge limits."""
    from . import discharge, water

    fig.text(0.5, 0.955, "水质状况：断面类别与排污口达标", ha="center", fontsize=16)
    fig.text(0.5, 0.92, dated, ha="center", fontsize=10, color="#444444")
    classes = sections.attrs.get("classes", pd.Series(dtype=float))
    counts = [int((classes == k).sum()) for k in water.CLASSES]
    ax = fig.add_axes((0.06, 0.56, 0.26, 0.3))
    ax.barh([water.CLASS_LABELS[k] for k in water.CLASSES][::-1], counts[::-1],
            color=[CLASS_COLOURS[k] for k in water.CLASSES][::-1], edgecolor="#555555", linewidth=0.5)
    for y, n in enumerate(counts[::-1]):
        ax.text(n + 0.05, y, str(n), va="center", fontsize=8)
    ax.set_title(f"监测断面按 GB 3838-2002 类别（共 {int(classes.notna().sum())} 个有评价）", fontsize=10)
    ax.set_xlim(0, max(counts + [1]) * 1.25)
    ax.xaxis.set_visible(False)
    ax.tick_params(labelsize=8)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)

    def table(rect, df, title, rows):
        """``df`` (its first ``rows`` rows, as many as fit) in ``rect`` (left, bottom, width, height)."""
        left, bottom, width, height = rect
        top = bottom + height
        fig.text(left, top, title, fontsize=10, va="bottom")
        if not len(df):
            fig.text(left + width / 2, top - 0.05, "（无）", ha="center", fontsize=10)
            return
        shown = df.head(rows)
        t = _table_layout(shown, width * PAGE_W, 7, keep=("断面", "排污口"))
        drawn = _draw_table(fig, t, 1, left * PAGE_W, top * PAGE_H - 4, bottom * PAGE_H)
        if drawn - 1 < len(df):
            fig.text(left, bottom - 0.005, f"（表中列出 {drawn - 1} 个，共 {len(df)} 个；全部见简报 Excel）", fontsize=7,
                     va="top", color="#555555")

    table((0.36, 0.5, 0.6, 0.38), sections, "监测断面（最新一次采样）", 16)
    over = int((outfalls["判定"] == discharge.EXCEEDS).sum())
    table((0.04, 0.14, 0.92, 0.28), outfalls, f"排污口（最新一次采样）：{over} 个超标 / 共 {len(outfalls)} 个", 10)
    _texts(fig, "断面：单因子评价，类别不劣于目标类别为达标。排污口不参与地表水分类：" + discharge.RULE + "。",
           MARGIN / PAGE_W, 0.095, 7, color="#555555")


def _list_frame(df: pd.DataFrame) -> pd.DataFrame:
    cols = ["campaign", "id", "name", "township", "status", "deadline", "days_left", "department", "destination"]
    out = P.labelled(df[[c for c in cols if c in df.columns]].assign(layer=df["layer"]))
    out = out.drop(columns=[P.HEADERS["layer"]])
    return out


#: The rules the briefing's figures follow, stated on its cover and in its xlsx.
RULE = ("完成：化工企业关停、搬迁或转产，石灰窑（棚）关停、改建或搬迁，养殖场通过验收或关停、搬迁；逾期：整改期限已过仍未完成；"
        "预计完成日期按近期日均进度推算；乡镇完成率 = 已完成 ÷ 目标数。水质：" + METHOD_BRIEF + "；"
        "排污口按 GB 8978-1996（或排污许可限值）判定达标、超标")


def briefing_meta(as_of, *, district: str = "", window_days: int = 90, data_version: str | None = None,
                  generated_by: str | None = None, generated: dt.datetime | None = None):
    """What the briefing is (:class:`geo.io.writers.Meta`): its cover, footer and xlsx 说明 sheet."""
    from .io.writers import Meta

    return Meta(title=f"{district}生态整治关停进度简报", rule=RULE,
                parameters={"进度推算窗口（天）": int(window_days), "地图": "乡镇边界，完成率五档（0–20%…80–100%）"},
                as_of=P.as_day(as_of).date(), data_version=data_version, generated_by=generated_by,
                generated_at=(generated or dt.datetime.now()).replace(microsecond=0))


def _footer(fig, meta, page: int, pages: int) -> None:
    """What the briefing is, fitted to the page (the title shortened first), and ``第 i 页 共 N 页``."""
    from .casepdf import fit, page_number, text_width

    items = dict(meta.items())
    parts = [f"截至 {items.get('截至日期', '')}"]
    if "数据版本" in items:
        parts.append(f"数据版本 {items['数据版本']}")
    parts.append(f"生成于 {items['生成时间']}" + (f"（{items['生成人']}）" if "生成人" in items else ""))
    parts.append(items["软件版本"])
    number = page_number(page, pages)
    size, y = 6.5, 0.022
    fig.text(1 - MARGIN / PAGE_W, y, number, ha="right", fontsize=7, color="#444444")
    room = PAGE_W - 2 * MARGIN - text_width(number, 7) - 18
    rest = "　".join(parts)
    title, _ = fit(items["标题"], max(room - text_width("　" + rest, size), 40), size, smallest=size)
    line, size = fit(f"{title}　{rest}", room, size)
    fig.text(MARGIN / PAGE_W, y, line, fontsize=size, color="#666666")


def render_pdf(frames: Mapping[str, pd.DataFrame], as_of, *, district: str = "", window_days: int = 90,
               generated: dt.datetime | None = None, data_version: str | None = None,
               generated_by: str | None = None, progress=None) -> bytes:
    """The briefing PDF (bytes) for ``as_of``.

    The cover states what it is (:func:`briefing_meta`: the rules, the date, the data version, who
    generated it when, the software version) and every page repeats it in a footer with its number,
    ``第 i 页 共 N 页``; the document properties carry the store's full version token. Every text is
    measured and wrapped to the page (:mod:`geo.casepdf`).

    ``progress``: called as ``progress(fraction, 说明)`` while the pages are drawn (a page's progress bar).
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    def step(fraction: float, what: str) -> None:
        if progress is not None:
            progress(min(max(fraction, 0.0), 1.0), what)

    step(0.0, "准备数据…")
    family = cjk_family()
    frames = P.prepare(frames)
    day = P.as_day(as_of)
    k = P.kpis(frames, day)
    generated = generated or dt.datetime.now()
    meta = briefing_meta(day, district=district, window_days=window_days, data_version=data_version,
                         generated_by=generated_by, generated=generated)
    about = dict(meta.items())
    heading = f"{_fit(district, 30)}生态整治关停进度简报"
    dated = f"截至 {_fmt_date(day)}　　生成于 {generated:%Y-%m-%d %H:%M}"
    buf = io.BytesIO()
    # text.parse_math off: names come from data, and "$…$" in a name must print as written, not as mathtext.
    # ps.fonttype 42 as well: matplotlib's PDF backend sizes its font subsets by it, and Type 3's 256 glyphs
    # would embed the CJK font once per 256 characters used (each a slow subsetting of a 20 MB font);
    # text.language zh-Hans: digits after a Latin letter would otherwise take the font's Latin glyphs, a
    # second subset of the same font.
    rc = {"font.family": [family, "DejaVu Sans"], "axes.unicode_minus": False, "pdf.fonttype": 42,
          "ps.fonttype": 42, "text.language": "zh-Hans", "text.parse_math": False}
    figs: list = []
    full = dict(meta.items(full=True))
    properties = {"Title": f"{heading} {day:%Y-%m-%d}", "Subject": "关停进度简报", "Author": generated_by or "",
                  "Creator": about["软件版本"],
                  "Keywords": "；".join(f"{k_}：{v}" for k_, v in full.items() if k_ not in ("标题", "规则"))}
    with mpl.rc_context(rc):
        # page 1: figures and maps
        step(0.05, "绘制第 1 页：指标与乡镇地图…")
        fig = Figure(figsize=A4_LANDSCAPE)
        fig.text(0.5, 0.965, heading, ha="center", va="top", fontsize=18)
        line = dated + (f"　　生成人 {generated_by}" if generated_by else "") \
            + (f"　　数据版本 {about['数据版本']}" if "数据版本" in about else "") + f"　　{about['软件版本']}"
        y = _texts(fig, line, 0.5, 0.922, 9, ha="center", color="#444444")
        y = _texts(fig, "口径：" + RULE + "。", 0.5, y - 0.004, 6.5, ha="center", color="#555555")
        top = min(0.865, y - 0.01)
        c, lime, f = k["chemical"], k["lime"], k["livestock"]
        blocks = [
            ("化工园区关停", [f"已关停 {c['done']}/{c['targets']} 家（{_pct(c['rate'])}）",
                        f"已签承诺 {c['committed']} 家，落实搬迁去向 {c['with_destination']} 家，就地关停/转产 {c['in_place']} 家",
                        f"期限 {c['deadline'] or '—'}，" + (f"剩余 {c['days_to_deadline']} 天"
                                                          if (c['days_to_deadline'] or 0) >= 0
                                                          else f"已逾期 {-c['days_to_deadline']} 天")]),
            ("石灰窑（棚）整治", [f"完成 {lime['done']}/{lime['targets']} 座（{_pct(lime['rate'])}）",
                           f"钙棚关停 {lime['sheds_closed']}/{lime['sheds']} 座",
                           f"石灰窑关停 {lime['kilns_closed']} 座，改建或搬迁 {lime['kilns_rebuilt_or_relocated']} 座"
                           f"（共 {lime['kilns']} 座）"]),
            ("畜禽养殖场治理", [f"治理目标 {f['targets']} 家，治理中 {f['treating']} 家",
                         f"已验收或关停搬迁 {f['done']} 家（{_pct(f['rate'])}）",
                         f"期限 {f['deadline'] or '—'}"]),
        ]
        column = (PAGE_W - 2 * MARGIN) / 3 - 12
        for i, (title, lines) in enumerate(blocks):
            x = MARGIN / PAGE_W + i * (column + 12) / PAGE_W
            fig.text(x, top, title, fontsize=12, va="top", color="#1f4e79")
            yy = top - 0.032
            for text in lines:
                yy = _texts(fig, text, x, yy, 9, width=column) - 0.006
        fig.text(MARGIN / PAGE_W, 0.735, f"逾期未完成：{k['overdue']} 处", fontsize=10, va="top",
                 color="#c0392b" if k["overdue"] else "#2e7d32")
        towns = frames["townships"]
        for i, key in enumerate(P.CAMPAIGNS):
            ax = fig.add_axes((0.02 + i * 0.33, 0.13, 0.31, 0.53))
            _draw_map(ax, towns, P.completion(frames, key, day), P.CAMPAIGNS[key].label + "：乡镇完成率")
        figs.append(fig)

        # page 2: over time
        step(0.2, "绘制第 2 页：累计完成进度…")
        fig = Figure(figsize=A4_LANDSCAPE)
        fig.text(0.5, 0.965, "累计完成进度与期限", ha="center", va="top", fontsize=16)
        fig.text(0.5, 0.922, dated, ha="center", va="top", fontsize=10, color="#444444")
        axes = fig.subplots(1, 3, gridspec_kw={"left": 0.05, "right": 0.98, "top": 0.85, "bottom": 0.12,
                                               "wspace": 0.2})
        for ax, key in zip(axes, P.CAMPAIGNS):
            start = day - pd.Timedelta(days=540)  # a year and a half of history reads well on paper
            series, proj = P.timeline(frames, key, day, window_days, start=start)
            if proj.targets > 0 and proj.done == 0:
                _draw_no_progress(ax, proj, P.CAMPAIGNS[key].label, P.CAMPAIGNS[key].unit)
            else:
                _draw_timeline(ax, series, proj, P.CAMPAIGNS[key].label, P.CAMPAIGNS[key].unit)
        figs.append(fig)

        # page 3: water (sections by class, outfalls against their discharge limits)
        step(0.3, "绘制水质页…")
        wf = _water_frames(frames, day)
        if wf is not None:
            fig = Figure(figsize=A4_LANDSCAPE)
            _draw_water_page(fig, *wf, dated)
            figs.append(fig)

        # page 4+: overdue (or due soonest) and departments
        step(0.4, "绘制逾期清单与部门结对…")
        od = P.overdue(frames, day)
        if len(od):
            title, df = f"逾期未完成清单（{len(od)} 处）", od
            note = "期限已过、截至当日尚未完成的点位，按逾期天数排序"
        else:
            df = P.pending_sites(frames, day)
            title, note = "逾期未完成清单：无", f"截至当日无逾期点位。以下为期限最近的未完成点位（共 {len(df)} 处）"
        figs += _table_pages(title, _list_frame(df), note + "　" + dated)
        dept = P.department_pairs(frames, day)
        dcols = ["department", "id", "name", "status", "deadline", "days_left", "destination"]
        dtab = P.labelled(dept[dcols].assign(layer="enterprises")).drop(columns=[P.HEADERS["layer"]])
        figs += _table_pages(f"部门结对：未完成企业（{len(dept)} 家）", dtab, dated)

        n = len(figs)
        with PdfPages(buf, metadata=properties) as pdf:
            for i, fig in enumerate(figs, start=1):
                step(0.5 + 0.4 * (i - 1) / n, f"写出第 {i} 页（共 {n} 页）…")
                _footer(fig, meta, i, n)
                pdf.savefig(fig)
            step(0.92, "嵌入字体…")
    step(1.0, "完成")
    return buf.getvalue()


def render_xlsx(frames: Mapping[str, pd.DataFrame], as_of, *, weights: Mapping[str, float] | None = None,
                meta=None) -> bytes:
    """The briefing's figures as an xlsx (Chinese headers): 指标, 各专项乡镇完成率, 逾期清单, 待办清单, 结对部门, 乡镇排名,
    and with water data 断面水质 and 排污口达标."""
    frames = P.prepare(frames)
    day = P.as_day(as_of)
    sheets: dict[str, pd.DataFrame] = {"指标": P.kpi_table(P.kpis(frames, day))}
    for key, c in P.CAMPAIGNS.items():
        comp = P.completion(frames, key, day)
        sheets[f"{c.label}完成率"] = P.labelled(comp[comp["targets"] > 0])
    od = P.overdue(frames, day)
    sheets["逾期清单"] = P.labelled(od)
    sheets["待办清单"] = P.labelled(P.pending_sites(frames, day))
    sheets["结对部门"] = P.labelled(P.department_pairs(frames, day, pending_only=False).assign(layer="enterprises"))
    sheets["乡镇排名"] = P.labelled(P.township_ranking(frames, day, weights))
    wf = _water_frames(frames, day)
    if wf is not None:
        sheets["断面水质"], sheets["排污口达标"] = wf
    return P.to_xlsx(sheets, meta=meta if meta is not None else briefing_meta(day))


def write(frames: Mapping[str, pd.DataFrame], as_of, out_pdf: Path, *, district: str = "",
          data_version: str | None = None, generated_by: str | None = None) -> tuple[Path, Path]:
    """Write the briefing PDF to ``out_pdf`` and its xlsx next to it (same name, ``.xlsx``).

    Both are rendered in memory first, so a failure (e.g. no CJK font) writes nothing; both state what
    they are (:func:`briefing_meta`).
    """
    out_pdf = Path(out_pdf)
    generated = dt.datetime.now().replace(microsecond=0)
    pdf = render_pdf(frames, as_of, district=district, data_version=data_version, generated_by=generated_by,
                     generated=generated)
    xlsx = render_xlsx(frames, as_of, meta=briefing_meta(as_of, district=district, data_version=data_version,
                                                         generated_by=generated_by, generated=generated))
    out_xlsx = out_pdf.with_suffix(".xlsx")
    out_pdf.parent.mkdir(parents=True, exist_ok=True)
    out_pdf.write_bytes(pdf)
    out_xlsx.write_bytes(xlsx)
    return out_pdf, out_xlsx
