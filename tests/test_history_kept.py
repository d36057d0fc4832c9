"""History is never silently lost (issue 26 item 6, issue 25 "findings never silently replaced").

- a complaints register imported again keeps a stored complaint's handling and who registered it; a
  register that says otherwise is reported, never applied over it; ``mark_handled`` records the handler
  beside the intake author and refuses to handle a complaint twice;
- a ledger update records every field it changes in ``edits``: who, when, which file row, old → new and,
  for a move, the geodesic distance in metres (checked against the forward geodesic the test moved by);
- a second finding at an inspection stop keeps the first (its note, time, inspector, photo): the stop's
  row holds the latest, every earlier one is a row of its own; the phone page says what is recorded.

The complaint and ledger tests run on both stores (PostGIS: a fresh database, as tests/test_casework.py).
"""
from __future__ import annotations

import datetime as dt
import shutil

import geopandas as gpd
import pandas as pd
import pyproj
import pytest
from streamlit.testing.v1 import AppTest

from geo import complaints as C
from geo import inspections as I
from geo.cli import main
from geo.errors import GeoError
from geo.store import open_store
from tests.apptests import sign_in, texts
from tests.conftest import DEMO, ROOT
from tests.test_casework import _png
from tests.test_complaints_register import NOW, ROWS, _register

GEOD = pyproj.Geod(ellps="WGS84")
HANDLING = ["handled_on", "result", "handled_by", "handled_at", "recorded_by", "recorded_at"]


@pytest.fixture
def store(demo_each_backend):
    """The demo on each backend (conftest's ``demo_each_backend``)."""
    return demo_each_backend


def _handling(store, cid: str) -> dict:
    row = store.read("complaints").set_index("id").loc[cid]
    return {c: row.get(c) for c in HANDLING}


# --- complaints ---------------------------------------------------------------------------------

def test_register_imported_again_keeps_the_handling_and_its_authors(store, tmp_path):
    path = _register(tmp_path / "12345.xlsx", ROWS)
    assert C.import_file(store, path, user="信访科", now=NOW).ok
    cid = ROWS[0][1]  # unhandled in the register
    started = pd.Timestamp(dt.datetime.now().replace(microsecond=0))
    C.mark_handled(store, cid, "2007-06-25", "已清淤并回复", user="执法甲", today=NOW.date())
    after_handling = _handling(store, cid)
    assert started <= after_handling.pop("handled_at") <= pd.Timestamp.now()  # when the handling was recorded
    assert after_handling == {"handled_on": pd.Timestamp("2007-06-25"), "result": "已清淤并回复", "handled_by": "执法甲",
                              "recorded_by": "信访科", "recorded_at": pd.Timestamp(NOW)}
    after_handling = _handling(store, cid)
    # the same register again (its 办结 cells still blank), by another clerk, a day later
    again = C.import_file(store, path, user="信访乙", now=NOW + dt.timedelta(days=1))
    assert again.ok and sorted(again.updated_ids) == sorted(r[1] for r in ROWS)
    assert _handling(store, cid) == after_handling
    assert not [p for p in again.problems if p.row == 3 and p.column == "办结时间"]
    # a row handled in the register keeps who recorded that (the first import's clerk) and when
    second = _handling(store, ROWS[1][1])
    assert (second["handled_by"], second["recorded_by"]) == ("信访科", "信访科")
    assert second["handled_on"] == pd.Timestamp("2007-06-10")
    # a register that says otherwise: reported on its row, the stored handling kept
    rows = [list(r) for r in ROWS]
    rows[0][13], rows[0][14] = "2007-06-28", "另一种说法"
    other = C.import_file(store, _register(tmp_path / "other.xlsx", rows), user="信访乙", now=NOW)
    assert other.ok
    said = [p for p in other.problems if p.row == 3 and p.column == "办结时间"]
    assert len(said) == 1 and said[0].severity == "warning" and "保留库中记录" in said[0].why_zh
    assert "执法甲" in said[0].why_zh
    assert _handling(store, cid) == after_handling


def test_a_complaint_is_handled_once(store, tmp_path):
    assert C.import_file(store, _register(tmp_path / "r.xlsx", ROWS), user="信访科", now=NOW).ok
    cid = ROWS[3][1]
    C.mark_handled(store, cid, "2007-06-20", "已整改", user="执法甲", today=NOW.date())
    before = _handling(store, cid)
    with pytest.raises(GeoError) as exc:
        C.mark_handled(store, cid, "2007-06-29", "改写", user="执法乙", today=NOW.date())
    assert "已于 2007-06-20 办结" in exc.value.zh and "执法甲" in exc.value.zh
    assert _handling(store, cid) == before


