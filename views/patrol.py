"""巡查路线 /patrol: choose what to visit, plan one day's routes for one or more teams, take them to the field."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

import casework_ui as cw
import search_ui
import login_ui
import ui
from geo import patrol
from geo.errors import GeoError
from geo.patrol import DEFAULT_REQUIRED, DEFAULT_SERVICE_MIN, SELECTIONS, TEAM_COLOURS, PatrolParams, team_label
from layers import mapview, overview
from layers import patrol as patrol_layer

st.title("巡查路线")
st.caption("选择巡查对象，设定组数和工作时间，生成一天的巡查路线；可下载到手机地图（奥维互动地图、两步路等）。")

# What the page draws on its maps; the site layers themselves are read only where shown (issue 13).
frames = {t: ui.load(t) for t in ("townships", "rivers", "waterbodies", "sampling_points", "meta")}
KINDS = [k for k in SELECTIONS if k != "picked"]
LIMIT = overview.max_points()

# --- what to visit ------------------------------------------------------------------------------
c1, c2, c3 = st.columns([1, 2, 2])
with c1:
    as_of = ui.as_of_input("巡查日期（按此日状态选点）", key="patrol_as_of")
with c2:
    chosen = st.multiselect("巡查对象", KINDS, default=["sampling", "committed"], format_func=SELECTIONS.get,
                            key="patrol_select", placeholder="选择巡查对象")
with c3:
    # a team patrols its area: a city's or province's selections hold more than one day can visit
    area = st.multiselect("巡查范围（乡镇、街道）", frames["townships"]["name"].tolist(), key="patrol_area",
                          placeholder="全部乡镇（手选点位不受此限）")


@st.cache_data(show_spinner=False, max_entries=8)
def _site_total(spec: str, version: str) -> int:
    """How many sites the pick map would draw (counted by the database)."""
    store = ui.get_store()
    return sum(store.count(t) for t in patrol_layer.PICK_LAYERS)


@st.cache_data(show_spinner=False, max_entries=16)
def _sites_in(spec: str, version: str, township: str) -> dict[str, pd.DataFrame]:
    """The pick layers' sites inside one township: a bounding-box read on the spatial index, then the polygon."""
    import shapely

    tw = ui.load("townships")
    poly = tw.loc[tw["name"] == township, "geometry"]
    store = ui.get_store()
    out = {}
    for t in patrol_layer.PICK_LAYERS:
        if poly.empty:
            out[t] = store.read(t, where={"id": []})
            continue
        df = store.read_bbox(t, poly.total_bounds)
        out[t] = df[shapely.intersects(shapely.union_all(poly.values), df.geometry.values)] if len(df) else df
    return out


labels = st.session_state.setdefault("patrol_labels", {})  # layer:id → label, of every site offered so far
if "patrol_picked" not in st.session_state:
    st.session_state["patrol_picked"] = []
query = search_ui.search_box("手选点位：按名称或编号搜索", key="patrol_search")
matches = search_ui.search(query) if query.strip() else search_ui.no_matches()
for lay, i, n in zip(matches["layer"], matches["id"], matches["name"]):
    labels[f"{lay}:{i}"] = search_ui.label(lay, i, n)
picked_box = st.container()  # the multiselect goes here, after the map's clicks are handled below
with st.expander("在地图上点选点位", expanded=False):
    version = ui.data_version("townships", *patrol_layer.PICK_LAYERS)
    total = _site_total(ui.default_spec(), version)
    shown = None
    if total <= LIMIT:
        shown = {t: ui.load(t) for t in patrol_layer.PICK_LAYERS}
    else:
        st.caption(f"共 {total:,} 处点位，超过地图一次显示的上限 {LIMIT:,} 处：请先选择乡镇，地图只显示该乡镇的点位。"
                   f" {total:,} sites, more than one map shows ({LIMIT:,}): choose a township first.")
        town = st.selectbox("乡镇（街道）", frames["townships"]["name"].tolist(), index=None,
                            placeholder="先选择乡镇", key="patrol_pick_town")
        if town:
            shown = _sites_in(ui.default_spec(), version, town)
            n = sum(len(df) for df in shown.values())
            if n > LIMIT:
                st.warning(f"{ui.md_escape(town)}有 {n:,} 处点位，超过地图上限 {LIMIT:,} 处：请用上方的搜索框按名称或编号查找。"
                           f" Too many sites in this township for one map: search by name or id above.")
                shown = None
    if shown is not None:
        st.caption("点击地图上的点位，将其加入手选点位。")
        pm = patrol_layer.pick_map({"townships": frames["townships"], **shown}, height=420)
        props = mapview.pick(pm, height=420, key="patrol_pick_map")
        clicked = (props or {}).get("stop_id")
        drawn = {f"{t}:{i}": search_ui.label(t, i, n) for t, df in shown.items()
                 for i, n in zip(df["id"].astype(str), df["name"])}
        # the map keeps reporting its last click: act on each click once (a site removed later stays removed)
        if clicked in drawn and clicked != st.session_state.get("patrol_last_click"):
            st.session_state["patrol_last_click"] = clicked
            labels[clicked] = drawn[clicked]
            if clicked not in st.session_state["patrol_picked"]:
                st.session_state["patrol_picked"] = [*st.session_state["patrol_picked"], clicked]
                st.rerun()

