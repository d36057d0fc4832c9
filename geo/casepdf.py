"""Plain A4 PDF documents of headings, paragraphs, tables and images (site files, assessment circulars).

Drawn with matplotlib in a CJK font (:func:`geo.fonts.cjk_family`). Text
from the data is never read as mathtext: ``text.parse_math`` is off, so a name
like ``$x$厂\\`` prints exactly as typed. Nothing is escaped on top of that:
with mathtext off matplotlib prints a backslash as a backslash, and an escape
(``\\$``) would be printed too.

Everything stays on the page: every line is measured in the font it is drawn in
(:func:`text_width`, the font's own advances) and wrapped to the text block
(:func:`wrap`), table columns are sized to the block and their cells wrapped, and
the footer is fitted (:func:`fit`). Every page is numbered ``第 i 页 共 N 页``.

An official document (``Doc.issuer`` set, e.g. the assessment circular 通报) is laid
out after GB/T 9704-2012 党政机关公文格式: the title centred, the addressees (主送机关)
under it on the left, the body, then the issuing body (落款) and the date written
(成文日期, ``2007年6月30日``) right-aligned at the end; the statement of what the
file is follows as a note (附注). Other documents state it under the title.
"""
from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field

import pandas as pd

#: A4 portrait in inches (matplotlib) and points (layout).
A4 = (8.27, 11.69)
PAGE_W, PAGE_H = A4[0] * 72, A4[1] * 72
#: The text block: 2 cm side margins, 2.2 cm top, 2.5 cm bottom (the page number sits in the bottom margin).
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 56.7, 62.4, 70.9
FOOTER_Y = 34.0  # baseline of the footer line, points from the page's bottom edge
LINE = 0.022  # line height as a fraction of the page (kept for callers sizing blocks)
LEADING = 1.45  # line height as a multiple of the font size


def esc(text) -> str:
    """Text as printed: as it is (``text.parse_math`` is off while drawing, see :func:`render`); None/NaN
    as empty."""
    if text is None or (isinstance(text, float) and text != text) or text is pd.NA or text is pd.NaT:
        return ""
    return str(text)


# --- measuring ------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _font(family: str):
    from matplotlib import font_manager as fm

    return fm.get_font(fm.findfont(fm.FontProperties(family=family), fallback_to_default=True))


@functools.lru_cache(maxsize=65536)
def _advance(family: str, ch: str) -> float:
    """The advance of ``ch`` at 1 pt, from the font's own metrics (a glyph it lacks: one em, as wide as any)."""
    font = _font(family)
    if font.get_char_index(ord(ch)) == 0:
        return 1.0
    font.set_size(100, 72)
    glyph = font.load_char(ord(ch))
    return glyph.linearHoriAdvance / 65536 / 100


def text_width(text: str, size: float, family: str | None = None) -> float:
    """Width in points of ``text`` at ``size`` pt in ``family`` (the CJK family by default), with 3 % spare for
    the kerning and hinting matplotlib applies."""
    if not text:
        return 0.0
    fam = family or _family()
    return 1.03 * size * sum(_advance(fam, ch) for ch in text)


@functools.lru_cache(maxsize=1)
def _family() -> str:
    from .fonts import cjk_family

    return cjk_family()


def wrap(text, size: float, width: float, family: str | None = None) -> list[str]:
    """``text`` broken into lines no wider than ``width`` points at ``size`` pt (its own line breaks kept).

    Chinese breaks between any two characters; a run of Latin letters or digits is kept whole when the
    line has room to break before it. A blank text is one empty line.
    """
    fam = family or _family()
    out: list[str] = []
    for para in esc(text).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        para = para.replace("\t", " ")
        line, w = "", 0.0
        for ch in para:
            a = 1.03 * size * _advance(fam, ch)
            if line and w + a > width:
                cut = _word_start(line)
                if 0 < cut < len(line) and _wordy(ch) and text_width(line[cut:], size, fam) < width / 3:
                    out.append(line[:cut].rstrip())
                    line = line[cut:]
                    w = text_width(line, size, fam)
                else:
                    out.append(line.rstrip())
                    line, w = "", 0.0
                if ch.isspace():
                    continue
            line += ch
            w += a
        out.append(line)
    return out


def _wordy(ch: str) -> bool:
    """A character of a Latin word or number (kept together on a line when there is room)."""
    return ch.isascii() and (ch.isalnum() or ch in "._-/:%")


def _word_start(line: str) -> int:
    """Where the run of Latin letters and digits that ends ``line`` starts (``len(line)`` when none does)."""
    i = len(line)
    while i > 0 and _wordy(line[i - 1]):
        i -= 1
    return i


