"""The 数据 page: login and roles, status updates, ledger upload and commit, escaping, downloads (AppTest)."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import bcrypt
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from geo import auth
from geo.store import DEMO_STORE, open_store

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "data.py")
HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(1)>"]
USERS = {"li": ("inspector-pw", "inspector"), "wang": ("planner-pw", "planner")}


@pytest.fixture
def env(tmp_path, monkeypatch):
    store = tmp_path / "store.gpkg"
    shutil.copyfile(DEMO_STORE, store)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("\n".join(auth.toml_entry(n, bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)).decode(), role)
                                 for n, (pw, role) in USERS.items()), encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_STORE", str(store))
    monkeypatch.setenv("QINGSHAN_SECRETS", str(secrets))
    st.cache_resource.clear()  # ui caches the store per process: start from this test's copy
    st.cache_data.clear()
    yield open_store(store)
    st.cache_resource.clear()
    st.cache_data.clear()


def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def login(at: AppTest, user: str, password: str) -> AppTest:
    at.sidebar.text_input(key="login_user").input(user)
    at.sidebar.text_input(key="login_password").input(password)
    next(b for b in at.sidebar.button if b.label == "登录").click()
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "text", "caption", "success", "error", "warning", "info"):
        parts += [str(e.value) for e in at.get(kind)]
    return "\n".join(parts)


def test_anonymous_can_download_but_not_write(env):
    at = page()
    assert len(at.get("file_uploader")) == 0
    assert not [f for f in at.get("form") if "upd_form" in str(getattr(f, "id", ""))]
    infos = " ".join(i.value for i in at.info)
    assert "规划员或管理员" in infos and "巡查员" in infos
    keys = {d.key for d in at.get("download_button")}
    assert {"dl_gpkg", "dl_enterprises", "dl_farms", "dl_kilns"} <= keys


def test_wrong_password_stays_anonymous(env):
    at = login(page(), "wang", "not-the-password")
    assert any("错误" in e.value for e in at.sidebar.error)
    assert len(at.get("file_uploader")) == 0


def test_inspector_updates_status_but_cannot_import(env):
    at = login(page(), "li", "inspector-pw")
    assert any("巡查员" in t.value for t in at.sidebar.text)
    assert len(at.get("file_uploader")) == 0  # no import for inspectors
    farms = env.read("farms")
    fid = farms[farms["status"] == "treating"]["id"].iloc[0]
    at.selectbox(key="upd_layer").set_value("farms").run()
    at.selectbox(key="upd_site_farms").set_value(fid).run()
    at.selectbox(key="upd_status").set_value("accepted")
    at.date_input(key="upd_date").set_value(dt.date(2007, 6, 28))
    at.text_area(key="upd_note").input(HOSTILE[0])
    next(b for b in at.button if b.label == "记录状态").click()
    at.run()
    assert not at.exception, at.exception
    ev = env.read("status_events").iloc[-1]
    assert (ev["feature_id"], ev["status"], ev["recorded_by"]) == (fid, "accepted", "li")
    assert ev["effective_on"] == pd.Timestamp("2007-06-28") and ev["note"] == HOSTILE[0]
    assert env.read("farms").set_index("id").loc[fid, "status"] == "accepted"
    assert any("已记录" in s.value for s in at.success)
    # the history table shows the note as data, and no markdown carries raw HTML
    assert "<script" not in texts(at)


def _csv(rows) -> bytes:
    head = "编号,企业名称,经度,纬度,所属乡镇,行业,状态\n"
    body = "".join(",".join('"' + str(v).replace('"', '""') + '"' for v in r) + "\n" for r in rows)
    return (head + body).encode("gbk")


def test_planner_imports_with_report_and_commit(env):
    at = login(page(), "wang", "planner-pw")
    assert len(at.get("file_uploader")) == 2  # ledgers and lab results
    rows = [[f"P{i}", n, 118.95 + i * 0.001, 28.98, "樟潭街道", "化工", "在产"] for i, n in enumerate(HOSTILE)]
    at.get("file_uploader")[0].set_value(("台账.csv", _csv(rows), "text/csv"))
    at.run()
    assert not at.exception, at.exception
    commit = next(b for b in at.button if b.label == "确认导入")
    assert not commit.disabled
    v0 = env.version()
    commit.click()
    at.run()
    assert not at.exception, at.exception
    assert env.version() != v0
    e = env.read("enterprises").set_index("id")
    assert [e.loc[f"P{i}", "name"] for i in range(3)] == HOSTILE
    ev = env.read("status_events")
    assert set(ev[ev["feature_id"].isin(["P0", "P1", "P2"])]["recorded_by"]) == {"wang"}
    shown = texts(at)
    for h in HOSTILE:
        assert h not in shown


def test_bad_row_disables_commit_and_reports(env):
    at = login(page(), "wang", "planner-pw")
    rows = [["Q1", "好厂", 118.95, 28.98, "樟潭街道", "化工", "在产"],
            ["Q2", "坏厂", "abc", 28.98, "樟潭街道", "化工", "在产"]]
    at.get("file_uploader")[0].set_value(("l.csv", _csv(rows), "text/csv"))
    at.run()
    assert not at.exception, at.exception
    assert next(b for b in at.button if b.label == "确认导入").disabled
    report = next(d.value for d in at.dataframe if "行号" in d.value.columns)
    assert report[["行号", "编号", "列"]].astype(str).values.tolist() == [["3", "Q2", "经度"]]
    assert "Q1" not in set(env.read("enterprises")["id"])


def test_oversized_upload_is_refused(env, monkeypatch, tmp_path):
    cfg = tmp_path / "qingshan.toml"
    cfg.write_text("[limits]\nmax_upload_mb = 0.0001\n", encoding="utf-8")  # about 100 bytes
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))
    at = login(page(), "wang", "planner-pw")
    at.get("file_uploader")[0].set_value(("l.csv", b"x" * 500, "text/csv"))
    at.run()
    assert any("过大" in e.value and "max_upload_mb" in e.value.replace("\\", "") for e in at.error), [e.value for e in at.error]


def test_logout(env):
    at = login(page(), "wang", "planner-pw")
    next(b for b in at.sidebar.button if b.label == "退出登录").click()
    at.run()
    assert len(at.get("file_uploader")) == 0


def test_xlsx_export_round_trip_and_no_formulas(env, tmp_path):
    import openpyxl

    from geo import intake
    from geo.export import layer_xlsx

    e = env.read("enterprises")
    e.loc[0, "name"] = "=HYPERLINK(\"http://x\",\"y\")"
    data = layer_xlsx(e, "enterprises")
    f = tmp_path / "e.xlsx"
    f.write_bytes(data)
    ws = openpyxl.load_workbook(f).active
    header = [c.value for c in ws[1]]
    assert header[:4] == ["编号", "企业名称", "行业", "状态"] and "经度" in header
    assert ws.cell(2, 2).data_type == "s" and ws.cell(2, 2).value.startswith("=HYPERLINK")
    led = intake.read_ledger(f, layer="enterprises")
    res = intake.prepare_for_store(env, led, "enterprises", user="t")
    assert res.ok, res.errors[:3]
    assert res.updated_ids == e["id"].tolist() and len(res.events) == 0  # same statuses: no events


def _lab_csv(rows) -> bytes:
    head = "点位,采样时间,指标,数值,单位\n"
    return (head + "".join(",".join(map(str, r)) + "\n" for r in rows)).encode("gbk")


def _lab_uploader(at: AppTest):
    return next(u for u in at.get("file_uploader") if "实验室" in u.proto.label)


def test_planner_imports_lab_results(env):
    at = login(page(), "wang", "planner-pw")
    n0 = len(env.read("readings"))
    rows = [["W01", "2007-07-05 10:00", "氨氮", "0.35", "mg/L"], ["W01", "2007-07-05 10:00", "COD", "<10", "mg/L"],
            ["W09", "2007-07-05 11:00", "总磷", "21", "μg/L"]]
    _lab_uploader(at).set_value(("lab.csv", _lab_csv(rows), "text/csv"))
    at.run()
    assert not at.exception, at.exception
    button = next(b for b in at.button if b.label == "导入监测数据")
    assert not button.disabled
    button.click()
    at.run()
    assert not at.exception, at.exception
    r = env.read("readings")
    assert len(r) == n0 + 3
    new = r.iloc[n0:].set_index("parameter")
    assert new.loc["COD", "below_detection"] and new.loc["COD", "value"] == 10
    assert new.loc["TP", "value"] == pytest.approx(0.021) and new.loc["TP", "unit"] == "mg/L"


def test_lab_file_with_a_bad_row_writes_nothing(env):
    at = login(page(), "wang", "planner-pw")
    v0 = env.version()
    rows = [["W01", "2007-07-05 10:00", "氨氮", "0.35", "mg/L"], ["W99", "2007-07-05 10:00", "COD", "12", "mg/L"]]
    _lab_uploader(at).set_value(("lab.csv", _lab_csv(rows), "text/csv"))
    at.run()
    assert not at.exception, at.exception
    assert next(b for b in at.button if b.label == "导入监测数据").disabled
    report = next(d.value for d in at.dataframe if "行号" in d.value.columns)
    assert report["行号"].tolist() == [3]
    assert env.version() == v0
