"""The wall screen in headless Chromium at 1920×1080 and 3840×2160: what a director reads from 4 m.

No scrolling; the alert strip with the late chemical park campaign; both trend charts drawn; KPI numbers
≥ 64 px and every text ≥ 24 px (twice that at 4K); the data date the most prominent time, the current time
labelled; no raw values; the map fitted to the district and clear of its legend; replay on a past date.
"""
from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.browser import Watch, browser, map_frame, serve, settle

SIZES = [(1920, 1080), (3840, 2160)]
DAY = pd.Timestamp("2007-06-30")

# Visible elements with their own text (not just children's) whose font is smaller than `min` px.
SMALL_TEXT = """(min) => {
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    if (['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(e.tagName)) continue;
    const own = [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent.trim()).join('');
    if (!own) continue;
    const r = e.getBoundingClientRect(), cs = getComputedStyle(e);
    if (r.width <= 1 || r.height <= 1 || cs.visibility === 'hidden' || cs.display === 'none') continue;
    // off screen or clipped to nothing: Streamlit's "skip to main content" link for keyboard users
    if (r.right <= 0 || r.bottom <= 0 || r.left >= innerWidth || r.top >= innerHeight) continue;
    if (cs.position === 'absolute' && (cs.clip === 'rect(0px, 0px, 0px, 0px)' || cs.clipPath === 'inset(50%)')) continue;
    let hidden = false;
    for (let p = e; p; p = p.parentElement) { if (getComputedStyle(p).display === 'none') { hidden = true; break; } }
    if (hidden) continue;
    const size = parseFloat(cs.fontSize);
    if (size < min - 0.01) out.push(`${own.slice(0, 30)} (${e.tagName}.${e.getAttribute('class') || ''}): ${size}px`);
  }
  return out;
}"""
RAW = re.compile(r"\b(None|nan|NaN|NaT|null|undefined)\b|<NA>")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import shutil

    from tests.conftest import DEMO

    d = tmp_path_factory.mktemp("wall")
    shutil.copyfile(DEMO, d / "store.gpkg")
    cfg = d / "qingshan.toml"
    cfg.write_text("[wall]\nrotate_seconds = 600\nrefresh_seconds = 600\n")
    with serve(d / "store.gpkg", env={"QINGSHAN_CONFIG": str(cfg)}) as url:
        yield url


@pytest.fixture(scope="module")
def expected(demo_frames):
    """What the wall must say, from the domain (so the test follows the data, not a copy of it)."""
    from geo import alerts, progress

    frames = progress.prepare(demo_frames)
    return {day: {a.key: a for a in alerts.collect(frames, day)} for day in (DAY, pd.Timestamp("2006-06-30"))}


def _open(ctx, url):
    page = ctx.new_page()
    watch = Watch(page, url)
    page.goto(url, wait_until="load")
    page.wait_for_selector(".qs-alerts")
    frame = map_frame(page)
    page.wait_for_function("""() => {
      const els = [...document.querySelectorAll('[data-testid=stVegaLiteChart] svg, [data-testid=stVegaLiteChart] canvas')];
      return els.length >= 2 && els.every(e => e.getBoundingClientRect().height > 50);
    }""", timeout=60000)
    settle(page)
    return page, frame, watch


