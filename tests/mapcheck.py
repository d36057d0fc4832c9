"""Open a map page in Chromium and read what it shows: legend swatches, scale bar, township labels, drawn symbols.

Shared by the browser tests (``tests/test_browser_maps.py``) and the screenshot
script (``scripts/screens``), so the screenshots in ``docs/screens/`` come from
exactly the pages the tests check.
"""
from __future__ import annotations

import re
import time

from tests.browser import Watch, map_frame, settle

#: page key → (path, viewport); the wall also at 4K
PAGES = {
    "overview": "/",
    "buffer": "/buffer",
    "water": "/water",
    "patrol": "/patrol",
    "wall": "/wall",
}

# Every swatch of every legend on the map: its role, label and the colour the browser actually paints.
LEGEND_JS = """() => {
  const hex = c => {
    const m = /rgba?\\((\\d+),\\s*(\\d+),\\s*(\\d+)/.exec(c || '');
    if (!m) return (c || '').toUpperCase();
    return '#' + [m[1], m[2], m[3]].map(v => (+v).toString(16).padStart(2, '0')).join('').toUpperCase();
  };
  return [...document.querySelectorAll('.qs-legend')].filter(b => b.offsetParent !== null).map(box => ({
    title: (box.querySelector('.qs-legend-title') || {}).textContent || '',
    rows: [...box.querySelectorAll('.qs-legend-row')].map(row => {
      const sw = row.querySelector('.qs-swatch'), cs = getComputedStyle(sw), path = sw.querySelector('path');
      let colour = null;
      if (sw.classList.contains('qs-shape')) colour = path ? path.getAttribute('fill') : null;
      else if (sw.classList.contains('qs-ring')) colour = hex(cs.borderTopColor);
      else if (sw.classList.contains('qs-cluster-key')) colour = null;
      else colour = hex(cs.backgroundColor);
      return {label: row.querySelector('.qs-legend-label').textContent, role: sw.dataset.role,
              shape: sw.dataset.shape || null, colour: colour && colour !== 'none' ? colour.toUpperCase() : null,
              declared: (sw.dataset.colour || '').toUpperCase() || null};
    }),
  }));
}"""

# Every symbol the map's point layers draw (clustered ones included): shape, fill and ring colours.
SYMBOLS_JS = """() => {
  const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] && window[k].eachLayer);
  const map = window[key], out = [];
  const visit = l => {
    if (l.qsData && l.getLayers) {  // a QS.points group: every marker, shown or clustered
      l.getLayers().forEach(m => out.push({shape: m.options.qsShape, fill: (m.options.fillColor || '').toUpperCase(),
                                           ring: m.options.qsRing ? m.options.qsRing.toUpperCase() : null}));
    }
  };
  map.eachLayer(visit);
  return out;
}"""


def open_page(ctx, base_url: str, key: str, *, timeout: float = 120.0, query: str = ""):
    """Open page ``key`` (planning the patrol first; ``query`` e.g. ``?as_of=…``), wait for its map to draw;
    return (page, frame, watch)."""
    page = ctx.new_page()
    watch = Watch(page, base_url)
    page.goto(base_url + PAGES[key] + query, wait_until="load")
    if key == "patrol":
        page.get_by_role("button", name="生成巡查路线").click()
        page.wait_for_selector("text=各组安排", timeout=timeout * 1000)
    frame = _plan_frame(page, timeout) if key == "patrol" else map_frame(page, timeout * 1000)
    frame.wait_for_selector(".qs-legend", state="attached", timeout=timeout * 1000)
    settle(page)
    return page, frame, watch


def _plan_frame(page, timeout: float):
    """The patrol page has two maps (the pick map in a closed expander): the plan's is the one with a depot."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for frame in page.frames:
            try:
                if frame.evaluate("() => !!(window.L && document.querySelector('.qs-icon'))"):
                    return frame
            except Exception:
                pass
        time.sleep(0.3)
    raise AssertionError("the patrol plan's map did not appear")


def show_map(page, frame) -> None:
    """Scroll the map into view (Streamlit scrolls its main block, not the window) and let it redraw."""
    page.evaluate("""() => {
      const frames = [...document.querySelectorAll('iframe')].filter(f => f.offsetParent !== null);
      const big = frames.sort((a, b) => b.getBoundingClientRect().height - a.getBoundingClientRect().height);
      const target = frames.find(f => { try { return !!f.contentDocument.querySelector('.qs-icon'); }
                                         catch (e) { return false; } }) || big[0];
      if (target) target.scrollIntoView({block: 'center'});
    }""")
    time.sleep(0.8)


def legends(frame) -> list[dict]:
    return frame.evaluate(LEGEND_JS)


def drawn_symbols(frame) -> list[dict]:
    return frame.evaluate(SYMBOLS_JS)


def scale_texts(frame) -> list[str]:
    return frame.eval_on_selector_all(".leaflet-control-scale-line", "els => els.map(e => e.textContent.trim())")


def township_labels(frame) -> list[str]:
    return frame.eval_on_selector_all(".qs-label", "els => els.map(e => e.textContent.trim())")


def page_text(page) -> str:
    """The visible text of the page and of every frame in it (maps are iframes)."""
    parts = []
    for f in page.frames:
        try:
            parts.append(f.evaluate("() => document.body ? document.body.innerText : ''"))
        except Exception:
            pass
    return "\n".join(parts)


RAW = re.compile(r"(?<![A-Za-z])(None|nan|NaN|NaT|undefined|null)(?![A-Za-z])")


def raw_values(text: str) -> list[str]:
    """Raw programming values leaking into the page text (``None``, ``nan``, ``NaT``, ``undefined``…)."""
    return sorted(set(RAW.findall(text)))


def colour_conflicts(boxes: list[dict]) -> list[str]:
    """Colours that one legend paints for two meanings (hollow shape rows and notes carry no colour)."""
    out = []
    for box in boxes:
        seen: dict[str, str] = {}
        for r in box["rows"]:
            if r["role"] in ("shape", "note") or not r["colour"]:
                continue
            if r["colour"] in seen and seen[r["colour"]] != r["label"]:
                out.append(f"{box['title']}: {r['colour']} = {seen[r['colour']]!r} and {r['label']!r}")
            seen.setdefault(r["colour"], r["label"])
    return out
