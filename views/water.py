"""水质 /water: sampling points by GB 3838-2002 class, series with class bands, exceedances, trends,
and the river above and below the chemical park."""
from __future__ import annotations

import datetime as dt

import altair as alt
import numpy as np
import pandas as pd
import shapely
import streamlit as st

import login_ui
import ui
from geo import config, discharge, fmt, water
from geo.io.writers import write_csv
from layers import mapview, sampling_points, symbols, townships
from layers import overview as overview_layer
from layers import water as water_layer
from layers.base import Legend

CLASS_COLOURS = sampling_points.CLASS_COLOURS  # one palette for the map, the bands and the tables
KIND_LABELS = {"section": "断面", "outfall": "排污口"}
WB_LABELS = {"river": "河流", "lake": "湖库"}
QUALITY_LABELS = {"worse": "变差", "better": "改善", "stable": "无明显趋势", "n/a": "—"}
POSITION_LABELS = {"upstream": "园区上游", "alongside": "园区河段", "downstream": "园区下游"}

st.title("水质 · 断面按 GB 3838-2002 分类，排污口按 GB 8978-1996 判定")

WATER_TABLES = ("sampling_points", "readings", "rivers", "waterbodies", "enterprises", "townships")


@st.cache_data(show_spinner=False, max_entries=4)
def _park_enterprises(version: str):
    """The enterprises of the profiled park (where the river profile's reach lies), asked of the database:
    never the whole layer (a province's 30,000 enterprises for a few dozen)."""
    return ui.get_store().read("enterprises", where={"park": [water.PROFILE_PARK]})


# the small tables whole; readings are read by the database, only what the page shows (ui.readings_query),
# and of the enterprises only the park's
frames = ui.load_many("sampling_points", "rivers", "waterbodies", "townships")
frames["enterprises"] = _park_enterprises(ui.data_version("enterprises"))
points = frames["sampling_points"]
if not len(points):
    st.info("尚无水质监测点位。请在“数据”页导入监测点位和化验数据。 No sampling points yet.")
    st.stop()

c1, c2, c3 = st.columns([1, 1, 2])
with c1:
    as_of = ui.as_of_input("评价截至日期")
with c2:
    years = st.selectbox("趋势与图表时段", [1, 2, 3, 5], index=2, format_func=lambda y: f"近{y}年", key="years",
                         placeholder="选择时段")
with c3:
    kinds = st.pills("点位类型", list(KIND_LABELS), default=list(KIND_LABELS), selection_mode="multi",
                     format_func=KIND_LABELS.get, key="kinds") or list(KIND_LABELS)
start = pd.Timestamp(as_of) - pd.DateOffset(years=years) + pd.Timedelta(days=1)


POINT_IDS = tuple(points["id"].astype(str))


@st.cache_data(show_spinner=False, max_entries=32)
def _latest(version: str, as_of: dt.date) -> pd.DataFrame:
    # the readings of each point's last sampling day: all latest_assessment looks at
    last = ui.readings_query("latest_sampling", as_of, POINT_IDS)
    return water.latest_assessment({"sampling_points": points, "readings": last}, as_of=as_of)


def _with_points(readings: pd.DataFrame, start: pd.Timestamp, as_of: dt.date) -> pd.DataFrame:
    win = water.readings_with_points(readings, points, as_of=as_of, start=start)
    if "below_detection" not in win.columns:  # optional in the contract: a store without it reports detections
        win = win.assign(below_detection=pd.Series(False, index=win.index, dtype="boolean"))
    return win


@st.cache_data(show_spinner=False, max_entries=32)
def _window(version: str, start: pd.Timestamp, as_of: dt.date, point_id: str) -> pd.DataFrame:
    """The readings of one point in the period, classed (the charts and the download)."""
    return _with_points(ui.readings_query("readings_between", (point_id,), start, as_of), start, as_of)


@st.cache_data(show_spinner=False, max_entries=32)
def _outside(version: str, start: pd.Timestamp, as_of: dt.date) -> pd.DataFrame:
    """The period's readings at or beyond a section's target limits or an outfall's discharge limits: one
    pass of the database over the period serves both tables (sections and outfalls are different points)."""
    bounds = pd.concat([water.exceedance_bounds(points), discharge.exceedance_bounds(points)], ignore_index=True)
    return ui.readings_query("readings_outside", bounds, start, as_of)


