"""The readings write path at province scale: duplicates found by the database, row-level acceptance, true totals,
the readings key index, and the published monthly section classes — on GeoPackage and on PostGIS.

Every expectation is written out here (row numbers counted by hand from the files the tests write, stored keys
checked against a plain Python set of the stored readings), never taken from the code under test.
"""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo import synth
from geo.errors import StoreError
from geo.intake import lab
from geo.store import Change, open_store
from geo.store.gpkg import GpkgStore

ROOT = Path(__file__).resolve().parent.parent
DAY = "2007-06-28"  # before the synthetic store's as_of (2007-06-30), after its last weekly sampling (06-27)


@pytest.fixture(scope="module")
def tables():
    return synth.build(sites=300, townships=4, rivers=6, waterbodies=2, sampling_points=12, readings=2_000, parks=2)


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tables, tmp_path):
    gpkg = GpkgStore(tmp_path / "s.gpkg", create=True)
    gpkg.rebuild(tables)
    if request.param == "gpkg":
        return gpkg
    from geo.store.postgis import copy_store

    pg = open_store(request.getfixturevalue("pg_db"), create=True)
    copy_store(gpkg, pg)
    return pg


def _lab(path: Path, lines: list[str]) -> Path:
    path.write_text("点位,采样时间,指标,数值,单位\n" + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _day_lines(points: list[str], hours=range(0, 24, 4), params=(("氨氮", "mg/L"), ("总磷", "mg/L"), ("pH", "无量纲"))):
    return [f"{p},{DAY} {h:02d}:00,{name},{0.5 if unit == 'mg/L' else 7.2},{unit}"
            for p in points for h in hours for name, unit in params]


def _stored_keys(store) -> set[tuple]:
    rd = store.read("readings")
    return {(p, pd.Timestamp(t), q) for p, t, q in zip(rd["point_id"], rd["sampled_at"], rd["parameter"])}


# --- readings_present -----------------------------------------------------------------------------

def test_readings_present_equals_a_set_of_the_stored_keys(store):
    rd = store.read("readings")
    some = rd.iloc[[0, 5, 17, len(rd) - 1]]
    t0 = some["sampled_at"].iloc[0]
    keys = pd.DataFrame({
        "point_id": list(some["point_id"]) + [some["point_id"].iloc[0]] * 4 + ["NO-SUCH", None, rd["point_id"].iloc[0]],
        "sampled_at": list(some["sampled_at"]) + [t0, t0 + pd.Timedelta(seconds=1), t0 + pd.Timedelta(milliseconds=1),
                                                  t0.normalize(), t0, t0, pd.NaT],
        "parameter": list(some["parameter"]) + ["XX", some["parameter"].iloc[0], some["parameter"].iloc[0],
                                                some["parameter"].iloc[0], some["parameter"].iloc[0],
                                                some["parameter"].iloc[0], "pH"],
    }, index=[100 + i for i in range(11)])
    keys = pd.concat([keys, keys.iloc[[1]]])  # a key asked twice is answered twice
    stored = _stored_keys(store)
    want = [i for i, (p, t, q) in enumerate(zip(keys["point_id"], keys["sampled_at"], keys["parameter"]))
            if p is not None and not pd.isna(t) and (p, pd.Timestamp(t), q) in stored]
    assert want == [0, 1, 2, 3, 11]  # the four stored rows (and the repeat); nothing near them
    got = store.readings_present(keys)
    assert list(got.index) == list(keys.index[want])
    assert list(got["point_id"]) == list(keys["point_id"].iloc[want])
    assert (got["sampled_at"].to_numpy() == keys["sampled_at"].iloc[want].to_numpy()).all()
    assert store.readings_present(keys.iloc[:0]).empty


def test_readings_present_on_a_whole_day(store):
    """A province's day in one question: the answer is exactly the keys stored (half of them here)."""
    pts = list(store.read("sampling_points")["id"])
    rd = store.read("readings")
    new = pd.DataFrame({"point_id": np.repeat(pts, 50), "sampled_at": pd.Timestamp(DAY) + pd.to_timedelta(
        np.tile(np.arange(50), len(pts)), unit="min"), "parameter": "TP"})
    keys = pd.concat([rd[["point_id", "sampled_at", "parameter"]], new], ignore_index=True)
    got = store.readings_present(keys)
    assert list(got.index) == list(range(len(rd)))


def test_gpkg_times_stored_as_other_texts_are_found(tmp_path, tables):
    """A file QGIS edited may write ``…Z`` or milliseconds: the same instant is found, another one is not."""
    store = GpkgStore(tmp_path / "s.gpkg", create=True)
    store.rebuild(tables)
    con = sqlite3.connect(store.path)
    (fid1, t1), (fid2, t2) = con.execute('SELECT fid, sampled_at FROM readings ORDER BY fid LIMIT 2').fetchall()
    con.execute("UPDATE readings SET sampled_at = ? WHERE fid = ?", (t1 + "Z", fid1))
    con.execute("UPDATE readings SET sampled_at = ? WHERE fid = ?", (t2 + ".500", fid2))
    con.commit()
    con.close()
    rd = store.read("readings").iloc[:2]
    keys = rd[["point_id", "sampled_at", "parameter"]].copy()
    keys.loc[1, "sampled_at"] = pd.Timestamp(t2)  # the instant half a second before the stored one
    got = store.readings_present(keys)
    assert list(got.index) == [0]


# --- the import -------------------------------------------------------------------------------------

def test_reimport_is_refused_with_the_true_count(store, tmp_path):
    pts = list(store.read("sampling_points")["id"])
    f = _lab(tmp_path / "day.csv", _day_lines(pts))
    n = len(pts) * 6 * 3
    assert n == 216 and n > lab.Limits.current().max_report_lines  # the report lists only 200 of a kind
    before = store.count("readings")
    first = lab.import_lab_file(store, f, user="王五")
    assert first.written and first.rows_written == n and store.count("readings") == before + n
    version = store.version()
    again = lab.import_lab_file(store, f)
    assert not again.written and again.refused and store.version() == version
    assert store.count("readings") == before + n
    assert again.rows_read == n and again.errors == n and again.duplicates == n and again.bad_rows == n
    assert again.rows_written == 0 and again.missing_values == 0
    assert f"{n:,} 处错误" in again.summary_zh() and f"{n:,} error(s)" in again.summary_en()
    assert "未写入任何数据" in again.summary() and "nothing written" in again.summary()
    listed = [p for p in again.findings if p.row is not None]
    assert len(listed) == 200 and [p.row for p in listed] == list(range(2, 202))
    assert any(f"共 {n:,} 处" in p.why_zh for p in again.findings if p.row is None)
    # who imported the first time
    rd = store.read("readings")
    assert (rd["recorded_by"].iloc[-n:] == "王五").all() and rd["recorded_by"].iloc[:before].isna().all()


def test_cli_reimport_states_the_true_count(tmp_path, tables):
    store = GpkgStore(tmp_path / "s.gpkg", create=True)
    store.rebuild(tables)
    pts = list(store.read("sampling_points")["id"])
    f = _lab(tmp_path / "day.csv", _day_lines(pts))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "geo", "water", "import", *args], cwd=ROOT,
                              capture_output=True, text=True)

    p = run(str(f), "--store", str(store.path), "--dry-run")
    assert p.returncode == 0 and "可写入 216 条读数" in p.stdout and store.count("readings") == 2016
    p = run(str(f), "--store", str(store.path))
    assert p.returncode == 0, p.stderr
    assert "已写入 216 条读数" in p.stdout and store.count("readings") == 2016 + 216
    p = run("--file", str(f), "--store", str(store.path))
    assert p.returncode == 2 and "216 处错误" in p.stderr and "216 error(s)" in p.stderr
    assert "201 处错误" not in p.stderr and "Traceback" not in p.stderr
    assert "196 处同类问题未列出" in p.stderr  # 20 lines of the kind shown, the other 196 counted


