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
  map.eachLayer(l => { if ((l instanceof L.Path || l instanceof L.Marker) && l.options.interactive !== false) leaves.push(l); });
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
  // The layer (or its group) that owns the bound tooltip or popup of feature l.
  const owner = (l, kind) => l[kind] ? l : Object.values(l._eventParents || {}).find(p => p[kind]);
  for (const l of leaves) {
    const ll = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
    const t = owner(l, '_tooltip'), p = owner(l, '_popup');
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
        res = intake.import_file(store, layer, f, user=HOSTILE[0], now=NOW, today=NOW.date())
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
