"""Browser-test infrastructure: serve the dashboard locally and drive Debian's Chromium with Playwright.

Never downloads a browser: Playwright launches ``/usr/bin/chromium`` (or
``$QINGSHAN_CHROMIUM``). Outside CI a missing browser skips the test; in CI
(``CI`` set) it fails, since a browser test that does not run proves nothing.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def chromium_path() -> str:
    path = os.environ.get("QINGSHAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(store_path: str | os.PathLike, *, env: dict | None = None, timeout: float = 60.0,
          script: str | os.PathLike | None = None):
    """Run ``streamlit run app.py`` (or ``script``) on a free local port against ``store_path``; yield the
    base URL."""
    port = free_port()
    environment = {**os.environ, "QINGSHAN_STORE": str(store_path), **(env or {})}
    cmd = [sys.executable, "-m", "streamlit", "run", str(script or ROOT / "app.py"), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"qingshan-streamlit-{port}.log", "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("streamlit did not start in time")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.contextmanager
def browser(viewport=(1920, 1080)):
    """A fresh Chromium page context (Playwright) with the given viewport."""
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        ctx = b.new_context(viewport={"width": viewport[0], "height": viewport[1]}, locale="zh-CN")
        try:
            yield ctx
        finally:
            ctx.close()
            b.close()


class Watch:
    """Collects requests to hosts other than the local server, page errors and dialogs of a page."""

    def __init__(self, page, base_url: str):
        self.external: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        host = base_url.split("//", 1)[1].split("/", 1)[0]

        def on_request(req):
            url = req.url
            if url.startswith(("data:", "blob:", "about:")):
                return
            if url.split("//", 1)[-1].split("/", 1)[0] != host:
                self.external.append(url)

        def on_dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("request", on_request)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", on_dialog)
        # iframes (srcdoc maps) report through the same page events


def map_frame(page, timeout: float = 30000):
    """The frame holding the Leaflet map (inside a component iframe), once it has drawn."""
    deadline = time.time() + timeout / 1000
    while time.time() < deadline:
        for frame in page.frames:
            try:
                if frame.evaluate("() => !!(window.L && document.querySelector('.leaflet-container'))"):
                    return frame
            except Exception:
                pass
        time.sleep(0.3)
    raise AssertionError("no Leaflet map appeared on the page")


def settle(page, selector: str = "iframe", timeout: float = 20.0) -> dict:
    """Wait until ``selector``'s box stops moving (Streamlit renders in several passes); return the box."""
    box, deadline = None, time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.5)
        now = page.locator(selector).first.bounding_box()
        if now is not None and now == box:
            return now
        box = now
    raise AssertionError(f"{selector} kept moving for {timeout} s")
