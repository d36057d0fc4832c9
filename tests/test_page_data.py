"""The 数据 page: login and roles, status updates, ledger upload and commit, escaping, downloads (AppTest)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptests import sign_in, texts


PAGE = str(Path(__file__).resolve().parent.parent / "views" / "data.py")
HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(1)>"]
USERS = {"li": ("inspector-pw", "inspector"), "wang": ("planner-pw", "planner")}


@pytest.fixture
def env(page_env):
    """A copy of the demo with the accounts of :data:`USERS` (tests/conftest.py)."""
    return page_env(USERS)


def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def login(at: AppTest, user: str, password: str) -> AppTest:
    return sign_in(at, user, password)



def test_anonymous_can_download_but_not_write(env):
    at = page()
    assert len(at.get("file_uploader")) == 0
    assert not [f for f in at.get("form") if "upd_form" in str(getattr(f, "id", ""))]
    infos = " ".join(i.value for i in at.info)
    assert "规划员或管理员" in infos and "巡查员" in infos
    keys = {d.key for d in at.get("download_button")}
    assert {"dl_enterprises", "dl_farms", "dl_kilns"} <= keys
    # the whole-store GeoPackage is built on each click: signed-in accounts only (issue 26)
    assert "dl_gpkg" not in keys and "需要登录" in infos
    signed_in = login(at, "li", "inspector-pw")
    assert "dl_gpkg" in {d.key for d in signed_in.get("download_button")}


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
    at.text_input(key="upd_q_farms").input(fid).run()  # sites are found by a search (issue 13)
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
    # no datum chosen yet: nothing can be written, and the page says why
    assert at.selectbox(key="imp_datum").value is None
    assert next(b for b in at.button if b.label == "确认导入").disabled
    report = next(d.value for d in at.dataframe if "问题" in d.value.columns)
    assert report["问题"].str.contains("未指定坐标系").any()
    at.selectbox(key="imp_datum").set_value("wgs84").run()
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
    at.selectbox(key="imp_datum").set_value("wgs84")
    at.get("file_uploader")[0].set_value(("l.csv", _csv(rows), "text/csv"))
    at.run()
    assert not at.exception, at.exception
    assert next(b for b in at.button if b.label == "确认导入").disabled
    report = next(d.value for d in at.dataframe if "行号" in d.value.columns)
    assert report[["行号", "编号", "列"]].astype(str).values.tolist() == [["3", "Q2", "经度"]]
    assert "Q1" not in set(env.read("enterprises")["id"])
    # good rows only: Q1 is written, Q2 listed as skipped
    at.checkbox(key="imp_skip").check().run()
    assert not at.exception, at.exception
    report = next(d.value for d in at.dataframe if "行号" in d.value.columns)
    assert (report[report["级别"] == "已跳过 skipped"]["编号"] == "Q2").all()
    at.button(key="imp_commit").click().run()
    assert not at.exception, at.exception
    ids = set(env.read("enterprises")["id"])
    assert "Q1" in ids and "Q2" not in ids


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
    res = intake.prepare_for_store(env, led, "enterprises", datum="wgs84", user="t", update_existing=True)
    assert res.ok, res.errors[:3]
    # the exported sheet re-imported changes nothing but the edited name (coordinates rounded to 1e-7°)
    assert res.updated_ids == [e["id"].iloc[0]] and res.unchanged_ids == e["id"].tolist()[1:]
    assert len(res.events) == 0 and res.rows["id"].tolist() == [e["id"].iloc[0]]
    [change] = [c for c in res.changes if c.kind == "updated"]
    assert [f.column for f in change.fields] == ["name"] and res.columns == ["name"]


def _lab_csv(rows) -> bytes:
    head = "点位,采样时间,指标,数值,单位\n"
    return (head + "".join(",".join(map(str, r)) + "\n" for r in rows)).encode("gbk")


def _lab_uploader(at: AppTest):
    return next(u for u in at.get("file_uploader") if "实验室" in u.proto.label)


def test_planner_imports_lab_results(env):
    at = login(page(), "wang", "planner-pw")
    n0 = len(env.read("readings"))
    rows = [["W01", "2007-06-25 10:00", "氨氮", "0.35", "mg/L"], ["W01", "2007-06-25 10:00", "COD", "<10", "mg/L"],
            ["W09", "2007-06-25 11:00", "总磷", "21", "μg/L"]]
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
    assert set(new["recorded_by"]) == {"wang"}  # every reading says who imported it


def test_lab_file_with_a_bad_row_writes_nothing(env):
    at = login(page(), "wang", "planner-pw")
    v0 = env.version()
    rows = [["W01", "2007-06-25 10:00", "氨氮", "0.35", "mg/L"], ["W99", "2007-06-25 10:00", "COD", "12", "mg/L"]]
    _lab_uploader(at).set_value(("lab.csv", _lab_csv(rows), "text/csv"))
    at.run()
    assert not at.exception, at.exception
    assert next(b for b in at.button if b.label == "导入监测数据").disabled
    report = next(d.value for d in at.dataframe if "行号" in d.value.columns)
    assert report["行号"].tolist() == [3]
    assert env.version() == v0


# --- updates of stored sites are a choice; the commit re-validates against the store ----------------------

RENAMED = "衢州康远化工有限公司（更名）"


def _rename_csv(store) -> bytes:
    """E001 renamed, E002 as stored, NEW1 new."""
    from geo.contract import status_label

    e = store.read("enterprises").set_index("id")
    rows = [[fid, RENAMED if fid == "E001" else e.loc[fid, "name"], e.loc[fid].geometry.x, e.loc[fid].geometry.y,
             status_label(e.loc[fid, "status"], "enterprises")] for fid in ("E001", "E002")]
    rows.append(["NEW1", "新建化工厂", 118.95, 28.98, "在产"])
    body = "".join(",".join('"' + str(v) + '"' for v in r) + "\n" for r in rows)
    return ("编号,企业名称,经度,纬度,状态\n" + body).encode("gbk")


def _classes(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "类别" in d.value.columns)


def _upload_rename(env) -> AppTest:
    at = login(page(), "wang", "planner-pw")
    at.selectbox(key="imp_datum").set_value("wgs84")
    at.get("file_uploader")[0].set_value(("台账.csv", _rename_csv(env), "text/csv"))
    at.run()
    assert not at.exception, at.exception
    return at


def test_rename_is_listed_as_updated_and_written_only_with_update_existing(env):
    e0 = env.read("enterprises").set_index("id")
    v0 = env.version()
    at = _upload_rename(env)
    assert at.checkbox(key="imp_update").value is False  # off by default
    classes = _classes(at).set_index("编号")
    assert classes.loc["E001", "类别"] == "更新 updated"
    assert classes.loc["E001", "变更 (原 → 新)"] == f"企业名称：“{e0.loc['E001', 'name']}” → “{RENAMED}”"
    assert classes.loc["E002", "类别"] == "不变 unchanged" and classes.loc["NEW1", "类别"] == "新增 new"
    assert at.button(key="imp_commit").disabled
    report = next(d.value for d in at.dataframe if "问题" in d.value.columns)
    [refusal] = report[report["级别"] == "错误 error"]["问题"]
    assert "1 行将修改库中已有的企业" in refusal and "更新已有点位" in refusal
    assert env.version() == v0
    at.checkbox(key="imp_update").check().run()
    assert not at.exception, at.exception
    assert not at.button(key="imp_commit").disabled
    at.button(key="imp_commit").click().run()
    assert not at.exception, at.exception
    assert any("已导入" in s.value for s in at.success)
    e1 = env.read("enterprises").set_index("id")
    assert e1.loc["E001", "name"] == RENAMED and e1.loc["NEW1", "name"] == "新建化工厂"
    pd.testing.assert_frame_equal(e1.drop(index=["E001", "NEW1"]), e0.drop(index="E001"), check_like=True)


def test_store_changed_between_preview_and_commit_shows_the_new_preview(env):
    from geo.store import Change

    at = _upload_rename(env)
    at.checkbox(key="imp_update").check().run()
    assert not at.button(key="imp_commit").disabled
    # another write lands while the planner reviews the preview: E001 renamed another way
    e = env.read("enterprises")
    e.loc[e["id"] == "E001", "name"] = "别人改的名字"
    env.commit([Change("enterprises", e[e["id"] == "E001"], "upsert")])
    v1 = env.version()
    at.button(key="imp_commit").click().run()
    assert not at.exception, at.exception
    warned = " ".join(w.value for w in at.warning)
    assert "已被修改" in warned and "The data changed after the preview" in warned
    assert not any("已导入" in s.value for s in at.success)
    # nothing stale written: neither the rename over the other write nor the new row
    assert env.version() == v1
    stored = env.read("enterprises").set_index("id")
    assert stored.loc["E001", "name"] == "别人改的名字" and "NEW1" not in stored.index
    # the refreshed preview shows the store as it is now; confirming it writes it
    assert _classes(at).set_index("编号").loc["E001", "变更 (原 → 新)"] == f"企业名称：“别人改的名字” → “{RENAMED}”"
    at.button(key="imp_commit").click().run()
    assert not at.exception, at.exception
    assert any("已导入" in s.value for s in at.success)
    stored = env.read("enterprises").set_index("id")
    assert stored.loc["E001", "name"] == RENAMED and "NEW1" in stored.index