def _near(bounds: pd.DataFrame, version: str, start: pd.Timestamp, as_of: dt.date) -> pd.DataFrame:
    """:func:`_outside` of the points ``bounds`` holds: what asking with ``bounds`` alone returns."""
    rows = _outside(version, start, as_of)
    return rows[rows["point_id"].isin(set(bounds["point_id"].astype(str))).to_numpy()].reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=32)
def _exceedances(version: str, start: pd.Timestamp, as_of: dt.date) -> pd.DataFrame:
    """Sections' readings worse than their target in the period: the database returns only the readings
    at or beyond each target's limits, :func:`geo.water.exceedances` judges them."""
    near = _near(water.exceedance_bounds(points), version, start, as_of)
    return water.exceedances(_with_points(near, start, as_of))


@st.cache_data(show_spinner="正在计算趋势…", max_entries=32)
def _trend(version: str, start: pd.Timestamp, as_of: dt.date, point_id: str) -> pd.DataFrame:
    series = ui.readings_query("readings_between", (point_id,), start, as_of)
    return water.trend(series, start=start, end=as_of, points=[point_id])


@st.cache_data(show_spinner=False, max_entries=32)
def _profile(version: str, start: pd.Timestamp, as_of: dt.date) -> pd.DataFrame:
    try:
        river = water.profile_river(frames)
        on = points[(points["water_id"] == river) & (points["kind"] == "section")] if "kind" in points.columns \
            else points[points["water_id"] == river]
        readings = ui.readings_query("readings_between", tuple(on["id"].astype(str)), start, as_of)
        return water.upstream_downstream({**frames, "readings": readings}, water_id=river, start=start, end=as_of)
    except (ValueError, KeyError):
        return pd.DataFrame()


#: Vertices of water a map carries at full detail; above it (a city's or province's rivers) the water is drawn
#: simplified to about a pixel at the fitted zoom (display only; distances never use it).
WATER_DETAIL = 20_000


def _detail(gdf) -> int:
    return int(shapely.get_num_coordinates(gdf.geometry.values).sum()) if len(gdf) else 0


@st.cache_data(show_spinner="正在生成地图…", max_entries=32)
def _map_html(version: str, as_of: dt.date, kinds: tuple, selected: str) -> str:
    from layers import symbols

    a = _latest(version, as_of)
    cols = [c for c in ("id", "class", "meets", "exceeding", "judgment", "judgment_text") if c in a.columns]
    pts = points.merge(a[cols], on="id", how="left")
    pts = pts[pts["kind"].isin(kinds)]
    bounds = frames["townships"].total_bounds if len(frames["townships"]) else pts.total_bounds
    m = mapview.new_map(bounds, height=560)
    geography = []
    if len(frames["townships"]):
        townships.add_to(m, frames["townships"])
        geography += townships.legend_items(bool(frames["townships"].get("approximate", pd.Series([False]))
                                                 .fillna(False).any()))
    rivers, waterbodies = frames["rivers"], frames["waterbodies"]
    band = 0.0
    if _detail(rivers) + _detail(waterbodies) > WATER_DETAIL:  # a province's water: drawn for the view's scale
        rivers, waterbodies = overview_layer.for_view(rivers, bounds), overview_layer.for_view(waterbodies, bounds)
        band = overview_layer.pixel_m(bounds)
    water_layer.add_to(m, rivers, waterbodies, min_band_m=band)
    geography += water_layer.legend_items()
    sp = sampling_points.add_to(m, pts, class_col="class", radius=9,
                                highlight=(pts["id"] == selected).to_numpy(bool))
    extra = [symbols.ring_item("当前选中点位", symbols.RING["light"])] if (pts["id"] == selected).any() else []
    Legend("水质类别（最新一次采样）", symbols.compose(geography=geography, points=sp.legend, extra=extra,
                                              colour_title="类别（颜色）", cluster=True),
           position="bottomleft").add_to(m)
    return mapview.to_html(m)


version = ui.data_version(*WATER_TABLES)  # a status update keeps this page's cache


