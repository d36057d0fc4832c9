"""The casework pages (AppTest): complaints, phone inspection page, site file, assessment; writes need a role."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptests import sign_in, texts


VIEWS = Path(__file__).resolve().parent.parent / "views"
USERS = {"li": ("inspector-pw", "inspector"), "wang": ("planner-pw", "planner")}


@pytest.fixture
def env(page_env):
    """A copy of the demo with the accounts of :data:`USERS` (tests/conftest.py)."""
    return page_env(USERS)


def run(name: str, **query) -> AppTest:
    at = AppTest.from_file(str(VIEWS / name), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def login(at: AppTest, user: str) -> AppTest:
    return sign_in(at, user, USERS[user][0], prefix="cw_")



def test_complaints_page_figures_and_roles(env):
    at = run("complaints.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"受理": "36", "办结": "36", "按期办结": "36", "按期办结率": "100%"}
    assert "省 5、市 8、区 8" in texts(at) and "直接受理 15 件" in texts(at)
    login(at, "li")  # an inspector may not take in complaints
    assert "无权登记信访投诉与考核评分" in texts(at)
    assert not [f for f in at.get("form") if f.id and "cw_complaint" in str(f.id)]


def test_complaint_form_writes_with_author_and_refuses_bad_input(env):
    at = login(run("complaints.py"), "wang")
    at.text_area(key="cw_c_summary").input("<script>alert(1)</script> 夜间异味")
    at.text_input(key="cw_c_site").input("E001")
    next(b for b in at.button if b.label == "保存投诉").click()
    at.run()
    assert not at.exception, at.exception
    c = env.read("complaints")
    assert len(c) == 37
    new = c[c["summary"].str.contains("script")].iloc[0]
    assert new["recorded_by"] == "wang" and new["feature_id"] == "E001"
    # no location, no summary: refused, nothing written
    at.text_area(key="cw_c_summary").input("")
    at.text_input(key="cw_c_site").input("")
    next(b for b in at.button if b.label == "保存投诉").click()
    at.run()
    assert any("投诉内容为空" in str(e.value) for e in at.error)
    assert len(env.read("complaints")) == 37


def test_inspect_page_records_a_finding_as_the_inspector(env):
    at = run("inspect.py")
    assert "登录后可登记" in texts(at)
    at = login(at, "li")
    visit = at.selectbox(key="cw_i_stop").value
    at.radio(key="cw_i_finding").set_value("not_found")
    at.text_area(key="cw_i_note").input("大门紧锁")
    next(b for b in at.button if b.label == "保存检查结果").click()
    at.run()
    assert not at.exception, at.exception
    v = env.read("inspection_visits").set_index("id").loc[visit]
    assert v["finding"] == "not_found" and v["recorded_by"] == "li" and v["note"] == "大门紧锁"
    # the twice-a-month table
    rule = at.dataframe[-1].value
    assert list(rule["是否达到"]) == ["达到"] * 6


def test_site_page_from_query_and_unknown_site(env):
    a = env.read("attachments")
    fid = a["feature_id"].iat[0]
    at = run("site.py", layer="enterprises", id=fid)
    assert any(fid in str(t.value) for t in at.caption)
    assert len(at.get("imgs")) >= 1 or "PNG" in texts(at).upper()
    at = run("site.py", layer="enterprises", id="<b>NOPE</b>")
    assert any("NOPE" in str(e.value) for e in at.error)


def test_assess_page_shows_veto_and_ranking(env):
    at = run("assess.py")
    assert any("一票否决：周家乡" in str(e.value) for e in at.error)
    table = at.dataframe[0].value
    assert list(table.columns[:4]) == ["乡镇（街道）", "总分", "名次", "一票否决"]
    assert table["一票否决"].iat[-1].startswith("否决：")
    at = login(at, "wang")
    at.selectbox(key="cw_a_unit").set_value("樟潭街道")
    at.selectbox(key="cw_a_item").set_value("veto_false_report")
    at.number_input(key="cw_a_score").set_value(1.0)
    next(b for b in at.button if b.label == "保存评分").click()
    at.run()
    assert not at.exception, at.exception
    e = env.read("assessment_entries")
    assert e["entered_by"].iat[-1] == "wang" and e["item"].iat[-1] == "veto_false_report"
    at.run()
    assert any("樟潭街道" in str(x.value) for x in at.error)
