"""Status queries in the database (issue 13) equal the pandas replay of whole tables, on both backends.

``Store.sites_on`` / ``Store.events_of`` (SQL on the GeoPackage's sqlite3 connection and on PostGIS) and
:func:`geo.progress.snapshot` built from them give exactly what :mod:`geo.history` and
:mod:`geo.progress` give on the whole tables: sites on several dates (before some sites' first event,
between events, on and after the latest one), counts by layer × group × township × status, pending and
overdue lists, completion, the headline figures and the cumulative series. Stores: the demo, a small
synthetic province with hand-made edge cases (tied events, an event without a recording time, a site on
a township border, one outside every township, one with no event), each as a GeoPackage and in PostGIS.
"""
from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest
import shapely

from geo import contract, history, progress as P, rules
from geo.store import GpkgStore, open_store
from geo.store.status_sql import GPKG_EVENTS_INDEX
from tests.conftest import DEMO

DEMO_DATES = ["2003-01-01", "2005-06-30", "2006-04-12", "2007-06-29", "2007-06-30", "2030-01-01"]
SYNTH_DATES = ["2003-06-30", "2004-06-30", "2005-09-15", "2006-12-31", "2008-01-01"]


def _synth_tables() -> dict[str, pd.DataFrame]:
    """A small synthetic province plus the edge cases the rule has to get right."""
    from geo import synth

    t = synth.build(sites=3000, townships=12, rivers=20, waterbodies=4, sampling_points=10, readings=200, parks=4)
    towns, ev = t["townships"], t["status_events"].copy()
    farms = t["farms"].copy()
    # a farm exactly on a township border vertex (shared by two townships: the first in table order wins),
    # one outside every township, and one with no event at all (not on the ledger on any date)
    vertex = shapely.get_coordinates(towns.geometry.values[0].boundary)[0]
    outside = towns.total_bounds[2] + 0.5, towns.total_bounds[3] + 0.5
    farms.loc[farms.index[0], "geometry"] = shapely.Point(*vertex)
    farms.loc[farms.index[1], "geometry"] = shapely.Point(*outside)
    lonely = farms["id"].iloc[2]
    ev = ev[ev["feature_id"] != lonely]
    # ties: two events of one kiln on one day, the later-recorded one first in the table;
    # and two on one day where one has no recording time (it counts as recorded last)
    day = pd.Timestamp("2005-09-15")
    kev = ev[ev["layer"] == "kilns"].groupby("feature_id")["effective_on"].max()
    k1, k2 = kev[kev < day].index[:2]  # kilns whose own history ends before the tie
    extra = pd.DataFrame({
        "layer": ["kilns"] * 4, "feature_id": [k1, k1, k2, k2],
        "status": ["closed", "rebuilt", "relocated", "closed"],
        "effective_on": [day] * 4,
        "recorded_at": [pd.Timestamp("2005-09-16 10:00"), pd.Timestamp("2005-09-15 09:00"), pd.NaT,
                        pd.Timestamp("2005-09-20 08:00")],
        "recorded_by": ["测试"] * 4, "note": ["并列"] * 4,
    })
    t["status_events"] = pd.concat([ev, extra], ignore_index=True)
    t["farms"] = farms
    return t


@pytest.fixture(scope="module")
def synth_tables():
    return _synth_tables()


@pytest.fixture(params=["gpkg-demo", "gpkg-synth", "pg-demo", "pg-synth"])
def case(request, tmp_path, synth_tables):
    """(store, whole tables as read back, dates to ask) for each backend and data set."""
    kind, data = request.param.split("-")
    if data == "demo":
        tables = open_store(DEMO).read_many()
        dates = DEMO_DATES
    else:
        tables, dates = synth_tables, SYNTH_DATES
    if kind == "gpkg":
        store = GpkgStore(tmp_path / "s.gpkg", create=True)
    else:
        store = open_store(request.getfixturevalue("pg_db"), create=True)
    store.replace_all({k: v for k, v in tables.items() if k in contract.TABLES})
    return store, store.read_many(["townships", "status_events", *contract.SITE_LAYERS]), dates


def _same(a: pd.DataFrame, b: pd.DataFrame, **kw):
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), **kw)


