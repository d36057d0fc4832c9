"""Casework, second part: the complaints map, site-file links from map popups, a route file becoming an
inspection (both backends, and the CLI), the phone's position as input, and the site PDF's attachments."""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import casework_ui as cw
from geo import attachments as ATT
from geo import complaints as C
from geo import inspections as I
from geo.errors import GeoError
from geo.inspection_route import from_route, read_route
from geo.patrol import PatrolParams, plan_from_store, to_csv, to_xlsx
from geo.sitefile import site_file, to_pdf
from geo.store import open_store
from layers import complaints as complaints_layer
from layers import enterprises, mapview, sampling_points
from layers import violations as violations_layer
from layers.base import PointLayer
from tests.conftest import DEMO, ROOT

DAY = pd.Timestamp("2007-06-30")


@pytest.fixture
def store(demo_each_backend):
    """The demo on each backend (tests/conftest.py)."""
    return demo_each_backend


def points_of(html: str) -> list[dict]:
    """The data of every point layer in a map's HTML (as the browser receives it)."""
    return [json.loads(m) for m in re.findall(r"QS\.points\((\{.*?\}), \{\}\)", html)]


def _complaints() -> gpd.GeoDataFrame:
    """Five complaints whose state on DAY is each of the four, plus one received after DAY."""
    d = pd.Timestamp
    rows = [  # id, received, due, handled, sensitive, layer, feature
        ("TS-A", d("2007-06-01"), d("2007-06-20"), None, True, "enterprises", "E001"),  # overdue
        ("TS-B", d("2007-06-15"), d("2007-06-30"), None, False, None, None),  # due today
        ("TS-C", d("2007-06-25"), d("2007-07-10"), None, False, "kilns", "KL001"),  # open
        ("TS-D", d("2007-06-02"), d("2007-06-17"), d("2007-06-10"), False, None, None),  # handled
        ("TS-E", d("2007-07-02"), d("2007-07-17"), None, False, None, None),  # not yet received on DAY
        ("TS-F", d("2007-06-01"), d("2007-06-10"), d("2007-07-05"), False, None, None),  # handled later: overdue
    ]
    df = pd.DataFrame(rows, columns=["id", "received_on", "due_on", "handled_on", "sensitive", "layer", "feature_id"])
    df["handled_on"] = pd.to_datetime(df["handled_on"])
    df = df.assign(channel="hotline", category="water", summary="夜间排污 <b>x</b>", result=None)
    pts = [shapely.Point(118.9 + 0.01 * i, 28.95) for i in range(len(df))]
    return gpd.GeoDataFrame(df, geometry=pts, crs=4326)


# --- complaints on the map ----------------------------------------------------------------

def test_handling_state_on_a_day():
    c = _complaints()
    state = C.handling_state(c, DAY)
    assert state.tolist()[:4] == ["overdue", "due_today", "open", "handled"]
    assert pd.isna(state.iat[4])  # received after the day: not on that day's map
    assert state.iat[5] == "overdue"  # handled only after the day: overdue on it
    assert C.handling_state(c, "2007-07-06").iat[5] == "handled"


def test_complaints_layer_colours_rings_and_links():
    c = _complaints()
    shown = c.assign(state=C.handling_state(c, DAY))
    m = mapview.new_map((118.8, 28.9, 119.0, 29.0))
    assert complaints_layer.add_to(m, shown.iloc[:0]) is None
    complaints_layer.add_to(m, shown)
    (data,) = points_of(mapview.to_html(m))
    ids = [r[0] for r in data["rows"]]
    assert "TS-E" not in ids and len(ids) == 5
    colour = {i: data["palette"][k] for i, k in zip(ids, data["c"])}
    assert colour["TS-A"] == colour["TS-F"] == complaints_layer.COLOURS["overdue"]
    assert colour["TS-B"] == complaints_layer.COLOURS["due_today"]
    assert colour["TS-C"] == complaints_layer.COLOURS["open"]
    assert colour["TS-D"] == complaints_layer.COLOURS["handled"]
    assert ids[0] == "TS-D" and set(ids[-2:]) == {"TS-A", "TS-F"}  # overdue drawn last, on top
    state_col = data["labels"].index("办理状态")
    assert {r[0]: r[state_col] for r in data["rows"]}["TS-B"] == "今日到期"
    # sensitive complaints carry a ring (the symbol language's highlight), not a cover
    assert dict(zip(ids, data["ring"])) == {"TS-A": 0, "TS-B": -1, "TS-C": -1, "TS-D": -1, "TS-F": -1}
    assert dict(zip(ids, data["site"])) == {"TS-A": ["enterprises", "E001"], "TS-B": None,
                                            "TS-C": ["kilns", "KL001"], "TS-D": None, "TS-F": None}
    assert data["siteUrl"] == "/site"
    items = complaints_layer.legend_items(shown["state"].value_counts().to_dict())
    assert items[0] == ("已超期（2）", complaints_layer.COLOURS["overdue"], "pin")


