"""一企一档 /site?layer=…&id=…: one site's facts, history, riverside distance, outfalls, inspections,
complaints and attachments; the whole file as one PDF. Signed-in users may add documents and photos."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import casework_ui as cw
import ui
from geo import attachments as ATT
from geo.contract import LAYER_LABELS, SITE_LAYERS
from geo.errors import GeoError
from geo.sitefile import DISCHARGE_STANDARD, TABLES_NEEDED, site_file, to_pdf
from geo.store import StoreError

REFUSED = (GeoError, StoreError)



@st.cache_data(show_spinner=False, max_entries=256)
def _preview(sha256: str, _content: bytes) -> bytes | None:
    """A thumbnail (image, or a PDF's first page), drawn once per file content."""
    return ATT.preview(_content)


def _table(df: pd.DataFrame, empty: str) -> None:
    if len(df):
        st.dataframe(df, hide_index=True, width="stretch")
    else:
        st.write(empty)


acc = cw.login_box()
params = st.query_params
layer = params.get("layer") or ""
fid = params.get("id") or ""
if layer not in SITE_LAYERS or not fid:
    st.title("一企一档")
    layer = st.selectbox("图层", SITE_LAYERS, format_func=LAYER_LABELS.get, key="cw_s_layer")
    sites = ui.load(layer)
    fid = st.selectbox("点位", sites["id"].tolist(), key="cw_s_id",
                       format_func=dict(zip(sites["id"], sites["id"] + " " + sites["name"])).get)
    if not fid:
        st.stop()
try:
    f = site_file(ui.load_many(*TABLES_NEEDED), layer, fid)
except GeoError as exc:
    st.title("一企一档")
    cw.show_error(exc)
    st.stop()

st.title(f"一企一档 · {cw.md(f.name)}")
st.caption(f"{LAYER_LABELS[layer]} {cw.md(f.id)}")
st.download_button("下载档案（PDF）", data=lambda: to_pdf(f, as_of=ui.report_date()), file_name=f"site_{layer}_{f.id}.pdf",
                   mime="application/pdf", key="cw_s_pdf")
st.subheader("基本情况")
st.dataframe(f.facts, hide_index=True, width="stretch")
st.subheader("沿河距离")
if f.water["distance_m"] is None:
    st.write("无河流、水库数据。")
else:
    inside = "在沿河200米范围内" if f.water["within_200"] else "不在沿河200米范围内"
    st.write(f"距最近水体（{cw.md(f.water['water_name'] or '—')}）{f.water['distance_m']:.0f} 米，{inside}。")
st.subheader("状态记录")
st.dataframe(f.history, hide_index=True, width="stretch")
if layer == "enterprises":
    st.subheader("排口监测")
    st.caption(f"按 {DISCHARGE_STANDARD} 判定")
    _table(f.outfalls, "无排口监测数据。")
st.subheader("巡查记录")
_table(f.visits, "无巡查记录。")
st.subheader("信访投诉")
_table(f.complaints, "无信访投诉。")
st.subheader("附件")
if not len(f.attachments):
    st.write("无附件。")
for _, a in f.attachments.iterrows():
    cols = st.columns([1, 3])
    thumb = _preview(a["sha256"], a["content"]) if a["content"] is not None else None
    if thumb:
        cols[0].image(thumb, width="stretch")
    cols[1].text(f"{a['name']}\n{ATT.TYPES.get(a['mime'], a['mime'])} · {int(a['size'])} 字节 · {a['uploaded_by'] or ''}"
                 f"\nSHA-256 {a['sha256']}\n{a['note'] or ''}")
    cols[1].download_button("下载", data=a["content"], file_name=a["name"], mime=a["mime"], key=f"cw_s_dl_{a['id']}")
if cw.may(acc, "status_update"):
    up = st.file_uploader("上传文件或照片（JPEG、PNG、WebP、PDF）", type=["jpg", "jpeg", "png", "webp", "pdf"],
                          accept_multiple_files=True, key="cw_s_upload")
    note = st.text_input("说明", key="cw_s_note", max_chars=200)
    if up and st.button("保存附件", key="cw_s_save"):
        try:
            ATT.add(ui.get_store(), [(u.name, u.getvalue()) for u in up], layer=layer, feature_id=f.id,
                    user=acc.name, note=note)
            st.success(f"已保存 {len(up)} 个文件。")
        except REFUSED as exc:
            cw.show_error(exc)
