"""The library installs as a package whose version comes from one place (``geo.__version__``)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import geo

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_takes_its_version_and_dependencies_from_one_place():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert set(meta["project"]["dynamic"]) == {"version", "dependencies"}
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "geo.__version__"}
    assert meta["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}


@pytest.mark.slow
def test_the_wheel_builds_with_the_library_and_its_version(tmp_path):
    pytest.importorskip("setuptools")
    # built from a copy, so the build's debris never lands in the checkout
    src = tmp_path / "src"
    shutil.copytree(ROOT / "geo", src / "geo", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copyfile(ROOT / name, src / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(src)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    wheel, = tmp_path.glob("qingshan-*.whl")
    assert wheel.name.startswith(f"qingshan-{geo.__version__}-")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = z.read(next(n for n in names if n.endswith("METADATA"))).decode()
        entry = z.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "geo/__init__.py" in names and "geo/store/gpkg.py" in names and "geo/intake/ledger.py" in names
    assert not any(n.startswith(("views/", "tests/", "layers/")) for n in names)
    assert f"Version: {geo.__version__}" in meta
    # the pinned requirements are the package's dependencies
    assert "Requires-Dist: geopandas==" in meta and "Requires-Dist: shapely==" in meta
    assert "qingshan = geo.cli:main" in entry
