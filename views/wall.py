"""大屏 /wall: the unattended wall screen a director briefs from (1920×1080 or 4K), readable from 4 m.

Dark, no scrolling, no Streamlit chrome. The header carries the data date (数据截至, the most prominent time
on the screen) and, smaller and labelled, the current time. Below: KPI tiles across the width, each with its
change since the week and the month before (较上周 / 较上月, :func:`geo.wallboard.tile_changes`); the district
map on the left (tall, as the district is), rotating between the closure, riverside and water views; on the
right the alert strip (:mod:`geo.alerts`), the trend charts (closures against their deadlines with the
projection, and the share of sections meeting target by month) and the township standing
(:mod:`geo.wallboard`). Figures refresh every M seconds without reloading the page (a fragment rerun);
the map is rebuilt only when the data version or the date changes.

Replay: ``/wall?as_of=2007-06-30`` shows figures, alerts and map as they stood on that date (briefings on
a past date); the header says so.
"""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import html

import altair as alt
import pandas as pd
import streamlit as st

import ui
from geo import alerts as A, config, datecheck, progress, rules, wallboard as W
from geo.errors import GeoError
from layers import mapview
from layers.wall import wall_map

ROTATE = int(config.get("wall", "rotate_seconds", 20))
REFRESH = int(config.get("wall", "refresh_seconds", 60))
BUFFER_M = rules.riverside_limit_m()  # the one riverside limit ([riverside] limit_m)
NEW_DAYS = int(config.get("wall", "new_violation_days", A.NEW_DAYS))

# Layout in units of --u (1 px at 1920×1080, 2 px at 4K): fixed heights, so nothing can push the page into
# scrolling; the map column is narrow and tall because the district is (fit to its bounds inside).
PAD, GAP, HEAD, TILES, MAP_W, ALERT_ROW, ALERT_ROW2, CHART_TITLE, RANK_W = 10, 10, 88, 206, 640, 50, 72, 40, 300
#: Height of the line under a chart title that keys its colours (the share chart).
CHART_KEY = 32
SIDE_H2, SIDE_LI = 42, 36  # the side panel's heading and list row heights
BODY = PAD + HEAD + GAP + TILES + GAP + PAD  # what the body's height leaves to the rest of the screen

#: Campaign colours in the closure chart (Okabe–Ito, readable on the dark background).
CAMPAIGN_COLOURS = {"chemical": "#E69F00", "lime": "#56B4E9", "livestock": "#CC79A7"}
SHORT = {"chemical": "化工园区", "lime": "石灰窑（棚）", "livestock": "养殖场"}
DEADLINE_COLOUR, TEXT, MUTED, GRID = "#FF6B4A", "#e8f1f5", "#9fb8c8", "#23394a"

