"""The overview map stays legible and small at province scale: one symbol per township above the point budget."""
import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from layers import mapview, symbols
from layers.base import Legend, PointLayer
from tests.conftest import ROOT
from tests.test_symbols import _check, _elements, _prepared

MB = 1024 * 1024


@pytest.fixture(scope="module")
def province():
    """A synthetic 100k-site province (no readings), prepared as the overview page prepares it."""
    from geo import synth

    frames = synth.build(sites=100_000, readings=0)
    prepared, sites = _prepared(frames, synth.AS_OF)
    return prepared, sites


def _points(m):
    return [e for e in _elements(m) if isinstance(e, PointLayer)]


def test_province_overview_is_under_2_mb_and_counts_add_up(province):
    from layers.overview import overview_map

    prepared, sites = province
    total = sum(len(s) for s in sites.values())
    assert total == 100_000
    m = overview_map(prepared, sites=sites, events=prepared["status_events"], max_points=5000)
    html = mapview.to_html(m)
    assert len(html.encode("utf-8")) < 2 * MB, len(html.encode("utf-8"))
    assert m.qs_aggregated and m.qs_points == total + len(prepared["sampling_points"])
    points = _points(m)
    aggs = {p.layer_name: p for p in points if hasattr(p, "aggregates")}
    assert set(aggs) == {"企业（按乡镇汇总）", "石灰窑（棚）（按乡镇汇总）", "养殖场（按乡镇汇总）"}
    for layer, label in (("enterprises", "企业"), ("kilns", "石灰窑（棚）"), ("farms", "养殖场")):
        agg = aggs[f"{label}（按乡镇汇总）"].aggregates
        assert agg["count"].sum() == len(sites[layer])  # every site counted once
        assert agg["township"].is_unique
        # the label drawn in each symbol is its count; sizes grow with the count
        p = aggs[f"{label}（按乡镇汇总）"].payload
        assert p["text"] == [str(int(c)) for c in agg["count"]]
        order = np.argsort(agg["count"].to_numpy())
        assert np.all(np.diff(np.asarray(p["r"])[order]) >= 0)
        # colour = the share done, by the band table in layers.symbols
        done = sites[layer]["status"].isin(__import__("geo.rules", fromlist=["DONE"]).DONE[layer])
        assert agg["done"].sum() == done.sum()
        assert p["c"] == symbols.share_index(agg["done"] / agg["count"]).tolist()
    # individual sites are not drawn, and the legend explains exactly what is
    assert all(len(p.payload["x"]) <= 200 for p in points if hasattr(p, "aggregates"))
    legend = [e for e in _elements(m) if isinstance(e, Legend)][0]
    _check(points, legend)
    labels = [r["label"] for r in legend.rows]
    assert any("选择乡镇后显示各点位" in lab for lab in labels)
    assert "在产" not in labels  # no status colours: they are not drawn


def test_township_under_the_budget_draws_its_sites(province):
    from layers.overview import overview_map

    prepared, sites = province
    town = sites["farms"]["township"].dropna().iloc[0]
    n = sum(int((s["township"] == town).sum()) for s in sites.values())
    assert 0 < n < 5000
    m = overview_map(prepared, sites=sites, events=prepared["status_events"], township=[town], max_points=5000)
    assert not m.qs_aggregated
    drawn = {p.layer_name: len(p.payload["x"]) for p in _points(m)}
    assert drawn["养殖场"] == int((sites["farms"]["township"] == town).sum())
    assert not any("汇总" in k for k in drawn)
    # the water of a province-size store is drawn for the township's view: the map stays small too
    html = mapview.to_html(m)
    assert len(html.encode("utf-8")) < 2 * MB, len(html.encode("utf-8"))
    assert [e for e in _elements(m) if getattr(e, "layer_name", "") == "河流"]


def test_aggregate_counts_sites_outside_every_township():
    import geopandas as gpd

    from layers.overview import OUTSIDE, aggregate

    rng = np.random.default_rng(3)
    n = 10_000
    towns = np.array(["甲镇", "乙镇", None], dtype=object)[rng.integers(0, 3, n)]
    df = gpd.GeoDataFrame({"township": towns, "status": rng.choice(["operating", "closed"], n)},
                          geometry=gpd.points_from_xy(rng.uniform(118.8, 119.0, n), rng.uniform(28.8, 29.0, n)),
                          crs=4326)
    agg = aggregate(df, "kilns").set_index("township")
    assert agg["count"].sum() == n
    assert agg.loc[OUTSIDE, "count"] == int(pd.isna(towns).sum())
    assert agg.loc["甲镇", "done"] == int(((towns == "甲镇") & (df["status"] == "closed")).sum())
    # the symbol stands among its sites
    assert agg["x"].between(118.8, 119.0).all() and agg["y"].between(28.8, 29.0).all()


