"""大屏 /wall: the unattended wall screen (1920×1080 or 4K), readable from 4 m.

Dark, no scrolling, no Streamlit chrome. KPI tiles on top, a map below that
rotates between the closure, riverside and water views; the figures refresh
every M seconds without reloading the page (a fragment rerun), and the map is
rebuilt only when the data version changes.
"""
from __future__ import annotations

import datetime as dt
import html

import streamlit as st

import ui
from geo import buffers, config, progress, water
from layers import mapview
from layers.wall import wall_map

ROTATE = int(config.get("wall", "rotate_seconds", 20))
REFRESH = int(config.get("wall", "refresh_seconds", 60))
BUFFER_M = float(config.get("wall", "buffer_m", 200))
HEADER_PX, TILES_PX = 64, 196

st.html(f"""<style>
/* Every size is a multiple of --u: 1 px on a 1920×1080 screen, 2 px on a 4K one at 100 % scaling. */
:root {{--u:1px;}}
@media (min-width:2800px) and (min-height:1500px) {{:root {{--u:2px;}}}}
header[data-testid="stHeader"], [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"], footer {{display:none !important;}}
.stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] {{background:#0b1620 !important; color:#e8f1f5;}}
[data-testid="stMainBlockContainer"], .block-container {{padding:calc(8*var(--u)) calc(16*var(--u)) 0 calc(16*var(--u)) !important;
  max-width:100% !important;}}
html, body, [data-testid="stAppViewContainer"], [data-testid="stMain"] {{overflow:hidden !important;}}
[data-testid="stVerticalBlock"] {{gap:calc(8*var(--u)) !important;}}
[data-testid="stHorizontalBlock"] {{gap:calc(12*var(--u)) !important;}}
[data-testid="stElementContainer"]:has(> iframe) {{height:auto !important;}}
.qs-head {{display:flex; align-items:baseline; justify-content:space-between; height:calc({HEADER_PX - 8}*var(--u));}}
.qs-head h1 {{font-size:calc(40*var(--u)); margin:0; padding:0; color:#e8f1f5; font-weight:800; letter-spacing:2px;}}
.qs-head .qs-asof {{font-size:calc(26*var(--u)); color:#9fb8c8;}}
.qs-tiles {{display:grid; grid-template-columns:repeat(5, 1fr); gap:calc(12*var(--u)); height:calc({TILES_PX - 12}*var(--u));}}
.qs-tile {{background:#12283a; border-radius:10px; padding:calc(10*var(--u)) calc(16*var(--u));
  border-left:calc(8*var(--u)) solid #009E73; overflow:hidden;}}
.qs-tile.qs-warn {{border-left-color:#E69F00;}} .qs-tile.qs-bad {{border-left-color:#D55E00;}}
.qs-tile .qs-label {{font-size:calc(26*var(--u)); color:#9fb8c8; white-space:nowrap;}}
.qs-tile .qs-value {{font-size:calc(64*var(--u)); font-weight:800; line-height:1.1; color:#ffffff; white-space:nowrap;}}
.qs-tile .qs-value small {{font-size:calc(34*var(--u)); color:#c9d8e2; font-weight:600;}}
.qs-tile .qs-note {{font-size:calc(24*var(--u)); color:#c9d8e2; white-space:nowrap;}}
iframe {{height:calc(100vh - {HEADER_PX + TILES_PX + 16}*var(--u)) !important; min-height:480px; border-radius:10px;}}
.qs-side {{background:#12283a; border-radius:10px; padding:calc(12*var(--u)) calc(18*var(--u));
  height:calc(100vh - {HEADER_PX + TILES_PX + 16}*var(--u)); min-height:480px; overflow:hidden; box-sizing:border-box;}}
.qs-side h2 {{font-size:calc(28*var(--u)); color:#e8f1f5; margin:calc(4*var(--u)) 0 calc(8*var(--u)) 0; padding:0;
  font-weight:700;}}
.qs-side ol {{margin:0 0 calc(18*var(--u)) 0; padding-left:0; list-style:none;}}
.qs-side li {{font-size:calc(24*var(--u)); line-height:1.55; color:#e8f1f5; display:flex; justify-content:space-between;
  gap:calc(12*var(--u)); white-space:nowrap; overflow:hidden;}}
.qs-side li span:first-child {{overflow:hidden; text-overflow:ellipsis;}}
.qs-side li b {{color:#F0E442; font-weight:700;}}
.qs-side .qs-empty {{font-size:calc(22*var(--u)); color:#9fb8c8;}}
</style>""")


def tile(label: str, value: str, note: str = "", tone: str = "") -> str:
    small = ""
    if "/" in value:
        value, small = value.split("/", 1)
        small = f"<small>/{html.escape(small)}</small>"
    return (f'<div class="qs-tile {tone}"><div class="qs-label">{html.escape(label)}</div>'
            f'<div class="qs-value">{html.escape(value)}{small}</div>'
            f'<div class="qs-note">{html.escape(note)}</div></div>')


