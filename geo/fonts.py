"""The CJK font every PDF of Qingshan is drawn in (the briefing, the site file, the circular).

Chinese text needs a CJK font: :func:`cjk_family` finds Noto Sans CJK (Debian ``fonts-noto-cjk``) or
another family matplotlib knows, else asks fontconfig for any font covering Chinese.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from .errors import GeoError

__all__ = ["CJK_FAMILIES", "cjk_family"]

#: CJK families tried in order (matplotlib family names).
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                "Noto Sans CJK JP", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei",
                "PingFang SC", "Noto Serif CJK SC")


def cjk_family() -> str:
    """A matplotlib font family that renders Chinese; raises :class:`GeoError` when none is installed."""
    from matplotlib import font_manager as fm

    names = {f.name for f in fm.fontManager.ttflist}
    for fam in CJK_FAMILIES:
        if fam in names:
            return fam
    # Not known to matplotlib's cache: ask fontconfig for any font covering Chinese.
    try:
        path = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        path = ""
    if path and Path(path).exists() and Path(path).suffix.lower() in (".ttf", ".ttc", ".otf"):
        fm.fontManager.addfont(path)
        name = fm.FontProperties(fname=path).get_name()
        if _covers_chinese(path):
            return name
    raise GeoError("未找到中文字体，无法生成简报 PDF。请安装 Noto Sans CJK（Debian：apt-get install fonts-noto-cjk）。",
                   "No CJK font found, cannot render the briefing PDF. Install Noto Sans CJK "
                   "(Debian: apt-get install fonts-noto-cjk).")


def _covers_chinese(path: str) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        return FT2Font(path).get_char_index(ord("关")) != 0
    except (OSError, RuntimeError):
        return False
