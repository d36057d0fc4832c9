"""巡查登记 /inspect: an inspector records each stop's finding from a phone (390 px wide, big targets).

Choose the inspection and the stop, tap a finding, add a note and photos (camera or file); the place is the
site's point unless the phone's position is given: "使用我的位置" asks the browser (navigator.geolocation, a
small local component) and fills the "lon,lat" field, which can also be typed by hand. A finding that changes
what the register says (确认已关停 at a site not closed, 违规 at a closed one) is proposed as a status event and
written only when confirmed.
Below: joint patrols per month against the twice-a-month rule.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

import casework_ui as cw
import ui
from geo import attachments as ATT
from geo import inspections as I
from geo.contract import FINDING_LABELS, INSPECTION_KIND_LABELS, LAYER_LABELS
from geo.errors import GeoError
from geo.store import StoreError
from layers.localise import upload_mb

REFUSED = (GeoError, StoreError)


def _latest(fd, at) -> str:
    """A stop's latest finding as its label says it: the finding and its time, or 未记录."""
    if not isinstance(fd, str):
        return "未记录"
    return f"{FINDING_LABELS.get(fd, fd)} {pd.Timestamp(at):%m-%d %H:%M}" if pd.notna(at) else FINDING_LABELS.get(fd, fd)


# Phone layout: full-width controls at least 48 px tall, nothing wider than the screen (static CSS only).
st.markdown("""<style>
.stButton button, .stFormSubmitButton button, .stDownloadButton button {min-height: 48px; width: 100%;}
div[role="radiogroup"] label {min-height: 44px; padding: 6px 10px; font-size: 1.05rem;}
.block-container {padding-left: 0.8rem; padding-right: 0.8rem; max-width: 100%;}
</style>""", unsafe_allow_html=True)

st.title("巡查登记")
acc = cw.login_box(st.container())
ins = ui.load("inspections").sort_values("held_on", ascending=False)
if not len(ins):
    st.info("还没有巡查。请在“巡查路线”页规划路线后转为巡查。")
    st.stop()
labels = {i: f"{d:%m-%d} {INSPECTION_KIND_LABELS.get(k, k)} {t or ''}"
          for i, d, k, t in zip(ins["id"], ins["held_on"], ins["kind"], ins["team"].fillna(""))}
iid = st.selectbox("巡查", ins["id"].tolist(), format_func=labels.get, key="cw_i_ins", placeholder="选择巡查")
# read after any save (a save reruns the page): the counts and each stop's latest finding are the store's now
stops = I.stops_of(ui.get_store(), iid)
done = int(stops["finding"].notna().sum())
st.caption(f"共 {len(stops)} 个点位，已记录 {done} 个。")
saved = st.session_state.pop("cw_i_saved", None)
if saved:
    st.success("已保存。")
    st.caption(saved)