st.html(f"""<style>
/* Every size is a multiple of --u: 1 px on a 1920×1080 screen, 2 px on a 4K one at 100 % scaling. */
:root {{--u:1px;}}
@media (min-width:2800px) and (min-height:1500px) {{:root {{--u:2px;}}}}
header[data-testid="stHeader"], [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"], footer {{display:none !important;}}
.stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] {{background:#0b1620 !important; color:{TEXT};}}
[data-testid="stMainBlockContainer"], .block-container {{padding:calc({PAD}*var(--u)) calc(16*var(--u)) 0 calc(16*var(--u)) !important;
  max-width:100% !important;}}
html, body, [data-testid="stAppViewContainer"], [data-testid="stMain"] {{overflow:hidden !important;}}
[data-testid="stVerticalBlock"], [data-testid="stHorizontalBlock"] {{gap:calc({GAP}*var(--u)) !important;}}
.qs-head {{display:flex; align-items:center; justify-content:space-between; height:calc({HEAD}*var(--u));
  gap:calc(24*var(--u));}}
.qs-head h1 {{font-size:calc(40*var(--u)); margin:0; padding:0; color:{TEXT}; font-weight:800; letter-spacing:2px;
  white-space:nowrap;}}
.qs-time {{display:flex; align-items:baseline; gap:calc(28*var(--u)); white-space:nowrap;}}
.qs-asof {{font-size:calc(52*var(--u)); font-weight:800; color:#ffffff; line-height:1.1;}}
.qs-asof .qs-asof-label {{font-size:calc(30*var(--u)); font-weight:600; color:#F0E442; margin-right:calc(12*var(--u));}}
.qs-replay {{font-size:calc(28*var(--u)); font-weight:800; color:#0b1620; background:#F0E442;
  padding:calc(2*var(--u)) calc(12*var(--u)); border-radius:calc(6*var(--u)); margin-right:calc(12*var(--u));}}
.qs-notice {{font-size:calc(24*var(--u)); color:#F0E442;}}
.qs-now {{font-size:calc(24*var(--u)); color:{MUTED};}}
.qs-now b {{font-weight:600; color:#c9d8e2; font-variant-numeric:tabular-nums;}}
.qs-tiles {{display:flex; gap:calc(12*var(--u)); height:calc({TILES}*var(--u));}}
/* equal tiles; with more than five, each as wide as its text needs (the widths add up to the screen's) */
.qs-tile {{flex:1 1 0; min-width:0; background:#12283a; border-radius:10px; padding:calc(10*var(--u)) calc(12*var(--u));
  border-left:calc(8*var(--u)) solid #009E73; overflow:hidden;}}
/* …but never narrower than its label, figure and changes: a note that does not fit is cut (…), a change never */
.qs-tiles.qs-many .qs-tile {{flex:1 1 auto; min-width:min-content;}}
.qs-tile.qs-warn {{border-left-color:#E69F00;}} .qs-tile.qs-bad {{border-left-color:#D55E00;}}
.qs-tile .qs-label {{font-size:calc(28*var(--u)); color:{MUTED}; white-space:nowrap;}}
.qs-tile .qs-value {{font-size:calc(72*var(--u)); font-weight:800; line-height:1.1; color:#ffffff; white-space:nowrap;}}
.qs-tile .qs-value small {{font-size:calc(36*var(--u)); color:#c9d8e2; font-weight:600;}}
/* one line, cut with … (clamped rather than nowrap: a note may be cut, so it does not set the tile's least width) */
.qs-tile .qs-note {{font-size:calc(24*var(--u)); line-height:1.3; color:#c9d8e2; overflow:hidden; display:-webkit-box;
  -webkit-box-orient:vertical; -webkit-line-clamp:1; line-clamp:1; word-break:break-all;}}
/* the changes since last week and month: as large as the note, green when good for the figure, red when not */
.qs-tile .qs-change {{font-size:calc(24*var(--u)); line-height:1.3; font-weight:700; color:{MUTED}; white-space:nowrap;
  overflow:hidden; text-overflow:ellipsis; font-variant-numeric:tabular-nums;}}
.qs-change .qs-better {{color:#3CC08F;}} .qs-change .qs-worse {{color:#FF6B4A;}}
.qs-change .qs-flat, .qs-change .qs-none {{color:{MUTED}; font-weight:600;}}
.qs-change .qs-sep {{margin:0 calc(6*var(--u));}}
/* Streamlit wraps each keyed container in a layout element: sizes go on the wrapper and the block alike.
   Widths here; heights, which depend on the number of alert rows, come from layout_css(). */
*:has(> .st-key-qs-body), .st-key-qs-body {{flex:none !important;}}
.st-key-qs-body, .st-key-qs-lower {{flex-wrap:nowrap !important;}}
*:has(> .st-key-qs-map) {{flex:0 0 calc({MAP_W}*var(--u)) !important; width:calc({MAP_W}*var(--u)) !important;}}
*:has(> .st-key-qs-right), *:has(> .st-key-qs-closure) {{flex:1.3 1 0 !important; width:auto !important;}}
*:has(> .st-key-qs-right) {{flex:1 1 0 !important;}}
*:has(> .st-key-qs-water) {{flex:1 1 0 !important; width:auto !important;}}
*:has(> .st-key-qs-rank) {{flex:0 0 calc({RANK_W}*var(--u)) !important; width:calc({RANK_W}*var(--u)) !important;}}
*:has(> .st-key-qs-lower) {{flex:none !important; width:100% !important;}}
:is(*:has(> .st-key-qs-map), *:has(> .st-key-qs-right), *:has(> .st-key-qs-closure), *:has(> .st-key-qs-water),
  *:has(> .st-key-qs-rank)) {{max-width:none !important; min-width:0 !important;}}
:is(.st-key-qs-map, .st-key-qs-right, .st-key-qs-lower, .st-key-qs-closure, .st-key-qs-water, .st-key-qs-rank)
  {{flex:none !important; width:100% !important; max-width:none !important; min-width:0 !important;}}
.st-key-qs-map iframe {{border-radius:10px; display:block;}}
.st-key-qs-rank > [data-testid="stElementContainer"], .st-key-qs-rank > [data-testid="stElementContainer"] > *
  {{height:100% !important;}}
:is(.st-key-qs-closure, .st-key-qs-water) [data-testid="stElementContainer"]:has([data-testid="stVegaLiteChart"]),
:is(.st-key-qs-closure, .st-key-qs-water) [data-testid="stElementContainer"] *:has([data-testid="stVegaLiteChart"]),
:is(.st-key-qs-closure, .st-key-qs-water) [data-testid="stVegaLiteChart"] {{flex:none !important; height:100% !important;
  width:100% !important;}}
.st-key-qs-closure, .st-key-qs-water {{background:#12283a; border-radius:10px;
  padding:calc(6*var(--u)) calc(12*var(--u)) calc(6*var(--u)) calc(12*var(--u)); box-sizing:border-box;}}
.qs-chart-title {{font-size:calc(28*var(--u)); font-weight:700; color:{TEXT}; white-space:nowrap; overflow:hidden;
  text-overflow:ellipsis; height:calc({CHART_TITLE}*var(--u)); line-height:calc({CHART_TITLE}*var(--u));}}
.qs-chart-title span {{font-size:calc(24*var(--u)); font-weight:400; color:{MUTED}; margin-left:calc(10*var(--u));}}
.qs-chart-key {{font-size:calc(24*var(--u)); line-height:calc({CHART_KEY}*var(--u)); height:calc({CHART_KEY}*var(--u));
  color:{MUTED}; white-space:nowrap; overflow:hidden;}}
.qs-chart-key .qs-key {{margin-right:calc(4*var(--u));}}
.qs-alerts {{background:#12283a; border-radius:10px; padding:calc(6*var(--u)) calc(14*var(--u)); box-sizing:border-box;
  overflow:hidden;}}
.qs-alert {{box-sizing:border-box; display:flex; align-items:center; gap:calc(14*var(--u)); height:calc({ALERT_ROW}*var(--u));
  white-space:nowrap; overflow:hidden; border-bottom:1px solid {GRID};}}
.qs-alert:last-child {{border-bottom:none;}}
.qs-alert .qs-count {{flex:0 0 calc(110*var(--u)); font-size:calc(40*var(--u)); font-weight:800; text-align:right;
  font-variant-numeric:tabular-nums;}}
.qs-alert .qs-count small {{font-size:calc(24*var(--u)); font-weight:600; margin-left:calc(2*var(--u));}}
.qs-alert .qs-what {{flex:0 0 auto; font-size:calc(28*var(--u)); font-weight:700; color:{TEXT};}}
.qs-alert.qs-two {{height:calc({ALERT_ROW2}*var(--u));}}
.qs-alert .qs-items {{flex:1 1 auto; min-width:0; font-size:calc(24*var(--u)); line-height:calc(31*var(--u));
  color:#dbe7ee; display:flex; flex-direction:column; overflow:hidden;}}
.qs-alert .qs-items span {{overflow:hidden; text-overflow:ellipsis; white-space:nowrap;}}
.qs-alert.qs-bad .qs-count {{color:#FF6B4A;}} .qs-alert.qs-warn .qs-count {{color:#F0B030;}}
.qs-alert.qs-ok .qs-count {{color:#3CC08F;}} .qs-alert.qs-ok .qs-items {{color:{MUTED};}}
.qs-alert.qs-bad {{box-shadow:inset calc(6*var(--u)) 0 0 #D55E00;}}
.qs-alert.qs-warn {{box-shadow:inset calc(6*var(--u)) 0 0 #E69F00;}}
.qs-alert.qs-ok {{box-shadow:inset calc(6*var(--u)) 0 0 #009E73;}}
.qs-side {{background:#12283a; border-radius:10px; padding:calc(10*var(--u)) calc(16*var(--u)); height:100%;
  overflow:hidden; box-sizing:border-box;}}
.qs-side h2 {{font-size:calc(28*var(--u)); color:{TEXT}; margin:0 0 calc(6*var(--u)) 0; padding:0; font-weight:700;
  height:calc({SIDE_H2 - 6}*var(--u)); line-height:calc({SIDE_H2 - 6}*var(--u));
  white-space:nowrap; overflow:hidden; text-overflow:ellipsis;}}
.qs-side ol {{margin:0 0 calc(14*var(--u)) 0; padding-left:0; list-style:none;}}
.qs-side li {{font-size:calc(24*var(--u)); line-height:calc({SIDE_LI}*var(--u)); color:{TEXT}; display:flex; justify-content:space-between;
  gap:calc(10*var(--u)); white-space:nowrap; overflow:hidden;}}
.qs-side li span:first-child {{overflow:hidden; text-overflow:ellipsis;}}
.qs-side li b {{color:#F0E442; font-weight:700; font-variant-numeric:tabular-nums;}}
.qs-side li b.qs-veto {{color:#FF6B4A;}}
.qs-side .qs-empty {{font-size:calc(24*var(--u)); color:{MUTED};}}
</style>""")

