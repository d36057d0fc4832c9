"""Every file a person receives states what it is: title, rule and parameters, as-of date, data version,
generated when and by whom, software version; command-line CSVs keep their machine columns (and offer
``--labels zh``), with the statement in a sibling note."""
from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from geo import __version__
from geo.__main__ import main
from geo.io.writers import short_version
from geo.store import open_store
from tests.sheets import csv_lead_and_table, header_block, read_sheet

MACHINE_COLUMNS = ["layer", "id", "name", "township", "distance_m", "water_id", "water_name"]


def _note(path) -> dict:
    text = path.with_name(path.name + ".meta.txt").read_text(encoding="utf-8")
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def test_geo_buffer_xlsx_states_its_limit_and_as_of_date(demo_store, tmp_path):
    """Issue 15: the riverside xlsx from ``geo buffer --out F.xlsx`` states its limit and as-of date inside."""
    out = tmp_path / "沿河.xlsx"
    assert main(["buffer", "--store", str(demo_store), "--out", str(out)]) == 0
    block = header_block(out, "河岸缓冲")
    assert block["标题"] == "沿河200米缓冲区内在管点位清单"
    assert block["限值（米）"] == "200" and block["截至日期"] == "2007-06-30"  # the demo's as-of date
    assert "200 米" in block["规则"] and "WGS84" in block["坐标"] and "中心线距离减半河宽" in block["距离算法"]
    assert block["数据版本"] == short_version(open_store(demo_store).version())
    assert block["数据版本标识"] == open_store(demo_store).version()  # the token: on the 说明 sheet only
    assert "命令行" in block["生成人"] and block["生成时间"][:4].isdigit()
    assert block["软件版本"] == f"青山 Qingshan {__version__}"
    table = read_sheet(out, "河岸缓冲")
    assert len(table) == 29 and "距水体距离(米)" in table.columns  # the demo's 29 riverside violations
    explained = dict(zip(read_sheet(out, "说明")["项目"], read_sheet(out, "说明")["内容"]))
    assert explained["限值（米）"] == "200" and explained["截至日期"] == "2007-06-30"
    # another limit and date are stated as such
    assert main(["buffer", "--store", str(demo_store), "--distance", "300", "--as-of", "2007-03-31",
                 "--out", str(out)]) == 0
    block = header_block(out, "河岸缓冲")
    assert block["限值（米）"] == "300" and block["截至日期"] == "2007-03-31"


def test_geo_buffer_csv_dialects(demo_store, tmp_path):
    machine = tmp_path / "v.csv"
    assert main(["buffer", "--store", str(demo_store), "--out", str(machine)]) == 0
    data = machine.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")  # plain UTF-8, first line the documented columns
    header = next(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert header[:7] == MACHINE_COLUMNS
    df = pd.read_csv(machine, dtype={"id": str})
    assert set(df["layer"]) <= {"farms", "enterprises", "kilns"} and len(df) == 29
    note = _note(machine)  # the statement beside the file, where a script's parser never sees it
    assert note["限值（米）"] == "200" and note["截至日期"] == "2007-06-30" and note["软件版本"].startswith("青山")
    people = tmp_path / "v_zh.csv"
    assert main(["buffer", "--store", str(demo_store), "--labels", "zh", "--out", str(people)]) == 0
    raw = people.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lead, table = csv_lead_and_table(raw)
    assert lead["限值（米）"] == "200" and lead["截至日期"] == "2007-06-30"
    assert {"图层", "名称", "状态"} <= set(table.columns) and set(table["图层"]) <= {"养殖场", "企业", "石灰窑（棚）"}
    assert not {"farms", "treating", "True"} & set(table.astype(str).stack())


def test_geo_route_files_state_the_plan(demo_store, tmp_path):
    xlsx, machine, people = tmp_path / "r.xlsx", tmp_path / "r.csv", tmp_path / "r_zh.csv"
    base = ["route", "--store", str(demo_store), "--select", "sampling,committed", "--time-limit", "1"]
    assert main(base + ["--out", str(xlsx)]) == 0
    block = header_block(xlsx, "巡查清单")
    assert block["巡查日期"] == "2007-06-30" and block["截至日期"] == "2007-06-30"
    assert "在产企业排口采样" in block["巡查对象"] and block["坐标"].startswith("WGS84")
    assert "紧急程度" in block["规则"] and block["数据版本"] == short_version(open_store(demo_store).version())
    assert main(base + ["--out", str(machine)]) == 0
    assert next(csv.reader(io.StringIO(machine.read_text(encoding="utf-8"))))[:4] == ["team", "order", "arrive",
                                                                                      "depart"]
    assert _note(machine)["巡查日期"] == "2007-06-30"
    assert main(base + ["--labels", "zh", "--datum", "gcj02", "--out", str(people)]) == 0
    lead, table = csv_lead_and_table(people.read_bytes())
    assert lead["坐标"].startswith("GCJ-02") and list(table.columns[:3]) == ["组别", "序号", "预计到达"]


def test_geo_water_latest_states_the_standards(demo_store, tmp_path):
    out = tmp_path / "w.xlsx"
    assert main(["water", "--store", str(demo_store), "--out", str(out)]) == 0
    block = header_block(out, "水质")
    assert "GB 3838-2002" in block["规则"] and "GB 8978-1996" in block["规则"]
    assert block["截至日期"] == "2007-06-30" and block["数据版本"] == short_version(open_store(demo_store).version())
    table = read_sheet(out, "水质")
    outfalls = table[table["kind"] == "outfall"]
    assert len(outfalls) == 4 and outfalls["class"].isna().all() and set(outfalls["verdict"]) <= {"达标", "超标"}


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_layer_export_states_layer_date_and_version(demo_store, tmp_path, suffix):
    out = tmp_path / f"k.{suffix}"
    assert main(["export", "--store", str(demo_store), "--layer", "kilns", "--out", str(out)]) == 0
    meta = header_block(out, "石灰窑（棚）") if suffix == "xlsx" else csv_lead_and_table(out.read_bytes())[0]
    assert meta["标题"] == "石灰窑（棚）数据导出" and meta["截至日期"] == "2007-06-30"
    assert meta["数据版本"] == short_version(open_store(demo_store).version()) and meta["软件版本"].startswith("青山")


# --- the casework files state what they are too ------------------------------------------------

def test_assessment_circular_and_site_file_state_what_they_are(demo_store, tmp_path):
    """The circular (xlsx + PDF) and a site's file name their rule, date, data version and software."""
    import subprocess

    from openpyxl import load_workbook

    from geo.cli import main

    xlsx, pdf, site = tmp_path / "通报.xlsx", tmp_path / "通报.pdf", tmp_path / "档案.pdf"
    assert main(["assess", "--store", str(demo_store), "--year", "2007", "--as-of", "2007-06-30",
                 "--format", "xlsx", "--out", str(xlsx), "--circular", str(pdf)]) == 0
    assert main(["site", "enterprises", "E001", "--store", str(demo_store), "--out", str(site)]) == 0
    wb = load_workbook(xlsx)
    notes = {r[0].value: r[1].value for r in wb["说明"].iter_rows() if r[0].value}
    assert notes["截至日期"] == "2007-06-30" and "一票否决" in notes["规则"] and notes["数据版本"]
    for f in (pdf, site):
        txt = subprocess.run(["pdftotext", "-layout", str(f), "-"], capture_output=True, text=True, check=True).stdout
        assert "截至日期" in txt and "数据版本" in txt and "软件版本" in txt, txt[:400]
