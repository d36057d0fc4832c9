"""Closure progress: how far each campaign is, by township and over time.

Everything here is replayed from ``status_events`` (via :mod:`geo.history`),
so every figure can be asked "as it stood on" any date.

``frames`` is a mapping of contract tables: ``townships``, ``status_events``,
``enterprises``, ``kilns``, ``farms`` (missing site layers count as empty).
Call :func:`prepare` once to attach each site's township; every function
also accepts unprepared frames and does the spatial join itself.

Campaigns and their targets
---------------------------
- **chemical** (化工园区关停): the enterprises in the 沈家经济开发区 park (``park``
  column).
- **lime** (石灰窑（棚）整治): every kiln and shed (``kind`` kiln / shed).
- **livestock** (畜禽养殖场治理): the farms that are treatment targets, i.e. that
  have a ``treating`` event effective on or before the date asked.

What "done" and "overdue" mean (a rebuilt kiln is done, an accepted farm is
done) is decided in :mod:`geo.rules`, the one place for those rules.
The wall screen reads :func:`kpis`.
"""
from __future__ import annotations

import math
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from . import contract, history, memo, rules
from .errors import GeoError
from .rules import as_day  # also re-exported: callers use progress.as_day
from .spatial import township_of

CHEMICAL_PARK = "沈家经济开发区"
#: Township label of sites whose point lies in no township polygon.
OUTSIDE = "（界外）"
#: Group label of sites whose group column is empty.
UNKNOWN_GROUP = "（未填）"

#: ``destination`` values that mean "closes or converts where it stands" (no relocation site).
IN_PLACE = frozenset({"就地关停", "就地转产", "就地转型"})

GROUP_COLUMN = {"enterprises": "industry", "kilns": "kind", "farms": "species"}
GROUP_LABELS = {"kiln": "石灰窑", "shed": "石灰钙棚"}

#: Statuses that count as done per site layer (:data:`geo.rules.DONE`, re-exported).
DONE = rules.DONE

#: Chinese headers for exports and tables.
HEADERS = {
    "layer": "图层", "group": "类别", "township": "乡镇", "status": "状态", "count": "数量",
    "campaign": "专项", "id": "编号", "name": "名称", "deadline": "整改期限", "days_left": "剩余天数",
    "overdue": "是否逾期", "department": "结对部门", "destination": "搬迁去向", "committed_on": "承诺签订日期",
    "targets": "目标数", "done": "已完成", "pending": "未完成", "rate": "完成率(%)", "score": "得分", "rank": "排名",
    "date": "日期", "paired": "结对企业数", "village": "所属村",
}


@dataclass(frozen=True)
class Campaign:
    """A closure campaign: which sites of ``layer`` are its targets, and which statuses finish one."""

    key: str
    label: str
    layer: str
    done: frozenset
    #: ``select(sites, events, as_of) -> bool mask`` over ``sites`` (already as they stood on ``as_of``)
    select: Callable[[pd.DataFrame, pd.DataFrame, pd.Timestamp | None], pd.Series]
    unit: str = "家"


def _in_park(sites: pd.DataFrame, events: pd.DataFrame, as_of) -> pd.Series:
    if "park" not in sites.columns:
        return pd.Series(False, index=sites.index)
    return sites["park"].eq(CHEMICAL_PARK).fillna(False).astype(bool)


def _every(sites: pd.DataFrame, events: pd.DataFrame, as_of) -> pd.Series:
    return pd.Series(True, index=sites.index)


def _ever_treating(sites: pd.DataFrame, events: pd.DataFrame, as_of) -> pd.Series:
    ev = events[(events["layer"] == "farms") & (events["status"] == "treating")]
    if as_of is not None:
        ev = ev[ev["effective_on"] <= as_of]
    return sites["id"].isin(ev["feature_id"])


CAMPAIGNS: dict[str, Campaign] = {
    c.key: c
    for c in (
        Campaign("chemical", "化工园区关停", "enterprises", rules.campaign_done("chemical"), _in_park, "家"),
        Campaign("lime", "石灰窑（棚）整治", "kilns", rules.campaign_done("lime"), _every, "座"),
        Campaign("livestock", "畜禽养殖场治理", "farms", rules.campaign_done("livestock"), _ever_treating, "家"),
    )
}


# --- inputs ---------------------------------------------------------------------------------