# The current time, ticking in the browser (the page itself reruns only every REFRESH seconds). One timer
# per page, whatever the number of reruns; it fills whichever .qs-now-time element the header has now.
st.html("""<script>
if (!window.__qsNow) {
  const pad = n => String(n).padStart(2, "0");
  const tick = () => {
    const d = new Date();
    const t = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
              pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
    document.querySelectorAll(".qs-now-time").forEach(e => { e.textContent = t; });
  };
  window.__qsNow = setInterval(tick, 1000);
  tick();
}
</script>""", unsafe_allow_javascript=True)


def esc(v) -> str:
    return html.escape(str(v))


def zh_date(d) -> str:
    d = pd.Timestamp(d)
    return f"{d.year}年{d.month}月{d.day}日"


# --- tiles ------------------------------------------------------------------------------------------

def tile(label: str, value: str, note: str = "", tone: str = "", change: str = "") -> str:
    small = ""
    if "/" in value:
        value, small = value.split("/", 1)
        small = f"<small>/{html.escape(small)}</small>"
    return (f'<div class="qs-tile {tone}"><div class="qs-label">{html.escape(label)}</div>'
            f'<div class="qs-value">{html.escape(value)}{small}</div>'
            f'<div class="qs-note">{html.escape(note)}</div>{change}</div>')


