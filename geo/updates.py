"""Field status updates: an inspector reports that a site closed, moved, passed acceptance…

Each update appends one ``status_events`` row (who, when recorded, when
effective, note) and sets the site's ``status`` to its latest event, in ONE
commit, so the history and the current status never disagree. An update dated
before the site's latest event is kept in the history but does not change the
current status (the later event still stands).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from . import contract
from .contract import SITE_LAYERS, STATUS, TABLES
from .errors import GeoError
from .history import history_of
from .store import Change, latest_status

#: Longest note accepted (a field remark, not a report).
MAX_NOTE = 500


@dataclass(frozen=True)
class StatusUpdate:
    """What an update did: the appended event and the site's status after it."""

    layer: str
    feature_id: str
    event: dict
    previous: str | None
    current: str

    @property
    def changed_current(self) -> bool:
        return self.previous != self.current


def _status_code(layer: str, status: str) -> str:
    from .intake.ledger import parse_status

    code = parse_status(status, layer) if status else None
    if code is None:
        allowed = "、".join(contract.status_label(s, layer) for s in STATUS[layer])
        raise GeoError(f"“{status}”不是{contract.LAYER_LABELS[layer]}的有效状态（可选：{allowed}）。",
                       f"{status!r} is not a status of {layer} (one of {', '.join(STATUS[layer])})")
    return code


def update_status(store, layer: str, feature_id: str, status: str, effective_on, note: str | None, user: str,
                  *, now: dt.datetime | None = None, today: dt.date | None = None) -> StatusUpdate:
    """Record a status change of one site: the event and the site's new current status in one commit.

    Parameters
    ----------
    store : an open :class:`geo.store.Store`.
    layer : ``enterprises``, ``kilns`` or ``farms``.
    feature_id : the site's id.
    status : a status code of ``layer`` (or its Chinese word, e.g. ``已关停``).
    effective_on : the date the change took effect (not after ``today``, nor after the store's
        ``as_of`` for a store replaying a past date: :func:`geo.datecheck.latest_allowed`).
    note : a remark (kept verbatim; at most :data:`MAX_NOTE` characters).
    user : who records it (``recorded_by``); required.
    now, today : clock (tests pass fixed values).

    Raises
    ------
    geo.errors.GeoError
        Unknown layer, site or status, empty user, bad or future date, note too long.
    """
    if layer not in SITE_LAYERS:
        raise GeoError(f"图层“{layer}”没有整治状态。", f"layer {layer!r} has no status (one of {', '.join(SITE_LAYERS)})")
    user = (user or "").strip()
    if not user:
        raise GeoError("必须指明录入人。", "the recording user is required")
    code = _status_code(layer, (status or "").strip())
    now = now or dt.datetime.now().replace(microsecond=0)
    today = today or now.date()
    try:
        eff = pd.Timestamp(effective_on).normalize()
    except (ValueError, TypeError):
        eff = pd.NaT
    if pd.isna(eff):
        from .io.cells import parse_date

        eff = parse_date(effective_on) if effective_on is not None else None
        if eff is None:
            raise GeoError(f"生效日期“{effective_on}”无法识别。", f"effective date {effective_on!r} is not a date")
    _refuse_future(store, eff, today)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise GeoError(f"备注过长（上限 {MAX_NOTE} 字）。", f"note too long (limit {MAX_NOTE} characters)")
    feature_id = str(feature_id).strip()
    event = {"layer": layer, "feature_id": feature_id, "status": code, "effective_on": eff,
             "recorded_at": pd.Timestamp(now), "recorded_by": user, "note": note or None}
    ev_row = contract.coerce("status_events", pd.DataFrame([event], columns=TABLES["status_events"].column_names))

    def record(tx) -> StatusUpdate:
        # Read the site and its events inside the unit, and write only the event (the store sets the
        # status to the latest event): an import or another inspector writing meanwhile is never undone.
        site = tx.read(layer, where={"id": [feature_id]}, for_update=True)
        if len(site) == 0:
            raise GeoError(f"{contract.LAYER_LABELS[layer]}中没有编号为“{feature_id}”的点位。",
                           f"no {layer} site with id {feature_id!r}")
        events = tx.read("status_events", where={"layer": [layer], "feature_id": [feature_id]})
        latest = latest_status(pd.concat([events, ev_row], ignore_index=True), layer)
        current = str(latest.get(feature_id, code))
        changes = [Change("status_events", ev_row, "append")]
        if current == "closed" and code == "closed" and "closed_on" in site.columns:
            # The closure date follows the event that closed it (the ledger column and history agree).
            changes.append(Change(layer, pd.DataFrame({"id": [feature_id], "closed_on": [eff]}), "upsert",
                                  columns=["closed_on"]))
        tx.commit(changes)
        return StatusUpdate(layer, feature_id, event, site["status"].iloc[0], current)

    return store.atomic(record)


def _refuse_future(store, eff: pd.Timestamp, today: dt.date) -> None:
    """Refuse an effective date after today (or after the ``as_of`` of a replay store)."""
    from .datecheck import future_message, is_future, latest_allowed

    limit = latest_allowed(store, today)
    if is_future(eff, limit):
        raise GeoError(*future_message("生效日期", "the effective date", eff, limit, today))


def site_history(store, layer: str, feature_id: str) -> pd.DataFrame:
    """The site's events, oldest first (see :func:`geo.history.history_of`); reads only that site's events."""
    events = store.read("status_events", where={"layer": [layer], "feature_id": [str(feature_id)]})
    return history_of(events, layer, str(feature_id))

