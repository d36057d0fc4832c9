"""总览 /: the overview map of every layer over the townships, on any date."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from geo import contract, fmt, progress, water
from geo.contract import LAYER_LABELS, SITE_LAYERS, status_label
from geo.spatial import with_township
from layers import mapview
from layers.overview import ALL_LAYERS, max_points, overview_map, points_to_draw

st.title("总览 · 生态整治一张图")

#: What the map is drawn from (its cache is kept while other tables change).
MAP_TABLES = ("townships", "rivers", "waterbodies", "sampling_points", "readings", *SITE_LAYERS,
              "status_events")
# Small tables whole; the sites come from the database as they stood on the date (ui.status_snapshot), and
# whole site rows and their histories only for the sites a map draws one by one.
frames = ui.load_many("townships", "rivers", "waterbodies", "sampling_points", "meta")
c1, c2, c3 = st.columns([1, 2, 3])
with c1:
    as_of = ui.as_of_input("截至日期（按状态记录回放）")
with c2:
    towns = st.multiselect("乡镇（街道）", frames["townships"]["name"].tolist(), placeholder="全区")
with c3:
    names = {"townships": "乡镇边界", "water": "河流水库", "enterprises": "企业", "kilns": "石灰窑（棚）",
             "farms": "养殖场", "sampling_points": "水质监测点"}
    chosen = st.pills("图层", list(ALL_LAYERS), default=list(ALL_LAYERS), selection_mode="multi",
                      format_func=names.get, key="layers")


@st.cache_data(show_spinner=False, max_entries=4)
def _points(version: str) -> pd.DataFrame:
    """The sampling points with their township (one spatial join per data version)."""
    return with_township(frames["sampling_points"], frames["townships"])


def _drawn_sites(snap: dict, towns: tuple, layers: tuple) -> tuple[dict, pd.DataFrame]:
    """Whole rows of the sites drawn one by one (those of the chosen townships), with the status of the date,
    and their events up to the date (the popups' history): read for these sites only."""
    store = ui.get_store()
    sites, events = {}, []
    for layer in SITE_LAYERS:
        s = snap[layer]
        if towns:
            s = s[s["township"].isin(towns)]
        if layer not in layers or not len(s):
            sites[layer] = s
            continue
        ids = s["id"].astype(str).tolist()
        rows = store.read(layer, where={"id": ids})
        status = dict(zip(s["id"], s["status"]))  # the status on the date (the row holds today's)
        rows = rows[rows["id"].isin(status)].copy()
        rows["status"] = rows["id"].map(status)
        rows["township"] = rows["id"].map(dict(zip(s["id"], s["township"])))
        sites[layer] = rows
        events.append(store.read("status_events", where={"layer": [layer], "feature_id": ids}))
    events = [e for e in events if len(e)]
    ev = pd.concat(events, ignore_index=True) if events else contract.empty("status_events")
    return sites, ev[ev["effective_on"] <= pd.Timestamp(snap[progress.SNAPSHOT])]


@st.cache_data(show_spinner=False, max_entries=32)
def _water_classes(version: str, as_of) -> pd.DataFrame | None:
    """The latest class of each sampling point on the date, for the map's popups (none without readings)."""
    points = frames["sampling_points"]
    # only each point's last sampling day up to the date, read by the database (never the whole table)
    ids = tuple(points["id"].astype(str))
    readings = ui.readings_query("latest_sampling", as_of, ids)
    if not len(readings) and not len(ui.readings_query("latest_sampling", None, ids)):
        return None  # a store without readings: no classes at all (points before their first sampling: 无数据)
    return water.latest_assessment({"sampling_points": points, "readings": readings}, as_of=as_of)


@st.cache_data(show_spinner="正在生成地图…", max_entries=32)
def _map_html(version: str, as_of, towns: tuple, layers: tuple) -> tuple[str, int, bool]:
    """The map's HTML, how many points the chosen layers hold, and whether they are drawn per township."""
    snap = ui.status_snapshot(as_of)
    points = _points(version)
    sites = {layer: snap[layer] for layer in SITE_LAYERS}
    n = points_to_draw(sites, points, township=list(towns), layers=layers)
    events = None
    if n <= max_points():
        sites, events = _drawn_sites(snap, towns, layers)
    classes = _water_classes(version, as_of) if "sampling_points" in layers else None
    base = {"townships": frames["townships"], "rivers": frames["rivers"], "waterbodies": frames["waterbodies"],
            "sampling_points": points}
    m = overview_map(base, sites=sites, events=events, township=list(towns), layers=layers,
                     height=640, water_classes=classes)
    return mapview.to_html(m), m.qs_points, m.qs_aggregated


html, n_points, aggregated = _map_html(ui.data_version(*MAP_TABLES), as_of, tuple(towns), tuple(chosen or ()))
if aggregated:
    st.info(f"所选范围共有 {n_points:,} 个点位，超过单张地图可清晰显示的 {max_points():,} 个：企业、石灰窑、养殖场按乡镇（街道）"
            "汇总显示，符号大小和数字为点位数，颜色为已完成比例。在上方“乡镇（街道）”中选择乡镇后显示各个点位。")
mapview.show(html, height=640)
if frames["townships"].get("approximate", pd.Series([False])).fillna(False).any():
    st.caption("注：乡镇（街道）边界为按驻地生成的示意边界，仅供演示，须以官方边界替换。")

# Counts under the map: what the map shows, in numbers (geo.progress's counts, cached like the map).
@st.cache_data(show_spinner=False, max_entries=32)
def _status_table(version: str, as_of, towns: tuple) -> pd.DataFrame:
    c = progress.counts(ui.status_snapshot(as_of), as_of)  # statuses on the date replayed by the database
    if towns:
        c = c[c["township"].isin(towns)]
    c = c.assign(图层=c["layer"].map(LAYER_LABELS),
                 状态=[status_label(s, layer) for s, layer in zip(c["status"], c["layer"])])
    return c.pivot_table(index="图层", columns="状态", values="count", fill_value=0, aggfunc="sum")


table = _status_table(ui.data_version(*ui.SNAPSHOT_TABLES), as_of, tuple(towns))
if len(table):
    st.subheader(f"{fmt.date_zh(as_of)} 各类点位状态")
    st.dataframe(table, width="stretch")
