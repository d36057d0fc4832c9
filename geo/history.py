"""Status history: a site's status on any date, from ``status_events``.

The contract: a site's status on a date is its latest event effective on or
before that date (ties broken by ``recorded_at``, then by table order). A site
with no event by then has no status yet (it was not yet on the ledger).
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import pandas as pd

# What a one-day snapshot's frames hold (geo.progress.snapshot): keys beside the tables.
#: The day the snapshot's site layers stand on.
SNAPSHOT = "snapshot_of"
#: The site layers whose every event up to the day the snapshot holds.
HISTORY = "history_of"
#: A date: the snapshot holds every event up to the day of each site with an event after that date
#: (and before or on the day), whatever its layer: what replaying the changes since then needs.
CHANGED_SINCE = "changed_since"
#: ``{campaign: Steps}``: each campaign's done count changes per day, from the database (the time series
#: without the whole history; :func:`done_steps`).
STEPS = "done_steps"


def replays(frames: Mapping, layer: str, since=None) -> bool:
    """Whether ``frames``' events replay ``layer`` as far back as ``since``: every event of each site changed
    after ``since`` (``None``: every site's whole history) is there.

    Whole tables always do. A snapshot does for the layers whose history it holds, and, from the date it
    holds the changes since (:data:`CHANGED_SINCE`), for any later ``since``.
    """
    if SNAPSHOT not in frames or layer in tuple(frames.get(HISTORY, ())):
        return True
    held = frames.get(CHANGED_SINCE)
    return since is not None and held is not None and pd.Timestamp(held) <= pd.Timestamp(since)


def done_steps(events: pd.DataFrame, done: Iterable[str]) -> pd.DataFrame:
    """Per day, the change in how many sites stand in a ``done`` status: ``date, step`` (int64), one row
    for each day with an event (a zero when the day's events cancel out), in date order.

    Each site's events in the contract's order (:func:`_ordered`): +1 when a site enters a done status,
    −1 when it leaves one. The running sum is the number done at the end of each day. Events without a
    date or a site are left out. The databases answer the same in SQL (``Store.done_steps``).
    """
    ev = events[(events["effective_on"].notna() & events["feature_id"].notna()).to_numpy(bool)]
    if len(ev) == 0:
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "step": pd.Series(dtype="int64")})
    ev = _ordered(ev)
    is_done = ev["status"].isin(list(done)).astype("int64")
    prev = is_done.groupby(ev["feature_id"], sort=False).shift(1, fill_value=0)
    step = (is_done - prev).groupby(pd.to_datetime(ev["effective_on"]).dt.normalize()).sum()
    return pd.DataFrame({"date": step.index.to_numpy().astype("datetime64[ns]"), "step": step.to_numpy().astype("int64")})


def _ordered(events: pd.DataFrame) -> pd.DataFrame:
    ev = events.copy()
    ev["_n"] = np.arange(len(ev))
    rec = ev["recorded_at"] if "recorded_at" in ev.columns else pd.Series(pd.NaT, index=ev.index)
    ev["_rec"] = pd.to_datetime(rec, errors="coerce")
    return ev.sort_values(["effective_on", "_rec", "_n"], kind="stable")


def status_on(events: pd.DataFrame, layer: str, as_of=None) -> pd.Series:
    """Status of each ``layer`` site on ``as_of`` (a date; ``None`` = latest), indexed by feature id.

    The index is in event order (:func:`_ordered`) of each site's latest event; sites whose
    ``feature_id`` is missing are left out.
    """
    mask = (events["layer"] == layer).to_numpy(dtype=bool, na_value=False)
    if as_of is not None:
        mask = mask & (events["effective_on"] <= pd.Timestamp(as_of)).to_numpy(dtype=bool, na_value=False)
    rows = _latest_rows(events, np.flatnonzero(mask))
    if rows is None:  # dates not stored as datetimes: pandas sorts them as they are
        ev = events[mask]
        latest = _ordered(ev).groupby("feature_id", sort=False).tail(1)
    else:
        latest = events.iloc[rows]
    return latest.set_index("feature_id")["status"].rename("status")


def _sort_key(values: pd.Series) -> np.ndarray:
    """Datetimes as int64 that sort as ``sort_values`` sorts them: NaT last."""
    key = values.to_numpy(dtype="datetime64[ns]").view(np.int64)
    return np.where(key == np.iinfo(np.int64).min, np.iinfo(np.int64).max, key)


def _latest_rows(events: pd.DataFrame, idx: np.ndarray) -> np.ndarray | None:
    """Positions (in ``events``) of each site's latest event among rows ``idx``, in :func:`_ordered` order.

    The same as ``_ordered(events.iloc[idx]).groupby("feature_id", sort=False).tail(1)`` with numpy
    sorts instead of a pandas sort and group-by (five times faster on a province's million events);
    ``None`` when ``effective_on`` is not a datetime column (then pandas orders what it holds).
    """
    eff = events["effective_on"]
    if not pd.api.types.is_datetime64_any_dtype(eff) or isinstance(eff.dtype, pd.DatetimeTZDtype):
        return None
    if len(idx) == 0:
        return idx
    sub = events.iloc[idx]
    rec = sub["recorded_at"] if "recorded_at" in sub.columns else pd.Series(pd.NaT, index=sub.index)
    rec = pd.to_datetime(rec, errors="coerce")
    if isinstance(rec.dtype, pd.DatetimeTZDtype):
        return None
    # by effective date, then recording time, then table order (NaT after every date, as pandas sorts)
    order = np.lexsort((np.arange(len(idx)), _sort_key(rec), _sort_key(sub["effective_on"])))
    codes, _ = pd.factorize(sub["feature_id"].to_numpy()[order])  # missing ids: -1, in no group
    last = len(codes) - 1 - np.unique(codes[::-1], return_index=True)[1]  # last position of each code
    last = np.sort(last[codes[last] >= 0])
    return idx[order[last]]


def sites_on(sites: pd.DataFrame, events: pd.DataFrame, layer: str, as_of=None) -> pd.DataFrame:
    """``sites`` as they stood on ``as_of``: ``status`` from the events, sites not yet on the ledger dropped.

    ``as_of=None`` returns the sites with their current status unchanged.
    """
    if as_of is None:
        return sites
    st = status_on(events, layer, as_of)
    pos = st.index.get_indexer(sites["id"])  # one hash look-up per site (the index is unique)
    keep = pos >= 0
    out = sites[keep].copy()
    out["status"] = pd.Series(st.array.take(pos[keep]), index=out.index) if len(out) else out["id"].map(st)
    return out


def active_on(events: pd.DataFrame, layer: str, ids, as_of) -> set:
    """Which of the ``layer`` sites ``ids`` were active on ``as_of`` (their latest event by then; resolved
    statuses are not active), replaying only their events."""
    from .rules import is_active

    ids = set(ids)
    st = status_on(events[events["feature_id"].isin(ids).to_numpy(bool)], layer, as_of)
    act = np.asarray(is_active(np.full(len(st), layer, dtype=object), st.to_numpy(dtype=object)), bool)
    return set(st.index.to_numpy(object)[act])


def changed_on(events: pd.DataFrame, layer: str, status: str, day) -> pd.Index:
    """Ids of ``layer`` sites whose status became ``status`` by an event effective on ``day``."""
    day = pd.Timestamp(day)
    ev = events[(events["layer"] == layer) & (events["status"] == status) & (events["effective_on"] == day)]
    return pd.Index(ev["feature_id"].unique())


def history_of(events: pd.DataFrame, layer: str, feature_id: str) -> pd.DataFrame:
    """The events of one site, oldest first."""
    ev = events[(events["layer"] == layer) & (events["feature_id"] == feature_id)]
    return _ordered(ev).drop(columns=["_n", "_rec"]).reset_index(drop=True)


def edits_of(edits: pd.DataFrame, layer: str, feature_id: str) -> pd.DataFrame:
    """The recorded field changes of one site (``edits``: a ledger update's rename, move …), oldest first.

    The history beside :func:`history_of`: ``status_events`` hold the status, ``edits`` every other change
    with who made it, when, from which file row, old → new and a move's distance (``moved_m``).
    """
    e = edits[((edits["layer"] == layer) & (edits["feature_id"] == feature_id)).to_numpy(dtype=bool)]
    order = np.lexsort((np.arange(len(e)), _sort_key(pd.to_datetime(e["recorded_at"]))))
    return e.iloc[order].reset_index(drop=True)