with picked_box:
    # the options: what is picked (kept across searches) and this search's matches, never every site
    kept = list(st.session_state["patrol_picked"])
    options = list(dict.fromkeys(kept + [f"{lay}:{i}" for lay, i in zip(matches["layer"], matches["id"])]))
    search_ui.caption_for(matches, query)
    picked = st.multiselect("另外手选点位（在上方搜索后选择）", options, format_func=lambda k: labels.get(k, k),
                            key="patrol_picked", placeholder="选择搜索到的点位")

# --- parameters ---------------------------------------------------------------------------------
p1, p2, p3, p4, p5 = st.columns(5)
with p1:
    teams = st.number_input("巡查组数", 1, 8, 2, key="patrol_teams")
with p2:
    hours = st.number_input("每组工作时长（小时）", 1.0, 14.0, 8.0, step=0.5, key="patrol_hours")
with p3:
    start = st.time_input("出发时间", dt.time(8, 30), key="patrol_start")
with p4:
    speed = st.number_input("平均车速（公里/小时）", 5.0, 100.0, 40.0, step=5.0, key="patrol_speed")
with p5:
    circuity = st.number_input("绕行系数（路程/直线）", 1.0, 3.0, 1.3, step=0.1, key="patrol_circuity")

with st.expander("停留时间、必去点位与优先级", expanded=False):
    required = st.multiselect("必去（其余点位在一天排不下时按优先级舍弃）", list(SELECTIONS),
                              default=sorted(DEFAULT_REQUIRED), format_func=SELECTIONS.get, key="patrol_required",
                              placeholder="无")
    cols = st.columns(len(SELECTIONS))
    service = {}
    for col, kind in zip(cols, SELECTIONS):
        with col:
            service[kind] = st.number_input(f"{SELECTIONS[kind]}（分钟）", 0, 240, DEFAULT_SERVICE_MIN[kind],
                                            step=5, key=f"patrol_service_{kind}")
    limit = st.number_input("沿河限距（米，用于“沿河限距内未整治点位”）", 50, 1000, 200, step=50,
                            key="patrol_limit")
    depot_text = st.text_input("驻地坐标（经度,纬度；留空则用数据中的驻地）",
                               value=frames["meta"].set_index("key")["value"].get("depot", "")
                               if len(frames["meta"]) else "", key="patrol_depot")
    seconds = st.slider("计算时间（秒）", 1, 20, 5, key="patrol_seconds")

# --- plan ---------------------------------------------------------------------------------------
if st.button("生成巡查路线", type="primary", key="patrol_plan"):
    if not chosen and not picked:
        st.warning("请至少选择一类巡查对象或手选一个点位。")
    else:
        params = PatrolParams(teams=int(teams), hours=float(hours), start=start.strftime("%H:%M"),
                              speed_kmh=float(speed), circuity=float(circuity), service_min=service,
                              required=frozenset(required), limit_m=float(limit), time_limit_s=float(seconds),
                              max_stops=min(patrol.MAX_STOPS, LIMIT))  # the route map draws every stop
        with st.status("正在规划巡查路线…", expanded=True) as status:
            try:
                status.write("选取巡查点位、计算行车时间…")
                depot = patrol.parse_depot(depot_text) if depot_text.strip() else None
                plan = patrol.plan_from_store(ui.get_store(), chosen, ids=picked, as_of=pd.Timestamp(as_of),
                                              params=params, depot=depot, townships=area)
                status.update(label=f"已生成：{int((~plan.stops['dropped']).sum())} 处点位，"
                                    f"用时 {plan.solver_seconds:.1f} 秒", state="complete", expanded=False)
                st.session_state["patrol_plan_result"] = plan
            except GeoError as exc:
                status.update(label="未能生成路线", state="error")
                st.error(f"{ui.md_escape(exc.zh)}\n\n{ui.md_escape(exc.en)}")
                st.session_state.pop("patrol_plan_result", None)

