"""Errors that used to escape as tracebacks, and the smaller findings of issue 26 (items 7 and 8).

- Dates out of the data's range (before its first day, beyond what pandas counts, malformed) are refused
  in both languages by the one check (:mod:`geo.datecheck`) on the command line (exit code 2) and on the
  pages; a day with sites but no sampling yet is counted, not a ``TypeError``.
- A full disk at commit is a bilingual :class:`StoreError` and the store is as it was: GeoPackage (SQLite's
  own page limit; a real file size limit in a child process), PostgreSQL (the server raising 53100 at
  COMMIT), and an output file on ``/dev/full``.
- A proposed status event from a field visit today is confirmed on a replay store; a refused date says
  which dates are allowed.
- Every successful write logs one INFO line (who, tables, rows); a refused one logs none.
- The CSV formula guard sees ``＝ ＋ － ＠``, leading spaces and a leading line feed.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo import datecheck, rules
from geo import inspections as I
from geo.cli import main as geo_main
from geo.errors import GeoError, StoreError
from geo.intake.lab import import_lab_file
from geo.io import writers as W
from geo.store import open_store
from geo.store.gpkg import GpkgStore
from geo.updates import update_status
from tests.conftest import DEMO, ROOT
from tests.storedata import sample_tables

BEFORE = "2000-01-01"


def sql_first_day(path: Path, tables: dict[str, str]) -> str:
    """The earliest day of ``tables`` (``{table: date column}``), asked of SQLite directly."""
    con = sqlite3.connect(path)
    try:
        days = [con.execute(f'SELECT min(substr("{col}", 1, 10)) FROM "{t}"').fetchone()[0] for t, col in tables.items()]
    finally:
        con.close()
    return min(d for d in days if d)


EVENTS_AND_READINGS = {"status_events": "effective_on", "readings": "sampled_at"}


# --- dates out of the data's range: the command line ------------------------------------------------

@pytest.mark.parametrize("cmd, tables", [
    (["alerts"], EVENTS_AND_READINGS),
    (["assess", "--year", "2007"], {**EVENTS_AND_READINGS, "complaints": "received_on", "inspections": "held_on"}),
    (["progress"], EVENTS_AND_READINGS),
    (["progress", "briefing", "--out", "{tmp}/简报.pdf"], EVENTS_AND_READINGS),
    (["water", "--out", "{tmp}/w.csv"], {"readings": "sampled_at"}),  # the water table: its samplings
    (["buffer", "--out", "{tmp}/b.csv"], {"status_events": "effective_on"}),
])
def test_cli_refuses_a_day_before_the_data_in_both_languages(cmd, tables, demo_store, tmp_path, capsys):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    argv = [a.format(tmp=out_dir) for a in cmd] + ["--store", str(demo_store), "--as-of", BEFORE]
    code = geo_main(argv)
    out, err = capsys.readouterr()
    first = sql_first_day(demo_store, tables)
    assert code == 2, (out, err)
    assert f"错误：日期 {BEFORE} 早于数据的起始日期 {first}" in err, err
    assert f"error: --as-of {BEFORE} is before the data begin on {first}" in err, err
    assert "Traceback" not in err and not list(out_dir.iterdir()), "nothing is written"


@pytest.mark.parametrize("asked, zh, en", [
    ("9999-12-31", "日期“9999-12-31”超出可计算的范围", "--as-of '9999-12-31' is beyond the dates that can be counted"),
    ("1500-01-01", "日期“1500-01-01”超出可计算的范围", "--as-of '1500-01-01' is beyond the dates that can be counted"),
])
def test_cli_refuses_dates_it_cannot_count(asked, zh, en, demo_store, capsys):
    code = geo_main(["alerts", "--store", str(demo_store), "--as-of", asked])
    err = capsys.readouterr().err
    assert code == 2 and f"错误：{zh}" in err and f"error: {en}" in err, err
    assert "Traceback" not in err


def test_a_day_with_sites_but_no_sampling_yet_is_counted(demo_store, capsys):
    """2004-01-05: sites are on the ledger, the first sampling is on 10 January: sections judged none."""
    first_reading = sql_first_day(demo_store, {"readings": "sampled_at"})
    assert sql_first_day(demo_store, {"status_events": "effective_on"}) < "2004-01-05" < first_reading
    code = geo_main(["alerts", "--store", str(demo_store), "--as-of", "2004-01-05"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    assert "数据截至 2004年1月5日" in out and "断面未达标：0个" in out


@pytest.mark.parametrize("kind", [TypeError, ValueError])
def test_a_bug_in_a_command_ends_in_two_plain_lines(kind, demo_store, capsys, monkeypatch):
    """What no check foresaw (a TypeError, or a ValueError from pandas: bad input is a GeoError) still ends
    with exit code 2, no traceback, the Chinese line first saying it is an internal error."""
    from geo import alerts

    def broken(*args, **kwargs):
        raise kind("Cannot cast DatetimeArray to dtype float64")

    monkeypatch.delenv("QINGSHAN_DEBUG", raising=False)
    monkeypatch.setattr(alerts, "collect", broken)
    code = geo_main(["alerts", "--store", str(demo_store)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    name = kind.__name__
    assert err.startswith(f"错误：程序内部错误（{name}：Cannot cast") and f"error: internal error ({name}" in err


def test_first_day_of_a_store_and_of_its_tables_agree(demo_store):
    store = open_store(demo_store)
    want = pd.Timestamp(sql_first_day(demo_store, {**EVENTS_AND_READINGS, "complaints": "received_on",
                                                   "inspections": "held_on"}))
    assert datecheck.first_day(store) == datecheck.first_day(store.read_many()) == want
    assert datecheck.check_day(want, store) == want  # the first day itself is in range
    with pytest.raises(GeoError) as exc:
        datecheck.check_day(want - pd.Timedelta(days=1), store)
    assert f"{want:%Y-%m-%d}" in exc.value.zh and f"{want:%Y-%m-%d}" in exc.value.en
    assert datecheck.first_day({"meta": store.read("meta")}) is None  # nothing dated: nothing bounded


# --- dates out of the data's range: the pages -----------------------------------------------------------

def _wall(asked: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["as_of"] = asked
    at.switch_page("views/wall.py").run()
    return at, " ".join(el.proto.body for el in at.get("html"))


def test_wall_replaying_a_day_before_the_data_shows_the_latest_and_says_why(page_env):
    page_env({})
    first = sql_first_day(DEMO, {**EVENTS_AND_READINGS, "complaints": "received_on", "inspections": "held_on"})
    at, text = _wall("1900-01-01")
    assert not at.exception, at.exception
    assert 'data-mode="live" data-date="2007-06-30"' in text
    assert f"回放日期早于数据起始（{first}），显示最新数据" in text
    assert f"before the data begin on {first}" in text  # the whole finding, in English too, on hover
    at, text = _wall("0001-01-01")  # beyond what pandas counts
    assert not at.exception, at.exception
    assert 'data-mode="live"' in text and "回放日期“0001-01-01”超出可计算的范围" in text


def test_assess_page_at_its_minimum_date_says_what_dates_it_takes(page_env):
    from streamlit.testing.v1 import AppTest

    page_env({})
    at = AppTest.from_file(str(ROOT / "views" / "assess.py"), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    low = dt.date.fromisoformat(at.date_input(key="cw_a_day").proto.min)
    at.date_input(key="cw_a_day").set_value(low)
    at.number_input(key="cw_a_year").set_value(2007)
    at.run()
    assert not at.exception, at.exception
    shown = " ".join(e.value for e in at.error).replace("\\", "")
    assert f"截至日期 {low:%Y-%m-%d} 早于数据的起始日期 2004-01-01" in shown, shown
    assert f"the as-of date {low:%Y-%m-%d} is before the data begin on 2004-01-01" in shown, shown
    assert not at.dataframe, "no scores of a day before the data"


# --- a full disk at commit ------------------------------------------------------------------------------

def _lab_csv(path: Path, points: list[str], n: int) -> Path:
    """``n`` COD results at distinct times (odd seconds: never a stored sampling) before 2007-06-30."""
    t0 = pd.Timestamp("2005-03-01 00:00:07")
    rows = [f"{points[i % len(points)]},{t0 + pd.Timedelta(minutes=i):%Y-%m-%d %H:%M:%S},COD,{10 + i % 7},mg/L"
            for i in range(n)]
    path.write_text("点位,采样时间,指标,数值,单位\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _state(store) -> tuple:
    rd = store.read("readings")
    return store.version(), len(rd), pd.util.hash_pandas_object(rd.drop(columns="geometry", errors="ignore")).sum()


def test_gpkg_disk_full_is_refused_plainly_and_writes_nothing(demo_store, tmp_path, monkeypatch):
    """SQLite's own "database or disk is full" (SQLITE_FULL), as a full disk gives it: the writer's file may
    not grow by a page (``PRAGMA max_page_count`` on each connection)."""
    store = open_store(demo_store)
    points = list(store.read("sampling_points")["id"])
    before = _state(store)
    connect = GpkgStore._connect

    def full(self):
        con = connect(self)
        con.execute(f"PRAGMA max_page_count = {con.execute('PRAGMA page_count').fetchone()[0]}")
        return con

    monkeypatch.setattr(GpkgStore, "_connect", full)
    with pytest.raises(StoreError) as exc:
        import_lab_file(store, _lab_csv(tmp_path / "lab.csv", points, 2000), user="检测员")
    assert exc.value.zh.startswith("磁盘已满") and "未写入任何数据" in exc.value.zh, exc.value.zh
    assert "disk is full" in exc.value.en and "nothing was written" in exc.value.en
    monkeypatch.undo()
    assert _state(open_store(demo_store)) == before


def _limited(limit: int):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return pre


def test_gpkg_disk_refusing_the_commit_ends_the_command_plainly(demo_store, tmp_path):
    """A real limit of the operating system (RLIMIT_FSIZE, in a child process): the import's pages reach the
    write-ahead log only at COMMIT, and the log may not grow past 64 KB."""
    store = open_store(demo_store)
    update_status(store, "farms", store.read("farms")["id"].iloc[0], "closed", "2007-06-30", "", "李四")
    with sqlite3.connect(demo_store) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # as a store in use is
    before = _state(store)
    lab = _lab_csv(tmp_path / "lab.csv", list(store.read("sampling_points")["id"]), 5000)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "QINGSHAN_DEBUG": ""}
    res = subprocess.run([sys.executable, "-m", "geo", "water", "import", "--store", str(demo_store), str(lab),
                          "--user", "检测员"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                         preexec_fn=_limited(64 * 1024))
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "sqlite3." not in res.stderr, res.stderr
    assert "错误：" in res.stderr and "磁盘" in res.stderr and "未写入任何数据" in res.stderr, res.stderr
    assert "error: the disk" in res.stderr and "nothing was" in res.stderr, res.stderr
    assert _state(open_store(demo_store)) == before


def test_cli_output_on_a_full_disk_is_said_plainly(demo_store, capsys):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    code = geo_main(["alerts", "--store", str(demo_store), "--format", "json", "--out", "/dev/full"])
    err = capsys.readouterr().err
    assert code == 2 and "错误：磁盘已满" in err and "error: the disk is full" in err, err


def test_postgis_disk_full_at_commit_is_refused_plainly_and_writes_nothing(pg_db):
    """The server itself says "could not extend file" (SQLSTATE 53100) at COMMIT: a deferred trigger raises
    it as PostgreSQL does when a table's file cannot grow."""
    import psycopg

    store = open_store(pg_db, create=True)
    store.replace_all(sample_tables())
    with psycopg.connect(pg_db.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute("""CREATE FUNCTION qs_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                        RAISE EXCEPTION USING ERRCODE = 'disk_full',
                              MESSAGE = 'could not extend file "base/16384/16402": No space left on device';
                        END $$""")
        conn.execute("CREATE CONSTRAINT TRIGGER qs_full AFTER INSERT ON status_events DEFERRABLE INITIALLY DEFERRED "
                     "FOR EACH ROW EXECUTE FUNCTION qs_disk_full()")
    v0, events = store.version(), store.read("status_events")
    with pytest.raises(StoreError) as exc:
        update_status(store, "farms", "f1", "accepted", "2007-06-30", "", "李四")
    assert exc.value.zh.startswith("磁盘已满") and "disk is full" in exc.value.en, exc.value.en
    assert "could not extend file" in exc.value.en  # the server's own words kept for the administrator
    assert store.version() == v0 and len(store.read("status_events")) == len(events)
    assert store.read("farms").set_index("id").loc["f1", "status"] == "treating"


# --- a proposed status event on a replay store -------------------------------------------------------

def test_a_field_visit_today_proposes_an_event_the_replay_store_takes(demo_store):
    store = open_store(demo_store)
    as_of = rules.default_as_of(store.meta())
    assert as_of < rules.today()  # the demo replays 2007-06-30
    sites = store.read("enterprises")
    fid = sites.loc[sites["status"] == "operating", "id"].iloc[0]
    inspection = store.read("inspections")["id"].iloc[-1]
    # an inspector on the phone, today (the wall clock): closure confirmed at a site still producing
    prop = I.record_finding(store, None, "closed_confirmed", user="执法队员甲", inspection_id=inspection,
                            layer="enterprises", feature_id=fid)
    assert prop is not None and prop.status == "closed"
    assert prop.effective_on == as_of and "2007-06-30" in prop.label  # what confirming will write, shown
    res = I.confirm(store, prop, user="执法队员甲")
    assert res.current == "closed"
    ev = store.read("status_events").iloc[-1]
    assert (ev["feature_id"], ev["effective_on"], ev["recorded_by"]) == (fid, as_of, "执法队员甲")


def test_a_date_after_a_replay_stores_present_says_which_dates_are_allowed(demo_store):
    store = open_store(demo_store)
    fid = store.read("farms")["id"].iloc[0]
    v0 = store.version()
    with pytest.raises(GeoError) as exc:
        update_status(store, "farms", fid, "closed", dt.date.today(), "", "李四")
    assert "可登记的日期：2007-06-30 及以前" in exc.value.zh and "Allowed: 2007-06-30 or earlier" in exc.value.en
    assert store.version() == v0


# --- one log line per successful write ------------------------------------------------------------------

@pytest.fixture(params=["gpkg", "postgis"])
def sample_store(request, tmp_path):
    s = (open_store(tmp_path / "s.gpkg", create=True) if request.param == "gpkg"
         else open_store(request.getfixturevalue("pg_db"), create=True))
    s.replace_all(sample_tables())
    return s


def _store_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("qingshan") and "store write" in r.getMessage()]