def fit(text: str, width: float, size: float, *, smallest: float = 5.5, family: str | None = None
        ) -> tuple[str, float]:
    """A one-line text that fits ``width``: the size lowered to ``smallest`` if need be, then cut with "…"."""
    s = size
    while s > smallest and text_width(text, s, family) > width:
        s = max(smallest, s - 0.5)
    if text_width(text, s, family) <= width:
        return text, s
    while len(text) > 1 and text_width(text + "…", s, family) > width:
        text = text[:-1]
    return text + "…", s


# --- tables ---------------------------------------------------------------------------------------

@dataclass
class Table:
    """A table laid out for a width: column widths, each cell's lines, each row's height (points)."""

    widths: list[float]
    rows: list[list[list[str]]]  # row (header first) → cell → lines
    heights: list[float]
    size: float
    pad: float

    @property
    def header_height(self) -> float:
        return self.heights[0]


def layout_table(header: list, body: list[list], width: float, *, size: float = 7.5, max_lines: int = 4,
                 family: str | None = None, keep: tuple = (), fill: bool = True) -> Table:
    """Lay a table out in ``width`` points: each column as wide as its widest cell unless the columns do not
    fit, when the widest are narrowed to a common cap (water-filling) and their cells wrap, at most
    ``max_lines`` lines a cell (the rest shown as "…"). Columns named in ``keep`` (names, each one line)
    keep their width while half the width remains for the others. ``fill``: a narrower table is widened to
    ``width``, its columns in proportion."""
    fam = family or _family()
    pad = size * 0.45
    cells = [[esc(c) for c in header]] + [[esc(c) for c in row] for row in body]
    n = len(header)
    natural = [max(max((text_width(line, size, fam) for line in r[j].split("\n")), default=0.0)
                   for r in cells) + 2 * pad + 1.0 for j in range(n)]  # 1 pt spare: rounding never wraps it
    avail = width
    floor = [min(nat, 2.2 * size + 2 * pad) for nat in natural]
    kept = [j for j, h in enumerate(header) if h in keep]
    if kept and sum(natural[j] for j in kept) <= width / 2:
        floor = [natural[j] if j in kept else f for j, f in enumerate(floor)]
    widths = list(natural)
    if sum(natural) > avail:
        lo, hi = 0.0, max(natural)
        for _ in range(40):  # the cap c with sum(min(natural, c)) == avail
            c = (lo + hi) / 2
            if sum(max(f, min(nat, c)) for nat, f in zip(natural, floor)) > avail:
                hi = c
            else:
                lo = c
        widths = [max(f, min(nat, lo)) for nat, f in zip(natural, floor)]
    elif fill and sum(natural) > 0:  # room to spare: the table spans the block, columns in proportion
        widths = [w * width / sum(natural) for w in natural]
    rows, heights = [], []
    for r in cells:
        laid = []
        for j, v in enumerate(r):
            lines = wrap(v, size, max(widths[j] - 2 * pad, size), fam)
            if len(lines) > max_lines:
                last, _ = fit(lines[max_lines - 1] + "…", widths[j] - 2 * pad, size, smallest=size, family=fam)
                lines = lines[:max_lines - 1] + [last if last.endswith("…") else last + "…"]
            laid.append(lines)
        rows.append(laid)
        heights.append(max(len(c) for c in laid) * size * LEADING + pad)
    return Table(widths, rows, heights, size, pad)


