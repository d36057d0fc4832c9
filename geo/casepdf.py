"""Plain A4 PDF documents of headings, paragraphs, tables and images (site files, assessment circulars).

Drawn with matplotlib in a CJK font (:func:`geo.briefing.cjk_family`). Text
from the data is never read as mathtext: ``text.parse_math`` is off and ``$``
is escaped as well, so a name like ``$x$厂`` prints as typed.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import pandas as pd

A4 = (8.27, 11.69)
LINE = 0.022  # line height as a fraction of the page


def esc(text) -> str:
    """Text as matplotlib prints it literally (``$`` escaped; None/NaN as empty)."""
    if text is None or (isinstance(text, float) and text != text) or text is pd.NA or text is pd.NaT:
        return ""
    return str(text).replace("\\", "\\\\").replace("$", r"\$")


@dataclass
class Doc:
    """A document built block by block: ``heading``, ``para``, ``small``, ``table``, ``image``."""

    title: str
    blocks: list = field(default_factory=list)

    def heading(self, text: str) -> "Doc":
        self.blocks.append(("heading", text))
        return self

    def para(self, text: str) -> "Doc":
        self.blocks.append(("para", text))
        return self

    def small(self, text: str) -> "Doc":
        """A line in small print (long codes such as a SHA-256 fit on one line)."""
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


def _wrap(text: str, width: int) -> list[str]:
    out = []
    for line in str(text).split("\n"):
        while len(line) > width:
            out.append(line[:width])
            line = line[width:]
        out.append(line)
    return out


def render(doc: Doc) -> bytes:
    """The document as PDF bytes (pages added as blocks overflow)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    from .briefing import cjk_family

    family = cjk_family()
    buf = io.BytesIO()
    with plt.rc_context({"font.family": family, "text.parse_math": False, "pdf.fonttype": 42}), \
            PdfPages(buf, metadata={"Title": doc.title, "Creator": "Qingshan"}) as pdf:
        state = {"fig": None, "y": 0.0, "page": 0}

        def new_page():
            if state["fig"] is not None:
                pdf.savefig(state["fig"])
                plt.close(state["fig"])
            state["fig"] = plt.figure(figsize=A4)
            state["page"] += 1
            state["fig"].text(0.5, 0.02, f"{esc(doc.title)} · 第 {state['page']} 页", ha="center", fontsize=7,
                              color="#555")
            state["y"] = 0.95

        def need(h):
            if state["fig"] is None or state["y"] - h < 0.05:
                new_page()

        def text(s, size=9, weight="normal", x=0.07, color="black"):
            need(LINE * size / 9)
            state["fig"].text(x, state["y"], esc(s), fontsize=size, weight=weight, va="top", color=color)
            state["y"] -= LINE * size / 9

        new_page()
        for line in _wrap(doc.title, 30):
            text(line, 16, "bold")
        state["y"] -= LINE * 0.5
        for kind, value in doc.blocks:
            if kind == "heading":
                state["y"] -= LINE * 0.4
                text(value, 12, "bold", color="#0b3d66")
            elif kind == "para":
                for line in _wrap(value, 56):
                    text(line, 9)
            elif kind == "small":
                for line in _wrap(value, 100):
                    text(line, 7, color="#333")
            elif kind == "table":
                _table(value, text, state, need)
            elif kind == "image":
                png, caption, border = value
                need(0.25)
                from PIL import Image

                im = Image.open(io.BytesIO(png))
                ax = state["fig"].add_axes([0.07, state["y"] - 0.22, 0.35, 0.22])
                ax.imshow(im)
                if border:
                    ax.set_xticks([])
                    ax.set_yticks([])
                    for spine in ax.spines.values():
                        spine.set_edgecolor("#999999")
                else:
                    ax.axis("off")
                state["y"] -= 0.23
                if caption:
                    text(caption, 8, color="#333")
        pdf.savefig(state["fig"])
        plt.close(state["fig"])
    return buf.getvalue()


def _table(df: pd.DataFrame, text, state, need) -> None:
    """A table as aligned text rows (columns cut to fit a portrait page)."""
    if df is None or len(df) == 0:
        text("（无）", 9, color="#555")
        return
    cols = list(df.columns)
    cells = [[str(c) for c in cols]] + [[_cell(v) for v in row] for row in df.itertuples(index=False)]
    # CJK glyphs are about twice as wide as Latin ones: measure in half-width units.
    width = lambda s: sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)  # noqa: E731
    widths = [min(max(width(r[j]) for r in cells), 40) for j in range(len(cols))]
    while sum(widths) + 2 * len(widths) > 118 and max(widths) > 8:
        widths[widths.index(max(widths))] -= 1
    h = LINE * 7.5 / 9
    for i, row in enumerate(cells):
        need(h)
        x = 0.07
        for j, v in enumerate(row):
            while width(v) > widths[j] and len(v) > 1:
                v = v[:-2] + "…"
            state["fig"].text(x, state["y"], esc(v), fontsize=7.5, va="top", weight="bold" if i == 0 else "normal")
            x += (widths[j] + 2) * 0.0066
        state["y"] -= h


def _cell(v) -> str:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d") if v == v.normalize() else v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