def closure_tiles(frames, as_of) -> list[str]:
    k = progress.kpis(frames, as_of)
    chem, lime, live = k["chemical"], k["lime"], k["livestock"]
    days = chem.get("days_to_deadline")
    note = f"距{chem['deadline']:%m月%d日}期限 {days} 天" if days is not None and days >= 0 else \
        (f"已超期 {-days} 天" if days is not None else "")
    out = [tile("化工企业关停", f"{chem['closed']}/{chem['targets']}", note,
                "" if (chem["rate"] or 0) >= 1 else ("qs-warn" if days is None or days >= 0 else "qs-bad"))]
    closed = lime["kilns_closed"] + lime["sheds_closed"]
    out.append(tile("石灰窑（棚）关停", f"{closed}/{lime['kilns'] + lime['sheds']}",
                    f"窑{lime['kilns_closed']} 棚{lime['sheds_closed']} · 改建搬迁{lime['kilns_rebuilt_or_relocated']}",
                    "" if (lime["rate"] or 0) >= 1 else "qs-warn"))
    ldays = live.get("days_to_deadline")
    out.append(tile("养殖场治理", f"{live['done']}/{live['targets']}",
                    f"治理中 {live['treating']} 家" + (f" · 距期限 {ldays} 天" if ldays is not None and ldays >= 0 else ""),
                    "" if (live["rate"] or 0) >= 1 else "qs-warn"))
    return out


def side_panel(frames, as_of, violations) -> str:
    """Right-hand lists: townships by completion (lowest first) and the riverside violations nearest the water."""
    parts = ['<div class="qs-side">']
    rank = progress.township_ranking(frames, as_of).dropna(subset=["score"]).sort_values("score").head(6)
    rows = "".join(f"<li><span>{html.escape(str(t))}</span><b>{s:.0f}分</b></li>"
                   for t, s in zip(rank["township"], rank["score"]))
    parts.append(f"<h2>乡镇得分（后六位）</h2><ol>{rows or '<li class=qs-empty>暂无</li>'}</ol>")
    if violations is not None:
        near = violations.sort_values("distance_m").head(7)
        rows = "".join(f"<li><span>{html.escape(str(n))}</span><b>{d:.0f}米</b></li>"
                       for n, d in zip(near["name"], near["distance_m"]))
        parts.append(f"<h2>沿河违规 · 距水最近</h2><ol>{rows or '<li class=qs-empty>无</li>'}</ol>")
    parts.append("</div>")
    return "".join(parts)


def buffer_tile(frames, as_of):
    v = buffers.check(frames, distance=BUFFER_M, as_of=as_of)
    n = len(v)
    by = v["layer"].value_counts() if n else {}
    note = f"养殖场{by.get('farms', 0)} 企业{by.get('enterprises', 0)} 窑棚{by.get('kilns', 0)}"
    return tile(f"沿河{BUFFER_M:g}米违规（在产）", str(n), note, "qs-bad" if n else ""), v


def water_tile(frames, as_of):
    a = water.latest_assessment(frames, as_of=as_of)
    sections = a[a["id"].isin(frames["sampling_points"].query("kind == 'section'")["id"])] \
        if "id" in a.columns else a
    met = int(sections["meets"].fillna(False).astype(bool).sum())
    total = int(sections["class"].notna().sum())
    outfalls = a[a["kind"] == "outfall"] if "kind" in a.columns else a.iloc[:0]
    judged = outfalls[outfalls["verdict"].isin(["达标", "超标"])]
    over = int((judged["verdict"] == "超标").sum())
    # outfalls are judged by GB 8978-1996, never counted among the GB 3838 sections
    note = f"排污口超标 {over}/{len(judged)}（GB 8978）" if len(judged) else "按 GB 3838-2002 单因子评价"
    return tile("水质达标断面", f"{met}/{total}", note,
                "qs-bad" if over else ("" if met == total else "qs-warn")), a


@st.cache_data(show_spinner=False, max_entries=8)
def _panel(version: str, as_of: dt.date):
    frames = progress.prepare(ui.load_many("townships", "rivers", "waterbodies", "enterprises", "kilns", "farms",
                                           "sampling_points", "readings", "status_events", "meta"))
    tiles = closure_tiles(frames, as_of)
    bt, violations = buffer_tile(frames, as_of)
    wt, classes = water_tile(frames, as_of)
    tiles += [bt, wt]
    # the sites as the closure tiles count them, drawn by the map (which computes nothing itself)
    sites = {layer: progress.sites_as_of(frames, layer, as_of) for layer in ("enterprises", "kilns", "farms")}
    html_map = mapview.to_html(wall_map(frames, sites=sites, rotate_seconds=ROTATE, buffer_m=BUFFER_M,
                                        violations=violations, water_classes=classes))
    return tiles, html_map, side_panel(frames, as_of, violations)


@st.fragment(run_every=REFRESH)
def wall() -> None:
    as_of = ui.report_date()
    tiles, html_map, side = _panel(ui.data_version(), as_of)
    meta = ui.load("meta")
    district = dict(zip(meta["key"], meta["value"])).get("district", "") if len(meta) else ""
    st.html(f'<div class="qs-head"><h1>{html.escape(district)}生态整治监测</h1>'
            f'<span class="qs-asof">数据截至 {as_of:%Y年%m月%d日} · 刷新于 {dt.datetime.now():%H:%M:%S}</span></div>'
            f'<div class="qs-tiles">{"".join(tiles)}</div>')
    left, right = st.columns([3, 1], gap="small")
    with left:
        mapview.show(html_map, height=780)
    with right:
        st.html(side)


wall()
