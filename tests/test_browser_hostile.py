"""Hostile names in a real browser: imported through the ledger importer, shown on the overview map as text.

Names and notes like ``<script>alert(1)</script>`` are imported into every
layer of a copy of the demo store (sites, sampling points, a township, a
river). The app is served and the overview map opened in headless Chromium;
every tooltip and popup of every feature is opened (Leaflet events fired on
each feature, plus one real mouse hover and click), and we check that no
dialog opens, no script error occurs, the popups hold only the table markup
the map itself builds, and the hostile strings appear literally as text.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time

import pytest
import shapely

from geo import intake
from geo.store import DEMO_STORE, open_store
from tests.browser import Watch, browser, map_frame, serve, settle

HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(1)>"]
NOW = dt.datetime(2007, 7, 1, 9, 0)

# Fires tooltip and popup events on every feature of the map, and reports what each one showed.
OPEN_ALL = """() => {
  const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] && window[k].eachLayer);
  const map = window[key];
  const allowed = new Set(['DIV', 'SPAN', 'TABLE', 'TBODY', 'TR', 'TH', 'TD', 'UL', 'LI']);
  const leaves = [];
  // every feature, including the sites a point layer merges into a cluster at this zoom (not on the map then)
  const all = new Set(), group = new Map();
  map.eachLayer(l => { if (l.qsData && l.getLayers) l.getLayers().forEach(m => { all.add(m); group.set(m, l); }); });
  map.eachLayer(l => { if ((l instanceof L.Path || l instanceof L.Marker) && !(L.MarkerCluster && l instanceof L.MarkerCluster)) all.add(l); });
  all.forEach(l => { if (l.options.interactive !== false) leaves.push(l); });
  const out = {tooltips: [], popups: [], bad: [], features: leaves.length};
  out.links = [];
  // The one link a popup may hold: a site's file, built from the encoded layer and id only.
  const siteLink = e => e.tagName === 'A' && e.className === 'qs-popup-link' &&
    /^\/site\?layer=(enterprises|kilns|farms)&id=[^&<>"' ]+$/.test(e.getAttribute('href')) &&
    e.getAttribute('target') === '_blank' && e.children.length === 0;
  const check = (node, what) => {
    if (!node) return;
    node.querySelectorAll('*').forEach(e => {
      if (siteLink(e)) { out.links.push(e.getAttribute('href')); return; }
      if (!allowed.has(e.tagName)) out.bad.push(what + ': <' + e.tagName + '>');
    });
    for (const e of node.querySelectorAll('*')) {
      for (const a of e.getAttributeNames()) if (a.startsWith('on')) out.bad.push(what + ': attribute ' + a);
    }
  };
  // The layer (or the group, however far up) that owns the bound tooltip or popup of feature l.
  const owner = (l, kind) => {
    if (l[kind]) return l;
    if (group.has(l) && group.get(l)[kind]) return group.get(l);
    for (const p of Object.values(l._eventParents || {})) { const o = owner(p, kind); if (o) return o; }
    return undefined;
  };
  for (const l of leaves) {
    const ll = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
    const t = owner(l, '_tooltip'), p = owner(l, '_popup');
    if (!l._map) {  // merged into a cluster at this zoom: Leaflet opens nothing for it, so build what it would show
      const tc = t && t._tooltip._content, pc = p && p._popup._content;
      const tn = typeof tc === 'function' ? tc(l) : null, pn = typeof pc === 'function' ? pc(l) : null;
      if (t) { out.tooltips.push(tn ? tn.textContent : null); check(tn, 'tooltip'); }
      if (p) { out.popups.push(pn ? pn.textContent : null); check(pn, 'popup'); }
      continue;
    }
    if (t) {
      l.fire('mouseover', {latlng: ll}, true);
      const node = t.getTooltip().getElement();
      out.tooltips.push(node ? node.textContent : null); check(node, 'tooltip');
      t.closeTooltip();
    }
    if (p) {
      l.fire('click', {latlng: ll}, true);
      const node = p.getPopup().getElement();
      const content = node && node.querySelector('.leaflet-popup-content');
      out.popups.push(content ? content.textContent : null); check(content, 'popup');
      map.closePopup();
    }
  }
  document.querySelectorAll('.qs-label').forEach(e => { if (e.children.length) out.bad.push('label has elements'); });
  out.labels = Array.from(document.querySelectorAll('.qs-label')).map(e => e.textContent);
  // Anything a payload would have created had it been parsed as HTML, anywhere in the map's document.
  out.injected = [];
  document.querySelectorAll('script').forEach(e => { if (e.textContent.trim().startsWith('alert')) out.injected.push('script'); });
  document.querySelectorAll('img[src="x"]').forEach(() => out.injected.push('img'));
  document.querySelectorAll('*').forEach(e => { for (const a of e.getAttributeNames()) if (a.startsWith('on')) out.injected.push(e.tagName + ' ' + a); });
  return out;
}"""


def _write_geojson(path, gdf, props: dict[str, list]):
    feats = [{"type": "Feature", "geometry": shapely.geometry.mapping(g),
              "properties": {k: v[i] for k, v in props.items()}} for i, g in enumerate(gdf.geometry)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False), encoding="utf-8")
    return path


def _csv(path, header, rows):
    q = lambda v: "" if v is None else '"' + str(v).replace('"', '""') + '"'
    path.write_text("\n".join(",".join(map(q, r)) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    path = d / "store.gpkg"
    shutil.copyfile(DEMO_STORE, path)
    store = open_store(path)

    def imp(layer, f):
        res = intake.import_file(store, layer, f, datum="wgs84", user=HOSTILE[0], now=NOW, today=NOW.date(), update_existing=True)
        assert res.ok, res.errors[:5]

    imp("enterprises", _csv(d / "e.csv", ["编号", "企业名称", "经度", "纬度", "行业", "状态", "备注"],
                            [[f"XSS{i}", h, 118.95 + 0.004 * i, 28.985, h, "在产", h] for i, h in enumerate(HOSTILE)]))
    kiln = store.read("kilns")["id"].iloc[0]
    farm = store.read("farms")["id"].iloc[0]
    point = store.read("sampling_points")["id"].iloc[0]
    imp("kilns", _csv(d / "k.csv", ["编号", "名称", "村", "状态", "备注"], [[kiln, HOSTILE[1], HOSTILE[2], "改建", HOSTILE[1]]]))
    imp("farms", _csv(d / "f.csv", ["编号", "养殖场名称", "畜种"], [[farm, HOSTILE[2], HOSTILE[0]]]))
    imp("sampling_points", _csv(d / "p.csv", ["编号", "名称"], [[point, HOSTILE[0]]]))
    tw = store.read("townships").iloc[[5]]
    imp("townships", _write_geojson(d / "t.geojson", tw, {"编码": list(tw["code"]), "名称": [HOSTILE[1]],
                                                            "类型": list(tw["kind"])}))
    rv = store.read("rivers").iloc[[0]]
    imp("rivers", _write_geojson(d / "r.geojson", rv, {"编号": list(rv["id"]), "名称": [HOSTILE[2]],
                                                         "河宽": list(rv["width_m"])}))
    names = set(store.read("enterprises")["name"]) | set(store.read("townships")["name"]) | \
        set(store.read("rivers")["name"])
    assert set(HOSTILE) <= names  # stored verbatim
    return path


@pytest.fixture(scope="module")
def server(hostile_store):
    with serve(hostile_store) as url:
        yield url


def _open_map(ctx, url):
    page = ctx.new_page()
    watch = Watch(page, url)
    page.goto(url + "/", wait_until="load")
    frame = map_frame(page)
    frame.wait_for_selector(".leaflet-control-layers-overlays label")
    return page, watch, frame


def _hover_and_click(page, frame, lon: float, lat: float, want) -> tuple[str | None, str | None]:
    """Zoom to (lon, lat), move the real mouse there and click; the tooltip and popup texts shown."""
    box = settle(page)  # the iframe must not move between measuring it and moving the mouse
    x, y = frame.evaluate("""([lon, lat]) => {
      const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] && window[k].eachLayer);
      const map = window[key]; map.closePopup(); map.setView([lat, lon], 15, {animate: false});
      const p = map.latLngToContainerPoint([lat, lon]);
      const r = map.getContainer().getBoundingClientRect();
      return [p.x + r.left + 0.5, p.y + r.top + 0.5];
    }""", [lon, lat])
    # Hover until the site's tooltip shows: on a loaded machine Leaflet handles the mouse late, and a
    # path across a river or township may leave their tooltips showing first.
    tip, deadline, k = None, time.time() + 10, 0
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    while time.time() < deadline:
        page.mouse.move(box["x"] + x + (k % 2) * 0.5, box["y"] + y)
        k += 1
        time.sleep(0.4)
        tip = frame.evaluate("() => { const t = [...document.querySelectorAll('.leaflet-tooltip')].pop(); "
                             "return t && t.textContent; }")
        if want(tip):
            break
    page.mouse.click(box["x"] + x, box["y"] + y)
    time.sleep(0.5)
    pop = frame.evaluate("() => { const p = document.querySelector('.leaflet-popup-content'); "
                         "return p && p.textContent; }")
    assert frame.locator(".leaflet-popup-content script, .leaflet-popup-content img, "
                         ".leaflet-popup-content svg").count() == 0
    return tip, pop


def test_real_mouse_on_a_hostile_sampling_point(server, hostile_store):
    points = open_store(hostile_store).read("sampling_points")
    pt = points[points["name"] == HOSTILE[0]].iloc[0]
    with browser() as ctx:
        page, watch, frame = _open_map(ctx, server)
        tip, pop = _hover_and_click(page, frame, pt.geometry.x, pt.geometry.y, lambda t: t == HOSTILE[0])
        assert tip == HOSTILE[0]
        assert pop is not None and HOSTILE[0] in pop
        time.sleep(0.5)
        assert watch.dialogs == [] and watch.errors == [], (watch.dialogs, watch.errors)


def test_real_mouse_on_a_hostile_enterprise(server):
    with browser() as ctx:
        page, watch, frame = _open_map(ctx, server)
        tip, pop = _hover_and_click(page, frame, 118.95, 28.985, lambda t: t in HOSTILE)
        assert watch.dialogs == []
        # Under the mouse lie the hostile enterprise and the hostile river: whichever is on top, its name
        # shows literally in the tooltip and the popup (the real mouse reaches layers below the top one).
        assert tip in HOSTILE and pop is not None and tip in pop


def test_every_popup_and_tooltip_shows_hostile_text_literally(server, hostile_store):
    with browser() as ctx:
        page, watch, frame = _open_map(ctx, server)
        seen = frame.evaluate(OPEN_ALL)
        assert seen["features"] > 300 and len(seen["popups"]) > 300 and len(seen["tooltips"]) > 300
        assert None not in seen["tooltips"] and None not in seen["popups"]
        assert seen["bad"] == []
        assert seen["injected"] == []
        # every site's popup links to its file, built from the layer and id of a stored site only
        store = open_store(hostile_store)
        stored = {f"/site?layer={lay}&id={i}" for lay in ("enterprises", "kilns", "farms")
                  for i in store.read(lay)["id"]}
        assert len(seen["links"]) > 300 and set(seen["links"]) <= stored
        renamed = {f"/site?layer=kilns&id={store.read('kilns')['id'].iloc[0]}",
                   f"/site?layer=farms&id={store.read('farms')['id'].iloc[0]}"}  # the hostile-named ones
        assert renamed <= set(seen["links"])
        tips = set(seen["tooltips"])
        assert set(HOSTILE) <= tips  # enterprises, kiln, farm, point, township, river names literally
        popups = "\n".join(seen["popups"])
        for h in HOSTILE:
            assert h in popups
        assert HOSTILE[1] in seen["labels"]  # the renamed township's label
        time.sleep(1)
        assert watch.dialogs == [], watch.dialogs
        assert watch.errors == [], watch.errors
        assert watch.external == [], watch.external


# --- issue 14.6: markdown, math, links and formulas in names, on every page ---------------------------------

from tests.hostile import make_hostile_store, squash  # noqa: E402

#: What a name would have become had it been read as markup: links, math, images, event handlers, errors.
PAGE_CHECK = """() => {
  const out = {links: [], math: 0, imgs: 0, handlers: [], exceptions: 0};
  document.querySelectorAll('a[href]').forEach(a => {
    if (/evil\\.example|^http:\\/\\/x\\/?$/.test(a.href)) out.links.push(a.href); });
  out.math = document.querySelectorAll('.katex, math, mjx-container').length;
  out.imgs = document.querySelectorAll('img[src="x"]').length;
  document.querySelectorAll('*').forEach(e => {
    for (const a of e.getAttributeNames()) if (a.startsWith('on')) out.handlers.push(e.tagName + ' ' + a); });
  out.exceptions = document.querySelectorAll('[data-testid="stException"]').length;
  out.text = document.body.innerText;
  return out;
}"""
PAGES = {"": "生态整治一张图", "wall": "生态整治监测", "progress": "月度简报", "buffer": "清单与下载",
         "water": "最新评价", "patrol": "生成巡查路线", "complaints": "信访投诉", "inspect": "巡查登记",
         "site?layer=enterprises&id=E001": "基本情况", "assess": "乡镇考核", "data": "台账导入"}


@pytest.fixture(scope="module")
def names_server(tmp_path_factory):
    path = make_hostile_store(tmp_path_factory.mktemp("names") / "store.gpkg")
    with serve(path) as url:
        yield url, path


def _wait_for_text(page, text: str, timeout: float = 90.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in page.evaluate("() => document.body.innerText"):
            # Streamlit renders in passes: wait until it reports no script running
            if page.locator('[data-testid="stStatusWidget"]').count() == 0:
                time.sleep(1.0)
                return
        time.sleep(0.5)
    raise AssertionError(f"{text!r} did not appear")


def _inert(seen: dict) -> None:
    assert seen["links"] == [], seen["links"]
    assert seen["math"] == 0
    assert seen["imgs"] == 0
    assert seen["handlers"] == [], seen["handlers"][:5]
    assert seen["exceptions"] == 0


@pytest.mark.parametrize("path", list(PAGES))
def test_names_are_plain_text_on_every_page(names_server, path):
    url, _ = names_server
    with browser() as ctx:
        page = ctx.new_page()
        watch = Watch(page, url)
        page.goto(f"{url}/{path}", wait_until="load")
        _wait_for_text(page, PAGES[path])
        seen = page.evaluate(PAGE_CHECK)
        _inert(seen)
        for frame in page.frames[1:]:  # maps and components: the same checks inside each iframe
            try:
                _inert({**frame.evaluate(PAGE_CHECK), "exceptions": 0})
            except Exception as exc:  # a frame that navigated away while we looked
                if "Execution context was destroyed" not in str(exc):
                    raise
        assert watch.dialogs == [] and watch.errors == [], (watch.dialogs, watch.errors)
        assert watch.external == [], watch.external


def test_water_point_names_show_as_written(names_server):
    """The known failure: a sampling point named ``[点此查看](http://evil.example/p)`` became a live link."""
    url, path = names_server
    points = open_store(path).read("sampling_points")
    with browser() as ctx:
        page = ctx.new_page()
        watch = Watch(page, url)
        page.goto(f"{url}/water", wait_until="load")
        _wait_for_text(page, "最新评价")
        for name in ("[点此查看](http://evil.example/p)", "坏$\\frac{$名", "<img src=x onerror=alert(1)>"):
            pid = points.loc[points["name"] == name, "id"].iloc[0]
            box = page.locator('[data-testid="stSelectbox"]', has_text="选择点位")
            box.locator("input").click()
            page.keyboard.type(pid)
            page.keyboard.press("Enter")
            line = page.locator('[data-testid="stMarkdown"]', has_text=re.compile("· 最新 .* · 目标")).first
            deadline, shown = time.time() + 60, ""
            while time.time() < deadline and not shown.startswith(squash(name)):
                time.sleep(0.5)
                shown = squash(line.inner_text())
            assert shown.startswith(squash(name)), shown[:200]  # as written: no link, no formula
            time.sleep(1.0)
            _inert(page.evaluate(PAGE_CHECK))
        assert watch.dialogs == [] and watch.external == []


def test_briefing_button_with_hostile_names(names_server):
    url, _ = names_server
    with browser() as ctx:
        page = ctx.new_page()
        page.goto(f"{url}/progress", wait_until="load")
        _wait_for_text(page, "月度简报")
        page.get_by_role("button", name="生成月度简报（PDF + Excel）").click()
        _wait_for_text(page, "下载简报 PDF", timeout=180)
        _inert(page.evaluate(PAGE_CHECK))


#: The chart tooltip (vega-tooltip) shown now, as HTML, or null.
TOOLTIP = """() => { const e = document.querySelector('#vg-tooltip-element');
  return e && e.classList.contains('visible') ? e.innerHTML : null; }"""


def test_chart_tooltips_show_names_as_text(names_server):
    """/buffer's township chart: hostile township names in vega tooltips are text (HTML escaped), nothing runs."""
    url, _ = names_server
    with browser() as ctx:
        page = ctx.new_page()
        watch = Watch(page, url)
        page.goto(f"{url}/buffer", wait_until="load")
        _wait_for_text(page, "清单与下载")
        page.get_by_role("tab", name="按乡镇统计").click()
        chart = page.locator('[data-testid="stVegaLiteChart"]').first
        chart.wait_for(timeout=60000)
        time.sleep(1.0)
        box = chart.bounding_box()
        tips = set()
        for k in range(1, 40):  # sweep the bars (one per township, longest first)
            page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * k / 40)
            time.sleep(0.15)
            tip = page.evaluate(TOOLTIP)
            if tip:
                tips.add(tip)
        assert tips, "no tooltip appeared"
        assert any("&lt;img src=x onerror=alert(1)&gt;" in t for t in tips), list(tips)[:3]
        assert all("乡镇（街道）" in t and "<img" not in t and "<a" not in t for t in tips)
        _inert(page.evaluate(PAGE_CHECK))
        assert watch.dialogs == [] and watch.errors == []
