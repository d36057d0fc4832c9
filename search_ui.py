"""Picking sites by name or id without sending every site to the browser (issue 13).

A text box whose words go to the database (:meth:`geo.store.Store.search_sites`, at most
:data:`geo.store.search_sql.SEARCH_LIMIT` matches); the pages offer the matches plus what the user
has already picked, so the options stay a few dozen at any store size.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from geo.contract import LAYER_LABELS
from geo.store.search_sql import MAX_QUERY, SEARCH_LAYERS, SEARCH_LIMIT


@st.cache_data(show_spinner=False, max_entries=256)
def _search(spec: str, version: str, text: str, layers: tuple[str, ...], limit: int) -> pd.DataFrame:
    return ui.get_store().search_sites(text, layers=layers, limit=limit)


def search(text: str, layers=SEARCH_LAYERS, limit: int = SEARCH_LIMIT) -> pd.DataFrame:
    """``layer``, ``id``, ``name`` of at most ``limit`` sites matching ``text`` (cached until those layers change)."""
    from geo.store import default_spec

    layers = tuple(layers)
    return _search(default_spec(), ui.data_version(*layers), str(text or ""), layers, int(limit))


def no_matches() -> pd.DataFrame:
    """The answer to no search (an empty text box)."""
    return pd.DataFrame({"layer": [], "id": [], "name": []}, dtype=object)


def label(layer: str, fid: str, name) -> str:
    """How a site is listed: ``名称（图层 编号）``."""
    name = "" if name is None or (isinstance(name, float) and pd.isna(name)) else str(name)
    return f"{name}（{LAYER_LABELS.get(layer, layer)} {fid}）"


def search_box(label_text: str, key: str) -> str:
    """The search text box (at most :data:`MAX_QUERY` characters)."""
    return st.text_input(label_text, key=key, max_chars=MAX_QUERY, placeholder="输入名称或编号的一部分")


def caption_for(matches: pd.DataFrame, text: str, limit: int = SEARCH_LIMIT) -> None:
    """Say how many sites matched (and that only the first ``limit`` are listed)."""
    if text.strip() and not len(matches):
        st.caption(f"没有名称或编号包含“{ui.md_escape(text.strip())}”的点位。")
    elif len(matches) >= limit:
        st.caption(f"只列出前 {limit} 个匹配的点位；请输入更完整的名称或编号。")
