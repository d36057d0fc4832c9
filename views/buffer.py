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

import casework_ui as cw
import ui
from geo import buffers as B
from geo.contract import LAYER_LABELS, SITE_LAYERS
from geo.rules import RESOLVED
from layers import mapview, symbols, townships, water
from layers import violations as violations_layer
from layers.base import Legend

st.title("河岸缓冲")
st.caption("距水体距离 = 到河流中心线的距离减去半个河宽（自岸线起算，不小于 0），或到水库湖泊水面的距离（水面内为 0，"
           "湖心岛算陆地）；按当地投影精确计算，不用缓冲多边形近似。在管点位（未关停、未搬迁、未转产）距离 ≤ 限值即列入。")

TABLES = ("townships", "rivers", "waterbodies", "farms", "enterprises", "kilns", "status_events")
LAYER_ORDER = ("farms", "enterprises", "kilns")
HIGHLIGHT = violations_layer.COLOURS


@st.cache_data(show_spinner=False, max_entries=8)
def _active(version: str, layers: tuple[str, ...], as_of: dt.date) -> dict[str, gpd.GeoDataFrame]:
    """The sites of ``layers`` active on ``as_of`` (id, name, status, point), as the database replays them:
    resolved sites are never read."""
    store = ui.get_store()
    return {layer: store.sites_on(layer, as_of, ["name"], exclude_statuses=RESOLVED[layer]) for layer in layers}


@st.cache_data(show_spinner=False, max_entries=32)
def _result(version: str, limit: float, layers: tuple[str, ...], as_of: dt.date) -> gpd.GeoDataFrame:
    """Active sites of ``layers`` within ``limit`` on ``as_of`` (the larger limit: one computation serves both)."""
    frames = {**ui.load_many("townships", "rivers", "waterbodies"), **_active(version, layers, as_of)}
    # the sites already stand on ``as_of``: nothing left to replay (as_of=None)
    return B.check(frames, limit, layers, None)


@st.cache_data(show_spinner=False, max_entries=32)
def _zone(version: str, distance: float) -> gpd.GeoDataFrame:
    """The zone within ``distance`` of water, for display only (a buffer polygon never decides a case)."""
    return violations_layer.zone(ui.load("rivers"), ui.load("waterbodies"), distance)


@st.cache_data(show_spinner="正在生成地图…", max_entries=32)
def _map_html(version: str, distance: float, proposed: float, layers: tuple[str, ...], as_of: dt.date) -> str:
    frames = ui.load_many("townships", "rivers", "waterbodies")
    res = _result(version, max(distance, proposed), layers, as_of)
    tw = frames["townships"]
    m = mapview.new_map(tw.total_bounds if len(tw) else None, height=560)
    townships.add_to(m, tw)
    violations_layer.add_zone(m, _zone(version, distance), distance)
    water.add_to(m, frames["rivers"], frames["waterbodies"])
    approximate = bool(tw.get("approximate", pd.Series([False])).fillna(False).any())
    geography = townships.legend_items(approximate) + water.legend_items() + \
        [violations_layer.zone_legend_item(distance)]
    # each site in its layer's shape and status colour; the ring says why it is listed
    drawn = [violations_layer.add_to(m, B.within(res, distance), name=f"{distance:g} 米内在管点位", radius=7)]
    extra = violations_layer.legend_items(layers, distance)
    if proposed > distance:
        drawn.append(violations_layer.add_to(m, B.compare_limits(res, distance, proposed), radius=7,
                                             name=f"{proposed:g} 米新增", added=True))
        extra.append(violations_layer.added_legend_item(proposed))
    rows = [r for d in drawn if d is not None for r in d.legend]
    Legend("图例", symbols.compose(geography=geography, points=rows, extra=extra, cluster=True)).add_to(m)
    mapview.layer_control(m)
    return mapview.to_html(m)


@st.cache_data(show_spinner=False, max_entries=16)
def _downloads(version: str, distance: float, proposed: float, layers: tuple[str, ...], as_of: dt.date,
               who: str) -> dict[str, bytes]:
    res = B.within(_result(version, max(distance, proposed), layers, as_of), distance)
    meta = B.riverside_meta(distance, as_of, layers, data_version=version, generated_by=who)
    return {  # written by geo.io.writers: no spreadsheet formula from a site's name
        "xlsx": B.to_xlsx_bytes(res, meta=meta),
        "csv": B.to_csv_bytes(res, meta=meta),
        "geojson": B.to_geojson(res).encode("utf-8"),
    }


def _table(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({
        "图层": df["layer"].map(LAYER_LABELS), "编号": df["id"], "名称": df["name"], "乡镇（街道）": df["township"],
        "状态": df["status_label"], "距水体（米）": df["distance_m"].round(2), "最近水体": df["water_name"],
        "一企一档": cw.site_links(df["layer"], df["id"]),
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
version = ui.data_version(*TABLES)

with st.expander("假设比较：限值改为……", expanded=True):
    default_proposed = min(int(distance) + 100, int(B.MAX_DISTANCE_M))
    proposed = float(st.slider("比较限值（米）", int(B.MIN_DISTANCE_M), int(B.MAX_DISTANCE_M), default_proposed,
                               step=10, key="proposed"))

with st.spinner("正在计算各点位到河岸、水面的距离…"):
    progress = st.progress(0, text="读取数据…")
    _active(version, layers, as_of)
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
    mapview.show(_map_html(version, distance, proposed, layers, as_of), height=580)
    st.caption("沙色范围仅为示意（缓冲多边形是近似）；是否列入以精确距离为准。圆圈标出限值内的在管点位，"
               "形状表示类别、颜色表示状态；点击点位查看距离与最近水体。")

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
            st.dataframe(_table(added), hide_index=True, width="stretch", column_config=cw.link_column())

with tab_list:
    st.dataframe(_table(violations), hide_index=True, width="stretch", column_config=cw.link_column())
    files = _downloads(version, distance, proposed, layers, as_of, ui.generated_by()) if len(violations) else None
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