def file_meta(title: str, **parameters):
    """What a downloaded file is: the standards and method, the date, the data version, who (geo.water)."""
    return water.assessment_meta(title, as_of, parameters=parameters, data_version=version,
                                 generated_by=login_ui.generated_by())

latest = _latest(version, as_of)
shown = latest[latest["kind"].isin(kinds)] if "kind" in latest.columns else latest

# --- headline figures -----------------------------------------------------------------------
is_sec = latest.get("kind", pd.Series("section", index=latest.index)) == "section"
sec = latest[is_sec]
classed = sec[sec["class"].notna()]
outs = latest[~is_sec]
judged = outs[outs["verdict"].isin([discharge.MEETS, discharge.EXCEEDS])]
m1, m2, m3, m4, m5 = st.columns(5)
m1.metric("断面达标", f"{int(classed['meets'].fillna(False).astype(bool).sum())}/{len(classed)}")
m2.metric("Ⅰ–Ⅲ类断面", f"{int((classed['class'] <= 3).sum())}/{len(classed)}")
m3.metric("劣Ⅴ类断面", int((classed["class"] == water.WORSE_THAN_V).sum()))
m4.metric("排污口超标", f"{int((judged['verdict'] == discharge.EXCEEDS).sum())}/{len(judged)}")
m5.metric("最新采样", fmt.iso_date(pd.to_datetime(shown["sampled_on"]).max()))

# --- map and the latest judgment of every point -----------------------------------------------
label_of = dict(zip(points["id"], points["id"] + " " + points["name"].astype(str)))
ids = shown["id"].tolist() or points["id"].tolist()
# default: the worst section (the standard is for the river; outfalls are its sources)
secs = shown[(shown["kind"] == "section") & shown["class"].notna()] if "kind" in shown.columns else shown
default = secs.sort_values(["class", "id"], ascending=[False, True])["id"].iloc[0] if len(secs) else ids[0]
selected = st.session_state.get("point", default)
if selected not in ids:
    selected = ids[0]


def _yes_no(v) -> str:
    return "—" if pd.isna(v) else ("是" if v else "否")


shown_sec = shown[shown["kind"] != "outfall"] if "kind" in shown.columns else shown
shown_out = shown[shown["kind"] == "outfall"] if "kind" in shown.columns else shown.iloc[:0]
left, right = st.columns([3, 2])
with left:
    mapview.show(_map_html(version, as_of, tuple(kinds), selected), height=560)
with right:
    st.subheader(f"{fmt.date_zh(as_of)} 最新评价")
    table = pd.DataFrame({
        "点位": shown_sec["id"], "名称": shown_sec["name"], "水体": shown_sec["waterbody"].map(WB_LABELS),
        "采样日期": shown_sec["sampled_on"].map(fmt.iso_date),
        "水质类别": shown_sec["class_label"], "目标": shown_sec["target_class"].map(water.label),
        "达标": shown_sec["meets"].map(_yes_no),
        "定类项目": shown_sec["worst"].fillna(""), "超标项目（超标倍数）": shown_sec["exceeding"].fillna(""),
        # lakes and reservoirs: TN is assessed apart from the class (环办〔2011〕22号)
        "总氮（单独评价）": [water.label(t) if wb == "lake" else "河流不评价" for t, wb in
                        zip(shown_sec.get("tn_class", pd.Series(np.nan, index=shown_sec.index)),
                            shown_sec["waterbody"])],
    })

    def _colour(v):
        for k, lab in water.CLASS_LABELS.items():
            if v == lab:
                fg = "#fff" if k == 1 else "#000"  # WCAG contrast ≥ 4.5 on each class colour
                return f"background-color: {CLASS_COLOURS[k]}; color: {fg}"
        return ""

    if len(table):
        st.caption("监测断面 · GB 3838-2002 水质类别")
        st.dataframe(table.style.map(_colour, subset=["水质类别"]), hide_index=True, width="stretch",
                     height=min(470, 38 + 35 * len(table)))
    out_table = pd.DataFrame({
        "点位": shown_out["id"], "名称": shown_out["name"], "采样日期": shown_out["sampled_on"].map(fmt.iso_date),
        "执行标准": shown_out["standard"], "判定": shown_out["verdict"],
        "超标项目（超标倍数）": shown_out["exceeding"].fillna(""),
    })
    if len(out_table):
        st.caption("排污口 · GB 8978-1996 污水综合排放标准（或排污许可限值）")
        st.dataframe(out_table.style.map(
            lambda v: f"background-color: {symbols.OUTFALL['fail'].colour}; color: #fff" if v == discharge.EXCEEDS else "", subset=["判定"]),
            hide_index=True, width="stretch", height=min(300, 38 + 35 * len(out_table)))
    both = pd.concat([table.assign(类型="断面"), out_table.assign(类型="排污口")], ignore_index=True).fillna("")
    st.download_button("下载最新评价（CSV）", write_csv(both, dialect="for_people", meta=file_meta("监测点位最新评价")),
                       file_name=f"水质评价_{as_of:%Y%m%d}.csv", mime="text/csv")

