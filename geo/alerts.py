"""Alerts for the wall screen and ``python -m geo alerts``: what a director must hear about first.

Each source is one small function ``source(frames, day, **options) -> Alert | None``:

==================  =====================================================================  ==================
key                 what counts                                                            needs
==================  =====================================================================  ==================
``campaigns``       closure campaigns projected to miss their deadline at the trailing     status events
                    pace (:func:`geo.progress.timeline`), or overdue with work left
``sections``        river and reservoir sections whose latest class is worse than their   readings
                    target (:func:`geo.water.latest_assessment`)
``outfalls``        outfalls over their discharge limits at their latest sampling          ``geo.discharge``
``complaints``      complaints overdue (unhandled, ``due_on`` before the day) or due that  ``complaints`` table
                    day and unhandled (DATA_CONTRACT.md)
``riverside``       riverside violations on the day that were not violations
                    ``new_days`` earlier (:func:`geo.buffers.check`)
==================  =====================================================================  ==================

A source returns ``None`` when what it needs is not there (a store without a
``complaints`` table, a build without the discharge standard): the alert is
then left out entirely, never shown as an empty placeholder. A source that was
checked and found nothing returns an :class:`Alert` with ``count`` 0, so a
wall can say "checked, all clear".

Every figure is computed on ``day`` from the data as it stood then, so a
briefing can be replayed on a past date.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from . import buffers, discharge, progress, rules, water
from . import complaints as casework_complaints
from .rules import as_day

#: How far back a riverside violation counts as newly found (days).
NEW_DAYS = 30
#: Severity order, worst first.
SEVERITIES = ("bad", "warn", "ok")


@dataclass(frozen=True)
class Alert:
    """One alert source's finding on a day.

    ``items`` are the findings in words, worst first (``worst`` is the first);
    ``note`` is context shown beside the count (e.g. when nothing was found).
    """

    key: str
    label: str
    count: int
    unit: str
    severity: str
    items: tuple[str, ...] = field(default_factory=tuple)
    note: str = ""

    @property
    def worst(self) -> str:
        return self.items[0] if self.items else ""

    @property
    def active(self) -> bool:
        return self.count > 0


def _zh_date(d) -> str:
    d = pd.Timestamp(d)
    return f"{d.year}年{d.month}月{d.day}日"


def _frame(frames: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    df = frames.get(name)
    return df if isinstance(df, pd.DataFrame) else None


# --- sources -----------------------------------------------------------------------------------

def campaigns(frames: Mapping[str, pd.DataFrame], day: pd.Timestamp, *, window_days: int = 90,
              snapshot: Mapping | None = None) -> Alert | None:
    """Campaigns with work left whose projection misses the deadline (or that never finish at this pace).

    A campaign without a deadline or without targets is not judged. Worst
    first: never at this pace, then the latest projected finish past the deadline.
    ``snapshot``: :func:`geo.progress.snapshot` of ``day`` with every site layer's history, used
    instead of ``frames`` (the database replays the statuses).
    """
    if _frame(frames, "status_events") is None:
        return None
    late = []
    for key, c in progress.CAMPAIGNS.items():
        _, p = progress.timeline(frames if snapshot is None else snapshot, key, day, window_days=window_days)
        if p.deadline is None or p.targets == 0 or p.remaining <= 0 or p.on_time:
            continue
        if p.projected_on is None:
            text = f"{c.label}：近{window_days}天无进展，按此进度期限前无法完成（已完成{p.done}/{p.targets}{c.unit}）"
            late.append((np.inf, text))
        else:
            days = int((p.projected_on - p.deadline).days)
            text = f"{c.label}：预计{_zh_date(p.projected_on)}完成，晚于期限{days}天（已完成{p.done}/{p.targets}{c.unit}）"
            late.append((days, text))
    late.sort(key=lambda t: -t[0])
    return Alert("campaigns", "专项预计超期", len(late), "项", "bad" if late else "ok",
                 tuple(t for _, t in late), "" if late else "各专项按当前进度可在期限前完成")


def sections(frames: Mapping[str, pd.DataFrame], day: pd.Timestamp) -> Alert | None:
    """Sections (not outfalls) whose latest sampling up to ``day`` misses the target class.

    Worst first: most classes below target, then the largest exceedance.
    """
    pts, rd = _frame(frames, "sampling_points"), _frame(frames, "readings")
    if pts is None or rd is None:
        return None
    a = water.latest_assessment(frames, as_of=day)  # the frames' own (a snapshot's memo serves it once)
    if "kind" in a.columns:
        a = a[a["kind"].fillna("section") != "outfall"]
    judged = a[a["meets"].notna()]
    bad = judged[~judged["meets"].astype(bool)].copy()
    bad["gap"] = bad["class"].astype(float) - pd.to_numeric(bad["target_class"], errors="coerce")
    bad = bad.sort_values(["gap", "name"], ascending=[False, True], kind="stable")
    items = []
    for name, cls, tgt, ex in zip(bad["name"], bad["class"], bad["target_class"], bad["exceeding"]):
        text = f"{name}：{water.label(cls)}（目标{water.label(tgt)}）"
        if isinstance(ex, str) and ex:
            text += f"，{ex}"
        items.append(text)
    note = f"{len(judged)}个断面均达标" if not items else f"共评价{len(judged)}个断面"
    return Alert("sections", "断面未达标", len(items), "个", "warn" if items else "ok", tuple(items), note)


def outfalls(frames: Mapping[str, pd.DataFrame], day: pd.Timestamp) -> Alert | None:
    """Outfalls over their discharge limits at their latest sampling up to ``day`` (GB 8978 or permit).

    Judged by :func:`geo.discharge.latest_outfalls`; a store without outfalls among its sampling points
    leaves the source out.
    """
    mod = discharge
    pts, rd = _frame(frames, "sampling_points"), _frame(frames, "readings")
    if pts is None or rd is None:
        return None
    if "kind" not in pts.columns or not (pts["kind"] == "outfall").any():
        return None
    o = mod.latest_outfalls({"sampling_points": pts, "readings": rd}, as_of=day)
    judged = o[o["verdict"].isin([mod.MEETS, mod.EXCEEDS])]
    over = judged[judged["verdict"] == mod.EXCEEDS]
    if "max_multiple" in over.columns:
        over = over.sort_values("max_multiple", ascending=False, na_position="last", kind="stable")
    items = tuple(f"{n}：{e}" if isinstance(e, str) and e else str(n)
                  for n, e in zip(over["name"], over.get("exceeding", pd.Series("", index=over.index))))
    note = f"{len(judged)}个排污口均达标" if not items else f"共判定{len(judged)}个排污口"
    return Alert("outfalls", "排污口超标", len(items), "个", "bad" if items else "ok", items, note)


def complaints(frames: Mapping[str, pd.DataFrame], day: pd.Timestamp) -> Alert | None:
    """Complaints overdue on ``day`` or due that day and unhandled (:func:`geo.complaints.alarms`, the
    contract's rule: unhandled = ``handled_on`` empty or later than the day; received by the day).

    Worst first: sensitive, then most days overdue. Without a ``complaints``
    table the source is left out; with an empty one it is all clear.
    """
    c = _frame(frames, "complaints")
    if c is None or not {"received_on", "due_on", "handled_on"} <= set(c.columns):
        return None
    c = c.assign(**{col: pd.to_datetime(c[col]).dt.normalize() for col in ("received_on", "due_on", "handled_on")})
    if "sensitive" not in c.columns:
        c["sensitive"] = False
    c["sensitive"] = c["sensitive"].astype("boolean").fillna(False).astype(bool)
    found = casework_complaints.alarms(c, day)
    items = []
    for sid, summary, alarm, days, sens in zip(found["id"], found.get("summary", found["id"]), found["alarm"],
                                               found["days_overdue"], found["sensitive"]):
        what = str(summary).strip() if isinstance(summary, str) and summary.strip() else str(sid)
        when = f"超期{int(days)}天" if alarm == "overdue" else "今日到期"
        items.append(f"{'【敏感】' if sens else ''}{what}（{when}）")
    n_late = int((found["alarm"] == "overdue").sum())
    n_today = len(found) - n_late
    if items:
        note = f"超期{n_late}件，今日到期{n_today}件"
    else:
        open_ = int(((c["received_on"] <= day) & (c["handled_on"].isna() | (c["handled_on"] > day))).sum())
        note = f"未办结{open_}件，均未到期" if open_ else "受理的投诉均已办结"
    return Alert("complaints", "投诉超期或今日到期", len(items), "件",
                 "bad" if n_late else ("warn" if n_today else "ok"), tuple(items), note)


def riverside(frames: Mapping[str, pd.DataFrame], day: pd.Timestamp, *, new_days: int = NEW_DAYS,
              distance: float | None = None, active: Callable | None = None,
              now: pd.DataFrame | None = None) -> Alert | None:
    """Riverside violations on ``day`` that were not violations ``new_days`` earlier, nearest the water first.

    A site registered, or turned active again, within the window shows here;
    the note gives the total standing on the day. ``active(layer, day)``: the sites of ``layer``
    active on ``day`` (e.g. ``Store.sites_on`` leaving resolved statuses out), used instead of
    replaying ``frames``' events (see :func:`riverside_check`).

    ``now``: the violations on ``day`` (a :func:`geo.buffers.check` the caller already has), with
    ``frames`` holding the sites on ``day`` and every event of the site layers up to it (a
    :func:`geo.progress.snapshot` with their history). Then only the sites with an event in the
    window are looked at again: a site's distance to water does not change with the date, so a site
    with no event in the window is a violation on both days or on neither.
    """
    distance = rules.riverside_limit_m() if distance is None else distance
    if _frame(frames, "rivers") is None and _frame(frames, "waterbodies") is None:
        return None
    earlier = day - pd.Timedelta(days=new_days)
    if now is None:
        now = riverside_check(frames, day, distance, active)
        before = riverside_check(frames, earlier, distance, active)
        seen = _keys(before)
        resolved = len(seen - _keys(now))
    else:
        seen, resolved = _violations_before(frames, now, day, earlier, distance)
    new = now[np.array([k not in seen for k in _key_list(now)], dtype=bool)].sort_values("distance_m")
    items = tuple(f"{n}（{t}，距水体{d:.0f}米）" for n, t, d in zip(new["name"], new["township"].fillna("界外"),
                                                               new["distance_m"]))
    note = f"在册{len(now)}处" + (f"，近{new_days}天整改{resolved}处" if resolved else "")
    return Alert("riverside", f"沿河违规新增（近{new_days}天）", len(items), "处", "bad" if items else "ok",
                 items, note)


def _violations_before(frames: Mapping[str, pd.DataFrame], now: pd.DataFrame, day, earlier,
                       distance: float) -> tuple[set, int]:
    """Which of ``now``'s violations were violations on ``earlier`` too, and how many violations of
    ``earlier`` were resolved by ``day`` (:func:`geo.buffers.violations_earlier`)."""
    then = buffers.violations_earlier(frames, now, day, earlier, distance)
    then_keys = _keys(then)
    seen = then_keys & _keys(now)
    return seen, len(then_keys - seen)


def _key_list(df: pd.DataFrame) -> list[tuple]:
    """``(layer, id)`` of each row (numpy object arrays zip at C speed; Arrow strings one by one)."""
    return list(zip(df["layer"].to_numpy(dtype=object), df["id"].to_numpy(dtype=object)))


def _keys(df: pd.DataFrame) -> set[tuple]:
    return set(_key_list(df))


def riverside_check(frames: Mapping[str, pd.DataFrame], day, distance: float | None = None,
                    active: Callable | None = None) -> pd.DataFrame:
    """:func:`geo.buffers.check` of every site layer on ``day``; with ``active(layer, day)`` (the sites
    active on that day, already replayed, e.g. by the database) only those are checked, nothing replayed."""
    if active is None:
        return buffers.check(frames, distance=distance, as_of=day)
    fr = {t: frames[t] for t in ("rivers", "waterbodies", "townships") if _frame(frames, t) is not None}
    fr.update({layer: active(layer, as_day(day)) for layer in ("enterprises", "kilns", "farms")})
    return buffers.check(fr, distance=distance, as_of=None)


#: Every source, in the order the wall shows them.
SOURCES: dict[str, Callable[..., Alert | None]] = {
    "campaigns": campaigns, "sections": sections, "outfalls": outfalls, "complaints": complaints,
    "riverside": riverside,
}
#: Tables the sources read (those marked optional may be absent from a store).
TABLES = ("townships", "rivers", "waterbodies", "enterprises", "kilns", "farms", "status_events",
          "sampling_points", "readings")
OPTIONAL_TABLES = ("complaints",)


def collect(frames: Mapping[str, pd.DataFrame], as_of, *, sources: Mapping[str, Callable] | None = None,
            new_days: int = NEW_DAYS, distance: float | None = None, window_days: int = 90,
            snapshot: Mapping | None = None, active: Callable | None = None,
            riverside_now: pd.DataFrame | None = None) -> list[Alert]:
    """Every available source's alert on ``as_of``, in source order (unavailable sources left out).

    ``snapshot`` (:func:`geo.progress.snapshot` of ``as_of`` with every site layer's history) and
    ``active`` (``active(layer, day)``: the sites active on a day, see :func:`riverside`) serve the
    site parts instead of replaying ``frames``; ``riverside_now`` (the violations on ``as_of``, with
    ``frames`` a snapshot holding every site layer's history) spares the riverside alert its checks
    (:func:`riverside`)."""
    day = as_day(as_of)
    frames = progress.prepare(frames)
    distance = rules.riverside_limit_m() if distance is None else distance
    options = {"riverside": {"new_days": new_days, "distance": distance, "active": active, "now": riverside_now},
               "campaigns": {"window_days": window_days, "snapshot": snapshot}}
    out = []
    for key, fn in (SOURCES if sources is None else sources).items():
        a = fn(frames, day, **options.get(key, {}))
        if a is not None:
            out.append(a)
    return out


def load_frames(store) -> dict[str, pd.DataFrame]:
    """The tables the sources need from ``store``; optional tables only when the store has them."""
    present = set(store.tables())
    names = list(TABLES) + [t for t in OPTIONAL_TABLES if t in present]
    return progress.prepare({t: store.read(t) for t in names})


# --- outputs ------------------------------------------------------------------------------------

COLUMNS = ["key", "label", "count", "unit", "severity", "worst", "note", "items"]


def table(alerts: list[Alert]) -> pd.DataFrame:
    """One row per alert: ``key, label, count, unit, severity, worst, note, items`` (items joined by ``；``)."""
    rows = [dict(key=a.key, label=a.label, count=a.count, unit=a.unit, severity=a.severity, worst=a.worst,
                 note=a.note, items="；".join(a.items)) for a in alerts]
    return pd.DataFrame(rows, columns=COLUMNS)


def to_json(alerts: list[Alert], as_of) -> str:
    return json.dumps({"as_of": as_day(as_of).date().isoformat(),
                       "alerts": [asdict(a) | {"worst": a.worst} for a in alerts]}, ensure_ascii=False, indent=1)


def lines(alerts: list[Alert], as_of) -> list[str]:
    """The alerts as plain text lines (Chinese), active ones with their worst item."""
    out = [f"数据截至 {_zh_date(as_day(as_of))}"]
    for a in alerts:
        mark = {"bad": "!!", "warn": "! ", "ok": "✓ "}[a.severity]
        out.append(f"{mark} {a.label}：{a.count}{a.unit}" + (f"（{a.note}）" if a.note else ""))
        for item in a.items[:5]:
            out.append(f"     · {item}")
        if len(a.items) > 5:
            out.append(f"     · …另有{len(a.items) - 5}{a.unit}")
    return out
