"""One truth for outfalls (issue 25): every surface that shows an outfall's judgment says the same thing.

The site file (一企一档: its data, its page /site and its PDF), the water page, the wall and the briefing are
opened on the shipped demo, and what each says of the outfalls of 衢州德隆化工 (E009) and 衢州源金化工 (E010) is
compared with each other and with an independent figure: the raw readings of the outfall's latest sampling
against GB 8978-1996 Table 4 grade 一级 as printed in the standard (typed here, not read from the project's
table), 超标倍数 = (C − C0) / C0.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.store import open_store
from tests.conftest import ROOT

AS_OF = "2007-06-30"  # the demo's report date (meta as_of): the day the pages open on
SITES = ("E009", "E010")

#: GB 8978-1996 污水综合排放标准, Table 4 (units built after 1998-01-01), grade 一级, row 其他排污单位 where
#: the table has industry rows: mg/L. Grade 一级 applies to discharges into GB 3838 class Ⅲ waters (§4.1.1).
GB8978_GRADE1 = {"COD": 100.0, "NH3-N": 15.0, "TP": 0.5, "VP": 0.5, "CN": 0.5}  # TP: 磷酸盐（以P计）
PH_RANGE = (6.0, 9.0)

MULTIPLE = re.compile(r"([A-Za-z0-9-]+) 超标([0-9.]+)倍")


def exceeding(text: str) -> dict[str, float]:
    """``COD 超标0.52倍、TP 超标4.11倍`` → ``{"COD": 0.52, "TP": 4.11}``."""
    return {p: float(m) for p, m in MULTIPLE.findall(text or "")}


def close(got: dict[str, float], want: dict[str, float]) -> bool:
    """Same parameters, and multiples equal as printed (two decimals, or two significant digits below 0.1)."""
    return set(got) == set(want) and all(abs(got[p] - want[p]) <= max(0.006, 0.06 * want[p]) for p in want)


def pdf_text(pdf: bytes, tmp_path, name: str, *, layout: bool = False) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    path = tmp_path / name
    path.write_bytes(pdf)
    args = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def truth(demo_store) -> dict:
    """Per outfall of E009 and E010, from the raw readings: name, day, ``{parameter: multiple}`` over GB 8978 一级."""
    t = open_store(demo_store).read_many(["sampling_points", "readings", "meta"])
    meta = dict(zip(t["meta"]["key"], t["meta"]["value"]))
    assert str(meta.get("as_of", ""))[:10] == AS_OF
    sp = t["sampling_points"]
    mine = sp[(sp["kind"] == "outfall") & sp["feature_id"].isin(SITES)]
    assert set(mine["feature_id"]) == set(SITES)
    assert (mine["target_class"] == 3).all()  # into class Ⅲ waters: grade 一级
    r = t["readings"]
    assert (r["sampled_at"] < pd.Timestamp(AS_OF) + pd.Timedelta(days=1)).all()  # nothing after the report date
    out = {}
    for pid, name, site in zip(mine["id"], mine["name"], mine["feature_id"]):
        mr = r[r["point_id"] == pid]
        day = mr["sampled_at"].dt.normalize().max()
        last = mr[mr["sampled_at"].dt.normalize() == day]
        over, values = {}, {}
        for p, v in zip(last["parameter"], last["value"]):
            values[p] = float(v)
            if p == "pH":
                assert PH_RANGE[0] <= v <= PH_RANGE[1]  # (a pH outside would be 超标 without a multiple)
            elif p in GB8978_GRADE1 and v > GB8978_GRADE1[p]:
                over[p] = (v - GB8978_GRADE1[p]) / GB8978_GRADE1[p]
        out[pid] = {"site": site, "name": name, "day": day.strftime("%Y-%m-%d"), "over": over, "values": values}
    # the case of the issue: E009's TP 2.555 mg/L is 4.11 times over 0.5 mg/L
    e009 = next(v for v in out.values() if v["site"] == "E009")
    assert e009["values"]["TP"] == pytest.approx(2.555, abs=5e-4) and e009["over"]["TP"] == pytest.approx(4.11, abs=5e-3)
    return out


def _by_name(truth, name):
    return next(v for v in truth.values() if v["name"] == name)


def _site_of(truth, site):
    return {pid: v for pid, v in truth.items() if v["site"] == site}


# --- the site file: data, PDF, page --------------------------------------------------------------------------------

@pytest.mark.parametrize("site", SITES)
def test_site_file_judges_outfalls_as_gb8978_does(demo_store, truth, site):
    from geo.sitefile import site_file

    f = site_file(open_store(demo_store), "enterprises", site)
    for pid, want in _site_of(truth, site).items():
        rows = f.outfalls[f.outfalls["排口"] == want["name"]]
        assert set(rows["指标"]) == set(want["values"]), rows
        by = rows.set_index("指标")
        # every parameter judged (none left without a verdict), 超标 exactly where the standard says
        assert {p for p, v in by["判定"].items() if v == "超标"} == set(want["over"]), by
        assert set(by["判定"]) <= {"达标", "超标"}
        # the limits are the standard's
        for p, lim in GB8978_GRADE1.items():
            assert float(by.loc[p, "限值"]) == lim, (p, by.loc[p, "限值"])
        assert by.loc["pH", "限值"] == "6–9"
        for p, m in want["over"].items():
            assert close(exceeding(by.loc[p, "超标项目（超标倍数）"]), {p: m}), by.loc[p]
            n_over = int(by.loc[p, "超标次数/采样次数"].split("/")[0])
            assert n_over >= 1  # today's code said 0/26 for E009's TP
        assert (by["采样日期"] == want["day"]).all()
        summary = f.outfall_summary[f.outfall_summary["排口"] == want["name"]]
        assert len(summary) == 1
        s = summary.iloc[0]
        assert s["判定"] == ("超标" if want["over"] else "达标") and s["执行标准"] == "GB 8978-1996 一级"
        assert close(exceeding(s["超标项目（超标倍数）"]), want["over"]) and s["采样日期"] == want["day"]


@pytest.mark.parametrize("site", SITES)
def test_site_file_pdf_prints_the_same_judgment(demo_store, truth, site, tmp_path):
    from geo.sitefile import site_file, to_pdf

    f = site_file(open_store(demo_store), "enterprises", site)  # (no reading after AS_OF: see truth)
    text = pdf_text(to_pdf(f, as_of=AS_OF), tmp_path, f"{site}.pdf")
    lines = [ln.strip() for ln in text.splitlines()]
    assert "GB 8978-1996 表4 一级标准" not in text  # the old table's heading (one grade for every outfall)
    for want in _site_of(truth, site).values():
        # the per-outfall line, in the water page's words, and each exceeding parameter on its own row
        summary = [ln for ln in lines if MULTIPLE.search(ln) and close(exceeding(ln), want["over"])]
        assert summary, text
        for p, m in want["over"].items():
            assert any(close(exceeding(ln), {p: m}) for ln in lines), (p, text)


def test_site_page_shows_the_same_judgment(app_store, truth):
    for site in SITES:
        at = AppTest.from_file(str(ROOT / "views" / "site.py"), default_timeout=120)
        at.query_params["layer"] = "enterprises"
        at.query_params["id"] = site
        at.run()
        assert not at.exception, at.exception
        tables = [df.value for df in at.dataframe]
        detail = next(t for t in tables if "超标次数/采样次数" in t.columns)
        for want in _site_of(truth, site).values():
            d = detail[(detail["排口"] == want["name"]) & (detail["判定"] == "超标")]
            assert set(d["指标"]) == set(want["over"]), detail
            assert close({p: exceeding(x)[p] for p, x in zip(d["指标"], d["超标项目（超标倍数）"])}, want["over"])
            summary = next(t for t in tables if "执行标准" in t.columns)
            s = summary[summary["排口"] == want["name"]].iloc[0]
            assert s["判定"] == "超标" and close(exceeding(s["超标项目（超标倍数）"]), want["over"])


# --- the water page, the wall, the briefing --------------------------------------------------------------------

def test_water_page_says_what_the_standard_says(app_store, truth):
    at = AppTest.from_file(str(ROOT / "views" / "water.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert str(at.date_input[0].value) == AS_OF
    outs = next(df.value.data if hasattr(df.value, "data") else df.value for df in at.dataframe
                if "执行标准" in (df.value.data if hasattr(df.value, "data") else df.value).columns)
    by = outs.set_index("点位")
    for pid, want in truth.items():
        assert by.loc[pid, "判定"] == "超标" and by.loc[pid, "执行标准"] == "GB 8978-1996 一级"
        assert close(exceeding(by.loc[pid, "超标项目（超标倍数）"]), want["over"]), by.loc[pid]


def test_wall_says_what_the_standard_says(app_store, truth):
    at = AppTest.from_file(str(ROOT / "views" / "wall.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    strip = " ".join(el.proto.body for el in at.get("html"))
    # the alert strip names the worst outfalls with their exceedances
    assert "排污口超标" in strip, strip
    items = {w["name"]: m.group(1) for w in truth.values()
             if (m := re.search(re.escape(w["name"]) + "：([^<]+)", strip))}
    for name, text in items.items():
        assert close(exceeding(text), _by_name(truth, name)["over"]), text
    assert any(w["site"] == "E009" for w in map(lambda n: _by_name(truth, n), items)), strip  # the demo's worst
    # the map: every outfall's judgment text
    src = at.get("iframe")[0].proto.srcdoc
    for pid, want in truth.items():
        m = re.search(rf'"{pid}","排污口".*?"(超标|达标)（GB 8978-1996 一级：([^）"]*)）"', src)
        assert m, pid
        assert m.group(1) == "超标" and close(exceeding(m.group(2)), want["over"]), m.group(0)


def test_briefing_says_what_the_standard_says(demo_store, truth, tmp_path):
    from geo import briefing

    frames = open_store(demo_store).read_many()
    text = pdf_text(briefing.render_pdf(frames, AS_OF), tmp_path, "briefing.pdf", layout=True)
    for want in truth.values():
        rows = [ln for ln in text.splitlines() if want["name"] in ln and "GB 8978-1996" in ln]
        assert len(rows) == 1, (want["name"], rows)
        assert " 超标 " in rows[0] and close(exceeding(rows[0]), want["over"]), rows[0]


def test_every_surface_uses_the_one_judgment(demo_store, truth):
    """The functions behind the surfaces, side by side: one row per outfall, one text."""
    from geo import alerts, discharge, water
    from geo.sitefile import site_file

    store = open_store(demo_store)
    frames = store.read_many(["sampling_points", "readings"])
    latest = discharge.latest_outfalls(frames, as_of=AS_OF).set_index("id")
    page = water.latest_assessment(frames, as_of=AS_OF).set_index("id")  # water page, wall, briefing
    wall_items = alerts.outfalls(frames, pd.Timestamp(AS_OF)).items
    for pid, want in truth.items():
        f = site_file(store, "enterprises", want["site"], as_of=AS_OF)
        in_file = f.outfall_summary.set_index("排口").loc[want["name"], "超标项目（超标倍数）"]
        assert in_file == latest.loc[pid, "exceeding"] == page.loc[pid, "exceeding"]
        assert close(exceeding(in_file), want["over"])
        shown = [i for i in wall_items if i.startswith(want["name"] + "：")]
        assert not shown or shown[0].split("：", 1)[1].split("　")[0] == in_file
