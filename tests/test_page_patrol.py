"""The /patrol page (巡查路线) in Streamlit's AppTest, on a copy of the demo store."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app(app_store, monkeypatch):
    monkeypatch.chdir(ROOT)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "views" / "patrol.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def test_page_plans_and_offers_downloads(app):
    at = app
    assert at.title[0].value == "巡查路线"
    assert at.info and "生成巡查路线" in at.info[0].value  # nothing planned yet
    at.number_input(key="patrol_teams").set_value(2)
    at.slider(key="patrol_seconds").set_value(1)
    at.button(key="patrol_plan").click()
    at.run()
    assert not at.exception, at.exception
    assert not at.error
    # per-team tabs with arrival times, a summary, downloads
    tabs = at.tabs
    assert [t.label for t in tabs][:2] == ["第一组", "第二组"]
    frames = [df.value for df in at.dataframe]
    assert any("预计到达" in f.columns for f in frames)
    arrivals = next(f for f in frames if "预计到达" in f.columns)
    assert arrivals["预计到达"].str.match(r"^\d\d:\d\d$").all()
    labels = [b.label for b in at.get("download_button")]
    assert {"GPX 航点与路线", "KML（按组分文件夹）", "巡查清单 Excel", "巡查清单 CSV"} <= set(labels)
    # the default selection: sampling + committed enterprises of the demo, all visited or listed
    summary = next(f for f in frames if "点位数" in f.columns)
    assert summary["点位数"].sum() > 0


def test_page_reports_an_empty_selection(app):
    at = app
    at.multiselect(key="patrol_select").set_value(["overdue"])  # nothing is overdue on 2007-06-30
    at.button(key="patrol_plan").click()
    at.run()
    assert not at.exception, at.exception
    assert at.error and "没有需要巡查的点位" in at.error[0].value


def test_page_lists_dropped_stops_with_why_and_draws_them(app):
    """A full day: the least urgent stops are listed with their urgency and the reason; the map shows them."""
    at = app
    at.multiselect(key="patrol_select").set_value(["violations", "sampling", "committed"])
    at.number_input(key="patrol_teams").set_value(1)
    at.slider(key="patrol_seconds").set_value(2)
    at.button(key="patrol_plan").click()
    at.run()
    assert not at.exception, at.exception
    frames = [df.value for df in at.dataframe]
    dropped = next(f for f in frames if "未安排原因" in f.columns)
    assert len(dropped) > 5 and dropped["未安排原因"].str.len().gt(0).all()
    assert "瑞昌猪场" not in set(dropped["点位名称"])  # 31 m from the water: kept
    assert dropped["紧急程度"].is_monotonic_decreasing
    visited = next(f for f in frames if "预计到达" in f.columns)
    assert "紧急原因" in visited.columns and "瑞昌猪场" in set(visited["点位名称"])
    html = at.get("iframe")[0].proto.srcdoc
    assert all(why in html for why in dropped["未安排原因"])  # drawn on the map with why
    assert "QS.icon(" in html and "🏢" not in html  # the depot is an SVG icon