def test_sites_on_equals_the_replay(case):
    store, full, dates = case
    for layer in contract.SITE_LAYERS:
        for day in dates + [None]:
            want = history.sites_on(full[layer], full["status_events"], layer, day)
            cols = [c for c in ("name", "deadline", "no_such_column") if c in full[layer].columns]
            got = store.sites_on(layer, day, ["name", "deadline", "no_such_column"])
            assert list(got.columns) == ["id", "status", *cols, "geometry"]
            assert got["id"].tolist() == want["id"].tolist(), (layer, day)
            assert got["status"].tolist() == want["status"].tolist(), (layer, day)
            _same(got[cols], want[cols])
            assert shapely.equals_exact(got.geometry.values, want.geometry.values, tolerance=0).all()
            assert got.crs.to_epsg() == 4326
            # active sites only (the riverside check): a resolved status on the day is left out
            active = store.sites_on(layer, day, [], exclude_statuses=rules.RESOLVED[layer])
            keep = rules.is_active(layer, want["status"].to_numpy())
            assert active["id"].tolist() == want["id"][keep].tolist(), (layer, day)


def test_a_date_before_some_first_events_leaves_those_sites_out(case):
    store, full, dates = case
    ev = full["status_events"]
    first = ev.groupby(["layer", "feature_id"])["effective_on"].min()
    day = pd.Timestamp(first.median()).normalize()  # half the sites have their first event by then
    missing = 0
    for layer in contract.SITE_LAYERS:
        got = set(store.sites_on(layer, day, [])["id"])
        f = first.loc[layer] if layer in first.index.get_level_values(0) else pd.Series(dtype="datetime64[ms]")
        assert got == set(f[f <= day].index) & set(full[layer]["id"])
        missing += len(full[layer]) - len(got)
    # some sites were not on the ledger yet (the demo enters every site on one day: then none is missing)
    assert missing > 0 or first.nunique() == 1


def test_events_of_equals_the_filter(case):
    store, full, dates = case
    ev = full["status_events"]
    for layer in contract.SITE_LAYERS:
        for day in (None, dates[2]):
            sel = ev["layer"] == layer
            if day is not None:
                sel &= ev["effective_on"] <= pd.Timestamp(day)
            _same(store.events_of(layer, until=day), ev[sel][["layer", "feature_id", "status", "effective_on",
                                                                 "recorded_at"]])
        some = ev[ev["layer"] == layer]["feature_id"].unique()[:5]
        got = store.events_of(layer, statuses=["closed", "treating"], feature_ids=some)
        want = ev[(ev["layer"] == layer) & ev["status"].isin(["closed", "treating"]) & ev["feature_id"].isin(some)]
        assert got["feature_id"].tolist() == want["feature_id"].tolist()


def test_events_of_changed_after_holds_whole_histories_of_the_changed_sites(case):
    store, full, dates = case
    ev = full["status_events"]
    for layer in contract.SITE_LAYERS:
        for after, until in ((dates[1], dates[3]), (dates[2], None)):
            sel = ev[(ev["layer"] == layer).to_numpy(bool)]
            if until is not None:
                sel = sel[(sel["effective_on"] <= pd.Timestamp(until)).to_numpy(bool)]
            changed = sel.loc[(sel["effective_on"] > pd.Timestamp(after)).to_numpy(bool), "feature_id"]
            want = sel[sel["feature_id"].isin(changed).to_numpy(bool)][["layer", "feature_id", "status",
                                                                         "effective_on", "recorded_at"]]
            got = store.events_of(layer, until=until, changed_after=after)
            _same(got, want)
            # whole histories: events before the date come with the sites changed after it
            assert 0 < (got["effective_on"] <= pd.Timestamp(after)).sum() and len(got) < len(sel), (layer, after)


