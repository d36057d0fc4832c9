"""Browser assets for maps, taken from registry packages and served by the app itself.

Leaflet, Leaflet.markercluster and jQuery come from the ``xstatic-*`` packages
on PyPI. They are copied into ``layers/web/vendor`` (not in git) and served by
Streamlit's component route, so a dashboard on an intranet with no internet
loads nothing from outside. Every asset folium would fetch from a CDN is
either mapped to its local copy here or dropped; an unknown one is an error.
"""
from __future__ import annotations

import shutil
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent / "web"
VENDOR_DIR = WEB_DIR / "vendor"
#: Streamlit qualifies a component's name with the module that declares it (``layers.mapview``).
COMPONENT_PREFIX = "layers.mapview."
#: Name under which ``layers.mapview`` registers WEB_DIR as a Streamlit component.
COMPONENT_NAME = COMPONENT_PREFIX + "qmap"


def _sources() -> dict[str, Path]:
    import xstatic.pkg.jquery as jq
    import xstatic.pkg.leaflet as lf
    import xstatic.pkg.leaflet_markercluster as mc

    return {"leaflet": Path(lf.BASE_DIR), "markercluster": Path(mc.BASE_DIR), "jquery": Path(jq.BASE_DIR)}


def ensure_vendor() -> Path:
    """Copy the packaged assets into ``layers/web/vendor`` once (idempotent, atomic per package)."""
    for name, src in _sources().items():
        dst = VENDOR_DIR / name
        if dst.exists():
            continue
        tmp = VENDOR_DIR / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("*.map", "*.esm.js"))
        try:
            tmp.rename(dst)
        except OSError:  # another process won the race
            shutil.rmtree(tmp, ignore_errors=True)
    return VENDOR_DIR


def base_url() -> str:
    """URL prefix of the served assets (honours Streamlit's ``server.baseUrlPath``)."""
    return component_url("qmap")


def component_url(name: str) -> str:
    """URL prefix of the component ``name`` declared in ``layers.mapview`` (assets or a local tile folder)."""
    prefix = ""
    try:
        import streamlit as st

        prefix = (st.get_option("server.baseUrlPath") or "").strip("/")
    except Exception:  # outside a Streamlit server (bench, tests): root-relative
        prefix = ""
    return ("/" + prefix if prefix else "") + f"/component/{COMPONENT_PREFIX}{name}"


def page_url(path: str) -> str:
    """Root-relative URL of an app page (``site`` → ``/site``), honouring ``server.baseUrlPath``.

    Root-relative, so it means the same in a map's ``srcdoc`` iframe and in a component's iframe.
    """
    prefix = ""
    try:
        import streamlit as st

        prefix = (st.get_option("server.baseUrlPath") or "").strip("/")
    except Exception:  # outside a Streamlit server (bench, tests): root-relative
        prefix = ""
    return ("/" + prefix if prefix else "") + "/" + path.strip("/")


# folium's CDN asset names → files under WEB_DIR; None = not needed by our maps, dropped.
LOCAL_ASSETS: dict[str, str | None] = {
    "leaflet": "vendor/leaflet/leaflet.js",
    "leaflet_css": "vendor/leaflet/leaflet.css",
    "jquery": "vendor/jquery/jquery.min.js",
    "markerclusterjs": "vendor/markercluster/leaflet.markercluster.js",
    "markerclustercss": "vendor/markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "vendor/markercluster/MarkerCluster.Default.css",
    "bootstrap": None, "bootstrap_css": None, "glyphicons_css": None, "awesome_markers": None,
    "awesome_markers_font_css": None, "awesome_markers_css": None, "awesome_rotate_css": None,
}


def local_links(links: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Map folium's ``default_js``/``default_css`` entries to local URLs (dropping unneeded ones)."""
    out = []
    base = base_url()
    for name, url in links:
        if url.startswith(base):
            out.append((name, url))
            continue
        if name not in LOCAL_ASSETS:
            raise ValueError(f"map asset {name} ({url}) has no local copy; add it to layers.assets.LOCAL_ASSETS")
        path = LOCAL_ASSETS[name]
        if path:
            out.append((name, f"{base}/{path}"))
    return out
