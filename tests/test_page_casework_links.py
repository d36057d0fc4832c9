"""Pages (AppTest): the complaints map, 一企一档 link columns on /progress, /buffer, /patrol, and the /patrol
button that turns the planned patrol into an inspection (signed-in inspectors and planners only)."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from tests.apptests import sign_in, texts

from geo import inspections as I
from geo.store import Change

ROOT = Path(__file__).resolve().parent.parent
VIEWS = ROOT / "views"
USERS = {"li": ("inspector-pw", "inspector"), "wang": ("planner-pw", "planner"), "zhao": ("admin-pw", "admin")}
DEPARTMENTS = "环保局、开发区管委会、安监局、经贸局"


@pytest.fixture
def env(page_env):
    """A copy of the demo with the accounts of :data:`USERS` (tests/conftest.py)."""
    return page_env(USERS, chdir=True)


def run(name: str) -> AppTest:
    at = AppTest.from_file(str(VIEWS / name), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def login(at: AppTest, user: str) -> AppTest:
    return sign_in(at, user, USERS[user][0], prefix="cw_")



def map_points(at: AppTest) -> list[dict]:
    html = "\n".join(e.proto.srcdoc for e in at.get("iframe"))
    return [json.loads(m) for m in re.findall(r"QS\.points\((\{.*?\}), \{\}\)", html)]


def assert_site_links(links: pd.Series, layers, ids) -> None:
    """Every link opens /site for exactly that row's layer and id."""
    assert len(links) > 0
    for link, layer, fid in zip(links, layers, ids):
        parts = urlsplit(link)
        assert parts.path == "site" and parse_qs(parts.query) == {"layer": [layer], "id": [fid]}, link


# --- complaints map -----------------------------------------------------------------------

def test_complaints_map_shows_states_next_to_the_alarms(env):
    c = env.read("complaints")
    new = c.iloc[:2].copy()
    new["id"] = ["TS2007-901", "TS2007-902"]
    new["received_on"] = pd.to_datetime(["2007-06-01", "2007-06-20"])
    new["due_on"] = pd.to_datetime(["2007-06-16", "2007-06-30"])  # overdue; due on the report day
    new["handled_on"] = pd.NaT
    new["result"] = None
    new["sensitive"] = [True, False]
    new["geometry"] = [shapely.Point(118.90, 28.97), shapely.Point(118.95, 28.99)]
    env.commit([Change("complaints", new, "upsert")])
    at = run("complaints.py")
    (pins,) = map_points(at)
    ids = [r[0] for r in pins["rows"]]
    assert len(ids) == 38 and ids[-1] == "TS2007-901"  # the overdue one drawn on top
    colour = dict(zip(ids, (pins["palette"][k] for k in pins["c"])))
    assert colour["TS2007-901"] == "#D55E00" and colour["TS2007-902"] == "#E69F00"
    assert sum(v == "#009E73" for v in colour.values()) == 36
    linked = [s for s in pins["site"] if s]
    assert len(linked) == int(c["feature_id"].notna().sum()) + int(new["feature_id"].notna().sum()) > 0
    assert "已超期 1 件、今日到期 1 件、办理中 0 件、已办结 36 件" in texts(at)
    alarms = at.dataframe[0].value
    assert list(alarms["编号"]) == ["TS2007-901", "TS2007-902"] and list(alarms["告警"]) == ["已超期", "今日到期"]


# --- 一企一档 link columns ------------------------------------------------------------------

def test_progress_pending_list_links_every_site(env):
    at = run("progress.py")
    table = next(df.value for df in at.dataframe if "一企一档" in df.value.columns)
    assert len(table) > 0 and table["一企一档"].notna().all()
    ids = table["编号"]
    layers = [next(lay for lay in ("enterprises", "kilns", "farms") if parse_qs(urlsplit(link).query)["layer"] == [lay])
              for link in table["一企一档"]]
    assert_site_links(table["一企一档"], layers, ids)
    frames = {lay: set(env.read(lay)["id"]) for lay in ("enterprises", "kilns", "farms")}
    assert all(i in frames[lay] for lay, i in zip(layers, ids))


