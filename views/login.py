"""The login box of every page that writes: a password form (bcrypt, ``geo.auth``) or the deployment's OIDC.

Page-level code (Streamlit), not a page: a page that writes calls
:func:`login_box` once and passes the account to ``geo.auth.can`` before any
write; reading needs no login. Failed attempts lock the form for
:data:`LOGIN_LOCK_SECONDS` after :data:`LOGIN_LOCK_AFTER` tries in a session.
"""
from __future__ import annotations

import time

import streamlit as st

from geo import auth

LOGIN_LOCK_AFTER, LOGIN_LOCK_SECONDS = 5, 60


def _oidc_configured() -> bool:
    try:
        cfg = st.secrets.get("auth", {})
        return bool(cfg.get("redirect_uri")) and bool(cfg.get("cookie_secret"))
    except Exception:  # no secrets file at all
        return False


def current_account() -> auth.Account | None:
    """The signed-in account of this session (password form, or the deployment's OIDC)."""
    acc = st.session_state.get("account")
    if acc:
        return auth.Account(*acc)
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        email = str(st.user.get("email") or "")
        role = auth.role_for_email(email.lower())
        if role:
            return auth.Account(email, role)
    return None


def login_box() -> auth.Account | None:
    """The sidebar's login form (or the signed-in account and a logout button); the account or ``None``."""
    sb = st.sidebar
    sb.subheader("登录")
    acc = current_account()
    if acc:
        sb.text(f"已登录：{acc.label}")
        if sb.button("退出登录", key="logout"):
            st.session_state.pop("account", None)
            if _oidc_configured() and getattr(st.user, "is_logged_in", False):
                st.logout()
            st.rerun()
        return acc
    sb.caption("查看与下载无需登录；导入与状态更新需要账号。")
    locked_until = st.session_state.get("login_locked_until", 0.0)
    with sb.form("login", clear_on_submit=True):
        user = st.text_input("用户名", key="login_user", max_chars=64)
        password = st.text_input("密码", type="password", key="login_password", max_chars=72)
        submitted = st.form_submit_button("登录")
    if submitted:
        if time.time() < locked_until:
            sb.error(f"尝试次数过多，请 {int(locked_until - time.time()) + 1} 秒后再试。")
        else:
            found = auth.verify(user, password)
            if found:
                st.session_state["account"] = (found.name, found.role)
                st.session_state["login_failures"] = 0
                st.rerun()
            failures = st.session_state.get("login_failures", 0) + 1
            st.session_state["login_failures"] = failures
            if failures >= LOGIN_LOCK_AFTER:
                st.session_state["login_locked_until"] = time.time() + LOGIN_LOCK_SECONDS
                st.session_state["login_failures"] = 0
            sb.error("用户名或密码错误。")
    if not auth.load_users():
        sb.caption("尚未配置账号：部署者可用 `python -m geo user add 姓名 --role planner` 生成。")
    if _oidc_configured():
        sb.button("统一身份认证登录", key="oidc_login", on_click=st.login)
    return None
