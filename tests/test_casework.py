"""Casework on both backends: complaints intake (all or nothing), findings and their status events,
attachments byte for byte, the site file, the assessment and its CLI columns."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import shutil
import subprocess
import sys

import numpy as np
import openpyxl
import pandas as pd
import pytest

from geo import assess as A
from geo import attachments as ATT
from geo import complaints as C
from geo import inspections as I
from geo.errors import GeoError
from geo.sitefile import site_file, to_pdf
from geo.store import GpkgStore, open_store
from tests.conftest import DEMO, ROOT

NOW = dt.datetime(2007, 6, 30, 16, 0)


@pytest.fixture
def store(demo_each_backend):
    """The demo on each backend (tests/conftest.py)."""
    return demo_each_backend


def _register(path, rows, header=("编号", "受理日期", "来源渠道", "污染类别", "投诉内容", "办结期限", "办结日期",
                                  "敏感件", "经度", "纬度", "关联点位")):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["衢江区环境信访登记簿（2007年7月）"])  # a title row above the header
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def _png(w=40, h=30) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.arange(w * h * 3, dtype=np.uint8).reshape(h, w, 3), "RGB").save(buf, format="PNG")
    return buf.getvalue()


# --- attachments --------------------------------------------------------------------------

def test_attachments_round_trip_byte_for_byte(store):
    png = _png()
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 50 + b"\n%%EOF\n"
    ids = ATT.add(store, [("../../etc/现场.png", png), ("通知书.pdf", pdf)], layer="enterprises", feature_id="E050",
                  user="李")
    got = store.read("attachments").set_index("id").loc[ids]
    assert list(got["content"]) == [png, pdf]
    assert list(got["sha256"]) == [hashlib.sha256(png).hexdigest(), hashlib.sha256(pdf).hexdigest()]
    assert list(got["size"]) == [len(png), len(pdf)]
    assert list(got["mime"]) == ["image/png", "application/pdf"]
    assert got["name"].iat[0] == "现场.png"  # a name is a label: no path survives
    assert (got["uploaded_by"] == "李").all()
    # the shipped demo's generated documents survive the copy to PostGIS too
    demo = open_store(DEMO).read("attachments").set_index("id")
    here = store.read("attachments").set_index("id").loc[demo.index]
    assert list(here["content"]) == list(demo["content"])
    thumb = ATT.thumbnail(png)
    assert thumb.startswith(b"\x89PNG") and ATT.thumbnail(pdf) is None


def test_attachments_refuse_bad_types_and_sizes(store, monkeypatch):
    before = len(store.read("attachments"))
    with pytest.raises(GeoError, match="unsupported"):
        ATT.add(store, [("a.png", b"GIF89a....")], layer="enterprises", feature_id="E050", user="李")
    with pytest.raises(GeoError, match="unsupported"):  # the name says PNG, the bytes are HTML
        ATT.add(store, [("x.png", b"<html><script>alert(1)</script>")], layer="enterprises", feature_id="E050",
                user="李")
    monkeypatch.setattr(ATT, "max_bytes", lambda: 100)
    with pytest.raises(GeoError, match="too large"):
        ATT.add(store, [("ok.png", _png()), ("big.png", _png(100, 100))], layer="enterprises",
                feature_id="E050", user="李")
    assert len(store.read("attachments")) == before  # one refused file: none stored


# --- complaints ---------------------------------------------------------------------------

def test_complaint_register_with_one_bad_row_writes_nothing(store, tmp_path):
    before = store.version(), len(store.read("complaints"))
    path = _register(tmp_path / "reg.xlsx", [
        ("TS2007-101", "2007-06-28", "热线", "水", "河水发黑", "2007-07-13", None, "否", 118.95, 28.97, None),
        ("TS2007-102", "2007/6/29", "省转办", "噪音", "夜间施工", "2007年7月29日", None, "是", None, None, "E001"),
        ("TS2007-103", "2007-06-29", "传真", "水", "x", "2007-06-01", None, "也许", 150.0, 28.97, None),
    ])
    intake = C.import_file(store, path, user="信访科", now=NOW)
    assert not intake.ok
    bad = {(p.row, p.column) for p in intake.errors}
    assert {(5, "来源渠道"), (5, "办结期限"), (5, "敏感件"), (5, "经度")} <= bad
    assert all(p.row == 5 for p in intake.errors)
    assert (store.version(), len(store.read("complaints"))) == before


def test_complaint_register_imports_and_figures(store, tmp_path):
    path = _register(tmp_path / "reg.xlsx", [
        ("", "2007-06-28", "热线", "水", "河水发黑", "2007-06-29", None, "否", 118.95, 28.97, None),
        ("", "2007/6/29", "省转办", "异味", "厂区异味", None, "2007-06-29", "是", None, None, "E001"),
    ])
    intake = C.import_file(store, path, user="信访科", now=NOW)
    assert intake.ok, intake.errors
    c = store.read("complaints")
    new = c[c["id"].isin(intake.new_ids)].sort_values("received_on")
    assert len(new) == 2 and list(new["recorded_by"]) == ["信访科"] * 2
    assert list(new["layer"].fillna("")) == ["", "enterprises"] and new["feature_id"].iat[1] == "E001"
    assert new["due_on"].iat[1] == pd.Timestamp("2007-06-29") + pd.Timedelta(days=C.due_days())
    al = C.alarms(c, "2007-06-30")
    assert list(al["id"]) == [new["id"].iat[0]] and al["alarm"].iat[0] == "overdue"
    al = C.alarms(c, "2007-06-29")
    assert list(al["alarm"]) == ["due_today"]
    f = C.figures(c, store.read("townships"), start="2007-01-01", end="2007-06-30")
    assert f["received"] == 38 and f["on_time"] == 37 and f["handled"] == 37
    assert f["by_channel"]["province"] == 6 and f["by_month"].sum() == 38


def test_complaint_gcj02_register_is_converted(store, tmp_path):
    from geo.crs import gcj02_to_wgs84

    path = _register(tmp_path / "reg.csv", [], header=("受理日期", "来源", "类别", "内容", "经度", "纬度"))
    path.write_text("受理日期,来源,类别,内容,经度,纬度\n2007-06-20,来信,噪声,夜间噪声,118.955,28.975\n", encoding="gbk")
    intake = C.import_file(store, path, user="信访科", datum="gcj02", now=NOW, dry_run=True)
    assert intake.ok
    lon, lat = gcj02_to_wgs84(118.955, 28.975)
    g = intake.rows.geometry.iat[0]
    assert abs(g.x - lon[0]) < 1e-9 and abs(g.y - lat[0]) < 1e-9
    assert len(store.read("complaints")) == 36  # dry run


def test_complaint_form_refuses_bad_input(store):
    with pytest.raises(GeoError) as exc:
        C.create(store, {"received_on": "2007-07-05", "channel": "热线", "category": "水", "summary": ""},
                 user="信访科", now=NOW)
    assert "投诉内容为空" in exc.value.zh and "受理日期晚于今天" in exc.value.zh
    assert len(store.read("complaints")) == 36
    cid = C.create(store, {"received_on": "2007-06-30", "channel": "hotline", "category": "odour",
                           "summary": "<b>异味</b>", "site": "F001", "sensitive": True}, user="信访科", now=NOW)
    row = store.read("complaints").set_index("id").loc[cid]
    assert row["summary"] == "<b>异味</b>" and bool(row["sensitive"]) and row["layer"] == "farms"


# --- inspections --------------------------------------------------------------------------

def test_plan_becomes_inspection_and_findings_feed_status(store):
    from geo.patrol import PatrolParams, plan_from_store

    plan = plan_from_store(store, ["kilns-closed"], as_of="2007-06-30", params=PatrolParams(time_limit_s=1),
                           use_roads=False)
    [iid] = I.from_plan(store, plan, departments=["环保局", "开发区管委会", "安监局", "经贸局"], user="执法队员甲")
    stops = I.stops_of(store, iid)
    assert len(stops) == len(plan.visited) and stops["finding"].isna().all()
    # a closed kiln found producing again: a violation at a closed site proposes "operating"
    first = stops.iloc[0]
    assert first["status"] == "closed"
    prop = I.record_finding(store, first["id"], "违规", note="窑体复产", user="执法队员甲",
                            location=(118.93, 29.18), photos=[("p.png", _png())], when=NOW)
    assert prop is not None and prop.status == "operating" and prop.layer == "kilns"
    v = store.read("inspection_visits").set_index("id").loc[first["id"]]
    assert v["finding"] == "violation" and v["recorded_by"] == "执法队员甲" and v["located_by"] == "device"
    assert abs(v.geometry.x - 118.93) < 1e-12
    ev_before = len(store.read("status_events"))
    assert store.read("kilns").set_index("id").loc[first["feature_id"], "status"] == "closed"  # not yet confirmed
    I.confirm(store, prop, user="执法队员甲", today=NOW.date())
    ev = store.read("status_events")
    assert len(ev) == ev_before + 1 and ev["recorded_by"].iat[-1] == "执法队员甲"
    assert store.read("kilns").set_index("id").loc[first["feature_id"], "status"] == "operating"
    att = store.read("attachments")
    assert (att["layer"] == "inspection_visits").sum() == 1
    # an ok finding proposes nothing
    assert I.record_finding(store, stops.iloc[1]["id"], "ok", user="执法队员甲", when=NOW) is None
    with pytest.raises(GeoError):
        I.record_finding(store, stops.iloc[1]["id"], "maybe", user="执法队员甲")


def test_joint_patrol_needs_four_departments(store):
    with pytest.raises(GeoError, match="at least 4 departments"):
        I.new_inspection(store, held_on="2007-06-29", kind="joint", departments="环保局、安监局", user="甲")
    rule = I.joint_by_month(store.read("inspections"), "2007-01-01", "2007-06-30")
    assert rule["met"].all() and (rule["half_months"] == 2).all()


# --- site file and assessment -------------------------------------------------------------

def test_site_file_gathers_everything(store):
    c = store.read("complaints")
    fid = c.loc[c["layer"] == "enterprises", "feature_id"].iat[0]
    f = site_file(store, "enterprises", fid)
    assert len(f.complaints) >= 1 and len(f.history) >= 2 and f.water["distance_m"] > 0
    outfall_owner = store.read("sampling_points").dropna(subset=["feature_id"])["feature_id"].iat[0]
    g = site_file(store, "enterprises", outfall_owner)
    assert len(g.outfalls) and set(g.outfalls["判定"]) <= {"达标", "超标", "—"}
    a = store.read("attachments")
    five = a["feature_id"].iat[0]
    h = site_file(store, "enterprises", five)
    assert len(h.attachments) == 4
    pdf = to_pdf(h)
    assert pdf.startswith(b"%PDF")
    with pytest.raises(GeoError):
        site_file(store, "enterprises", "NOPE")


def test_assessment_scores_and_veto(store):
    s = A.township_scores(store, 2007, "2007-06-30")
    assert list(s.columns[:4]) == ["township", "total", "rank", "veto"]
    assert len(s) == 20 and s["total"].between(0, 105).all()
    vetoed = s[s["veto"]]
    assert list(vetoed["township"]) == ["周家乡"] and vetoed["rank"].iat[0] == 20
    ok = s[~s["veto"]]
    assert (ok["total"].diff().dropna() <= 0).all()
    A.enter(store, year=2007, unit="樟潭街道", item="veto_false_report", score=1, note="虚报关停数", user="考核办",
            now=NOW)
    s2 = A.township_scores(store, 2007, "2007-06-30")
    assert set(s2.loc[s2["veto"], "township"]) == {"周家乡", "樟潭街道"}
    with pytest.raises(GeoError):
        A.enter(store, year=2007, unit="樟潭街道", item="dev_closure", score=3, user="考核办")
    with pytest.raises(GeoError):
        A.enter(store, year=2007, unit="樟潭街道", item="org_meeting", score=9, user="考核办")
    d = A.department_scores(store, 2007, "2007-06-30")
    assert len(d) == 6 and list(d.columns[:4]) == ["department", "total", "rank", "veto"]


def test_geo_assess_cli_columns(tmp_path):
    dst = tmp_path / "s.gpkg"
    shutil.copyfile(DEMO, dst)
    run = lambda *a: subprocess.run([sys.executable, "-m", "geo", *a, "--store", str(dst)], cwd=ROOT,  # noqa: E731
                                    capture_output=True, text=True)
    res = run("assess", "--year", "2007", "--as-of", "2007-06-30", "--format", "csv")
    assert res.returncode == 0, res.stderr
    df = pd.read_csv(io.StringIO(res.stdout))
    assert list(df.columns) == ["township", "total", "rank", "veto", "org", "development", "creation", "protection",
                                "bonus"]
    assert len(df) == 20 and df["veto"].sum() == 1
    out = tmp_path / "a.xlsx"
    res = run("assess", "--year", "2007", "--as-of", "2007-06-30", "--format", "xlsx", "--out", str(out),
              "--circular", str(tmp_path / "c.pdf"))
    assert res.returncode == 0, res.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["乡镇排名", "评分明细", "部门考核", "说明"]  # 说明: what the file is
    # the table's header follows the block that states what the file is
    header = next(r for r in wb["乡镇排名"].iter_rows(values_only=True) if r[0] == "乡镇（街道）")
    assert list(header[:4]) == ["乡镇（街道）", "总分", "名次", "一票否决"]
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")
    res = run("assess", "--year", "1999")
    assert res.returncode == 2 and "没有 1999 年度的考核方案" in res.stderr and "Traceback" not in res.stderr


def test_cli_complaints_inspect_site(tmp_path):
    dst = tmp_path / "s.gpkg"
    shutil.copyfile(DEMO, dst)
    run = lambda *a: subprocess.run([sys.executable, "-m", "geo", *a, "--store", str(dst)], cwd=ROOT,  # noqa: E731
                                    capture_output=True, text=True)
    reg = _register(tmp_path / "r.xlsx", [("", "2007-06-28", "热线", "水", "河水发黑", None, None, "否", 300, 28.9, None)])
    res = run("complaints", "import", str(reg), "--user", "信访科")
    assert res.returncode == 1 and "经纬度无效" in res.stderr and "nothing was written" in res.stderr
    res = run("complaints", "list", "--figures")
    assert res.returncode == 0 and "按期办结率\t100%" in res.stdout
    v = GpkgStore(dst).read("inspection_visits")["id"].iat[0]
    res = run("inspect", "record", v, "not_found", "--user", "甲", "--note", "大门紧锁")
    assert res.returncode == 0, res.stderr
    assert GpkgStore(dst).read("inspection_visits").set_index("id").loc[v, "finding"] == "not_found"
    res = run("site", "kilns", "KL001", "--out", str(tmp_path / "k.pdf"))
    assert res.returncode == 0 and (tmp_path / "k.pdf").read_bytes().startswith(b"%PDF")


def test_postgis_schema_1_is_migrated_to_casework(pg_db):
    import psycopg

    from geo.store.postgis import SCHEMA_VERSION, migrate

    migrate(pg_db)
    libpq = pg_db.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:  # a database as schema 1 left it: no casework tables
        for t in ("complaints", "inspections", "inspection_visits", "attachments", "assessment_entries"):
            conn.execute(f'DROP TABLE "{t}"')
        conn.execute("UPDATE qingshan_meta SET value = '1' WHERE key = 'schema_version'")
    assert migrate(pg_db) == (1, SCHEMA_VERSION)
    store = open_store(pg_db)
    assert {"complaints", "attachments", "assessment_entries"} <= set(store.tables())
    ATT.add(store, [("a.png", _png())], layer="enterprises", feature_id="x", user="李")
    assert store.read("attachments")["content"].iat[0] == _png()


def test_riverside_item_asks_only_januarys_violations_again(tmp_path):
    """The assessment's riverside item (violations on January 1st resolved by the day, per township) equals
    the whole-store measurement it replaced (every site checked again on the day), on a store whose year
    has openings and closings."""
    from geo import buffers, progress, synth

    path = tmp_path / "s.gpkg"
    synth.write(str(path), sites=3000, readings=3000)
    t = progress.prepare(open_store(str(path)).read_many(["townships", "rivers", "waterbodies", "enterprises",
                                                          "kilns", "farms", "status_events"]))
    day = pd.Timestamp(t["status_events"]["effective_on"].max())
    year = day.year
    got = A._riverside(t, year, day)
    start = buffers.check(t, 200.0, as_of=pd.Timestamp(year=year, month=1, day=1))
    now = buffers.check(t, 200.0, as_of=day, all_sites=True)
    active_now = set(zip(now.loc[now["active"], "layer"], now.loc[now["active"], "id"]))
    fixed_any = False
    for name in t["townships"]["name"]:
        s = start[start["township"] == name]
        fixed = sum((lay, i) not in active_now for lay, i in zip(s["layer"], s["id"]))
        want = (1.0, "年初无沿河违规点位") if len(s) == 0 else (fixed / len(s), f"已整改 {fixed}/{len(s)}")
        assert got[name] == want, name
        fixed_any |= fixed > 0
    assert fixed_any and len(start)  # the comparison had resolved violations to count
    # the same item from the day's snapshot with every layer's history (the wall's way: January's
    # violations derived from the day's, geo.buffers.violations_earlier): equal, township by township
    store = open_store(str(path))
    from geo import wallboard

    for args in ({"history_of": ("enterprises", "kilns", "farms")}, wallboard.snapshot_args(day, 7)):
        snap = progress.snapshot(store, day, **args)
        frames = {**{k: t[k] for k in ("rivers", "waterbodies")}, **snap}
        assert A._riverside(frames, year, day) == got, args


def test_township_scores_from_the_walls_snapshot_equal_whole_tables(tmp_path):
    """The wall scores townships from a snapshot of the day (sites replayed by the database, townships
    already joined, results shared through the snapshot's memo): every item's score and basis equal those
    from the whole tables, on the demo and on a province-like store."""
    from geo import progress, synth, wallboard

    path = tmp_path / "s.gpkg"
    synth.write(str(path), sites=3000, readings=3000)
    for spec, day in ((str(DEMO), pd.Timestamp("2007-06-30")), (str(path), None)):
        store = open_store(spec)
        whole = store.read_many([t for t in A.TABLES_NEEDED if t in store.tables()])
        for t in ("complaints", "inspections", "inspection_visits", "assessment_entries"):
            whole.setdefault(t, store.read(t) if t in store.tables() else pd.DataFrame())
        day = day if day is not None else pd.Timestamp(whole["status_events"]["effective_on"].max())
        want = A.item_scores(progress.prepare(whole), day.year, day)
        # with every layer's history, and as the wall holds the day (wallboard.snapshot_args: no history
        # but the sites changed since January, the campaigns' done steps from the database)
        for args in ({"history_of": ("enterprises", "kilns", "farms")}, wallboard.snapshot_args(day, 7)):
            snap = progress.snapshot(store, day, **args)
            frames = {**{k: v for k, v in whole.items() if k not in snap}, **snap}
            got = A.item_scores(frames, day.year, day)
            pd.testing.assert_frame_equal(got, want)
            if "department" in whole["enterprises"].columns:  # the departments' scores too
                pd.testing.assert_frame_equal(A.department_scores(frames, day.year, day),
                                              A.department_scores(progress.prepare(whole), day.year, day))
        assert (want["source"] == "computed").any() and want["score"].gt(0).any()