def change_line(t: W.Tile, changes: dict[str, int | None]) -> str:
    """``较上周 ↑+3 · 较上月 ↑+12`` under a tile: each change coloured by whether it is good for the figure
    (:func:`geo.wallboard.change_text`), ``— 上周无数据`` when the earlier day lies before the data."""
    parts = []
    for period in W.PERIODS:
        delta = changes.get(period)
        text, judged = W.change_text(delta, t.better, period)
        parts.append(f'<span class="qs-delta qs-{judged}" data-period="{period}" '
                     f'data-delta="{"" if delta is None else int(delta)}">{esc(text)}</span>')
    sep = '<span class="qs-sep">·</span>'
    return f'<div class="qs-change">{sep.join(parts)}</div>'


def tile_html(tiles: list[W.Tile], changes: dict[str, dict[str, int | None]]) -> list[str]:
    """The tiles as the wall shows them: label, figure, note and the changes since last week and month."""
    out = []
    for t in tiles:
        value = str(t.value) if t.total is None else f"{t.value}/{t.total}"
        out.append(tile(t.label, value, t.note, f"qs-{t.tone}" if t.tone else "",
                        change_line(t, changes.get(t.key, {}))))
    return out


# --- alerts and standing -----------------------------------------------------------------------------

def alert_rows(a: A.Alert) -> int:
    """Lines an alert takes on the strip: the worst item, and a second line when there are more."""
    return 2 if len(a.items) >= 2 else 1


def alerts_height(alerts: list[A.Alert]) -> int:
    """Height of the strip in --u units (the layout below it takes the rest)."""
    return sum(ALERT_ROW if alert_rows(a) == 1 else ALERT_ROW2 for a in alerts) + 12


def alert_strip(alerts: list[A.Alert]) -> str:
    """One row per alert source checked: count, what, the worst item and the next (all clear in green)."""
    order = {s: i for i, s in enumerate(A.SEVERITIES)}
    rows = []
    for a in sorted(alerts, key=lambda a: order[a.severity]):  # stable: source order within a severity
        if a.items:
            lines = list(a.items[:2])
            if len(a.items) > 2:
                lines[1] += f"　…另有{len(a.items) - 2}{a.unit}"
        else:
            lines = [a.note]
        items = "".join(f"<span>{esc(x)}</span>" for x in lines)
        count = "✓" if not a.active else f"{a.count}<small>{esc(a.unit)}</small>"
        two = " qs-two" if alert_rows(a) == 2 else ""
        rows.append(f'<div class="qs-alert qs-{a.severity}{two}" data-key="{esc(a.key)}" data-count="{a.count}">'
                    f'<span class="qs-count">{count}</span><span class="qs-what">{esc(a.label)}</span>'
                    f'<span class="qs-items">{items}</span></div>')
    return f'<div class="qs-alerts">{"".join(rows)}</div>'


def rank_rows(strip: int, figures: dict | None) -> int:
    """How many list rows the side panel holds under an alert strip ``strip`` units tall (1080p units;
    a 4K screen is the same layout at twice the size)."""
    height = 1080 - BODY - strip - GAP - 20  # the panel, less its padding
    rows = (height - SIDE_H2) // SIDE_LI
    if figures and (figures.get("patrols") or {}).get("visits_month") is not None:
        rows -= 4 + 1  # the patrol block: its heading and three rows, and the list's bottom margin
    return max(int(rows), 3)


def standing_panel(standing: pd.DataFrame, figures: dict | None, rows: int) -> str:
    """The township list, weakest first (the assessment with ranks and vetoes, else the completion of the
    townships that have targets), and this month's patrols once the casework tables exist."""
    parts = ['<div class="qs-side">']
    ranked = standing.attrs.get("kind") == "assessment"
    roomy = not ranked and len(standing) <= rows // 2  # few townships: say what each figure is made of
    items = []
    for r in standing.itertuples(index=False):
        name = f"{r.rank}. {r.township}" if ranked else r.township
        detail = f" <small>{esc(r.detail)}</small>" if roomy and r.detail else ""
        value = f'<b class="qs-veto">{esc(r.flag)}</b>' if r.flag else f"<b>{esc(r.text)}</b>"
        items.append(f"<li><span>{esc(name)}{detail}</span>{value}</li>")
    if len(items) > rows:
        items = items[:rows - 1] + [f'<li class="qs-empty"><span>{esc(W.rest_text(standing, rows - 1))}</span></li>']
    title = standing.attrs.get("title", "乡镇整治完成")
    parts.append(f"<h2>{esc(title)}</h2><ol>{''.join(items) or '<li class=qs-empty>暂无整治任务</li>'}</ol>")
    p = (figures or {}).get("patrols")
    if p and "visits_month" in p:
        parts.append(f"<h2>本月巡查</h2><ol><li><span>联合巡查</span><b>{p['joint_month']}次</b></li>"
                     f"<li><span>检查点位</span><b>{p['visits_month']}处</b></li>"
                     f"<li><span>发现违规</span><b>{p['violations_month']}处</b></li></ol>")
    parts.append("</div>")
    return "".join(parts)


