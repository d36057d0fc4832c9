"""The wall screen's figures besides the alerts: trend series, the township standing, casework figures.

- :func:`closure_trends`: cumulative done share of each closure campaign over time, with its deadline and
  the projection at the trailing pace (:func:`geo.progress.timeline`, the same projection as ``/progress``).
- :func:`water_share`: share of river and reservoir sections meeting their target class, month by month.
- :func:`township_standing`: the township assessment when the store has one (the ``assessment_entries``
  table and a scheme for the year, :mod:`geo.assess`), else each township's campaign completion, listing
  only townships that have targets.
- :func:`casework_figures`: complaints and joint patrols this year, when the casework tables exist.
- :func:`snapshot_args`: what the wall's one-day snapshot (:func:`geo.progress.snapshot`) must hold.
- :func:`tiles`: the KPI tiles' figures of a day; :func:`earlier_days`, :func:`tile_changes` and
  :func:`change_text`: what each figure did since the week and the month before (较上周 / 较上月), always
  the difference of two :func:`tiles` results, never a second formula.

No Streamlit here; every function takes the contract tables and a day, so a briefing can be replayed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from . import assess, buffers, inspections, progress, water
from . import complaints as casework_complaints
from .errors import GeoError
from .rules import as_day

#: A projection further out than this many days after the day is not drawn to its end (the axis would
#: squeeze the history); the chart says "beyond" instead.
MAX_AHEAD_DAYS = 730


# --- the day's snapshot -------------------------------------------------------------------------

def snapshot_args(as_of, new_days: int) -> dict:
    """The :func:`geo.progress.snapshot` arguments every figure of the wall on ``as_of`` needs, and no more.

    The trends and the campaign alerts come from each campaign's done steps, counted by the database; the
    riverside alert looks back ``new_days`` and the assessment's riverside item to January 1st
    (:func:`geo.buffers.violations_earlier`), which needs the history only of the sites changed since the
    earlier of the two. No site layer's whole history is read (162 000 events at province scale).
    """
    day = as_day(as_of)
    look_back = min(pd.Timestamp(year=day.year, month=1, day=1), day - pd.Timedelta(days=int(new_days)))
    return {"changed_since": look_back, "steps_of": tuple(progress.CAMPAIGNS)}


# --- the KPI tiles ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tile:
    """One KPI tile: ``value`` is its figure (the large number; ``total`` after a slash when there is one).

    ``better``: which way the figure should move, ``+1`` when more is better (closures, sections meeting
    their target, complaints handled on time), ``-1`` when fewer is (riverside violations). ``tone``:
    ``""``, ``"warn"`` or ``"bad"`` (the tile's edge colour)."""

    key: str
    label: str
    value: int
    total: int | None
    note: str
    tone: str
    better: int


def tiles(frames: Mapping[str, pd.DataFrame], as_of, *, distance: float) -> dict:
    """The wall's KPI tiles on ``as_of``, and what the map and the alerts reuse of their work.

    ``frames``: whole tables, or a day's snapshot (:func:`geo.progress.snapshot` of ``as_of``) with the
    small tables, the optional casework ones and ``readings`` (at least each point's last sampling day up
    to ``as_of``). ``distance``: the riverside limit in metres.

    Returns ``tiles`` (list of :class:`Tile`: the three campaigns, the riverside violations, the sections
    meeting target and, with a ``complaints`` table, the complaints handled on time), ``violations`` (the
    :func:`geo.buffers.check` result), ``classes`` (:func:`geo.water.latest_assessment`) and ``figures``
    (:func:`casework_figures`). The one place the tiles' figures are computed: the changes against
    earlier days (:func:`tile_changes`) are differences of this function's results.
    """
    day = as_day(as_of)
    out = _closure_tiles(frames, day)
    # the sites already stand on the day (a snapshot): nothing to replay
    v = buffers.check(frames, distance=distance, as_of=None if progress.SNAPSHOT in frames else day)
    n = len(v)
    by = v["layer"].value_counts() if n else {}
    out.append(Tile("riverside", f"沿河{distance:g}米违规（在产）", n, None,
                    f"养殖场{by.get('farms', 0)} 企业{by.get('enterprises', 0)} 窑棚{by.get('kilns', 0)}",
                    "bad" if n else "", -1))
    water_tile, classes = _water_tile(frames, day)
    out.append(water_tile)
    figures = casework_figures(frames, day)
    if figures and "complaints" in figures:
        c = figures["complaints"]
        out.append(Tile("complaints", "投诉按期办结", int(c["on_time"]), int(c["received"]), f"未办结 {c['open']} 件",
                        "" if c["handled"] >= c["received"] else "warn", +1))
    return {"tiles": out, "violations": v, "classes": classes, "figures": figures}


def _closure_tiles(frames, day: pd.Timestamp) -> list[Tile]:
    k = progress.kpis(frames, day)
    chem, lime, live = k["chemical"], k["lime"], k["livestock"]
    days = chem.get("days_to_deadline")
    note = f"距{chem['deadline']:%m月%d日}期限 {days} 天" if days is not None and days >= 0 else \
        (f"已超期 {-days} 天" if days is not None else "")
    out = [Tile("chemical", "化工企业关停", int(chem["closed"]), int(chem["targets"]), note,
                "" if (chem["rate"] or 0) >= 1 else ("warn" if days is None or days >= 0 else "bad"), +1)]
    # done as the campaign defines it (关停, 改建 or 搬迁: rules.campaign_done), the figure the chart beside it draws
    out.append(Tile("lime", "石灰窑（棚）整治", int(lime["done"]), int(lime["targets"]),
                    f"关停 窑{lime['kilns_closed']} 棚{lime['sheds_closed']} · 改建搬迁{lime['kilns_rebuilt_or_relocated']}",
                    "" if (lime["rate"] or 0) >= 1 else "warn", +1))
    ldays = live.get("days_to_deadline")
    out.append(Tile("livestock", "养殖场治理", int(live["done"]), int(live["targets"]),
                    f"治理中 {live['treating']} 家" + (f" · 距期限 {ldays} 天" if ldays is not None and ldays >= 0 else ""),
                    "" if (live["rate"] or 0) >= 1 else "warn", +1))
    return out


def _water_tile(frames, day: pd.Timestamp) -> tuple[Tile, pd.DataFrame]:
    a = water.latest_assessment(frames, as_of=day)
    sections = a[a["id"].isin(frames["sampling_points"].query("kind == 'section'")["id"])] \
        if "id" in a.columns else a
    met = int(sections["meets"].fillna(False).astype(bool).sum())
    total = int(sections["class"].notna().sum())
    outfalls = a[a["kind"] == "outfall"] if "kind" in a.columns else a.iloc[:0]
    judged = outfalls[outfalls["verdict"].isin(["达标", "超标"])]
    over = int((judged["verdict"] == "超标").sum())
    # outfalls are judged by GB 8978-1996, never counted among the GB 3838 sections
    note = f"排污口超标 {over}/{len(judged)}（GB 8978）" if len(judged) else "按 GB 3838-2002 单因子评价"
    return Tile("water", "水质达标断面", met, total, note, "bad" if over else ("" if met == total else "warn"), +1), a


#: The earlier days a tile is compared with: what the comparison is called, and what it says without data.
PERIODS = {"week": ("较上周", "上周无数据"), "month": ("较上月", "上月无数据")}


def earlier_days(as_of) -> dict[str, pd.Timestamp]:
    """The days the tiles of ``as_of`` are compared with: seven days before, and one calendar month before
    (the last day of a shorter month when the month has no such day: 3月31日 → 2月28日)."""
    day = as_day(as_of)
    return {"week": day - pd.Timedelta(days=7), "month": (day - pd.DateOffset(months=1)).normalize()}


def tile_changes(now: list[Tile], earlier: Mapping[str, list[Tile] | None]) -> dict[str, dict[str, int | None]]:
    """Each tile's change since each earlier day: ``{tile key: {period: now − then}}``.

    ``earlier``: :func:`tiles` of each :func:`earlier_days` day (``None`` for a day before the data's first
    day, :func:`geo.datecheck.first_day`: nothing to compare with). A tile the earlier day did not have,
    or a period left out: ``None``.
    """
    then = {p: ({t.key: t.value for t in ts} if ts is not None else None) for p, ts in earlier.items()}
    out = {}
    for t in now:
        out[t.key] = {}
        for p in PERIODS:
            before = (then.get(p) or {}).get(t.key)
            out[t.key][p] = None if before is None else int(t.value) - int(before)
    return out


def change_text(delta: int | None, better: int, period: str) -> tuple[str, str]:
    """What a tile says of one change, and how it is judged.

    Returns ``(text, judgement)``: ``较上周 ↑+3`` / ``较上周 ↓-2`` with ``better`` or ``worse`` (the figure
    moved the way ``better`` wants, or against it: more closures are better, more violations worse),
    ``较上周 持平`` with ``flat``, and ``— 上周无数据`` with ``none`` when there is nothing to compare with.
    """
    label, missing = PERIODS[period]
    if delta is None:
        return f"— {missing}", "none"
    if delta == 0:
        return f"{label} 持平", "flat"
    arrow = "↑" if delta > 0 else "↓"
    return f"{label} {arrow}{delta:+d}", "better" if delta * better > 0 else "worse"


# --- closure ----------------------------------------------------------------------------------

def closure_trends(frames: Mapping[str, pd.DataFrame], as_of, *, years: float = 2.0, window_days: int = 90
                   ) -> dict:
    """Cumulative share done of every campaign with targets, from ``years`` before ``as_of``.

    Returns a dict:

    ``series``
        ``campaign, label, date, done, targets, share`` (share in [0, 1]); weekly points plus ``as_of``.
    ``projections``
        ``campaign, label, date, share``: two rows per campaign with work left and a positive pace (from
        ``as_of`` to the projected finish, cut at :data:`MAX_AHEAD_DAYS`).
    ``campaigns``
        one row per campaign: ``campaign, label, targets, done, deadline, projected_on, on_time, pace_per_day``.
    ``start``, ``end``
        the time axis: from ``years`` before ``as_of`` to the latest deadline or projected finish shown
        (at least a month after ``as_of``).
    """
    day = as_day(as_of)
    frames = progress.prepare(frames)
    start = (day - pd.DateOffset(years=years)).normalize() if years else None
    series, projections, rows = [], [], []
    for key, c in progress.CAMPAIGNS.items():
        s, p = progress.timeline(frames, key, day, window_days=window_days)
        if p.targets == 0:
            continue
        s = s.set_index("date")["done"]
        if start is not None:
            s = s[s.index >= start] if (s.index >= start).any() else s.iloc[-1:]
        weekly = s.resample("W-SUN").last().dropna()
        weekly = weekly[weekly.index < day]
        pts = pd.concat([s.iloc[:1], weekly, s.iloc[-1:]])
        pts = pts[~pts.index.duplicated(keep="last")].sort_index()
        series.append(pd.DataFrame({"campaign": key, "label": c.label, "date": pts.index, "done": pts.to_numpy(),
                                    "targets": p.targets}))
        line = p.line()
        if len(line):
            limit = day + pd.Timedelta(days=MAX_AHEAD_DAYS)
            if line["date"].iloc[1] > limit:  # cut the line where the axis ends, at the share reached then
                frac = (limit - day) / (line["date"].iloc[1] - day)
                line.loc[1, "done"] = line["done"].iloc[0] + frac * (line["done"].iloc[1] - line["done"].iloc[0])
                line.loc[1, "date"] = limit
            projections.append(pd.DataFrame({"campaign": key, "label": c.label, "date": line["date"].to_numpy(),
                                             "share": (line["done"] / p.targets).to_numpy()}))
        rows.append(dict(campaign=key, label=c.label, targets=p.targets, done=p.done, deadline=p.deadline,
                         projected_on=p.projected_on, on_time=p.on_time, pace_per_day=p.pace_per_day))
    ser = pd.concat(series, ignore_index=True) if series else pd.DataFrame(
        columns=["campaign", "label", "date", "done", "targets"])
    ser["share"] = (ser["done"] / ser["targets"]).astype(float) if len(ser) else pd.Series(dtype=float)
    proj = pd.concat(projections, ignore_index=True) if projections else pd.DataFrame(
        {"campaign": pd.Series(dtype=object), "label": pd.Series(dtype=object),
         "date": pd.Series(dtype="datetime64[ns]"), "share": pd.Series(dtype=float)})
    camp = pd.DataFrame(rows, columns=["campaign", "label", "targets", "done", "deadline", "projected_on", "on_time",
                                       "pace_per_day"])
    ends = [day + pd.Timedelta(days=31)]
    ends += [d for d in camp["deadline"] if d is not None and pd.notna(d)]
    ends += list(proj["date"])
    end = min(max(ends), day + pd.Timedelta(days=MAX_AHEAD_DAYS))
    first = ser["date"].min() if len(ser) else day
    return {"series": ser, "projections": proj, "campaigns": camp,
            "start": start if start is not None else first, "end": (end + pd.Timedelta(days=15)).normalize()}


# --- water ------------------------------------------------------------------------------------

def water_share(frames: Mapping[str, pd.DataFrame], as_of, *, years: int = 3) -> pd.DataFrame:
    """Share of sections meeting their target class, per month, over the ``years`` before ``as_of``.

    A section meets its target in a month when its worst sampling of that month
    does (single-factor class, :func:`geo.water.sampling_classes`); outfalls
    are not sections and are left out. Months without any sampling are
    left out (the chart shows a gap, not a zero).

    Returns ``month`` (first day of the month), ``sections`` (judged that month),
    ``meeting`` and ``share`` in [0, 1].
    """
    day = as_day(as_of)
    pts, rd = frames.get("sampling_points"), frames.get("readings")
    cols = ["month", "sections", "meeting", "share"]
    if pts is None or rd is None or not len(pts) or not len(rd):
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "month" else float) for c in cols})
    if "kind" in pts.columns:
        pts = pts[pts["kind"].fillna("section") != "outfall"]
    start = share_start(day, years)
    s = water.sampling_classes(rd, pts, as_of=day, start=start, worst=False)
    s = s[s["meets"].notna()]
    if not len(s):
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "month" else float) for c in cols})
    s = s.assign(month=s["day"].dt.to_period("M").dt.to_timestamp(), meets=s["meets"].astype(bool))
    per = s.groupby(["month", "point_id"])["meets"].all().reset_index()
    out = per.groupby("month")["meets"].agg(sections="size", meeting="sum").reset_index()
    out["sections"] = out["sections"].astype("int64")
    out["meeting"] = out["meeting"].astype("int64")
    out["share"] = out["meeting"] / out["sections"]
    return out[cols]