def draw_row(fig, table: Table, i: int, x: float, top: float, *, bold: bool = False, fill: str | None = None,
             page_h: float = PAGE_H, page_w: float = PAGE_W) -> float:
    """Draw row ``i`` of ``table`` with its top at ``top`` (points from the page's bottom); the next row's top."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    h = table.heights[i]
    total = sum(table.widths)
    if fill:
        fig.add_artist(Rectangle((x / page_w, (top - h) / page_h), total / page_w, h / page_h,
                                 transform=fig.transFigure, facecolor=fill, edgecolor="none", zorder=0))
    fig.add_artist(Line2D([x / page_w, (x + total) / page_w], [(top - h) / page_h] * 2, transform=fig.transFigure,
                          color="#bbbbbb", linewidth=0.4))
    cx = x
    for j, lines in enumerate(table.rows[i]):
        y = top - table.pad / 2
        for line in lines:
            fig.text((cx + table.pad) / page_w, y / page_h, line, fontsize=table.size, va="top",
                     weight="bold" if bold else "normal")
            y -= table.size * LEADING
        cx += table.widths[j]
    return top - h


# --- documents ------------------------------------------------------------------------------------

@dataclass
class Doc:
    """A document built block by block: ``heading``, ``para``, ``small``, ``table``, ``image``.

    ``addressee`` (主送机关), ``issuer`` (落款) and ``signed_on`` (成文日期) make it an official document
    laid out after GB/T 9704 (see the module docstring).
    """

    title: str
    blocks: list = field(default_factory=list)
    #: what the document is (:class:`geo.io.writers.Meta`): stated under the title (a note at the end of an
    #: official document) and, briefly, in every page's footer
    meta: object = None
    addressee: str | None = None
    issuer: str | None = None
    signed_on: object = None

    def heading(self, text: str) -> "Doc":
        self.blocks.append(("heading", text))
        return self

    def para(self, text: str) -> "Doc":
        self.blocks.append(("para", text))
        return self

    def small(self, text: str) -> "Doc":
        """A paragraph in small print (long codes such as a SHA-256)."""
        self.blocks.append(("small", text))
        return self

    def table(self, df: pd.DataFrame, max_rows: int = 200) -> "Doc":
        self.blocks.append(("table", df.head(max_rows)))
        return self

    def image(self, png: bytes, caption: str = "", border: bool = False) -> "Doc":
        """A picture (``border``: a thin frame, for a document page that is mostly white)."""
        self.blocks.append(("image", (png, caption, border)))
        return self

    def pdf(self) -> bytes:
        return render(self)


def date_written(d) -> str:
    """成文日期 as GB/T 9704-2012 writes it: Arabic numerals, the year in full, no leading zeros (2007年6月30日)."""
    d = pd.Timestamp(d)
    return f"{d.year}年{d.month}月{d.day}日"


def page_number(page: int, pages: int) -> str:
    """``第 i 页 共 N 页``, spaced with en spaces: text extractors (pdftotext) drop an ordinary space between
    Chinese characters and a single digit, and "第1页共7页" reads as one word."""
    sp = "\u2002"
    return f"第{sp}{page}{sp}页{sp}共{sp}{pages}{sp}页"


def footer_text(title: str, meta, page: int, pages: int) -> tuple[str, str]:
    """The footer's two parts: what the file is (title, date, data version) and :func:`page_number`."""
    facts = dict(meta.items()) if meta is not None else {}
    parts = [title] + [f"{k} {facts[k]}" for k in ("截至日期", "数据版本") if k in facts]
    return "　".join(parts), page_number(page, pages)


class _Pages:
    """Pages of text block by block: a cursor in points from the page's bottom, a new page when full."""

    def __init__(self, family: str):
        from matplotlib.figure import Figure

        self._figure = Figure
        self.family = family
        self.figs: list = []
        self.y = 0.0
        self.width = PAGE_W - 2 * MARGIN_X

    @property
    def fig(self):
        return self.figs[-1]

    def new(self) -> None:
        self.figs.append(self._figure(figsize=A4))
        self.y = PAGE_H - MARGIN_TOP

    def need(self, h: float) -> None:
        if not self.figs or self.y - h < MARGIN_BOTTOM:
            self.new()

    def line(self, s: str, size: float, *, weight: str = "normal", color: str = "black", align: str = "left",
             x: float | None = None) -> None:
        h = size * LEADING
        self.need(h)
        pos = x if x is not None else {"left": MARGIN_X, "center": PAGE_W / 2, "right": PAGE_W - MARGIN_X}[align]
        self.fig.text(pos / PAGE_W, self.y / PAGE_H, s, fontsize=size, weight=weight, va="top", color=color,
                      ha=align)
        self.y -= h

    def text(self, s, size: float = 9.5, *, weight: str = "normal", color: str = "black", align: str = "left",
             indent: float = 0.0) -> None:
        for k, line in enumerate(wrap(s, size, self.width - indent, self.family)):
            self.line(line, size, weight=weight, color=color, align=align, x=MARGIN_X + (indent if k == 0 else 0))

    def gap(self, points: float) -> None:
        self.y -= points

    def table(self, df: pd.DataFrame) -> None:
        if df is None or len(df) == 0:
            self.text("（无）", 9, color="#555")
            return
        t = layout_table([str(c) for c in df.columns], [[_cell(v) for v in row] for row in df.itertuples(index=False)],
                         self.width, family=self.family)
        self.need(t.heights[0] + (t.heights[1] if len(t.heights) > 1 else 0))
        self.y = draw_row(self.fig, t, 0, MARGIN_X, self.y, bold=True, fill="#e8eef4")
        for i in range(1, len(t.rows)):
            if self.y - t.heights[i] < MARGIN_BOTTOM:  # a new page repeats the header
                self.new()
                self.y = draw_row(self.fig, t, 0, MARGIN_X, self.y, bold=True, fill="#e8eef4")
            self.y = draw_row(self.fig, t, i, MARGIN_X, self.y)
        self.gap(4)

    def image(self, png: bytes, caption: str, border: bool) -> None:
        from PIL import Image

        h = 0.22 * PAGE_H
        self.need(h + 12)
        im = Image.open(io.BytesIO(png))
        ax = self.fig.add_axes((MARGIN_X / PAGE_W, (self.y - h) / PAGE_H, 0.35, h / PAGE_H))
        ax.imshow(im)
        if border:
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor("#999999")
        else:
            ax.axis("off")
        self.y -= h + 6
        if caption:
            self.text(caption, 8, color="#333")