@pytest.mark.parametrize("size", SIZES, ids=["1080p", "4k"])
def test_wall_reads_from_four_metres(server, size, expected, demo_frames):
    u = 2 if size[0] >= 3840 else 1
    with browser(viewport=size) as ctx:
        page, frame, watch = _open(ctx, server + "/wall")
        # no scrolling, either way
        dims = page.evaluate("""() => {
          const main = document.querySelector('[data-testid=stMain]') || document.scrollingElement;
          return {doc: document.scrollingElement.scrollHeight, main: main.scrollHeight, inner: innerHeight,
                  docw: document.scrollingElement.scrollWidth, mainw: main.scrollWidth, innerw: innerWidth};
        }""")
        assert dims["doc"] <= dims["inner"] and dims["main"] <= dims["inner"], dims
        assert dims["docw"] <= dims["innerw"] and dims["mainw"] <= dims["innerw"], dims
        for sel in (".qs-head", ".qs-tiles", ".qs-alerts", ".st-key-qs-map iframe", ".st-key-qs-closure",
                    ".st-key-qs-water", ".st-key-qs-rank"):
            box = page.locator(sel).first.bounding_box()
            assert box and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= size[0] + 1 \
                and box["y"] + box["height"] <= size[1] + 1, (sel, box)

        # the alert strip: the late chemical park campaign, with the count the domain computes
        want = expected[DAY]
        row = page.locator('.qs-alert[data-key="campaigns"]')
        assert int(row.get_attribute("data-count")) == want["campaigns"].count >= 1
        assert "化工园区关停：预计2008年3月26日完成" in row.inner_text()
        keys = page.eval_on_selector_all(".qs-alert", "els => els.map(e => e.dataset.key)")
        assert sorted(keys) == sorted(want)  # every checked source, and no placeholder for an absent one
        for key, a in want.items():
            assert int(page.get_attribute(f'.qs-alert[data-key="{key}"]', "data-count")) == a.count

        # both charts drawn: the closure lines (done and projected) and one bar a month
        charts = page.eval_on_selector_all("[data-testid=stVegaLiteChart]", """els => els.map(e => {
          const g = e.querySelector('svg, canvas').getBoundingClientRect();
          return {w: g.width, h: g.height, lines: e.querySelectorAll('g.mark-line path').length,
                  rects: e.querySelectorAll('g.mark-rect path').length};
        })""")
        assert len(charts) == 2
        assert all(c["w"] > 250 * u and c["h"] > 250 * u for c in charts), charts
        assert charts[0]["lines"] >= 4 and charts[1]["rects"] >= 24, charts
        # every chart says what its marks mean, whole (not cut by the title's width): the share chart's key
        # names both bar colours and its target line, drawn as a rule at 100 %
        titles = page.eval_on_selector_all(".qs-chart-title, .qs-chart-key", """els => els.map(e => ({
          text: e.innerText, cut: e.scrollWidth > e.clientWidth + 1}))""")
        assert len(titles) == 3 and not [t for t in titles if t["cut"]], titles
        key = titles[2]["text"]
        assert "全达标" in key and "有未达标" in key and "┄目标" in key, titles
        assert page.locator(".st-key-qs-water g.mark-rule path, .st-key-qs-water g.mark-rule line").count() >= 1

        # readable: KPI numbers ≥ 64 px at 1080p, every text ≥ 24 px (both × 2 at 4K), map included
        kpi = page.eval_on_selector_all(".qs-value", "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
        assert len(kpi) >= 5 and min(kpi) >= 64 * u, kpi
        assert page.evaluate(SMALL_TEXT, 24 * u) == []
        assert frame.evaluate(SMALL_TEXT, 24 * u) == []
        svg_text = page.eval_on_selector_all("[data-testid=stVegaLiteChart] svg text",
                                             "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
        assert svg_text and min(svg_text) >= 24 * u, svg_text
        labels = page.eval_on_selector_all("[data-testid=stVegaLiteChart] svg text", "els => els.map(e => e.textContent)")
        assert sum(bool(re.fullmatch(r"\d{4}年", t)) for t in labels) >= 4  # Chinese dates on both time axes
        assert not [t for t in labels if re.search(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b", t)]

        # time: the data date is the most prominent time; the current time is labelled as such
        asof = page.locator(".qs-asof")
        assert "数据截至" in asof.inner_text() and "2007年06月30日" in asof.inner_text()
        now = page.locator(".qs-now")
        assert now.inner_text().startswith("当前时间")
        big = page.evaluate("""() => {
          const f = s => parseFloat(getComputedStyle(document.querySelector(s)).fontSize);
          return {asof: f('.qs-asof'), now: f('.qs-now'), nowTime: f('.qs-now-time')};
        }""")
        assert big["asof"] > 1.5 * max(big["now"], big["nowTime"]), big
        assert frame.locator(".qs-clock").count() == 0  # no unlabelled clock on the map

        # no raw values anywhere a director looks
        text = page.inner_text("body") + "\n" + frame.inner_text("body")
        assert not RAW.search(text), RAW.search(text)

        # the map: fitted to the district, left of the legend, in a frame not much wider than needed
        minx, miny, maxx, maxy = demo_frames["townships"].total_bounds
        fit = frame.evaluate("""(b) => {
          const k = Object.keys(window).find(k => k.startsWith('map_') && window[k].getBounds);
          const m = window[k], size = m.getSize();
          const nw = m.latLngToContainerPoint([b[3], b[0]]), se = m.latLngToContainerPoint([b[1], b[2]]);
          const legends = [...document.querySelectorAll('.qs-legend')].filter(e => e.getBoundingClientRect().width > 0)
            .map(e => e.getBoundingClientRect());
          return {w: size.x, h: size.y, left: nw.x, top: nw.y, right: se.x, bottom: se.y,
                  legendLeft: Math.min(...legends.map(r => r.left))};
        }""", [float(minx), float(miny), float(maxx), float(maxy)])
        assert fit["top"] >= -2 and fit["left"] >= -2 and fit["bottom"] <= fit["h"] + 2 and fit["right"] <= fit["w"] + 2
        assert (fit["bottom"] - fit["top"]) >= 0.85 * fit["h"] or (fit["right"] - fit["left"]) >= 0.85 * fit["w"], fit
        assert fit["right"] <= fit["legendLeft"] + 2, fit  # the legend does not cover the district
        assert (fit["right"] - fit["left"]) >= 0.4 * fit["w"], fit  # not a sliver in a wide frame
        assert watch.external == [] and watch.errors == []


def test_replay_shows_the_past_date_with_its_figures_and_alerts(server, expected, demo_frames):
    from geo import progress

    day = pd.Timestamp("2006-06-30")
    with browser() as ctx:
        page, frame, watch = _open(ctx, server + "/wall?as_of=2006-06-30")
        asof = page.locator(".qs-asof")
        assert asof.get_attribute("data-mode") == "replay" and asof.get_attribute("data-date") == "2006-06-30"
        assert "回放" in asof.inner_text() and "2006年06月30日" in asof.inner_text()
        k = progress.kpis(progress.prepare(demo_frames), day)["chemical"]
        assert page.locator(".qs-tile").first.inner_text().replace("\n", "").startswith(
            f"化工企业关停{k['closed']}/{k['targets']}")
        want = expected[day]
        for key, a in want.items():
            assert int(page.get_attribute(f'.qs-alert[data-key="{key}"]', "data-count")) == a.count
        assert "化工园区关停" not in page.inner_text(".qs-alerts")  # on pace a year before its deadline
        # the riverside tile (whose violations the map draws) and the closure chart, as of that day
        from geo import buffers, wallboard

        frames = progress.prepare(demo_frames)
        n = len(buffers.check(frames, distance=200, as_of=day))
        tiles = page.eval_on_selector_all(".qs-tile", "els => els.map(e => e.innerText.replace(/\\n/g, ''))")
        assert any(t.startswith(f"沿河200米违规（在产）{n}") for t in tiles), tiles
        t = wallboard.closure_trends(frames, day)
        chem = t["series"][t["series"]["campaign"] == "chemical"].iloc[-1]
        labels = page.eval_on_selector_all("[data-testid=stVegaLiteChart] svg text", "els => els.map(e => e.textContent)")
        assert f"化工园区 {100 * chem['share']:.0f}%" in labels and chem["date"] == day
        # the lime tile and its line in the chart are one figure (done as the campaign defines it)
        lime = progress.kpis(frames, day)["lime"]
        assert any(t.startswith(f"石灰窑（棚）整治{lime['done']}/{lime['targets']}") for t in tiles), tiles
        line = t["series"][t["series"]["campaign"] == "lime"].iloc[-1]
        assert f"石灰窑（棚） {100 * line['share']:.0f}%" in labels
        assert round(100 * line["share"]) == round(100 * lime["done"] / lime["targets"])
        assert watch.errors == []


@pytest.mark.parametrize("asked", ["2007-02-30", "2030-01-01"])
def test_replay_date_refused_plainly(server, asked):
    with browser() as ctx:
        page, frame, watch = _open(ctx, server + f"/wall?as_of={asked}")
        asof = page.locator(".qs-asof")
        assert asof.get_attribute("data-mode") == "live" and "2007年06月30日" in asof.inner_text()
        notice = page.inner_text(".qs-notice")
        assert "回放日期" in notice and "显示最新数据" in notice
        assert "Traceback" not in page.inner_text("body") and watch.errors == []