def test_a_register_that_changes_a_complaint_keeps_the_old_value_in_edits(store, tmp_path):
    """Issue 26: every change to a complaint kept as history with its author, not only its handling."""
    assert C.import_file(store, _register(tmp_path / "r.xlsx", ROWS), user="信访科", now=NOW).ok
    cid = ROWS[1][1]
    before = store.read("complaints").set_index("id").loc[cid]
    rows = [list(r) for r in ROWS]
    rows[1][5] = "工地夜间施工噪声，已持续一周"  # 诉求内容 rewritten by the hotline
    rows[1][11] = "区住建局"  # 承办单位 changed
    later = NOW + dt.timedelta(days=2)
    again = C.import_file(store, _register(tmp_path / "r2.xlsx", rows), user="信访乙", now=later)
    assert again.ok
    ed = store.read("edits")
    ed = ed[(ed["layer"] == "complaints") & (ed["feature_id"] == cid)].set_index("field")
    assert set(ed.index) == {"summary", "office"}, ed
    assert ed.at["summary", "old"] == before["summary"] and ed.at["summary", "new"] == "工地夜间施工噪声，已持续一周"
    assert ed.at["office", "old"] == before["office"] and ed.at["office", "new"] == "区住建局"
    assert set(ed["recorded_by"]) == {"信访乙"} and set(pd.to_datetime(ed["recorded_at"])) == {pd.Timestamp(later)}
    # the rows that did not change leave no edit; the same register once more adds nothing
    assert set(store.read("edits").query("layer == 'complaints'")["feature_id"]) == {cid}
    n = len(store.read("edits"))
    assert C.import_file(store, _register(tmp_path / "r3.xlsx", rows), user="信访乙", now=later).ok
    assert len(store.read("edits")) == n


# --- ledger updates -------------------------------------------------------------------------------

def test_ledger_update_records_every_change_with_its_author(store, tmp_path, capsys):
    farm = store.read("farms").iloc[0]
    n_events = len(store.read("status_events"))
    lon, lat, _ = GEOD.fwd(farm.geometry.x, farm.geometry.y, 90.0, 963.0)  # 963 m due east
    f = tmp_path / "farms.csv"
    f.write_text(f"编号,养殖场名称,经度,纬度\n{farm['id']},{farm['name']}（新址）,{lon:.9f},{lat:.9f}\n", encoding="utf-8")
    started = pd.Timestamp(dt.datetime.now().replace(microsecond=0))
    url = str(store.url) if str(store.url).startswith("postgresql") else str(tmp_path / "store.gpkg")
    assert main(["import", "--store", url, "--layer", "farms", "--file", str(f), "--crs", "wgs84", "--user", "张三",
                 "--update-existing"]) == 0, capsys.readouterr().err
    assert "2 field change(s) recorded" in capsys.readouterr().err
    store = open_store(url)
    e = store.read("edits").set_index("field")
    assert sorted(e.index) == ["geometry", "name"]
    assert set(e["layer"]) == {"farms"} and set(e["feature_id"]) == {farm["id"]} and set(e["recorded_by"]) == {"张三"}
    assert (e["recorded_at"] >= started).all() and (e["recorded_at"] <= pd.Timestamp.now() + pd.Timedelta(seconds=1)).all()
    assert all("farms.csv 第2行" in s for s in e["source"])
    assert (e.loc["name", "old"], e.loc["name", "new"]) == (farm["name"], f"{farm['name']}（新址）")
    assert abs(e.loc["geometry", "moved_m"] - 963.0) < 0.05
    assert e.loc["geometry", "old"] == f"{farm.geometry.x:.7f}, {farm.geometry.y:.7f}"
    assert e.loc["geometry", "new"] == f"{lon:.7f}, {lat:.7f}"
    from geo.history import edits_of

    assert edits_of(store.read("edits"), "farms", farm["id"])["field"].tolist() == ["name", "geometry"]  # file order
    # a rename and a move are no status change: the status and its history are as they were
    assert len(store.read("status_events")) == n_events
    assert store.read("farms").set_index("id").loc[farm["id"], "status"] == farm["status"]
    # the same ledger again changes nothing, so records nothing
    assert main(["import", "--store", url, "--layer", "farms", "--file", str(f), "--crs", "wgs84", "--user", "李四"]) == 0
    assert len(store.read("edits")) == 2
    # the site file (page and PDF) shows them, in words
    from geo.sitefile import site_file, to_pdf

    sf = site_file(store, "farms", farm["id"])
    assert sf.edits["字段"].tolist() == ["养殖场名称", "位置"] and set(sf.edits["修改人"]) == {"张三"}
    assert sf.edits["移动距离"].tolist() == ["—", "963 米"] and sf.edits.at[0, "新值"] == f"{farm['name']}（新址）"
    text = _pdf_text(to_pdf(sf))
    assert "修改记录" in text and "963 米" in text


