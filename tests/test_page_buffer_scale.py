"""The 河岸缓冲 page stays legible and small at scale: violations per township above the point budget,
each site of a chosen township, page tables bounded with their total stated (downloads keep every row)."""
from __future__ import annotations

import json
from pathlib import Path

import folium
from streamlit.testing.v1 import AppTest

from geo import buffers
from geo.store import open_store
from layers import symbols
from layers import violations as violations_layer
from layers.base import Legend
from tests.test_overview_aggregate import _qs_points
from tests.test_symbols import _check

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "buffer.py")
AS_OF = "2007-06-30"


def _config(tmp_path, monkeypatch, text: str) -> None:
    cfg = tmp_path / "q.toml"
    cfg.write_text(text, encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))


def run(at: AppTest | None = None) -> AppTest:
    at = at or AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def _map(at: AppTest) -> str:
    return at.get("iframe")[0].proto.srcdoc


def _aggregate_counts(html: str) -> list[int]:
    """The counts written in the aggregate symbols of a map page (only aggregates carry ``text``)."""
    return [int(t) for d in map(json.loads, _qs_points(html)) for t in d.get("text", [])]


def test_aggregated_violations_add_up_and_match_the_legend(demo_frames):
    v300 = buffers.check(demo_frames, 300, as_of=AS_OF)
    inside, more = buffers.within(v300, 200), buffers.compare_limits(v300, 200, 300)
    assert len(inside) and len(more)
    m = folium.Map()
    drawn = violations_layer.add_aggregated(m, {"甲": inside, "乙": more}, demo_frames["townships"],
                                            show={"乙": False})
    by_group = {}
    for p in drawn:
        group, layer_label = p.layer_name.split("·")
        by_group.setdefault(group, 0)
        by_group[group] += int(p.aggregates["count"].sum())
        assert p.payload["text"] == [str(int(c)) for c in p.aggregates["count"]]
        assert p.show == (group == "甲")
    assert by_group == {"甲": len(inside), "乙": len(more)}
    # per layer too: every violation counted once, in its own layer's shape
    for p in drawn:
        if p.layer_name.startswith("甲"):
            layer = next(k for k, v in symbols.LAYER_SYMBOL_LABELS.items() if p.layer_name.endswith(f"·{v}（按乡镇汇总）"))
            assert int(p.aggregates["count"].sum()) == int((inside["layer"] == layer).sum())
            assert set(p.shapes_used) == {symbols.LAYER_SHAPES[layer]}
    legend = Legend("图例", symbols.compose(points=[r for p in drawn for r in p.legend],
                                          extra=[symbols.aggregate_item()], colour_title="完成比例（颜色）"))
    _check(drawn, legend)


def test_view_water_and_zone_are_cut_to_the_view(demo_frames):
    import shapely

    zone = violations_layer.zone(demo_frames["rivers"], demo_frames["waterbodies"], 200)
    town = demo_frames["townships"].iloc[[0]]
    minx, miny, maxx, maxy = town.total_bounds
    r, wb, cut = violations_layer.view_water(demo_frames["rivers"], demo_frames["waterbodies"], 200, town.total_bounds)
    full, part = zone.geometry.iloc[0], cut.geometry.iloc[0]
    # never beyond one view-width around the view (a little slack for the degree/metre round trip)
    w, h = maxx - minx, maxy - miny
    span = max(w, h) * 1.5
    assert shapely.box(minx - span, miny - span, maxx + span, maxy + span).contains(part)
    assert part.area < full.area
    # inside the view it is the same zone, to within the simplification
    view = shapely.box(minx, miny, maxx, maxy)
    assert abs(part.intersection(view).area - full.intersection(view).area) < 0.02 * full.intersection(view).area
    # the page draws the water the zone was made from: cut to the same window
    window = shapely.box(minx - span, miny - span, maxx + span, maxy + span)
    assert len(r) and all(window.contains(g) for g in r.geometry) and all(window.contains(g) for g in wb.geometry)
    assert len(r) < len(demo_frames["rivers"]) or any(
        not shapely.equals(a, b) for a, b in zip(r.geometry, demo_frames["rivers"].geometry))


