"""关停进度 /progress: how far each campaign is, who lags, will the deadline hold — on any date.

Figures come from ``geo.progress`` (replayed from status events), the map
from ``layers``; the monthly briefing PDF from ``geo.briefing``.
"""
from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

import casework_ui as cw
import login_ui
import ui
from geo import fmt
from geo import progress as P
from geo.errors import GeoError
from geo.io.writers import write_csv
from layers import mapview, townships
from layers.base import Legend

st.title("关停进度")

TABLES = ("townships", "enterprises", "kilns", "farms", "status_events", "sampling_points")
# the briefing's tables (read whole only when a briefing is made; the page itself reads ui.SNAPSHOT_TABLES);
# readings only feed the briefing's water page: its latest sampling per point, read when a briefing is made


@st.cache_data(show_spinner=False, max_entries=4)
def _frames(version: str) -> dict[str, pd.DataFrame]:
    return P.prepare(ui.load_many(*TABLES))


def _snap(as_of: dt.date, campaign: str) -> dict:
    """The sites on ``as_of`` as the database replays them, with ``campaign``'s done steps counted by the
    database (its cumulative series; no history read); every figure of the page for that day comes from it."""
    return ui.status_snapshot(as_of, steps_of=(campaign,))


@st.cache_data(show_spinner=False, max_entries=64)
def _kpis(version: str, as_of: dt.date, towns: tuple[str, ...], campaign: str) -> dict:
    return P.kpis(_filtered(_snap(as_of, campaign), list(towns)), as_of)


@st.cache_data(show_spinner=False, max_entries=64)
def _completion(version: str, campaign: str, as_of: dt.date) -> pd.DataFrame:
    return P.completion(_snap(as_of, campaign), campaign, as_of)


@st.cache_data(show_spinner="正在生成地图…", max_entries=32)
def _map_html(version: str, campaign: str, as_of: dt.date, towns: tuple[str, ...]) -> str:
    tw = ui.load("townships")
    focus = tw[tw["name"].isin(towns)] if towns else tw
    comp = _completion(version, campaign, as_of)
    values = {t: r for t, r in zip(comp["township"], comp["rate"]) if pd.notna(r)}
    m = mapview.new_map(focus.total_bounds if len(focus) else None, height=460)
    townships.add_to(m, tw, values=values, value_label=f"{P.CAMPAIGNS[campaign].label}完成率")
    items = townships.choropleth_items()
    Legend("完成率", items).add_to(m)
    return mapview.to_html(m)


def _filtered(frames: dict[str, pd.DataFrame], towns: list[str]) -> dict[str, pd.DataFrame]:
    """Site layers restricted to ``towns`` (all when empty)."""
    if not towns:
        return frames
    out = dict(frames)
    for layer in ("enterprises", "kilns", "farms"):
        out[layer] = frames[layer][frames[layer]["township"].isin(towns)]
    return out


def _timeline_frames(frames: dict, campaign: str, as_of: dt.date, towns: list[str]) -> dict:
    """The frames the timeline of ``campaign`` in ``towns`` is read from: with those townships' own done
    steps, counted by the database (the day's steps count every township's targets)."""
    if not towns:
        return frames
    out = _filtered(frames, towns)
    out[P.STEPS] = {campaign: ui.campaign_steps(out, campaign, as_of, tuple(towns))}
    return out


def _days_text(v) -> str:
    if pd.isna(v):
        return "无期限"
    v = int(v)
    return f"逾期 {-v} 天" if v < 0 else ("今日到期" if v == 0 else f"剩余 {v} 天")


version = ui.data_version(*ui.SNAPSHOT_TABLES)
report_day = ui.report_date()

c1, c2, c3 = st.columns([1, 1.3, 2.2])
with c1:
    as_of = ui.as_of_input("截至日期（按状态记录回放）")
with c2:
    campaign = st.selectbox("专项", list(P.CAMPAIGNS), format_func=lambda k: P.CAMPAIGNS[k].label, key="campaign",
                            placeholder="选择专项")
with c3:
    towns = st.multiselect("乡镇（街道）", ui.township_names(), placeholder="全区", key="towns")
if as_of > report_day:
    st.caption(f"注：数据截至 {fmt.date_zh(report_day)}，之后的状态变化尚未录入，图表按已录入记录推算。")

# --- KPI header ---------------------------------------------------------------------------------
frames = _snap(as_of, campaign)
k = _kpis(version, as_of, tuple(towns), campaign)
chem, lime, live = k["chemical"], k["lime"], k["livestock"]
m1, m2, m3, m4, m5 = st.columns(5)
days = chem["days_to_deadline"]
m1.metric("化工园区关停（家）", f"{chem['closed']}/{chem['targets']}",
          delta=None if days is None else (f"距期限 {days} 天" if days >= 0 else f"逾期 {-days} 天"),
          delta_color="off" if days is None or days >= 0 else "inverse", delta_arrow="off", border=True,
          help=f"已签承诺 {chem['committed']} 家；落实搬迁去向 {chem['with_destination']} 家，就地关停或转产 "
               f"{chem['in_place']} 家")