def prepare(frames: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``frames`` with a ``township`` column on every site layer (one spatial join per layer)."""
    out = dict(frames)
    towns = frames.get("townships")
    for layer in contract.SITE_LAYERS:
        sites = frames.get(layer)
        if sites is None:
            out[layer] = contract.empty(layer).assign(township=pd.Series(dtype=object))
            continue
        if "township" not in sites.columns:
            sites = sites.copy()
            sites["township"] = township_of(sites, towns) if towns is not None and len(towns) else pd.NA
        out[layer] = sites
    if "status_events" not in out:
        out["status_events"] = contract.empty("status_events")
    return out


def _events(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    ev = frames.get("status_events")
    return contract.empty("status_events") if ev is None else ev


def sites_as_of(frames: Mapping[str, pd.DataFrame], layer: str, as_of=None) -> pd.DataFrame:
    """The ``layer`` sites as they stood on ``as_of`` (``None``: now), with ``township`` and ``group``.

    Sites not yet on the ledger on ``as_of`` are left out; ``township`` is
    :data:`OUTSIDE` for a point in no township, ``group`` is the layer's group
    column (:data:`GROUP_COLUMN`) with :data:`UNKNOWN_GROUP` for blanks.
    """
    frames = prepare(frames) if "township" not in frames.get(layer, pd.DataFrame()).columns else frames
    day = None if as_of is None else as_day(as_of)
    return memo.remember(frames, ("sites_as_of", layer, day), lambda: _sites_as_of(frames, layer, day),
                         uses=(layer, "status_events", "townships"))


def _sites_as_of(frames: Mapping[str, pd.DataFrame], layer: str, day) -> pd.DataFrame:
    sites = frames[layer]
    if SNAPSHOT in frames:  # the sites already stand on their day (:func:`snapshot`): nothing to replay
        _same_day(frames, day)
        out = pd.DataFrame(sites).copy()
    else:
        out = history.sites_on(pd.DataFrame(sites), _events(frames), layer, day).copy()
    out["township"] = out["township"].astype(object).where(out["township"].notna(), OUTSIDE)
    gcol = GROUP_COLUMN[layer]
    grp = out[gcol] if gcol in out.columns else pd.Series(None, index=out.index, dtype=object)
    out["group"] = grp.astype(object).where(grp.notna() & grp.astype(str).str.strip().ne(""), UNKNOWN_GROUP)
    return out


# --- counts ---------------------------------------------------------------------------------

COUNT_COLUMNS = ["layer", "group", "township", "status", "count"]


def counts(frames: Mapping[str, pd.DataFrame], as_of=None) -> pd.DataFrame:
    """Sites by layer × group × township × status on ``as_of``: columns ``layer,group,township,status,count``.

    Only combinations that occur are listed; rows are in layer order, then
    group, township and status (status in contract order).
    """
    frames = prepare(frames)
    parts = []
    for layer in contract.SITE_LAYERS:
        s = sites_as_of(frames, layer, as_of)
        if len(s) == 0:
            continue
        g = s.groupby(["group", "township", "status"], sort=False).size().rename("count").reset_index()
        g.insert(0, "layer", layer)
        order = {st: i for i, st in enumerate(contract.STATUS[layer])}
        g["_s"] = g["status"].map(order).fillna(len(order))
        parts.append(g.sort_values(["group", "township", "_s"]).drop(columns="_s"))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "count" else object) for c in COUNT_COLUMNS})
    out = pd.concat(parts, ignore_index=True)[COUNT_COLUMNS]
    out["count"] = out["count"].astype("int64")
    return out


# --- campaigns ------------------------------------------------------------------------------

def _campaign(campaign: str | Campaign) -> Campaign:
    if isinstance(campaign, Campaign):
        return campaign
    try:
        return CAMPAIGNS[campaign]
    except KeyError:
        raise GeoError(f"没有专项“{campaign}”（可选：{'、'.join(f'{k}（{c.label}）' for k, c in CAMPAIGNS.items())}）。",
                       f"unknown campaign {campaign!r}; one of {', '.join(CAMPAIGNS)}") from None


def targets(frames: Mapping[str, pd.DataFrame], campaign: str | Campaign, as_of=None) -> pd.DataFrame:
    """The campaign's target sites as they stood on ``as_of``, with a boolean ``done`` column."""
    c = _campaign(campaign)
    day = None if as_of is None else as_day(as_of)
    # the wall's tiles, trends, alerts and assessment each ask for the same targets of a snapshot: once
    return memo.remember(frames, ("targets", c.key, day),
                         lambda: _select(c, sites_as_of(frames, c.layer, day), _events(frames), day),
                         uses=(c.layer, "status_events", "townships"))


def _select(c: Campaign, sites: pd.DataFrame, events: pd.DataFrame, day) -> pd.DataFrame:
    """``c``'s targets among ``sites`` (already as they stood on ``day``), with ``done``."""
    s = sites[c.select(sites, events, day).to_numpy()].copy()
    s["done"] = s["status"].isin(c.done)
    return s


def completion(frames: Mapping[str, pd.DataFrame], campaign: str | Campaign, as_of=None) -> pd.DataFrame:
    """Completion of ``campaign`` per township on ``as_of``: ``township, targets, done, pending, rate``.

    Every township of the ``townships`` table is listed (in table order; those
    with no target have ``rate`` NaN), then :data:`OUTSIDE` if any target lies
    outside them. ``rate`` = done ÷ targets in [0, 1].
    """
    frames = prepare(frames)
    t = targets(frames, campaign, as_of)
    g = t.groupby("township", sort=False)["done"].agg(targets="size", done="sum")
    names = list(frames["townships"]["name"]) if "townships" in frames else []
    extra = [n for n in g.index if n not in names]
    g = g.reindex(names + extra, fill_value=0)
    g["targets"] = g["targets"].astype("int64")
    g["done"] = g["done"].astype("int64")
    g["pending"] = g["targets"] - g["done"]
    g["rate"] = (g["done"] / g["targets"].where(g["targets"] > 0)).astype("float64")
    return g.rename_axis("township").reset_index()


def campaign_deadline(frames: Mapping[str, pd.DataFrame], campaign: str | Campaign, as_of=None) -> pd.Timestamp | None:
    """The campaign's deadline: the latest ``deadline`` among its targets (``None`` when none has one)."""
    return _deadline(targets(frames, campaign, as_of))


def _deadline(t: pd.DataFrame) -> pd.Timestamp | None:
    if "deadline" not in t.columns or t["deadline"].isna().all():
        return None
    return pd.Timestamp(t["deadline"].max()).normalize()


def summary(frames: Mapping[str, pd.DataFrame], campaign: str | Campaign, as_of=None) -> dict:
    """Totals of one campaign on ``as_of``: targets, done, pending, rate, by status, deadline, days left."""
    c = _campaign(campaign)
    day = None if as_of is None else as_day(as_of)
    return _summary(c, targets(frames, c, day), day)


def _summary(c: Campaign, t: pd.DataFrame, day) -> dict:
    n, d = len(t), int(t["done"].sum())
    deadline = _deadline(t)
    ref = day if day is not None else rules.today()
    return {
        "campaign": c.key, "label": c.label, "layer": c.layer,
        "targets": n, "done": d, "pending": n - d, "rate": (d / n) if n else None,
        "by_status": {k: int(v) for k, v in t["status"].value_counts().items()},
        "deadline": None if deadline is None else deadline.date(),
        "days_to_deadline": None if deadline is None else int((deadline - ref).days),
    }


# --- pending and overdue --------------------------------------------------------------------

PENDING_COLUMNS = ["campaign", "layer", "id", "name", "group", "township", "status", "deadline", "days_left",
                   "overdue", "department", "destination", "committed_on"]


def _campaign_of(frames, layer: str, sites: pd.DataFrame, day) -> pd.Series:
    out = pd.Series(None, index=sites.index, dtype=object)
    for c in CAMPAIGNS.values():
        if c.layer == layer and len(sites):
            mask = c.select(sites, _events(frames), day).to_numpy()
            out[mask & out.isna().to_numpy()] = c.key
    return out


def _with_days(df: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """``deadline``, ``days_left`` and ``overdue`` (:func:`geo.rules.overdue_mask`) on rows with ``layer``."""
    dl = pd.to_datetime(df["deadline"]) if "deadline" in df.columns else pd.Series(pd.NaT, index=df.index)
    df["deadline"] = dl
    df["days_left"] = rules.days_left(dl, day).to_numpy()
    df["overdue"] = rules.overdue_mask(df, df["layer"].to_numpy(), day).to_numpy()
    return df


def pending_sites(frames: Mapping[str, pd.DataFrame], as_of, campaign: str | None = None) -> pd.DataFrame:
    """Campaign targets not done on ``as_of`` (all campaigns, or one), with deadline and days left.

    ``days_left`` = deadline − ``as_of`` in days (negative: overdue by that
    many); ``department`` / ``destination`` / ``committed_on`` come from the
    enterprise ledger where present. Sorted by days left (overdue first).
    """
    frames = prepare(frames)
    day = as_day(as_of)
    keys = [campaign] if campaign else list(CAMPAIGNS)
    parts = []
    for key in keys:
        c = _campaign(key)
        t = targets(frames, c, day)
        t = t[~t["done"]].copy()
        t["campaign"], t["layer"] = c.key, c.layer
        parts.append(t)
    return _pending_frame(parts, day)


def _pending_frame(parts: list[pd.DataFrame], day: pd.Timestamp) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in PENDING_COLUMNS}).pipe(_with_days, day)
    df = pd.concat([pd.DataFrame(p) for p in parts], ignore_index=True)
    for col in PENDING_COLUMNS:
        if col not in df.columns:
            df[col] = pd.NaT if col in ("deadline", "committed_on") else None
    df = _with_days(df[PENDING_COLUMNS].copy(), day)
    return df.sort_values(["days_left", "campaign", "id"], na_position="last", kind="stable").reset_index(drop=True)


