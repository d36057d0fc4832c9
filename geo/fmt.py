"""Values as a person reads them: plain numbers, Chinese dates and months, never ``None``/``nan``/``NaT``.

Every page, PDF and file a person receives formats its values through these helpers (or the
equivalent chart settings in :data:`D3_NUMBER`, :data:`VEGA_MONTH`), so that a missing value reads
``—``, 0.00005 reads ``0.00005`` (not ``5e-05``) and a month reads ``2007年6月`` (not ``Jun 2007``).
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

#: What a missing value reads as.
MISSING = "—"
#: d3-format for chart tooltips and axes: significant digits in decimal notation, never exponents.
D3_NUMBER = ",.4~r"
#: Vega expressions for time axes in Chinese (``labelExpr``): year-month and year.
VEGA_MONTH = "timeFormat(datum.value, '%Y年%-m月')"
VEGA_DAY = "timeFormat(datum.value, '%-m月%-d日')"
VEGA_YEAR = "timeFormat(datum.value, '%Y年')"


def missing(v) -> bool:
    """True for ``None``, ``NaN``, ``NaT``, ``pd.NA`` and blank strings."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, str):
        return not v.strip()
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def plain(x, sig: int = 3, *, missing_text: str = MISSING, max_decimals: int = 8) -> str:
    """A number in plain decimal notation with ``sig`` significant digits (no exponent, no trailing zeros).

    >>> plain(0.00005), plain(0.000667, 1), plain(1234.5), plain(2.0), plain(None)
    ('0.00005', '0.0007', '1235', '2', '—')
    """
    if missing(x):
        return missing_text
    x = float(x)
    if not math.isfinite(x):
        return missing_text
    if x == 0:
        return "0"
    places = max(0, sig - 1 - math.floor(math.log10(abs(x))))
    s = f"{x:.{min(places, max_decimals)}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def multiple(m, *, missing_text: str = MISSING) -> str:
    """An exceedance multiple (超标倍数): two decimals, or the first significant digit of a smaller one.

    ``0.2``, ``0.12``, ``2.65``, ``0.084``, ``0.0007`` (never ``0.00`` for a reading just over its limit).
    """
    if missing(m):
        return missing_text
    m = float(m)
    if abs(m) >= 0.1:
        return f"{m:.2f}".rstrip("0").rstrip(".")
    return plain(m, 1 if abs(m) < 0.01 else 2)


def date_zh(d, *, missing_text: str = MISSING) -> str:
    """``2007年6月30日`` (``—`` when missing)."""
    if missing(d):
        return missing_text
    d = pd.Timestamp(d)
    return f"{d.year}年{d.month}月{d.day}日"


def iso_date(d, *, missing_text: str = MISSING) -> str:
    """``2007-06-30`` (``—`` when missing): dates in tables, where columns of ISO dates sort and align."""
    if missing(d):
        return missing_text
    return pd.Timestamp(d).strftime("%Y-%m-%d")


def text(v, *, missing_text: str = MISSING) -> str:
    """Any cell as text for a person: missing → ``—``, floats plain, dates ISO, booleans 是/否."""
    if missing(v):
        return missing_text
    if isinstance(v, (bool, np.bool_)):
        return "是" if v else "否"
    if isinstance(v, (float, np.floating)):
        return plain(v, 4) if not float(v).is_integer() else str(int(v))
    if isinstance(v, (pd.Timestamp, dt.datetime, np.datetime64)):
        t = pd.Timestamp(v)
        return t.strftime("%Y-%m-%d") if t == t.normalize() else t.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def frame_text(df: pd.DataFrame, *, missing_text: str = MISSING) -> pd.DataFrame:
    """Every cell of ``df`` as text for a person (see :func:`text`); the index is kept."""
    return df.apply(lambda col: col.map(lambda v: text(v, missing_text=missing_text))).astype(object)


def month_ticks(ax, *, axis: str = "x", day: bool = False) -> None:
    """Matplotlib date ticks in Chinese (``2007年6月`` or ``6月30日``) instead of English month names."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    which = ax.xaxis if axis == "x" else ax.yaxis
    loc = mdates.AutoDateLocator(minticks=3, maxticks=7)
    which.set_major_locator(loc)

    def fmt(x, _pos=None):
        d = mdates.num2date(x)
        if day:
            return f"{d.month}月{d.day}日"
        return f"{d.year}年{d.month}月" if d.month == 1 or _pos == 0 else f"{d.month}月"

    which.set_major_formatter(FuncFormatter(fmt))


def for_display(df: pd.DataFrame, *, keep: tuple = (), missing_text: str = MISSING) -> pd.DataFrame:
    """``df`` for an on-screen table: every column holding a missing value becomes text (``—``).

    A table widget shows a missing number as ``None``; columns without gaps stay numeric (they sort
    and align as numbers). ``keep`` names columns left as they are (e.g. a progress bar column).
    """
    out = df.copy()
    for col in out.columns:
        if col in keep or not out[col].isna().any():
            continue
        out[col] = out[col].map(lambda v: text(v, missing_text=missing_text)).astype(object)
    return out
