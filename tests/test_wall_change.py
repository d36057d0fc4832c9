"""The wall's tiles say what changed: 较上周 / 较上月, judged by whether the change is good for the figure.

Truth here is independent of the change code: each tile's figure is computed by the core functions
(progress.kpis, buffers.check, water.latest_assessment, wallboard.casework_figures) on the demo's whole
tables at each day, and the changes are their differences; the page computes its earlier days on the
database's snapshots instead.
"""
from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo import buffers, datecheck, progress, water, wallboard as W
from tests.conftest import ROOT

DAY = pd.Timestamp("2007-06-30")
WEEK, MONTH = pd.Timestamp("2007-06-23"), pd.Timestamp("2007-05-30")
LIMIT = 200  # the riverside limit the wall uses ([riverside] limit_m)


@pytest.fixture(scope="module")
def frames(demo_frames):
    return progress.prepare(demo_frames)


def figures(frames, day) -> dict[str, int]:
    """Each tile's figure on ``day``, from the core functions directly (not from wallboard.tiles)."""
    k = progress.kpis(frames, day)
    a = water.latest_assessment(frames, as_of=day)
    sections = a[a["kind"] == "section"]
    return {"chemical": k["chemical"]["closed"], "lime": k["lime"]["done"], "livestock": k["livestock"]["done"],
            "riverside": len(buffers.check(frames, distance=LIMIT, as_of=day)),
            "water": int(sections["meets"].fillna(False).astype(bool).sum()),
            "complaints": W.casework_figures(frames, day)["complaints"]["on_time"]}


@pytest.fixture(scope="module")
def expected(frames) -> dict[str, dict[str, int]]:
    now, week, month = (figures(frames, d) for d in (DAY, WEEK, MONTH))
    return {k: {"week": now[k] - week[k], "month": now[k] - month[k]} for k in now}


def test_the_earlier_days_are_a_week_and_a_calendar_month_before():
    assert W.earlier_days(DAY) == {"week": WEEK, "month": MONTH}
    assert W.earlier_days("2007-03-31") == {"week": pd.Timestamp("2007-03-24"), "month": pd.Timestamp("2007-02-28")}
    assert W.earlier_days("2008-01-15")["month"] == pd.Timestamp("2007-12-15")


def test_changes_on_the_demo_are_differences_of_the_tile_figures(frames, expected):
    now = W.tiles(frames, DAY, distance=LIMIT)["tiles"]
    assert {t.key: t.value for t in now} == figures(frames, DAY)
    got = W.tile_changes(now, {"week": W.tiles(frames, WEEK, distance=LIMIT)["tiles"],
                               "month": W.tiles(frames, MONTH, distance=LIMIT)["tiles"]})
    assert got == expected
    # the demo moves both ways in that month: kilns done, fewer violations, complaints handled
    assert expected["lime"]["week"] > 0 and expected["riverside"]["month"] < 0 and expected["complaints"]["month"] > 0
    assert expected["livestock"] == {"week": 0, "month": 0}


def test_a_snapshot_gives_the_tile_figures_of_the_whole_tables(demo_store, frames):
    """The page's earlier days are computed on the database's snapshot of the day: the same figures."""
    from geo.store import open_store

    store = open_store(demo_store)
    small = {t: store.read(t) for t in ("townships", "rivers", "waterbodies", "sampling_points", "meta",
                                        "complaints", "inspections", "inspection_visits")}
    for day in (WEEK, MONTH):
        snap = progress.snapshot(store, day)
        readings = store.latest_sampling(day, tuple(small["sampling_points"]["id"].astype(str)))
        got = W.tiles({**small, **snap, "readings": readings}, day, distance=LIMIT)["tiles"]
        assert {t.key: t.value for t in got} == figures(frames, day), day


def test_the_sign_and_colour_rule():
    assert W.change_text(3, +1, "week") == ("较上周 ↑+3", "better")  # closures up: good
    assert W.change_text(-2, +1, "month") == ("较上月 ↓-2", "worse")
    assert W.change_text(4, -1, "week") == ("较上周 ↑+4", "worse")  # violations up: bad
    assert W.change_text(-1, -1, "month") == ("较上月 ↓-1", "better")
    assert W.change_text(0, -1, "week") == ("较上周 持平", "flat")
    assert W.change_text(None, +1, "week") == ("— 上周无数据", "none")
    assert W.change_text(None, -1, "month") == ("— 上月无数据", "none")


def test_every_tile_knows_which_way_is_good(frames):
    better = {t.key: t.better for t in W.tiles(frames, DAY, distance=LIMIT)["tiles"]}
    assert better == {"chemical": 1, "lime": 1, "livestock": 1, "riverside": -1, "water": 1, "complaints": 1}