def overdue(frames: Mapping[str, pd.DataFrame], as_of) -> pd.DataFrame:
    """Sites whose ``deadline`` is before ``as_of`` and that are not done on ``as_of``, most overdue first.

    Every site with a deadline counts, campaign target or not (the rule is
    :func:`geo.rules.overdue_mask`); ``campaign`` is empty for sites outside
    the three campaigns.
    """
    frames = prepare(frames)
    day = as_day(as_of)
    return _overdue(frames, {layer: sites_as_of(frames, layer, day) for layer in contract.SITE_LAYERS}, day)


def _overdue(frames, snaps: Mapping[str, pd.DataFrame], day: pd.Timestamp) -> pd.DataFrame:
    parts = []
    for layer, s in snaps.items():
        if "deadline" not in s.columns or len(s) == 0:
            continue
        s = s[rules.overdue_mask(s, layer, day).to_numpy()].copy()
        s["layer"] = layer
        s["campaign"] = _campaign_of(frames, layer, s, day)
        parts.append(s)
    return _pending_frame(parts, day)


# --- departments ----------------------------------------------------------------------------

def department_pairs(frames: Mapping[str, pd.DataFrame], as_of, *, pending_only: bool = True) -> pd.DataFrame:
    """Which department is paired with which enterprise (``department`` column), with destination.

    Columns: ``department, id, name, township, status, done, deadline, days_left, overdue, destination``,
    sorted by department then deadline. ``pending_only`` keeps enterprises not done on ``as_of``.
    """
    day = as_day(as_of)
    return _pairs(sites_as_of(frames, "enterprises", day), day, pending_only)