BAD_LINES = [
    "{p0},2007-06-28 09:00,氨氮,0.62,mg/L",    # 2 good
    "{p0},2007-06-28 09:00,总磷,0.1,kg/L",     # 3 unknown unit
    "NO-SUCH,2007-06-28 09:00,总磷,0.1,mg/L",  # 4 unknown point
    "{p0},2007-06-28 10:00,pH,7.1,无量纲",       # 5 good
    "{p0},2007-06-28 09:00,氨氮,0.7,mg/L",     # 6 duplicate of row 2
    "{p1},2007-06-28 09:00,COD,,mg/L",         # 7 missing value
    "{p1},{stored_t},{stored_p},1.0,{stored_u}",  # 8 already stored
    "{p1},2007-06-28 09:00,COD,12,mg/L",       # 9 good
    "{p1},2007-06-28 09:00,pH,-1,无量纲",        # 10 negative, and outside 0–14
]


def _bad_file(store, tmp_path) -> Path:
    pts = list(store.read("sampling_points")["id"])
    rd = store.read("readings")
    last = rd[rd["point_id"] == pts[1]].iloc[-1]
    name = {"pH": "pH", "DO": "溶解氧", "TP": "总磷"}.get(last["parameter"], last["parameter"])
    fill = dict(p0=pts[0], p1=pts[1], stored_t=last["sampled_at"].strftime("%Y-%m-%d %H:%M"), stored_p=name,
                stored_u=last["unit"] if last["unit"] != "无量纲" else "无量纲")
    return _lab(tmp_path / "bad.csv", [line.format(**fill) for line in BAD_LINES])


