"""In a real browser: every page's visible text (maps and tables included) is free of raw values,
and the patrol map draws its depot as an icon with legible stop numbers."""
from __future__ import annotations

import time

import pytest

from tests.browser import Watch, browser, serve
from tests.test_no_raw_values import raw_tokens

PAGES = ["", "progress", "buffer", "water", "patrol", "complaints", "inspect", "site", "assess", "data", "wall"]

VISIBLE_TEXT = "() => document.body ? document.body.innerText : ''"
GRID_TEXT = "els => els.map(e => e.textContent)"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import shutil

    from tests.conftest import DEMO

    d = tmp_path_factory.mktemp("outputs")
    shutil.copyfile(DEMO, d / "store.gpkg")
    with serve(d / "store.gpkg") as url:
        yield url


def _settle(page, timeout: float = 60.0) -> None:
    """Wait until Streamlit has finished running the page (no running indicator for a moment)."""
    deadline = time.time() + timeout
    quiet = 0
    while time.time() < deadline:
        running = page.locator("[data-testid='stStatusWidget']").count()
        quiet = quiet + 1 if not running else 0
        if quiet >= 4:
            return
        time.sleep(0.5)


def _all_text(page) -> str:
    """Visible text of the page and of every frame (maps), plus table cells, scrolled through the page."""
    parts = []
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]')?.scrollHeight || 2000")
    for y in range(0, int(height) + 800, 700):
        page.evaluate(f"() => {{const m = document.querySelector('[data-testid=stMain]'); if (m) m.scrollTo(0, {y});"
                      f" window.scrollTo(0, {y});}}")
        time.sleep(0.3)
        parts += page.eval_on_selector_all("[role=gridcell], [role=columnheader]", GRID_TEXT)
    for frame in page.frames:
        try:
            # a frame inside a closed expander is not rendered: its innerText would be its raw source
            if frame.parent_frame is not None and not frame.frame_element().is_visible():
                continue
            parts.append(frame.evaluate(VISIBLE_TEXT))
        except Exception:  # noqa: BLE001 - a frame navigating away
            continue
    return "\n".join(parts)


def test_every_page_shows_nothing_raw(server):
    found = {}
    with browser((1600, 1000)) as ctx:
        for path in PAGES:
            page = ctx.new_page()
            watch = Watch(page, server)
            page.goto(f"{server}/{path}", wait_until="load")
            _settle(page)
            if path == "patrol":
                page.get_by_role("button", name="生成巡查路线").click()
                _settle(page, 120)
            text = _all_text(page)
            assert len(text) > 100, path  # the page drew something
            hits = raw_tokens(text)
            if hits:
                found[path or "overview"] = hits[:10]
            assert watch.errors == [], (path, watch.errors)
            page.close()
    assert found == {}


def test_patrol_map_depot_icon_and_legible_numbers(server):
    with browser((1600, 1100)) as ctx:
        page = ctx.new_page()
        page.goto(f"{server}/patrol", wait_until="load")
        _settle(page)
        page.get_by_role("button", name="生成巡查路线").click()
        _settle(page, 120)
        frame = None
        deadline = time.time() + 60
        while frame is None and time.time() < deadline:
            for f in page.frames:
                try:
                    if f.evaluate("() => !!document.querySelector('.qs-icon svg')"):
                        frame = f
                except Exception:  # noqa: BLE001
                    pass
            time.sleep(0.5)
        assert frame is not None, "no patrol map with a depot icon"
        depot = frame.eval_on_selector(".qs-icon svg", "e => {const r = e.getBoundingClientRect(); "
                                                       "return [r.x + r.width / 2, r.y + r.height / 2, r.width, r.height]}")
        assert depot[2] >= 20 and depot[3] >= 20  # drawn at its size, not an empty box
        # the numbered stop symbols (canvas) where the map draws them when it opens
        stops, inside = frame.evaluate("""() => {
          const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] && window[k].getBounds);
          const m = window[key], b = m.getBounds(), box = m.getContainer().getBoundingClientRect();
          const out = []; let n = 0, ok = 0;
          m.eachLayer(l => {
            if (l.options && l.options.qsText) {
              const p = m.latLngToContainerPoint(l.getLatLng());
              out.push([p.x + box.x, p.y + box.y, l.options.radius]);
            }
            if (l.options && l.options.qsIndex !== undefined) { n += 1; if (b.contains(l.getLatLng())) ok += 1; }
          });
          return [out, [n, ok]];
        }""")
        assert len(stops) >= 5
        clashes = [(i, j) for i in range(len(stops)) for j in range(i)
                   if ((stops[i][0] - stops[j][0]) ** 2 + (stops[i][1] - stops[j][1]) ** 2) ** 0.5
                   < 0.9 * (stops[i][2] + stops[j][2])]
        assert clashes == [], clashes
        near_depot = [s for s in stops if ((s[0] - depot[0]) ** 2 + (s[1] - depot[1]) ** 2) ** 0.5
                      < s[2] + depot[2] / 2 - 2]
        assert near_depot == []
        # every stop, dropped ones too, lies inside the map's view when it opens
        assert inside[0] > 0 and inside[0] == inside[1]