def _pairs(s: pd.DataFrame, day: pd.Timestamp, pending_only: bool) -> pd.DataFrame:
    if "department" not in s.columns:
        s["department"] = None
    s = s[s["department"].notna() & s["department"].astype(str).str.strip().ne("")].copy()
    if "destination" not in s.columns:
        s["destination"] = None
    s["done"] = rules.is_done("enterprises", s["status"].to_numpy())
    if pending_only:
        s = s[~s["done"]]
    s = _with_days(s.assign(layer="enterprises"), day)
    cols = ["department", "id", "name", "township", "status", "done", "deadline", "days_left", "overdue",
            "destination"]
    return s[cols].sort_values(["department", "deadline", "id"], kind="stable").reset_index(drop=True)


def department_summary(frames: Mapping[str, pd.DataFrame], as_of) -> pd.DataFrame:
    """Per department: enterprises paired, done and pending on ``as_of`` (most paired first)."""
    return _dept_summary(department_pairs(frames, as_of, pending_only=False))


def _dept_summary(p: pd.DataFrame) -> pd.DataFrame:
    g = p.groupby("department")["done"].agg(paired="size", done="sum").astype("int64")
    g["pending"] = g["paired"] - g["done"]
    return g.sort_values(["paired", "pending"], ascending=False).reset_index()


# --- over time ------------------------------------------------------------------------------

def cumulative(frames: Mapping[str, pd.DataFrame], campaign: str | Campaign, as_of,
               start=None) -> pd.DataFrame:
    """Daily count of the campaign's targets that are done, up to ``as_of``: columns ``date, done``.

    Targets are those of ``as_of``. Vectorised: each target's events become
    +1 / −1 steps whenever it enters or leaves a done status (:func:`geo.history.done_steps`, or the
    database's, held by a snapshot: :func:`campaign_steps`); the daily sum of steps, accumulated, is the
    done count. ``start`` defaults to the first event of any target.
    """
    c = _campaign(campaign)
    day = as_day(as_of)
    steps = _done_steps(frames, c, day)
    first = pd.Timestamp(steps["date"].min()).normalize() if len(steps) else day
    begin = as_day(start) if start is not None else first
    dates = pd.date_range(min(begin, day), day, freq="D")
    if len(steps) == 0:
        return pd.DataFrame({"date": dates, "done": np.zeros(len(dates), dtype="int64")})
    step = pd.Series(steps["step"].to_numpy(dtype="int64"), index=pd.DatetimeIndex(steps["date"]).as_unit("ns"))
    done = step.cumsum().reindex(pd.DatetimeIndex(dates).union(step.index)).ffill().fillna(0)
    done = done.reindex(dates).astype("int64")
    return pd.DataFrame({"date": dates, "done": done.to_numpy()})


@dataclass(frozen=True)
class Steps:
    """A campaign's :func:`geo.history.done_steps` from the database, and the targets they count (ids).

    ``counted`` is the table or a :class:`concurrent.futures.Future` of it (the database counts while
    the caller goes on); :attr:`table` waits for it."""

    ids: np.ndarray
    counted: object

    @property
    def table(self) -> pd.DataFrame:
        return self.counted.result() if isinstance(self.counted, Future) else self.counted


def campaign_steps(store, frames: Mapping[str, pd.DataFrame], campaign: str | Campaign, as_of,
                   submit: Callable | None = None) -> Steps:
    """The done steps of ``campaign``'s targets on ``as_of`` (as ``frames`` give them), from ``store``'s
    events in SQL (:meth:`geo.store.base.Store.done_steps`): the time series without reading the history.

    ``submit`` (e.g. an executor's): the query is handed to it, and the result waited for when first used.
    """
    c = _campaign(campaign)
    day = as_day(as_of)
    ids = targets(frames, c, day)["id"].to_numpy(dtype=object)

    def count() -> pd.DataFrame:
        return store.done_steps(c.layer, day, sorted(c.done), ids.tolist())

    return Steps(ids, count() if submit is None else submit(count))


def _done_steps(frames: Mapping[str, pd.DataFrame], c: Campaign, day: pd.Timestamp) -> pd.DataFrame:
    """``c``'s done steps up to ``day``: those a snapshot holds for exactly these targets, else replayed."""
    t = targets(frames, c, day)
    held = frames.get(STEPS)
    got = held.get(c.key) if isinstance(held, Mapping) and SNAPSHOT in frames else None
    if isinstance(got, Steps):
        _same_day(frames, day)
        # only for the very targets they were counted for (a township-filtered copy has others)
        if len(got.ids) == len(t) and (got.ids == t["id"].to_numpy(dtype=object)).all():
            return got.table
    if not history.replays(frames, c.layer):
        raise ValueError(f"these frames hold neither the {c.layer} history nor the {c.key} steps of {day:%Y-%m-%d}")
    ev = _events(frames)
    ev = ev[(ev["layer"] == c.layer) & ev["feature_id"].isin(t["id"]) & (ev["effective_on"] <= day)]
    return history.done_steps(ev, c.done)


