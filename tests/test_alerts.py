"""geo.alerts: every source on the demo (counts derived from the data, not written down) and on hand-made tables;
sources whose data is absent are left out; GeoPackage and PostGIS give the same alerts; the command line."""
from __future__ import annotations

import json
import types

import pandas as pd
import pytest

from geo import alerts as A, buffers, progress, rules, wallboard, water

DAY = pd.Timestamp("2007-06-30")


@pytest.fixture(scope="module")
def demo(demo_frames):
    return progress.prepare(demo_frames)


def _by_key(found):
    return {a.key: a for a in found}


# --- campaigns ----------------------------------------------------------------------------------

def test_chemical_park_campaign_projected_late_is_an_alert(demo):
    a = A.campaigns(demo, DAY)
    _, p = progress.timeline(demo, "chemical", DAY)
    assert p.projected_on > p.deadline  # the premise, from the projection itself
    chem = [t for t in a.items if t.startswith(progress.CAMPAIGNS["chemical"].label)]
    assert len(chem) == 1
    assert f"{p.projected_on.year}年{p.projected_on.month}月{p.projected_on.day}日" in chem[0]
    assert f"晚于期限{(p.projected_on - p.deadline).days}天" in chem[0]
    assert a.severity == "bad" and a.active


def test_campaign_count_is_every_campaign_that_misses_its_deadline(demo):
    expected = []
    for key in progress.CAMPAIGNS:
        _, p = progress.timeline(demo, key, DAY)
        if p.deadline is not None and p.remaining > 0 and not p.on_time:
            expected.append(progress.CAMPAIGNS[key].label)
    a = A.campaigns(demo, DAY)
    assert a.count == len(expected) == len(a.items)
    assert sorted(t.split("：")[0] for t in a.items) == sorted(expected)
    # never finishing at this pace is worse than finishing late: listed first
    never = [t for t in a.items if "无法完成" in t]
    assert a.items[: len(never)] == tuple(never)


def test_campaigns_replayed_on_a_past_date(demo):
    a = A.campaigns(demo, pd.Timestamp("2006-06-30"))
    _, p = progress.timeline(demo, "chemical", "2006-06-30")
    assert p.on_time  # a year earlier the park was on pace
    assert not any(t.startswith("化工园区关停") for t in a.items)


# --- sections -----------------------------------------------------------------------------------

def test_sections_failing_target_counted_from_the_latest_sampling(demo):
    pts = demo["sampling_points"]
    sections = pts[pts["kind"] == "section"]
    s = water.sampling_classes(demo["readings"], sections, as_of=DAY)
    last = s.sort_values("day").groupby("point_id").tail(1)
    failing = last[last["meets"].eq(False)]
    names = dict(zip(pts["id"], pts["name"]))
    a = A.sections(demo, DAY)
    assert a.count == len(failing) > 0
    assert {t.split("：")[0] for t in a.items} == {names[i] for i in failing["point_id"]}
    # outfalls are not sections, whatever their GB 3838 class
    assert not any(names[i] in " ".join(a.items) for i in pts.loc[pts["kind"] == "outfall", "id"])
    gap = (last["class"] - last["target_class"].astype(float))
    worst = names[last.loc[gap.idxmax(), "point_id"]]
    assert a.worst.startswith(worst)


# --- outfalls -----------------------------------------------------------------------------------

def test_outfalls_left_out_without_outfalls(demo):
    """A store whose sampling points include no outfall has no outfall alert (not a ✓ row)."""
    pts = demo["sampling_points"]
    frames = {**demo, "sampling_points": pts[pts["kind"] != "outfall"]}
    assert A.outfalls(frames, DAY) is None
    assert "outfalls" not in _by_key(A.collect(frames, DAY))


def test_outfalls_on_the_demo_follow_geo_discharge(demo):
    """The alert counts what geo.discharge judges 超标 at each outfall's latest sampling, worst first."""
    from geo import discharge

    judged = discharge.latest_outfalls(demo, as_of=DAY)
    over = judged[judged["verdict"] == discharge.EXCEEDS]
    a = A.outfalls(demo, DAY)
    assert a.count == len(over) > 0
    assert a.items[0].startswith(over.sort_values("max_multiple", ascending=False)["name"].iat[0])