def share_start(day, years: int = 3) -> pd.Timestamp:
    """First day of the first month :func:`water_share` shows."""
    return (as_day(day).to_period("M") - 12 * years + 1).to_timestamp()


def water_share_from_store(store, points: pd.DataFrame, as_of, *, years: int = 3) -> pd.DataFrame:
    """:func:`water_share` without reading every reading: the database classes each section's months.

    The worst class of a section in a month is the class of its extreme values that month (classes are
    monotone in the value; below detection decides DO), so the store, given GB 3838's limits as data
    (:func:`geo.water.class_limits`), returns one worst class per section and month
    (:meth:`geo.store.Store.monthly_worst`) and only the comparison with the targets is left here: exactly
    :func:`water_share` on every reading (tested on both backends). The page's other work goes on beside
    it: nearly all of this runs in the database, outside Python's lock.
    """
    day = as_day(as_of)
    cols = ["month", "sections", "meeting", "share"]
    pts = points[points["kind"].fillna("section") != "outfall"] if "kind" in points.columns else points
    pts = pd.DataFrame(pts[["id", "waterbody", "target_class"]]).assign(id=lambda d: d["id"].astype(str))
    pts = pts.drop_duplicates("id")
    worst = store.monthly_worst(water.class_limits(), dict(zip(pts["id"], pts["waterbody"])),
                                share_start(day, years), day)
    target = pd.to_numeric(worst["point_id"].map(pts.set_index("id")["target_class"]), errors="coerce")
    judged = worst["worst"].notna().to_numpy() & target.notna().to_numpy()
    g = pd.DataFrame({"month": worst["month"].dt.to_period("M").dt.to_timestamp().to_numpy()[judged],
                      "meets": (worst["worst"].to_numpy(float) <= target.to_numpy(float))[judged]})
    if not len(g):
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "month" else float) for c in cols})
    out = g.groupby("month")["meets"].agg(sections="size", meeting="sum").reset_index()
    out["sections"] = out["sections"].astype("int64")
    out["meeting"] = out["meeting"].astype("int64")
    out["share"] = out["meeting"] / out["sections"]
    return out[cols]

