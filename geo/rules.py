"""The domain rules of Qingshan, each written once.

Every page, map layer, command and export asks this module; none restates a
rule. The rules and why they are as they are:

Resolved and active (the riverside rule)
----------------------------------------
A site is **resolved** when its status takes it out of the 200 m riverside
rule: it no longer stands on the spot or no longer does what made it a risk.
Every other site is **active** and is checked against the limit.

============  ==============================  ======================================
layer         resolved                        still active (examples)
============  ==============================  ======================================
enterprises   closed, relocated, converted    operating, committed, suspended
kilns         closed, relocated               operating, **rebuilt**
farms         closed, relocated               operating, treating, **accepted**
============  ==============================  ======================================

Done (the closure campaigns)
----------------------------
A campaign target is **done** when its status finishes the campaign:

- chemical (化工园区关停, enterprises): closed, relocated, converted;
- lime (石灰窑（棚）整治, kilns): closed, **rebuilt**, relocated;
- livestock (畜禽养殖场治理, farms): **accepted**, closed, relocated.

Each site layer has exactly one campaign, so "done" is also defined per layer
(:data:`DONE`); a site outside its layer's campaign (an enterprise outside the
chemical park that has a deadline) is done by the same statuses.

The decision on rebuilt kilns (and accepted farms). The source report counts
the lime campaign's results as "85 sheds and 26 kilns closed, 49 rebuilt or
relocated": a kiln rebuilt to the new standard no longer burns lime the old
way, so it is **rectified (done) for the kiln campaign**. It still stands where
it stood and still works, so it **stays active for the riverside rule** and is
listed when it lies within the limit. Likewise a farm whose treatment passed
acceptance is done for the livestock campaign and still active by the river.
Done and resolved therefore differ exactly by ``kilns: rebuilt`` and
``farms: accepted`` (``tests/test_rules.py`` pins this). Before this module,
``geo.patrol`` took "done" from the riverside set and listed every rebuilt kiln
with a passed deadline as overdue.

Overdue
-------
A site is **overdue** on a day when it has a ``deadline``, the deadline is
strictly before the day (a deadline of 30 September is met on 30 September),
and the site is not done on that day. A site without a deadline is never
overdue. Progress figures, the wall screen and the patrol's ``overdue``
selection all use :func:`overdue_mask`.

Default as-of date
------------------
When nobody names a date, figures are "as the data stands": the store's
``as_of`` meta entry (``YYYY-MM-DD``; the demo: 2007-06-30), else today
(also when the entry is not a date). Pages (``ui.report_date``), commands
without ``--as-of`` and domain functions given a store and no date all call
:func:`default_as_of`.
"""
from __future__ import annotations

import datetime as dt
from typing import Mapping

import numpy as np
import pandas as pd

from . import config
from .errors import GeoError, InputError


def riverside_limit_m() -> float:
    """The riverside rule's limit D in metres (``[riverside] limit_m`` of qingshan.toml, 200 by default).

    Every page, file, command and the township assessment take the limit from here; a function given
    ``distance=None`` means this limit. (An older config's ``[wall] buffer_m`` is read when
    ``[riverside] limit_m`` is absent.)
    """
    value = config.load().get("riverside", {}).get("limit_m")
    if value is None:
        value = config.load().get("wall", {}).get("buffer_m")
    if value is None:
        value = config.DEFAULTS["riverside"]["limit_m"]
    limit = float(value)
    if not limit > 0:
        raise GeoError(f"沿河限距配置无效（[riverside] limit_m = {value}）。", f"invalid [riverside] limit_m {value!r}")
    return limit

#: Statuses that take a site out of the riverside rule (a resolved site is never a violation).
RESOLVED: dict[str, frozenset] = {
    "enterprises": frozenset({"closed", "relocated", "converted"}),
    "kilns": frozenset({"closed", "relocated"}),
    "farms": frozenset({"closed", "relocated"}),
}

#: Statuses that finish a target of each closure campaign.
CAMPAIGN_DONE: dict[str, frozenset] = {
    "chemical": frozenset({"closed", "relocated", "converted"}),
    "lime": frozenset({"closed", "rebuilt", "relocated"}),
    "livestock": frozenset({"accepted", "closed", "relocated"}),
}
#: The site layer of each campaign (one campaign per layer).
CAMPAIGN_LAYER = {"chemical": "enterprises", "lime": "kilns", "livestock": "farms"}

#: Statuses that count as done for a site of each layer (its campaign's).
DONE: dict[str, frozenset] = {layer: CAMPAIGN_DONE[c] for c, layer in CAMPAIGN_LAYER.items()}


# --- resolved / active / done ------------------------------------------------------------------

def _member(table: Mapping[str, frozenset], layer, status):
    """Elementwise ``status in table[layer]``; ``layer`` is one name or aligned with ``status``."""
    if np.ndim(status) == 0:
        return status in table.get(layer, frozenset())
    # object Series, not pandas' inferred Arrow strings: converting 100 000 statuses to Arrow and back
    # cost more than the membership test itself
    st = pd.Series(np.asarray(status, dtype=object), dtype=object)
    if np.ndim(layer) == 0:
        return st.isin(table.get(layer, frozenset())).to_numpy(bool)
    lay = pd.Series(np.asarray(layer, dtype=object), dtype=object)
    out = np.zeros(len(st), bool)
    for name in lay.unique():
        sel = (lay == name).to_numpy()
        out[sel] = st[sel].isin(table.get(name, frozenset())).to_numpy(bool)
    return out


