"""河岸缓冲 /buffer: which active sites lie within D metres of a river bank or a reservoir, and what a
stricter limit would add.

Distances come from ``geo.buffers`` (exact point-to-water distances in a local
projection; the zone on the map is drawn for the eye only and decides nothing).
Results are cached by data version, limit, layers and date.
"""
from __future__ import annotations

import datetime as dt

import altair as alt
import geopandas as gpd
import pandas as pd
import streamlit as st

import ui
from geo import buffers as B
from geo.contract import LAYER_LABELS, SITE_LAYERS
from geo.crs import metric_crs_for

st.title("河岸缓冲")
st.caption("距水体距离 = 到河流中心线的距离减去半个河宽（自岸线起算，不小于 0），或到水库湖泊水面的距离（水面内为 0，"
           "湖心岛算陆地）；按当地投影精确计算，不用缓冲多边形近似。在管点位（未关停、未搬迁、未转产）距离 ≤ 限值即列入。")

TABLES = ("townships", "rivers", "waterbodies", "farms", "enterprises", "kilns", "status_events")
LAYER_ORDER = ("farms", "enterprises", "kilns")
HIGHLIGHT = {"farms": "#D55E00", "enterprises": "#E69F00", "kilns": "#CC79A7"}
ADDED_COLOUR = "#0072B2"


@st.cache_data(show_spinner=False, max_entries=32)
def _result(version: str, limit: float, layers: tuple[str, ...], as_of: dt.date) -> gpd.GeoDataFrame:
    """Active sites of ``layers`` within ``limit`` on ``as_of`` (the larger limit: one computation serves both)."""
    return B.check(ui.load_many(*TABLES), limit, layers, as_of)


@st.cache_data(show_spinner=False, max_entries=32)
def _zone(version: str, distance: float) -> gpd.GeoDataFrame:
    """The zone within ``distance`` of water, for display only (a buffer polygon never decides a case)."""
    rivers, lakes = ui.load("rivers"), ui.load("waterbodies")
    parts = [g for g in (rivers.geometry, lakes.geometry) if len(g)]
    if not parts:
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    crs = metric_crs_for(pd.concat([rivers.geometry, lakes.geometry]).total_bounds)
    zones = []
    if len(rivers):
        r = rivers.to_crs(crs)
        zones.append(r.buffer(distance + r["width_m"].fillna(0).to_numpy() / 2.0, quad_segs=8))
    if len(lakes):
        zones.append(lakes.to_crs(crs).buffer(distance, quad_segs=8))
    union = pd.concat(zones).union_all()
    return gpd.GeoDataFrame({"name": [f"距水体 {distance:g} 米范围（示意）"]}, geometry=[union], crs=crs).to_crs(4326)