def render(doc: Doc) -> bytes:
    """The document as PDF bytes (pages added as blocks overflow), every page numbered ``第 i 页 共 N 页``."""
    import matplotlib as mpl
    from matplotlib.backends.backend_pdf import PdfPages

    family = _family()
    # the statement of what the file is: under the title, or a note (附注) after an official document's date
    statement = [(k, v) for k, v in doc.meta.items() if k != "标题"] if doc.meta is not None else []
    # ps.fonttype too: matplotlib's PDF backend sizes its font subsets by it (Type 3's 256 glyphs would
    # embed the CJK font once per 256 characters used, each a slow subsetting of a 20 MB font)
    rc = {"font.family": [family, "DejaVu Sans"], "text.parse_math": False, "pdf.fonttype": 42, "ps.fonttype": 42, "text.language": "zh-Hans",
          "axes.unicode_minus": False}
    with mpl.rc_context(rc):
        pages = _Pages(family)
        pages.new()
        for line in wrap(doc.title, 16, pages.width, family):
            pages.line(line, 16, weight="bold", align="center" if doc.issuer else "left")
        pages.gap(6)
        if doc.addressee:  # 主送机关: under the title, flush left, ending in a full-width colon
            pages.text(doc.addressee, 11)
            pages.gap(2)
        elif statement:
            for label, value in statement:
                pages.text(f"{label}：{value}", 7, color="#333")
            pages.gap(6)
        for kind, value in doc.blocks:
            if kind == "heading":
                pages.gap(5)
                pages.text(value, 12, weight="bold", color="#0b3d66")
            elif kind == "para":
                pages.text(value, 9.5, indent=2 * 9.5 if doc.issuer else 0.0)
            elif kind == "small":
                pages.text(value, 7, color="#333")
            elif kind == "table":
                pages.table(value)
            elif kind == "image":
                pages.image(*value)
        if doc.issuer:
            pages.gap(18)
            pages.need(2 * 11 * LEADING)
            # GB/T 9704-2012 7.3.5.2: the date right-aligned four characters in, the issuer centred over it
            date = date_written(doc.signed_on) if doc.signed_on is not None else ""
            right = PAGE_W - MARGIN_X - 4 * 11
            centre = right - text_width(date, 11, family) / 2 if date else right - text_width(doc.issuer, 11) / 2
            issuer_right = min(PAGE_W - MARGIN_X, centre + text_width(doc.issuer, 11, family) / 2)
            pages.line(doc.issuer, 11, align="right", x=issuer_right)
            if date:
                pages.line(date, 11, align="right", x=right)
            if statement:  # 附注: under the date, in small print
                pages.gap(12)
                pages.text("附注：" + "；".join(f"{k}：{v}" for k, v in statement) + "。", 7, color="#333")
        n = len(pages.figs)
        buf = io.BytesIO()
        meta = {"Title": doc.title, "Creator": "Qingshan"}
        if doc.meta is not None:
            full = dict(doc.meta.items(full=True))
            meta["Subject"] = full.get("规则", doc.title)
            meta["Keywords"] = "；".join(f"{k}：{v}" for k, v in full.items() if k not in ("标题", "规则"))
            if doc.meta.generated_by:
                meta["Author"] = str(doc.meta.generated_by)
        with PdfPages(buf, metadata=meta) as pdf:
            for k, fig in enumerate(pages.figs, start=1):
                about, number = footer_text(doc.title, doc.meta, k, n)
                nw = text_width(number, 7.5, family)
                fig.text((PAGE_W - MARGIN_X) / PAGE_W, FOOTER_Y / PAGE_H, number, fontsize=7.5, ha="right",
                         color="#333")
                about, size = fit(about, pages.width - nw - 12, 7, family=family)
                fig.text(MARGIN_X / PAGE_W, FOOTER_Y / PAGE_H, about, fontsize=size, color="#555")
                pdf.savefig(fig)
    return buf.getvalue()


def _cell(v) -> str:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d") if v == v.normalize() else v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, float):
        from .fmt import plain

        return plain(v, 4)
    return str(v)