# --- township standing --------------------------------------------------------------------------

STANDING_COLUMNS = ["township", "value", "text", "detail", "flag"]


def township_standing(frames: Mapping[str, pd.DataFrame], as_of, *, snapshot: Mapping | None = None
                      ) -> pd.DataFrame:
    """Townships for the wall's ranking, weakest first.

    With an assessment (the casework tables in ``frames``, ``assessment_entries``
    among them, and a scheme for the year of ``as_of``): every township's total
    score (:func:`geo.assess.township_scores`), vetoed ones first and flagged,
    with their ``rank`` (``attrs["kind"]`` = ``assessment``). Otherwise each township's completion across the closure
    campaigns (done ÷ targets), listing only townships with targets
    (``attrs["kind"]`` = ``completion``): a township with nothing to do is not
    ranked, so it never shows as 0.

    Returns ``township, value`` (score or share, for sorting), ``text`` (the
    figure as shown), ``detail`` (what it is made of) and ``flag`` (否决 or
    empty); ``attrs["title"]`` names the list. ``snapshot``: :func:`geo.progress.snapshot` of the day, from
    which the completion list is cut (the database replays the statuses; default: ``frames``).
    """
    day = as_day(as_of)
    out = _assessment(frames, day)
    if out is not None:
        return out
    frames = progress.prepare(frames if snapshot is None else snapshot)
    parts = []
    for key, c in progress.CAMPAIGNS.items():
        comp = progress.completion(frames, key, day)
        comp = comp[comp["targets"] > 0]
        parts.append(comp.assign(campaign=key, short=_SHORT.get(key, c.label)))
    comp = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["township", "targets", "done", "campaign", "short"])
    rows = []
    for town, g in comp.groupby("township", sort=False):
        targets, done = int(g["targets"].sum()), int(g["done"].sum())
        detail = "　".join(f"{s}{d}/{t}" for s, d, t in zip(g["short"], g["done"], g["targets"]))
        rows.append(dict(township=town, value=done / targets, text=f"{done}/{targets}", detail=detail, flag="",
                         pending=targets - done))
    out = pd.DataFrame(rows, columns=STANDING_COLUMNS + ["pending"])
    # weakest first; among equals, the one with the most left to do
    out = out.sort_values(["value", "pending", "township"], ascending=[True, False, True], kind="stable")
    out = out[STANDING_COLUMNS].reset_index(drop=True)
    out.attrs.update(kind="completion", title="乡镇整治完成")
    return out