@st.cache_data(show_spinner="正在生成地图…", max_entries=32)
def _map_html(version: str, distance: float, proposed: float, layers: tuple[str, ...], as_of: dt.date) -> str:
    from layers import mapview, townships, water
    from layers.base import GeoLayer, Legend, PointLayer, colour_index, geojson_of

    frames = ui.load_many("townships", "rivers", "waterbodies")
    res = _result(version, max(distance, proposed), layers, as_of)
    tw = frames["townships"]
    m = mapview.new_map(tw.total_bounds if len(tw) else None, height=560)
    townships.add_to(m, tw)
    zone = _zone(version, distance)
    if len(zone):
        GeoLayer(geojson_of(zone, ["name"], [0], precision=5),
                 [{"color": water.COLORS["zone"], "weight": 1, "fillColor": water.COLORS["zone"], "fillOpacity": 0.18}],
                 name=f"{distance:g} 米范围（示意）", tip="name", interactive=False).add_to(m)
    water.add_to(m, frames["rivers"], frames["waterbodies"])
    items = [(f"距水体 {distance:g} 米范围（示意）", water.COLORS["zone"], "fill")] + water.legend_items()

    def add_points(rows_df, colours, name, highlight):
        if len(rows_df) == 0:
            return
        idx, palette = colour_index(rows_df["layer"], colours)
        rows = [[f"{n}（{d:.1f} 米）", LAYER_LABELS[l], i, s, t or "—", f"{d:.3f} 米", w or "—"]
                for n, l, i, s, t, d, w in zip(rows_df["name"], rows_df["layer"], rows_df["id"],
                                               rows_df["status_label"], rows_df["township"], rows_df["distance_m"],
                                               rows_df["water_name"])]
        PointLayer(rows_df["lon"], rows_df["lat"], idx, palette, rows,
                   ["名称", "类别", "编号", "状态", "乡镇（街道）", "距水体", "最近水体"],
                   name=name, radius=8 if highlight else 6, stroke="#ffffff", title=0,
                   highlight=[highlight] * len(rows_df)).add_to(m)

    add_points(B.within(res, distance), HIGHLIGHT, f"{distance:g} 米内在管点位", True)
    items += [(f"{LAYER_LABELS[k]}（{distance:g} 米内）", HIGHLIGHT[k], "circle") for k in layers]
    if proposed > distance:
        add_points(B.compare_limits(res, distance, proposed), {k: ADDED_COLOUR for k in layers}, f"{proposed:g} 米新增", False)
        items.append((f"改为 {proposed:g} 米时新增", ADDED_COLOUR, "circle"))
    Legend("图例", items).add_to(m)
    mapview.layer_control(m)
    return mapview.to_html(m)


@st.cache_data(show_spinner=False, max_entries=16)
def _downloads(version: str, distance: float, proposed: float, layers: tuple[str, ...], as_of: dt.date) -> dict[str, bytes]:
    res = B.within(_result(version, max(distance, proposed), layers, as_of), distance)
    return {
        "xlsx": B.to_xlsx_bytes(res),
        "csv": B.to_table(res).to_csv(index=False).encode("utf-8-sig"),
        "geojson": B.to_geojson(res).encode("utf-8"),
    }


