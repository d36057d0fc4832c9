"""Deployment settings from ``qingshan.toml`` (or the file named by ``QINGSHAN_CONFIG``).

Settings a bureau changes without touching code: basemap, wall-screen timing,
patrol defaults. Missing file or key: the documented default.
"""
from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = {
    "map": {"tiles": "", "tiles_attribution": "", "tile_folder": "", "attribution": True},
    "wall": {"rotate_seconds": 20, "refresh_seconds": 60},
    # the riverside rule's limit D: the one value every page, file, command and the assessment use
    "riverside": {"limit_m": 200},
}


def path() -> Path:
    return Path(os.environ.get("QINGSHAN_CONFIG", ROOT / "qingshan.toml"))


@lru_cache(maxsize=4)
def _load(p: str, mtime: float) -> dict:
    with open(p, "rb") as fh:
        return tomllib.load(fh)


def load() -> dict:
    p = path()
    try:
        return _load(str(p), p.stat().st_mtime)
    except FileNotFoundError:
        return {}


def get(section: str, key: str, default=None):
    """``[section] key`` from the config, else the built-in default, else ``default``."""
    value = load().get(section, {}).get(key)
    if value is None:
        value = DEFAULTS.get(section, {}).get(key, default)
    return value
