"""The figures the README and docs quote for the demo are the ones the demo gives."""
from __future__ import annotations

import re

from geo import buffers, rules
from tests.conftest import ROOT


def _demo_violations(frames) -> int:
    return len(buffers.check(frames, 200, as_of=rules.default_as_of(frames["meta"])))


def test_riverside_violation_counts_quoted_for_the_demo(demo_frames):
    n = _demo_violations(demo_frames)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deployment = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    quoted = [int(x) for x in re.findall(r"identical (\d+) violations", readme)]
    quoted += [int(x) for x in re.findall(r"the same (\d+) violations|same (\d+) sites", deployment) for x in x if x]
    assert len(quoted) == 3 and set(quoted) == {n}, (quoted, n)


def test_demo_sizes_quoted_in_the_deployment_notes(demo_frames):
    deployment = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    m = re.search(r"demo: (\d+) enterprises, (\d+) kilns, (\d+) farms, ([\d,]+) readings, (\d+) events", deployment)
    assert m, "the deployment notes no longer quote the demo's size"
    quoted = [int(g.replace(",", "")) for g in m.groups()]
    actual = [len(demo_frames[t]) for t in ("enterprises", "kilns", "farms", "readings", "status_events")]
    assert quoted == actual