def test_aggregates_placed_without_projecting_every_site_equal_aggregate_then_place(province):
    """aggregate_placed (mean positions only where place() does not put the symbol) gives exactly what
    aggregating every layer and then placing gives: counts, shares and every symbol's position."""
    from layers.overview import OUTSIDE, aggregate, aggregate_placed, place

    prepared, sites = province
    tw = prepared["townships"]
    parts = {k: (sites[k], k) for k in ("kilns", "farms", "enterprises")}
    # some sites outside every township: their symbol keeps its mean position
    far = sites["farms"].head(50).copy()
    far["township"] = None
    parts["farms"] = (pd.concat([sites["farms"], far]), "farms")
    want = {k: aggregate(s, layer) for k, (s, layer) in parts.items()}
    place(want, tw)
    got = aggregate_placed(parts, tw)
    assert list(got) == list(want)
    for k in want:
        pd.testing.assert_frame_equal(got[k].reset_index(drop=True), want[k].reset_index(drop=True),
                                      check_exact=False, rtol=0, atol=1e-9)
    assert OUTSIDE in set(got["farms"]["township"]) and got["farms"][["x", "y"]].notna().all().all()


def test_water_surfaces_under_a_pixel_are_left_out_lines_kept():
    """On a province's view a river narrower than a pixel gets its line only: the surfaces drawn are exactly
    those of the rivers at least a pixel wide, every river keeps its line."""
    import folium

    from geo import synth
    from layers import water
    from layers.overview import pixel_m

    f = synth.build(sites=2000, readings=0)
    rivers, wb, tw = f["rivers"], f["waterbodies"], f["townships"]
    px = pixel_m(tw.total_bounds)
    wide = int((rivers["width_m"] >= px).sum())
    assert 0 < wide < int((rivers["width_m"] > 0).sum())  # the province has rivers on both sides of a pixel

    def drawn(**kw):
        layers = water.add_to(folium.Map(), rivers, wb, **kw)
        return {l.layer_name: l for l in layers}

    full, trimmed = drawn(), drawn(min_band_m=px)
    assert full["河流"].data == trimmed["河流"].data
    assert len(json.loads(trimmed["河道水面"].data)["features"]) == wide < \
        len(json.loads(full["河道水面"].data)["features"])


def test_share_bands():
    assert symbols.share_index([0, 0.49, 0.5, 0.79, 0.8, 0.99, 1.0, np.nan]).tolist() == [0, 0, 1, 1, 2, 2, 3, 0]
    symbols.check_legend(symbols.share_rows())  # one meaning per colour


def test_demo_overview_page_still_draws_sites(demo_store, monkeypatch):
    """On a small store (the demo) the overview page draws every site, clustered, and says nothing of totals."""
    monkeypatch.setenv("QINGSHAN_STORE", str(demo_store))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    html = at.get("iframe")[0].proto.srcdoc
    assert "按乡镇汇总" not in html and json.dumps("按乡镇汇总")[1:-1] not in html
    assert not any("汇总显示" in i.value for i in at.info)
    data = [json.loads(s) for s in _qs_points(html)]
    assert sum(len(d["x"]) for d in data) > 300 and all("r" not in d for d in data)


def test_overview_page_says_when_it_aggregates(demo_store, monkeypatch, tmp_path):
    """With a budget below the demo's points, the page draws per township and tells how to see the sites."""
    cfg = tmp_path / "q.toml"
    cfg.write_text("[map]\nmax_points = 100\n", encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))
    monkeypatch.setenv("QINGSHAN_STORE", str(demo_store))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert any("选择乡镇后显示各个点位" in i.value for i in at.info)
    html = at.get("iframe")[0].proto.srcdoc
    assert "按乡镇汇总" in html or json.dumps("按乡镇汇总")[1:-1] in html


def _qs_points(html: str) -> list[str]:
    """The JSON payload of every ``QS.points(…, {})`` call in a map page."""
    out, key = [], "QS.points("
    i = html.find(key)
    while i >= 0:
        start = i + len(key)
        end = html.find(", {});", start)
        out.append(html[start:end])
        i = html.find(key, end)
    return out