def test_every_successful_write_logs_one_line_and_a_refused_one_none(sample_store, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="qingshan")
    update_status(sample_store, "farms", "f1", "accepted", "2007-06-30", "", "李四")
    [line] = _store_lines(caplog)
    assert "by 李四" in line and "status_events 1 row (append)" in line and sample_store.url in line, line
    caplog.clear()
    with pytest.raises(GeoError):  # a refused write: nothing written, nothing logged
        update_status(sample_store, "farms", "f1", "closed", "2099-01-01", "", "李四")
    assert _store_lines(caplog) == []
    lab = tmp_path / "lab.csv"
    lab.write_text("点位,采样时间,指标,数值,单位\np1,2007-06-20 09:00,COD,12,mg/L\np1,2007-06-21 09:00,COD,13,mg/L\n"
                   "p1,2007-06-22 09:00,COD,14,mg/L\n", encoding="utf-8")
    assert import_lab_file(sample_store, lab, user="检测员").written
    [line] = _store_lines(caplog)
    assert "by 检测员" in line and "readings 3 rows (append)" in line, line


# --- the CSV formula guard ------------------------------------------------------------------------------

GUARDED = [" =1+1", "＝1+1", "\n=1+1", "\t=1", "＋1", "－1", "＠SUM(1)", "\u3000=1", "\u00a0@x", "  +cmd"]
LEFT = [" -2", "-2", "+86", "x=1", "a\n=b", "普通", " "]


