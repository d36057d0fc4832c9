"""Lint: ruff's gate (unused names, undefined names, loop-variable closures) and a ratchet on size.

``ruff check .`` (pyproject.toml ``[tool.ruff]``: F, B023) must pass. Functions over the complexity (C901,
14) or argument (PLR0913, 8) bounds are listed in ``tests/lint_ratchet.txt``: a new one fails this test, and
so does one that was fixed but is still listed (take it off the list), so the list only ever shrinks.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RATCHET = ROOT / "tests" / "lint_ratchet.txt"


def _ruff(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    return subprocess.run([exe, "check", ".", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def offenders() -> set[str]:
    """``CODE path function`` of every function over the size bounds."""
    out = _ruff("--select", "C901,PLR0913", "--output-format", "json", "--exit-zero")
    assert out.returncode == 0, out.stderr
    found = set()
    for e in json.loads(out.stdout):
        path = Path(e["filename"]).resolve().relative_to(ROOT)
        line = (ROOT / path).read_text(encoding="utf-8").splitlines()[e["location"]["row"] - 1]
        name = re.search(r"def\s+(\w+)", line)
        found.add(f"{e['code']} {path.as_posix()} {name.group(1) if name else e['location']['row']}")
    return found


def test_ruff_passes():
    out = _ruff()
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_function_grows_past_the_bounds():
    listed = {ln.strip() for ln in RATCHET.read_text(encoding="utf-8").splitlines()
              if ln.strip() and not ln.startswith("#")}
    now = offenders()
    assert not now - listed, f"new functions over the bounds (split them): {sorted(now - listed)}"
    assert not listed - now, f"fixed, take them off tests/lint_ratchet.txt: {sorted(listed - now)}"
