"""``python -m geo export``: the data page's downloads from a shell."""
import json
import subprocess
import sys

import openpyxl
import pandas as pd

from geo.io.writers import short_version
from geo.store import open_store

from tests.conftest import ROOT


def _run(*args):
    return subprocess.run([sys.executable, "-m", "geo", "export", *args], cwd=ROOT, capture_output=True, text=True)


def test_whole_store_as_geopackage_round_trips(demo_store, tmp_path):
    out = tmp_path / "copy.gpkg"
    r = _run("--store", str(demo_store), "--out", str(out))
    assert r.returncode == 0, r.stderr
    a, b = open_store(demo_store).read_many(), open_store(out).read_many()
    for t in a:
        pd.testing.assert_frame_equal(pd.DataFrame(a[t]), pd.DataFrame(b[t]))


def test_layer_as_xlsx_csv_geojson(demo_store, tmp_path):
    for suffix in ("xlsx", "csv", "geojson"):
        out = tmp_path / f"farms.{suffix}"
        r = _run("--store", str(demo_store), "--layer", "farms", "--out", str(out))
        assert r.returncode == 0, r.stderr
    from tests.sheets import csv_lead_and_table, header_block, read_sheet

    store = open_store(demo_store)
    sheet = read_sheet(tmp_path / "farms.xlsx", "养殖场")
    assert "养殖场名称" in sheet.columns and "经度" in sheet.columns
    assert len(sheet) == len(store.read("farms"))
    # the file states what it is: the layer, the store's as-of date and data version, who, the software
    block = header_block(tmp_path / "farms.xlsx", "养殖场")
    assert block["标题"] == "养殖场数据导出" and block["截至日期"] == "2007-06-30"
    assert block["数据版本"] == short_version(store.version()) and "命令行" in block["生成人"] and block["记录数"] == str(len(sheet))
    assert "说明" in openpyxl.load_workbook(tmp_path / "farms.xlsx").sheetnames
    lead, csv = csv_lead_and_table((tmp_path / "farms.csv").read_bytes())
    assert "状态" in csv.columns and "治理中" in set(csv["状态"]) and lead["标题"] == "养殖场数据导出"
    gj = json.loads((tmp_path / "farms.geojson").read_text(encoding="utf-8"))
    assert len(gj["features"]) == len(sheet)


def test_bad_requests_write_nothing(demo_store, tmp_path):
    r = _run("--store", str(demo_store), "--out", str(tmp_path / "x.pdf"))
    assert r.returncode == 2 and "错误" in r.stderr and "error" in r.stderr
    r = _run("--store", str(demo_store), "--out", str(tmp_path / "x.xlsx"))
    assert r.returncode == 2 and "--layer" in r.stderr
    r = _run("--store", str(demo_store), "--layer", "readings", "--out", str(tmp_path / "r.geojson"))
    assert r.returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.gpkg"]  # only the store itself
