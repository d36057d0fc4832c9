"""``geo check``: every kind of defect is found, the shipped demo passes."""
import subprocess
import sys

import pyogrio
import shapely

from geo.check import check_store
from geo.store import GpkgStore

from tests.conftest import DEMO, ROOT


def _rewrite(path, table, gdf, **kw):
    pyogrio.write_dataframe(gdf, path, layer=table, layer_options={"OVERWRITE": "YES"}, **kw)


def _problems(path, table=None):
    found = check_store(GpkgStore(path))
    return [p for p in found if p.severity == "error" and (table is None or p.table == table)]


def test_shipped_demo_passes():
    assert _problems(DEMO) == []
    out = subprocess.run([sys.executable, "-m", "geo", "check", "--store", str(DEMO)], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_missing_column(demo_store):
    farms = GpkgStore(demo_store).read_raw("farms").drop(columns=["species"])
    _rewrite(demo_store, "farms", farms)
    assert any(p.column == "species" and "missing" in p.why for p in _problems(demo_store, "farms"))


def test_bad_status(demo_store):
    e = GpkgStore(demo_store).read_raw("enterprises")
    e.loc[3, "status"] = "closing-soon"
    _rewrite(demo_store, "enterprises", e)
    found = _problems(demo_store, "enterprises")
    assert any(p.row_id == e.id[3] and p.column == "status" for p in found)


def test_duplicate_id(demo_store):
    k = GpkgStore(demo_store).read_raw("kilns")
    k.loc[5, "id"] = k.id[4]
    _rewrite(demo_store, "kilns", k)
    assert sum(p.why == "duplicate id" for p in _problems(demo_store, "kilns")) == 2


def test_invalid_and_empty_geometry(demo_store):
    w = GpkgStore(demo_store).read_raw("waterbodies")
    bowtie = shapely.Polygon([(118.9, 28.6), (118.95, 28.65), (118.95, 28.6), (118.9, 28.65), (118.9, 28.6)])
    w = w.set_geometry([shapely.MultiPolygon([bowtie]), shapely.MultiPolygon()], crs=4326)
    _rewrite(demo_store, "waterbodies", w, promote_to_multi=True)
    found = _problems(demo_store, "waterbodies")
    assert any("invalid geometry" in p.why for p in found)
    assert any("missing or empty" in p.why for p in found)


def test_site_outside_every_township(demo_store):
    f = GpkgStore(demo_store).read_raw("farms")
    f.loc[0, "geometry"] = shapely.Point(121.5, 31.2)  # Shanghai
    _rewrite(demo_store, "farms", f)
    found = _problems(demo_store, "farms")
    assert [p.row_id for p in found if "outside every township" in p.why] == [f.id[0]]


def test_wrong_crs(demo_store):
    e = GpkgStore(demo_store).read_raw("enterprises").to_crs(3857)
    _rewrite(demo_store, "enterprises", e)
    found = _problems(demo_store, "enterprises")
    assert any("EPSG:3857" in p.why for p in found)
    out = subprocess.run([sys.executable, "-m", "geo", "check", "--store", str(demo_store)], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 1 and "EPSG:3857" in out.stdout


def test_status_differs_from_latest_event(demo_store):
    f = GpkgStore(demo_store).read_raw("farms")
    f.loc[2, "status"] = "accepted"
    _rewrite(demo_store, "farms", f)
    assert any(p.row_id == f.id[2] and "latest event" in p.why for p in _problems(demo_store, "farms"))


def test_missing_table(demo_store):
    import sqlite3

    # A GeoPackage is SQLite: drop the layer the way a broken export would leave it.
    with sqlite3.connect(demo_store) as con:
        con.execute("DROP TABLE readings")
        con.execute("DELETE FROM gpkg_contents WHERE table_name = 'readings'")
    assert any(p.table == "readings" and p.why == "table missing" for p in _problems(demo_store))


def test_bad_numbers_and_codes(demo_store):
    p = GpkgStore(demo_store).read_raw("sampling_points")
    p["target_class"] = p["target_class"].astype(object)
    p.loc[0, "target_class"] = 7
    _rewrite(demo_store, "sampling_points", p)
    found = _problems(demo_store, "sampling_points")
    assert any(x.column == "target_class" and x.row_id == p.id[0] for x in found)
