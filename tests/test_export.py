"""``python -m geo export``: the data page's downloads from a shell."""
import json
import subprocess
import sys

import openpyxl
import pandas as pd

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
    ws = openpyxl.load_workbook(tmp_path / "farms.xlsx").active
    headers = [c.value for c in ws[1]]
    assert "养殖场名称" in headers and "经度" in headers
    assert ws.max_row == 1 + len(open_store(demo_store).read("farms"))
    csv = pd.read_csv(tmp_path / "farms.csv", encoding="utf-8-sig")
    assert "状态" in csv.columns and "治理中" in set(csv["状态"])
    gj = json.loads((tmp_path / "farms.geojson").read_text(encoding="utf-8"))
    assert len(gj["features"]) == ws.max_row - 1


def test_bad_requests_write_nothing(demo_store, tmp_path):
    r = _run("--store", str(demo_store), "--out", str(tmp_path / "x.pdf"))
    assert r.returncode == 2 and "错误" in r.stderr and "error" in r.stderr
    r = _run("--store", str(demo_store), "--out", str(tmp_path / "x.xlsx"))
    assert r.returncode == 2 and "--layer" in r.stderr
    r = _run("--store", str(demo_store), "--layer", "readings", "--out", str(tmp_path / "r.geojson"))
    assert r.returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.gpkg"]  # only the store itself