if len(stops):
    stop_label = {v: f"{n}. {name}（{_latest(fd, at)}{f'，共 {k} 次' if k > 1 else ''}）"
                  for v, n, name, fd, at, k in zip(stops["id"], stops["seq"], stops["name"], stops["finding"],
                                                   stops["visited_at"], stops["records"])}
    vid = st.selectbox("点位", stops["id"].tolist(), format_func=stop_label.get, key="cw_i_stop", placeholder="选择点位")
    row = stops.set_index("id").loc[vid]
    st.markdown(f"[查看档案]({cw.site_link(row['layer'], row['feature_id'])})  ·  {LAYER_LABELS[row['layer']]} "
                f"{cw.md(row['feature_id'])}")
    if isinstance(row["finding"], str):
        who = row["recorded_by"] if isinstance(row["recorded_by"], str) else ""
        more = (f"；本点位共记录 {int(row['records'])} 次" if row["records"] > 1 else "") + "；再次保存为新的记录，已有记录不改"
        st.caption(f"最近记录：{cw.md(_latest(row['finding'], row['visited_at']))}"
                   f"{'，' + cw.md(who) if who else ''}{more}")
    if cw.may(acc, "inspect"):
        # The phone's position fills the location field below (still editable; typing "lon,lat" is the
        # fallback where the browser gives none, e.g. over plain HTTP). Each answer is used once.
        answer = cw.geolocate(key="cw_i_geo")
        if isinstance(answer, dict) and answer.get("t") != st.session_state.get("cw_i_geo_seen"):
            st.session_state["cw_i_geo_seen"] = answer.get("t")
            found = cw.device_location(answer)
            if found is not None:
                st.session_state["cw_i_where"] = f"{found[0]:.6f},{found[1]:.6f}"
                st.session_state["cw_i_geo_accuracy"] = found[2]
        if st.session_state.get("cw_i_where") and st.session_state.get("cw_i_geo_accuracy") is not None:
            st.caption(f"现场位置取自手机定位（精度约 {st.session_state['cw_i_geo_accuracy']:.0f} 米），可修改。")
        with st.form("cw_finding", clear_on_submit=True):
            finding = st.radio("检查结果", list(FINDING_LABELS), format_func=FINDING_LABELS.get, key="cw_i_finding")
            note = st.text_area("备注", max_chars=I.MAX_NOTE, key="cw_i_note")
            where = st.text_input("现场位置（可空：经度,纬度，WGS84）", key="cw_i_where", max_chars=40)
            photo = st.camera_input("拍照", key="cw_i_camera")
            files = st.file_uploader("或选择照片/文件", type=["jpg", "jpeg", "png", "webp", "pdf"],
                                     accept_multiple_files=True, key="cw_i_files",
                                     max_upload_size=upload_mb(ATT.max_bytes()))
            if st.form_submit_button("保存检查结果"):
                try:
                    loc = None
                    if where.strip():
                        parts = where.replace("，", ",").split(",")
                        try:
                            loc = (float(parts[0]), float(parts[1]))
                        except (ValueError, IndexError):
                            raise GeoError("现场位置应为“经度,纬度”。", "location must be 'lon,lat'") from None
                    photos = ([("camera.jpg", photo.getvalue())] if photo is not None else []) + \
                        [(u.name, u.getvalue()) for u in files or []]
                    prop = I.record_finding(ui.get_store(), vid, finding, note=note, user=acc.name, location=loc,
                                            photos=photos)
                    st.session_state.pop("cw_i_geo_accuracy", None)
                    if prop is not None:
                        st.session_state["cw_proposal"] = prop
                    now_row = I.stops_of(ui.get_store(), iid).set_index("id").loc[vid]
                    st.session_state["cw_i_saved"] = (
                        f"{row['seq']}. {cw.md(row['name'])}：{cw.md(_latest(now_row['finding'], now_row['visited_at']))}"
                        f"（本点位已记录 {int(now_row['records'])} 次）")
                except REFUSED as exc:
                    cw.show_error(exc)
                else:
                    st.rerun()  # the counts, the stop's label and its latest finding as now stored
        prop = st.session_state.get("cw_proposal")
        if prop is not None:
            st.warning(f"该检查结果与台账不符，建议登记状态变更：{cw.md(prop.label)}")
            a, b = st.columns(2)
            if a.button("确认登记", key="cw_i_confirm"):
                try:
                    I.confirm(ui.get_store(), prop, user=acc.name)
                    st.session_state.pop("cw_proposal", None)
                    st.success("状态已登记。")
                except REFUSED as exc:
                    cw.show_error(exc)
            if b.button("暂不登记", key="cw_i_skip"):
                st.session_state.pop("cw_proposal", None)
                st.rerun()

st.subheader("联合巡查（每月至少两次，4个部门以上）")
day = pd.Timestamp(ui.report_date())
rule = I.joint_by_month(ui.load("inspections"), pd.Timestamp(day.year, 1, 1), day)
st.dataframe(rule.assign(met=rule["met"].map({True: "达到", False: "未达到"})).rename(columns={
    "month": "月份", "joint": "联合巡查次数", "required": "要求", "met": "是否达到", "half_months": "覆盖半月数"}),
    hide_index=True, width="stretch")