def _steps_tables(tables: dict) -> dict:
    """``tables`` plus events the done steps must order exactly as the contract does: a farm leaving a done
    status; two events of one day where the later-recorded one (first in the table) decides; and two where
    the one without a recording time counts as recorded last."""
    t = dict(tables)
    ev = t["status_events"]
    farms = ev[ev["layer"] == "farms"].groupby("feature_id")["effective_on"].max()
    f1, f2, f3 = farms[farms < pd.Timestamp("2005-01-01")].index[:3]
    rows = [  # (farm, status, effective_on, recorded_at)
        (f1, "accepted", "2005-03-01", "2005-03-01 09:00"), (f1, "treating", "2006-02-01", "2006-02-01 09:00"),
        (f2, "accepted", "2005-05-05", "2005-05-06 10:00"), (f2, "treating", "2005-05-05", "2005-05-05 09:00"),
        (f3, "treating", "2005-07-07", None), (f3, "accepted", "2005-07-07", "2005-07-08 10:00"),
    ]
    extra = pd.DataFrame({"layer": "farms", "feature_id": [r[0] for r in rows], "status": [r[1] for r in rows],
                          "effective_on": pd.to_datetime([r[2] for r in rows]),
                          "recorded_at": pd.to_datetime([r[3] for r in rows]), "recorded_by": "测试", "note": "次序"})
    t["status_events"] = pd.concat([ev, extra], ignore_index=True)
    return t


@pytest.mark.parametrize("backend", ["gpkg", "pg"])
def test_done_steps_in_the_database_equal_the_replay(backend, tmp_path, request, synth_tables):
    """Store.done_steps (a window over the events in SQL) equals geo.history.done_steps of the events, for
    whole layers and for some sites, on the dates asked; with steps that leave a done status and ties."""
    tables = _steps_tables({k: v for k, v in synth_tables.items() if k in contract.TABLES})
    if backend == "gpkg":
        store = GpkgStore(tmp_path / "s.gpkg", create=True)
    else:
        store = open_store(request.getfixturevalue("pg_db"), create=True)
    store.replace_all(tables)
    ev = store.read("status_events")
    negative = 0
    for layer in contract.SITE_LAYERS:
        done = sorted(rules.DONE[layer])
        for day in SYNTH_DATES:
            sel = ev[((ev["layer"] == layer) & (ev["effective_on"] <= pd.Timestamp(day))).to_numpy(bool)]
            want = history.done_steps(sel, done)
            _same(store.done_steps(layer, day, done), want)
            some = sel["feature_id"].dropna().unique()[::3]
            _same(store.done_steps(layer, day, done, some),
                  history.done_steps(sel[sel["feature_id"].isin(some).to_numpy(bool)], done))
            negative += int((want["step"] < 0).sum())
    assert negative > 0  # a site left a done status: the steps go down as well as up
    # the ties of one day: the later-recorded event decides (f2 done that day), a missing time counts as
    # recorded last (f3 not done that day)
    farms = tables["status_events"]
    f2, f3 = farms["feature_id"].iloc[-4], farms["feature_id"].iloc[-2]
    for fid, day, want in ((f2, "2005-05-05", 1), (f3, "2005-07-07", 0)):
        # one site's steps up to a day add up to whether it is done at the end of that day
        assert int(store.done_steps("farms", day, rules.DONE["farms"], [fid])["step"].sum()) == want, (fid, day)


