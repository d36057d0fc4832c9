"""How urgent a patrol stop is: a score of 0–100 from what makes it urgent, and the reasons in words.

When a day cannot hold every stop, :mod:`geo.patrol` keeps the most urgent ones
(:func:`geo.routing.solve_by_priority`, in tiers of :data:`TIER` points) and
lists the others with why they were left out. The score adds up:

- the kind of stop: :data:`geo.patrol.DEFAULT_PRIORITY` (1–3) × 10 points
  (an overdue site or an outfall sample 30, a riverside site or a committed plant 20,
  a closed kiln spot check 10);
- closeness to water, for sites inside the riverside limit: up to
  :data:`WATER_POINTS` at the water's edge, falling linearly to 0 at the limit
  (31 m of 200 m → 34 points);
- days overdue: up to :data:`OVERDUE_POINTS` at :data:`OVERDUE_FULL_DAYS` days
  past the deadline;
- an outfall over its discharge limit (:mod:`geo.discharge`; for a plant, its
  outfall): :data:`OUTFALL_POINTS` plus up to :data:`OUTFALL_MULTIPLE_POINTS` by
  the exceedance multiple (1 × over the limit or more);
- open complaints about the site (``complaints_open``, a count): :data:`COMPLAINT_POINTS`
  (the hook for casework; :func:`geo.patrol.select_stops` leaves the column empty).

Capped at 100. Equal scores keep the solver free to pick the shorter route.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import fmt

WATER_POINTS = 40.0
OVERDUE_POINTS = 30.0
OVERDUE_FULL_DAYS = 180.0
OUTFALL_POINTS = 20.0
OUTFALL_MULTIPLE_POINTS = 10.0
COMPLAINT_POINTS = 25.0
#: stops whose scores fall in the same band of this many points are one tier for the solver
TIER = 10


def _col(stops: pd.DataFrame, name: str, default=np.nan) -> pd.Series:
    if name in stops.columns:
        return stops[name]
    return pd.Series(default, index=stops.index)


def score(stops: pd.DataFrame, *, base: pd.Series, limit_m: float) -> pd.DataFrame:
    """Urgency of each stop and why, from the columns :func:`geo.patrol.select_stops` gives.

    Parameters
    ----------
    stops : ``distance_m`` (to water, riverside sites), optionally ``days_overdue``, ``outfall_over``
        (bool), ``outfall_multiple`` (超标倍数), ``outfall_exceeding`` (text) and ``complaints_open`` (int).
    base : points of the stop's kind (10 × its priority 1–3).
    limit_m : the riverside limit the distances were taken against.

    Returns
    -------
    DataFrame (same index): ``urgency`` (int 0–100), ``tier`` (``urgency // TIER``) and
    ``urgency_note`` (the reasons, e.g. ``距水体31米（限值200米）；逾期45天``).
    """
    d = pd.to_numeric(_col(stops, "distance_m"), errors="coerce").to_numpy(float)
    water = np.where(np.isnan(d), 0.0, WATER_POINTS * np.clip(1.0 - d / float(limit_m), 0.0, 1.0))
    late = pd.to_numeric(_col(stops, "days_overdue"), errors="coerce").fillna(0).clip(lower=0).to_numpy(float)
    overdue = OVERDUE_POINTS * np.minimum(late / OVERDUE_FULL_DAYS, 1.0)
    over = _col(stops, "outfall_over", False).astype("boolean").fillna(False).to_numpy(bool)
    mult = pd.to_numeric(_col(stops, "outfall_multiple"), errors="coerce").fillna(0).clip(lower=0).to_numpy(float)
    outfall = np.where(over, OUTFALL_POINTS + OUTFALL_MULTIPLE_POINTS * np.minimum(mult, 1.0), 0.0)
    complaints = pd.to_numeric(_col(stops, "complaints_open"), errors="coerce").fillna(0).to_numpy(float)
    complaint = np.where(complaints > 0, COMPLAINT_POINTS, 0.0)
    total = np.asarray(base, float) + water + overdue + outfall + complaint
    urgency = np.clip(np.rint(total), 0, 100).astype(int)
    exceeding = _col(stops, "outfall_exceeding", None)
    notes = []
    for i in range(len(stops)):
        parts = []
        if not np.isnan(d[i]):
            parts.append(f"距水体{fmt.plain(d[i], 3) if d[i] < 10 else f'{d[i]:.0f}'}米（限值{limit_m:g}米）")
        if late[i] > 0:
            parts.append(f"逾期{late[i]:.0f}天")
        if over[i]:
            ex = exceeding.iat[i]
            # under the heading 排口超标 the multiples need not say 超标 again ("COD 超标0.5倍" → "COD 0.5倍")
            parts.append("排口超标" + (f"（{ex.replace(' 超标', ' ')}）" if isinstance(ex, str) and ex else ""))
        if complaints[i] > 0:
            parts.append(f"未办结投诉{complaints[i]:.0f}件")
        notes.append("；".join(parts))
    return pd.DataFrame({"urgency": urgency, "tier": urgency // TIER, "urgency_note": notes}, index=stops.index)