def _table(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({
        "图层": df["layer"].map(LAYER_LABELS), "编号": df["id"], "名称": df["name"], "乡镇（街道）": df["township"],
        "状态": df["status_label"], "距水体（米）": df["distance_m"].round(2), "最近水体": df["water_name"],
    })
    return out.reset_index(drop=True)


# --- controls ------------------------------------------------------------------------------------------

c1, c2, c3 = st.columns([2, 2, 1])
with c1:
    distance = float(st.slider("缓冲距离（米）", int(B.MIN_DISTANCE_M), int(B.MAX_DISTANCE_M),
                               int(B.DEFAULT_DISTANCE_M), step=10, key="distance"))
with c2:
    chosen = st.multiselect("检查图层", list(LAYER_ORDER), default=list(LAYER_ORDER),
                            format_func=lambda k: LAYER_LABELS[k], key="layers", placeholder="选择图层")
with c3:
    as_of = ui.as_of_input()

if not chosen:
    st.warning("请至少选择一个图层。")
    st.stop()
layers = tuple(k for k in SITE_LAYERS if k in chosen)
version = ui.data_version()

with st.expander("假设比较：限值改为……", expanded=True):
    default_proposed = min(int(distance) + 100, int(B.MAX_DISTANCE_M))
    proposed = float(st.slider("比较限值（米）", int(B.MIN_DISTANCE_M), int(B.MAX_DISTANCE_M), default_proposed,
                               step=10, key="proposed"))

with st.spinner("正在计算各点位到河岸、水面的距离…"):
    progress = st.progress(0, text="读取数据…")
    ui.load_many(*TABLES)
    progress.progress(30, text="计算距离…")
    res = _result(version, max(distance, proposed), layers, as_of)
    progress.progress(100, text="完成")
    progress.empty()

violations = B.within(res, distance)
added = B.compare_limits(res, distance, proposed)

# --- figures -------------------------------------------------------------------------------------------

cols = st.columns(1 + len(layers) + 1)
cols[0].metric(f"{distance:g} 米内在管点位", f"{len(violations)} 处")
for col, k in zip(cols[1:], layers):
    col.metric(LAYER_LABELS[k], f"{int((violations['layer'] == k).sum())} 处")
sign = "新增" if proposed >= distance else "减少"
cols[-1].metric(f"改为 {proposed:g} 米", f"{len(added)} 处", delta=f"{sign} {len(added)}",
                delta_color="inverse" if proposed >= distance else "normal")

tab_map, tab_town, tab_whatif, tab_list = st.tabs(["地图", "按乡镇统计", "假设比较", "清单与下载"])

with tab_map:
    try:
        html = _map_html(version, distance, proposed, layers, as_of)
    except ImportError:  # map layers not installed in this build
        html = None
    if html:
        from layers import mapview

        mapview.show(html, height=580)
    st.caption("橙色范围仅为示意（缓冲多边形是近似）；是否列入以精确距离为准。点击点位查看距离与最近水体。")

with tab_town:
    counts = B.counts_by_township(violations)
    if len(violations) == 0:
        st.success(f"{distance:g} 米内没有在管点位。")
    else:
        long = pd.DataFrame({"township": violations["township"].fillna("（区外）").to_numpy(),
                             "图层": violations["layer"].map(LAYER_LABELS).to_numpy()})
        chart = alt.Chart(long).mark_bar().encode(
            y=alt.Y("township:N", sort="-x", title="乡镇（街道）"),
            x=alt.X("count():Q", title="点位数"),
            color=alt.Color("图层:N", scale=alt.Scale(domain=[LAYER_LABELS[k] for k in layers],
                                                      range=[HIGHLIGHT[k] for k in layers])),
            tooltip=[alt.Tooltip("township:N", title="乡镇（街道）"), alt.Tooltip("图层:N"),
                     alt.Tooltip("count():Q", title="点位数")],
        ).properties(height=max(160, 28 * counts.shape[0]))
        st.altair_chart(chart, width="stretch")
        show = counts.rename(columns={"township": "乡镇（街道）", "total": "合计", **LAYER_LABELS})
        st.dataframe(show, hide_index=True, width="stretch")

with tab_whatif:
    lo, hi = sorted((distance, proposed))
    if proposed == distance:
        st.info("两个限值相同，没有差别。")
    else:
        verb = "新增" if proposed > distance else "不再列入"
        st.write(f"限值由 {distance:g} 米改为 {proposed:g} 米：{verb} {len(added)} 处"
                 f"（距水体 {lo:g}–{hi:g} 米之间的在管点位）。")
        if len(added):
            per = added.groupby("layer").size()
            st.write("；".join(f"{LAYER_LABELS[k]} {int(per.get(k, 0))} 处" for k in layers))
            st.dataframe(_table(added), hide_index=True, width="stretch")

with tab_list:
    st.dataframe(_table(violations), hide_index=True, width="stretch")
    files = _downloads(version, distance, proposed, layers, as_of) if len(violations) else None
    stem = f"沿河{distance:g}米_{as_of:%Y%m%d}"
    if files:
        d1, d2, d3 = st.columns(3)
        d1.download_button("下载 Excel", files["xlsx"], f"{stem}.xlsx",
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl_xlsx")
        d2.download_button("下载 CSV", files["csv"], f"{stem}.csv", "text/csv", key="dl_csv")
        d3.download_button("下载 GeoJSON", files["geojson"], f"{stem}.geojson", "application/geo+json",
                           key="dl_geojson")
    st.caption(f"命令行：python -m geo buffer --distance {distance:g} --layers {','.join(layers)} "
               f"--as-of {as_of:%Y-%m-%d} --out {stem}.xlsx")
