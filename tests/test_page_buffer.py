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
    # the what-if (default 300 m) counts the sites between 200 and 300 m
    at300 = buffers.check(store, 300, as_of=as_of)
    assert count(metric(at, "改为 300 米")) == len(at300) - len(expected)
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
    assert count(metric(at, "改为 500 米")) == 0
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
