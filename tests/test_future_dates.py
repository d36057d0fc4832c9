"""Dates that make sense (issue 14.5): closures, status dates and sampling times cannot lie in the future.

"The future" is after today, or, for a store replaying a past date (its meta ``as_of``, like the demo's
2007-06-30), after that date. Deadlines may lie ahead. A refused date writes nothing and says why, in
Chinese and English. On GeoPackage and PostGIS.
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from geo import auth, datecheck, intake
from geo.__main__ import main as geo_main
from geo.errors import GeoError
from geo.intake.lab import import_lab_file
from geo.store import DEMO_STORE, Change, open_store
from geo.updates import update_status
from tests.storedata import sample_tables

FAR = ["2099-12-31", "9999-12-31"]
TODAY = dt.date(2007, 7, 10)
NOW = dt.datetime(2007, 7, 10, 9, 0)
HEADER = ["编号", "企业名称", "经度", "纬度", "行业", "状态", "关停日期", "整改期限"]


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    """The sample store (meta ``as_of`` 2007-06-30: a replay store) on each backend."""
    s = (open_store(tmp_path / "s.gpkg", create=True) if request.param == "gpkg"
         else open_store(request.getfixturevalue("pg_db"), create=True))
    s.replace_all(sample_tables())
    return s


def _live(store):
    """Make ``store`` a live one: no ``as_of``, so the limit is today."""
    store.commit([Change("meta", pd.DataFrame({"key": ["district"], "value": ["衢江区"]}), "replace")])
    return store


def _csv(path: Path, rows, header=HEADER) -> Path:
    q = lambda v: "" if v is None else '"' + str(v).replace('"', '""') + '"'
    path.write_text("\n".join(",".join(map(q, r)) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def _closure(i, closed, deadline=None):
    return [i, f"厂{i}", 118.95, 28.95, "化工", "已关停", closed, deadline]


def test_latest_allowed_is_today_or_the_replay_date(store):
    assert datecheck.latest_allowed(store, TODAY) == dt.date(2007, 6, 30)
    assert datecheck.latest_allowed(store, dt.date(2007, 6, 1)) == dt.date(2007, 6, 1)  # today earlier still
    assert datecheck.latest_allowed(_live(store), TODAY) == TODAY
    assert datecheck.latest_allowed(None, TODAY) == TODAY


# --- ledger intake ------------------------------------------------------------------------------

@pytest.mark.parametrize("far", FAR)
def test_ledger_closure_in_the_future_is_refused(store, tmp_path, far):
    _live(store)
    v0, n0 = store.version(), len(store.read("enterprises"))
    f = _csv(tmp_path / "l.csv", [_closure("F1", "2007-06-01"), _closure("F2", far)])
    res = intake.import_file(store, "enterprises", f, datum="wgs84", user="u", now=NOW, today=TODAY)
    assert not res.ok and store.version() == v0 and len(store.read("enterprises")) == n0
    [err] = res.errors
    assert (err.row, err.id, err.column) == (3, "F2", "关停日期")
    assert far in err.why_zh and "晚于今天" in err.why_zh and "2007-07-10" in err.why_zh
    assert far in err.why and "future" in err.why


def test_ledger_xlsx_date_cells_far_ahead_are_refused(store, tmp_path):
    _live(store)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(_closure("X1", dt.datetime(9999, 12, 31)))
    ws.append(_closure("X2", dt.datetime(2099, 12, 31)))
    wb.save(tmp_path / "l.xlsx")
    v0 = store.version()
    res = intake.import_file(store, "enterprises", tmp_path / "l.xlsx", datum="wgs84", user="u", now=NOW, today=TODAY)
    assert [(p.id, p.column) for p in res.errors] == [("X1", "关停日期"), ("X2", "关停日期")]
    assert store.version() == v0


def test_ledger_dates_after_the_replay_date_are_refused(store, tmp_path):
    v0 = store.version()
    f = _csv(tmp_path / "l.csv", [_closure("R1", "2007-07-05")])  # before TODAY, after as_of
    res = intake.import_file(store, "enterprises", f, datum="wgs84", user="u", now=NOW, today=TODAY)
    assert not res.ok and store.version() == v0
    assert "2007-06-30" in res.errors[0].why_zh and "数据截止日期" in res.errors[0].why_zh
    assert "as_of" in res.errors[0].why and "future" in res.errors[0].why


def test_commitment_dates_are_events_too(store, tmp_path):
    header = ["编号", "企业名称", "经度", "纬度", "行业", "状态", "承诺签订日期"]
    f = _csv(tmp_path / "l.csv", [["C1", "厂C1", 118.95, 28.95, "化工", "签订承诺", "2099-12-31"]], header)
    res = intake.import_file(_live(store), "enterprises", f, datum="wgs84", user="u", now=NOW, today=TODAY)
    assert [p.column for p in res.errors] == ["承诺签订日期"]


@pytest.mark.parametrize("far", FAR)
def test_deadlines_may_lie_ahead(store, tmp_path, far):
    f = _csv(tmp_path / "l.csv", [["D1", "厂D1", 118.95, 28.95, "化工", "在产", None, far]])
    res = intake.import_file(store, "enterprises", f, datum="wgs84", user="u", now=NOW, today=TODAY)
    assert res.ok, res.errors
    assert store.read("enterprises").set_index("id").loc["D1", "deadline"].year == int(far[:4])


def test_undated_status_changes_take_the_stores_date(store, tmp_path):
    f = _csv(tmp_path / "l.csv", [["U1", "厂U1", 118.95, 28.95, "化工", "在产", None, None]])
    assert intake.import_file(store, "enterprises", f, datum="wgs84", user="u", now=NOW, today=TODAY).ok
    ev = store.read("status_events").set_index("feature_id")
    assert ev.loc["U1", "effective_on"] == pd.Timestamp("2007-06-30")  # the replay store's as_of, not TODAY
    f = _csv(tmp_path / "m.csv", [["U2", "厂U2", 118.95, 28.95, "化工", "在产", None, None]])
    assert intake.import_file(_live(store), "enterprises", f, datum="wgs84", user="u", now=NOW, today=TODAY).ok
    assert store.read("status_events").set_index("feature_id").loc["U2", "effective_on"] == pd.Timestamp(TODAY)


# --- status updates -----------------------------------------------------------------------------

@pytest.mark.parametrize("far", [*FAR, dt.date(9999, 12, 31)])
def test_status_update_in_the_future_is_refused(store, far):
    _live(store)
    v0, n0 = store.version(), len(store.read("status_events"))
    with pytest.raises(GeoError) as exc:
        update_status(store, "farms", "f1", "accepted", far, "", "li", now=NOW, today=TODAY)
    assert "晚于今天" in exc.value.zh and ("9999" in exc.value.zh or "2099" in exc.value.zh)
    assert "future" in exc.value.en
    assert store.version() == v0 and len(store.read("status_events")) == n0
    assert store.read("farms").set_index("id").loc["f1", "status"] == "treating"


def test_status_update_after_the_replay_date_is_refused_and_on_it_accepted(store):
    v0 = store.version()
    with pytest.raises(GeoError) as exc:
        update_status(store, "farms", "f1", "accepted", "2007-07-01", "", "li", now=NOW, today=TODAY)
    assert "2007-06-30" in exc.value.zh and "as_of" in exc.value.en
    assert store.version() == v0
    res = update_status(store, "farms", "f1", "accepted", "2007-06-30", "", "li", now=NOW, today=TODAY)
    assert res.current == "accepted"


def test_status_cli_refuses_a_future_date(store, capsys):
    v0 = store.version()
    code = geo_main(["status", "--store", store.url, "--layer", "farms", "--id", "f1", "--set", "accepted",
                     "--on", "2099-12-31", "--user", "li"])
    err = capsys.readouterr().err
    assert code != 0 and "2099-12-31" in err and "Traceback" not in err
    assert store.version() == v0


def test_status_cli_defaults_to_the_stores_date(store, capsys):
    """Without --on, a replay store's change takes effect on its as_of date (today would be its future)."""
    assert geo_main(["status", "--store", store.url, "--layer", "farms", "--id", "f1", "--set", "accepted",
                     "--user", "li"]) == 0
    ev = store.read("status_events").iloc[-1]
    assert ev["effective_on"] == pd.Timestamp("2007-06-30") and ev["status"] == "accepted"


