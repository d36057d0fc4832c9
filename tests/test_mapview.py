"""Offline maps: no basemap by default, configurable intranet tiles, attribution switch, no CDN ever."""
import json

import pytest

from geo import config
from layers import assets, mapview


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    def write(text: str):
        p = tmp_path / "qingshan.toml"
        p.write_text(text, encoding="utf-8")
        monkeypatch.setenv("QINGSHAN_CONFIG", str(p))
        return p
    return write


def test_default_map_has_no_basemap_and_only_local_assets(cfg):
    cfg("")
    html = mapview.to_html(mapview.new_map((118.7, 28.5, 119.1, 29.3)))
    assert "L.tileLayer" not in html
    assert f"{assets.base_url()}/vendor/leaflet/leaflet.js" in html
    for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn", "unpkg"):
        assert cdn not in html


def test_intranet_tile_template_and_attribution(cfg):
    cfg('[map]\ntiles = "http://tiles.bureau.local/{z}/{x}/{y}.png"\ntiles_attribution = "区测绘院"\n')
    html = mapview.to_html(mapview.new_map())
    assert "http://tiles.bureau.local/{z}/{x}/{y}.png" in html and json.dumps("区测绘院") in html


def test_local_tile_folder_is_served_by_the_app(cfg, tmp_path):
    (tmp_path / "tiles").mkdir()
    cfg(f'[map]\ntile_folder = "{tmp_path / "tiles"}"\n')
    html = mapview.to_html(mapview.new_map())
    assert "/component/layers.mapview.tiles/{z}/{x}/{y}.png" in html


def test_attribution_can_be_switched_off(cfg):
    cfg("[map]\nattribution = false\n")
    assert config.get("map", "attribution") is False
    html = mapview.to_html(mapview.new_map())
    assert '"attributionControl": false' in html


def test_an_asset_without_a_local_copy_is_refused(cfg):
    cfg("")
    from folium.plugins import Fullscreen

    m = mapview.new_map()
    Fullscreen().add_to(m)
    with pytest.raises(ValueError, match="no local copy"):
        mapview.to_html(m)


def test_script_breakout_in_data_is_neutralised():
    from layers.base import js_json

    text = js_json({"name": "</script><script>alert(1)</script>"})
    assert "</script>" not in text and "<" not in text