def test_outfalls_over_limit_from_the_discharge_judgment(demo, monkeypatch):
    calls = []

    def latest_outfalls(frames, as_of=None):
        calls.append(as_of)
        return pd.DataFrame({"id": ["O1", "O2", "O3", "O4"], "name": ["甲排污口", "乙排污口", "丙排污口", "丁排污口"],
                             "verdict": ["超标", "达标", "超标", "无数据"], "max_multiple": [0.5, None, 3.2, None],
                             "exceeding": ["COD 超标0.5倍", "", "NH3-N 超标3.2倍", ""]})

    fake = types.SimpleNamespace(latest_outfalls=latest_outfalls, MEETS="达标", EXCEEDS="超标")
    monkeypatch.setattr(A, "discharge", fake)
    a = A.outfalls(demo, DAY)
    assert calls == [DAY]
    assert a.count == 2 and a.items == ("丙排污口：NH3-N 超标3.2倍", "甲排污口：COD 超标0.5倍")  # largest multiple first
    assert "3个排污口" in a.note  # judged ones only: 无数据 is not judged


# --- complaints ---------------------------------------------------------------------------------

def _complaints():
    rows = [  # id, received, due, handled, sensitive, summary
        ("C1", "2007-06-01", "2007-06-15", None, False, "夜间偷排"),           # overdue 15 days
        ("C2", "2007-06-20", "2007-06-30", None, False, "异味"),               # due today
        ("C3", "2007-06-01", "2007-06-10", "2007-06-09", False, "噪声"),       # handled on time
        ("C4", "2007-06-02", "2007-06-25", "2007-07-05", True, "河面油污"),     # handled after the day: open then
        ("C5", "2007-07-02", "2007-07-10", None, False, "尚未收到"),           # received after the day
        ("C6", "2007-05-01", "2007-06-29", "2007-06-30", False, "已办结"),      # handled on the day
    ]
    c = pd.DataFrame(rows, columns=["id", "received_on", "due_on", "handled_on", "sensitive", "summary"])
    for col in ("received_on", "due_on", "handled_on"):
        c[col] = pd.to_datetime(c[col])
    return c


def test_complaints_overdue_or_due_today_with_the_contract_rule(demo):
    frames = dict(demo, complaints=_complaints())
    a = A.complaints(frames, DAY)
    c = _complaints()
    open_ = (c["received_on"] <= DAY) & (c["handled_on"].isna() | (c["handled_on"] > DAY))
    expected = c[open_ & (c["due_on"] <= DAY)]
    assert a.count == len(expected) == 3
    assert a.items[0].startswith("【敏感】河面油污")  # sensitive first
    assert a.items[1] == "夜间偷排（超期15天）" and a.items[2] == "异味（今日到期）"
    assert a.severity == "bad" and "超期2件，今日到期1件" == a.note
    # a day later the due-today one is overdue too; before C1 was due, only nothing
    assert A.complaints(frames, pd.Timestamp("2007-06-14")).count == 0


def test_complaints_on_the_demo_follow_the_casework_alarms(demo):
    from geo import complaints as C

    assert "complaints" in demo  # the demo carries the casework tables
    a = A.complaints(demo, DAY)
    assert a.count == len(C.alarms(demo["complaints"], DAY))
    assert a.severity == ("ok" if a.count == 0 else a.severity) and a.note


def test_complaints_left_out_without_the_table_and_clear_when_empty(demo):
    without = {k: v for k, v in demo.items() if k != "complaints"}
    assert A.complaints(without, DAY) is None
    assert "complaints" not in _by_key(A.collect(without, DAY))
    empty = _complaints().iloc[:0]
    a = A.complaints(dict(demo, complaints=empty), DAY)
    assert a.count == 0 and a.severity == "ok" and a.note == "受理的投诉均已办结"


# --- riverside ----------------------------------------------------------------------------------

def test_riverside_new_violations_on_the_demo_none_and_the_total_in_the_note(demo):
    a = A.riverside(demo, DAY)
    now = buffers.check(demo, distance=rules.riverside_limit_m(), as_of=DAY)
    before = buffers.check(demo, distance=rules.riverside_limit_m(), as_of=DAY - pd.Timedelta(days=A.NEW_DAYS))
    new = set(zip(now["layer"], now["id"])) - set(zip(before["layer"], before["id"]))
    assert a.count == len(new)
    assert f"在册{len(now)}处" in a.note


