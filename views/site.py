"""一企一档 /site?layer=…&id=…: one site's facts, history, riverside distance, outfalls, inspections,
complaints and attachments; the whole file as one PDF. Signed-in users may add documents and photos."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import casework_ui as cw
import search_ui
import login_ui
import ui
from geo import attachments as ATT
from geo import discharge
from geo.contract import LAYER_LABELS, SITE_LAYERS
from geo.errors import GeoError
from geo.sitefile import site_file, to_pdf
from geo.store import StoreError

REFUSED = (GeoError, StoreError)


def _site_tables(store, layer: str, fid: str) -> dict[str, pd.DataFrame]:
    """What :func:`geo.sitefile.site_file` reads, filtered by the database to this one site.

    The site's row, events, complaints, visits (and their inspections), its outfalls and their
    readings, and the attachments of any of these (listed without their content, with their stored
    thumbnails; those of older rows are made once and stored); the geography (townships, water) whole, cached.
    """
    t = {name: ui.load(name) for name in ("townships", "rivers", "waterbodies")}
    t[layer] = store.read(layer, where={"id": [fid]})
    mine = {"layer": [layer], "feature_id": [fid]}
    t["status_events"] = store.read("status_events", where=mine)
    t["edits"] = store.read("edits", where=mine)
    t["complaints"] = store.read("complaints", where=mine)
    t["inspection_visits"] = store.read("inspection_visits", where=mine)
    t["inspections"] = store.read("inspections", where={"id": t["inspection_visits"]["inspection_id"].dropna()})
    sp = store.read("sampling_points", where={"feature_id": [fid]}) if layer == "enterprises" else None
    t["sampling_points"] = sp if sp is not None else store.read("sampling_points", where={"id": []})
    t["readings"] = store.read("readings", where={"point_id": t["sampling_points"]["id"]})
    owners = [(layer, fid)] + [("inspection_visits", v) for v in t["inspection_visits"]["id"]] \
        + [("complaints", c) for c in t["complaints"]["id"]]
    # (pairs of layer and id: site_file keeps exactly these)
    listed = ATT.listing(store, where={"layer": sorted({a for a, _ in owners}),
                                       "feature_id": sorted({str(b) for _, b in owners})})
    keep = set(owners)
    listed = listed[[(a, b) in keep for a, b in zip(listed["layer"], listed["feature_id"])]] if len(listed) else listed
    t["attachments"] = ATT.with_thumbs(store, listed)
    return t


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
    layer = st.selectbox("图层", SITE_LAYERS, format_func=LAYER_LABELS.get, key="cw_s_layer", placeholder="选择图层")
    # found by a search in the database (issue 13): the chooser lists the matches, never every site
    query = search_ui.search_box("搜索点位（名称或编号）", key="cw_s_q")
    matches = search_ui.search(query, layers=(layer,))
    search_ui.caption_for(matches, query)
    fid = st.selectbox("点位", matches["id"].tolist(), key="cw_s_id", placeholder="先在上方搜索，再选择点位",
                       format_func=dict(zip(matches["id"], matches["id"] + " " + matches["name"])).get)
    if not fid:
        st.stop()
try:
    # outfalls judged up to the report date, as the water page judges them by default (geo.discharge)
    f = site_file(_site_tables(ui.get_store(), layer, fid), layer, fid, as_of=ui.report_date())
except GeoError as exc:
    st.title("一企一档")
    cw.show_error(exc)
    st.stop()

st.title(f"一企一档 · {cw.md(f.name)}")
st.caption(f"{LAYER_LABELS[layer]} {cw.md(f.id)}")
st.download_button("下载档案（PDF）", data=lambda: to_pdf(f, as_of=ui.report_date(), data_version=ui.get_store().version(),
                                                     generated_by=login_ui.generated_by()),
                   file_name=f"一企一档_{LAYER_LABELS[layer]}_{f.id}.pdf",
                   mime="application/pdf", key="cw_s_pdf")
st.subheader("基本情况")
st.dataframe(f.facts, hide_index=True, width="stretch")
st.subheader("沿河距离")
if f.water["distance_m"] is None:
    st.write("无河流、水库数据。")
else:
    inside = ("在" if f.water["within_limit"] else "不在") + f"沿河{f.water['limit_m']:g}米范围内"
    st.write(f"距最近水体（{cw.md(f.water['water_name'] or '—')}）{f.water['distance_m']:.0f} 米，{inside}。")
st.subheader("状态记录")
st.dataframe(f.history, hide_index=True, width="stretch")
if len(f.edits):  # every other recorded change: a rename, a move (who, when, from which file row)
    st.subheader("修改记录")
    st.dataframe(f.edits, hide_index=True, width="stretch")
if layer == "enterprises":
    st.subheader("排口监测（最新一次采样）")
    st.caption(discharge.RULE + "。")
    if len(f.outfall_summary):
        st.dataframe(f.outfall_summary, hide_index=True, width="stretch")
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
    thumb = ATT.thumb_png(a["thumb"])  # stored with the row: the original is not read to show the page
    if thumb:
        cols[0].image(thumb, width="stretch")
    cols[1].text(f"{a['name']}\n{ATT.TYPES.get(a['mime'], a['mime'])} · {int(a['size'])} 字节 · {a['uploaded_by'] or ''}"
                 f"\nSHA-256 {a['sha256']}\n{a['note'] or ''}")
    # the file's bytes are read from the store only when this button is clicked; name and type are the
    # sniffed ones (a row stored before names were fixed still downloads as what it is)
    name, mime = ATT.download_as(a["name"], a["mime"])
    cols[1].download_button("下载", data=lambda aid=a["id"]: ATT.content_of(ui.get_store(), aid), file_name=name,
                            mime=mime, key=f"cw_s_dl_{a['id']}")
if cw.may(acc, "status_update"):
    up = st.file_uploader(f"上传文件或照片（JPEG、PNG、WebP、PDF；{ATT.limits_text()}）",
                          type=["jpg", "jpeg", "png", "webp", "pdf"], accept_multiple_files=True,
                          max_upload_size=max(1, -(-ATT.max_bytes() // (1024 * 1024))), key="cw_s_upload")
    note = st.text_input("说明", key="cw_s_note", max_chars=200)
    if up and st.button("保存附件", key="cw_s_save"):
        try:
            saved = ATT.add(ui.get_store(), [(u.name, u.getvalue()) for u in up], layer=layer, feature_id=f.id,
                            user=acc.name, note=note)
            st.success(f"已保存 {len(saved)} 个文件。")
        except REFUSED as exc:
            cw.show_error(exc)
