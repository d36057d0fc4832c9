"""geo.patrol: selections, plans (valid tours, day length, dropped stops), exports, roads, CLI."""
from __future__ import annotations

import datetime as dt
import io
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import gpxpy
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo import contract, patrol
from geo.cli import main
from geo.errors import GeoError
from geo.patrol import PatrolParams, plan_from_store, plan_patrol, select_stops, travel_matrix
from geo.store import open_store

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo.gpkg"
CRS = "EPSG:4326"
GEOD = pyproj.Geod(ellps="WGS84")
AS_OF = pd.Timestamp("2007-06-30")


def offset(lon, lat, east_m, north_m):
    """The point ``east_m``/``north_m`` metres from (lon, lat), geodesically."""
    lon1, lat1, _ = GEOD.fwd(lon, lat, 90, east_m) if east_m else (lon, lat, 0)
    lon2, lat2, _ = GEOD.fwd(lon1, lat1, 0, north_m) if north_m else (lon1, lat1, 0)
    return float(lon2), float(lat2)


LON0, LAT0 = 118.90, 29.00  # river runs east–west along LAT0


def hand_tables() -> dict:
    """A tiny district: one river (20 m wide) along 29°N, sites at known distances from its bank."""
    town = gpd.GeoDataFrame({"code": ["1"], "name": ["甲镇"], "kind": ["镇"]},
                            geometry=[shapely.box(118.80, 28.90, 119.00, 29.10)], crs=CRS)
    rivers = gpd.GeoDataFrame({"id": ["R1"], "name": ["甲江"], "width_m": [20.0]},
                              geometry=[shapely.segmentize(shapely.LineString([(118.80, LAT0), (119.00, LAT0)]), 0.001)], crs=CRS)
    # (densified: whether a 20 km edge follows the parallel or the geodesic differs by 4 m at 29°N)
    waters = gpd.GeoDataFrame({"id": pd.Series([], dtype=str), "name": pd.Series([], dtype=str),
                               "kind": pd.Series([], dtype=str)}, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)
    # farm F1: 150 m from the centre line = 140 m from the bank; F2: 260 m (250 m from the bank);
    # F3 within reach but closed (resolved); F4 overdue (deadline passed, still treating).
    pts = {k: offset(LON0 + 0.01 * i, LAT0, 0, d) for i, (k, d) in
           enumerate([("F1", 150), ("F2", 260), ("F3", 100), ("F4", 3000)])}
    farms = gpd.GeoDataFrame({
        "id": list(pts), "name": ["近河猪场", "远河猪场", "已关猪场", "逾期猪场"], "species": "猪",
        "head_count": [600, 800, 500, 700], "status": ["operating", "operating", "closed", "treating"],
        "deadline": [None, None, None, "2007-05-31"]},
        geometry=[shapely.Point(p) for p in pts.values()], crs=CRS)
    e_pts = [offset(LON0 + 0.05, LAT0, 0, 2000), offset(LON0 + 0.06, LAT0, 0, 2500), offset(LON0, LAT0, 0, -4000)]
    enterprises = gpd.GeoDataFrame({
        "id": ["E1", "E2", "E3"], "name": ["甲化工", "乙化工", "丙化工"], "industry": "化工",
        "status": ["committed", "closed", "operating"], "deadline": ["2007-09-30", None, None],
        "closed_on": [None, "2007-01-10", None]},
        geometry=[shapely.Point(p) for p in e_pts], crs=CRS)
    kilns = gpd.GeoDataFrame({
        "id": ["K1", "K2"], "name": ["一号窑", "二号窑"], "village": "甲村", "kind": ["kiln", "shed"],
        "status": ["closed", "operating"], "closed_on": ["2007-02-06", None]},
        geometry=[shapely.Point(offset(LON0 + 0.08, LAT0, 0, 5000)), shapely.Point(offset(LON0 + 0.09, LAT0, 0, 5200))],
        crs=CRS)
    sp = gpd.GeoDataFrame({
        "id": ["S1", "O1", "O2"], "name": ["断面", "甲化工排口", "乙化工排口"], "kind": ["section", "outfall", "outfall"],
        "waterbody": "river", "target_class": 3, "feature_id": [None, "E1", "E2"]},
        geometry=[shapely.Point(LON0, LAT0), shapely.Point(offset(LON0 + 0.05, LAT0, 0, 30)),
                  shapely.Point(offset(LON0 + 0.06, LAT0, 0, 30))], crs=CRS)
    tables = {"townships": town, "rivers": rivers, "waterbodies": waters, "farms": farms, "enterprises": enterprises,
              "kilns": kilns, "sampling_points": sp}
    out = {name: contract.coerce(name, df) for name, df in tables.items()}  # contract dtypes, as a store reads
    out["status_events"] = contract.empty("status_events")
    return out