def test_progress_figures_from_the_database_equal_the_whole_tables(case):
    store, full, dates = case
    full = P.prepare(full)
    for day in dates:
        snap = P.snapshot(store, day, history_of=contract.SITE_LAYERS)
        _same(P.counts(snap, day), P.counts(full, day))
        for c in P.CAMPAIGNS:
            _same(P.completion(snap, c, day), P.completion(full, c, day))
            # (the pandas replay types a status column as str; the database's is object, values equal)
            _same(P.pending_sites(snap, day, c), P.pending_sites(full, day, c), check_dtype=False)
            s1, p1 = P.timeline(snap, c, day)
            s2, p2 = P.timeline(full, c, day)
            _same(s1, s2)
            assert p1 == p2
        _same(P.overdue(snap, day), P.overdue(full, day), check_dtype=False)
        assert P.kpis(snap, day) == P.kpis(full, day)
        _same(P.township_ranking(snap, day), P.township_ranking(full, day))
    # the wall's snapshot: the done steps counted by the database (one in a worker thread), the history only
    # of the sites changed since a date; the same figures, and far fewer events held
    import concurrent.futures

    from geo import wallboard

    for day in dates:
        args = wallboard.snapshot_args(day, 7)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            snap = P.snapshot(store, day, **args, submit=pool.submit)
            for c in P.CAMPAIGNS:
                s1, p1 = P.timeline(snap, c, day)
                s2, p2 = P.timeline(full, c, day)
                _same(s1, s2)
                assert p1 == p2
        assert P.kpis(snap, day) == P.kpis(full, day)
        _same(P.overdue(snap, day), P.overdue(full, day), check_dtype=False)
        ev = full["status_events"]
        since = args["changed_since"]
        changed = set(zip(*[ev.loc[(ev["effective_on"] > since) & (ev["effective_on"] <= pd.Timestamp(day)), k]
                            for k in ("layer", "feature_id")]))
        held = snap["status_events"]
        mine = held[[k in changed for k in zip(held["layer"], held["feature_id"])]]
        want = ev[np.array([k in changed for k in zip(ev["layer"], ev["feature_id"])], dtype=bool)
                  & (ev["effective_on"] <= pd.Timestamp(day)).to_numpy(bool)]
        assert len(mine) == len(want)  # every event of each changed site, none twice
        assert not held.duplicated().any() or ev.duplicated().any()
        assert len(held) < (ev["effective_on"] <= pd.Timestamp(day)).sum() or day == dates[0]
    # a copy with other targets (a township filter) never takes the steps of the whole day: without the
    # history to replay, its time series is refused rather than wrong
    farms = snap["farms"]
    part = dict(snap, farms=farms[farms["township"] == farms["township"].value_counts().index[-1]])
    assert 0 < len(part["farms"]) < len(farms)
    with pytest.raises(ValueError):
        P.timeline(part, "livestock", day)
    # the plain snapshot (no history) serves every figure of its day but the time series
    day = dates[-2]
    snap = P.snapshot(store, day)
    assert P.kpis(snap, day) == P.kpis(full, day)
    assert len(snap["status_events"]) <= len(full["status_events"][full["status_events"]["status"] == "treating"])
    with pytest.raises(ValueError):
        P.counts(snap, dates[0])  # a snapshot stands on one day only


def test_counts_identical_on_both_backends(tmp_path, pg_db, synth_tables):
    tables = {k: v for k, v in synth_tables.items() if k in contract.TABLES}
    g = GpkgStore(tmp_path / "s.gpkg", create=True)
    g.replace_all(tables)
    pg = open_store(pg_db, create=True)
    pg.replace_all(tables)
    for day in SYNTH_DATES:
        a, b = P.snapshot(g, day), P.snapshot(pg, day)
        c = P.counts(a, day)
        _same(c, P.counts(b, day))
        for layer in contract.SITE_LAYERS:
            _same(a[layer].drop(columns="geometry"), b[layer].drop(columns="geometry"))
        _same(P.pending_sites(a, day), P.pending_sites(b, day))
        _same(P.overdue(a, day), P.overdue(b, day))
    # the border farm and the one outside: same township on both, the outside one as （界外）
    farms = a["farms"].set_index("id")["township"]
    assert farms.loc[tables["farms"]["id"].iloc[1]] is pd.NA or pd.isna(farms.loc[tables["farms"]["id"].iloc[1]])
    assert farms.loc[tables["farms"]["id"].iloc[0]] == tables["townships"]["name"].iloc[0]
    assert (c["township"] == P.OUTSIDE).any()
    # the tie: the later recording wins; a missing recording time counts as recorded last
    tie = tables["status_events"][tables["status_events"]["note"] == "并列"]["feature_id"].unique()
    for store in (g, pg):
        kilns = store.sites_on("kilns", "2005-09-15", []).set_index("id")["status"]
        assert kilns.loc[tie[0]] == "closed" and kilns.loc[tie[1]] == "relocated"


