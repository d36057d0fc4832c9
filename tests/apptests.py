"""Helpers for the pages' AppTests: sign in through the one login form, read what a page says."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest


def sign_in(at: AppTest, user: str, password: str, *, prefix: str = "") -> AppTest:
    """Fill the login form (``login_ui.login_box``; ``prefix`` is its key, e.g. ``cw_``) and submit it."""
    at.text_input(key=f"{prefix}login_user").input(user)
    at.text_input(key=f"{prefix}login_password").input(password)
    next(b for b in at.button if b.label == "登录").click()
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """Every message, text, caption and markdown the page shows, one per line."""
    out = []
    for kind in ("markdown", "text", "caption", "success", "error", "warning", "info"):
        out += [str(e.value) for e in at.get(kind)]
    return "\n".join(out)
