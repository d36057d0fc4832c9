"""Files say who generated them however the user signed in (issue 24, item 7: OIDC sign-ins said 未登录)."""
import streamlit as st

import login_ui
from geo import auth


def test_generated_by_names_the_account_of_any_sign_in(monkeypatch):
    # an OIDC sign-in leaves no "account" in session state: only current_account() knows it
    monkeypatch.setattr(login_ui, "current_account", lambda: auth.Account("zhang@bureau.gov.cn", "planner"))
    st.session_state.pop("account", None)
    assert login_ui.generated_by() == "zhang@bureau.gov.cn（网页）"
    monkeypatch.setattr(login_ui, "current_account", lambda: None)
    assert login_ui.generated_by() == "青山网页（未登录）"