def test_buffer_list_links_every_site(env):
    at = run("buffer.py")
    table = next(df.value for df in at.dataframe if "一企一档" in df.value.columns)
    label_to_layer = {"养殖场": "farms", "企业": "enterprises", "石灰窑（棚）": "kilns"}
    assert len(table) > 0
    assert_site_links(table["一企一档"], [label_to_layer[x] for x in table["图层"]], table["编号"])


# --- /patrol: links and plan → inspection ---------------------------------------------------

def _planned(selection=("committed",)) -> AppTest:
    at = run("patrol.py")
    at.multiselect(key="patrol_select").set_value(list(selection))
    at.number_input(key="patrol_teams").set_value(2)
    at.slider(key="patrol_seconds").set_value(1)
    at.button(key="patrol_plan").click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_patrol_lists_link_to_site_files_and_reading_needs_no_login(env):
    at = _planned()
    team_tables = [df.value for df in at.dataframe if "预计到达" in df.value.columns]
    assert len(team_tables) == 2
    e = set(env.read("enterprises")["id"])
    for t in team_tables:
        ids = [parse_qs(urlsplit(link).query)["id"][0] for link in t["一企一档"]]
        assert set(ids) <= e and len(ids) == len(t)
        assert_site_links(t["一企一档"], ["enterprises"] * len(t), ids)
    # not signed in: the conversion asks for a login, no form
    assert "登录后可登记" in texts(at)
    assert not [b for b in at.button if b.label == "转为巡查"]


def test_patrol_plan_becomes_an_inspection_once(env):
    at = _planned()
    plan = at.session_state["patrol_plan_result"]
    at = login(at, "li")
    n_before = len(env.read("inspections"))
    # a joint patrol with one department is refused, nothing written
    at.text_input(key="cw_p_departments").input("环保局")
    next(b for b in at.button if b.label == "转为巡查").click()
    at.run()
    assert not at.exception, at.exception
    assert any("at least 4 departments" in str(e.value) for e in at.error)
    assert len(env.read("inspections")) == n_before
    at.text_input(key="cw_p_departments").input(DEPARTMENTS)
    at.text_input(key="cw_p_team").input("联合巡查组")
    next(b for b in at.button if b.label == "转为巡查").click()
    at.run()
    assert not at.exception, at.exception
    ins = env.read("inspections")
    teams = I.plan_team_stops(plan, env)
    assert len(teams) >= 2 and len(ins) == n_before + len(teams)  # one inspection per team of the plan
    new = ins.sort_values("id").iloc[-len(teams):]
    assert set(new["recorded_by"]) == {"li"} and set(new["kind"]) == {"joint"}
    assert list(new["team"]) == [f"联合巡查组（{label}）" for _, label, _ in teams]
    assert set(new["held_on"]) == {pd.Timestamp(plan.day)} and set(new["departments"]) == {DEPARTMENTS}
    for iid, (_, _, stops) in zip(new["id"], teams):
        got = I.stops_of(env, iid)
        want = I.visits_from_stops(iid, stops, env)
        assert list(zip(got["layer"], got["feature_id"])) == list(zip(want["layer"], want["feature_id"]))
        assert any(iid in str(s.value).replace("\\", "") for s in at.success)  # markdown-escaped
    # a rerun (or a second click) does not make a twin
    at.run()
    assert not at.exception and not [b for b in at.button if b.label == "转为巡查"]
    assert len(env.read("inspections")) == n_before + len(teams) and "已转为巡查" in texts(at)


def test_patrol_conversion_is_open_to_planners_too(env):
    at = login(_planned(), "wang")
    assert [b for b in at.button if b.label == "转为巡查"]


def test_site_page_shows_photos_and_pdf_first_pages(env):
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils not installed")
    a = env.read("attachments")
    fid = a["feature_id"].iat[0]
    mine = a[(a["layer"] == "enterprises") & (a["feature_id"] == fid)]
    at = AppTest.from_file(str(VIEWS / "site.py"), default_timeout=180)
    at.query_params["layer"] = "enterprises"
    at.query_params["id"] = fid
    at.run()
    assert not at.exception, at.exception
    images = len(at.get("image"))
    assert images == len(mine) and (mine["mime"] == "application/pdf").any()  # PDFs too, by their first page
    shown = texts(at)
    assert all(sha in shown for sha in mine["sha256"])