m2.metric("石灰钙棚关停（个）", f"{lime['sheds_closed']}/{lime['sheds']}", border=True)
m3.metric("石灰窑关停·改建搬迁", f"{lime['kilns_closed']}·{lime['kilns_rebuilt_or_relocated']}",
          delta=f"共 {lime['kilns']} 座", delta_color="off", delta_arrow="off", border=True)
ldays = live["days_to_deadline"]
m4.metric("养殖场已验收（家）", f"{live['done']}/{live['targets']}",
          delta=f"治理中 {live['treating']}", delta_color="off", delta_arrow="off", border=True,
          help=None if ldays is None else f"治理期限 {live['deadline']:%Y-%m-%d}，距期限 {ldays} 天")
c = P.CAMPAIGNS[campaign]
# the projection the chart below draws (its window slider's value): the header's word comes from it too
window = int(st.session_state.get("window", 90))
series, proj = P.timeline(_timeline_frames(frames, campaign, as_of, towns), campaign, as_of, window_days=window)
word, bad = P.outlook(int(k["overdue"]), proj)
m5.metric("逾期未完成（处）", f"{k['overdue']}", border=True, delta_arrow="off", delta=word,
          delta_color="inverse" if bad else "off",
          help=f"{c.label}：{proj.verdict}" + ("" if proj.projected_on is None or proj.remaining <= 0
                                               else f"（预计 {fmt.date_zh(proj.projected_on)} 完成）"))

# --- map and timeline ---------------------------------------------------------------------------
left, right = st.columns([1, 1.2])
with left:
    st.subheader(f"{c.label} · 乡镇完成率")
    mapview.show(_map_html(version, campaign, as_of, tuple(towns)), height=460)
with right:
    st.subheader("累计完成与期限")
    st.slider("预测采用近 N 天进度", 30, 180, 90, step=15, key="window")
    series = series[series["date"] >= pd.Timestamp(as_of) - pd.Timedelta(days=730)]
    base = alt.Chart(series).mark_line(interpolate="step-after", color="#1f6fb2").encode(
        x=alt.X("date:T", title="日期", axis=alt.Axis(labelExpr=fmt.VEGA_MONTH)),
        y=alt.Y("done:Q", title=f"累计完成（{c.unit}）"),
        tooltip=[alt.Tooltip("date:T", title="日期", format="%Y-%m-%d"), alt.Tooltip("done:Q", title="累计完成")])
    layers_ = [base, alt.Chart(pd.DataFrame({"y": [proj.targets]})).mark_rule(color="#888", strokeDash=[2, 2])
               .encode(y="y:Q")]
    line = proj.line()
    if len(line):
        layers_.append(alt.Chart(line).mark_line(color="#1f6fb2", strokeDash=[6, 4]).encode(x="date:T", y="done:Q"))
    if proj.deadline is not None:
        layers_.append(alt.Chart(pd.DataFrame({"d": [proj.deadline], "t": [f"期限 {proj.deadline:%Y-%m-%d}"]}))
                       .mark_rule(color="#c0392b", strokeWidth=2).encode(x="d:T", tooltip=alt.Tooltip("t:N", title="期限")))
    st.altair_chart(alt.layer(*layers_).properties(height=360), width="stretch")
    if proj.remaining <= 0:
        st.success(f"已全部完成（{proj.targets}{c.unit}）。")
    elif proj.projected_on is None:
        st.warning(f"近 {window} 天无新增完成，按此进度无法完成剩余 {proj.remaining}{c.unit}。")
    else:
        verdict = "" if proj.deadline is None else ("，可按期完成" if proj.on_time else "，**将超过期限**")
        st.caption(f"近 {window} 天完成 {proj.done - proj.done_window_start}{c.unit}（每天 {proj.pace_per_day:.2f}），"
                   f"剩余 {proj.remaining}{c.unit}，预计 {fmt.date_zh(proj.projected_on)} 完成{verdict}。虚线为按此进度的推算。")

# --- pending sites --------------------------------------------------------------------------------
st.subheader("未完成点位")
only_overdue = st.toggle("只看逾期", key="only_overdue")
pend = P.pending_sites(_filtered(frames, towns), as_of, campaign)
if only_overdue:
    pend = pend[pend["overdue"]]
table = P.labelled(pend.drop(columns=["overdue", "committed_on"]))
table.insert(table.columns.get_loc(P.HEADERS["days_left"]) + 1, "期限状态", pend["days_left"].map(_days_text).to_numpy())
st.dataframe(fmt.for_display(table).assign(**{"一企一档": cw.site_links(pend["layer"], pend["id"])}), width="stretch",
             hide_index=True, column_config=cw.link_column())

comp = P.completion(_filtered(frames, towns), campaign, as_of)
comp_out = P.labelled(comp[comp["targets"] > 0])
d1, d2, d3 = st.columns(3)
stamp = f"{as_of:%Y%m%d}"
# every file states what it is: the rule, the date, the data version, who generated it
scope = {"专项": c.label, "乡镇范围": "、".join(towns) if towns else "全部乡镇"}
list_meta = P.progress_meta(f"{c.label}：未完成点位与乡镇完成率", as_of, parameters=scope, data_version=version,
                            generated_by=login_ui.generated_by())