def rest_text(standing: pd.DataFrame, shown: int) -> str:
    """The line under a cut list: how many townships are not shown, and any that tie with the last one shown
    (equal scores share a rank: a cut must never hide that the 16th place is shared)."""
    rest = standing.iloc[shown:]
    key = "rank" if "rank" in standing.columns and standing.attrs.get("kind") == "assessment" else "text"
    last = standing[key].iloc[shown - 1]
    tied = int((rest[key] == last).sum())
    if not tied:
        return f"另有{len(rest)}个乡镇"
    what = f"第{int(last)}名" if key == "rank" else f"“{last}”"
    return f"另有{len(rest)}个乡镇，其中{tied}个与{what}并列"


_SHORT = {"chemical": "化工", "lime": "窑棚", "livestock": "养殖"}


def _assessment(frames: Mapping[str, pd.DataFrame], day: pd.Timestamp) -> pd.DataFrame | None:
    """The township assessment of ``day``'s year (:func:`geo.assess.township_scores`), weakest first, when the
    frames hold its tables (``assessment_entries`` among them) and a scheme exists for that year."""
    if any(t not in frames for t in assess.TABLES_NEEDED):
        return None
    try:
        scheme = assess.load_scheme(day.year)
    except GeoError:  # no scheme for this year (e.g. a replay before the scheme): the completion list stands in
        return None
    s = assess.township_scores(dict(frames), day.year, day, scheme)
    if not len(s):
        return None
    rows = []
    for town, total, veto, items, rank in zip(s["township"], s["total"], s["veto"], s["veto_items"], s["rank"]):
        rows.append(dict(township=town, value=-1.0 if veto else float(total), text=f"{round(float(total), 1):g}分",
                         detail=str(items) if veto else "", flag="否决" if veto else "", rank=int(rank)))
    out = pd.DataFrame(rows, columns=STANDING_COLUMNS + ["rank"])
    out = out.sort_values(["value", "township"], kind="stable").reset_index(drop=True)
    out.attrs.update(kind="assessment", title="乡镇考核（末位）", year=day.year)
    return out


