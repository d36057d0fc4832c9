"""Control characters in what bureaus send and in what a store holds (issue 26 item 5).

ESC, BEL and the bidi controls (U+202A–U+202E, U+2066–U+2069) are removed at intake by every importer —
ledgers, complaints registers, lab files, the platform's exports — and each cleaned cell is reported (a
warning naming row and column; an id holding one is refused). Text already in a store is written into
GPX/KML without the characters XML cannot hold, and the command line never hands a terminal a raw escape.

Expected values are independent of the code under test: what must be left is worked out here with
``unicodedata.category`` (every Cc character, TAB and LF aside in notes) and XML is checked by parsing it.
"""
from __future__ import annotations

import datetime as dt
import shutil
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from geo import complaints as C
from geo import intake
from geo.cli import main
from geo.intake import lab, platform
from geo.store import Change, open_store
from tests.conftest import DEMO

NOW = dt.datetime(2007, 7, 2, 9, 30)
TODAY = dt.date(2007, 7, 2)
#: The tester's name: red colour on, then a bell.
NAME = "\x1b[31m厂\x07"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
#: Every control character of category Cc and every bidi control.
EVERY_CONTROL = "".join(chr(c) for c in (*range(0x20), *range(0x7f, 0xa0))) + BIDI


def _no_controls(text: str, *, multiline: bool = False) -> bool:
    """Whether ``text`` holds no control character (TAB and LF allowed in a multi-line field)."""
    allowed = {"\t", "\n"} if multiline else set()
    return not any((unicodedata.category(ch) == "Cc" and ch not in allowed) or ch in BIDI for ch in text)


@pytest.fixture
def store(tmp_path):
    dst = tmp_path / "store.gpkg"
    shutil.copyfile(DEMO, dst)
    return open_store(dst)


def _rename(store, layer: str, fid: str, name: str) -> None:
    """A stored name written as it is (no importer in between), as an old store or another tool may hold it."""
    df = store.read(layer)
    df["name"] = df["name"].astype(object)
    df.loc[df["id"] == fid, "name"] = name
    store.commit([Change(layer, df[df["id"] == fid], "upsert")])


# --- the one cleaning ------------------------------------------------------------------------

def test_strip_controls_removes_every_control_and_keeps_the_rest():
    from geo.io.cells import strip_controls

    cells = pd.Series([NAME, "甲" + EVERY_CONTROL + "乙", "行一\r\n行二\t尾\x1b", "正常", None, 3.5, "\u200b零宽"],
                      dtype=object)
    one_line, removed = strip_controls(cells)
    assert removed.tolist() == [True, True, True, False, False, False, False]
    assert one_line[0] == "[31m厂"
    # white-space controls become one space (words typed on two lines stay apart), the others go
    assert one_line[1] == "甲 乙" and one_line[2] == "行一 行二 尾"
    assert one_line[3] == "正常" and one_line[4] is None and one_line[5] == 3.5
    assert one_line[6] == "\u200b零宽"  # a zero-width space is no control (category Cf, not bidi)
    assert all(_no_controls(v) for v in one_line if isinstance(v, str))
    notes, removed = strip_controls(cells, multiline=True)
    assert notes[2] == "行一\n行二\t尾"  # CR LF → LF (a line end), TAB kept, ESC removed
    assert removed.tolist()[:4] == [True, True, True, False]
    assert all(_no_controls(v, multiline=True) for v in notes if isinstance(v, str))
    # a line end alone is no control to report
    _, removed = strip_controls(pd.Series(["甲\r\n乙"], dtype=object), multiline=True)
    assert not removed.any()


