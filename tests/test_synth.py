"""The synthetic province (geo.synth): deterministic, of the size asked, and a store the contract accepts."""
from __future__ import annotations

import pandas as pd
import pytest

from geo import history, synth
from geo.check import check_frames
from geo.contract import SITE_LAYERS, TABLES
from geo.spatial import township_of

SIZE = dict(sites=3000, townships=20, rivers=50, waterbodies=6, sampling_points=60, readings=30_000, parks=5)


@pytest.fixture(scope="module")
def tables():
    return synth.build(**SIZE)


def test_sizes_and_contract(tables):
    assert [e for e in check_frames(tables) if e.severity == "error"] == []
    assert set(tables) == set(TABLES)
    assert len(tables["townships"]) == 20 and len(tables["waterbodies"]) == 6
    assert 45 <= len(tables["rivers"]) <= 50
    assert sum(len(tables[layer]) for layer in SITE_LAYERS) == 3000
    assert len(tables["sampling_points"]) == 60
    assert abs(len(tables["readings"]) - 30_000) <= 60 * len(synth.PARAMETERS)
    # about 1.6 events a site, as in issue 13's province (162k events for 100k sites)
    assert 1.5 <= len(tables["status_events"]) / 3000 <= 1.75
    # every site lies in a township, every current status is its latest event
    for layer in SITE_LAYERS:
        sites = tables[layer]
        assert township_of(sites, tables["townships"]).notna().all()
        latest = history.status_on(tables["status_events"], layer)
        assert sites.set_index("id")["status"].equals(latest.reindex(sites["id"]).rename("status").rename_axis("id"))


def test_the_domain_finds_work(tables):
    ent, farms = tables["enterprises"], tables["farms"]
    assert (ent["park"] == synth.CHEMICAL_PARK).sum() > 0
    assert set(ent["status"]) == set(["operating", "committed", "suspended", "closed", "relocated", "converted"])
    assert farms["status"].eq("treating").any() and farms["status"].eq("accepted").any()
    assert tables["readings"]["below_detection"].any() and not tables["readings"]["below_detection"].all()
    assert tables["readings"]["sampled_at"].max() <= pd.Timestamp(synth.AS_OF) + pd.Timedelta(days=1)


def test_deterministic_and_seeded():
    a, b = synth.build(**SIZE), synth.build(**SIZE)
    for name in a:
        pd.testing.assert_frame_equal(pd.DataFrame(a[name]), pd.DataFrame(b[name]), check_like=False)
    c = synth.build(**{**SIZE, "seed": 1})
    assert not c["farms"]["geometry"].geom_equals(a["farms"]["geometry"]).all()
    # more sites do not move the land and the water
    d = synth.build(**{**SIZE, "sites": 4000})
    assert d["rivers"]["geometry"].geom_equals(a["rivers"]["geometry"]).all()
    assert d["townships"]["geometry"].geom_equals(a["townships"]["geometry"]).all()


def test_minimal_keeps_only_required_columns():
    t = synth.build(**SIZE, minimal=True)
    for name, df in t.items():
        cols = set(df.columns) - {"geometry"}
        assert cols == set(TABLES[name].required_names), name