plan = st.session_state.get("patrol_plan_result")
if plan is None:
    st.info("选好巡查对象和参数后，点击“生成巡查路线”。")
    st.stop()

for w in plan.warnings:
    st.warning(ui.md_escape(w))

# --- map ----------------------------------------------------------------------------------------
mapview.show(patrol_layer.plan_map(plan, frames, team_colours=TEAM_COLOURS, height=560), height=560)

# --- tables -------------------------------------------------------------------------------------
summary = plan.teams.rename(columns={"label": "组别", "stops": "点位数", "km": "里程（公里）", "travel_min": "行车（分钟）",
                                     "service_min": "现场（分钟）", "finish": "预计返回", "hours": "用时（小时）"})
st.subheader("各组安排")
st.dataframe(summary.drop(columns="team"), hide_index=True, width="stretch")
table = patrol.checklist(plan)
table["site"] = cw.site_links(plan.visited["layer"], plan.visited["id"])  # checklist rows follow plan.visited
show_cols = {"order": "序号", "arrive": "预计到达", "depart": "预计离开", "name": "点位名称", "township": "乡镇（街道）",
             "kind_label": "类别", "priority": "紧急程度", "urgency_note": "紧急原因", "check": "巡查内容",
             "site": "一企一档"}
tabs = st.tabs([team_label(int(k)) for k in plan.teams["team"]])
for tab, k in zip(tabs, plan.teams["team"]):
    with tab:
        t = table[table["team"] == k]
        if len(t) == 0:
            st.write("本组今日无安排。")
        else:
            st.dataframe(t[list(show_cols)].rename(columns=show_cols), hide_index=True, width="stretch",
                         column_config=cw.link_column())

dropped = plan.dropped
st.subheader(f"未安排点位（{len(dropped)} 处）")
if len(dropped):
    st.caption("一天排不下时，先舍弃紧急程度最低的点位（距水越近、逾期越久、排口超标越紧急）；地图上以灰色空心圆标出。")
    d = patrol.checklist(plan, dropped=True)
    d["site"] = cw.site_links(dropped["layer"], dropped["id"])  # checklist rows follow plan.dropped
    d = d.sort_values("priority", ascending=False)
    st.dataframe(d[["name", "township", "kind_label", "priority", "urgency_note", "drop_reason", "site"]].rename(
        columns={"name": "点位名称", "township": "乡镇（街道）", "kind_label": "类别", "priority": "紧急程度",
                 "urgency_note": "紧急原因", "drop_reason": "未安排原因", "site": "一企一档"}), hide_index=True,
        width="stretch", column_config=cw.link_column())
else:
    st.write("全部点位均已安排。")

cw.inspection_from_plan(plan, ui.get_store)

# --- downloads ----------------------------------------------------------------------------------
st.subheader("下载")
datum = st.radio("坐标系", ["wgs84", "gcj02"], horizontal=True, key="patrol_datum",
                 format_func={"wgs84": "WGS84（奥维、两步路等 GPS 软件）", "gcj02": "GCJ-02（高德等国内地图）"}.get)
stem = f"巡查路线_{plan.day:%Y%m%d}"
meta = patrol.plan_meta(plan, datum, generated_by=login_ui.generated_by())  # every file states what it is
d1, d2, d3, d4 = st.columns(4)
d1.download_button("GPX 航点与路线", patrol.to_gpx(plan, datum, meta=meta).encode("utf-8"), f"{stem}.gpx",
                   "application/gpx+xml", key="dl_gpx")
d2.download_button("KML（按组分文件夹）", patrol.to_kml(plan, datum, meta=meta).encode("utf-8"), f"{stem}.kml",
                   "application/vnd.google-earth.kml+xml", key="dl_kml")
d3.download_button("巡查清单 Excel", patrol.to_xlsx(plan, datum, meta=meta), f"{stem}.xlsx",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl_xlsx")
d4.download_button("巡查清单 CSV", patrol.to_csv(plan, datum, dialect="for_people", meta=meta), f"{stem}.csv",
                   "text/csv", key="dl_csv")