def is_resolved(layer, status):
    """Whether ``status`` takes a ``layer`` site out of the riverside rule.

    Parameters
    ----------
    layer : str or array-like
        A site layer, or one layer per status.
    status : str or array-like
        Status codes (unknown codes and blanks are not resolved).

    Returns
    -------
    bool or numpy.ndarray
        A bool for a scalar status, else a bool array aligned with ``status``.
    """
    return _member(RESOLVED, layer, status)


def is_active(layer, status):
    """Whether a ``layer`` site of ``status`` falls under the riverside rule (the negation of :func:`is_resolved`)."""
    r = is_resolved(layer, status)
    return (not r) if isinstance(r, bool) else ~r


def is_done(layer, status):
    """Whether ``status`` finishes a ``layer`` site's rectification (its campaign's done statuses).

    Same arguments and result as :func:`is_resolved`.
    """
    return _member(DONE, layer, status)


def campaign_done(campaign: str) -> frozenset:
    """The statuses that finish a target of ``campaign`` (``chemical``, ``lime``, ``livestock``)."""
    try:
        return CAMPAIGN_DONE[campaign]
    except KeyError:
        raise GeoError(f"没有专项“{campaign}”（可选：{'、'.join(CAMPAIGN_DONE)}）。",
                       f"unknown campaign {campaign!r}; one of {', '.join(CAMPAIGN_DONE)}") from None


# --- deadlines and overdue -----------------------------------------------------------------------

def days_left(deadline, day) -> pd.Series:
    """Whole days from ``day`` to each ``deadline`` (negative: past it), ``<NA>`` without a deadline."""
    dl = pd.to_datetime(pd.Series(deadline))
    return (dl - as_day(day)).dt.days.astype("Int64")


def overdue_mask(sites: pd.DataFrame, layer, day) -> pd.Series:
    """Which ``sites`` are overdue on ``day``: a deadline strictly before ``day`` and not done.

    Parameters
    ----------
    sites : DataFrame
        Sites with ``status`` and, optionally, ``deadline`` (no column: nobody is overdue),
        as they stood on ``day``.
    layer : str or array-like
        Their layer, or one layer per row.
    day : date-like
        The day asked.

    Returns
    -------
    pandas.Series
        Bool, indexed like ``sites``.
    """
    if "deadline" not in sites.columns or len(sites) == 0:
        return pd.Series(False, index=sites.index, dtype=bool)
    past = (pd.to_datetime(sites["deadline"]) < as_day(day)).fillna(False).to_numpy(bool)
    done = is_done(layer if np.ndim(layer) == 0 else np.asarray(layer, dtype=object), sites["status"].to_numpy())
    return pd.Series(past & ~np.asarray(done, bool), index=sites.index, dtype=bool)


# --- dates ----------------------------------------------------------------------------------------

def today() -> pd.Timestamp:
    """Today at midnight (local time)."""
    return pd.Timestamp(dt.date.today())


def as_day(value) -> pd.Timestamp:
    """A date-like value (date, ``YYYY-MM-DD``, Timestamp) as a midnight ``Timestamp``.

    Raises ``ValueError`` when ``value`` is not a date.
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InputError(f"不是日期：“{value}”（应为 年-月-日，如 2007-06-30）。", f"not a date: {value!r}") from None
    if pd.isna(ts):
        raise InputError(f"不是日期：“{value}”（应为 年-月-日，如 2007-06-30）。", f"not a date: {value!r}")
    return ts.normalize()


def _meta_value(meta, key: str):
    if meta is None:
        return None
    if isinstance(meta, pd.DataFrame):
        if len(meta) == 0 or not {"key", "value"} <= set(meta.columns):
            return None
        return dict(zip(meta["key"], meta["value"])).get(key)
    return meta.get(key)


def default_as_of(meta=None) -> pd.Timestamp:
    """The date figures stand at when nobody names one: the store's ``as_of`` meta entry, else today.

    Parameters
    ----------
    meta : Mapping, DataFrame or None
        The store's meta entries: ``Store.meta()`` (a dict) or the ``meta``
        table (``key``, ``value`` columns).

    Returns
    -------
    pandas.Timestamp
        Midnight of that day. An ``as_of`` entry that is not a date is ignored (today).
    """
    value = _meta_value(meta, "as_of")
    if value is None or (isinstance(value, str) and not value.strip()) or (
            not isinstance(value, str) and pd.isna(value)):
        return today()
    try:
        return as_day(str(value).strip())
    except ValueError:
        return today()


def resolve_as_of(value, meta=None) -> pd.Timestamp:
    """A user's date, or :func:`default_as_of` when none was given.

    Parameters
    ----------
    value : str, date, Timestamp or None
        Text must be ``YYYY-MM-DD``; ``None`` or blank text means "not given".
    meta : Mapping, DataFrame or None
        The store's meta entries (see :func:`default_as_of`).

    Raises
    ------
    GeoError
        When ``value`` is text that is not a ``YYYY-MM-DD`` date (bilingual message).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return default_as_of(meta)
    if isinstance(value, str):
        try:
            return pd.Timestamp(dt.date.fromisoformat(value.strip()))
        except ValueError:
            raise GeoError(f"日期格式应为 YYYY-MM-DD，收到“{value}”。",
                           f"a date must be YYYY-MM-DD, got {value!r}.") from None
    try:
        return as_day(value)
    except ValueError:
        raise GeoError(f"无法识别的日期：{value!r}", f"not a date: {value!r}") from None