@dataclass(frozen=True)
class Projection:
    """Where the current pace leads.

    ``pace_per_day`` = (done on ``as_of`` − done ``window_days`` earlier) ÷ ``window_days``;
    ``projected_on`` = ``as_of`` + ceil(remaining ÷ pace) days, ``None`` when the
    pace is zero or negative (never at this pace). When nothing remains it is
    the first day the target was reached.
    """

    as_of: pd.Timestamp
    targets: int
    done: int
    window_days: int
    done_window_start: int
    pace_per_day: float
    projected_on: pd.Timestamp | None
    deadline: pd.Timestamp | None = None

    @property
    def remaining(self) -> int:
        return self.targets - self.done

    @property
    def on_time(self) -> bool | None:
        """Whether the projection meets the deadline (``None`` without a deadline)."""
        if self.deadline is None:
            return None
        return self.projected_on is not None and self.projected_on <= self.deadline

    @property
    def verdict(self) -> str:
        """One word on the pace, the one every surface uses: 已完成, 可按期完成, 预计逾期, 停滞 or 无期限."""
        if self.remaining <= 0:
            return "已完成"
        if self.projected_on is None:
            return "停滞"
        if self.deadline is None:
            return "无期限"
        return "可按期完成" if self.on_time else "预计逾期"

    def line(self) -> pd.DataFrame:
        """The projection as two points ``date, done`` (empty when there is no projection)."""
        if self.projected_on is None or self.remaining <= 0:
            return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "done": pd.Series(dtype="float64")})
        return pd.DataFrame({"date": [self.as_of, self.projected_on], "done": [float(self.done), float(self.targets)]})


def outlook(overdue: int, projection: Projection) -> tuple[str, bool]:
    """What the 逾期未完成 figure says beside it, and whether that is bad news.

    Overdue sites need 督办 whatever the pace; with none overdue, "按期推进" only when
    the campaign's projection meets its deadline: the header never says on time above a
    chart that says late.
    """
    if overdue > 0:
        return "需督办", True
    verdict = projection.verdict
    if verdict in ("预计逾期", "停滞"):
        return f"暂无逾期，但{'进度停滞' if verdict == '停滞' else '按当前进度预计逾期'}", True
    return {"已完成": "已全部完成", "无期限": "暂无逾期"}.get(verdict, "按期推进"), False


def project(series: pd.DataFrame, targets_n: int, as_of, window_days: int = 90,
            deadline=None) -> Projection:
    """Linear projection of a cumulative ``date, done`` series (one row per day) at the trailing pace.

    The done count before the series starts is taken as 0.
    """
    if window_days <= 0:
        raise ValueError("window_days must be positive")
    day = as_day(as_of)
    s = series.set_index(pd.to_datetime(series["date"]).dt.normalize())["done"].sort_index()
    s = s[s.index <= day]

    def at(d: pd.Timestamp) -> int:
        v = s[s.index <= d]
        return int(v.iloc[-1]) if len(v) else 0

    done_now, done_then = at(day), at(day - pd.Timedelta(days=window_days))
    pace = (done_now - done_then) / window_days
    remaining = targets_n - done_now
    if remaining <= 0:
        reached = s[s >= targets_n]
        projected = pd.Timestamp(reached.index[0]) if len(reached) else day
    elif pace > 0:
        projected = day + pd.Timedelta(days=math.ceil(remaining / pace - 1e-9))
    else:
        projected = None
    return Projection(day, int(targets_n), done_now, int(window_days), done_then, float(pace), projected,
                      None if deadline is None else as_day(deadline))


def timeline(frames: Mapping[str, pd.DataFrame], campaign: str | Campaign, as_of, window_days: int = 90,
             start=None) -> tuple[pd.DataFrame, Projection]:
    """Cumulative done series of a campaign up to ``as_of`` and its projection against the deadline."""
    frames = prepare(frames)
    c = _campaign(campaign)
    day = as_day(as_of)

    def compute():
        series = cumulative(frames, c, day, start)
        n = len(targets(frames, c, day))
        return series, project(series, n, day, window_days, campaign_deadline(frames, c, day))

    # a snapshot's trends and alerts ask for the same timelines: computed once (geo.memo)
    return memo.remember(frames, ("timeline", c.key, day, window_days, start), compute,
                         uses=(c.layer, "status_events", "townships"))


# --- ranking --------------------------------------------------------------------------------

DEFAULT_WEIGHTS = {"chemical": 40.0, "lime": 30.0, "livestock": 30.0}


def township_ranking(frames: Mapping[str, pd.DataFrame], as_of, weights: Mapping[str, float] | None = None
                     ) -> pd.DataFrame:
    """Townships scored on a 100-point scale by completion across campaigns, best first.

    score = 100 × Σ wᶜ·rateᶜ ÷ Σ wᶜ, summing only over the campaigns in which the
    township has targets (a township is not marked down for a campaign it has
    nothing to do in). Townships with no target in any weighted campaign get
    no score and are listed last. Columns: ``township``, ``rank`` (1 = best; ties
    share), ``score``, then ``rate_<campaign>`` and ``targets_<campaign>`` for each campaign.
    """
    frames = prepare(frames)
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    for k, w in weights.items():
        _campaign(k)
        if w < 0 or not np.isfinite(w):
            raise GeoError(f"专项“{k}”的权重须为不小于 0 的数，而不是 {w}。", f"weight of {k} must be ≥ 0, got {w}")
    table = None
    for key in CAMPAIGNS:
        comp = completion(frames, key, as_of).set_index("township")
        part = comp[["rate", "targets"]].rename(columns={"rate": f"rate_{key}", "targets": f"targets_{key}"})
        table = part if table is None else table.join(part, how="outer", sort=False)
    num = pd.Series(0.0, index=table.index)
    den = pd.Series(0.0, index=table.index)
    for key, w in weights.items():
        has = table[f"targets_{key}"].fillna(0) > 0
        num += np.where(has, w * table[f"rate_{key}"].fillna(0), 0.0)
        den += np.where(has, w, 0.0)
    table["score"] = (100 * num / den.where(den > 0)).round(1)
    table["rank"] = table["score"].rank(ascending=False, method="min").astype("Int64")
    table = table.rename_axis("township").reset_index()
    table = table[["township", "rank", "score"] + [c for c in table.columns if c not in ("township", "rank", "score")]]
    return table.sort_values(["score", "township"], ascending=[False, True], na_position="last").reset_index(drop=True)


