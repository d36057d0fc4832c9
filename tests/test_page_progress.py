"""The 关停进度 page, run headless with AppTest on a temporary copy of the demo store."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "views" / "progress.py")


class _Storages(list):
    def file(self, url: str) -> bytes:
        name = url.rsplit("/", 1)[1]
        for storage in reversed(self):
            try:
                return storage.get_file(name).content
            except Exception:  # noqa: BLE001 - not in this run's storage
                continue
        raise KeyError(url)


@pytest.fixture
def media(monkeypatch):
    """Keep every AppTest run's media storage, so download buttons' bytes can be read back."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    storages = _Storages()

    class Recording(MemoryMediaFileStorage):
        def __init__(self, endpoint):
            super().__init__(endpoint)
            storages.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Recording)
    return storages


def _download(at, label: str):
    return next(b for b in at.get("download_button") if b.label == label)


@pytest.fixture
def app(tmp_path, monkeypatch, media):
    store = tmp_path / "demo.gpkg"
    shutil.copy(ROOT / "data" / "demo.gpkg", store)
    monkeypatch.setenv("QINGSHAN_STORE", str(store))
    monkeypatch.syspath_prepend(str(ROOT))
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_page_shows_report_figures_and_replays_history(app):
    m = _metrics(app)
    assert m["化工园区关停（家）"] == "34/49"
    assert m["石灰钙棚关停（个）"] == "85/105"
    assert m["石灰窑关停·改建搬迁"] == "26·49"
    assert m["养殖场已验收（家）"] == "0/34"
    assert m["逾期未完成（处）"] == "0"
    pending = app.dataframe[0].value
    assert len(pending) == 15 and set(pending["结对部门"]) >= {"环保局", "开发区管委会"}
    assert (pending["期限状态"] == "剩余 92 天").all()

    app.date_input(key="as_of").set_value(dt.date(2007, 2, 5)).run()
    assert not app.exception
    assert _metrics(app)["石灰钙棚关停（个）"] == "0/105"
    app.date_input(key="as_of").set_value(dt.date(2007, 2, 6)).run()
    assert _metrics(app)["石灰钙棚关停（个）"] == "74/105"

    app.date_input(key="as_of").set_value(dt.date(2007, 10, 1)).run()
    assert _metrics(app)["逾期未完成（处）"] == "49"
    app.toggle(key="only_overdue").set_value(True).run()
    assert (app.dataframe[0].value["期限状态"] == "逾期 1 天").all()


def test_page_campaign_filter_ranking_and_briefing(app):
    app.selectbox(key="campaign").set_value("lime").run()
    assert not app.exception
    pending = app.dataframe[0].value
    assert len(pending) == 20 and set(pending["类别"]) == {"石灰钙棚"}  # 20 sheets still operating
    app.multiselect(key="towns").set_value(["樟潭街道"]).run()
    assert len(app.dataframe[0].value) == 0        # no kiln in 樟潭街道
    m = _metrics(app)
    assert m["石灰钙棚关停（个）"] == "0/0" and m["化工园区关停（家）"] == "34/49"
    assert m["养殖场已验收（家）"] == "0/10"          # the 10 treatment targets in 樟潭街道

    app.multiselect(key="towns").set_value([]).run()
    app.slider(key="w_chemical").set_value(0).run()
    app.slider(key="w_livestock").set_value(0).run()
    rank = app.dataframe[-1].value
    top = rank.iloc[0]
    assert top["乡镇"] == "上方镇" and top["得分"] == pytest.approx(88.9)

    app.button(key="make_briefing").click().run()
    assert not app.exception and not app.error
    labels = [b.label for b in app.get("download_button")]
    assert "下载简报 PDF" in labels and "下载简报数据 Excel" in labels


def test_page_downloads_have_chinese_headers(app, media):
    from tests.sheets import csv_lead_and_table, header_block, read_sheets

    xlsx = media.file(_download(app, "下载 Excel（未完成点位、乡镇完成率）").proto.url)
    sheets = read_sheets(xlsx)
    # the workbook states what it is: title, rule, scope, date, data version, who, software
    block = header_block(xlsx, "未完成点位")
    assert block["标题"] == "化工园区关停：未完成点位与乡镇完成率" and block["截至日期"] == "2007-06-30"
    assert "逾期" in block["规则"] and block["乡镇范围"] == "全部乡镇" and block["数据版本"]
    assert block["生成人"] == "青山网页（未登录）" and block["软件版本"].startswith("青山 Qingshan")
    assert "说明" in sheets
    pend = sheets["未完成点位"]
    assert {"专项", "编号", "名称", "乡镇", "状态", "整改期限", "剩余天数", "期限状态", "结对部门", "搬迁去向"} <= set(pend.columns)
    assert len(pend) == 15 and set(pend["状态"]) == {"已签承诺"}
    assert sorted(pend["搬迁去向"].value_counts().tolist(), reverse=True) == [6, 3, 3, 1, 1, 1]
    comp = sheets["乡镇完成率"]
    assert comp.set_index("乡镇").loc["樟潭街道", "已完成"] == 34
    csv = media.file(_download(app, "下载 CSV（未完成点位）").proto.url)
    assert csv.startswith("\ufeff".encode("utf-8"))
    lead, table = csv_lead_and_table(csv)
    assert len(table) == 15 and lead["截至日期"] == "2007-06-30" and lead["专项"] == "化工园区关停"
    lead, counts = csv_lead_and_table(media.file(_download(app, "下载 CSV（图层×类别×乡镇×状态）").proto.url))
    assert lead["标题"].startswith("点位数统计")
    # a download for people: Chinese headers and labels, never the codes (the CLI keeps those)
    assert list(counts.columns) == ["图层", "类别", "乡镇", "状态", "数量"]
    assert {"企业", "石灰窑（棚）", "养殖场"} >= set(counts["图层"]) and "operating" not in set(counts["状态"])


