"""The complaints map in Chromium: pins over the townships, and a pin's popup link opens that site's file."""
from __future__ import annotations

import shutil
import time

import pytest

from tests.browser import Watch, browser, map_frame, serve

# Opens the popup of the first pin whose popup links to a site file; returns the pin's texts and the link.
OPEN_LINKED = """() => {
  const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] && window[k].eachLayer);
  const map = window[key];
  const pins = [];
  map.eachLayer(l => { if (l instanceof L.CircleMarker && l.options.qsIndex !== undefined) pins.push(l); });
  for (const l of pins) {
    const owner = Object.values(l._eventParents || {}).find(p => p._popup);
    if (!owner) continue;
    l.fire('click', {latlng: l.getLatLng()}, true);
    const a = document.querySelector('.leaflet-popup-content a.qs-popup-link');
    if (a) return {pins: pins.length, href: a.getAttribute('href'), target: a.target,
                   text: document.querySelector('.leaflet-popup-content').textContent};
    map.closePopup();
  }
  return {pins: pins.length, href: null};
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.conftest import DEMO

    d = tmp_path_factory.mktemp("complaints")
    shutil.copyfile(DEMO, d / "store.gpkg")
    with serve(d / "store.gpkg") as url:
        yield url


def test_complaint_pin_links_to_the_site_file(server):
    url = server
    with browser((1400, 1000)) as ctx:
        page = ctx.new_page()
        watch = Watch(page, url)
        page.goto(url + "/complaints", wait_until="load")
        frame = map_frame(page, timeout=90000)
        deadline = time.time() + 30
        got = {"pins": 0}
        while time.time() < deadline and not got.get("href"):
            got = frame.evaluate(OPEN_LINKED)
            time.sleep(0.5)
        assert got["pins"] == 36, got  # every complaint of the demo's half year, each a pin
        assert got["href"].startswith("/site?layer=") and got["target"] == "_blank", got
        assert "办理状态已办结" in got["text"].replace(" ", ""), got
        # a real click on the link opens the site's file in a new tab (the map's iframe may open popups)
        with ctx.expect_page(timeout=30000) as new:
            frame.locator(".leaflet-popup-content a.qs-popup-link").click()
        site = new.value
        site.wait_for_load_state("load")
        assert site.url == url + got["href"]
        site.get_by_text("一企一档 · ", exact=False).first.wait_for(timeout=60000)
        site.get_by_text("基本情况", exact=True).first.wait_for(timeout=60000)
        assert watch.errors == [] and watch.external == [], (watch.errors, watch.external)
