"""Complaints registers as offices keep them: 12345 / 12369 / 信访 work orders, address-only rows, placing.

The register is built as a 12345 hotline exports it (a title row above the headers, 工单编号, 来电时间,
受理渠道, 诉求类型 ``环境保护-水污染``, 诉求地址, 反映人, 联系电话, 承办单位, 办理时限 ``15个工作日`` …) and
imported into both backends; what is stored, the findings with their row numbers, the refusal that writes
nothing, the 未定位 list and placing one (library, command line and page) are checked. Expected values are
written out by hand (due dates counted on the calendar, GCJ-02 by the published forward formula).
"""
from __future__ import annotations

import datetime as dt
import math
import shutil
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest
import shapely
import streamlit as st
from streamlit.testing.v1 import AppTest

from geo import complaints as C
from geo.check import check_table
from geo.errors import GeoError
from geo.store import open_store
from tests.apptests import sign_in, texts
from tests.conftest import DEMO, ROOT

NOW = dt.datetime(2007, 6, 30, 16, 0)
TITLE = "衢江区12345政务服务热线工单登记表（2007年6月）"
HEADER = ("序号", "工单编号", "来电时间", "受理渠道", "诉求类型", "诉求内容", "诉求地址", "反映人", "联系电话",
          "经度", "纬度", "承办单位", "办理时限", "办结时间", "办理结果")
PHONE = "13812345678"
#: file rows 3–7 (row 1: title, row 2: headers)
ROWS = [
    (1, "ZJ12345-0601-001", dt.datetime(2007, 6, 1, 9, 12), "12345政务服务热线", "环境保护-水污染",
     f"张三来电反映沈家村旁小河发黑发臭，联系电话{PHONE}", "衢江区樟潭街道沈家村村口", "张三", PHONE,
     None, None, "区环保局", "15个工作日", None, None),
    (2, "ZJ12345-0605-002", "2007-06-05 14:30:00", "12369环保举报", "噪声扰民", "工地夜间施工噪声",
     "樟潭街道江滨路工地", "李四", "13900001111", 118.95, 28.97, "区城管局", "2007-06-20",
     "2007-06-10 17:00", "已责令夜间停工"),
    (3, "ZJ12345-0610-003", "2007/6/10", "市长信箱", "环境保护>油烟", "餐馆油烟直排", None, "王五", None,
     "118.955", "28.975", "区市场监管局", 10, "2007-06-18", "已安装油烟净化器"),
    (4, "ZJ12345-0612-004", "2007-06-12", "区政府转办", "臭气", "化工园区夜间臭气", "沈家经济开发区", None, None,
     None, None, "区环保局", "2007-06-27", None, None),
]
BAD = (5, "ZJ12345-0615-005", "2007-06-15", "传真", "环境保护-水污染", "排污口排黑水", "樟潭街道", None, None,
       None, None, "区环保局", "2007-06-30", None, None)
UNPLACED = ["ZJ12345-0601-001", "ZJ12345-0612-004"]


