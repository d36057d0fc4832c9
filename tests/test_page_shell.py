"""AppTest for the shell: navigation, the overview page and the wall screen (no browser)."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


@pytest.fixture
def app(demo_store, monkeypatch):
    monkeypatch.setenv("QINGSHAN_STORE", str(demo_store))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    return at


def _html_blobs(at):
    return [el.proto.body for el in at.get("html")]


def test_overview_renders_map_and_counts(app):
    app.run()
    assert not app.exception
    assert app.title[0].value.startswith("总览")
    iframes = app.get("iframe")
    assert iframes, "the overview map is missing"
    html = iframes[0].proto.srcdoc
    for layer in ("乡镇（街道）边界", "河流", "水库湖泊", "企业", "石灰窑（棚）", "养殖场", "水质监测点"):
        assert layer in html or json.dumps(layer)[1:-1] in html, layer
    assert "http://" not in html.split("<body>")[0].replace("http://www.w3.org", "")
    table = app.dataframe[0].value
    assert table.loc["企业"].sum() == 73 and table.loc["石灰窑（棚）"].sum() == 180


def test_overview_replays_history(app):
    import datetime as dt

    app.run()
    app.date_input(key="as_of").set_value(dt.date(2007, 2, 5)).run()
    assert not app.exception
    kilns = app.dataframe[0].value.loc["石灰窑（棚）"]
    assert kilns.get("已关停", 0) == 0
    app.date_input(key="as_of").set_value(dt.date(2007, 2, 6)).run()
    assert app.dataframe[0].value.loc["石灰窑（棚）"]["已关停"] == 74


def test_overview_township_filter(app, demo_store):
    """Filtered to 上方镇, the table counts exactly the sites inside its polygon, by layer and status."""
    import geopandas as gpd

    from geo.contract import LAYER_LABELS, status_label
    from geo.store import open_store

    frames = open_store(demo_store).read_many()
    town = frames["townships"][frames["townships"]["name"] == "上方镇"]
    expected = {}
    for layer in ("enterprises", "kilns", "farms"):  # an independent spatial join; the demo has no later events
        inside = gpd.sjoin(frames[layer], town[["geometry"]], predicate="within")
        for status, n in inside["status"].value_counts().items():
            expected[(LAYER_LABELS[layer], status_label(status, layer))] = int(n)
    app.run()
    app.multiselect[0].set_value(["上方镇"]).run()
    assert not app.exception
    table = app.dataframe[0].value
    got = {(layer, status): int(n) for (layer, status), n in table.stack().items() if n}
    assert got == expected
    # the lime kilns are all in 上方镇, a few farms too, and no enterprise
    assert sum(n for (layer, _), n in got.items() if layer == "石灰窑（棚）") == 180
    assert "企业" not in table.index and "养殖场" in table.index


def test_wall_tiles(app):
    app.switch_page("views/wall.py").run()
    assert not app.exception
    text = " ".join(_html_blobs(app))
    assert "化工企业关停" in text and "34" in text and "/49" in text
    assert "数据截至 2007年06月30日" in text
    assert app.get("iframe"), "the wall map is missing"
    assert "功能建设中" not in text  # every tile's feature is built


def test_wall_tiles_agree_with_the_core(app, demo_store):
    import re

    from geo import buffers, water
    from geo.store import open_store

    frames = open_store(demo_store).read_many()
    n_violations = len(buffers.check(frames, distance=200, as_of="2007-06-30"))
    assessed = water.latest_assessment(frames, as_of="2007-06-30")
    sections = assessed[assessed["kind"] == "section"]
    app.switch_page("views/wall.py").run()
    text = " ".join(_html_blobs(app))
    tiles = dict(re.findall(r'qs-label">([^<]+)</div><div class="qs-value">([^<]+)', text))
    assert tiles["沿河200米违规（在产）"] == str(n_violations)
    assert tiles["水质达标断面"] == str(int(sections["meets"].sum()))
    # outfalls: judged against GB 8978-1996 in the tile's note, never among the sections
    outfalls = assessed[assessed["kind"] == "outfall"]
    over = int((outfalls["verdict"] == "超标").sum())
    assert f"排污口超标 {over}/{len(outfalls)}（GB 8978）" in text
    html_map = app.get("iframe")[0].proto.srcdoc if app.get("iframe") else ""
    assert "排污口超标" in html_map and "GB 8978-1996 一级" in html_map
    assert tiles["化工企业关停"] == "34"


@pytest.mark.parametrize("page", ["views/progress.py", "views/buffer.py", "views/water.py", "views/patrol.py",
                                  "views/data.py"])
def test_every_page_runs(app, page):
    app.switch_page(page).run()
    assert not app.exception, app.exception