def write_store(path: Path, tables: dict):
    store = open_store(path, create=True)
    store.replace_all({k: v for k, v in tables.items() if k != "status_events"})
    return store


# --- selections ---------------------------------------------------------------------------------

def test_selections_on_hand_built_tables():
    t = hand_tables()
    pick = lambda sel, **kw: set(select_stops(t, [sel], as_of=AS_OF, **kw)["stop_id"])  # noqa: E731
    assert pick("violations") == {"farms:F1"}  # F2 is 250 m from the bank; F3 is closed
    assert pick("violations", limit_m=300) == {"farms:F1", "farms:F2"}
    assert pick("committed") == {"enterprises:E1"}
    assert pick("overdue") == {"farms:F4"}  # E1's deadline (Sept) is still ahead on 30 June
    assert pick("kilns-closed") == {"kilns:K1"}
    assert pick("sampling") == {"sampling_points:O1"}  # O2 belongs to a closed plant


def test_violation_distance_counts_from_the_bank():
    t = hand_tables()
    s = select_stops(t, ["violations"], as_of=AS_OF)
    assert s["distance_m"].iloc[0] == pytest.approx(140.0, abs=0.5)
    assert s["township"].iloc[0] == "甲镇"


def test_a_site_in_several_selections_is_one_stop_and_ids_are_checked():
    t = hand_tables()
    s = select_stops(t, ["committed", "sampling"], ids=["E1", "farms:F2"], as_of=AS_OF)
    assert sorted(s["stop_id"]) == ["enterprises:E1", "farms:F2", "sampling_points:O1"]
    e1 = s.set_index("stop_id").loc["enterprises:E1"]
    assert set(e1["kind"].split("+")) == {"committed", "picked"}
    with pytest.raises(GeoError):
        select_stops(t, [], ids=["NOPE"])
    with pytest.raises(GeoError):
        select_stops(t, ["everything"])


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory):
    dst = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    shutil.copy(DEMO, dst)
    return dst


def test_selections_on_the_demo_store(demo_copy):
    store = open_store(demo_copy)
    t = store.read_many()
    e, k, f, sp = t["enterprises"], t["kilns"], t["farms"], t["sampling_points"]
    ids = lambda sel, **kw: set(select_stops(t, [sel], **kw)["stop_id"])  # noqa: E731
    assert ids("committed", as_of=AS_OF) == {f"enterprises:{i}" for i in e.loc[e["status"] == "committed", "id"]}
    assert len(ids("committed", as_of=AS_OF)) == 15  # the report: 15 signed closure commitments in April
    assert ids("kilns-closed", as_of=AS_OF) == {f"kilns:{i}" for i in k.loc[k["status"] == "closed", "id"]}
    producing = set(e.loc[e["status"].isin(["operating", "committed"]), "id"])
    outfalls = sp[(sp["kind"] == "outfall") & sp["feature_id"].isin(producing)]
    assert ids("sampling", as_of=AS_OF) == {f"sampling_points:{i}" for i in outfalls["id"]} and len(outfalls)
    # nothing is overdue on the report date; after the September deadline the committed plants are
    late = pd.Timestamp("2007-10-15")
    assert ids("overdue", as_of=AS_OF) == set()
    expected = ({f"enterprises:{i}" for i in e.loc[(e["deadline"] < late) & ~e["status"].isin(
        ["closed", "relocated", "converted"]), "id"]}
        | {f"farms:{i}" for i in f.loc[(f["deadline"] < late) & ~f["status"].isin(
            ["closed", "relocated", "accepted"]), "id"]})
    assert ids("overdue", as_of=late) == expected and expected