st.caption(water.METHOD_BRIEF + "；取参评项目中最差的类别；水温、电导率、浊度、叶绿素α、藻密度不分类；pH 超出 6–9 为劣Ⅴ类；"
           "低于检出限的结果按检出限定类（实际类别不差于此）。达标：类别不劣于目标类别。")
st.caption("排污口：" + discharge.RULE + "。")

# --- one point: series with class bands (sections) or discharge limits (outfalls) ---------------
st.divider()
selected = st.selectbox("选择点位", ids, index=ids.index(selected), format_func=lambda i: label_of.get(i, i),
                        key="point", placeholder="选择点位")
pt = points[points["id"] == selected].iloc[0]
wb = pt["waterbody"]
is_outfall = pt["kind"] == "outfall"
target = int(pt["target_class"]) if pd.notna(pt["target_class"]) else None


@st.cache_data(show_spinner=False, max_entries=32)
def _outfall_window(version: str, start: pd.Timestamp, as_of: dt.date, point_id: str) -> pd.DataFrame:
    """One outfall's readings in the period, judged against its discharge limits."""
    rows = ui.readings_query("readings_between", (point_id,), start, as_of)
    return discharge.outfall_readings(rows, points, as_of=as_of, start=start)


@st.cache_data(show_spinner=False, max_entries=32)
def _outfall_exceedances(version: str, start: pd.Timestamp, as_of: dt.date) -> pd.DataFrame:
    """Outfalls' 超标 readings in the period (the database returns those at or beyond a limit; judged here)."""
    near = _near(discharge.exceedance_bounds(points), version, start, as_of)
    ow = discharge.outfall_readings(near, points, as_of=as_of, start=start)
    return ow[ow["verdict"] == discharge.EXCEEDS]


def par_title(p: str) -> str:
    """``化学需氧量 COD``; ``pH`` once (its name is its code)."""
    spec = water.STANDARD.get(p) or discharge.STANDARD.get(p)
    name = spec.name if spec is not None else p
    return name if name.replace("值", "") == p else f"{name} {p}"


if is_outfall:
    ow = _outfall_window(version, start, as_of, selected)
    series = ow[ow["point_id"] == selected]
else:
    win = _window(version, start, as_of, selected)
    series = win[win["point_id"] == selected]
present = sorted(series["parameter"].unique(), key=lambda p: water.ORDER.get(p, 99))
if is_outfall:
    default_pars = [p for p in present if p in discharge.STANDARD] or present
else:
    default_pars = [p for p in present if water.assessed(p, wb) or (wb == "lake" and p == water.SEPARATE)] or present
row = latest[latest["id"] == selected].iloc[0]
if is_outfall:
    status = f"{row['standard']} · 最新 {row['verdict']}" + (f"（{row['exceeding']}）" if row["exceeding"] else "")
else:
    status = f"最新 {row['class_label']} · 目标 {water.label(target)}"
    tn = water.separate_label(row["tn_class"]) if "tn_class" in row.index else ""
    status += f" · {tn}" if tn else ""
st.markdown(f"**{ui.md_escape(pt['name'])}**（{KIND_LABELS.get(pt['kind'], '')}，{WB_LABELS.get(wb, '')}）"
            f" · {ui.md_escape(status)}")
pars = st.multiselect("指标", present, default=default_pars[:6], key="pars",
                      format_func=par_title, placeholder="选择指标")