def test_a_site_registered_last_week_by_the_river_is_new(demo):
    now = buffers.check(demo, distance=rules.riverside_limit_m(), as_of=DAY)
    spot = now[now["layer"] == "farms"].iloc[0]
    farms = demo["farms"]
    new_farm = farms[farms["id"] == spot["id"]].copy()
    new_farm["id"], new_farm["name"], new_farm["status"] = "F-NEW", "新发现养殖场", "operating"
    ev = pd.DataFrame({"layer": ["farms"], "feature_id": ["F-NEW"], "status": ["operating"],
                       "effective_on": [DAY - pd.Timedelta(days=7)], "recorded_at": [DAY], "recorded_by": ["t"],
                       "note": [""]})
    frames = dict(demo, farms=pd.concat([farms, new_farm], ignore_index=True),
                  status_events=pd.concat([demo["status_events"], ev], ignore_index=True))
    a = A.riverside(frames, DAY)
    assert a.count == 1 and a.items[0].startswith("新发现养殖场") and a.severity == "bad"
    assert A.riverside(frames, DAY, new_days=5).count == 0  # a week ago is not within five days


def test_riverside_from_the_violations_on_the_day_equals_two_whole_checks(tmp_path):
    """Given the day's violations and a snapshot with every layer's history, the alert looks again only at
    sites with an event in the window: new items, count and the resolved figure equal two whole checks."""
    from geo import synth
    from geo.store import open_store

    path = tmp_path / "s.gpkg"
    synth.write(str(path), sites=3000, readings=3000)
    store = open_store(str(path))
    whole = progress.prepare(store.read_many(["townships", "rivers", "waterbodies", "enterprises", "kilns",
                                              "farms", "status_events"]))
    ev = whole["status_events"]
    # days whose week holds events that open, close and register sites (and the latest day)
    busy = ev["effective_on"].value_counts().index[:3].tolist() + [ev["effective_on"].max()]
    compared = 0
    for day in busy:
        day = pd.Timestamp(day) + pd.Timedelta(days=2)
        for new_days in (7, 30):
            expected = A.riverside(whole, day, new_days=new_days)
            # with every layer's history, and as the wall holds it (only the sites changed since)
            for args in ({"history_of": ("enterprises", "kilns", "farms")}, wallboard.snapshot_args(day, new_days)):
                snap = progress.snapshot(store, day, **args)
                frames = {**{t: whole[t] for t in ("rivers", "waterbodies")}, **snap}
                now = buffers.check(frames, distance=rules.riverside_limit_m(), as_of=None)
                got = A.riverside(frames, day, new_days=new_days, now=now)
                assert (got.count, got.items, got.note, got.severity) == \
                       (expected.count, expected.items, expected.note, expected.severity), (day, new_days, args)
            compared += bool(expected.count) + ("整改" in expected.note)
    assert compared >= 2  # the days chosen do have new and resolved violations to compare


def test_violations_earlier_equal_a_whole_check_of_that_day(tmp_path):
    """geo.buffers.violations_earlier (from the day's violations, looking again only at sites with an event
    since) lists exactly the sites, townships and distances a whole check of the earlier day lists."""
    from geo import synth
    from geo.store import open_store

    path = tmp_path / "s.gpkg"
    synth.write(str(path), sites=3000, readings=3000)
    store = open_store(str(path))
    whole = progress.prepare(store.read_many(["townships", "rivers", "waterbodies", "enterprises", "kilns",
                                              "farms", "status_events"]))
    day = pd.Timestamp(whole["status_events"]["effective_on"].max())
    snap = progress.snapshot(store, day, history_of=("enterprises", "kilns", "farms"))
    frames = {**{t: whole[t] for t in ("rivers", "waterbodies")}, **snap}
    now = buffers.check(frames, 200.0)
    differ = 0
    for earlier in (day - pd.Timedelta(days=30), pd.Timestamp(year=day.year, month=1, day=1),
                    day - pd.Timedelta(days=800)):
        got = buffers.violations_earlier(frames, now, day, earlier, 200.0)
        want = buffers.check(whole, 200.0, as_of=earlier)
        key = ["layer", "id"]
        g = got[key + ["township", "distance_m"]].sort_values(key).reset_index(drop=True)
        w = want[key + ["township", "distance_m"]].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(g, w, check_dtype=False)
        differ += set(zip(g["layer"], g["id"])) != set(zip(now["layer"], now["id"]))
        # the same from a snapshot holding only the sites changed since that day
        part = {**{t: whole[t] for t in ("rivers", "waterbodies")},
                **progress.snapshot(store, day, changed_since=earlier)}
        assert len(part["status_events"]) < len(snap["status_events"])
        again = buffers.violations_earlier(part, now, day, earlier, 200.0)
        a = again[key + ["township", "distance_m"]].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, w, check_dtype=False)
        # an earlier day than it holds the changes since: refused, never a wrong list
        with pytest.raises(ValueError):
            buffers.violations_earlier(part, now, day, earlier - pd.Timedelta(days=1), 200.0)
        with pytest.raises(ValueError):
            buffers.check(part, 200.0, as_of=earlier)  # nor a whole check of another day
    assert differ >= 2  # the days compared do differ from the day itself