def test_demo_violations_agree_with_geodesic_distances(demo_copy):
    store = open_store(demo_copy)
    t = store.read_many()
    s = select_stops(t, ["violations"], as_of=AS_OF)
    assert len(s) > 0 and (s["distance_m"] <= 200).all()
    rivers = t["rivers"]
    # independent check on farms: geodesic distance to the densified river line minus half its width
    for row in s[s["layer"] == "farms"].head(5).itertuples():
        best = np.inf
        for r in rivers.itertuples():
            line = shapely.segmentize(r.geometry, 0.00005)  # ~5 m vertices
            xy = shapely.get_coordinates(line)
            _, _, d = GEOD.inv(np.full(len(xy), row.geometry.x), np.full(len(xy), row.geometry.y), xy[:, 0], xy[:, 1])
            best = min(best, max(d.min() - r.width_m / 2, 0))
        wb = t["waterbodies"]
        if len(wb) and wb.contains(row.geometry).any():
            best = 0
        assert row.distance_m == pytest.approx(best, abs=3.0)


# --- planning -----------------------------------------------------------------------------------

def grid_stops(n: int, spacing_m: float = 3000, kind: str = "picked") -> gpd.GeoDataFrame:
    pts = [offset(LON0, LAT0, (i % 5) * spacing_m, (i // 5) * spacing_m) for i in range(n)]
    return gpd.GeoDataFrame({"stop_id": [f"farms:P{i}" for i in range(n)], "layer": "farms",
                             "id": [f"P{i}" for i in range(n)], "name": [f"点{i}" for i in range(n)],
                             "kind": kind, "check": "现场巡查", "distance_m": np.nan, "township": "甲镇"},
                            geometry=[shapely.Point(p) for p in pts], crs=CRS)


def test_plan_visits_required_stops_once_and_respects_the_day():
    stops = grid_stops(12)
    params = PatrolParams(teams=2, hours=4, time_limit_s=2)
    plan = plan_patrol(stops, (LON0, LAT0), params, day=dt.date(2007, 7, 2))
    assert plan.feasible
    v = plan.visited
    assert sorted(v["stop_id"]) == sorted(stops["stop_id"]) and not plan.stops["dropped"].any()
    # recompute each team's day from geodesic distances (× circuity, 40 km/h) and service time
    start = dt.datetime(2007, 7, 2, 8, 30)
    for team, grp in v.groupby("team"):
        grp = grp.sort_values("order")
        assert list(grp["order"]) == list(range(1, len(grp) + 1))
        lons = [LON0, *grp.geometry.x, LON0]
        lats = [LAT0, *grp.geometry.y, LAT0]
        _, _, d = GEOD.inv(np.array(lons[:-1]), np.array(lats[:-1]), np.array(lons[1:]), np.array(lats[1:]))
        secs = d * 1.3 / (40 / 3.6)
        total = secs.sum() + grp["service_min"].sum() * 60
        assert total <= 4 * 3600 + 2 * len(grp)  # rounding to whole seconds per leg
        first_arrival = start + dt.timedelta(seconds=float(secs[0]))
        assert abs((grp["arrive"].iloc[0] - first_arrival).total_seconds()) < 2
        assert (grp["depart"] - grp["arrive"]).dt.total_seconds().tolist() == (grp["service_min"] * 60).tolist()


def test_full_day_drops_low_priority_stops_and_lists_them():
    near = grid_stops(6, spacing_m=500, kind="overdue")           # priority 3
    far = grid_stops(6, spacing_m=800, kind="kilns-closed")       # priority 1
    far["stop_id"] = far["stop_id"] + "k"
    far["geometry"] = far.geometry.translate(0.02, 0.0)
    stops = pd.concat([near, far], ignore_index=True)
    stops = gpd.GeoDataFrame(stops, geometry="geometry", crs=CRS)
    # 6 × 30 min + 6 × 10 min of service plus driving do not fit 4 hours; overdue stops come first
    params = PatrolParams(teams=1, hours=4, time_limit_s=2, required=frozenset())
    plan = plan_patrol(stops, (LON0, LAT0), params, day=dt.date(2007, 7, 2))
    dropped = plan.dropped
    assert len(dropped) > 0
    assert set(plan.visited["kind"]) >= {"overdue"}
    assert (plan.visited["kind"] == "overdue").sum() == 6  # every high-priority stop kept
    assert (dropped["kind"] == "kilns-closed").all()
    assert plan.warnings
    assert plan.teams["hours"].max() <= 4


def test_urgency_scores_what_makes_a_stop_urgent():
    from geo.urgency import score

    stops = pd.DataFrame({
        "distance_m": [0.0, 31.0, 199.0, np.nan, np.nan, np.nan, 100.0],
        "days_overdue": [np.nan, np.nan, np.nan, 45.0, 400.0, np.nan, 20.0],
        "outfall_over": [False, False, False, False, False, True, False],
        "outfall_multiple": [np.nan] * 5 + [0.5, np.nan],
        "outfall_exceeding": [None] * 5 + ["COD 超标0.5倍", None],
        "complaints_open": [0, 0, 0, 0, 0, 0, 2]})
    u = score(stops, base=pd.Series([20, 20, 20, 30, 30, 30, 20]), limit_m=200)
    assert u["urgency"].tolist() == [60, 54, 20, 38, 60, 55, 68]
    assert (u["tier"] == u["urgency"] // 10).all()
    assert u["urgency_note"].iloc[1] == "距水体31米（限值200米）"
    assert u["urgency_note"].iloc[4] == "逾期400天"
    assert u["urgency_note"].iloc[5] == "排口超标（COD 0.5倍）"
    assert u["urgency_note"].iloc[6] == "距水体100米（限值200米）；逾期20天；未办结投诉2件"
    # closer to the water is worse, at every distance
    d = score(pd.DataFrame({"distance_m": np.linspace(0, 200, 41)}), base=pd.Series(20, index=range(41)), limit_m=200)
    assert d["urgency"].is_monotonic_decreasing and d["urgency"].iloc[0] > d["urgency"].iloc[-1]


def test_less_urgent_stops_are_dropped_before_more_urgent_ones():
    """Twelve riverside stops side by side, 5 km out: the day holds about seven; the nearest the water stay."""
    n = 12
    stops = grid_stops(n, spacing_m=40, kind="violations")
    stops["geometry"] = stops.geometry.translate(0.05, 0.0)
    rng = np.random.default_rng(7)
    stops["distance_m"] = rng.permutation(np.linspace(5, 195, n))  # urgency independent of the grid position
    params = PatrolParams(teams=1, hours=4, time_limit_s=3, required=frozenset())
    plan = plan_patrol(stops, (LON0, LAT0), params, day=dt.date(2007, 7, 2))
    kept, dropped = plan.visited, plan.dropped
    assert 3 <= len(kept) < n and len(dropped)
    # every kept stop is at least as urgent (as near the water) as every dropped one
    assert kept["priority"].min() >= dropped["priority"].max()
    assert kept["distance_m"].max() < dropped["distance_m"].min()
    assert dropped["drop_reason"].str.contains("低于已安排的点位").all()
    cl = patrol.checklist(plan, dropped=True)
    assert "drop_reason" in cl.columns and cl["drop_reason"].str.len().gt(0).all()


def test_demo_full_day_keeps_the_site_nearest_the_water(demo_copy):
    """Issue 15: 瑞昌猪场, 31 m from the water (the worst case), stays on a full day; the dropped say why."""
    store = open_store(demo_copy)
    plan = plan_from_store(store, ["violations", "sampling", "committed"],
                           params=PatrolParams(teams=1, hours=8, time_limit_s=3))
    assert len(plan.dropped) > 5  # the day is full
    assert "瑞昌猪场" in set(plan.visited["name"])
    rc = plan.visited.set_index("name").loc["瑞昌猪场"]
    assert "距水体31米" in rc["urgency_note"]
    # no dropped riverside site is nearer the water than a kept one of the same kind of stop
    v = plan.visited[plan.visited["kind"] == "violations"]
    d = plan.dropped[plan.dropped["kind"] == "violations"]
    assert len(v) and len(d) and v["priority"].min() >= d["priority"].max() - 9  # at most one tier apart
    assert (plan.dropped["drop_reason"].str.len() > 0).all()
    # the plants whose outfall is over its discharge limit carry it as their reason
    over = plan.stops[plan.stops["outfall_over"]]
    assert len(over) and over["urgency_note"].str.contains("排口超标").all()


def test_required_stops_that_do_not_fit_are_flagged():
    stops = grid_stops(10, spacing_m=8000)
    plan = plan_patrol(stops, (LON0, LAT0), PatrolParams(hours=1, time_limit_s=1), day=dt.date(2007, 7, 2))
    assert not plan.feasible and plan.warnings


def test_roads_make_a_detour_longer_than_the_straight_line():
    a = (LON0, LAT0)
    b = offset(LON0, LAT0, 2000, 0)
    mid = offset(LON0, LAT0, 1000, 3000)  # the only road goes 3 km north and back
    roads = gpd.GeoDataFrame({"speed_kmh": [60.0, 60.0]},
                             geometry=[shapely.LineString([a, mid]), shapely.LineString([mid, b])], crs=CRS)
    lon, lat = np.array([a[0], b[0]]), np.array([a[1], b[1]])
    straight, _ = travel_matrix(lon, lat, speed_kmh=60, circuity=1.0)
    by_road, metres = travel_matrix(lon, lat, speed_kmh=60, circuity=1.0, roads=roads)
    leg = 2 * np.hypot(1000, 3000)
    assert straight[0, 1] == pytest.approx(2000 / (60 / 3.6), abs=1)
    assert metres[0, 1] == pytest.approx(leg, rel=1e-3)
    assert by_road[0, 1] == pytest.approx(leg / (60 / 3.6), abs=2)


# --- exports ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_team_plan():
    stops = grid_stops(10)
    return plan_patrol(stops, (LON0, LAT0), PatrolParams(teams=2, hours=4, time_limit_s=1),
                       day=dt.date(2007, 7, 2))


def test_gpx_parses_back(two_team_plan):
    plan = two_team_plan
    gpx = gpxpy.parse(patrol.to_gpx(plan))
    v = plan.visited
    assert len(gpx.waypoints) == len(v) + 1  # + the depot
    names = [w.name for w in gpx.waypoints[1:]]
    assert names == [f"{t}-{o:02d} {n}" for t, o, n in zip(v["team"], v["order"], v["name"])]
    used = sorted(v["team"].unique())
    assert len(gpx.routes) == len(gpx.tracks) == len(used)
    for route, team in zip(gpx.routes, used):
        assert len(route.points) == (v["team"] == team).sum() + 2  # depot out and back
        assert route.points[0].latitude == pytest.approx(LAT0)
    w = gpx.waypoints[1]
    assert w.longitude == pytest.approx(v.geometry.x.iloc[0]) and w.latitude == pytest.approx(v.geometry.y.iloc[0])
    # times are UTC: 08:30 Beijing time is 00:30 UTC
    assert w.time.utcoffset() == dt.timedelta(0) and w.time.hour in (0, 1)


def test_gcj02_export_is_shifted_by_hundreds_of_metres(two_team_plan):
    a = gpxpy.parse(patrol.to_gpx(two_team_plan)).waypoints[1]
    b = gpxpy.parse(patrol.to_gpx(two_team_plan, datum="gcj02")).waypoints[1]
    _, _, d = GEOD.inv(a.longitude, a.latitude, b.longitude, b.latitude)
    assert 300 < d < 800


def test_kml_parses_back(two_team_plan):
    plan = two_team_plan
    root = ET.fromstring(patrol.to_kml(plan).encode("utf-8"))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    folders = root.findall(".//k:Folder", ns)
    assert len(folders) == plan.visited["team"].nunique()
    for folder in folders:
        team = int(patrol.TEAM_NAMES.index(folder.find("k:name", ns).text[1]) + 1)
        points = [p for p in folder.findall("k:Placemark", ns) if p.find("k:Point", ns) is not None]
        lines = folder.findall(".//k:LineString", ns)
        assert len(points) == (plan.visited["team"] == team).sum()
        assert len(lines) == 1
        coords = lines[0].find("k:coordinates", ns).text.split()
        assert len(coords) == len(points) + 2


def test_csv_and_xlsx_checklists(two_team_plan):
    plan = two_team_plan
    csv = pd.read_csv(io.BytesIO(patrol.to_csv(plan)), encoding="utf-8-sig")
    assert list(csv.columns[:6]) == ["team", "order", "arrive", "depart", "name", "township"]
    assert len(csv) == len(plan.visited)
    assert csv["arrive"].str.match(r"^\d\d:\d\d$").all()
    from geo.io.writers import header_row

    data = patrol.to_xlsx(plan)
    book = pd.read_excel(io.BytesIO(data), sheet_name=None)
    assert set(book) >= {"巡查清单", "各组汇总", "未安排点位", "说明"}
    # the table's header on row 1; the 说明 sheet states what the file is: title, rule, parameters, date,
    # data version, software
    meta = patrol.plan_meta(plan)
    assert header_row(meta) == 1
    sheet = pd.read_excel(io.BytesIO(data), sheet_name="巡查清单")
    assert list(sheet.columns[:6]) == ["组别", "序号", "预计到达", "预计离开", "点位名称", "乡镇（街道）"]
    assert sheet["组别"].str.startswith("第").all() and len(sheet) == len(plan.visited)
    block = dict(zip(book["说明"]["项目"], book["说明"]["内容"]))
    assert block["巡查日期"] == "2007-07-02" and block["组数"] == "2" and "紧急程度" in block["规则"]
    assert block["坐标"].startswith("WGS84") and block["软件版本"].startswith("青山 Qingshan")
    explained = dict(zip(book["说明"]["项目"], book["说明"]["内容"]))
    assert explained["标题"] == "巡查路线与清单 2007-07-02" and "生成时间" in explained
    # the page's CSV for people: the same statement as leading lines, Chinese headers
    import csv as csv_module

    people = list(csv_module.reader(io.StringIO(patrol.to_csv(plan, dialect="for_people").decode("utf-8-sig"))))
    assert people[0] == ["# 标题：巡查路线与清单 2007-07-02"] and ["# 坐标：WGS84 经纬度（EPSG:4326）"] in people
    assert people[people.index([]) + 1][:3] == ["组别", "序号", "预计到达"]


# --- store and CLI ------------------------------------------------------------------------------

def test_plan_from_store_uses_meta_depot(tmp_path):
    t = hand_tables()
    store = write_store(tmp_path / "s.gpkg", t)
    from geo.store import Change
    store.commit([Change("meta", pd.DataFrame({"key": ["depot", "as_of"], "value": ["118.95,29.01", "2007-06-30"]}),
                         "replace")])
    plan = plan_from_store(store, ["violations", "committed"], as_of=AS_OF, params=PatrolParams(time_limit_s=1))
    assert plan.depot == (118.95, 29.01)
    assert set(plan.visited["stop_id"]) == {"farms:F1", "enterprises:E1"}


def test_cli_writes_each_format(tmp_path, capsys):
    store = write_store(tmp_path / "s.gpkg", hand_tables())
    for suffix in (".gpx", ".kml", ".csv", ".xlsx"):
        out = tmp_path / f"plan{suffix}"
        rc = main(["route", "--store", str(store.path), "--select", "violations,committed,sampling",
                   "--as-of", "2007-06-30", "--teams", "2", "--hours", "8", "--time-limit", "1", "--out", str(out)])
        assert rc == 0 and out.stat().st_size > 0
    gpx = gpxpy.parse((tmp_path / "plan.gpx").read_text(encoding="utf-8"))
    assert {w.name.split(" ", 1)[1] for w in gpx.waypoints[1:]} == {"近河猪场", "甲化工", "甲化工排口"}


def test_cli_bad_input_writes_nothing(tmp_path, capsys):
    store = write_store(tmp_path / "s.gpkg", hand_tables())
    out = tmp_path / "x.gpx"
    assert main(["route", "--store", str(store.path), "--select", "bogus", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "错误" in err and "unknown selection" in err
    assert main(["route", "--store", str(store.path), "--select", "committed", "--out", str(tmp_path / "x.pdf")]) == 2
    assert main(["route", "--store", str(store.path), "--select", "committed", "--teams", "0",
                 "--out", str(out)]) == 2
    assert not out.exists() and not (tmp_path / "x.pdf").exists()


def test_patrol_area_keeps_the_townships_sites_and_the_hand_picked_anywhere(demo_store):
    """A team's area: the selections' stops lie in the chosen township; a site picked by hand stays wherever it is."""
    from geo import patrol
    from geo.store import open_store

    store = open_store(demo_store)
    params = PatrolParams(time_limit_s=1, teams=2)
    everywhere = plan_from_store(store, ["violations"], params=params)
    towns = everywhere.stops["township"].value_counts()
    assert len(towns) > 2  # the demo's riverside violations lie in several townships
    town = towns.index[0]
    other = everywhere.stops[everywhere.stops["township"] != town].iloc[0]
    plan = plan_from_store(store, ["violations"], params=params, townships=[town], ids=[other["stop_id"]])
    inside = plan.stops[plan.stops["stop_id"] != other["stop_id"]]
    assert len(inside) == towns.iloc[0] and set(inside["township"]) == {town}
    assert other["stop_id"] in set(plan.stops["stop_id"])
    assert len(patrol.within_townships(everywhere.stops, [])) == len(everywhere.stops)


def test_cli_township_limits_the_route(demo_store, tmp_path):
    from geo.store import open_store

    everywhere = plan_from_store(open_store(demo_store), ["violations"], params=PatrolParams(time_limit_s=1))
    town = everywhere.stops["township"].value_counts().index[0]
    out = tmp_path / "r.csv"
    assert main(["route", "--store", str(demo_store), "--select", "violations", "--township", town,
                 "--time-limit", "1", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8-sig")
    others = set(everywhere.stops.loc[everywhere.stops["township"] != town, "name"])
    assert others and not any(name in text for name in others)
    assert any(name in text for name in everywhere.stops.loc[everywhere.stops["township"] == town, "name"])


def test_kml_and_gpx_name_no_internet_address(two_team_plan):
    """The dashboard works with no internet: a route file must not send a phone to an external host."""
    import re

    for doc in (patrol.to_kml(two_team_plan), patrol.to_gpx(two_team_plan)):
        hrefs = re.findall(r"<href>([^<]*)</href>", doc)
        assert not [h for h in hrefs if h.startswith(("http:", "https:", "//"))], hrefs