# --- charts ------------------------------------------------------------------------------------------

#: Vega expression of the page's unit: 2 on a 4K screen, as the CSS --u (the chart cannot read CSS).
U = "(windowSize()[0] >= 2800 && windowSize()[1] >= 1500 ? 2 : 1)"
#: Chinese month labels: the year at January, the month otherwise.
MONTH_LABEL = ("month(datum.value) == 0 ? timeFormat(datum.value, '%Y年') : "
               "timeFormat(datum.value, '%-m月')")


def half_years(start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
    """Axis ticks: every January (labelled with the year) and July (``7月``) between ``start`` and ``end``;
    Januaries only when the span is too long for both to fit the panel."""
    months = (1, 7) if (end - start).days <= 1100 else (1,)
    ticks = pd.date_range(start.normalize().replace(day=1), end, freq="MS")
    return [d.strftime("%Y-%m-%d") for d in ticks if d.month in months]


def px(n: float) -> dict:
    return {"expr": f"{n} * {U}"}


def _dark(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return chart.configure(background="transparent", font="Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif",
                           padding=px(4)) \
        .configure_view(stroke=None) \
        .configure_axis(labelColor=TEXT, titleColor=MUTED, gridColor=GRID, domainColor="#4a6577",
                        tickColor="#4a6577", labelFontSize=px(24), titleFontSize=px(24), labelPadding=px(6),
                        tickSize=px(6), gridWidth=px(1), domainWidth=px(1))


def closure_chart(t: dict, as_of: pd.Timestamp) -> alt.TopLevelMixin:
    """Cumulative share done per campaign, the projection dashed to 100 %, deadlines in red, the data date."""
    ser, proj, camp = t["series"], t["projections"], t["campaigns"]
    keys = list(camp["campaign"])
    colour = alt.Scale(domain=keys, range=[CAMPAIGN_COLOURS.get(k, TEXT) for k in keys])
    x = alt.X("date:T", title=None, scale=alt.Scale(domain=[t["start"].isoformat(), t["end"].isoformat()]),
              axis=alt.Axis(labelExpr=MONTH_LABEL, values=half_years(t["start"], t["end"]), labelOverlap=False,
                            grid=False))
    y = alt.Y("share:Q", title=None, scale=alt.Scale(domain=[0, 1.08], nice=False, clamp=True),
              axis=alt.Axis(format=".0%", values=[0, 0.25, 0.5, 0.75, 1.0]))
    layers = [alt.Chart(pd.DataFrame({"share": [1.0]})).mark_rule(color=MUTED, strokeDash=[4, 4],
                                                                   strokeWidth=px(1.5)).encode(y="share:Q")]
    deadlines = camp.dropna(subset=["deadline"])
    if len(deadlines):  # the red rule stops at 100 % so that the projection's label above it stays clear
        dl = deadlines.groupby("deadline").size().reset_index()[["deadline"]].rename(columns={"deadline": "date"})
        dl["text"] = [f"期限{d.month}月{d.day}日" for d in dl["date"]]
        layers.append(alt.Chart(dl.assign(y0=0.0, y1=1.0)).mark_rule(color=DEADLINE_COLOUR, strokeWidth=px(3))
                      .encode(x="date:T", y="y0:Q", y2="y1:Q"))
        layers.append(alt.Chart(dl.assign(share=0.03)).mark_text(
            color=DEADLINE_COLOUR, fontSize=px(24), fontWeight="bold", angle=270, align="left", baseline="bottom",
            dx=px(-6)).encode(x="date:T", y="share:Q", text="text:N"))
    now = pd.DataFrame({"date": [as_of], "y0": [0.0], "y1": [1.0]})
    layers.append(alt.Chart(now).mark_rule(color=MUTED, strokeWidth=px(1.5), strokeDash=[2, 3])
                  .encode(x="date:T", y="y0:Q", y2="y1:Q"))
    if len(proj):
        layers.append(alt.Chart(proj).mark_line(strokeDash=[8, 6], strokeWidth=px(3)).encode(
            x=x, y=y, color=alt.Color("campaign:N", scale=colour, legend=None), detail="campaign:N"))
    layers.append(alt.Chart(ser).mark_line(interpolate="step-after", strokeWidth=px(4)).encode(
        x=x, y=y, color=alt.Color("campaign:N", scale=colour, legend=None)))
    # labels where each line ends today: which campaign, how far (no legend to look up)
    last = ser.sort_values("date").groupby("campaign").tail(1).copy()
    last["text"] = [f"{SHORT.get(k, k)} {100 * s:.0f}%" for k, s in zip(last["campaign"], last["share"])]
    last = _spread(last, "share", 0.11)
    layers.append(alt.Chart(last).mark_text(align="right", dx=px(-10), fontSize=px(24), fontWeight="bold",
                                            baseline="middle").encode(
        x="date:T", y=alt.Y("y:Q"), text="text:N", color=alt.Color("campaign:N", scale=colour, legend=None)))
    # where each projection reaches 100 %, above the line (only when clear of today's labels)
    ends = proj.sort_values("date").groupby("campaign").tail(1)
    ends = ends.merge(camp[["campaign", "projected_on"]], on="campaign")
    ends = ends[ends["projected_on"].notna() & (ends["projected_on"] > as_of + pd.Timedelta(days=45))]
    if len(ends):
        ends = ends.assign(text=[f"预计{d.year}年{d.month}月" + ("" if d <= e else "后")
                                 for d, e in zip(ends["projected_on"], ends["date"])], y=1.0)
        layers.append(alt.Chart(ends).mark_text(align="right", baseline="bottom", dy=px(-4), fontSize=px(24),
                                                fontWeight="bold").encode(
            x="date:T", y="y:Q", text="text:N", color=alt.Color("campaign:N", scale=colour, legend=None)))
    return _dark(alt.layer(*layers).properties(width="container", height="container"))


def _spread(df: pd.DataFrame, col: str, gap: float) -> pd.DataFrame:
    """``y`` = ``col`` nudged apart so that labels at close values do not overlap (at least ``gap``)."""
    df = df.sort_values(col).copy()
    ys = []
    for v in df[col]:
        ys.append(max(float(v), ys[-1] + gap) if ys else max(float(v), 0.04))
    df["y"] = ys
    return df


def water_chart(w: pd.DataFrame, as_of: pd.Timestamp) -> alt.TopLevelMixin:
    """Share of sections meeting target per month: bars, green when all meet, amber otherwise."""
    w = w.assign(tone=["all" if s >= 1 else "some" for s in w["share"]],
                 end=w["month"] + pd.Timedelta(days=24))  # a gap between months
    x = alt.X("month:T", title=None,  # one label a year: a narrow panel has no room for the months
              axis=alt.Axis(labelExpr=MONTH_LABEL, tickCount={"interval": "year", "step": 1}, grid=False))
    # a rect from the month's first to its last day (a bar with a ranged x would be drawn horizontally)
    bars = alt.Chart(w).mark_rect(cornerRadiusTopLeft=px(2), cornerRadiusTopRight=px(2)).encode(
        x=x, x2="end:T",
        y=alt.Y("share:Q", title=None, scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format=".0%", values=[0, 0.5, 0.8, 1.0])),
        y2=alt.datum(0),
        color=alt.Color("tone:N", scale=alt.Scale(domain=list(SHARE_TONES), range=list(SHARE_TONES.values())),
                        legend=None))  # the key is in the chart's title (share_key): no legend box to look up
    # the target: every section meeting its own class target (GB 3838), drawn as a line the bars reach
    target = alt.Chart(pd.DataFrame({"share": [1.0]})).mark_rule(color=MUTED, strokeDash=[6, 4],
                                                                 strokeWidth=px(2)).encode(y="share:Q")
    return _dark(alt.layer(bars, target).properties(width="container", height="container"))


#: Bar colours of the share chart: every section meets its target, or some do not (Okabe–Ito).
SHARE_TONES = {"all": "#009E73", "some": "#E69F00"}


def share_key() -> str:
    """The share chart's key, on the line under its title: what each colour and the dashed line mean."""
    return (f'<span class="qs-key" style="color:{SHARE_TONES["all"]}">■</span>全达标 '
            f'<span class="qs-key" style="color:{SHARE_TONES["some"]}">■</span>有未达标 ┄目标')


def share_note(w: pd.DataFrame) -> str:
    """``按月 · 6月 8/10``: the latest month's figure beside the chart's title."""
    if not len(w):
        return "按月 · 近三年"
    last = w.iloc[-1]
    return f"按月 · {last['month'].month}月 {int(last['meeting'])}/{int(last['sections'])}"


# --- data ------------------------------------------------------------------------------------------------

OPTIONAL = ("complaints", "inspections", "inspection_visits", "assessment_entries")


def _tables() -> dict[str, pd.DataFrame]:
    """The small tables the wall needs whole, and the optional casework ones the store has.

    Sites and their events are never loaded whole: the database replays them to the day (``_panel``)."""
    present = set(ui.get_store().tables())
    names = ["townships", "rivers", "waterbodies", "sampling_points", "meta"] + [t for t in OPTIONAL if t in present]
    # readings are never loaded whole either: the database reads what the wall shows (_panel)
    return ui.load_many(*names)


@st.cache_data(show_spinner=False, max_entries=8)
def _panel(version: str, as_of: dt.date) -> dict:
    day = pd.Timestamp(as_of)
    small = _tables()
    # the tiles are compared with the week and the month before, unless that day lies before the data
    first = _first_day(version)
    earlier = {p: d for p, d in W.earlier_days(day).items() if first is None or d.date() >= first}
    # the campaigns' done steps and the water share's monthly aggregation run in the database, in that
    # order, while this thread does the rest (the database works outside Python's lock: on the wall's
    # first draw they overlap); then the earlier days' tiles
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return _panel_rest(small, as_of, day, pool, earlier)


def _tiles_on(store, small: dict, day: pd.Timestamp) -> list[W.Tile]:
    """The tiles of an earlier ``day`` (:func:`geo.wallboard.tiles`, the one computation of the figures),
    on that day's snapshot as the database replays it: run in the panel's worker, no Streamlit call."""
    snap = progress.snapshot(store, day)
    readings = store.latest_sampling(day, tuple(small["sampling_points"]["id"].astype(str)))
    return W.tiles({**small, **snap, "readings": readings}, day, distance=BUFFER_M)["tiles"]


def _panel_rest(small: dict, as_of: dt.date, day: pd.Timestamp, pool, earlier: dict | None = None) -> dict:
    # the sites on the day as the database replays them, the campaigns' done steps counted by the database
    # (in the pool, while this thread goes on) and the history only of the sites changed since the
    # earliest day the wall looks back to (W.snapshot_args)
    snap = ui.status_snapshot(as_of, **W.snapshot_args(day, NEW_DAYS), submit=pool.submit)
    store = ui.get_store()
    share_job = pool.submit(W.water_share_from_store, store, small["sampling_points"], day)
    earlier_jobs = {p: pool.submit(_tiles_on, store, small, d) for p, d in (earlier or {}).items()}
    frames = {**small, **snap}
    # each point's last sampling day up to the date: all the water tile, the alerts and the assessment use
    frames["readings"] = ui.readings_query("latest_sampling", as_of, tuple(frames["sampling_points"]["id"].astype(str)))
    now = W.tiles(frames, day, distance=BUFFER_M)
    violations, classes, figures = now["violations"], now["classes"], now["figures"]
    alerts = A.collect(frames, day, new_days=NEW_DAYS, distance=BUFFER_M, snapshot=snap, riverside_now=violations)
    # the sites as the closure tiles count them, drawn by the map (which computes nothing itself)
    sites = {layer: progress.sites_as_of(snap, layer, as_of) for layer in ("enterprises", "kilns", "farms")}
    html_map = mapview.to_html(wall_map(frames, sites=sites, rotate_seconds=ROTATE, buffer_m=BUFFER_M,
                                        violations=violations, water_classes=classes))
    trends = W.closure_trends(snap, day)
    changes = W.tile_changes(now["tiles"], {p: earlier_jobs[p].result() if p in earlier_jobs else None
                                            for p in W.PERIODS})
    return {"tiles": tile_html(now["tiles"], changes), "changes": changes, "map": html_map, "alerts": alerts,
            "trends": trends, "standing": W.township_standing(frames, day, snapshot=snap), "figures": figures,
            "share": share_job.result(),
            # no site on the ledger and no sampling yet: the day lies before the data (geo.datecheck)
            "before_data": datecheck.holds_nothing({**snap, "readings": frames["readings"]})}


@st.cache_data(show_spinner=False, max_entries=4)
def _first_day(version: str) -> dt.date | None:
    """The data's first day (:func:`geo.datecheck.first_day`), asked only when a replayed day shows nothing."""
    first = datecheck.first_day(ui.get_store())
    return None if first is None else first.date()


def replay_date(report: dt.date) -> tuple[dt.date, str, str]:
    """The date to show: ``?as_of=YYYY-MM-DD`` (replay) or the data's report date.

    Returns the date, the mode (``live`` / ``replay``) and a notice when the
    asked date could not be used (shown in the header, the latest data instead). A day before the data
    is found once the day's snapshot is drawn (:func:`before_data_notice`).
    """
    asked = st.query_params.get("as_of")
    if not asked:
        return report, "live", ""
    try:  # the one reading of asked dates (geo.datecheck): malformed, or beyond what can be counted
        day = datecheck.parse_day(asked, "回放日期", "the replay date").date()
    except GeoError as exc:  # malformed (2007-02-30) or beyond what can be counted (0001-01-01)
        return report, "live", f"{exc.zh.rstrip('。')}，显示最新数据"
    if day > report:
        return report, "live", "回放日期晚于数据截至日期，显示最新数据"
    return day, "replay", ""


def before_data_notice(day: dt.date, first: dt.date | None) -> tuple[str, str]:
    """The header's notice when the replayed ``day`` lies before the data (the latest data are shown instead):
    a short line that fits beside the title, and the whole finding in both languages for its tooltip
    (:func:`geo.datecheck.before_data_message`, the pages' and commands' refusal)."""
    if first is None:
        return ("回放日期早于数据起始，显示最新数据",
                "回放日期早于数据的起始日期（该日还没有任何记录）。\nThe replay date is before the data begin "
                "(nothing recorded yet): the latest data are shown.")
    zh, en = datecheck.before_data_message(day, first, "回放日期", "the replay date")
    return f"回放日期早于数据起始（{first:%Y-%m-%d}），显示最新数据", f"{zh}\n{en} The latest data are shown."


def layout_css(strip: int) -> str:
    """Heights of the body's parts under an alert strip ``strip`` units tall: every level set, so nothing
    grows or scrolls."""
    body = f"calc(100vh - {BODY} * var(--u))"
    lower = f"calc(100vh - ({BODY} + {strip} + {GAP}) * var(--u))"
    chart = f"calc(100vh - ({BODY} + {strip} + {GAP} + {CHART_TITLE} + 12) * var(--u))"
    big = ", ".join(f"*:has(> .st-key-{k}), .st-key-{k}" for k in ("qs-body", "qs-map", "qs-right"))
    small = ", ".join(f"*:has(> .st-key-{k}), .st-key-{k}" for k in ("qs-lower", "qs-closure", "qs-water", "qs-rank"))
    keyed = f"calc(100vh - ({BODY} + {strip} + {GAP} + {CHART_TITLE} + {CHART_KEY} + 12) * var(--u))"
    charts, water = (f".st-key-{k} > [data-testid=stElementContainer]:has([data-testid=stVegaLiteChart])"
                     for k in ("qs-closure", "qs-water"))
    return (f"<style>{big} {{height:{body} !important;}} .st-key-qs-map iframe {{height:{body} !important;}}"
            f"{small} {{height:{lower} !important;}} {charts} {{height:{chart} !important;}}"
            f"{water} {{height:{keyed} !important;}}</style>")


def header(district: str, as_of: dt.date, mode: str, notice: str, notice_full: str = "") -> str:
    badge = '<span class="qs-replay">回放</span>' if mode == "replay" else ""
    title = f' title="{esc(notice_full)}"' if notice_full else ""  # the whole finding, both languages
    note = f'<span class="qs-notice"{title}>{esc(notice)}</span>' if notice else ""
    return (f'<div class="qs-head" data-refreshed="{dt.datetime.now():%H:%M:%S.%f}">'
            f'<h1>{esc(district)}生态整治监测</h1>{note}'
            f'<div class="qs-time"><span class="qs-asof" data-mode="{mode}" data-date="{as_of.isoformat()}" '
            f'title="数据截至 {as_of.year}年{as_of.month:02d}月{as_of.day:02d}日">{badge}'
            f'<span class="qs-asof-label">数据截至</span>{as_of.year}年{as_of.month:02d}月{as_of.day:02d}日</span>'
            f'<span class="qs-now">当前时间 <b class="qs-now-time">{dt.datetime.now():%Y-%m-%d %H:%M:%S}</b></span>'
            f'</div></div>')


@st.fragment(run_every=REFRESH)
def wall() -> None:
    report = ui.report_date()
    as_of, mode, notice = replay_date(report)
    version = ui.data_version()
    p = _panel(version, as_of)
    notice_full = ""
    if mode == "replay" and p["before_data"]:
        # figures of a day nothing had been recorded yet would all read 0: say so, show the latest instead
        notice, notice_full = before_data_notice(as_of, _first_day(version))
        as_of, mode = report, "live"
        p = _panel(version, as_of)
    meta = ui.load("meta")
    district = dict(zip(meta["key"], meta["value"])).get("district", "") if len(meta) else ""
    many = " qs-many" if len(p["tiles"]) > 5 else ""
    st.html(header(district, as_of, mode, notice, notice_full) + f'<div class="qs-tiles{many}">{"".join(p["tiles"])}</div>')
    day = pd.Timestamp(as_of)
    with st.container(horizontal=True, key="qs-body", gap=None):
        with st.container(key="qs-map"):
            mapview.show(p["map"], height="stretch")
        with st.container(key="qs-right", gap=None):
            st.html(alert_strip(p["alerts"]))
            # what the alerts leave of the column: the charts and the township list fill it exactly
            st.html(layout_css(alerts_height(p["alerts"])))
            with st.container(horizontal=True, key="qs-lower", gap=None):
                with st.container(key="qs-closure", gap=None):
                    st.html('<div class="qs-chart-title">关停整治累计进度<span>虚线：按近期进度推算'
                            '</span></div>')
                    st.altair_chart(closure_chart(p["trends"], day), height="stretch", theme=None)
                with st.container(key="qs-water", gap=None):
                    st.html(f'<div class="qs-chart-title">断面达标率<span>{esc(share_note(p["share"]))}</span></div>'
                            f'<div class="qs-chart-key">{share_key()}</div>')
                    if len(p["share"]):
                        st.altair_chart(water_chart(p["share"], day), height="stretch", theme=None)
                    else:
                        st.html('<div class="qs-side"><span class="qs-empty">近三年无断面监测数据</span></div>')
                with st.container(key="qs-rank"):
                    st.html(standing_panel(p["standing"], p["figures"],
                                          rows=rank_rows(alerts_height(p["alerts"]), p["figures"])))


wall()
