"""Every map page in headless Chromium at 1920×1080: one symbol language, legends that match the drawing,
metric scale bars, township names, clusters in dense places, judgments in popups, no raw values.

Screenshots go to the test's temporary folder; ``scripts/screens`` writes the same pages to docs/screens/.
"""
from __future__ import annotations

import re
import time

import pytest

from layers import symbols
from tests import mapcheck
from tests.browser import browser, serve

MAP_PAGES = ["overview", "buffer", "water", "patrol", "wall"]
SCALE = re.compile(r"^\d+ (m|km)$")

MAP = "Object.keys(window).find(k => k.startsWith('map_') && window[k] && window[k].eachLayer)"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import shutil

    from tests.conftest import DEMO

    d = tmp_path_factory.mktemp("maps")
    shutil.copyfile(DEMO, d / "store.gpkg")
    cfg = d / "qingshan.toml"
    cfg.write_text("[wall]\nrotate_seconds = 600\nrefresh_seconds = 600\n")
    with serve(d / "store.gpkg", env={"QINGSHAN_CONFIG": str(cfg)}) as url:
        yield url


@pytest.mark.parametrize("key", MAP_PAGES)
def test_map_page_speaks_one_symbol_language(server, key, tmp_path):
    with browser() as ctx:
        page, frame, watch = mapcheck.open_page(ctx, server, key)
        mapcheck.show_map(page, frame)
        shot = tmp_path / f"{key}-1080p.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 50_000

        # a metric scale bar, nothing imperial
        scale = mapcheck.scale_texts(frame)
        assert scale and all(SCALE.match(t) for t in scale), scale
        # one meaning per colour in every legend, read from the painted swatches
        boxes = mapcheck.legends(frame)
        assert boxes and all(b["rows"] for b in boxes)
        assert mapcheck.colour_conflicts(boxes) == []
        for box in boxes:  # the painted colour is the declared one (the legend draws what the table says)
            for r in box["rows"]:
                if r["role"] in ("colour", "icon") and r["declared"]:
                    assert r["colour"] == r["declared"], r
        # every drawn symbol is explained by the legend: its shape, its fill, its ring
        rows = [r for b in boxes for r in b["rows"]]
        shapes = {r["shape"] for r in rows if r["role"] == "shape"}
        fills = {r["colour"] for r in rows if r["role"] in ("colour", "icon") and r["colour"]}
        drawn = mapcheck.drawn_symbols(frame)
        assert drawn
        for d in drawn:
            assert d["shape"] in shapes, (d, shapes)
            assert d["fill"] in fills or d["fill"] == symbols.HOLLOW, (d, fills)
            assert d["ring"] is None or d["ring"] in fills, (d, fills)
            assert d["shape"] in symbols.SHAPES
        # township names on every map, drawn above the markers
        labels = mapcheck.township_labels(frame)
        assert len(labels) >= 20 and "樟潭街道" in labels
        z = frame.evaluate("() => ['qsLabels', 'markerPane', 'overlayPane'].map(p => "
                           f"+getComputedStyle(window[{MAP}].getPane(p)).zIndex)")
        assert z[0] > z[1] > z[2], z
        # no raw programming values anywhere on the page or in the map
        assert mapcheck.raw_values(mapcheck.page_text(page)) == []
        assert watch.external == [] and watch.errors == [], (watch.external, watch.errors)


def test_dense_places_are_clusters_with_counts_that_open_when_zoomed(server, demo_frames):
    with browser() as ctx:
        page, frame, _ = mapcheck.open_page(ctx, server, "overview")
        counts = frame.evaluate("""() => [...document.querySelectorAll('.qs-cluster-icon .qs-pie-n')]
                                         .map(e => +e.textContent)""")
        assert counts and max(counts) >= 20, counts  # the chemical park, 上方镇's kilns
        # the clusters and the single markers still on show add up to every site
        shown = frame.evaluate(f"""() => {{
          const map = window[{MAP}]; let n = 0;
          map.eachLayer(l => {{ if (l.qsData && l.getLayers)
            l.getLayers().forEach(m => {{ if (m._map) n += 1; }}); }});
          return n;
        }}""")
        total = sum(len(demo_frames[t]) for t in ("enterprises", "kilns", "farms", "sampling_points"))
        assert shown + sum(counts) == total
        # zoomed in on the park: every enterprise on its own, as a square
        frame.evaluate(f"() => {{ window[{MAP}].setView([28.9784, 118.9598], 15, {{animate: false}}); }}")
        time.sleep(1)
        park = frame.evaluate(f"""() => {{
          const map = window[{MAP}], b = map.getBounds(); let n = 0, squares = 0;
          map.eachLayer(l => {{ if (l.qsData) l.getLayers().forEach(m => {{
            if (b.contains(m.getLatLng())) {{ n += 1; if (m._map && m.options.qsShape === 'square') squares += 1; }}
          }}); }});
          return [n, squares, document.querySelectorAll('.qs-cluster-icon .qs-pie-n').length];
        }}""")
        assert park[1] >= 20 and park[2] == 0, park


def _click_first(frame, shape: str) -> str:
    """Click the first drawn (unclustered) marker of ``shape`` and return its popup's text."""
    frame.evaluate(f"""() => {{
      const map = window[{MAP}]; let target = null;
      map.eachLayer(l => {{ if (l.qsData) l.getLayers().forEach(m => {{
        if (!target && m._map && m.options.qsShape === '{shape}') target = m; }}); }});
      target.fire('click', {{latlng: target.getLatLng()}}, true);
    }}""")
    frame.wait_for_selector(".qs-popup")
    return frame.inner_text(".qs-popup")


def test_popups_carry_each_sites_judgment(server):
    with browser() as ctx:
        page, frame, _ = mapcheck.open_page(ctx, server, "water")
        text = _click_first(frame, "diamond")
        assert "目标" in text and re.search(r"(未达标|达标)", text) and "评价" in text, text
        page, frame, _ = mapcheck.open_page(ctx, server, "buffer")
        text = _click_first(frame, "circle")
        assert re.search(r"距水体\s*\d+\.\d+ 米", text), text