# --- casework -----------------------------------------------------------------------------------

def casework_figures(frames: Mapping[str, pd.DataFrame], as_of) -> dict | None:
    """Complaints of the year and patrols of the month up to ``as_of``, when the casework tables exist.

    Returns ``None`` without a ``complaints`` or ``inspections`` table, else a dict
    (keys present only for the tables present):

    ``complaints``: received this year, handled and handled on time by the day (:func:`geo.complaints.figures`),
    open (received by the day, unhandled on it);
    ``patrols``: joint patrols this year and this month (:func:`geo.inspections.joint_by_month`) and, with
    ``inspection_visits``, the visits and violations found this month (:func:`geo.inspections.findings_summary`).
    """
    day = as_day(as_of)
    jan1, month1 = pd.Timestamp(year=day.year, month=1, day=1), day.replace(day=1)
    out: dict = {}
    c = frames.get("complaints")
    if isinstance(c, pd.DataFrame) and {"received_on", "due_on", "handled_on", "channel"} <= set(c.columns):
        c = c.assign(**{k: pd.to_datetime(c[k]).dt.normalize() for k in ("received_on", "due_on", "handled_on")})
        if "sensitive" not in c.columns:
            c["sensitive"] = False
        f = casework_complaints.figures(c, start=jan1, end=day)
        open_ = (c["received_on"] <= day) & (c["handled_on"].isna() | (c["handled_on"] > day))
        out["complaints"] = {"received": f["received"], "handled": f["handled"], "on_time": f["on_time"],
                             "open": int(open_.sum())}
    ins = frames.get("inspections")
    if isinstance(ins, pd.DataFrame) and {"held_on", "kind", "departments"} <= set(ins.columns):
        ins = ins.assign(held_on=pd.to_datetime(ins["held_on"]).dt.normalize())
        year = inspections.joint_by_month(ins, jan1, day)
        p = {"joint_year": int(year["joint"].sum()), "joint_month": int(year["joint"].iloc[-1]) if len(year) else 0}
        v = frames.get("inspection_visits")
        if isinstance(v, pd.DataFrame) and {"visited_at", "finding", "layer", "feature_id"} <= set(v.columns):
            v = v.assign(visited_at=pd.to_datetime(v["visited_at"]))
            fs = inspections.findings_summary(v, ins, start=month1, end=day)
            p.update(visits_month=int(fs["visits"]), violations_month=int(fs["by_finding"].get("violation", 0)))
        out["patrols"] = p
    return out or None


def share_text(x) -> str:
    """``69%`` for 0.69; ``—`` for a missing share."""
    return "—" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{100 * float(x):.0f}%"