def _register(path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([TITLE])
    ws.append(list(HEADER))
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def _gcj02_forward(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 → GCJ-02 by the published forward formula (Krasovsky ellipsoid constants), written out here
    independently of geo.crs (which inverts it iteratively)."""
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
            + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
            + (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
            + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
            + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(rad) ** 2
    dlat = dlat * 180.0 / ((a * (1 - ee)) / (magic * math.sqrt(magic)) * math.pi)
    dlon = dlon * 180.0 / (a / math.sqrt(magic) * math.cos(rad) * math.pi)
    return lon + dlon, lat + dlat


@pytest.fixture
def store(demo_each_backend):
    """The demo on each backend (tests/conftest.py)."""
    return demo_each_backend


def _stored_text(df: pd.DataFrame) -> str:
    cols = [c for c in df.columns if c != "geometry"]
    return " ".join(str(v) for v in df[cols].astype(object).to_numpy().ravel() if v is not None)


# --- reading: headers, channels, categories, time limits --------------------------------------

@pytest.mark.parametrize("header,field", [
    ("受理时间", "received_on"), ("受理日期", "received_on"), ("登记时间", "received_on"), ("来电时间", "received_on"),
    ("诉求类型", "category"), ("诉求内容", "summary"), ("反映内容", "summary"), ("问题描述", "summary"),
    ("来源", "channel"), ("来源渠道", "channel"), ("受理渠道", "channel"), ("工单编号", "id"), ("工单号", "id"),
    ("信访件编号", "id"), ("办结时间", "handled_on"), ("办理结果", "result"), ("办理时限", "due_on"),
    ("承办单位", "office"), ("诉求地址", "address"), ("事发地址", "address"), ("地址", "address"),
    ("反映人", "complainant"), ("联系电话", "phone"), ("序号", None), ("工单状态", None),
])
def test_register_headers_are_recognised(header, field):
    assert C.auto_mapping([header]).get(header) == field


@pytest.mark.parametrize("word,code", [
    ("12345热线", "hotline"), ("12345政务服务热线", "hotline"), ("12369环保举报", "hotline"), ("12369", "hotline"),
    ("领导信箱", "online"), ("市长信箱", "online"), ("区长信箱", "online"), ("微信公众号", "online"),
    ("网上信访", "online"), ("来信", "letter"), ("来访", "visit"), ("省转办", "province"), ("市转办", "city"),
    ("区政府转办", "district"), ("市生态环境局转办", "city"), ("省信访局交办", "province"), ("热线", "hotline"),
    ("hotline", "hotline"), ("传真", None), ("信访", None),
])
def test_channels_of_hotlines_mailboxes_and_forwardings(word, code):
    assert C.parse_channel(word) == code


@pytest.mark.parametrize("word,code", [
    ("水污染", "water"), ("大气", "air"), ("噪声", "noise"), ("固废", "solid"), ("异味", "odour"), ("其他", "other"),
    ("环境保护-水污染", "water"), ("噪声扰民", "noise"), ("油烟", "air"), ("臭气", "odour"),
    ("环境保护>大气污染", "air"), ("生态环境/其他", "other"), ("城乡建设-施工噪声", "noise"), ("黑臭水体", "water"),
    ("水泥厂粉尘", "air"), ("环境保护", None), ("咨询", None),
])
def test_categories_of_12345_wordings(word, code):
    assert C.parse_category(word) == code


def test_time_limits_in_days():
    assert C.parse_time_limit("15个工作日") == (15, True)
    assert C.parse_time_limit(10) == (10, False) and C.parse_time_limit("7天") == (7, False)
    assert C.parse_time_limit("2007-06-20") is None and C.parse_time_limit(39263) is None
    # Friday 1 June 2007 + 15 working days, counted on the calendar: Mon 4 … Fri 8 (5), 11–15 (10), 18–22 (15)
    assert C.due_from_limit(pd.Timestamp("2007-06-01"), 15, True) == pd.Timestamp("2007-06-22")
    assert C.due_from_limit(pd.Timestamp("2007-06-10"), 10, False) == pd.Timestamp("2007-06-20")


# --- importing into both backends -----------------------------------------------------------

def test_register_with_an_unknown_channel_writes_nothing(store, tmp_path):
    before = store.version(), len(store.read("complaints"))
    path = _register(tmp_path / "12345.xlsx", [*ROWS, BAD])
    intake = C.import_file(store, path, user="信访科", now=NOW)
    assert not intake.ok
    assert [(p.row, p.id, p.column) for p in intake.errors] == [(7, "ZJ12345-0615-005", "受理渠道")]
    assert "传真" in intake.errors[0].why_zh
    with pytest.raises(GeoError):
        C.commit(store, intake)
    assert (store.version(), len(store.read("complaints"))) == before


def test_12345_register_is_stored_with_unplaced_rows(store, tmp_path):
    path = _register(tmp_path / "12345.xlsx", ROWS)
    intake = C.import_file(store, path, user="信访科", now=NOW)
    assert intake.ok, intake.errors
    assert sorted(intake.new_ids) == sorted(r[1] for r in ROWS)
    c = store.read("complaints")
    assert len(c) == 36 + 4
    got = c.set_index("id").loc[[r[1] for r in ROWS]]
    assert list(got["channel"]) == ["hotline", "hotline", "online", "district"]
    assert list(got["category"]) == ["water", "noise", "air", "odour"]
    assert list(got["received_on"]) == [pd.Timestamp(d) for d in ("2007-06-01", "2007-06-05", "2007-06-10",
                                                                    "2007-06-12")]
    # 15 working days from Friday 1 June: 22 June; 10 (calendar) days from 10 June: 20 June
    assert list(got["due_on"]) == [pd.Timestamp(d) for d in ("2007-06-22", "2007-06-20", "2007-06-20",
                                                               "2007-06-27")]
    assert list(got["handled_on"].dt.strftime("%Y-%m-%d").fillna("")) == ["", "2007-06-10", "2007-06-18", ""]
    assert list(got["result"].fillna("")) == ["", "已责令夜间停工", "已安装油烟净化器", ""]
    assert list(got["office"]) == ["区环保局", "区城管局", "区市场监管局", "区环保局"]
    assert list(got["address"].fillna("")) == ["衢江区樟潭街道沈家村村口", "樟潭街道江滨路工地", "",
                                              "沈家经济开发区"]
    assert list(got["recorded_by"]) == ["信访科"] * 4
    # two rows gave only an address: no point, kept to be placed
    g = got.geometry.values
    assert list(shapely.is_missing(g)) == [True, False, False, True]
    assert (g[1].x, g[1].y) == (118.95, 28.97) and (g[2].x, g[2].y) == (118.955, 28.975)  # WGS84 as typed
    # personal data: the name in its contract column, never in the summary; the phone nowhere
    assert list(got["complainant"].fillna("")) == ["张三", "李四", "王五", ""]
    assert got["summary"].iat[0] == "（反映人）来电反映沈家村旁小河发黑发臭，联系电话（电话已隐去）"
    assert PHONE not in _stored_text(c) and "13900001111" not in _stored_text(c)
    assert not any("phone" in str(col) or "电话" in str(col) for col in c.columns)
    # what the report says, row by row (file rows: title 1, header 2, data from 3)
    warn = {(p.row, p.column, p.why_zh.split("：")[0].split("“")[0]) for p in intake.problems
            if p.severity == "warning"}
    assert {(3, "诉求地址", "未定位"), (6, "诉求地址", "未定位"), (3, "诉求内容", "投诉内容中的反映人姓名或电话号码已隐去"),
            (3, "办理时限", "办理时限按受理后 15 个工作日计（未计节假日）"), (5, "办理时限", "办理时限")} <= warn, warn
    assert any(p.row is None and p.column == "联系电话" and "个人信息，未导入" in p.why_zh for p in intake.problems)
    assert not any(p.row in (4, 5) and p.column == "诉求地址" for p in intake.problems)
    assert any(p.row is None and "序号" in p.why_zh for p in intake.problems)  # a column not imported is said
    # the contract check accepts a complaint without a point: a warning, not an error
    found = check_table("complaints", store.read_raw("complaints"))
    assert not [p for p in found if p.severity == "error"], found
    assert sorted(p.row_id for p in found if p.column == "geometry") == UNPLACED
    # figures keep them apart from complaints outside the district
    f = C.figures(c, store.read("townships"), start="2007-01-01", end="2007-06-30")
    assert f["by_township"]["（未定位）"] == 2 and "（区外）" not in f["by_township"].index
    assert list(C.unplaced(c)["编号"]) == UNPLACED


def test_placing_an_unplaced_complaint(store, tmp_path):
    C.import_file(store, _register(tmp_path / "12345.xlsx", ROWS), user="信访科", now=NOW)
    cid = UNPLACED[0]
    typed = (118.9512, 28.9733)  # read off a phone map: GCJ-02
    placed_at = dt.datetime(2007, 6, 30, 17, 5)
    point = C.place(store, cid, f"{typed[0]}", f"{typed[1]}", datum="gcj02", user="wang", now=placed_at)
    row = store.read("complaints").set_index("id").loc[cid]
    g = row["geometry"]
    assert (g.x, g.y) == (point.x, point.y)
    fx, fy = _gcj02_forward(g.x, g.y)  # the stored WGS84 point, shifted forward, is what was typed
    assert abs(fx - typed[0]) < 1e-6 and abs(fy - typed[1]) < 1e-6
    assert 400 < math.hypot((typed[0] - g.x) * 97_000, (typed[1] - g.y) * 111_000) < 800  # ~580 m here
    assert row["placed_by"] == "wang" and row["placed_at"] == pd.Timestamp(placed_at)
    assert row["recorded_by"] == "信访科" and row["address"] == "衢江区樟潭街道沈家村村口"  # the rest untouched
    # refusals write nothing
    before = store.version()
    for kwargs, text in ((dict(lon="118.95", lat="28.97", user="wang"), "已有位置"),
                         (dict(lon="121.47", lat="31.23", user="wang"), "不在本区"),
                         (dict(lon="东经", lat="28.97", user="wang"), "经纬度无效"),
                         (dict(lon="118.95", lat="28.97", user=" "), "录入人")):
        with pytest.raises(GeoError) as exc:
            C.place(store, cid if text != "不在本区" else UNPLACED[1], **kwargs)
        assert text in exc.value.zh
    with pytest.raises(GeoError):
        C.place(store, "NOPE", "118.95", "28.97", user="wang")
    assert store.version() == before
    # a demo complaint (no extra columns written yet on it) can be moved on purpose
    C.place(store, "TS2007-001", "118.95", "28.97", user="wang", replace=True)
    assert store.read("complaints").set_index("id").loc["TS2007-001", "placed_by"] == "wang"
    # importing the register again keeps the place given since
    again = C.import_file(store, _register(tmp_path / "again.xlsx", ROWS), user="信访科", now=NOW)
    assert again.ok and sorted(again.updated_ids) == sorted(r[1] for r in ROWS)
    row = store.read("complaints").set_index("id").loc[cid]
    assert (row["geometry"].x, row["geometry"].y) == (point.x, point.y) and row["placed_by"] == "wang"
    assert not any(p.row == 3 and p.why_zh.startswith("未定位") for p in again.problems)
    assert list(C.unplaced(store.read("complaints"))["编号"]) == [UNPLACED[1]]


def test_form_takes_an_address_only_complaint(store):
    cid = C.create(store, {"received_on": "2007-06-30", "channel": "12345热线", "category": "环境保护-噪声",
                           "summary": "广场舞噪声", "address": "浮石街道某小区"}, user="信访科", now=NOW)
    row = store.read("complaints").set_index("id").loc[cid]
    assert row["address"] == "浮石街道某小区" and row["geometry"] is None and row["category"] == "noise"
    with pytest.raises(GeoError) as exc:  # neither a point, a site nor an address: refused
        C.create(store, {"received_on": "2007-06-30", "channel": "来信", "category": "水", "summary": "x"},
                 user="信访科", now=NOW)
    assert "缺少位置" in exc.value.zh


# --- the command line -------------------------------------------------------------------------

def test_cli_imports_lists_and_places(tmp_path):
    dst = tmp_path / "s.gpkg"
    shutil.copyfile(DEMO, dst)
    run = lambda *a: subprocess.run([sys.executable, "-m", "geo", *a, "--store", str(dst)], cwd=ROOT,  # noqa: E731
                                    capture_output=True, text=True)
    bad = _register(tmp_path / "bad.xlsx", [*ROWS, BAD])
    res = run("complaints", "import", "--file", str(bad), "--crs", "wgs84", "--user", "信访科")
    assert res.returncode == 1 and "传真" in res.stderr and "nothing was written" in res.stderr
    assert len(open_store(dst).read("complaints")) == 36
    res = run("complaints", "import", str(_register(tmp_path / "ok.xlsx", ROWS)), "--datum", "wgs84",
              "--user", "信访科")
    assert res.returncode == 0, res.stderr
    res = run("complaints", "list", "--unplaced")
    assert res.returncode == 0 and [ln.split("\t")[0] for ln in res.stdout.splitlines()[1:]] == UNPLACED
    res = run("complaints", "place", UNPLACED[1], "--lon", "118.95", "--lat", "28.97", "--user", "信访科")
    assert res.returncode == 0, res.stderr
    row = open_store(dst).read("complaints").set_index("id").loc[UNPLACED[1]]
    assert (row["geometry"].x, row["geometry"].y) == (118.95, 28.97) and row["placed_by"] == "信访科"


# --- the complaints page ----------------------------------------------------------------------

USERS = {"li": ("inspector-pw", "inspector"), "wang": ("planner-pw", "planner")}


@pytest.fixture
def env(page_env, tmp_path):
    """The demo with :data:`USERS` (tests/conftest.py) and the register of :data:`ROWS` imported."""
    store = page_env(USERS)
    C.import_file(store, _register(tmp_path / "12345.xlsx", ROWS), user="信访科", now=NOW)
    st.cache_resource.clear()  # the import changed the store the page caches
    st.cache_data.clear()
    return store


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / "complaints.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def test_page_lists_unplaced_and_a_planner_places_one(env):
    at = _page()
    assert "未定位（2 件）" in [str(h.value) for h in at.subheader]
    listed = next(d.value for d in at.dataframe if "地址" in d.value.columns and "承办单位" in d.value.columns
                  and len(d.value) == 2)
    assert list(listed["编号"]) == UNPLACED and listed["地址"].iat[0] == "衢江区樟潭街道沈家村村口"
    assert "另有 2 件未定位" in texts(at)
    assert not [s for s in at.selectbox if s.key == "cw_p_id"]  # reading needs no login; placing does
    at = sign_in(at, "li", USERS["li"][0], prefix="cw_")  # an inspector may not place complaints
    assert not [s for s in at.selectbox if s.key == "cw_p_id"]
    at = _page()
    at = sign_in(at, "wang", USERS["wang"][0], prefix="cw_")
    at.selectbox(key="cw_p_id").set_value(UNPLACED[1])
    at.text_input(key="cw_p_lon").input("118.95")
    at.text_input(key="cw_p_lat").input("28.97")
    at.selectbox(key="cw_p_datum").set_value("wgs84")
    next(b for b in at.button if b.label == "保存位置").click()
    at.run()
    assert not at.exception, at.exception
    assert any(f"已定位 {UNPLACED[1]}" in str(s.value).replace("\\", "") for s in at.success)  # markdown-escaped
    row = env.read("complaints").set_index("id").loc[UNPLACED[1]]
    assert (row["geometry"].x, row["geometry"].y) == (118.95, 28.97) and row["placed_by"] == "wang"
    assert "未定位（1 件）" in [str(h.value) for h in at.subheader]
    # outside the district: refused on the page, nothing written
    before = env.version()
    at.text_input(key="cw_p_lon").input("121.47")
    at.text_input(key="cw_p_lat").input("31.23")
    next(b for b in at.button if b.label == "保存位置").click()
    at.run()
    assert any("不在本区" in str(e.value) for e in at.error) and env.version() == before


@pytest.mark.parametrize("page", ["wall.py", "assess.py"])
def test_pages_that_count_complaints_open_with_unplaced_ones(env, page):
    assert C.is_unplaced(env.read("complaints")).sum() == 2
    at = AppTest.from_file(str(ROOT / "views" / page), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