def _chart_series(at) -> pd.DataFrame:
    """The cumulative line of the page's timeline chart (its first dataset), as the browser gets it."""
    import pyarrow as pa

    chart = at.get("vega_lite_chart")[0].proto
    return pa.ipc.open_stream(chart.datasets[0].data.data).read_all().to_pandas()


def test_timeline_of_some_townships_counts_only_their_targets(tmp_path, monkeypatch):
    """The timeline reads no history: the day's done steps are counted by the database, and with townships
    chosen, those townships' own steps. Each series equals the replay of the whole tables (restricted to the
    townships), and the townships' series differs from the whole area's."""
    from geo import progress as P, synth
    from geo.store import open_store

    path = tmp_path / "s.gpkg"
    synth.write(str(path), sites=3000, readings=2000)
    monkeypatch.setenv("QINGSHAN_STORE", str(path))
    monkeypatch.syspath_prepend(str(ROOT))
    store = open_store(str(path))
    whole = P.prepare(store.read_many(["townships", "enterprises", "kilns", "farms", "status_events"]))
    day = pd.Timestamp(P.default_as_of(store))
    comp = P.completion(whole, "livestock", day)
    towns = comp[comp["done"] > 0].sort_values("done")["township"].head(2).tolist()
    assert towns and comp["done"].sum() > comp.set_index("township").loc[towns, "done"].sum()

    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    at.selectbox(key="campaign").set_value("livestock").run()
    assert not at.exception, [e.value for e in at.exception]
    all_area = _chart_series(at)
    at.multiselect(key="towns").set_value(towns).run()
    assert not at.exception, [e.value for e in at.exception]
    some = _chart_series(at)
    for got, frames in ((all_area, whole), (some, {**whole, **{layer: whole[layer][whole[layer]["township"].isin(towns)]
                                                             for layer in ("enterprises", "kilns", "farms")}})):
        want, _ = P.timeline(frames, "livestock", day)
        want = want[want["date"] >= day - pd.Timedelta(days=730)]
        assert got["done"].astype(int).tolist() == want["done"].tolist()
    assert some["done"].iloc[-1] < all_area["done"].iloc[-1]


def test_header_never_says_on_time_above_a_late_projection(app):
    """逾期未完成 0 · 按期推进 above 预计…完成，将超过期限 was two answers: both now come from one projection."""
    at = app
    seen = set()
    for campaign in ("chemical", "lime", "livestock"):
        at.selectbox(key="campaign").set_value(campaign)
        for window in (30, 90, 180):
            at.slider(key="window").set_value(window)
            at.run()
            assert not at.exception
            tile = next(m for m in at.metric if m.label == "逾期未完成（处）")
            notes = " ".join(c.value for c in at.caption) + " ".join(s.value for s in at.success) + \
                " ".join(w.value for w in at.warning)
            late = "将超过期限" in notes or "无法完成剩余" in notes
            seen.add(late)
            if late:
                assert tile.delta != "按期推进" and ("预计逾期" in tile.delta or "停滞" in tile.delta
                                                     or tile.delta == "需督办"), (campaign, window, tile.delta)
            if "可按期完成" in notes and int(tile.value) == 0:
                assert tile.delta == "按期推进", (campaign, window, tile.delta)
    assert seen == {True, False}  # the demo has campaigns on both sides

def test_outlook_words():
    import geo.progress as P

    day = pd.Timestamp("2007-06-30")

    def proj(projected, deadline, done=5, targets=10):
        return P.Projection(day, targets, done, 90, 0, 0.1, None if projected is None else pd.Timestamp(projected),
                            None if deadline is None else pd.Timestamp(deadline))

    assert P.outlook(0, proj("2007-09-01", "2007-12-31")) == ("按期推进", False)
    word, bad = P.outlook(0, proj("2008-03-26", "2007-12-31"))
    assert bad and "预计逾期" in word
    word, bad = P.outlook(0, proj(None, "2007-12-31"))
    assert bad and "停滞" in word
    assert P.outlook(3, proj("2007-09-01", "2007-12-31")) == ("需督办", True)
    assert P.outlook(0, proj(None, None, done=10)) == ("已全部完成", False)
    assert P.outlook(0, proj("2007-09-01", None)) == ("暂无逾期", False)
