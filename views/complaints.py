"""信访投诉 /complaints: figures, alarms (sensitive first), the unplaced (未定位) list, the list with links to
site files, and entry.

Reading needs no login; recording a complaint, importing a register, placing an unplaced complaint and
marking one handled need a planner or admin account, and every write records who. The complainant's name
(personal data, ``geo.export.PERSONAL_COLUMNS``) is listed for signed-in accounts only (``geo.auth``
action ``personal_data``); anonymous readers see the complaints without it.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

import casework_ui as cw
import ui
from geo import auth, fmt
from geo import complaints as C
from geo.contract import CATEGORY_LABELS, CHANNEL_LABELS
from geo.crs import DATUM_LABELS, DATUMS
from geo.errors import GeoError
from geo.io.limits import Limits
from geo.store import StoreError
from layers import complaints as complaints_layer
from layers import mapview, townships
from layers.base import Legend
from layers.localise import upload_mb

REFUSED = (GeoError, StoreError)

st.title("信访投诉")
acc = cw.login_box()
day = ui.as_of_input("截至日期", key="cw_c_day")
c = ui.load("complaints")
year_start = pd.Timestamp(day.year, 1, 1)
f = C.figures(c, ui.load("townships"), start=year_start, end=pd.Timestamp(day))

cols = st.columns(4)
cols[0].metric("受理", f["received"])
cols[1].metric("办结", f["handled"])
cols[2].metric("按期办结", f["on_time"])
cols[3].metric("按期办结率", "—" if f["on_time_rate"] is None else f"{f['on_time_rate'] * 100:.0f}%")
st.caption(f"{day.year}年1月1日至{fmt.date_zh(day)}受理；上级转办 {f['forwarded']} 件（省 {f['by_channel']['province']}、"
           f"市 {f['by_channel']['city']}、区 {f['by_channel']['district']}），直接受理 {f['direct']} 件；"
           f"敏感件 {f['sensitive']} 件，当日查处 {f['sensitive_same_day']} 件。")


@st.cache_data(show_spinner="正在生成地图…", max_entries=16)
def _map_html(version: str, day: dt.date) -> tuple[str, dict]:
    """Complaints of the year to ``day`` and any still open from before, as pins over the townships."""
    c = ui.load("complaints")
    state = C.handling_state(c, day)
    keep = state.notna() & ((c["received_on"] >= pd.Timestamp(day.year, 1, 1)) | (state != "handled"))
    shown = c[keep].assign(state=state[keep])
    counts = shown["state"].value_counts().to_dict()
    tw = ui.load("townships")
    m = mapview.new_map(tw.total_bounds if len(tw) else None, height=460)
    townships.add_to(m, tw)
    complaints_layer.add_to(m, shown)
    Legend("办理状态", complaints_layer.legend_items(counts)).add_to(m)
    return mapview.to_html(m), counts


alarms = C.alarms(c, day)
col_map, col_alarm = st.columns([1.2, 1])
with col_map:
    st.subheader("投诉分布")
    html_map, counts = _map_html(ui.data_version(), day)
    mapview.show(html_map, height=460)
    n_loose = int(C.is_unplaced(c).sum())
    st.caption("、".join(f"{C.STATE_LABELS[k]} {int(counts.get(k, 0))} 件" for k in C.STATE_LABELS) +
               "（黑圈为敏感件；点击查看详情和关联点位档案）" +
               (f"；另有 {n_loose} 件未定位，不在图上（见下方“未定位”）" if n_loose else ""))
with col_alarm:
    st.subheader("告警（敏感件优先）")
    if len(alarms):
        shown = C.labelled(alarms, day)
        shown.insert(0, "告警", alarms["alarm_label"].to_numpy())
        st.dataframe(shown, hide_index=True, width="stretch")
    else:
        st.success("没有超期或今日到期的投诉。")


def _place_ui(loose: pd.DataFrame, user: str) -> None:
    """Place one unplaced complaint: a click on the map fills in its WGS84 coordinates, or type them with
    their datum (a phone map's GCJ-02, Baidu's BD-09 …); saved with who placed it."""
    ids = loose["编号"].tolist()
    about = dict(zip(ids, [a or s[:30] for a, s in zip(loose["地址"], loose["投诉内容"])]))
    cid = st.selectbox("要定位的投诉", ids, format_func=lambda i: f"{i} · {about.get(i, '')}", key="cw_p_id",
                       placeholder="选择投诉")
    st.caption(f"地址：{cw.md(about.get(cid, '') or '（无）')}")
    with st.expander("在地图上点选位置（点击处的经纬度为 WGS84，填入下方）"):
        tw = ui.load("townships")
        m = mapview.new_map(tw.total_bounds if len(tw) else None, height=380)
        townships.add_to(m, tw)
        at = mapview.click(m, height=380, key="cw_p_map")
        if at and at != st.session_state.get("cw_p_clicked"):
            # a new click fills the fields (before they are drawn below); typing afterwards is kept
            st.session_state["cw_p_clicked"] = at
            st.session_state["cw_p_lon"], st.session_state["cw_p_lat"] = f"{at[0]:.6f}", f"{at[1]:.6f}"
            st.session_state["cw_p_datum"] = "wgs84"
    with st.form("cw_place"):
        lon = st.text_input("经度", key="cw_p_lon", max_chars=30)
        lat = st.text_input("纬度", key="cw_p_lat", max_chars=30)
        datum = st.selectbox("坐标系", DATUMS, format_func=DATUM_LABELS.get, key="cw_p_datum", placeholder="选择坐标系")
        if st.form_submit_button("保存位置"):
            try:
                point = C.place(ui.get_store(), cid, lon, lat, datum=datum, user=user)
                st.session_state["cw_p_done"] = f"已定位 {cid}：{point.x:.6f}, {point.y:.6f}（WGS84），定位人 {user}"
                st.rerun()  # the list, the map and the figures now count it where it is
            except REFUSED as exc:
                cw.show_error(exc)


loose = C.unplaced(c, day)
done = st.session_state.pop("cw_p_done", None)
if done:
    st.success(cw.md(done))
if len(loose):
    st.subheader(f"未定位（{len(loose)} 件）")
    st.caption("登记簿只给了地址、没有经纬度或关联点位的投诉：不在地图上、不计入乡镇统计，标注位置后即显示。")
    st.dataframe(loose[["编号", "受理日期", "来源渠道", "污染类别", "投诉内容", "地址", "承办单位", "办理状态"]],
                 hide_index=True, width="stretch")
    if acc is not None and auth.can(acc, "casework"):
        _place_ui(loose, acc.name)
    else:
        st.caption("规划或管理账号登录后可标注位置。")

tab_list, tab_fig, tab_add = st.tabs(["投诉列表", "分类统计", "登记与导入"])
with tab_list:
    rows = c.sort_values("received_on", ascending=False)
    table = C.labelled(rows, day)
    if auth.can(acc, "personal_data") and "complainant" in rows.columns:
        table.insert(1, "投诉人", rows["complainant"].astype(object).where(rows["complainant"].notna(), "").to_numpy())
    table["一企一档"] = [cw.site_link(lay, fid) if isinstance(fid, str) else None
                     for lay, fid in zip(rows["layer"], rows["feature_id"])]
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"一企一档": st.column_config.LinkColumn("一企一档", display_text="查看档案")})
with tab_fig:
    a, b = st.columns(2)
    a.write("按来源渠道")
    a.dataframe(pd.DataFrame({"来源渠道": [CHANNEL_LABELS[k] for k in f["by_channel"].index],
                              "件数": f["by_channel"].to_numpy()}), hide_index=True)
    b.write("按乡镇")
    b.dataframe(f["by_township"].rename_axis("乡镇").reset_index(name="件数"), hide_index=True)
    st.write("按月")
    st.dataframe(pd.DataFrame({"月份": [str(p) for p in f["by_month"].index], "件数": f["by_month"].to_numpy()}),
                 hide_index=True)
with tab_add:
    if cw.may(acc, "casework"):
        with st.form("cw_complaint"):
            st.write("登记一件投诉")
            received = st.date_input("受理日期", value=day, key="cw_c_received")
            channel = st.selectbox("来源渠道", list(CHANNEL_LABELS), format_func=CHANNEL_LABELS.get, key="cw_c_channel",
                                   placeholder="选择来源渠道")
            category = st.selectbox("污染类别", list(CATEGORY_LABELS), format_func=CATEGORY_LABELS.get,
                                    key="cw_c_category", placeholder="选择污染类别")
            summary = st.text_area("投诉内容", max_chars=C.MAX_SUMMARY, key="cw_c_summary")
            due = st.date_input("办结期限", value=day + dt.timedelta(days=C.due_days()), key="cw_c_due")
            sensitive = st.checkbox("敏感件（当日查处）", key="cw_c_sensitive")
            site = st.text_input("关联点位（编号或名称，可空）", key="cw_c_site", max_chars=80)
            address = st.text_input("地址（只有地址时可先保存，稍后在“未定位”中标注位置）", key="cw_c_address",
                                    max_chars=C.MAX_ADDRESS)
            lon = st.text_input("经度（无关联点位、地址时必填）", key="cw_c_lon", max_chars=30)
            lat = st.text_input("纬度", key="cw_c_lat", max_chars=30)
            datum = st.selectbox("坐标系", DATUMS, format_func=DATUM_LABELS.get, key="cw_c_datum", placeholder="选择坐标系")
            if st.form_submit_button("保存投诉"):
                try:
                    cid = C.create(ui.get_store(), dict(received_on=received, channel=channel, category=category,
                                                        summary=summary, due_on=due, sensitive=sensitive,
                                                        site=site or None, lon=lon or None, lat=lat or None,
                                                        address=address or None),
                                   user=acc.name, datum=datum)
                    st.success(f"已保存：{cw.md(cid)}")
                except REFUSED as exc:
                    cw.show_error(exc)
        st.write("导入信访登记簿（xlsx / csv）")
        up = st.file_uploader("登记簿", type=["xlsx", "csv"], key="cw_c_upload",
                              max_upload_size=upload_mb(Limits.current().max_upload_bytes))
        datum_up = st.selectbox("登记簿坐标系", DATUMS, format_func=DATUM_LABELS.get, key="cw_c_datum_up",
                                placeholder="选择坐标系")
        if up is not None and st.button("检查并导入", key="cw_c_import"):
            suffix = ".xlsx" if up.name.lower().endswith(".xlsx") else ".csv"
            with tempfile.TemporaryDirectory(prefix="qingshan-upload-") as tmp:
                path = Path(tmp) / f"upload{suffix}"  # the browser's name is never a path
                path.write_bytes(up.getvalue())
                try:
                    intake = C.import_file(ui.get_store(), path, datum=datum_up, user=acc.name,
                                           name=f"upload{suffix}")
                    (st.success if intake.ok else st.error)(cw.md(intake.summary()) + ("" if intake.ok else "；未写入任何数据"))
                    if intake.problems:
                        st.dataframe(intake.report(), hide_index=True, width="stretch")
                except REFUSED as exc:
                    cw.show_error(exc)
        open_ids = c.loc[c["handled_on"].isna(), "id"].tolist()
        if open_ids:
            with st.form("cw_handle"):
                st.write("登记办结")
                cid = st.selectbox("投诉编号", open_ids, key="cw_h_id", placeholder="选择投诉编号")
                when = st.date_input("办结日期", value=day, key="cw_h_day")
                result = st.text_input("处理结果", key="cw_h_result", max_chars=300)
                if st.form_submit_button("登记办结"):
                    try:
                        C.mark_handled(ui.get_store(), cid, when, result, user=acc.name)
                        st.success("已登记办结。")
                    except REFUSED as exc:
                        cw.show_error(exc)