def band_frame(par: str, lo_val: float, hi_val: float) -> pd.DataFrame:
    """Class bands of ``par`` covering the plotted range (y0–y1 per class)."""
    spec = water.STANDARD.get(par)
    lim = spec.limits(wb) if spec is not None else None
    if lim is None or is_outfall or spec.kind in ("none", "range"):
        return pd.DataFrame(columns=["y0", "y1", "cls"])
    lim = list(lim)
    if spec.kind == "max":
        edges = [0.0] + lim + [max(hi_val * 1.1, lim[-1] * 1.2)]
        rows = [(edges[k], edges[k + 1], water.CLASS_LABELS[k + 1]) for k in range(6) if edges[k + 1] > edges[k]]
    else:  # DO: higher is better
        edges = [max(hi_val * 1.1, lim[0] * 1.2)] + lim + [0.0]
        rows = [(edges[k + 1], edges[k], water.CLASS_LABELS[k + 1]) for k in range(6) if edges[k] > edges[k + 1]]
    return pd.DataFrame(rows, columns=["y0", "y1", "cls"])


def _limit_rules(par: str, s: pd.DataFrame) -> list[tuple[float, str]]:
    """Red dashed lines: the target class limit (sections) or the discharge limit (outfalls)."""
    if is_outfall:
        if not len(s) or s["limit"].isna().all():
            return []
        r = s.iloc[-1]
        basis = "排污许可" if r["basis"] == "排污许可" else row["standard"]
        if r["low"] == r["low"]:
            return [(r["low"], f"{basis} 下限 {fmt.plain(r['low'])}"), (r["limit"], f"{basis} 上限 {fmt.plain(r['limit'])}")]
        return [(r["limit"], f"{basis} 限值 {fmt.plain(r['limit'])}")]
    spec = water.STANDARD[par]
    lim = spec.limits(wb)
    if spec.kind == "range" and lim:
        return [(lim[0], "pH 下限 6"), (lim[1], "pH 上限 9")]
    if target and lim and spec.kind in ("max", "min"):
        return [(lim[target - 1], f"目标{water.label(target)}限值 {fmt.plain(lim[target - 1])}")]
    return []


def series_chart(par: str, s: pd.DataFrame) -> alt.LayerChart:
    spec = water.STANDARD.get(par) or discharge.STANDARD.get(par)
    unit = spec.unit if spec is not None else (s["unit"].dropna().iloc[0] if s["unit"].notna().any() else "")
    bd = s["below_detection"].astype("boolean").fillna(False) if "below_detection" in s.columns else False
    s = s.assign(when=s["sampled_at"], detected=np.where(bd, "低于检出限（按检出限）", "检出"),
                 cls=s["verdict"] if is_outfall else s["class"].map(water.label))
    hi = float(s["value"].max()) if len(s) else 1.0
    if is_outfall:
        # 超标 in the maps' outfall purple; 达标 a light purple (the maps' hollow white would vanish on a chart)
        colour = alt.Scale(domain=["达标", "超标", "无限值", "无法判定"],
                           range=["#C2A5CF", symbols.OUTFALL["fail"].colour, "#999999", "#999999"])
    else:
        colour = alt.Scale(domain=list(water.CLASS_LABELS.values()), range=list(CLASS_COLOURS.values()))
    layers = []
    bands = band_frame(par, 0.0, hi)
    if len(bands):
        layers.append(alt.Chart(bands).mark_rect(opacity=0.22).encode(
            y=alt.Y("y0:Q"), y2="y1:Q", color=alt.Color("cls:N", scale=colour, legend=None),
            tooltip=[alt.Tooltip("cls:N", title="类别")]))
    rules = _limit_rules(par, s)
    if rules:
        layers.append(alt.Chart(pd.DataFrame(rules, columns=["y", "what"])).mark_rule(
            color="#B2182B", strokeDash=[6, 3], strokeWidth=1.5).encode(
            y="y:Q", tooltip=alt.Tooltip("what:N", title="")))
    base = alt.Chart(s).encode(x=alt.X("when:T", title=None, axis=alt.Axis(labelExpr=fmt.VEGA_MONTH)))
    layers.append(base.mark_line(color="#333333", strokeWidth=1.2).encode(
        y=alt.Y("value:Q", title=unit, axis=alt.Axis(format=fmt.D3_NUMBER))))
    layers.append(base.mark_point(size=40, filled=True).encode(
        y="value:Q", color=alt.Color("cls:N", scale=colour, legend=None),
        shape=alt.Shape("detected:N", scale=alt.Scale(domain=["检出", "低于检出限（按检出限）"],
                                                      range=["circle", "triangle-down"]), legend=None),
        tooltip=[alt.Tooltip("when:T", title="采样时间", format="%Y年%-m月%-d日 %H:%M"),
                 alt.Tooltip("value:Q", title="数值", format=fmt.D3_NUMBER),
                 alt.Tooltip("cls:N", title="判定" if is_outfall else "类别"),
                 alt.Tooltip("detected:N", title="检出")]))
    y_max = max(hi * 1.1, max((r[0] for r in rules), default=0) * 1.1)
    ranged = spec is not None and getattr(spec, "kind", "") == "range" or getattr(spec, "is_range", False)
    return alt.layer(*layers).resolve_scale(color="shared").properties(
        title=par_title(par), height=210).encode(
        y=alt.Y("value:Q", scale=alt.Scale(domain=[0, y_max] if not ranged else [
            min(5.5, float(s["value"].min()) - 0.3 if len(s) else 5.5), max(9.5, hi + 0.3)], clamp=True)))


