"""Streamlit glue shared by the casework pages: sign-in (the same session account as /data), escaping, links.

Sign-in mirrors ``views/data.py`` (password form against the deployment's accounts, a short lock after
repeated failures) and stores the account under the same session key, so one login serves every page.
"""
from __future__ import annotations

import html
import re
import time
from urllib.parse import urlencode

import streamlit as st

from geo import auth

LOCK_AFTER, LOCK_SECONDS = 5, 60


def md(text) -> str:
    """``text`` safe inside Streamlit markdown: HTML escaped and markdown syntax neutralised."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~>$])", r"\\\1", html.escape(str(text), quote=True))


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
    locked_until = st.session_state.get("login_locked_until", 0.0)
    with box.form("cw_login", clear_on_submit=True):
        user = st.text_input("用户名", key="cw_login_user", max_chars=64)
        password = st.text_input("密码", type="password", key="cw_login_password", max_chars=72)
        submitted = st.form_submit_button("登录", width="stretch")
    if submitted:
        if time.time() < locked_until:
            box.error(f"尝试次数过多，请 {int(locked_until - time.time()) + 1} 秒后再试。")
        else:
            found = auth.verify(user, password)
            if found:
                st.session_state["account"] = (found.name, found.role)
                st.session_state["login_failures"] = 0
                st.rerun()
            failures = st.session_state.get("login_failures", 0) + 1
            st.session_state["login_failures"] = failures
            if failures >= LOCK_AFTER:
                st.session_state["login_locked_until"] = time.time() + LOCK_SECONDS
                st.session_state["login_failures"] = 0
            box.error("用户名或密码错误。")
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
    st.error(f"{zh}\n\n{en}")
    problems = getattr(exc, "problems", None) or []
    if problems:
        st.dataframe(pd.DataFrame([{"问题": str(p)} for p in problems[:200]]), hide_index=True)
