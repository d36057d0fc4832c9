"""Streamlit glue shared by the casework pages: sign-in (the same session account as /data), escaping, links.

Sign-in mirrors ``views/login.py`` (password form against the deployment's accounts, throttled by
``geo.auth.login`` across sessions and processes) and stores the account under the same session key,
so one login serves every page.
"""
from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

import ui
from geo import auth


def md(text) -> str:
    """``text`` safe inside Streamlit markdown (:func:`ui.md_escape`: markdown, HTML, math, links)."""
    return ui.md_escape(text)


def site_link(layer: str, feature_id: str) -> str:
    """Relative URL of a site's file page (``/site?layer=…&id=…``)."""
    return "site?" + urlencode({"layer": layer, "id": feature_id})


def account() -> auth.Account | None:
    acc = st.session_state.get("account")
    return auth.Account(*acc) if acc else None


def login_box(where=None) -> auth.Account | None:
    """Show who is signed in (with a sign-out button) or a sign-in form; return the account."""
    box = where or st.sidebar
    acc = account()
    if acc:
        box.text(f"已登录：{acc.label}")
        if box.button("退出登录", key="cw_logout"):
            st.session_state.pop("account", None)
            st.rerun()
        return acc
    with box.form("cw_login", clear_on_submit=True):
        user = st.text_input("用户名", key="cw_login_user", max_chars=64)
        password = st.text_input("密码", type="password", key="cw_login_password", max_chars=72)
        submitted = st.form_submit_button("登录", width="stretch")
    if submitted:
        # The same throttle as /data (geo.auth.login): per account and address, across sessions and processes.
        res = auth.login(user, password, auth.client_address(st.context.ip_address,
                                                             st.context.headers.get("X-Forwarded-For")))
        if res.ok:
            st.session_state["account"] = (res.account.name, res.account.role)
            st.rerun()
        box.error(f"{md(res.zh)}  \n{md(res.en)}")
    return None


def may(acc: auth.Account | None, action: str) -> bool:
    """Whether ``acc`` may ``action``; says why not (plainly) when it may not."""
    if acc is None:
        st.info("登录后可登记。查看无需登录。")
        return False
    if not auth.can(acc, action):
        st.warning(f"当前账号（{auth.ROLE_LABELS.get(acc.role, acc.role)}）无权{auth.ACTION_LABELS[action]}。")
        return False
    return True


def show_error(exc) -> None:
    """A :class:`geo.errors.GeoError` (or a store refusal) in Chinese and English, its problems as a table."""
    import pandas as pd

    zh, en = getattr(exc, "zh", None) or "操作失败，未写入任何数据。", getattr(exc, "en", None) or str(exc)
    st.error(f"{md(zh)}\n\n{md(en)}")
    problems = getattr(exc, "problems", None) or []
    if problems:
        st.dataframe(pd.DataFrame([{"问题": str(p)} for p in problems[:200]]), hide_index=True)
