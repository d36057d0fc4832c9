"""Streamlit's own words in Chinese, and its menu off (issue 25): what a person sees reads in Chinese.

Streamlit 1.67 ships no translations: the select boxes ("Choose an option", "No results", "Select all"),
the file uploader ("Upload", "20MB per file"), the camera ("Take Photo"), the table toolbar ("Search",
"Download as CSV"), the status widget ("Running...", "Stop", "CONNECTING") and the connection dialog
("Connection error … Are you connected to the internet?") are English. :func:`install` puts two things on
every page, once per run, before the page draws:

- ``layers/web/zh.js``, inline (served by the app, no CDN): a MutationObserver on the document that
  rewrites Streamlit's strings, text and ``placeholder`` / ``aria-label`` / ``title`` / ``alt``, from a
  small dictionary and a few templates (``/(\\d+)MB per file/`` becomes 单个文件不超过 … MB);
- :data:`CSS`: the ⋮ main menu (Print, Record screen, Made with Streamlit) hidden, also switched off by
  ``toolbarMode = "minimal"`` in ``.streamlit/config.toml``.

The script runs in the main document (``st.html(…, unsafe_allow_javascript=True)`` inserts it there, not
in an iframe) and guards itself, so a page switch that inserts the element again changes nothing. What
Streamlit draws before the first run reaches the browser (the "CONNECTING" of the first load, a fraction
of a second) stays English: no script of the app runs earlier.

Pages pass their own Chinese ``placeholder=`` to select boxes and ``max_upload_size=`` to uploaders, so
the limit the uploader shows is the one enforced (:func:`upload_mb`).
"""
from __future__ import annotations

import functools
import math
import re
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent / "web"
SCRIPT = WEB_DIR / "zh.js"
#: Class of the empty marker next to the script: the CSS hides the element that holds both.
MARK = "qs-zh"
CSS = f"""
[data-testid="stMainMenu"], [data-testid="stAppDeployButton"] {{display: none !important;}}
[data-testid="stElementContainer"]:has(.{MARK}) {{display: none !important;}}
"""
# Streamlit's HTML sanitiser (DOMPurify) drops a <script> whose text holds "<" directly before a letter,
# "/" or "!" (its mXSS guard): the script is written without one, and this says so if that ever changes.
_SANITISER_DROPS = re.compile(r"<[/\w!]")
_MB = 1024 * 1024


@functools.lru_cache(maxsize=1)
def page_html() -> str:
    """The ``<style>``, the marker and the inline ``<script>`` :func:`install` puts on the page."""
    script = SCRIPT.read_text(encoding="utf-8")
    bad = _SANITISER_DROPS.search(script)
    if bad:
        raise ValueError(f"zh.js has {bad.group(0)!r} at {bad.start()}: Streamlit's sanitiser would drop the script")
    return f'<style>{CSS}</style><span class="{MARK}"></span><script>{script}</script>'


def install() -> None:
    """Put the localiser on this page (``app.py`` calls it once per run, before the page runs)."""
    import streamlit as st

    st.html(page_html(), unsafe_allow_javascript=True)


def upload_mb(limit_bytes: float) -> int:
    """An uploader's ``max_upload_size`` (whole MB, as Streamlit takes it) for a limit of ``limit_bytes``.

    Rounded up, so the uploader never refuses a file the check after it would take; the check on the
    bytes (e.g. :func:`geo.attachments.prepare`) stays the one that decides, in Chinese.
    """
    return max(1, math.ceil(limit_bytes / _MB))