# --- site links from every popup ----------------------------------------------------------

def test_site_layers_link_every_point_to_its_file():
    demo = open_store(DEMO)
    e = demo.read("enterprises").head(5)
    m = mapview.new_map()
    enterprises.add_to(m, e)
    (data,) = points_of(mapview.to_html(m))
    assert data["site"] == [["enterprises", i] for i in e["id"]]


def test_outfalls_link_to_their_enterprise_and_sections_to_nothing():
    sp = open_store(DEMO).read("sampling_points")
    m = mapview.new_map()
    sampling_points.add_to(m, sp)
    (data,) = points_of(mapview.to_html(m))
    want = [["enterprises", o] if k == "outfall" and isinstance(o, str) else None
            for k, o in zip(sp["kind"], sp["feature_id"])]
    assert data["site"] == want and any(want) and not all(want)


def test_violation_popups_link_to_the_site():
    v = pd.DataFrame({"layer": ["farms", "kilns"], "id": ["F1", "K&1"], "name": ["甲", "乙"], "status_label": ["在养"] * 2,
                      "status": ["operating"] * 2,
                      "township": ["樟潭街道", None], "distance_m": [12.0, 50.0], "water_name": ["衢江", None],
                      "lon": [118.9, 118.91], "lat": [28.9, 28.91]})
    m = mapview.new_map()
    violations_layer.add_to(m, v, name="沿河")
    (data,) = points_of(mapview.to_html(m))
    assert data["site"] == [["farms", "F1"], ["kilns", "K&1"]]


def test_a_layer_without_sites_has_no_links():
    m = mapview.new_map()
    PointLayer([118.9], [28.9], [0], ["#000"], [["a"]], ["名称"], name="x").add_to(m)
    (data,) = points_of(mapview.to_html(m))
    assert "site" not in data and "siteUrl" not in data


def test_popup_link_is_built_from_encoded_layer_and_id_only():
    js = (ROOT / "layers" / "web" / "qmap.js").read_text(encoding="utf-8")
    body = js[js.index("function siteLink"):js.index("function points")]
    assert 'encodeURIComponent(layer)' in body and 'encodeURIComponent(id)' in body
    assert "innerHTML" not in js and 'a.target = "_blank"' in body


def test_site_links_for_lists():
    links = cw.site_links(["enterprises", "sampling_points", "kilns", "farms"], ["E 1&x", "SP1", None, "F1"])
    assert links == ["site?layer=enterprises&id=E+1%26x", None, None, "site?layer=farms&id=F1"]


# --- a route file becomes an inspection -----------------------------------------------------

@pytest.fixture
def plan():
    return plan_from_store(open_store(DEMO), ["committed", "sampling"], as_of="2007-06-30",
                           params=PatrolParams(teams=2, time_limit_s=1), use_roads=False)


def test_route_xlsx_becomes_an_inspection_in_route_order(store, plan, tmp_path):
    path = tmp_path / "route.xlsx"
    path.write_bytes(to_xlsx(plan, "gcj02"))  # shifted coordinates: the points must come from the store
    n_before = len(store.read("inspections"))
    iid = from_route(store, path, kind="joint", departments="环保局、开发区管委会、安监局、经贸局", user="执法队员甲")
    ins = store.read("inspections").set_index("id").loc[iid]
    assert ins["held_on"] == pd.Timestamp(plan.day) and ins["recorded_by"] == "执法队员甲"
    assert len(store.read("inspections")) == n_before + 1
    stops = I.stops_of(store, iid)
    want = I.visits_from_stops(iid, plan.visited, store)
    assert list(zip(stops["layer"], stops["feature_id"])) == list(zip(want["layer"], want["feature_id"]))
    assert stops["finding"].isna().all() and len(stops) > 5
    # the store's points (a site's, or its outfall's), not the file's GCJ-02 coordinates
    assert all(a.equals_exact(b, 1e-9) for a, b in zip(stops.geometry, want.geometry))


def test_route_csv_one_team_and_refusals(store, plan, tmp_path):
    path = tmp_path / "route.csv"
    path.write_bytes(to_csv(plan))
    with pytest.raises(GeoError, match="give --date"):
        from_route(store, path, kind="spot", user="甲")
    iid = from_route(store, path, held_on="2007-07-02", team_no=2, kind="spot", user="甲")
    stops = I.stops_of(store, iid)
    team2 = plan.visited[plan.visited["team"] == 2]
    assert len(stops) == len(I.visits_from_stops("x", team2, store))
    assert store.read("inspections").set_index("id").loc[iid, "team"] == "第二组"
    # one unknown site: refused, nothing written
    bad = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    bad.loc[0, "id"] = "E999"
    bad.to_csv(path, index=False, encoding="utf-8-sig")
    before = (len(store.read("inspections")), len(store.read("inspection_visits")))
    with pytest.raises(GeoError) as exc:
        from_route(store, path, held_on="2007-07-03", kind="spot", user="甲")
    assert "E999" in "\n".join(exc.value.problems)
    assert (len(store.read("inspections")), len(store.read("inspection_visits"))) == before


