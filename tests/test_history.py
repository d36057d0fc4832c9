"""Status on a date (:mod:`geo.history`): the numpy path agrees with the plain pandas rule on every kind of table.

The rule, written the plain way in :func:`reference`: a site's status on a date
is its latest event effective on or before it, ties broken by ``recorded_at``
(a missing one sorts after every time), then by table order; sites without an
id are in no group. :func:`geo.history.status_on` computes it with numpy sorts
for speed; these tests hold it to the plain rule, result for result (values,
index order, dtypes).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo import history


def reference(events: pd.DataFrame, layer: str, as_of=None) -> pd.Series:
    ev = events[events["layer"] == layer]
    if as_of is not None:
        ev = ev[ev["effective_on"] <= pd.Timestamp(as_of)]
    ev = ev.copy()
    ev["_n"] = np.arange(len(ev))
    rec = ev["recorded_at"] if "recorded_at" in ev.columns else pd.Series(pd.NaT, index=ev.index)
    ev["_rec"] = pd.to_datetime(rec, errors="coerce")
    ev = ev.sort_values(["effective_on", "_rec", "_n"], kind="stable")
    return ev.groupby("feature_id", sort=False).tail(1).set_index("feature_id")["status"].rename("status")


def reference_sites_on(sites: pd.DataFrame, events: pd.DataFrame, layer: str, as_of) -> pd.DataFrame:
    st = reference(events, layer, as_of)
    out = sites[sites["id"].isin(st.index)].copy()
    out["status"] = out["id"].map(st)
    return out


def random_events(rng, n: int, *, ids_dtype=object, with_recorded=True, missing=True) -> pd.DataFrame:
    ids = np.array([f"F{i:03d}" for i in rng.integers(0, max(n // 3, 1), n)], dtype=object)
    layer = rng.choice(["farms", "kilns"], n).astype(object)
    eff = pd.Timestamp("2005-01-01") + pd.to_timedelta(rng.integers(0, 20, n), unit="D")  # many ties
    rec = pd.Timestamp("2005-01-01") + pd.to_timedelta(rng.integers(0, 5, n), unit="h")
    status = rng.choice(["operating", "closed", "treating", "accepted"], n).astype(object)
    if missing:
        ids[rng.random(n) < 0.05] = None
        layer[rng.random(n) < 0.03] = None
        eff = eff.where(rng.random(n) > 0.03)
        rec = rec.where(rng.random(n) > 0.3)
    df = pd.DataFrame({"layer": layer, "feature_id": pd.Series(ids, dtype=ids_dtype), "status": status,
                       "effective_on": eff.astype("datetime64[ms]")})
    if with_recorded:
        df["recorded_at"] = rec.astype("datetime64[ms]")
    df.index = rng.permutation(n) + 1000  # not a default index
    return df


@pytest.mark.parametrize("seed", range(12))
def test_status_on_matches_the_plain_rule(seed):
    rng = np.random.default_rng(seed)
    ev = random_events(rng, int(rng.integers(0, 400)), ids_dtype=[object, "str"][seed % 2],
                       with_recorded=seed % 3 != 0, missing=seed % 4 != 0)
    for layer in ("farms", "kilns", "enterprises"):
        for as_of in (None, "2005-01-01", "2005-01-09", pd.Timestamp("2005-03-01")):
            got, want = history.status_on(ev, layer, as_of), reference(ev, layer, as_of)
            pd.testing.assert_series_equal(got, want)
            ids = [f"F{i:03d}" for i in rng.permutation(150)[:120]] + [None]
            sites = pd.DataFrame({"id": pd.Series(ids, dtype=[object, "str"][seed % 2]), "name": "x",
                                  "status": "operating"}, index=rng.permutation(len(ids)) + 7)
            pd.testing.assert_frame_equal(history.sites_on(sites, ev, layer, as_of or "2006-01-01"),
                                          reference_sites_on(sites, ev, layer, as_of or "2006-01-01"))


def test_status_on_dates_not_datetimes_fall_back_to_pandas():
    # effective_on held as ISO strings (a frame built by hand): ordered as pandas orders them
    ev = pd.DataFrame({"layer": ["farms"] * 4, "feature_id": ["a", "b", "a", "b"],
                       "status": ["operating", "operating", "closed", "treating"],
                       "effective_on": ["2005-01-02", "2005-01-03", "2005-01-05", "2005-01-01"]})
    pd.testing.assert_series_equal(history.status_on(ev, "farms"), reference(ev, "farms"))
    assert history.status_on(ev, "farms").to_dict() == {"a": "closed", "b": "operating"}


def test_recorded_at_breaks_ties_and_missing_sorts_last():
    ev = pd.DataFrame({"layer": ["farms"] * 3, "feature_id": ["a", "a", "a"],
                       "status": ["closed", "treating", "accepted"],
                       "effective_on": pd.to_datetime(["2005-01-02"] * 3),
                       "recorded_at": pd.to_datetime([None, "2005-01-03 10:00", "2005-01-02 10:00"])})
    # same day: the event without a recording time counts as recorded last
    assert history.status_on(ev, "farms")["a"] == "closed"
    assert history.status_on(ev.iloc[1:], "farms")["a"] == "treating"


def test_sites_on_keeps_the_sites_on_the_ledger_with_their_status_then():
    sites = pd.DataFrame({"id": ["a", "b", "c"], "status": ["closed", "operating", "operating"]})
    ev = pd.DataFrame({"layer": ["farms"] * 3, "feature_id": ["a", "a", "b"],
                       "status": ["operating", "closed", "operating"],
                       "effective_on": pd.to_datetime(["2005-01-01", "2005-06-01", "2005-03-01"])})
    then = history.sites_on(sites, ev, "farms", "2005-04-01")
    assert then.set_index("id")["status"].to_dict() == {"a": "operating", "b": "operating"}  # c not yet listed
    assert history.sites_on(sites, ev, "farms", None) is sites
