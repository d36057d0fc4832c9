"""One riverside limit from config (issue 24): the check, the site file, the assessment and the CLI use it."""
from __future__ import annotations

import pytest

from geo import assess, buffers, rules, sitefile
from geo.store import DEMO_STORE, open_store


@pytest.fixture
def limit_300(tmp_path, monkeypatch):
    cfg = tmp_path / "qingshan.toml"
    cfg.write_text("[riverside]\nlimit_m = 300\n", encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))
    return 300.0


def test_the_configured_limit_is_the_default_everywhere(limit_300):
    store = open_store(DEMO_STORE)
    frames = store.read_many()
    assert rules.riverside_limit_m() == 300.0
    at_300 = buffers.check(frames, 300.0, as_of="2007-06-30")
    at_200 = buffers.check(frames, 200.0, as_of="2007-06-30")
    assert len(at_300) > len(at_200)  # the demo has sites between 200 and 300 m: the limit matters
    assert buffers.check(frames, as_of="2007-06-30")["id"].tolist() == at_300["id"].tolist()
    # the site file states the configured limit and judges by it
    site = at_300[~at_300["id"].isin(at_200["id"])].iloc[0]
    f = sitefile.site_file(frames, site["layer"], site["id"])
    assert f.water["limit_m"] == 300.0 and f.water["within_limit"] is True


def test_the_assessment_counts_violations_at_the_configured_limit(limit_300, monkeypatch):
    import geo.buffers as B
    from geo import progress

    seen = []
    real = B.check

    def spy(frames, distance=None, *a, **k):
        seen.append(distance)
        return real(frames, distance, *a, **k)

    monkeypatch.setattr(B, "check", spy)  # assess imports it where it measures
    frames = progress.prepare(open_store(DEMO_STORE).read_many())
    assess._riverside(frames, 2007, assess.pd.Timestamp("2007-06-30"))
    assert seen and set(seen) == {300.0}


def test_an_invalid_limit_is_a_bilingual_error(tmp_path, monkeypatch):
    from geo.errors import GeoError

    cfg = tmp_path / "qingshan.toml"
    cfg.write_text("[riverside]\nlimit_m = -5\n", encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))
    with pytest.raises(GeoError):
        rules.riverside_limit_m()
