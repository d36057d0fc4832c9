"""Finding sites at any store size (issue 13): the database search, counts and box reads on both backends,
and the pages that use them (/patrol, /data, /site) sending matches and one township's sites, never every site.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import shapely
import streamlit as st
from streamlit.testing.v1 import AppTest

from geo.store import Change, open_store
from geo.store.search_sql import SEARCH_LAYERS, like_pattern

ROOT = Path(__file__).resolve().parent.parent
VIEWS = ROOT / "views"
#: Names planted in the demo's enterprises: LIKE wildcards, the escape character, SQL and markup.
PLANTED = {0: "百分之100%达标厂", 1: "甲_乙化工厂", 2: "反斜杠\\厂", 3: "'; DROP TABLE enterprises; --",
           4: "<b>粗体</b>厂", 5: "Mixed Case 化工"}
QUERIES = ["", "E0", "e0", "化工", "%", "100%", "_", "甲_乙", "\\", "'; DROP TABLE enterprises; --", "厂",
           "mixed case", "猪", "不存在的名称", "K", "W"]


# --- the store API on both backends --------------------------------------------------------

@pytest.fixture(scope="module")
def stores(tmp_path_factory, request):
    """The demo (a copy, with the planted names) as GeoPackage, and the same copied into PostGIS."""
    from geo.store.postgis import copy_store

    path = tmp_path_factory.mktemp("search") / "store.gpkg"
    shutil.copyfile(ROOT / "data" / "demo.gpkg", path)
    gpkg = open_store(path)
    e = gpkg.read("enterprises")
    rows = e.iloc[list(PLANTED)].copy()
    rows["name"] = [PLANTED[k] for k in PLANTED]
    gpkg.commit([Change("enterprises", rows, "upsert")])
    pg_url = request.getfixturevalue("pg_url")
    from tests.pg import drop_database, new_database

    url = new_database(pg_url)
    pg = open_store(url, create=True)
    copy_store(gpkg, pg)
    yield {"gpkg": gpkg, "postgis": pg}
    from geo.store.postgis import dispose_engine

    dispose_engine(url)
    drop_database(url)


def _expected(tables: dict, text: str, limit: int) -> pd.DataFrame:
    """The search as plain Python over every site (the reference the SQL must agree with)."""
    rows = []
    q = text.strip()
    for k, layer in enumerate(SEARCH_LAYERS):
        df = tables[layer]
        for i, n in zip(df["id"].astype(str), df["name"].astype(str)):
            if q and not (q.lower() in i.lower() or q.lower() in n.lower()):
                continue
            rank = 2 if not q else 0 if i == q else 1 if i.lower().startswith(q.lower()) else 2
            rows.append((rank, k, i.encode("utf-8"), layer, i, n))
    rows.sort()
    return pd.DataFrame([r[3:] for r in rows[:limit]], columns=["layer", "id", "name"], dtype=object)


def test_search_same_on_both_backends_and_as_plain_python(stores):
    tables = {t: stores["gpkg"].read(t) for t in SEARCH_LAYERS}
    for q in QUERIES:
        want = _expected(tables, q, 50)
        for kind, store in stores.items():
            got = store.search_sites(q)
            assert len(got) <= 50
            pd.testing.assert_frame_equal(got.reset_index(drop=True), want, obj=f"{kind} {q!r}", check_dtype=False)
    assert len(_expected(tables, "K", 1000)) > 50  # the limit was really reached above


def test_wildcards_are_literal_and_hostile_text_is_harmless(stores):
    for store in stores.values():
        assert store.search_sites("%")["name"].tolist() == [PLANTED[0]]
        assert store.search_sites("_")["name"].tolist() == [PLANTED[1]]
        assert store.search_sites("\\")["name"].tolist() == [PLANTED[2]]
        assert store.search_sites("甲_乙")["name"].tolist() == [PLANTED[1]]
        assert store.search_sites("甲%乙").empty  # a % typed by the user matches only a %
        hostile = store.search_sites(PLANTED[3])
        assert hostile["name"].tolist() == [PLANTED[3]]
        assert store.count("enterprises") == 73  # the table is still there, whole
        assert store.search_sites("MIXED")["name"].tolist() == [PLANTED[5]]  # ASCII either case
    assert like_pattern("a%b_c\\") == "%a\\%b\\_c\\\\%"


def test_limit_layers_and_exact_id_first(stores):
    for store in stores.values():
        assert len(store.search_sites("", limit=7)) == 7
        assert len(store.search_sites("厂", limit=3)) == 3
        only = store.search_sites("", layers=("farms",), limit=500)
        assert set(only["layer"]) == {"farms"} and len(only) == store.count("farms")
        e = store.read("enterprises")
        first = store.search_sites(e["id"].iat[3])
        assert (first["layer"].iat[0], first["id"].iat[0]) == ("enterprises", e["id"].iat[3])
        with pytest.raises(Exception):
            store.search_sites("x", layers=("townships",))


def test_count_and_bbox_read_same_on_both_backends(stores):
    tw = stores["gpkg"].read("townships")
    box = tuple(tw.geometry.iloc[0].bounds)
    answers = {}
    for kind, store in stores.items():
        ev = store.read("status_events")
        assert store.count("status_events") == len(ev)
        one = ev.iloc[0]
        mine = {"layer": [one["layer"]], "feature_id": [one["feature_id"]]}
        assert store.count("status_events", mine) == len(store.read("status_events", where=mine)) >= 1
        got = {t: store.read_bbox(t, box) for t in SEARCH_LAYERS}
        for t, df in got.items():
            every = store.read(t)
            want = every[shapely.intersects(every.geometry.values, shapely.box(*box))]
            assert sorted(df["id"]) == sorted(want["id"]), (kind, t)
        assert sum(len(df) for df in got.values()) > 0
        answers[kind] = {t: sorted(df["id"]) for t, df in got.items()}
    assert answers["gpkg"] == answers["postgis"]


# --- pages on a store larger than the map's point budget -----------------------------------

MAX_POINTS = 400


@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    from geo import synth

    path = tmp_path_factory.mktemp("big") / "big.gpkg"
    synth.write(path, sites=3000, townships=12, rivers=40, waterbodies=4, sampling_points=20, readings=400)
    return path


@pytest.fixture
def big_env(big_store, tmp_path, monkeypatch):
    """QINGSHAN_STORE = a copy of the 3000-site store; ``[map] max_points`` = 400; maps the pages draw captured."""
    import bcrypt

    from geo import auth
    from layers import mapview

    store = tmp_path / "store.gpkg"
    shutil.copyfile(big_store, store)
    cfg = tmp_path / "qingshan.toml"
    cfg.write_text(f"[map]\nmax_points = {MAX_POINTS}\n", encoding="utf-8")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(auth.toml_entry("li", bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode(), "inspector"),
                       encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_STORE", str(store))
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))
    monkeypatch.setenv("QINGSHAN_SECRETS", str(secrets))
    monkeypatch.chdir(ROOT)
    drawn = []

    def pick(m, **kw):
        drawn.append(m)
        return None

    monkeypatch.setattr(mapview, "pick", pick)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield open_store(store), drawn
    st.cache_resource.clear()
    st.cache_data.clear()


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def test_patrol_page_sends_matches_not_every_site(big_env):
    store, drawn = big_env
    total = sum(store.count(t) for t in SEARCH_LAYERS)
    assert total > 3000 > MAX_POINTS
    at = _run(AppTest.from_file(str(VIEWS / "patrol.py"), default_timeout=300))
    assert at.multiselect(key="patrol_picked").options == []  # nothing searched: nothing listed
    assert drawn == []  # over the budget: no map until a township is chosen
    assert "请先选择乡镇" in " ".join(str(c.value) for c in at.caption)
    # one township: only its sites, inside it, fewer than the budget
    tw = store.read("townships")
    town = tw["name"].iat[0]
    at.selectbox(key="patrol_pick_town").set_value(town)
    _run(at)
    assert len(drawn) == 1
    m = drawn[-1]
    assert 0 < m.qs_points <= MAX_POINTS
    html = mapview_html(m)
    ids = set(re.findall(r'"stop_id": ?"([a-z_]+:[^"]+)"', html))
    assert len(ids) == m.qs_points
    poly = tw.geometry.iat[0]
    want = set()
    for t in SEARCH_LAYERS:
        every = store.read(t)
        want |= {f"{t}:{i}" for i in every.loc[shapely.intersects(poly, every.geometry.values), "id"]}
    assert ids == want  # exactly the township's sites
    # a search lists at most 50 matches; a picked site stays listed when the search changes
    farms = store.read("farms")
    fid = farms["id"].iat[5]
    at.text_input(key="patrol_search").input(fid[:-1])
    _run(at)
    opts = at.multiselect(key="patrol_picked").options
    assert 0 < len(opts) <= 50
    key = f"farms:{fid}"
    at.multiselect(key="patrol_picked").set_value([key])
    _run(at)
    at.text_input(key="patrol_search").input("E0000")
    _run(at)
    ms = at.multiselect(key="patrol_picked")
    assert ms.value == [key] and len(ms.options) <= 51
    assert any(fid in o for o in ms.options)
    # plan the picked site alone
    at.multiselect(key="patrol_select").set_value([])
    at.slider(key="patrol_seconds").set_value(1)
    at.button(key="patrol_plan").click()
    _run(at)
    assert not at.error, [e.value for e in at.error]
    visited = next(df.value for df in at.dataframe if "预计到达" in df.value.columns)
    assert visited["点位名称"].tolist() == [farms["name"].iat[5]]


def mapview_html(m) -> str:
    from layers import mapview

    return mapview.to_html(m)


def test_patrol_page_refuses_a_selection_of_thousands(big_env):
    at = _run(AppTest.from_file(str(VIEWS / "patrol.py"), default_timeout=300))
    at.multiselect(key="patrol_select").set_value(["violations", "overdue", "committed", "kilns-closed"])
    at.button(key="patrol_plan").click()
    _run(at)
    msg = " ".join(e.value for e in at.error)
    assert "超过一次可规划的上限" in msg and "more than one plan routes" in msg
    assert not [df for df in at.dataframe if "预计到达" in df.value.columns]


def test_data_page_status_chooser_is_a_search(big_env):
    store, drawn = big_env
    at = AppTest.from_file(str(VIEWS / "data.py"), default_timeout=300)
    at.session_state["account"] = ("li", "inspector")
    _run(at)
    at.selectbox(key="upd_layer").set_value("farms")
    _run(at)
    assert len(at.selectbox(key="upd_site_farms").options) <= 50
    assert drawn == []  # 1500 farms > 400: the map waits for a township
    ev = store.read("status_events")
    ev = ev[ev["layer"] == "farms"]
    fid = ev["feature_id"].value_counts().index[0]  # a farm with the longest history
    at.text_input(key="upd_q_farms").input(fid)
    _run(at)
    box = at.selectbox(key="upd_site_farms")
    assert box.value == fid and len(box.options) <= 50
    shown = next(df.value for df in at.dataframe if "生效日期" in df.value.columns)
    assert len(shown) == int((ev["feature_id"] == fid).sum())
    at.selectbox(key="upd_town_farms").set_value(store.read("townships")["name"].iat[0])
    _run(at)
    assert len(drawn) == 1 and 0 < len(drawn[-1]._children) and "F" in mapview_html(drawn[-1])


def test_site_page_chooser_is_a_search(big_env):
    store, _ = big_env
    at = _run(AppTest.from_file(str(VIEWS / "site.py"), default_timeout=300))
    assert 0 < len(at.selectbox(key="cw_s_id").options) <= 50
    at.selectbox(key="cw_s_layer").set_value("kilns")
    _run(at)
    k = store.read("kilns")
    at.text_input(key="cw_s_q").input(k["id"].iat[-1])
    _run(at)
    assert at.selectbox(key="cw_s_id").value == k["id"].iat[-1]
    assert any(k["id"].iat[-1] in str(c.value) for c in at.caption)
    history = at.dataframe[1].value
    ev = store.read("status_events")
    assert len(history) == int(((ev["layer"] == "kilns") & (ev["feature_id"] == k["id"].iat[-1])).sum())