def test_page_aggregates_above_the_budget_and_says_so(app_store, tmp_path, monkeypatch):
    _config(tmp_path, monkeypatch, "[map]\nmax_points = 10\n")
    store = open_store(app_store)
    v300 = buffers.check(store, 300, as_of=AS_OF)
    n200 = len(buffers.within(v300, 200))
    assert len(v300) > 10
    at = run()
    html = _map(at)
    assert "按乡镇汇总" in html or json.dumps("按乡镇汇总")[1:-1] in html
    # every listed site is in one symbol's count: the 200 m ones and the (hidden) 300 m additions
    assert sum(_aggregate_counts(html)) == len(v300)
    info = " ".join(i.value for i in at.info)
    assert f"在管点位 {n200:,} 处" in info and "选择乡镇后显示各个点位" in info and "超过单张地图可清晰显示的 10 个" in info
    # the figures and the list are unchanged: aggregation is the map's only
    listed = [df.value for df in at.dataframe if "距水体（米）" in df.value.columns]
    assert any(set(df["编号"]) == set(buffers.within(v300, 200)["id"]) for df in listed)
    # a township with few violations: its sites one by one, and nothing per township
    counts = v300["township"].value_counts()
    town = counts[counts <= 10].index[0]
    at.multiselect(key="map_towns").set_value([town])
    run(at)
    html = _map(at)
    assert "按乡镇汇总" not in html and json.dumps("按乡镇汇总")[1:-1] not in html
    assert not any("超过单张地图" in i.value for i in at.info)
    assert _aggregate_counts(html) == []
    drawn = sum(len(d["x"]) for d in map(json.loads, _qs_points(html)) if "ring" in d)
    assert drawn == int((v300["township"] == town).sum())


def test_demo_page_draws_every_site_under_the_default_budget(app_store):
    at = run()
    html = _map(at)
    assert "按乡镇汇总" not in html and json.dumps("按乡镇汇总")[1:-1] not in html
    assert not any("超过单张地图" in i.value for i in at.info)
    v300 = buffers.check(open_store(app_store), 300, as_of=AS_OF)
    assert sum(len(d["x"]) for d in map(json.loads, _qs_points(html)) if "ring" in d) == len(v300)


def test_tables_are_bounded_and_state_the_total(app_store, tmp_path, monkeypatch):
    _config(tmp_path, monkeypatch, "[tables]\nmax_rows = 5\n")
    v200 = buffers.check(open_store(app_store), 200, as_of=AS_OF)
    assert len(v200) > 5
    at = run()
    listed = [df.value for df in at.dataframe if "距水体（米）" in df.value.columns]
    assert listed and all(len(df) <= 5 for df in listed)
    main = next(df for df in listed if set(df["编号"]) <= set(v200["id"]))
    assert len(main) == 5
    # the nearest to water, and the total said above the table
    assert main["距水体（米）"].max() <= v200["distance_m"].nsmallest(6).iloc[-1].round(2)
    assert any(f"共 {len(v200):,} 处在管点位，表中列出距水体最近的 5 处" in c.value for c in at.caption)
    # the figures still count every site, and the downloads are offered
    assert int(next(m.value for m in at.metric if m.label == "200 米内在管点位").split()[0]) == len(v200)
    assert {"下载 Excel", "下载 CSV", "下载 GeoJSON"} <= {b.label for b in at.get("download_button")}


def test_browser_download_holds_every_row_while_the_table_is_bounded(demo_store, tmp_path):
    """In Chromium: the list shows 5 rows, the CSV made on click (deferred) holds every violation."""
    from tests.browser import Watch, browser, serve

    cfg = tmp_path / "q.toml"
    cfg.write_text("[tables]\nmax_rows = 5\n", encoding="utf-8")
    v200 = buffers.check(open_store(demo_store), 200, as_of=AS_OF)
    assert len(v200) > 5
    with serve(demo_store, env={"QINGSHAN_CONFIG": str(cfg)}) as url, browser() as ctx:
        page = ctx.new_page()
        watch = Watch(page, url)
        page.goto(f"{url}/buffer", wait_until="load")
        page.get_by_role("tab", name="清单与下载").click(timeout=120_000)
        page.get_by_text(f"共 {len(v200):,} 处在管点位，表中列出距水体最近的 5 处").wait_for(timeout=60_000)
        with page.expect_download(timeout=60_000) as dl:
            page.get_by_role("button", name="下载 CSV").click()
        data = Path(dl.value.path()).read_bytes().decode("utf-8-sig")
        assert dl.value.suggested_filename.endswith(".csv")
        assert all(str(i) in data for i in v200["id"])
        assert watch.errors == [] and watch.external == []