def test_xml_text_keeps_what_xml_can_hold():
    from geo.io.xmlsafe import xml_frame, xml_text

    assert xml_text(NAME) == "[31m厂"
    assert xml_text("换行\n名称\t制表\r") == "换行\n名称\t制表\r"  # legal in XML 1.0: kept as written
    kept = xml_text("".join(chr(c) for c in range(0x20)) + "\ufffe\uffff" + "甲")
    assert kept == "\t\n\r甲"
    frame = pd.DataFrame({"name": [NAME, None, "ok"], "n": [1, 2, 3]})
    out = xml_frame(frame)
    assert out["name"].tolist()[0] == "[31m厂" and out["name"].tolist()[2] == "ok" and pd.isna(out["name"][1])
    assert out["n"].tolist() == [1, 2, 3]
    assert xml_frame(out) is out  # nothing to drop: the frame itself


# --- writers: GPX and KML of text already stored ---------------------------------------------

@pytest.mark.parametrize("suffix", [".kml", ".gpx"])
def test_route_file_of_a_stored_name_with_escapes_is_well_formed(store, tmp_path, suffix, capsys):
    fid = store.read("enterprises")["id"].iat[0]
    _rename(store, "enterprises", fid, NAME)
    out = tmp_path / f"r{suffix}"
    assert main(["route", "--store", str(tmp_path / "store.gpkg"), "--ids", fid, "--time-limit", "1",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    root = ET.parse(out).getroot()  # well-formed XML
    names = [e.text for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "name" and e.text]
    assert any(n.endswith(" [31m厂") for n in names), names
    raw = out.read_text(encoding="utf-8")
    assert "\x1b" not in raw and "\x07" not in raw


# --- the terminal --------------------------------------------------------------------------

def test_command_output_never_carries_a_raw_escape(store, tmp_path, capsys):
    c = store.read("complaints")
    c["summary"] = c["summary"].astype(object)
    c.loc[c.index[0], "summary"] = f"{NAME}投诉{BIDI[4]}内容"
    store.commit([Change("complaints", c.iloc[[0]], "upsert")])
    assert main(["complaints", "list", "--store", str(tmp_path / "store.gpkg")]) == 0
    out, err = capsys.readouterr()
    assert "\\x1b[31m厂\\x07投诉\\u202e内容" in out  # shown, inert
    assert _no_controls(out, multiline=True) and _no_controls(err, multiline=True)
    from geo.cli import inert

    assert inert("a\tb\nc\x1b\u2066") == "a\tb\nc\\x1b\\u2066"


# --- importers: removed and reported, ids refused ---------------------------------------------

def _ledger(path: Path, rows) -> Path:
    header = ["编号", "企业名称", "经度", "纬度", "所属乡镇", "行业", "状态", "备注"]
    text = "\n".join(",".join("" if v is None else f'"{v}"' for v in r) for r in [header, *rows]) + "\n"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_ledger_cells_are_cleaned_and_reported_and_an_id_is_refused(store, tmp_path):
    f = _ledger(tmp_path / "l.csv", [
        ["N001", NAME, 118.95, 28.98, "樟潭街道", "化\u202e工", "在产", "第一行\r\n第二行\t\x07完"],
        ["N\x1b002", "乙厂", 118.95, 28.98, "樟潭街道", "化工", "在产", None],
    ])
    res = intake.import_file(store, "enterprises", f, datum="wgs84", user="测试员", now=NOW, today=TODAY,
                             dry_run=True)
    warned = {(p.row, p.column) for p in res.problems if p.severity == "warning" and "控制字符" in p.why_zh}
    assert {(2, "企业名称"), (2, "行业"), (2, "备注")} <= warned
    refused = [p for p in res.errors if "控制字符" in p.why_zh]
    assert [(p.row, p.column) for p in refused] == [(3, "编号")] and _no_controls(refused[0].id)
    assert not res.ok
    # the first row alone goes in, cleaned: the name as typed without its controls
    res = intake.import_file(store, "enterprises", _ledger(tmp_path / "m.csv", [
        ["N001", NAME, 118.95, 28.98, "樟潭街道", "化\u202e工", "在产", "第一行\r\n第二行\t\x07完"]]),
        datum="wgs84", user="测试员", now=NOW, today=TODAY)
    assert res.ok, res.errors
    row = store.read("enterprises").set_index("id").loc["N001"]
    assert row["name"] == "[31m厂" and row["industry"] == "化工"
    note = store.read("status_events").set_index("feature_id").loc["N001", "note"]
    assert "第一行\n第二行\t完" in note  # a note keeps its lines and tabs


def test_complaint_register_cells_are_cleaned_and_reported(store, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("编号,受理日期,来源,类别,内容,经度,纬度,处理结果\n"
                    f"TS-1,2007-06-20,来信,噪声,\"夜间{NAME}噪声\r\n第二段\",118.95,28.97,\n"
                    f"TS\x072,2007-06-21,来信,噪声,噪声,118.95,28.97,\n", encoding="utf-8")
    res = C.import_file(store, path, user="信访科", now=NOW, dry_run=True)
    warned = [(p.row, p.column) for p in res.problems if p.severity == "warning" and "控制字符" in p.why_zh]
    assert warned == [(2, "内容")]
    assert [(p.row, p.column) for p in res.errors] == [(3, "编号")]
    path.write_text("编号,受理日期,来源,类别,内容,经度,纬度\n"
                    f"TS-1,2007-06-20,来信,噪{BIDI[4]}声,\"夜间{NAME}噪声\r\n第二段\",118.95,28.97\n", encoding="utf-8")
    res = C.import_file(store, path, user="信访科", now=NOW)
    assert res.ok, res.errors
    row = store.read("complaints").set_index("id").loc["TS-1"]
    assert row["summary"] == "夜间[31m厂噪声\n第二段" and row["category"] == "noise"


def test_lab_file_cells_are_cleaned_and_reported(store, tmp_path):
    pid = store.read("sampling_points")["id"].iat[0]
    f = tmp_path / "lab.csv"
    f.write_text("点位,采样时间,指标,数值,单位\n"
                 f"{pid}\x07,2007-06-20 09:00,氨\u202e氮,0.5,mg/L\n"
                 f"{pid},2007-06-20 09:00,总磷,0.1,mg/L\n", encoding="utf-8")
    res = lab.import_lab_file(store, f, user="化验室")
    assert res.written, [str(p) for p in res.findings]
    warned = sorted((p.row, p.column) for p in res.findings if "控制字符" in p.why_zh)
    assert warned == [(2, "指标"), (2, "点位")] and all(p.severity == "warning" for p in res.findings
                                                      if "控制字符" in p.why_zh)
    got = store.read("readings")
    assert ((got["point_id"] == pid) & (got["parameter"] == "NH3-N") & (got["sampled_at"] == "2007-06-20 09:00")).any()


def test_platform_export_cells_are_cleaned_and_reported(store, tmp_path):
    header = "断面名称,监测时间,溶解氧(mg/L),氨氮(mg/L),站点情况"
    rows = ["樟潭\x07断面,2007-06-21 20:00,8.1,0.077,维护\x1b", "樟潭断面,2007-06-21 21:00,7.9,0.08\u202e1,正常"]
    f = tmp_path / "p.csv"
    f.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode("utf-8"))
    before = len(store.read("readings"))
    res = platform.import_platform(store, f, user="平台")
    assert res.written, [str(p) for p in res.findings if p.severity == "error"]
    warned = sorted((p.row, p.column) for p in res.findings if "控制字符" in p.why_zh)
    assert warned == [(2, "断面名称"), (2, "站点情况"), (3, "氨氮(mg/L)")]
    got = store.read("readings").iloc[before:]
    assert len(got) == 4 and set(got["flag"].dropna()) == {"维护"}
    assert all(_no_controls(str(v)) for v in got.astype(str).to_numpy().ravel())
    assert got.loc[got["parameter"] == "NH3-N", "value"].round(3).tolist() == [0.077, 0.081]