def independent_guard(cell: str) -> bool:
    """Whether a spreadsheet could read ``cell`` as a formula (written without the writer's expressions)."""
    if cell[:1] in ("\t", "\r", "\n"):
        return True
    rest = cell.lstrip(" \u00a0\u3000")
    if rest[:1] not in ("=", "+", "-", "@", "＝", "＋", "－", "＠"):
        return False
    try:
        float(rest)
        return False  # a plain number with its sign
    except ValueError:
        return True


def test_csv_guard_sees_full_width_signs_leading_spaces_and_line_feeds():
    cells = GUARDED + LEFT
    assert [independent_guard(c) for c in cells] == [True] * len(GUARDED) + [False] * len(LEFT)
    rng = np.random.default_rng(7)
    column = list(rng.choice(np.array(cells, dtype=object), 40_000)) + cells  # screened as one column too
    for dtype in (object, "str"):
        df = pd.DataFrame({"名称": pd.Series(column, dtype=dtype), "n": np.arange(len(column))})
        back = list(csv.reader(io.StringIO(W.write_csv(df).decode("utf-8"))))[1:]
        for (cell, _), orig in zip(back, column):
            want = "'" + orig if independent_guard(orig) else orig
            assert cell == want.replace("\r", "\n"), (orig, cell)


@pytest.mark.parametrize("call, zh", [
    (lambda: __import__("geo.auth", fromlist=["x"]).hash_password(""), "密码不能为空"),
    (lambda: __import__("geo.rules", fromlist=["x"]).as_day("明天"), "不是日期"),
    (lambda: __import__("geo.water", fromlist=["x"]).classify(["XYZ"], [1.0]), "未知的指标代码"),
    (lambda: __import__("geo.water", fromlist=["x"]).classify(["COD"], [1.0], waterbody="sea"), "未知的水体类型"),
    (lambda: __import__("geo.crs", fromlist=["x"]).cgcs2000_gk3_epsg(10.0), "三度带"),
    (lambda: __import__("geo.io.writers", fromlist=["x"]).write_table(pd.DataFrame({"a": [1]}), "x.doc"), "不支持的输出格式"),
])
def test_bad_values_are_refused_in_both_languages(call, zh):
    """Input a user gives (a password, a date, a code, a file name) is refused as InputError: Chinese first, and
    still a ValueError for callers that caught one."""
    from geo.errors import InputError

    with pytest.raises(InputError) as exc:
        call()
    assert zh in exc.value.zh and exc.value.en != exc.value.zh and isinstance(exc.value, ValueError)