# --- headline figures -----------------------------------------------------------------------

def kpis(frames: Mapping[str, pd.DataFrame], as_of) -> dict:
    """The headline figures on ``as_of`` (the wall screen's closure tiles).

    Returns a dict::

        as_of: date
        chemical: targets, done, closed, committed, pending, rate, deadline, days_to_deadline,
                  with_destination (pending with a relocation site), in_place (close/convert in place),
                  destinations {place: n pending}, departments {department: n paired},
                  departments_pending {department: n paired and not done}
        lime: targets, done, rate, kilns, kilns_closed, kilns_rebuilt_or_relocated, sheds, sheds_closed
        livestock: targets, treating, accepted, done, rate, deadline, days_to_deadline
        overdue: number of overdue sites (all layers)
    """
    frames = prepare(frames)
    day = as_day(as_of)
    events = _events(frames)
    # replay each layer once; every figure below is cut from these snapshots
    snaps = {layer: sites_as_of(frames, layer, day) for layer in contract.SITE_LAYERS}
    ct = _select(CAMPAIGNS["chemical"], snaps["enterprises"], events, day)
    chem = _summary(CAMPAIGNS["chemical"], ct, day)
    pend = ct[~ct["done"]]
    dest = pend["destination"] if "destination" in pend.columns else pd.Series(dtype=object)
    dest = dest[dest.notna() & dest.astype(str).str.strip().ne("")]
    relocating = dest[~dest.isin(IN_PLACE)]
    dept = _dept_summary(_pairs(snaps["enterprises"], day, pending_only=False))
    chem.update({
        "closed": chem["by_status"].get("closed", 0),
        "committed": chem["by_status"].get("committed", 0),
        "with_destination": len(relocating),
        "in_place": len(dest) - len(relocating),
        "destinations": {k: int(v) for k, v in dest.value_counts().items()},
        "departments": dict(zip(dept["department"], dept["paired"].astype(int))),
        "departments_pending": dict(zip(dept["department"], dept["pending"].astype(int))),
    })
    kt = _select(CAMPAIGNS["lime"], snaps["kilns"], events, day)
    lime = _summary(CAMPAIGNS["lime"], kt, day)
    kiln, shed = kt[kt["kind"] == "kiln"], kt[kt["kind"] == "shed"]
    lime.update({
        "kilns": len(kiln), "kilns_closed": int((kiln["status"] == "closed").sum()),
        "kilns_rebuilt_or_relocated": int(kiln["status"].isin(["rebuilt", "relocated"]).sum()),
        "sheds": len(shed), "sheds_closed": int((shed["status"] == "closed").sum()),
    })
    live = _summary(CAMPAIGNS["livestock"], _select(CAMPAIGNS["livestock"], snaps["farms"], events, day), day)
    live.update({"treating": live["by_status"].get("treating", 0),
                 "accepted": live["by_status"].get("accepted", 0)})
    return {"as_of": day.date(), "chemical": chem, "lime": lime, "livestock": live,
            "overdue": len(_overdue(frames, snaps, day))}


def kpi_table(k: dict) -> pd.DataFrame:
    """The :func:`kpis` figures as a two-column table ``指标, 数值`` (Chinese), for exports."""
    c, l, f = k["chemical"], k["lime"], k["livestock"]
    pct = lambda r: "—" if r is None else f"{100 * r:.1f}%"  # noqa: E731
    rows = [
        ("截至日期", k["as_of"].isoformat()),
        ("化工园区企业（家）", c["targets"]),
        ("已关停（家）", c["done"]),
        ("已签承诺（家）", c["committed"]),
        ("关停完成率", pct(c["rate"])),
        ("化工关停期限", "—" if c["deadline"] is None else c["deadline"].isoformat()),
        ("距期限（天）", "—" if c["days_to_deadline"] is None else c["days_to_deadline"]),
        ("已落实搬迁去向（家）", c["with_destination"]),
        ("就地关停或转产（家）", c["in_place"]),
        *[(f"　去向：{k2}", v) for k2, v in c["destinations"].items()],
        *[(f"　结对部门：{k2}（未完成）", f"{v}（{c['departments_pending'].get(k2, 0)}）")
          for k2, v in c["departments"].items()],
        ("石灰窑（座）", l["kilns"]),
        ("石灰窑已关停（座）", l["kilns_closed"]),
        ("石灰窑已改建或搬迁（座）", l["kilns_rebuilt_or_relocated"]),
        ("石灰钙棚（座）", l["sheds"]),
        ("石灰钙棚已关停（座）", l["sheds_closed"]),
        ("石灰窑（棚）整治完成率", pct(l["rate"])),
        ("养殖场治理目标（家）", f["targets"]),
        ("治理中（家）", f["treating"]),
        ("已验收或关停搬迁（家）", f["done"]),
        ("养殖治理完成率", pct(f["rate"])),
        ("逾期未完成（处）", k["overdue"]),
    ]
    return pd.DataFrame(rows, columns=["指标", "数值"]).astype({"数值": str})