# --- lab results --------------------------------------------------------------------------------

def _lab(path: Path, when: str) -> Path:
    path.write_text(f"点位,采样时间,指标,数值,单位\np1,2007-06-20 09:00,COD,12,mg/L\np1,{when},COD,13,mg/L\n",
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("when", ["2099-12-31 10:00", "9999-12-31", "9999/12/31 10:00"])
def test_lab_readings_in_the_future_are_refused(store, tmp_path, when):
    _live(store)
    v0, n0 = store.version(), len(store.read("readings"))
    rd, problems, written = import_lab_file(store, _lab(tmp_path / "lab.csv", when))
    assert not written and store.version() == v0 and len(store.read("readings")) == n0
    [p] = problems
    assert p.row == 3 and "晚于今天" in p.why_zh and "future" in p.why


def test_lab_readings_after_the_replay_date_are_refused(store, tmp_path):
    v0 = store.version()
    rd, problems, written = import_lab_file(store, _lab(tmp_path / "lab.csv", "2007-07-02 10:00"))
    assert not written and store.version() == v0
    assert [p.row for p in problems] == [3] and "2007-06-30" in problems[0].why_zh


# --- the page -----------------------------------------------------------------------------------

@pytest.fixture
def page_env(tmp_path, monkeypatch):
    import bcrypt

    store = tmp_path / "store.gpkg"
    shutil.copyfile(DEMO_STORE, store)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(auth.toml_entry("wang", bcrypt.hashpw(b"planner-pw", bcrypt.gensalt(4)).decode(), "planner"),
                       encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_STORE", str(store))
    monkeypatch.setenv("QINGSHAN_SECRETS", str(secrets))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield open_store(store)
    st.cache_resource.clear()
    st.cache_data.clear()


def test_page_refuses_future_dates_and_writes_nothing(page_env):
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "views" / "data.py"), default_timeout=120)
    at.run()
    at.sidebar.text_input(key="login_user").input("wang")
    at.sidebar.text_input(key="login_password").input("planner-pw")
    next(b for b in at.sidebar.button if b.label == "登录").click()
    at.run()
    assert not at.exception, at.exception
    # the status form offers no date after the store's as-of date
    assert at.date_input(key="upd_date").proto.max == "2007-06-30"
    v0 = page_env.version()
    ledger = ("编号,企业名称,经度,纬度,行业,状态,关停日期\n"
              "Z1,未来厂,118.95,28.98,化工,已关停,9999-12-31\n").encode("utf-8")
    at.get("file_uploader")[0].set_value(("台账.csv", ledger, "text/csv"))
    point = page_env.read("sampling_points")["id"].iloc[0]
    lab = f"点位,采样时间,指标,数值,单位\n{point},2099-12-31 10:00,COD,12,mg/L\n".encode("utf-8")
    next(u for u in at.get("file_uploader") if "实验室" in u.proto.label).set_value(("lab.csv", lab, "text/csv"))
    at.run()
    assert not at.exception, at.exception
    assert next(b for b in at.button if b.label == "确认导入").disabled
    assert next(b for b in at.button if b.label == "导入监测数据").disabled
    reports = pd.concat([d.value.astype(str) for d in at.dataframe if "行号" in d.value.columns])
    shown = reports.to_string()
    assert "9999-12-31" in shown and "2099-12-31" in shown and "2007-06-30" in shown
    assert page_env.version() == v0
