#!/usr/bin/env python3
"""Regenerate the wall screenshots: docs/screens/wall_1080p.png and docs/screens/wall_4k.png.

Run from the repository: ``.venv/bin/python scripts/wall_screens.py [--out docs/screens] [--as-of D]``.
Serves a private copy of the demo store with the app (tests/browser.py: Debian's chromium, nothing
downloaded), opens /wall at 1920×1080 and 3840×2160, waits until the map and the charts have drawn, and
saves one screenshot each. ``shoot_wall`` is importable for a script covering more pages.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import browser, map_frame, serve, settle  # noqa: E402
from tests.conftest import DEMO  # noqa: E402

SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}
#: The wall's charts have drawn when every vega view has a nonzero canvas or svg.
CHARTS_DRAWN = """() => {
  const els = [...document.querySelectorAll('[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg')];
  return els.length >= 2 && els.every(e => e.getBoundingClientRect().width > 50 && e.getBoundingClientRect().height > 50);
}"""


def wait_drawn(page, timeout: float = 60.0) -> None:
    """Until the tiles, the map and the charts are on the page and have stopped moving."""
    page.wait_for_selector(".qs-tile", timeout=timeout * 1000)
    map_frame(page, timeout=timeout * 1000)
    page.wait_for_function(CHARTS_DRAWN, timeout=timeout * 1000)
    settle(page)
    time.sleep(1.0)


def shoot_wall(ctx_factory, url: str, out: Path, *, query: str = "", sizes=SIZES) -> list[Path]:
    """Screenshots of ``url``/wall at each size into ``out`` (``wall_<tag>.png``); returns the paths."""
    saved = []
    for tag, size in sizes.items():
        with ctx_factory(viewport=size) as ctx:
            page = ctx.new_page()
            page.goto(f"{url}/wall{query}", wait_until="load")
            wait_drawn(page)
            path = out / f"wall_{tag}.png"
            page.screenshot(path=str(path))
            saved.append(path)
            print(f"saved {path}", flush=True)
            page.close()
    return saved


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "screens"))
    ap.add_argument("--as-of", help="replay date YYYY-MM-DD (default: the data date)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="qingshan-wall-"))
    try:
        shutil.copyfile(DEMO, tmp / "store.gpkg")
        (tmp / "qingshan.toml").write_text("[wall]\nrotate_seconds = 600\nrefresh_seconds = 600\n", encoding="utf-8")
        with serve(tmp / "store.gpkg", env={"QINGSHAN_CONFIG": str(tmp / "qingshan.toml")}) as url:
            shoot_wall(browser, url, out, query=f"?as_of={args.as_of}" if args.as_of else "")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
