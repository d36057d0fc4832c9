"""The 河岸缓冲 page (AppTest) on a copy of the demo store: figures, limits, layers, date, what-if, downloads."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo import buffers
from geo.store import Change, open_store

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "buffer.py")


@pytest.fixture
def store(app_store):
    return open_store(app_store)


def run(at: AppTest | None = None) -> AppTest:
    at = at or AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def count(text: str) -> int:
    return int(text.split()[0])


def test_default_view_matches_the_rule(store):
    at = run()
    as_of = store.meta()["as_of"]
    expected = buffers.check(store, 200, as_of=as_of)
    assert count(metric(at, "200 米内在管点位")) == len(expected) > 0
    assert count(metric(at, "养殖场")) == int((expected["layer"] == "farms").sum())
    # the what-if tile (default 300 m) says how many the page would list at 300 m, and the difference
    at300 = buffers.check(store, 300, as_of=as_of)
    assert count(metric(at, "改为 300 米")) == len(at300) > len(expected)
    tile = next(m for m in at.metric if m.label == "改为 300 米")
    assert tile.delta.startswith(f"+{len(at300) - len(expected)} 处")
    # the list holds exactly the violations, with the nearest water named
    listed = [df for df in at.dataframe if "距水体（米）" in df.value.columns]
    assert any(set(df.value["编号"]) == set(expected["id"]) for df in listed)
    labels = {b.label for b in at.get("download_button")}
    assert {"下载 Excel", "下载 CSV", "下载 GeoJSON"} <= labels


def test_limit_layers_and_date_change_the_answer(store):
    at = run()
    as_of = store.meta()["as_of"]
    at.slider(key="distance").set_value(500)
    at.slider(key="proposed").set_value(500)
    run(at)
    assert count(metric(at, "500 米内在管点位")) == len(buffers.check(store, 500, as_of=as_of))
    assert count(metric(at, "改为 500 米")) == len(buffers.check(store, 500, as_of=as_of))
    # a looser limit compared with a stricter one: fewer listed, a minus sign (the arrow points down)
    at.slider(key="proposed").set_value(300)
    run(at)
    at300 = buffers.check(store, 300, as_of=as_of)
    tile = next(m for m in at.metric if m.label == "改为 300 米")
    assert count(tile.value) == len(at300)
    fewer = len(buffers.check(store, 500, as_of=as_of)) - len(at300)
    assert fewer > 0 and tile.delta.startswith(f"-{fewer} 处")
    at.multiselect(key="layers").set_value(["farms"])
    run(at)
    assert count(metric(at, "500 米内在管点位")) == len(buffers.check(store, 500, layers="farms", as_of=as_of))
    at.date_input(key="as_of").set_value(pd.Timestamp("2007-02-01").date())
    run(at)
    early = buffers.check(store, 500, layers="farms", as_of="2007-02-01")
    assert count(metric(at, "500 米内在管点位")) == len(early)


def test_no_layer_chosen_asks_for_one(store):
    at = run()
    at.multiselect(key="layers").set_value([])
    run(at)
    assert any("至少选择一个图层" in w.value for w in at.warning)


def test_new_data_version_is_picked_up_and_names_are_text(store):
    at = run()
    before = count(metric(at, "200 米内在管点位"))
    farms = store.read("farms")
    res = buffers.check(store, 200, layers="farms", all_sites=True)
    far = res[res["active"] & (res["distance_m"] > 1000)].iloc[0]  # an active farm far from water
    rivers = store.read("rivers")
    row = farms[farms["id"] == far["id"]].copy()
    # move it onto a river's first vertex and give it a hostile name
    x, y = rivers.geometry.iloc[0].geoms[0].coords[0]
    from shapely.geometry import Point

    row["name"] = "<script>alert(1)</script>"
    row = row.set_geometry([Point(x, y)], crs=4326)
    store.commit([Change("farms", row, "upsert")])
    at = run()
    assert count(metric(at, "200 米内在管点位")) == before + 1
    listed = [df for df in at.dataframe if "距水体（米）" in df.value.columns]
    assert any("<script>alert(1)</script>" in set(df.value["名称"]) for df in listed)  # shown as plain text


def test_a_list_at_another_limit_says_it_is_a_what_if():
    """A download at 500 m must not read as the rule in force (200 m): its title and rule say 假设比较."""
    official = buffers.riverside_meta(200)
    assert "假设" not in official.title and "不超过 200 米即为违规" in official.rule
    other = buffers.riverside_meta(500)
    assert "假设比较" in other.title and "现行限值 200 米" in other.title
    assert other.rule.startswith("现行规则：") and "不超过 200 米即为违规" in other.rule
    assert "不超过 500 米即为违规" not in other.rule
    assert other.parameters["现行限值（米）"] == 200.0 and other.parameters["限值（米）"] == 500.0