def test_all_or_nothing_by_default(store, tmp_path):
    f = _bad_file(store, tmp_path)
    version, n = store.version(), store.count("readings")
    res = lab.import_lab_file(store, f)
    assert not res.written and res.refused and store.version() == version and store.count("readings") == n
    assert res.rows_read == 9 and res.bad_rows == 6 and res.duplicates == 2 and res.missing_values == 1
    assert res.errors == 7  # row 10 has two: negative, and pH outside 0–14
    assert res.skipped_rows == [] and res.rows_skipped == 0
    rows = sorted({p.row for p in res.findings if p.severity == "error"})
    assert rows == [3, 4, 6, 7, 8, 10]
    ten = [p.why for p in res.findings if p.row == 10]
    assert ten == ["negative value -1", "pH -1 outside 0–14"]  # in the order of the checks
    with pytest.raises(TypeError):
        lab.import_lab_file(store, f, True)  # options are keywords


def test_skip_bad_rows_writes_exactly_the_good_rows(store, tmp_path):
    f = _bad_file(store, tmp_path)
    pts = list(store.read("sampling_points")["id"])
    n = store.count("readings")
    dry = lab.import_lab_file(store, f, skip_bad_rows=True, dry_run=True)
    assert not dry.written and store.count("readings") == n and len(dry.readings) == 3
    res = lab.import_lab_file(store, f, skip_bad_rows=True, user="李四")
    assert res.written and res.rows_written == 3 and res.rows_skipped == 6
    assert res.skipped_rows == [3, 4, 6, 7, 8, 10] and res.skipped_text() == "3–4、6–8、10"
    assert store.count("readings") == n + 3
    new = store.read("readings").iloc[n:]
    got = sorted(zip(new["point_id"], new["sampled_at"].dt.strftime("%H:%M"), new["parameter"], new["value"]))
    assert got == sorted([(pts[0], "09:00", "NH3-N", 0.62), (pts[0], "10:00", "pH", 7.1), (pts[1], "09:00", "COD", 12.0)])
    assert (new["recorded_by"] == "李四").all()
    skipped = {p.row for p in res.findings if p.severity == "skipped"}
    assert skipped == {3, 4, 6, 7, 8, 10} and not [p for p in res.findings if p.severity == "error"]
    note = [p for p in res.findings if p.row is None and p.severity == "warning"]
    assert note and "3–4、6–8、10" in note[0].why_zh
    s = res.summary()
    assert "读取 9 行" in s and "7 处错误" in s and "已写入 3 条读数" in s and "跳过有错误的行 6 行" in s
    assert "read 9 rows" in s and "3 reading(s) written" in s and "6 row(s) with errors skipped" in s
    # the same file again: the three written rows are duplicates now, nothing left to write
    again = lab.import_lab_file(store, f, skip_bad_rows=True)
    assert not again.written and again.duplicates == 5 and store.count("readings") == n + 3


