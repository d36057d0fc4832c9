"""数据 /data: ledger import, field status updates, downloads.

Reading and downloading need no login; writes need an account (the sidebar's
login box, ``login_ui.py``): inspectors record status changes, planners and
admins also import ledgers.
Every user-provided string is shown through ``st.dataframe``/``st.text`` or
escaped (``_md``); uploads are size-limited and written to temporary files
this page names, so nothing from the browser becomes a path.

A ledger import shows its report (findings; every row new / updated with old →
new / unchanged) and a preview; stored sites are changed only when 更新已有点位
is ticked. 确认导入 prepares the import again from the uploaded bytes against the
store as it is then (``intake.commit_if_unchanged``) and writes only if that is
the preview on screen; otherwise it says the data changed and shows the new one.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import io
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import streamlit as st

import casework_ui as cw
import search_ui
import login_ui
import ui
from geo import auth, intake
from geo.io import cells
from geo.contract import LAYER_LABELS, SITE_LAYERS, STATUS, TABLES, status_label
from geo.crs import DATUM_LABELS, DATUMS
from geo.datecheck import latest_allowed
from geo.errors import GeoError, LimitError
from geo.history import history_of
from geo.io.limits import Limits
from layers import mapview, overview, townships
from login_ui import login_box

UPLOAD_TYPES = ["xlsx", "xlsm", "xls", "csv", "txt", "geojson", "json", "zip", "gpkg", "kml", "kmz", "gpx"]
IGNORE = "（忽略）"


def _max_mb() -> int:
    """The upload widget's limit in whole MB ([limits] max_upload_mb); the exact limit is checked on the bytes."""
    return max(1, math.ceil(Limits.current().max_upload_mb))


def _too_large(data: bytes) -> bool:
    """Show the bilingual limit message and say so when an upload is over ``max_upload_mb``."""
    try:
        Limits.current().check_upload(len(data))
    except LimitError as exc:
        cw.show_error(exc)
        return True
    return False


def _md(text) -> str:
    """``text`` safe inside Streamlit markdown (:func:`ui.md_escape`: markdown, HTML, math, links)."""
    return ui.md_escape(text)


# --- import ---------------------------------------------------------------------------------