# --- exports --------------------------------------------------------------------------------

def labelled(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` for people: codes as Chinese labels (layer, status, campaign, group) and Chinese headers."""
    out = df.copy()
    if "status" in out.columns:
        layers = out["layer"] if "layer" in out.columns else pd.Series(None, index=out.index)
        out["status"] = [contract.status_label(s, lay) for s, lay in zip(out["status"], layers)]
    if "layer" in out.columns:
        out["layer"] = out["layer"].map(lambda v: contract.LAYER_LABELS.get(v, v))
    if "campaign" in out.columns:
        out["campaign"] = out["campaign"].map(lambda v: CAMPAIGNS[v].label if v in CAMPAIGNS else "—")
    if "group" in out.columns:
        out["group"] = out["group"].map(lambda v: GROUP_LABELS.get(v, v))
    if "overdue" in out.columns:
        out["overdue"] = out["overdue"].map({True: "是", False: "否"})
    if "done" in out.columns and out["done"].dtype == bool:
        out["done"] = out["done"].map({True: "是", False: "否"})
    for col in ("deadline", "committed_on", "date"):
        if col in out.columns:
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d").where(out[col].notna(), "")
    for col in [c for c in out.columns if c == "rate" or c.startswith("rate_")]:
        out[col] = (100 * out[col]).round(1)
    for col in out.columns:  # blank text reads better than NaN / <NA>; numbers stay numeric (blank cells)
        if out[col].isna().any() and not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].astype(object).where(out[col].notna(), "")
    out.columns = [_header(c) for c in out.columns]
    return out


def _header(col: str) -> str:
    for prefix, word in (("rate_", "完成率(%)"), ("targets_", "目标数")):
        if col.startswith(prefix) and col[len(prefix):] in CAMPAIGNS:
            return f"{CAMPAIGNS[col[len(prefix):]].label}{word}"
    return HEADERS.get(col, col)


def excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as spreadsheet formulas
    (:func:`geo.io.writers.neutralise_frame`; numbers are left alone)."""
    from .io.writers import neutralise_frame

    return neutralise_frame(df)


def to_xlsx(sheets: Mapping[str, pd.DataFrame], *, meta=None) -> bytes:
    """An xlsx workbook (bytes) with one sheet per item, through :func:`geo.io.writers.write_xlsx`.

    Text cells are stored as text, never as formulas: a name typed into a
    ledger as ``=HYPERLINK(…)`` stays a name in the recipient's spreadsheet.
    ``meta`` (:class:`geo.io.writers.Meta`): a header block on the first sheet and a 说明 sheet.
    """
    from .io.writers import write_xlsx

    return write_xlsx(sheets, meta=meta)


def progress_meta(title: str, as_of, *, parameters: Mapping | None = None, data_version: str | None = None,
                  generated_by: str | None = None):
    """What a progress list is (:class:`geo.io.writers.Meta`): the rule for done and overdue, the date."""
    from .io.writers import Meta

    return Meta(title=title,
                rule=("完成：企业关停、搬迁或转产，石灰窑（棚）关停、改建或搬迁，养殖场通过验收或关停、搬迁；"
                      "逾期：整改期限已过（早于截至日期）仍未完成；状态为截至日期当天的状态（按状态记录回放）；"
                      "乡镇按点位坐标所在的乡镇边界确定"),
                parameters=dict(parameters or {}), as_of=as_day(as_of).date(), data_version=data_version,
                generated_by=generated_by)


def export_counts(df: pd.DataFrame, fmt: str, *, bom: bool = True) -> bytes:
    """The :func:`counts` table as ``csv`` (for machines; UTF-8, with a BOM for Excel unless ``bom=False``),
    ``json`` (records) or ``xlsx``.

    csv and json keep the English column names and codes (machine-readable);
    xlsx carries Chinese headers and labels.
    """
    if fmt == "csv":
        from .io.writers import write_csv

        return write_csv(df, dialect="for_machines", bom=bom)
    if fmt == "json":
        return df.to_json(orient="records", force_ascii=False, indent=1).encode("utf-8")
    if fmt == "xlsx":
        return to_xlsx({"进度统计": labelled(df)})
    raise GeoError(f"不支持的格式“{fmt}”（可用 csv、json、xlsx）。", f"unknown format {fmt!r}")


# --- store ------------------------------------------------------------------------------------

# Keys of frames made by :func:`snapshot` (:mod:`geo.history` says what each means).
SNAPSHOT, HISTORY, CHANGED_SINCE, STEPS = history.SNAPSHOT, history.HISTORY, history.CHANGED_SINCE, history.STEPS
#: The site columns this module uses besides ``id``, ``status`` and the geometry.
SITE_COLUMNS = ("name", "park", "industry", "kind", "species", "deadline", "department", "destination",
                "committed_on")


def _same_day(frames: Mapping[str, pd.DataFrame], day) -> None:
    if day is None or as_day(frames[SNAPSHOT]) != day:
        raise ValueError(f"these frames stand on {frames[SNAPSHOT]:%Y-%m-%d}; asked for {day}")


def snapshot(store, as_of, *, history_of: tuple[str, ...] = (), changed_since=None, steps_of: tuple[str, ...] = (),
             columns=SITE_COLUMNS, submit: Callable | None = None) -> dict:
    """The frames of this module as they stood on ``as_of``, read from ``store`` with SQL doing the replay.

    Each site layer holds its sites on ``as_of`` (:meth:`geo.store.base.Store.sites_on`: only the
    ``columns`` used here, with ``township`` from the point) and ``status_events`` only what the
    figures of that day need: the ``treating`` events of farms up to the day (the livestock targets),
    plus every event up to the day of the layers in ``history_of`` (for :func:`cumulative` /
    :func:`timeline` of their campaigns), plus, from ``changed_since`` (a date), every event up to the
    day of each site with an event after that date (what looking back to it needs:
    :func:`geo.buffers.violations_earlier`). ``steps_of``: campaigns whose done steps the database
    counts (:func:`campaign_steps`; with ``submit``, while the caller goes on), so that their time series
    need no history. Every function of
    this module accepts these frames for that one day (another day raises ``ValueError``; a time
    series neither held nor replayable too) and gives what it gives on the whole tables.

    The parts are :func:`snapshot_sites`, the :func:`event_parts` reads and the steps (an app caches them
    apart: the sites of a day serve every page, whatever history each one wants).
    """
    day = as_day(as_of)
    out = snapshot_sites(store, day, columns=columns)
    out[memo.KEY] = {}  # what is derived from this day's frames, computed once (geo.memo)
    out[HISTORY] = tuple(dict.fromkeys(history_of))
    since = None if changed_since is None else as_day(changed_since)
    if since is not None:
        out[CHANGED_SINCE] = since
    reads = event_parts(tuple(history_of), since)
    out["status_events"] = join_events([store.events_of(layer, until=day, statuses=statuses, changed_after=after)
                                        for layer, statuses, after in reads], reads)
    if steps_of:
        out[STEPS] = {key: campaign_steps(store, out, key, day, submit) for key in dict.fromkeys(steps_of)}
    return out


def snapshot_sites(store, as_of, *, columns=SITE_COLUMNS) -> dict:
    """:func:`snapshot` without ``status_events``: the townships and every site layer on ``as_of``."""
    day = as_day(as_of)
    towns = store.read("townships")
    out: dict = {"townships": towns, SNAPSHOT: day}
    for layer in contract.SITE_LAYERS:
        s = store.sites_on(layer, day, list(columns))
        s["township"] = township_of(s, towns) if len(towns) else pd.NA
        out[layer] = s
    return out


def event_parts(history_of: tuple[str, ...] = (), changed_since=None
                ) -> list[tuple[str, tuple[str, ...] | None, pd.Timestamp | None]]:
    """The ``(layer, statuses, changed_after)`` reads (:meth:`geo.store.base.Store.events_of`; ``None``:
    every status, every site) whose rows make :func:`snapshot`'s ``status_events``."""
    since = None if changed_since is None else as_day(changed_since)
    parts: list = [(layer, None, None) for layer in dict.fromkeys(history_of)]
    if since is not None:
        parts += [(layer, None, since) for layer in contract.SITE_LAYERS if layer not in history_of]
    if "farms" not in history_of:
        parts.append(("farms", ("treating",), None))  # the livestock targets: farms ever under treatment
    return parts


def join_events(parts: list[pd.DataFrame], reads: list | None = None) -> pd.DataFrame:
    """The :func:`event_parts` reads (``reads``, in the same order) as one ``status_events`` frame.

    A site whose whole history a changed-since read holds is left out of the same layer's status read
    (its events there are already in), so that no event is held twice."""
    if reads is not None:
        whole = {}
        for (layer, statuses, after), p in zip(reads, parts):
            if after is not None:
                whole.setdefault(layer, []).append(p["feature_id"])
        parts = [p[~p["feature_id"].isin(pd.concat(whole[layer])).to_numpy(bool)]
                 if statuses is not None and after is None and layer in whole else p
                 for (layer, statuses, after), p in zip(reads, parts)]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else contract.empty("status_events")


def load_frames(store) -> dict[str, pd.DataFrame]:
    """The tables this module needs, read from a store and prepared."""
    # sampling points and readings: the briefing's water page
    frames = {t: store.read(t) for t in ("townships", "status_events", *contract.SITE_LAYERS,
                                         "sampling_points", "readings")}
    return prepare(frames)


def default_as_of(store) -> pd.Timestamp:
    """The store's default as-of date (:func:`geo.rules.default_as_of` of its meta)."""
    return rules.default_as_of(store.meta())


def parse_as_of(text: str | None, store) -> pd.Timestamp:
    """``text`` (YYYY-MM-DD) as a day; empty: :func:`default_as_of`. Raises :class:`GeoError` when malformed."""
    if not text:
        return default_as_of(store)
    try:
        return pd.Timestamp(pd.to_datetime(text, format="%Y-%m-%d")).normalize()
    except (ValueError, TypeError):
        raise GeoError(f"日期格式应为 YYYY-MM-DD，收到“{text}”。",
                       f"--as-of must be YYYY-MM-DD, got {text!r}.") from None

