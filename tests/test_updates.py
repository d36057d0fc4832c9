"""Field status updates: one commit for the site and its event, latest-event rule, validation, audit."""
from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from geo.cli import main as geo_main
from geo.check import check_store
from geo.errors import GeoError
from geo.store import DEMO_STORE, open_store
from geo.updates import site_history, update_status

NOW = dt.datetime(2007, 7, 1, 8, 0)


@pytest.fixture
def store(tmp_path):
    p = tmp_path / "s.gpkg"
    shutil.copyfile(DEMO_STORE, p)
    return open_store(p)


def _site(store, layer, status):
    df = store.read(layer)
    return df[df["status"] == status]["id"].iloc[0]


def test_update_sets_status_and_appends_event(store):
    fid = _site(store, "farms", "treating")
    n0 = len(store.read("status_events"))
    res = update_status(store, "farms", fid, "accepted", "2007-06-30", "验收通过 <b>ok</b>", "李巡查", now=NOW)
    assert res.previous == "treating" and res.current == "accepted"
    ev = store.read("status_events")
    assert len(ev) == n0 + 1
    last = ev.iloc[-1]
    assert (last["layer"], last["feature_id"], last["status"]) == ("farms", fid, "accepted")
    assert last["effective_on"] == pd.Timestamp("2007-06-30")
    assert last["recorded_by"] == "李巡查" and last["recorded_at"] == pd.Timestamp(NOW)
    assert last["note"] == "验收通过 <b>ok</b>"  # verbatim
    assert store.read("farms").set_index("id").loc[fid, "status"] == "accepted"
    assert [p for p in check_store(store) if p.severity == "error"] == []
    assert site_history(store, "farms", fid)["status"].iloc[-1] == "accepted"


def test_chinese_status_word_and_closed_on(store):
    fid = _site(store, "kilns", "operating")
    res = update_status(store, "kilns", fid, "已关停", dt.date(2007, 6, 20), "", "u", now=NOW)
    assert res.current == "closed"
    assert store.read("kilns").set_index("id").loc[fid, "closed_on"] == pd.Timestamp("2007-06-20")


def test_backdated_update_keeps_the_latest_status(store):
    ev = store.read("status_events")
    fid = _site(store, "enterprises", "closed")
    last = ev[(ev["layer"] == "enterprises") & (ev["feature_id"] == fid)]["effective_on"].max()
    earlier = (last - pd.Timedelta(days=10)).date()
    res = update_status(store, "enterprises", fid, "suspended", earlier, "补录", "u", now=NOW)
    assert res.current == "closed" and not res.changed_current
    assert store.read("enterprises").set_index("id").loc[fid, "status"] == "closed"
    hist = site_history(store, "enterprises", fid)
    assert "suspended" in set(hist["status"]) and hist["status"].iloc[-1] == "closed"
    assert [p for p in check_store(store) if p.severity == "error"] == []


@pytest.mark.parametrize("kwargs, message", [
    (dict(layer="farms", status="rebuilt"), "not a status of farms"),
    (dict(layer="farms", feature_id="NOPE"), "no farms site"),
    (dict(layer="rivers"), "has no status"),
    (dict(user=" "), "user is required"),
    (dict(effective_on="2099-01-01"), "future"),
    (dict(effective_on="someday"), "not a date"),
    (dict(note="x" * 501), "too long"),
])
def test_invalid_updates_write_nothing(store, kwargs, message):
    fid = _site(store, "farms", "treating")
    args = dict(layer="farms", feature_id=fid, status="closed", effective_on="2007-06-01", note="", user="u")
    args.update(kwargs)
    v0 = store.version()
    with pytest.raises(GeoError, match=message):
        update_status(store, args["layer"], args["feature_id"], args["status"], args["effective_on"], args["note"],
                      args["user"], now=NOW, today=dt.date(2007, 7, 1))
    assert store.version() == v0


def test_status_cli(store, capsys):
    fid = _site(store, "enterprises", "committed")
    assert geo_main(["status", "--store", store.url, "--layer", "enterprises", "--id", fid, "--set", "已搬迁",
                     "--on", "2007-06-30", "--user", "cli-user", "--note", "迁至高新园区"]) == 0
    out = capsys.readouterr().out
    assert "relocated" in out and "cli-user" in out
    assert geo_main(["status", "--store", store.url, "--layer", "enterprises", "--id", fid, "--set", "closed"]) == 2