def test_a_file_error_refuses_even_good_rows_only(store, tmp_path):
    f = tmp_path / "nounit.csv"
    f.write_text("点位,采样时间,指标,数值\nW0001,2007-06-28,TP,0.1\n", encoding="utf-8")
    res = lab.import_lab_file(store, f, skip_bad_rows=True)
    assert res.file_error and res.refused and not res.written and "文件本身有错误" in res.summary()


def test_write_readings_from_a_bounded_report_without_the_facts(store, tmp_path):
    """An importer that gives only a bounded report still gets true totals; good rows only then refuses
    (the rows the report only counts cannot be left out by number)."""
    pts = list(store.read("sampling_points")["id"])
    f = _lab(tmp_path / "day.csv", _day_lines(pts))
    lab.import_lab_file(store, f)
    readings, problems = lab.parse_lab_file(f, store)
    readings.attrs.clear()
    n = store.count("readings")
    res = lab.write_readings(store, readings, problems, skip_bad_rows=True)
    assert res.errors == 216 and res.duplicates == 216 and not res.written and res.refused
    assert store.count("readings") == n


# --- the key index ------------------------------------------------------------------------------------

def _key_index(store) -> tuple[str, bool] | None:
    """(name, unique) of the readings key index, as the database describes it."""
    if isinstance(store, GpkgStore):
        con = sqlite3.connect(store.path)
        try:
            for _, name, unique, *_ in con.execute("PRAGMA index_list(readings)"):
                cols = [r[2] for r in con.execute(f'PRAGMA index_info("{name}")')]
                if cols == ["point_id", "sampled_at", "parameter"]:
                    return name, bool(unique)
        finally:
            con.close()
        return None
    from geo.store.postgis import _driver_tx

    with _driver_tx(store.engine, readonly=True) as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'readings' "
                    "AND indexdef LIKE '%(point_id, sampled_at, parameter)%'")
        rows = cur.fetchall()
    return (rows[0][0], "UNIQUE" in rows[0][1]) if rows else None


def test_the_readings_key_is_unique(store):
    name, unique = _key_index(store)
    assert unique
    one = store.read("readings").iloc[[3]]
    n = store.count("readings")
    with pytest.raises(StoreError) as err:
        store.commit([Change("readings", one, "append")])
    assert "未写入" in err.value.zh and store.count("readings") == n


def test_an_existing_gpkg_gets_the_index_when_written(tmp_path, tables):
    store = GpkgStore(tmp_path / "s.gpkg", create=True)
    store.rebuild(tables)
    con = sqlite3.connect(store.path)
    con.execute('DROP INDEX "qingshan_readings_key"')
    con.commit()
    con.close()
    assert _key_index(store) is None
    store.commit([Change("meta", pd.DataFrame({"key": ["x"], "value": ["1"]}), "upsert")])
    assert _key_index(store) == ("qingshan_readings_key", True)


def test_a_store_with_duplicate_readings_still_opens(tmp_path, tables):
    """Duplicates stored before the index: a plain index instead, and the check still finds them in SQL."""
    t = dict(tables)
    t["readings"] = pd.concat([tables["readings"], tables["readings"].iloc[:3]], ignore_index=True)
    store = GpkgStore(tmp_path / "s.gpkg", create=True)
    store.rebuild(t)
    assert _key_index(store) == ("qingshan_readings_key_dups", False)
    keys = tables["readings"].iloc[:5][["point_id", "sampled_at", "parameter"]]
    assert list(store.readings_present(keys).index) == [0, 1, 2, 3, 4]
    store.commit([Change("meta", pd.DataFrame({"key": ["x"], "value": ["1"]}), "upsert")])  # writes as before
    # rewritten whole without the duplicates: the key is unique again
    store.commit([Change("readings", tables["readings"], "replace")])
    assert _key_index(store) == ("qingshan_readings_key", True)