d1.download_button("下载 Excel（未完成点位、乡镇完成率）",
                   P.to_xlsx({"未完成点位": table, "乡镇完成率": comp_out}, meta=list_meta),
                   file_name=f"关停进度_{c.label}_{stamp}.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl_xlsx")
d2.download_button("下载 CSV（未完成点位）", write_csv(table, dialect="for_people", meta=list_meta),
                   file_name=f"未完成点位_{c.label}_{stamp}.csv", mime="text/csv", key="dl_csv")
counts = P.counts(_filtered(frames, towns), as_of)
d3.download_button("下载 CSV（图层×类别×乡镇×状态）",
                   write_csv(P.labelled(counts), dialect="for_people",
                             meta=P.progress_meta("点位数统计：图层×类别×乡镇×状态", as_of,
                                                  parameters={"乡镇范围": scope["乡镇范围"]}, data_version=version,
                                                  generated_by=login_ui.generated_by())),
                   file_name=f"进度统计_{stamp}.csv", mime="text/csv", key="dl_counts")

with st.expander("部门结对：未完成企业", expanded=campaign == "chemical"):
    pairs = P.department_pairs(_filtered(frames, towns), as_of)
    summ = P.department_summary(_filtered(frames, towns), as_of)
    a, b = st.columns([1, 2.4])
    a.dataframe(fmt.for_display(summ.rename(columns=P.HEADERS)), hide_index=True, width="stretch")
    b.dataframe(fmt.for_display(P.labelled(pairs.drop(columns=["done", "overdue"]).assign(layer="enterprises"))
                .drop(columns=[P.HEADERS["layer"]])), hide_index=True, width="stretch")

# --- township ranking -----------------------------------------------------------------------------
st.subheader("乡镇排名（百分制）")
w = st.columns(3)
weights = {key: float(w[i].slider(f"{cc.label} 权重", 0, 100, int(P.DEFAULT_WEIGHTS[key]), step=5, key=f"w_{key}"))
           for i, (key, cc) in enumerate(P.CAMPAIGNS.items())}
if sum(weights.values()) == 0:
    st.warning("权重全为 0，无法计分。")
else:
    rank = P.township_ranking(frames, as_of, weights)
    if towns:
        rank = rank[rank["township"].isin(towns)]
    shown = P.labelled(rank)
    score_col = P.HEADERS["score"]
    unscored = shown.loc[shown[score_col].isna(), P.HEADERS["township"]].astype(str).tolist()
    shown = shown[shown[score_col].notna()]
    note = f"无任何任务、不计分的乡镇：{'、'.join(ui.md_escape(t) for t in unscored)}。" if unscored else ""
    st.caption("得分 = 100 × Σ(权重 × 完成率) ÷ Σ权重，只计该乡镇有任务的专项（无任务的专项显示“—”）。" + note)
    st.dataframe(fmt.for_display(shown, keep=(score_col,)), hide_index=True, width="stretch",
                 column_config={score_col: st.column_config.ProgressColumn(
                     score_col, min_value=0, max_value=100, format="%.1f")})

# --- monthly briefing -----------------------------------------------------------------------------
st.subheader("月度简报")


@st.cache_data(show_spinner="正在生成简报…", max_entries=8)
def _briefing(version: str, readings_version: str, as_of: dt.date, district: str, who: str
              ) -> tuple[bytes, bytes]:
    from geo import briefing

    f = dict(_frames(version))
    # the water page of the briefing judges each point's latest sampling: only those readings are read
    f["readings"] = ui.readings_query("latest_sampling", as_of, tuple(f["sampling_points"]["id"].astype(str)))
    generated = dt.datetime.now().replace(microsecond=0)
    meta = briefing.briefing_meta(as_of, district=district, data_version=version, generated_by=who,
                                  generated=generated)
    return (briefing.render_pdf(f, as_of, district=district, data_version=version, generated_by=who,
                                generated=generated),
            briefing.render_xlsx(f, as_of, meta=meta))


meta = ui.load("meta")
district = dict(zip(meta["key"], meta["value"])).get("district", "") if len(meta) else ""
if st.button("生成月度简报（PDF + Excel）", key="make_briefing"):
    st.session_state["briefing_for"] = (version, ui.data_version("readings"), as_of)
if st.session_state.get("briefing_for") == (version, ui.data_version("readings"), as_of):
    try:
        pdf, xlsx = _briefing(ui.data_version(*TABLES), ui.data_version("readings"), as_of, district,
                              login_ui.generated_by())
    except GeoError as exc:
        cw.show_error(exc)
    else:
        b1, b2 = st.columns(2)
        b1.download_button("下载简报 PDF", pdf, file_name=f"关停进度简报_{stamp}.pdf", mime="application/pdf",
                           key="dl_pdf")
        b2.download_button("下载简报数据 Excel", xlsx, file_name=f"关停进度简报_{stamp}.xlsx",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl_bxlsx")
