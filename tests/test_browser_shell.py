"""Browser tests of the shell in headless Chromium: offline, layers drawn, the wall fits the screen."""
import time

import pytest

from tests.browser import Watch, browser, map_frame, serve, settle

# Sites drawn by the map's point layers, counting those merged into a cluster at the current zoom.
COUNT_MARKERS = """() => {
  const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] && window[k].eachLayer);
  let n = 0; window[key].eachLayer(l => { if (l.qsData && l.getLayers) n += l.getLayers().length; });
  return n;
}"""
COUNT_SHAPES = """() => {
  const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] && window[k].eachLayer);
  let n = 0; window[key].eachLayer(l => { if (l instanceof L.Polyline) n += 1; });
  return n;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import shutil

    from tests.conftest import DEMO

    d = tmp_path_factory.mktemp("shell")
    shutil.copyfile(DEMO, d / "store.gpkg")
    cfg = d / "qingshan.toml"
    cfg.write_text("[wall]\nrotate_seconds = 2\nrefresh_seconds = 4\n")
    with serve(d / "store.gpkg", env={"QINGSHAN_CONFIG": str(cfg)}) as url:
        yield url


def _open(ctx, url):
    page = ctx.new_page()
    watch = Watch(page, url)
    page.goto(url, wait_until="load")
    return page, watch


def test_overview_offline_with_every_layer(server, demo_frames):
    with browser() as ctx:
        page, watch = _open(ctx, server + "/")
        frame = map_frame(page)
        frame.wait_for_selector(".leaflet-control-layers-overlays label")
        names = frame.eval_on_selector_all(".leaflet-control-layers-overlays label", "els => els.map(e => e.textContent.trim())")
        for layer in ("乡镇（街道）边界", "河流", "水库湖泊", "企业", "石灰窑（棚）", "养殖场", "水质监测点"):
            assert layer in names
        n_sites = sum(len(demo_frames[t]) for t in ("enterprises", "kilns", "farms", "sampling_points"))
        assert frame.evaluate(COUNT_MARKERS) == n_sites
        shapes = frame.evaluate(COUNT_SHAPES)
        assert shapes >= 20 + 5 + 2  # township polygons, rivers (and their water bands), reservoirs
        box = page.locator("iframe").first.bounding_box()
        assert box["width"] > 800 and box["height"] > 500
        time.sleep(1)
        assert watch.external == [], watch.external
        assert watch.errors == [], watch.errors


def test_popup_shows_site_history(server):
    with browser() as ctx:
        page, watch = _open(ctx, server + "/")
        frame = map_frame(page)
        frame.evaluate("""() => {
          const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] && window[k].eachLayer);
          let target = null;
          window[key].eachLayer(l => { if (!target && l instanceof L.CircleMarker && l.options.radius >= 7) target = l; });
          target.fire('click', {latlng: target.getLatLng()}, true);
        }""")
        frame.wait_for_selector(".qs-popup")
        text = frame.inner_text(".qs-popup")
        assert "状态" in text and "状态记录" in text and "2004-01-01" in text
        assert watch.errors == []


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)])
def test_wall_fits_screen_without_scrolling(server, size):
    with browser(viewport=size) as ctx:
        page, watch = _open(ctx, server + "/wall")
        frame = map_frame(page)
        page.wait_for_selector(".qs-tile")
        settle(page)
        dims = page.evaluate("""() => {
          const main = document.querySelector('[data-testid=stMain]') || document.scrollingElement;
          return {doc: document.scrollingElement.scrollHeight, main: main.scrollHeight, inner: window.innerHeight,
                  docw: document.scrollingElement.scrollWidth, innerw: window.innerWidth};
        }""")
        assert dims["doc"] <= dims["inner"] and dims["main"] <= dims["inner"], dims
        assert dims["docw"] <= dims["innerw"], dims
        assert page.locator("[data-testid=stSidebar]").count() == 0 or not page.locator("[data-testid=stSidebar]").is_visible()
        sizes = page.eval_on_selector_all(".qs-value", "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
        assert len(sizes) >= 5 and min(sizes) >= 32  # a sixth tile (complaints) with the casework tables
        box = page.locator("iframe").first.bounding_box()
        assert box["y"] + box["height"] <= size[1] + 1 and box["height"] > 400
        assert frame.evaluate(COUNT_MARKERS) > 0
        assert watch.external == [] and watch.errors == []


#: The view shown, and how many of the map's shape layers (townships, water: ``QS.geo``) are on the map.
GEO_LAYERS_SHOWN = """() => {
  const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k]).find(m => m && m.hasLayer);
  const geo = Object.keys(window).filter(k => k.startsWith('qs_geo_')).map(k => window[k]);
  return [document.querySelector('.leaflet-container').getAttribute('data-qs-view'),
          geo.filter(l => map.hasLayer(l)).length];
}"""


def test_wall_rotates_and_refreshes_without_reload(server):
    with browser() as ctx:
        page, watch = _open(ctx, server + "/wall")
        frame = map_frame(page)
        page.evaluate("() => { window.__qsMarker = 42; }")
        seen = set()
        stamps = set()
        paths = {}  # shapes drawn (townships, water) in each view
        deadline = time.time() + 15
        while time.time() < deadline and (len(seen) < 3 or len(stamps) < 2):
            view, n = frame.evaluate(GEO_LAYERS_SHOWN)
            seen.add(view)
            paths.setdefault(view, set()).add(n)
            stamps.add(page.get_attribute(".qs-head", "data-refreshed"))
            time.sleep(0.5)
        assert seen >= {"closure", "riverside", "water"}, seen
        # the water, drawn once and shared by the riverside and water views, is on the map in both, not in the
        # closure view
        assert min(paths["riverside"]) > max(paths["closure"]) and min(paths["water"]) > max(paths["closure"]), paths
        first = page.inner_text(".qs-now-time")  # the current time, in the header beside the data date
        time.sleep(1.2)
        assert page.inner_text(".qs-now-time") != first, "the wall clock does not tick"
        assert len(stamps) >= 2, "figures did not refresh"
        assert page.evaluate("() => window.__qsMarker") == 42, "the page was reloaded"
        assert watch.external == [] and watch.errors == []