def test_a_snapshot_memo_never_serves_a_filtered_copy(tmp_path):
    """A snapshot computes a timeline or a check once (geo.memo); a copy of its frames with a site layer
    replaced (a township filter) gets its own answer, never the whole snapshot's."""
    from geo import memo, synth
    from geo.store import open_store

    path = tmp_path / "s.gpkg"
    synth.write(str(path), sites=2000, readings=2000)
    store = open_store(str(path))
    day = pd.Timestamp(store.read("status_events")["effective_on"].max())
    snap = progress.snapshot(store, day, history_of=("enterprises", "kilns", "farms"))
    frames = {**store.read_many(["rivers", "waterbodies"]), **snap}
    whole = buffers.check(frames, 200.0)
    assert len(frames[memo.KEY]) == 1
    again = buffers.check(frames, 200.0)
    pd.testing.assert_frame_equal(pd.DataFrame(whole), pd.DataFrame(again))
    again["distance_m"] = -1.0  # a caller changing its copy does not change the memo's
    assert (buffers.check(frames, 200.0)["distance_m"] >= 0).all()
    town = whole["township"].value_counts().index[0]
    part = dict(frames, farms=frames["farms"][frames["farms"]["township"] == town],
                enterprises=frames["enterprises"][frames["enterprises"]["township"] == town],
                kilns=frames["kilns"][frames["kilns"]["township"] == town])
    sub = buffers.check(part, 200.0)
    assert 0 < len(sub) < len(whole) and set(sub["township"]) == {town}
    s1, p1 = progress.timeline(snap, "livestock", day)
    s2, p2 = progress.timeline(part, "livestock", day)
    assert p2.targets < p1.targets


# --- all together, on both stores ---------------------------------------------------------------

def test_collect_on_the_demo_store(demo_store):
    from geo.store import open_store

    found = A.collect(A.load_frames(open_store(demo_store)), DAY)
    keys = [a.key for a in found]
    assert keys[:2] == ["campaigns", "sections"] and "riverside" in keys
    assert "complaints" in keys  # the demo store has the complaints table
    t = A.table(found)
    assert list(t.columns) == A.COLUMNS and len(t) == len(found)
    assert "化工园区关停" in t.set_index("key").loc["campaigns", "items"]
    doc = json.loads(A.to_json(found, DAY))
    assert doc["as_of"] == "2007-06-30" and doc["alerts"][0]["worst"] == found[0].worst


def test_same_alerts_on_postgis(pg_db, demo_store):
    from geo.store.postgis import copy_store
    from geo.store import open_store

    pg = open_store(pg_db, create=True)
    copy_store(open_store(demo_store), pg)
    on_pg = A.collect(A.load_frames(pg), DAY)
    on_gpkg = A.collect(A.load_frames(open_store(demo_store)), DAY)
    assert [(a.key, a.count, a.items) for a in on_pg] == [(a.key, a.count, a.items) for a in on_gpkg]


def test_command_line(demo_store, capsys, tmp_path):
    from geo.cli import main

    assert main(["alerts", "--store", str(demo_store), "--as-of", "2007-06-30"]) == 1  # alerts active
    out = capsys.readouterr().out
    assert "数据截至 2007年6月30日" in out and "化工园区关停：预计2008年3月26日完成" in out
    assert main(["alerts", "--store", str(demo_store), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["as_of"] == "2007-06-30" and doc["alerts"][0]["key"] == "campaigns"
    out_csv = tmp_path / "alerts.csv"
    assert main(["alerts", "--store", str(demo_store), "--format", "csv", "--out", str(out_csv)]) == 1
    assert pd.read_csv(out_csv, encoding="utf-8-sig")["key"].tolist()[:2] == ["campaigns", "sections"]
    assert main(["alerts", "--store", str(demo_store), "--as-of", "2007-02-30"]) == 2
    err = capsys.readouterr().err
    assert "错误" in err and "error" in err and "Traceback" not in err
