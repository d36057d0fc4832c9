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
import login_ui
import ui
from geo import buffers as B
from geo.contract import LAYER_LABELS, SITE_LAYERS
from geo import config, rules
from layers import mapview, symbols, townships, water
from layers import overview as overview_layer
from layers import violations as violations_layer
from layers.base import Legend

st.title("河岸缓冲")
st.caption("距水体距离 = 到河流中心线的距离减去半个河宽（自岸线起算，不小于 0），或到水库湖泊水面的距离（水面内为 0，"
           "湖心岛算陆地）；按当地投影精确计算，不用缓冲多边形近似。在管点位（未关停、未搬迁、未转产）距离 ≤ 限值即列入。")

TABLES = ("townships", "rivers", "waterbodies", "farms", "enterprises", "kilns", "status_events")
LAYER_ORDER = ("farms", "enterprises", "kilns")
HIGHLIGHT = violations_layer.COLOURS
#: Rows a page table shows at most (``[tables] max_rows``): the nearest to water; downloads hold every row.
TABLE_ROWS = 500


def _active(version: str, layers: tuple[str, ...], as_of: dt.date) -> dict[str, gpd.GeoDataFrame]:
    """The sites of ``layers`` active on ``as_of`` (id, name, status, point), as the database replays them
    (the day's sites every page shares, :func:`ui.active_sites`)."""
    return {layer: ui.active_sites(layer, as_of) for layer in layers}


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


def _large(version: str, layers: tuple[str, ...], as_of: dt.date) -> bool:
    """A store with more active sites than one map's point budget: its water and zone are drawn for the view."""
    return sum(len(f) for f in _active(version, layers, as_of).values()) > overview_layer.max_points()


@st.cache_data(show_spinner="正在生成地图…", max_entries=32)
def _map_html(version: str, distance: float, proposed: float, layers: tuple[str, ...], as_of: dt.date,
              towns: tuple[str, ...] = ()) -> tuple[str, tuple[int, int], bool]:
    """The map's HTML, how many sites it stands for (within ``distance``; added at ``proposed``), and whether
    they are drawn per township.

    More violations (in ``towns``, all when empty) than ``[map] max_points``: one symbol per township and
    layer (``layers.violations.add_aggregated``); fewer: each site. On a large store the water and the
    zone are simplified to the view's scale (display only: the distances come from ``geo.buffers``).
    """
    frames = ui.load_many("townships", "rivers", "waterbodies")
    res = _result(version, max(distance, proposed), layers, as_of)
    if towns:
        res = res[res["township"].isin(towns).to_numpy()]
    tw = frames["townships"]
    focus = tw[tw["name"].isin(towns)] if towns else tw
    bounds = focus.total_bounds if len(focus) else None
    m = mapview.new_map(bounds, height=560)
    townships.add_to(m, tw)
    rivers, waterbodies = frames["rivers"], frames["waterbodies"]
    band = 0.0
    if bounds is not None and _large(version, layers, as_of):
        # the water drawn is the water the zone is made from: cut to the view's window, simplified once
        rivers, waterbodies, zone = violations_layer.view_water(rivers, waterbodies, distance, bounds)
        band = overview_layer.pixel_m(bounds)
    else:
        zone = _zone(version, distance)
    violations_layer.add_zone(m, zone, distance)
    water.add_to(m, rivers, waterbodies, min_band_m=band)
    approximate = bool(tw.get("approximate", pd.Series([False])).fillna(False).any())
    geography = townships.legend_items(approximate) + water.legend_items() + \
        [violations_layer.zone_legend_item(distance)]
    inside, more = B.within(res, distance), B.compare_limits(res, distance, proposed)
    if proposed <= distance:
        more = more.iloc[:0]
    n = len(inside) + len(more)
    aggregated = n > overview_layer.max_points()
    name, more_name = f"{distance:g} 米内在管点位", f"{proposed:g} 米新增"
    if aggregated:
        # too many to draw one by one: per township and layer, the count in the symbol (the what-if hidden)
        drawn = violations_layer.add_aggregated(m, {name: inside, more_name: more}, tw, show={more_name: False})
        extra = [symbols.aggregate_item()]
    else:
        # each site in its layer's shape and status colour; the ring says why it is listed
        drawn = [violations_layer.add_to(m, inside, name=name, radius=7)]
        extra = violations_layer.legend_items(layers, distance)
        if len(more):
            drawn.append(violations_layer.add_to(m, more, radius=7, name=more_name, added=True))
            extra.append(violations_layer.added_legend_item(proposed))
    rows = [r for d in drawn if d is not None for r in d.legend]
    Legend("图例", symbols.compose(geography=geography, points=rows, extra=extra, cluster=not aggregated,
                                   colour_title="完成比例（颜色）" if aggregated else "状态（颜色）")).add_to(m)
    mapview.layer_control(m)
    return mapview.to_html(m), (len(inside), len(more)), aggregated


def _download(version: str, distance: float, proposed: float, layers: tuple[str, ...], as_of: dt.date,
              who: str, kind: str):
    """The official list in one format, made when the user clicks (never on a page run): every row."""
    def make() -> bytes:
        return _downloads(version, distance, proposed, layers, as_of, who)[kind]
    return make


@st.cache_data(show_spinner=False, max_entries=16)
def _downloads(version: str, distance: float, proposed: float, layers: tuple[str, ...], as_of: dt.date,
               who: str) -> dict[str, bytes]:
    res = B.within(_result(version, max(distance, proposed), layers, as_of), distance)
    meta = B.riverside_meta(distance, as_of, layers, data_version=version, generated_by=who)
    return {  # written by geo.io.writers: no spreadsheet formula from a site's name
        "xlsx": B.to_xlsx_bytes(res, meta=meta),
        "csv": B.to_csv_bytes(res, meta=meta),
        "geojson": B.to_geojson(res, meta=meta).encode("utf-8"),
        "gpkg": B.to_gpkg(res, meta=meta),
    }