def test_no_change_before_the_data(frames):
    now = W.tiles(frames, DAY, distance=LIMIT)["tiles"]
    got = W.tile_changes(now, {"week": None, "month": W.tiles(frames, MONTH, distance=LIMIT)["tiles"]})
    assert all(c["week"] is None and c["month"] is not None for c in got.values())


# --- the page ------------------------------------------------------------------------------------

def _wall(asked: str | None = None) -> tuple[AppTest, str]:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    if asked:
        at.query_params["as_of"] = asked
    at.switch_page("views/wall.py").run()
    assert not at.exception, at.exception
    return at, " ".join(el.proto.body for el in at.get("html"))


TILE = re.compile(r'<div class="qs-tile[^"]*"><div class="qs-label">(.*?)</div>.*?<div class="qs-change">(.*?)</div>')
DELTA = re.compile(r'<span class="qs-delta qs-(\w+)" data-period="(\w+)" data-delta="(-?\d*)">([^<]*)</span>')
LABELS = {"化工企业关停": "chemical", "石灰窑（棚）整治": "lime", "养殖场治理": "livestock",
          f"沿河{LIMIT}米违规（在产）": "riverside", "水质达标断面": "water", "投诉按期办结": "complaints"}


def _changes(text: str) -> dict[str, dict[str, tuple[str, str, str]]]:
    """``{tile key: {period: (judgement, delta, text)}}`` as the page shows them."""
    out = {}
    for label, line in TILE.findall(text):
        out[LABELS[label]] = {p: (j, d, t) for j, p, d, t in DELTA.findall(line)}
    return out


def test_the_page_shows_each_tiles_changes(app_store, expected):
    at, text = _wall()
    shown = _changes(text)
    assert set(shown) == set(LABELS.values())
    for key, periods in shown.items():
        assert set(periods) == {"week", "month"}, key
        for period, (judged, delta, words) in periods.items():
            want = expected[key][period]
            assert delta == str(want), (key, period)
            prefix = "较上周" if period == "week" else "较上月"
            if want == 0:
                assert (judged, words) == ("flat", f"{prefix} 持平")
            else:
                arrow = "↑" if want > 0 else "↓"
                assert words == f"{prefix} {arrow}{want:+d}", (key, period)
                good = (want > 0) == (key != "riverside")
                assert judged == ("better" if good else "worse"), (key, period)
    # fewer violations is good news: green; more kilns done, too
    assert shown["riverside"]["month"][0] == "better" and shown["lime"]["week"][0] == "better"
    # green for good, red for bad, and no smaller than the note above it (readable from 4 m)
    assert ".qs-change .qs-better {color:#3CC08F;}" in text and ".qs-change .qs-worse {color:#FF6B4A;}" in text
    assert re.search(r"\.qs-tile \.qs-change \{font-size:calc\(24\*var\(--u\)\)", text)
    assert "较上周" in text and "较上月" in text


def test_the_page_says_when_the_earlier_day_is_before_the_data(app_store, frames):
    first = datecheck.first_day(dict(frames))
    assert first == pd.Timestamp("2004-01-01")
    day = first + pd.Timedelta(days=4)  # a week back is before the data, and so is a month back
    at, text = _wall(f"{day:%Y-%m-%d}")
    assert f'data-mode="replay" data-date="{day:%Y-%m-%d}"' in text
    shown = _changes(text)
    assert len(shown) == 6
    for periods in shown.values():
        assert periods["week"] == ("none", "", "— 上周无数据")
        assert periods["month"] == ("none", "", "— 上月无数据")
    assert "上周无数据" in text and 'title="' not in TILE.search(text).group(0)  # said, not hidden in a tooltip
    day = first + pd.Timedelta(days=19)  # a week back is in the data, a month back is not
    at, text = _wall(f"{day:%Y-%m-%d}")
    shown = _changes(text)
    now, week = figures(frames, day), figures(frames, day - pd.Timedelta(days=7))
    for key, periods in shown.items():
        assert periods["week"][1] == str(now[key] - week[key]), key
        assert periods["month"] == ("none", "", "— 上月无数据")


def test_the_page_escapes_the_tile_text(app_store, monkeypatch):
    hostile = '<img src=x onerror="alert(1)">&'
    tiles, change_text = W.tiles, W.change_text

    def hostile_tiles(*args, **kwargs):
        out = tiles(*args, **kwargs)
        out["tiles"] = [dataclasses.replace(out["tiles"][0], label=hostile, note=hostile), *out["tiles"][1:]]
        return out

    monkeypatch.setattr(W, "tiles", hostile_tiles)
    monkeypatch.setattr(W, "change_text", lambda *a: (hostile + change_text(*a)[0], change_text(*a)[1]))
    at, text = _wall()
    tiles_html = text[text.index('<div class="qs-tiles'):]
    assert "<img" not in tiles_html and "onerror=\"" not in tiles_html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;较上周" in tiles_html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;较上月" in tiles_html
    assert '<div class="qs-label">&lt;img' in tiles_html