@st.cache_data(show_spinner="正在读取文件…", max_entries=4)
def _read_upload(data: bytes, suffix: str, name: str, sheet: str, layer: str) -> intake.Ledger:
    # The file name the browser sent is only used for its (allow-listed) suffix and as a label.
    with tempfile.TemporaryDirectory(prefix="qingshan-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        return intake.read_ledger(path, sheet=sheet or None, layer=layer, name=f"upload{suffix}")


def _sample(series: pd.Series) -> str:
    for v in series:
        if not cells.blank(v):
            return str(v)[:40]
    return ""


def _mapping_editor(ledger: intake.Ledger, layer: str) -> dict[str, str]:
    auto = intake.auto_mapping(ledger.frame.columns, layer)
    targets = intake.fields_of(layer)
    label_of = {t: f"{intake.field_label(layer, t)}（{t}）" for t in targets}
    target_of = {v: k for k, v in label_of.items()}
    table = pd.DataFrame({
        "文件列": list(ledger.frame.columns),
        "示例": [_sample(ledger.frame[c]) for c in ledger.frame.columns],
        "对应字段": [label_of.get(auto.get(c), IGNORE) for c in ledger.frame.columns],
    })
    edited = st.data_editor(
        table, hide_index=True, width="stretch", key=f"mapping_{layer}_{len(table)}",
        disabled=["文件列", "示例"],
        column_config={"对应字段": st.column_config.SelectboxColumn(
            "对应字段", options=[IGNORE] + list(label_of.values()), required=True)})
    return {c: target_of[t] for c, t in zip(edited["文件列"], edited["对应字段"]) if t in target_of}


def _preview(result: intake.Intake, layer: str) -> None:
    rows = result.rows
    if len(rows) == 0 or TABLES[layer].geometry != "Point":
        return
    module = importlib.import_module(f"layers.{layer}")
    tw = ui.load("townships")
    from geo.spatial import with_township

    m = mapview.new_map(rows.total_bounds if len(rows) > 1 else tw.total_bounds, height=420)
    townships.add_to(m, tw, labels=False)
    shown = with_township(rows, tw)
    new = set(result.new_ids)
    if layer in SITE_LAYERS:
        module.add_to(m, shown, highlight=[i in new for i in shown["id"]])
    else:
        module.add_to(m, shown)
    st.caption("预览：将写入的点位（高亮为新增；不变的点位不写入）")
    mapview.show(m, height=420)


def import_tab(account: auth.Account | None) -> None:
    if not auth.can(account, "import"):
        st.info("导入台账需要以规划员或管理员身份登录（左侧边栏）。")
        return
    c1, c2, c3 = st.columns([1, 1, 1])
    layer = c1.selectbox("导入到图层", intake.IMPORT_LAYERS, format_func=lambda t: LAYER_LABELS[t], key="imp_layer",
                         placeholder="选择图层")
    # No default datum: a ledger copied from a phone map (GCJ-02) lies ~580 m from where WGS84 puts it.
    datum = c2.selectbox("坐标系（必选）", DATUMS, index=None, format_func=DATUM_LABELS.get, key="imp_datum",
                         placeholder="请选择台账坐标的坐标系")
    sheet = c3.text_input("工作表 / 图层（名称或序号，留空取第一个）", key="imp_sheet", max_chars=100)
    st.caption("提示：从手机地图（高德、腾讯）、奥维、两步路抄录或导出的坐标多为 GCJ-02，在本区与 WGS84 相差约 580 米，"
               "超过河岸缓冲距离的两倍；百度地图坐标为 BD-09。官方测绘数据为 CGCS2000；高斯-克吕格米制坐标（X/Y）"
               "按数值自动识别投影带。GeoJSON、shapefile、GeoPackage 自带坐标系。")
    uploaded = st.file_uploader(f"台账文件（xlsx、xls、csv、geojson、zip 压缩的 shapefile、gpkg、kml/kmz、gpx；"
                                f"不超过 {_max_mb()} MB）",
                                type=UPLOAD_TYPES, max_upload_size=_max_mb(), key="imp_file")
    if uploaded is None:
        return
    data = uploaded.getvalue()
    if _too_large(data):
        return
    suffix = Path(uploaded.name or "").suffix.lower()
    if suffix.lstrip(".") not in UPLOAD_TYPES:
        st.error("不支持的文件类型。")
        return
    try:
        ledger = _read_upload(data, suffix, uploaded.name, sheet.strip(), layer)
    except intake.IntakeError as exc:
        cw.show_error(exc)
        return
    ledger.source = uploaded.name or ledger.source  # shown in the event note, as text
    st.text(f"读取 {len(ledger.frame)} 行" + (f"，编码 {ledger.encoding}" if ledger.encoding else "")
            + (f"，工作表/图层 {ledger.sheet}" if ledger.sheet else ""))
    for note in ledger.notes:
        st.caption(_md(note))
    st.markdown("**列对应关系**（可修改）")
    mapping = _mapping_editor(ledger, layer)
    st.download_button("下载列对应（命令行 --map-file 可用）", json.dumps(mapping, ensure_ascii=False, indent=1),
                       file_name="列对应.json", mime="application/json", key="imp_map_dl")
    o1, o2, o3 = st.columns([1, 1, 1])
    update_existing = o1.checkbox(
        "更新已有点位", value=False, key="imp_update",
        help="不勾选时，只要有一行会修改库中已有的点位（报告中“更新”的行），整个台账都不写入；"
             "勾选后按报告中列出的原值 → 新值修改这些点位。")
    skip_bad_rows = o2.checkbox(
        "只导入无误的行", value=False, key="imp_skip",
        help="不勾选时，有一行出错整个台账都不写入；勾选后跳过出错的行（均列在报告中，级别“已跳过”），其余照常导入。")
    confirm_datum = o3.checkbox(
        "确认坐标系无误", value=False, key="imp_confirm_datum",
        help="数据提示坐标可能是另一坐标系（例如库中已有点位相距约 580 米）时，导入会被拒绝；"
             "核实所选坐标系无误后勾选此项。")
    gk_zone = st.text_input("高斯-克吕格投影带（坐标为米制且无法从数值判断带号时填写，如 3:40、6:20 或 cm:120）",
                            key="imp_gk_zone", max_chars=12).strip() or None
    options = {"mapping": mapping, "datum": datum, "user": account.name, "update_existing": update_existing,
               "skip_bad_rows": skip_bad_rows, "confirm_datum": confirm_datum, "gk_zone": gk_zone}
    # What the preview depends on besides the store: the file's bytes and every choice on the page.
    inputs = hashlib.sha256(data + repr((suffix, sheet.strip(), layer, sorted(mapping.items()), datum,
                                          update_existing, skip_bad_rows, confirm_datum, gk_zone,
                                          account.name)).encode("utf-8")).hexdigest()
    shown = st.session_state.get("imp_shown")  # (inputs, fingerprint) of the preview on screen
    store = ui.get_store()
    notice = None
    try:
        if st.session_state.get("imp_commit") and shown and shown[0] == inputs and shown[1]:
            # 确认导入: prepare again from the file's bytes against the store as it is now, and write
            # only what the user saw; a store that changed under the preview gets the new preview.
            result, written = intake.commit_if_unchanged(store, ledger, layer, shown[1], **options)
            if written:
                st.session_state.pop("imp_shown", None)
                st.session_state["imp_done"] = result.summary()
                st.rerun()
            notice = ("导入预览之后，库中数据已被修改（有其他写入），未写入任何数据。下面是按当前数据重新生成的预览，"
                      "请核对后再次确认导入。",
                      "The data changed after the preview (another write); nothing was written. Below is the "
                      "preview against the current data: check it and confirm again.")
        else:
            if st.session_state.get("imp_commit"):
                notice = ("导入设置已更改，未写入任何数据；请核对新的预览后再次确认导入。",
                          "The import settings changed; nothing was written: check the new preview and confirm again.")
            result = intake.prepare_for_store(store, ledger, layer, **options)
    except (GeoError, intake.IntakeError) as exc:  # a bad file, or a store failure: nothing was written
        cw.show_error(exc)
        return
    if notice:
        st.warning(f"{_md(notice[0])}  \n{_md(notice[1])}")
    if result.suggested_datum and result.suggested_datum != datum:
        st.warning(f"数据提示坐标可能是 {_md(DATUM_LABELS[result.suggested_datum])}（详见校验报告）："
                   f"请核对“坐标系”的选择。")
    (st.success if result.ok else st.error)(_md(result.summary()))
    if result.problems:
        st.markdown("**校验报告**")
        st.dataframe(result.report(), hide_index=True, width="stretch")
    if result.changes:
        st.markdown("**导入内容**（新增 / 更新 / 不变；更新列出原值 → 新值）")
        st.dataframe(result.changes_report(), hide_index=True, width="stretch")
    _preview(result, layer)
    st.session_state["imp_shown"] = (inputs, result.fingerprint() if result.ok else None)
    # Its click is handled above, on the next run, against the preview kept in imp_shown.
    st.button("确认导入", type="primary", disabled=not result.ok, key="imp_commit")
    if st.session_state.get("imp_done"):
        st.success("已导入：" + _md(st.session_state.pop("imp_done")))


# --- status updates -------------------------------------------------------------------------

def _nearest(sites: pd.DataFrame, lon: float, lat: float, limit_m: float = 300.0) -> str | None:
    """The site id nearest a map click, within ``limit_m`` metres (measured in a local metric CRS)."""
    from geo.crs import local_tm

    if len(sites) == 0:
        return None
    pts = sites.to_crs(local_tm(lon, lat))
    d = shapely.distance(pts.geometry.values, shapely.Point(0, 0))
    k = int(np.nanargmin(d))
    return str(sites["id"].iloc[k]) if d[k] <= limit_m else None


#: The most status events shown for one site (the latest).
HISTORY_ROWS = 200


@st.cache_data(show_spinner=False, max_entries=16)
def _count(spec: str, version: str, table: str) -> int:
    return ui.get_store().count(table)


@st.cache_data(show_spinner=False, max_entries=16)
def _sites_in(spec: str, version: str, layer: str, township: str) -> pd.DataFrame:
    """``layer``'s sites inside one township: a bounding-box read on the spatial index, then the polygon."""
    tw = ui.load("townships")
    poly = tw.loc[tw["name"] == township, "geometry"]
    if poly.empty:
        return ui.get_store().read(layer, where={"id": []})
    df = ui.get_store().read_bbox(layer, poly.total_bounds)
    return df[shapely.intersects(shapely.union_all(poly.values), df.geometry.values)] if len(df) else df


def status_tab(account: auth.Account | None) -> None:
    if not auth.can(account, "status_update"):
        st.info("状态更新需要以巡查员、规划员或管理员身份登录（左侧边栏）。")
        return
    layer = st.selectbox("图层", SITE_LAYERS, format_func=lambda t: LAYER_LABELS[t], key="upd_layer", placeholder="选择图层")
    store = ui.get_store()
    total = _count(ui.default_spec(), ui.data_version(layer), layer)
    if total == 0:
        st.info("该图层没有点位。")
        return
    # Sites are found by a search in the database (issue 13): the chooser lists the matches, never every site.
    labels = st.session_state.setdefault(f"upd_labels_{layer}", {})
    query = search_ui.search_box("搜索点位（名称或编号）", key=f"upd_q_{layer}")
    matches = search_ui.search(query, layers=(layer,))
    labels.update({i: f"{i} · {n}" for i, n in zip(matches["id"], matches["name"])})
    picked = st.session_state.get(f"upd_pick_{layer}")
    with st.expander("在地图上点选点位"):
        tw = ui.load("townships")
        limit = overview.max_points()
        shown = None
        if total <= limit:
            shown = ui.load(layer)
        else:
            st.caption(f"共 {total:,} 处点位，超过地图一次显示的上限 {limit:,} 处：请先选择乡镇。"
                       f" {total:,} sites, more than one map shows ({limit:,}): choose a township first.")
            town = st.selectbox("乡镇（街道）", tw["name"].tolist(), index=None, placeholder="先选择乡镇",
                                key=f"upd_town_{layer}")
            if town:
                shown = _sites_in(ui.default_spec(), ui.data_version("townships", layer), layer, town)
                if len(shown) > limit:
                    st.warning(f"该乡镇有 {len(shown):,} 处点位，超过地图上限：请用搜索框查找。"
                               " Too many sites in this township for one map: search instead.")
                    shown = None
        if shown is not None:
            m = mapview.new_map(tw.total_bounds, height=420)
            townships.add_to(m, tw, labels=False)
            importlib.import_module(f"layers.{layer}").add_to(m, shown)
            props = mapview.pick(m, height=420, key=f"upd_map_{layer}")
            if props:
                ids = set(shown["id"])
                fid = props.get("id") if props.get("id") in ids else None
                if fid is None and "lat" in props:
                    fid = _nearest(shown, float(props["lng"]), float(props["lat"]))
                if fid and fid != picked:
                    labels[fid] = f"{fid} · {shown.set_index('id').loc[fid, 'name']}"
                    st.session_state[f"upd_pick_{layer}"] = fid
                    st.session_state[f"upd_site_{layer}"] = fid
    search_ui.caption_for(matches, query)
    # a new search offers its matches (the best first, chosen); the site chosen before or clicked on the map stays
    # offered while the search box is empty or it was the click
    current = st.session_state.get(f"upd_site_{layer}")
    keep = current in labels and (not query.strip() or current == st.session_state.get(f"upd_pick_{layer}"))
    options = list(dict.fromkeys(([current] if keep else []) + matches["id"].tolist()))
    if not options:
        st.info("没有找到点位：请换一个名称或编号搜索。")
        return
    fid = st.selectbox("点位（编号 · 名称）", options, format_func=lambda i: labels.get(i, i), key=f"upd_site_{layer}",
                       placeholder="选择点位")
    found = store.read(layer, where={"id": [fid]})
    if not len(found):
        st.info("该点位已不在库中，请重新搜索。")
        return
    site = found.iloc[0]
    st.text(f"当前状态：{status_label(site['status'], layer)}")
    with st.form(f"upd_form_{layer}", clear_on_submit=True):
        codes = list(STATUS[layer])
        status = st.selectbox("新状态", codes, format_func=lambda s: status_label(s, layer), key="upd_status",
                              placeholder="选择新状态")
        effective = st.date_input("生效日期", value=min(dt.date.today(), max(ui.report_date(), dt.date(2000, 1, 1))),
                                  min_value=dt.date(2000, 1, 1), max_value=latest_allowed(ui.get_store()),
                                  key="upd_date")
        note = st.text_area("备注（现场情况）", max_chars=500, key="upd_note")
        submitted = st.form_submit_button("记录状态", type="primary")
    if submitted:
        from geo.updates import update_status

        try:
            res = update_status(ui.get_store(), layer, fid, status, effective, note, account.name)
        except GeoError as exc:
            cw.show_error(exc)
        else:
            msg = f"已记录 {res.feature_id}：{status_label(res.event['status'], layer)}"
            if not res.changed_current and res.previous != res.event["status"]:
                msg += f"（生效日期早于最近的记录，当前状态仍为{status_label(res.current, layer)}）"
            st.session_state["upd_done"] = msg
            st.rerun()
    if st.session_state.get("upd_done"):
        st.success(_md(st.session_state.pop("upd_done")))
    # one site's events, read by the database's filter (not the whole events table)
    hist = history_of(store.read("status_events", where={"layer": [layer], "feature_id": [fid]}), layer, fid)
    st.markdown("**状态记录**")
    if len(hist) == 0:
        st.text("暂无状态记录。")
    else:
        if len(hist) > HISTORY_ROWS:
            st.caption(f"共 {len(hist):,} 条，显示最近 {HISTORY_ROWS} 条。")
            hist = hist.tail(HISTORY_ROWS)
        shown = hist.assign(status=[status_label(s, layer) for s in hist["status"]])
        shown = shown[["effective_on", "status", "note", "recorded_by", "recorded_at"]]
        st.dataframe(shown.rename(columns={c.name: c.label for c in TABLES["status_events"].columns}),
                     hide_index=True, width="stretch",
                     column_config={"生效日期": st.column_config.DateColumn(format="YYYY-MM-DD"),
                                    "录入时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})


# --- water lab files (geo.water, written by another feature) ---------------------------------

def water_tab(account: auth.Account | None) -> None:
    """Lab results (点位, 采样时间, 指标, 数值, 单位): checked row by row, written all or nothing."""
    from geo.intake import lab as labfile

    if not auth.can(account, "import"):
        st.info("导入监测数据需要以规划员或管理员身份登录。")
        return
    uploaded = st.file_uploader(f"实验室监测报告（xlsx、csv；不超过 {_max_mb()} MB）", type=["xlsx", "csv"],
                                max_upload_size=_max_mb(), key="lab_file")
    if uploaded is None:
        st.caption("列：点位/监测点、采样时间、指标/项目、数值/结果、单位（可选：检出限）。"
                   "低于检出限写作 <0.01、0.01L 或 ND（须有检出限列）；µg/L 自动换算为 mg/L。")
        return
    data = uploaded.getvalue()
    suffix = Path(uploaded.name or "").suffix.lower()
    if _too_large(data):
        return
    if suffix not in (".xlsx", ".csv"):
        st.error("文件类型不支持（xlsx、csv）。")
        return
    store = ui.get_store()
    try:
        readings, problems = labfile.parse_lab_file(io.BytesIO(data), store, name=uploaded.name)
    except (GeoError, ValueError) as exc:  # a ValueError from a decoder: 操作失败, its text small
        cw.show_error(exc)
        return
    errors = [p for p in problems if p.severity == "error"]
    if problems:
        st.warning(f"发现 {len(errors)} 处错误、{len(problems) - len(errors)} 处提示；有错误时不会写入任何数据。")
        st.dataframe(labfile.problems_frame(problems), hide_index=True, width="stretch")
    if len(readings):
        st.dataframe(readings.head(200), hide_index=True, width="stretch")
    if st.button("导入监测数据", type="primary", disabled=bool(errors) or not len(readings), key="lab_commit"):
        try:
            imported, problems, written = labfile.import_lab_file(store, io.BytesIO(data), name=uploaded.name,
                                                                  user=account.name)  # who, on every reading
        except Exception as exc:  # noqa: BLE001 - shown to the user, nothing was written
            cw.show_error(exc)  # a GeoError in its two languages; anything else: 操作失败，未写入任何数据
        else:
            if written:
                st.success(f"已导入 {len(imported)} 条监测数据。")
            else:
                st.error("未写入任何数据：文件中有错误。")


# --- downloads ------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=16)
def _xlsx(version: str, table: str, who: str, personal: bool = False) -> bytes:
    from geo.export import layer_meta, layer_xlsx

    df = ui.get_store().read(table)
    as_of = ui.report_date()
    return layer_xlsx(df, table, meta=layer_meta(table, len(df), as_of=as_of, data_version=version, generated_by=who),
                      personal=personal)


def downloads_tab() -> None:
    from geo.export import store_gpkg_bytes

    store = ui.get_store()
    stamp = ui.report_date().strftime("%Y%m%d")
    # complainants' names only for signed-in accounts (geo.export.PERSONAL_COLUMNS); part of the cache key
    personal = login_ui.personal_data_allowed()
    # The whole store is built on each click (a temporary file read once: one copy of its bytes in memory,
    # 300 MB with the attachments), so only for signed-in accounts, never for any anonymous visitor.
    if login_ui.current_account() is None:
        st.info("下载全部数据（GeoPackage）需要登录（左侧边栏）；各图层的 xlsx 表格无需登录即可下载。")
    else:
        st.download_button("下载全部数据（GeoPackage）", data=lambda: store_gpkg_bytes(store, personal=personal),
                           file_name=f"青山数据_{stamp}.gpkg", mime="application/geopackage+sqlite3", key="dl_gpkg")
        st.caption("GeoPackage 可在 QGIS、ArcGIS 中直接打开；坐标为 WGS84 / CGCS2000 经纬度。")
    version = ui.data_version()
    cols = st.columns(3)
    who = login_ui.generated_by()
    for k, table in enumerate(t for t in TABLES if t != "meta" and t in store.tables()):
        cols[k % 3].download_button(f"{LAYER_LABELS[table]}（xlsx）",
                                    data=lambda t=table: _xlsx(version, t, who, personal),
                                    file_name=f"{LAYER_LABELS[table]}_{stamp}.xlsx", key=f"dl_{table}",
                                    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    st.caption("表头为中文，状态为中文；企业、窑（棚）、养殖场的表格可修改后直接重新导入。乡镇边界、河流、水库的几何"
               "仅在 GeoPackage 中。" + ("" if personal else "信访投诉的投诉人姓名等个人信息仅登录后可下载。"))


# --- page -----------------------------------------------------------------------------------

st.title("数据 · 台账导入与状态更新")
account = login_box()
names = ["导入台账", "状态更新", "水质数据", "下载"]
tabs = dict(zip(names, st.tabs(names)))
with tabs["导入台账"]:
    import_tab(account)
with tabs["状态更新"]:
    status_tab(account)
with tabs["水质数据"]:
    water_tab(account)
with tabs["下载"]:
    downloads_tab()