if not len(series):
    st.info("该点位在所选时段内没有监测数据。")
else:
    cols = st.columns(2)
    for i, par in enumerate(pars):
        with cols[i % 2]:
            st.altair_chart(series_chart(par, series[series["parameter"] == par]), width="stretch")
    if is_outfall:
        st.caption("红色虚线为该排污口执行的排放限值（GB 8978-1996 或排污许可）；深紫色点为超标，浅紫色点为达标；"
                   "倒三角为低于检出限的结果（画在检出限处）。")
    else:
        st.caption("色带为 GB 3838-2002 各类别范围，红色虚线为目标类别限值；倒三角为低于检出限的结果（画在检出限处）。")

    # trends of this point
    tr = _trend(version, start, as_of, selected)
    if len(tr):
        tr = tr.assign(_o=tr["parameter"].map(water.ORDER)).sort_values("_o")
        units = {p: (water.STANDARD.get(p) or discharge.STANDARD.get(p)).unit
                 if (water.STANDARD.get(p) or discharge.STANDARD.get(p)) else "" for p in tr["parameter"]}
        st.subheader("变化趋势（Mann–Kendall 检验，Sen 斜率）")
        st.dataframe(pd.DataFrame({
            "指标": tr["parameter"].map(par_title),
            "趋势": tr["trend"].map(water.TREND_ARROWS) + " " + tr["quality"].map(QUALITY_LABELS),
            "Sen 斜率（每年）": [("+" if v > 0 else "") + f"{fmt.plain(v)} {units[p]}" if v == v else "—"
                             for v, p in zip(tr["slope_per_year"], tr["parameter"])],
            "p 值": tr["p"].map(lambda v: f"{v:.3f}" if v == v else "—"),
            "样本数": tr["n"],
        }), hide_index=True, width="stretch")
        st.caption("↑/↓：在 0.05 显著性水平上升/下降；溶解氧下降、其他污染物上升为“变差”。")
    data = pd.DataFrame({
        "点位": series["point_id"], "采样时间": series["sampled_at"].dt.strftime("%Y-%m-%d %H:%M"),
        "指标": series["parameter"].map(par_title), "数值": series["value"].map(fmt.plain),
        "单位": series["unit"].fillna(""),
        "低于检出限": (series["below_detection"].astype("boolean").fillna(False).map({True: "是", False: "否"})
                  if "below_detection" in series.columns else "否"),
    })
    if is_outfall:
        data["限值"] = series["limit_text"].to_numpy()
        data["判定"] = series["verdict"].to_numpy()
        data["超标倍数"] = series["multiple"].map(fmt.multiple).to_numpy()
    else:
        data["水质类别"] = series["class"].map(water.label).to_numpy()
    st.download_button("下载该点位数据（CSV）", write_csv(data, dialect="for_people", meta=file_meta(
                           f"监测数据：{pt['name']}", 点位=selected, 时段=f"{start:%Y-%m-%d} 至 {as_of:%Y-%m-%d}")),
                       file_name=f"监测数据_{selected}_{as_of:%Y%m%d}.csv", mime="text/csv")

