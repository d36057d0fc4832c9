"""Status history: a site's status on any date, from ``status_events``.

The contract: a site's status on a date is its latest event effective on or
before that date (ties broken by ``recorded_at``, then by table order). A site
with no event by then has no status yet (it was not yet on the ledger).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def _ordered(events: pd.DataFrame) -> pd.DataFrame:
    ev = events.copy()
    ev["_n"] = np.arange(len(ev))
    rec = ev["recorded_at"] if "recorded_at" in ev.columns else pd.Series(pd.NaT, index=ev.index)
    ev["_rec"] = pd.to_datetime(rec, errors="coerce")
    return ev.sort_values(["effective_on", "_rec", "_n"], kind="stable")


def status_on(events: pd.DataFrame, layer: str, as_of=None) -> pd.Series:
    """Status of each ``layer`` site on ``as_of`` (a date; ``None`` = latest), indexed by feature id."""
    ev = events[events["layer"] == layer]
    if as_of is not None:
        ev = ev[ev["effective_on"] <= pd.Timestamp(as_of)]
    latest = _ordered(ev).groupby("feature_id", sort=False).tail(1)
    return latest.set_index("feature_id")["status"].rename("status")


def sites_on(sites: pd.DataFrame, events: pd.DataFrame, layer: str, as_of=None) -> pd.DataFrame:
    """``sites`` as they stood on ``as_of``: ``status`` from the events, sites not yet on the ledger dropped.

    ``as_of=None`` returns the sites with their current status unchanged.
    """
    if as_of is None:
        return sites
    st = status_on(events, layer, as_of)
    out = sites[sites["id"].isin(st.index)].copy()
    out["status"] = out["id"].map(st)
    return out


def changed_on(events: pd.DataFrame, layer: str, status: str, day) -> pd.Index:
    """Ids of ``layer`` sites whose status became ``status`` by an event effective on ``day``."""
    day = pd.Timestamp(day)
    ev = events[(events["layer"] == layer) & (events["status"] == status) & (events["effective_on"] == day)]
    return pd.Index(ev["feature_id"].unique())


def history_of(events: pd.DataFrame, layer: str, feature_id: str) -> pd.DataFrame:
    """The events of one site, oldest first."""
    ev = events[(events["layer"] == layer) & (events["feature_id"] == feature_id)]
    return _ordered(ev).drop(columns=["_n", "_rec"]).reset_index(drop=True)
