"""The login box of every page that writes: a password form (bcrypt, ``geo.auth``) or the deployment's OIDC.

Page-level code (Streamlit), not a page: a page that writes calls
:func:`login_box` once and passes the account to ``geo.auth.can`` before any
write; reading needs no login. Password attempts go through ``geo.auth.login``: failures are
counted per account and per client address in a file shared by every session and process, with
back-off and a lock-out (``[auth]`` in ``qingshan.toml``).
"""
from __future__ import annotations

import streamlit as st

import ui
from geo import auth


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


def login_box(where=None, *, key: str = "") -> auth.Account | None:
    """The login form (or the signed-in account and a logout button); the account or ``None``.

    ``where``: the container (default the sidebar; the phone page puts it on the page itself). ``key``
    keeps the widget keys of two forms on one page apart. Every page that writes signs in here.
    """
    sb = where if where is not None else st.sidebar
    sb.subheader("登录")
    acc = current_account()
    if acc:
        sb.text(f"已登录：{acc.label}")
        if sb.button("退出登录", key=f"{key}logout"):
            st.session_state.pop("account", None)
            if _oidc_configured() and getattr(st.user, "is_logged_in", False):
                st.logout()
            st.rerun()
        return acc
    sb.caption("查看与下载无需登录；导入与状态更新需要账号。")
    with sb.form(f"{key}login", clear_on_submit=True):
        user = st.text_input("用户名", key=f"{key}login_user", max_chars=64)
        password = st.text_input("密码", type="password", key=f"{key}login_password", max_chars=72)
        submitted = st.form_submit_button("登录", width="stretch")
    if submitted:
        # Throttled per account and per client address across sessions and processes (geo.auth.login).
        res = auth.login(user, password, auth.client_address(st.context.ip_address,
                                                             st.context.headers.get("X-Forwarded-For")))
        if res.ok:
            st.session_state["account"] = (res.account.name, res.account.role)
            st.rerun()
        sb.error(f"{ui.md_escape(res.zh)}  \n{ui.md_escape(res.en)}")
    if not auth.load_users():
        sb.caption("尚未配置账号：部署者可用 `python -m geo user add 姓名 --role planner` 生成。")
    if _oidc_configured():
        sb.button("统一身份认证登录", key=f"{key}oidc_login", on_click=st.login)
    return None