def test_postgis_migrates_an_older_store_with_duplicates(pg_db, tables, tmp_path):
    from geo.store.postgis import SCHEMA_VERSION, _driver_tx, copy_store, engine_for, migrate

    gpkg = GpkgStore(tmp_path / "s.gpkg", create=True)
    gpkg.rebuild(tables)
    pg = open_store(pg_db, create=True)
    copy_store(gpkg, pg)
    assert _key_index(pg) == ("readings_key_idx", True)
    # a schema-3 database: no key index, no section_classes, and a reading stored twice
    with _driver_tx(engine_for(pg_db)) as cur:
        cur.execute("DROP INDEX readings_key_idx")
        cur.execute("DROP TABLE section_classes")
        cur.execute("INSERT INTO readings (point_id, sampled_at, parameter, value, unit) "
                    "SELECT point_id, sampled_at, parameter, value, unit FROM readings ORDER BY _seq LIMIT 1")
        cur.execute("UPDATE qingshan_meta SET value = '3' WHERE key = 'schema_version'")
    with pytest.raises(StoreError):
        open_store(pg_db)  # an older schema is upgraded by geo migrate, as before
    assert migrate(pg_db) == (3, SCHEMA_VERSION)
    pg = open_store(pg_db)
    assert _key_index(pg) == ("readings_key_dups_idx", False)
    assert "section_classes" in pg.tables()
    keys = tables["readings"].iloc[:2][["point_id", "sampled_at", "parameter"]]
    assert list(pg.readings_present(keys).index) == [0, 1]


# --- section classes ------------------------------------------------------------------------------

def _classes(points: list[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "point_id": [points[0], points[0], points[1], points[1], points[2]],
        "month": pd.to_datetime(["2007-04-01", "2007-05-01", "2007-05-01", "2007-06-01", "2007-06-01"]),
        "water_class": [2, 3, 6, 4, 1], "target_class": [3, 3, 3, None, 2],
        "exceeding": [None, None, "总磷(0.2)、氨氮(1.5)", "", None], "source": "2007年各月.xlsx",
        "recorded_by": "张三", "recorded_at": pd.Timestamp("2007-07-02 10:00")})


def test_section_classes_round_trip(store):
    pts = sorted(store.read("sampling_points")["id"])
    rows = _classes(pts)
    store.commit([Change("section_classes", rows, "append")])
    back = store.section_classes()
    assert list(back.columns[:8]) == ["point_id", "month", "water_class", "target_class", "exceeding", "source",
                                      "recorded_by", "recorded_at"]
    assert back["water_class"].tolist() == [2, 3, 6, 4, 1] and back["target_class"].isna().tolist() == [
        False, False, False, True, False]
    assert back["exceeding"].iloc[2] == "总磷(0.2)、氨氮(1.5)" and back["month"].iloc[3] == pd.Timestamp("2007-06-01")
    # by point and by month, in SQL (a month given by any of its days)
    may = store.section_classes(start="2007-05-20", end="2007-05-31")
    assert list(zip(may["point_id"], may["month"].dt.month)) == [(pts[0], 5), (pts[1], 5)]
    two = store.section_classes([pts[1], pts[2], "NO-SUCH"], start="2007-06-01")
    assert list(zip(two["point_id"], two["water_class"])) == [(pts[1], 4), (pts[2], 1)]
    assert store.section_classes([]).empty and len(store.section_classes(end="2007-04-30")) == 1
    # one class per point and month
    with pytest.raises(StoreError):
        store.commit([Change("section_classes", rows.iloc[[1]], "append")])
    assert len(store.section_classes()) == 5