# --- exceedances in the window ---------------------------------------------------------------
st.divider()
st.subheader(f"超标记录（{start:%Y-%m-%d} 至 {as_of:%Y-%m-%d}；断面对照目标类别，排污口对照排放限值）")
ex = _exceedances(version, start, as_of)
ex = ex[ex["point_id"].isin(shown_sec["id"])].reset_index(drop=True)
oex = _outfall_exceedances(version, start, as_of)
oex = oex[oex["point_id"].isin(shown_out["id"])].reset_index(drop=True)
only_point = st.toggle("只看所选点位", value=False, key="only_point")
if only_point:
    ex = ex[ex["point_id"] == selected]
    oex = oex[oex["point_id"] == selected]


def _values(frame: pd.DataFrame) -> list[str]:
    bd = frame["below_detection"].astype("boolean").fillna(False) if "below_detection" in frame.columns else \
        [False] * len(frame)
    return [("<" if b else "") + fmt.plain(v, 4) for v, b in zip(frame["value"], bd)]


#: Rows of the exceedance table on the page (``[water] table_rows``; a province's five years hold tens of
#: thousands, more than anyone reads on a page: the downloaded file has all of them).
SHOWN_EXCEEDANCES = int(config.get("water", "table_rows", 2000))


def _exceedance_table(ex: pd.DataFrame, oex: pd.DataFrame) -> pd.DataFrame:
    """Sections' and outfalls' exceedances as one table for people, newest first."""
    return pd.concat([
        pd.DataFrame({
            "_t": ex["sampled_at"], "采样时间": ex["sampled_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "点位": ex["point_id"].map(label_of), "指标": ex["parameter"].map(par_title), "数值": _values(ex),
            "单位": ex["unit"].fillna(""), "类别": ex["class"].map(water.label),
            "对照": [f"目标{water.label(t)}" for t in ex["target_class"]],
            "限值": ex["limit"].map(lambda v: fmt.plain(v) if v == v else "6–9"),
            "超标倍数": ex["factor"].map(fmt.multiple),
        }),
        pd.DataFrame({
            "_t": oex["sampled_at"], "采样时间": oex["sampled_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "点位": oex["point_id"].map(label_of), "指标": oex["parameter"].map(par_title), "数值": _values(oex),
            "单位": oex["unit"].fillna(""), "类别": "—",
            "对照": [("排污许可" if b == "排污许可" else f"{discharge.CODE} {g}")
                   for b, g in zip(oex["basis"], oex["grade_label"])],
            "限值": oex["limit_text"], "超标倍数": oex["multiple"].map(fmt.multiple),
        }),
    ], ignore_index=True).sort_values("_t", ascending=False, kind="stable").drop(columns="_t")


def _newest(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    return frame.sort_values("sampled_at", ascending=False, kind="stable").head(n)


if len(ex) or len(oex):
    total = len(ex) + len(oex)
    shown_ex = _exceedance_table(_newest(ex, SHOWN_EXCEEDANCES), _newest(oex, SHOWN_EXCEEDANCES)) \
        .head(SHOWN_EXCEEDANCES)
    if total > SHOWN_EXCEEDANCES:
        st.caption(f"共 {total:,} 条超标记录，表中列出最近的 {SHOWN_EXCEEDANCES:,} 条；下载的文件含全部记录。"
                   "打开“只看所选点位”可查看单个点位的全部记录。")
    st.dataframe(shown_ex, hide_index=True, width="stretch", height=320)
    st.download_button("下载超标记录（CSV）", lambda: write_csv(_exceedance_table(ex, oex), dialect="for_people",
                                                         meta=file_meta("超标记录", 时段=f"{start:%Y-%m-%d} 至 {as_of:%Y-%m-%d}")),
                       file_name=f"超标记录_{as_of:%Y%m%d}.csv", mime="text/csv")
else:
    st.success("所选时段内没有超标记录。")

# --- the river above and below the chemical park ------------------------------------------
st.divider()
prof = _profile(version, start, as_of)
if len(prof):
    river_name = frames["rivers"].set_index("id")["name"].get(prof.attrs.get("water_id"), "")
    st.subheader(f"{ui.md_escape(river_name)}沿程：化工园区上下游对比（{start:%Y-%m-%d} 至 {as_of:%Y-%m-%d} 均值）")
    ppars = sorted(prof["parameter"].unique(), key=lambda p: water.ORDER.get(p, 99))
    par = st.selectbox("对比指标", ppars, index=ppars.index("NH3-N") if "NH3-N" in ppars else 0,
                       format_func=par_title, key="profile_par", placeholder="选择指标")
    d = prof[prof["parameter"] == par].assign(
        位置=lambda x: x["position"].map(POSITION_LABELS), 类别=lambda x: x["class"].map(water.label))
    lo, hi = prof.attrs["park_km"]
    colour = alt.Scale(domain=list(water.CLASS_LABELS.values()), range=list(CLASS_COLOURS.values()))
    reach = alt.Chart(pd.DataFrame({"x0": [lo], "x1": [hi], "what": ["化工园区河段"]})).mark_rect(
        color="#CC79A7", opacity=0.18).encode(x="x0:Q", x2="x1:Q", tooltip=alt.Tooltip("what:N", title=""))
    line = alt.Chart(d).mark_line(color="#555555").encode(
        x=alt.X("chainage_km:Q", title="距河流起点（公里，自上游向下游）"), y=alt.Y("mean:Q", title=water.STANDARD[par].unit,
                                                              axis=alt.Axis(format=fmt.D3_NUMBER)))
    dots = alt.Chart(d).mark_point(size=140, filled=True, stroke="#111111").encode(
        x="chainage_km:Q", y="mean:Q", color=alt.Color("类别:N", scale=colour, legend=alt.Legend(title="均值类别")),
        tooltip=[alt.Tooltip("name:N", title="断面"), alt.Tooltip("位置:N"),
                 alt.Tooltip("mean:Q", title="均值", format=fmt.D3_NUMBER),
                 alt.Tooltip("n:Q", title="样本数"), alt.Tooltip("offset_km:Q", title="距园区（公里）", format=".1f")])
    labels = alt.Chart(d).mark_text(dy=-14, fontSize=12).encode(x="chainage_km:Q", y="mean:Q", text="name:N")
    chart = reach + line + dots + labels
    lim = water.STANDARD[par].limits("river")
    if lim and water.STANDARD[par].kind in ("max", "min"):
        chart += alt.Chart(pd.DataFrame({"y": [lim[2]], "what": [f"Ⅲ类限值 {fmt.plain(lim[2])}"]})).mark_rule(
            color="#B2182B", strokeDash=[6, 3]).encode(y="y:Q", tooltip=alt.Tooltip("what:N", title=""))
    st.altair_chart(chart.properties(height=320), width="stretch")
    up = d.loc[d["position"] == "upstream", "mean"].mean()
    down = d.loc[d["position"] == "downstream", "mean"].mean()
    if up == up and down == down and up > 0:
        st.caption(f"园区下游断面均值为上游的 {down / up:.2f} 倍（{water.STANDARD[par].name}）。紫色阴影为园区企业在河道上的投影范围。")
    prof_table = pd.DataFrame({
        "断面": prof["id"] + " " + prof["name"], "位置": prof["position"].map(POSITION_LABELS),
        "距河流起点（公里）": prof["chainage_km"].round(2), "距园区河段（公里）": prof["offset_km"].round(2),
        "指标": prof["parameter"].map(par_title), "均值": prof["mean"].map(lambda v: fmt.plain(v, 4)),
        "中位数": prof["median"].map(lambda v: fmt.plain(v, 4)), "样本数": prof["n"],
        "均值类别": prof["class"].map(water.label), "目标": prof["target_class"].map(water.label),
    })
    st.download_button("下载沿程对比（CSV）", write_csv(prof_table, dialect="for_people", meta=file_meta(
                           "化工园区上下游对比", 时段=f"{start:%Y-%m-%d} 至 {as_of:%Y-%m-%d}", 统计="时段内均值")),
                       file_name=f"园区上下游对比_{as_of:%Y%m%d}.csv", mime="text/csv")