def _pdf_text(pdf: bytes) -> str:
    import subprocess

    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


# --- inspection findings --------------------------------------------------------------------------

def _new_inspection(store, n_stops: int = 3, held_on="2007-06-30") -> str:
    kilns = store.read("kilns").iloc[:n_stops]
    stops = gpd.GeoDataFrame({"layer": "kilns", "id": kilns["id"].to_numpy()}, geometry=kilns.geometry.values,
                             crs="EPSG:4326")
    return I.new_inspection(store, held_on=held_on, kind="spot", departments="环保局", stops=stops, user="组长")


def test_every_finding_at_a_stop_is_kept(tmp_path):
    dst = tmp_path / "store.gpkg"
    shutil.copyfile(DEMO, dst)
    store = open_store(dst)
    iid = _new_inspection(store)
    stop = I.stops_of(store, iid)["id"].iat[0]
    findings = ["ok", "violation", "not_found"]
    for k in range(30):
        when = dt.datetime(2007, 6, 30, 8, 0) + dt.timedelta(minutes=10 * k)
        photos = [("p.png", _png())] if k < 2 else ()  # the same photo taken at the first two visits
        I.record_finding(store, stop, findings[k % 3], note=f"第{k + 1}次", user=f"队员{k % 2}", when=when,
                         photos=photos)
    v = store.read("inspection_visits")
    mine = v[v["id"].str.startswith(stop)].set_index("id")
    assert len(mine) == 30  # 30 findings, 30 records
    # the stop's row holds the latest; the earlier ones keep their own note, time and inspector, in order
    assert (mine.loc[stop, "note"], mine.loc[stop, "finding"]) == ("第30次", findings[29 % 3])
    for k in range(29):
        kept = mine.loc[f"{stop}-{k + 1}"]
        assert kept["note"] == f"第{k + 1}次" and kept["finding"] == findings[k % 3]
        assert kept["recorded_by"] == f"队员{k % 2}"
        assert kept["visited_at"] == pd.Timestamp(2007, 6, 30, 8, 0) + pd.Timedelta(minutes=10 * k)
    # each photo stays with the visit it was taken at
    att = store.read("attachments")
    att = att[att["layer"] == "inspection_visits"]
    assert sorted(att.loc[att["feature_id"].str.startswith(stop), "feature_id"]) == [f"{stop}-1", f"{stop}-2"]
    # the stop is one stop with 30 records
    s = I.stops_of(store, iid).set_index("id")
    assert len(s) == 3 and s.loc[stop, "records"] == 30 and s.loc[stop, "note"] == "第30次"
    table = I.labelled_inspections(store.read("inspections"), v).set_index("编号").loc[iid]
    assert (table["点位"], table["已记录"]) == (3, 1)


def test_inspect_page_shows_what_is_recorded_after_each_save(page_env, monkeypatch):
    env = page_env({"li": ("inspector-pw", "inspector")})
    monkeypatch.chdir(ROOT)
    iid = _new_inspection(env)
    at = AppTest.from_file(str(ROOT / "views" / "inspect.py"), default_timeout=120)
    at.run()
    at = sign_in(at, "li", "inspector-pw", prefix="cw_")
    assert at.selectbox(key="cw_i_ins").value == iid
    assert "共 3 个点位，已记录 0 个" in texts(at)
    stop = at.selectbox(key="cw_i_stop").value
    for k, (finding, label) in enumerate((("not_found", "未找到"), ("violation", "违规")), start=1):
        at.radio(key="cw_i_finding").set_value(finding)
        at.text_area(key="cw_i_note").input(f"第{k}次")
        next(b for b in at.button if b.label == "保存检查结果").click()
        at.run()
        assert not at.exception, at.exception
        shown = texts(at).replace("\\", "")  # (markdown escapes)
        assert "已保存。" in shown and "共 3 个点位，已记录 1 个" in shown
        row = env.read("inspection_visits").set_index("id").loc[stop]
        when = f"{row['visited_at']:%m-%d %H:%M}"
        assert row["note"] == f"第{k}次"
        assert f"最近记录：{label} {when}" in shown
        box = at.selectbox(key="cw_i_stop")
        assert box.value == stop
        assert f"{label} {when}" in box.format_func(stop) and (k == 1 or f"共 {k} 次" in box.format_func(stop))
    assert len(env.read("inspection_visits").query("id.str.startswith(@stop)", engine="python")) == 2
