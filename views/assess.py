"""考核 /assess: township and department scores on the scheme in data/assessment_<year>.toml.

The veto is shown in words (否决：…) and vetoed townships rank last. The circular (通报) downloads as xlsx
and PDF. Planners and admins enter the office's scores (each entry keeps its author and note).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

import casework_ui as cw
import login_ui
import ui
from geo import assess as A, datecheck
from geo.errors import GeoError
from geo.store import StoreError

REFUSED = (GeoError, StoreError)

st.title("乡镇考核")
acc = cw.login_box()
day = ui.as_of_input("截至日期", key="cw_a_day")
year = st.number_input("考核年度", min_value=2000, max_value=2100, value=day.year, step=1, key="cw_a_year")
frames = ui.load_many(*A.TABLES_NEEDED)
try:
    # a day before the data has nothing to score (every township would get the same empty marks)
    datecheck.check_day(day, frames, what_zh="截至日期", what_en="the as-of date")
    scheme = A.load_scheme(int(year))
except GeoError as exc:
    cw.show_error(exc)
    st.stop()
scores = A.township_scores(frames, int(year), day, scheme)
st.caption(f"{cw.md(scheme.title)}：满分 100 分，另设加分项；触发一票否决的乡镇不论得分排在最后。")
vetoed = scores[scores["veto"]]
for _, r in vetoed.iterrows():
    st.error(f"一票否决：{cw.md(r['township'])}（{cw.md(r['veto_items'])}）")
st.dataframe(A.labelled(scores, scheme), hide_index=True, width="stretch")
with st.expander("评分明细"):
    items = A.item_scores(frames, int(year), day, scheme)
    st.dataframe(items.assign(block=items["block"].map(scheme.block_name)).rename(columns={
        "township": "乡镇", "block": "板块", "name": "项目", "points": "分值", "score": "得分", "basis": "依据"})[
        ["乡镇", "板块", "项目", "分值", "得分", "依据"]], hide_index=True, width="stretch")
st.subheader("部门考核")
depts = A.department_scores(frames, int(year), day, scheme)
st.dataframe(depts.assign(veto=depts["veto"].map({True: "否决", False: "—"})).rename(columns={
    "department": "部门", "total": "总分", "rank": "名次", "veto": "一票否决", "basis": "依据",
    **dict(zip(scheme.department_items["id"], scheme.department_items["name"]))}), hide_index=True, width="stretch")
stamp = f"{int(year)}_{day:%Y%m%d}"
c1, c2 = st.columns(2)
c1.download_button("下载考核通报（xlsx）", data=lambda: A.to_xlsx(ui.get_store(), int(year), day, scheme,
                                                                  generated_by=login_ui.generated_by()),
                   file_name=f"乡镇考核通报_{stamp}.xlsx", key="cw_a_xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
c2.download_button("下载考核通报（PDF）", data=lambda: A.circular_pdf(ui.get_store(), int(year), day, scheme,
                                                                      generated_by=login_ui.generated_by()),
                   file_name=f"乡镇考核通报_{stamp}.pdf", mime="application/pdf", key="cw_a_pdf")

st.subheader("考核办录入")
if cw.may(acc, "casework"):
    manual = pd.concat([scheme.items, scheme.department_items], ignore_index=True)
    manual = manual[manual["source"] == "manual"]
    units = list(frames["townships"]["name"]) + sorted(frames["enterprises"]["department"].dropna().unique())
    with st.form("cw_assess_entry"):
        unit = st.selectbox("考核对象", units, key="cw_a_unit", placeholder="选择考核对象")
        item = st.selectbox("项目", manual["id"].tolist(), key="cw_a_item", placeholder="选择项目",
                            format_func=dict(zip(manual["id"], manual["name"])).get)
        score = st.number_input("得分（否决项：1 为触发，0 为未触发）", min_value=0.0, value=0.0, step=0.5,
                                key="cw_a_score")
        note = st.text_input("说明", key="cw_a_note", max_chars=500)
        if st.form_submit_button("保存评分"):
            try:
                A.enter(ui.get_store(), year=int(year), unit=unit, item=item, score=score, note=note,
                        user=acc.name, scheme=scheme)
                st.success("已保存。")
            except REFUSED as exc:
                cw.show_error(exc)