def table_rows() -> int:
    """How many rows a page table shows (``[tables] max_rows``, default 500); downloads hold every row."""
    return int(config.get("tables", "max_rows", TABLE_ROWS))


def _bounded(df: pd.DataFrame, what: str, rest: str = "完整清单请用下方按钮下载") -> pd.DataFrame:
    """At most :func:`table_rows` rows of ``df`` (the nearest to water), the total stated above the table."""
    limit = table_rows()
    if len(df) <= limit:
        return df
    st.caption(f"共 {len(df):,} 处{what}，表中列出距水体最近的 {limit:,} 处；{rest}。")
    return df.sort_values(["distance_m", "layer", "id"], kind="stable").head(limit)


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
                               int(rules.riverside_limit_m()), step=10, key="distance"))
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
# the what-if tile says what the page would list at the other limit, and the difference to today's
# (one truth with the 假设比较 tab: both come from B.within on the one result); more listed is worse (red)
at_proposed = B.within(res, proposed)
diff = len(at_proposed) - len(violations)
cols[-1].metric(f"改为 {proposed:g} 米", f"{len(at_proposed)} 处",
                delta=f"{diff:+d} 处（较 {distance:g} 米）" if diff else f"与 {distance:g} 米相同",
                delta_color="inverse" if diff else "off")

tab_map, tab_town, tab_whatif, tab_list = st.tabs(["地图", "按乡镇统计", "假设比较", "清单与下载"])

with tab_map:
    towns = st.multiselect("地图范围：乡镇（街道）", ui.township_names(), key="map_towns", placeholder="全区")
    html, (n_in, n_more), aggregated = _map_html(version, distance, proposed, layers, as_of, tuple(towns))
    if aggregated:
        more_text = f"（另有改为 {proposed:g} 米时新增 {n_more:,} 处，图层控制中可打开）" if n_more else ""
        st.info(f"地图范围内 {distance:g} 米内在管点位 {n_in:,} 处{more_text}，超过单张地图可清晰显示的 "
                f"{overview_layer.max_points():,} 个：按乡镇（街道）和类别汇总显示，符号大小和数字为点位数。"
                "在上方“地图范围：乡镇（街道）”中选择乡镇后显示各个点位。")
    mapview.show(html, height=580)
    if aggregated:
        st.caption("沙色范围仅为示意（缓冲多边形是近似）；是否列入以精确距离为准。每个符号为一个乡镇（街道）内某一类别的"
                   "列入点位，数字为点位数；各点位的距离与最近水体见“清单与下载”。")
    else:
        st.caption("沙色范围仅为示意（缓冲多边形是近似）；是否列入以精确距离为准。圆圈标出限值内的在管点位，"
                   "形状表示类别、颜色表示状态；点击点位查看距离与最近水体。")

with tab_town:
    counts = B.counts_by_township(violations)
    if len(violations) == 0:
        st.success(f"{distance:g} 米内没有在管点位。")
    else:
        # counted here, one row per township and layer: the browser gets the counts, not every violation
        long = pd.DataFrame({"township": violations["township"].fillna("（区外）").to_numpy(),
                             "图层": violations["layer"].map(LAYER_LABELS).to_numpy()})
        long = long.groupby(["township", "图层"], sort=False).size().rename("点位数").reset_index()
        chart = alt.Chart(long).mark_bar().encode(
            y=alt.Y("township:N", sort="-x", title="乡镇（街道）"),
            x=alt.X("sum(点位数):Q", title="点位数"),
            color=alt.Color("图层:N", scale=alt.Scale(domain=[LAYER_LABELS[k] for k in layers],
                                                      range=[HIGHLIGHT[k] for k in layers])),
            tooltip=[alt.Tooltip("township:N", title="乡镇（街道）"), alt.Tooltip("图层:N"),
                     alt.Tooltip("sum(点位数):Q", title="点位数")],
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
            shown = _bounded(added, "", f"全部清单可在“清单与下载”中将缓冲距离设为 {hi:g} 米后下载（按距水体排序）")
            st.dataframe(_table(shown), hide_index=True, width="stretch", column_config=cw.link_column())

with tab_list:
    st.dataframe(_table(_bounded(violations, "在管点位")), hide_index=True, width="stretch",
                 column_config=cw.link_column())
    stem = f"沿河{distance:g}米_{as_of:%Y%m%d}"
    if len(violations):
        # made on click (a province's xlsx takes seconds): the page run never waits for it
        key = (version, distance, proposed, layers, as_of, login_ui.generated_by())
        d1, d2, d3, d4 = st.columns(4)
        d1.download_button("下载 Excel", _download(*key, "xlsx"), f"{stem}.xlsx",
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl_xlsx")
        d2.download_button("下载 CSV", _download(*key, "csv"), f"{stem}.csv", "text/csv", key="dl_csv")
        d3.download_button("下载 GeoJSON", _download(*key, "geojson"), f"{stem}.geojson", "application/geo+json",
                           key="dl_geojson")
        d4.download_button("下载 GeoPackage", _download(*key, "gpkg"), f"{stem}.gpkg", "application/geopackage+sqlite3",
                           key="dl_gpkg", help="GIS 软件（QGIS 等）用：字段带中文别名，清单说明写在元数据中")
    st.caption(f"命令行：`python -m geo buffer --distance {distance:g} --layers {','.join(layers)} "
               f"--as-of {as_of:%Y-%m-%d} --out {stem}.xlsx`")  # code to copy, shown as code