def test_route_file_that_is_not_a_checklist(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("名称,经度\n甲,118.9\n", encoding="utf-8")
    with pytest.raises(GeoError, match="lacks column"):
        read_route(p)
    q = tmp_path / "x.gpx"
    q.write_text("<gpx/>", encoding="utf-8")
    with pytest.raises(GeoError, match="unsupported route file"):
        read_route(q)


def test_cli_inspect_new_from_route(tmp_path, plan):
    dst = tmp_path / "s.gpkg"
    shutil.copyfile(DEMO, dst)
    route = tmp_path / "r.xlsx"
    route.write_bytes(to_xlsx(plan))
    run = lambda *a: subprocess.run([sys.executable, "-m", "geo", *a, "--store", str(dst)], cwd=ROOT,  # noqa: E731
                                    capture_output=True, text=True)
    res = run("inspect", "new", "--from-route", str(route), "--user", "甲", "--departments", "环保局")
    assert res.returncode == 2 and "至少 4 个部门" in res.stderr and "Traceback" not in res.stderr
    res = run("inspect", "new", "--from-route", str(route), "--user", "甲",
              "--departments", "环保局,开发区管委会,安监局,经贸局", "--team-no", "1")
    assert res.returncode == 0, res.stderr
    iid = res.stdout.strip()
    store = open_store(dst)
    assert store.read("inspections").set_index("id").loc[iid, "kind"] == "joint"
    res = run("inspect", "list", "--stops", iid)
    assert res.returncode == 0 and res.stdout.count(iid) == len(I.stops_of(store, iid)) > 0


# --- the phone's position -------------------------------------------------------------------

@pytest.mark.parametrize("value, want", [
    ({"lon": 118.9, "lat": 28.95, "accuracy": 12.5, "t": 1}, (118.9, 28.95, 12.5)),
    ({"lon": "118.9", "lat": 28.95, "t": 1}, (118.9, 28.95, None)),
    ({"lon": 118.9, "lat": 28.95, "accuracy": float("nan")}, (118.9, 28.95, None)),
    ({"error": "1", "t": 2}, None),
    ({"lon": 200, "lat": 28.9}, None),
    ({"lon": float("inf"), "lat": 28.9}, None),
    ({"lon": "<script>", "lat": 28.9}, None),
    ("118.9,28.9", None),
    (None, None),
])
def test_device_location_is_checked(value, want):
    assert cw.device_location(value) == want


def test_geolocation_component_is_local_and_speaks_the_protocol():
    html = (cw.GEOLOCATE_DIR / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing from outside
    for msg in ("streamlit:componentReady", "streamlit:setComponentValue", "streamlit:setFrameHeight",
                "streamlit:render", "navigator.geolocation.getCurrentPosition"):
        assert msg in html
    assert "innerHTML" not in html


# --- the site PDF ---------------------------------------------------------------------------

def test_pdf_first_page_preview():
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils not installed")
    a = open_store(DEMO).read("attachments")
    pdf = a.loc[a["mime"] == "application/pdf", "content"].iat[0]
    png = ATT.preview(pdf)
    assert png is not None and png.startswith(b"\x89PNG")
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        assert max(im.size) == ATT.THUMB_PX and im.size[1] > im.size[0]  # a portrait page
    assert ATT.preview(b"%PDF-1.4\nnot really a pdf\n%%EOF\n") is None
    assert ATT.pdf_first_page(b"\x89PNG\r\n\x1a\n") is None


def test_site_pdf_lists_every_attachment_with_size_and_sha256(tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")
    demo = open_store(DEMO)
    a = demo.read("attachments")
    fid = a["feature_id"].iat[0]
    f = site_file(demo, "enterprises", fid)
    pdf = to_pdf(f)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True).stdout.decode()
    flat = re.sub(r"\s+", "", text)
    for _, row in f.attachments.iterrows():
        assert row["sha256"] in flat and row["name"] in flat
        assert f"{int(row['size'])}字节" in flat
    path = tmp_path / "site.pdf"  # pdfimages reads a file, not a pipe
    path.write_bytes(pdf)
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True).stdout
    n_images = len([ln for ln in listing.splitlines()[2:] if ln.strip()])
    kinds = f.attachments["mime"].value_counts()
    # every photo as a thumbnail and every PDF document by its first page
    assert n_images == kinds.get("image/png", 0) + kinds.get("application/pdf", 0) == len(f.attachments)