def test_the_events_index_exists_and_the_file_stays_a_geopackage(tmp_path):
    import pyogrio

    path = tmp_path / "demo.gpkg"
    path.write_bytes(DEMO.read_bytes())
    con = sqlite3.connect(path)
    # the shipped demo is built with its indexes; a store made before this index existed lacks it
    assert con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (GPKG_EVENTS_INDEX,)).fetchone() is not None
    con.execute(f'DROP INDEX "{GPKG_EVENTS_INDEX}"')
    con.commit()
    assert con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (GPKG_EVENTS_INDEX,)).fetchone() is None
    con.close()
    store = GpkgStore(path)
    before = store.version()
    store.sites_on("farms", "2006-01-01", [])
    con = sqlite3.connect(path)
    sql = con.execute("SELECT sql FROM sqlite_master WHERE name = ?", (GPKG_EVENTS_INDEX,)).fetchone()[0]
    plan = " ".join(r[3] for r in con.execute(
        "EXPLAIN QUERY PLAN SELECT status FROM status_events WHERE layer = 'farms' AND feature_id = 'F001' "
        "AND effective_on <= '2006-01-01' ORDER BY effective_on"))
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    assert '"layer", "feature_id", "effective_on"' in sql
    assert GPKG_EVENTS_INDEX in plan
    assert store.version() == before  # no data changed
    assert len(pyogrio.read_dataframe(path, layer="status_events")) == len(store.read("status_events"))


def test_postgis_events_index(pg_db):
    from geo.store.postgis import _driver_tx

    def defs(store):
        with _driver_tx(store.engine, readonly=True) as cur:
            cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'status_events'")
            return " ".join(r[0] for r in cur.fetchall())

    store = open_store(pg_db, create=True)
    assert "(layer, feature_id, effective_on, recorded_at)" in defs(store)  # made with the schema
    with _driver_tx(store.engine) as cur:  # an existing store that lost it gets it back on the first query
        cur.execute("DROP INDEX status_events_site_idx")
    store = open_store(pg_db)
    assert "(layer, feature_id, effective_on" not in defs(store)
    store.sites_on("farms", "2007-01-01", [])
    assert "(layer, feature_id, effective_on, recorded_at)" in defs(store)


def test_missing_tables_and_layers_give_empty_frames(tmp_path):
    store = GpkgStore(tmp_path / "s.gpkg", create=True)
    store.replace_all({"townships": open_store(DEMO).read("townships")})
    got = store.sites_on("farms", "2007-01-01", ["name"])
    assert len(got) == 0 and list(got.columns) == ["id", "status", "name", "geometry"]
    assert len(store.events_of("farms")) == 0
    snap = P.snapshot(store, "2007-01-01")
    assert len(P.counts(snap, "2007-01-01")) == 0
    assert np.isnan(P.completion(snap, "lime", "2007-01-01")["rate"]).all()


def test_wall_closure_figures_from_the_database(case):
    """The wall's closure tiles (kpis), trends, township standing and campaign alert from a snapshot."""
    from geo import alerts, wallboard

    store, full, dates = case
    full = P.prepare(full)
    for day in (dates[1], dates[-2]):
        day = pd.Timestamp(day)
        snap = P.snapshot(store, day, history_of=contract.SITE_LAYERS)
        a, b = wallboard.closure_trends(snap, day), wallboard.closure_trends(full, day)
        for key in ("series", "projections", "campaigns"):
            _same(a[key], b[key])
        assert (a["start"], a["end"]) == (b["start"], b["end"])
        _same(wallboard.township_standing({}, day, snapshot=snap), wallboard.township_standing(full, day))
        assert alerts.campaigns(full, day, snapshot=snap) == alerts.campaigns(full, day)


def test_riverside_check_and_alert_from_active_sites(case):
    """The riverside check and its alert from the active sites the database gives equal the replay."""
    from geo import alerts

    store, full, dates = case
    frames = {**full, **store.read_many(["rivers", "waterbodies"])}

    def active(layer, day):
        return store.sites_on(layer, day, ["name"], exclude_statuses=rules.RESOLVED[layer])

    found = 0
    for day in (dates[1], dates[-2]):
        day = pd.Timestamp(day)
        got = alerts.riverside_check(frames, day, 200.0, active)
        want = alerts.riverside_check(frames, day, 200.0)
        found += len(want)
        _same(pd.DataFrame(got).drop(columns="geometry"), pd.DataFrame(want).drop(columns="geometry"))
        assert alerts.riverside(frames, day, new_days=400, active=active) == alerts.riverside(frames, day, new_days=400)
    assert found > 0  # there are violations to compare
