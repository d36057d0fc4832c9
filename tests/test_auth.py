"""Accounts and roles: bcrypt verification, role checks, the secrets file, the ``user add`` helper."""
from __future__ import annotations

import io
import sys
import tomllib

import bcrypt
import pytest

from geo import auth
from geo.cli import main as geo_main


def _secrets(tmp_path, users: dict[str, tuple[str, str]]) -> str:
    lines = []
    for name, (pw, role) in users.items():
        h = bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)).decode()
        lines.append(auth.toml_entry(name, h, role))
    p = tmp_path / "secrets.toml"
    p.write_text("\n".join(lines), encoding="utf-8")
    return str(p)


@pytest.fixture
def secrets(tmp_path, monkeypatch):
    path = _secrets(tmp_path, {"li": ("inspect-pass", "inspector"), "wang": ("plan-pass1", "planner"),
                               "张三": ("admin-pass", "admin")})
    monkeypatch.setenv("QINGSHAN_SECRETS", path)
    return path


def test_verify_good_and_bad_passwords(secrets):
    assert auth.verify("li", "inspect-pass") == auth.Account("li", "inspector")
    assert auth.verify("张三", "admin-pass") == auth.Account("张三", "admin")
    assert auth.verify("li", "wrong") is None
    assert auth.verify("li", "") is None
    assert auth.verify("nobody", "inspect-pass") is None
    assert auth.verify("li", "x" * 100) is None  # beyond bcrypt's 72 bytes: refused, not truncated


def test_roles_and_actions(secrets):
    inspector, planner, admin = (auth.verify("li", "inspect-pass"), auth.verify("wang", "plan-pass1"),
                                 auth.verify("张三", "admin-pass"))
    assert auth.can(inspector, "status_update") and not auth.can(inspector, "import")
    assert auth.can(planner, "import") and auth.can(planner, "status_update")
    assert auth.can(admin, "import") and auth.can(admin, "status_update")
    assert not auth.can(None, "status_update") and not auth.can(None, "import")
    with pytest.raises(ValueError):
        auth.can(admin, "drop_everything")


def test_bad_entries_grant_nothing(tmp_path):
    p = tmp_path / "s.toml"
    h = bcrypt.hashpw(b"password1", bcrypt.gensalt(4)).decode()
    p.write_text(f'[auth.users.a]\npassword_hash = "{h}"\nrole = "root"\n'
                 f'[auth.users.b]\nrole = "admin"\n'
                 f'[auth.users.c]\npassword_hash = "not-a-hash"\nrole = "admin"\n', encoding="utf-8")
    assert auth.load_users(p) == {"c": {"password_hash": "not-a-hash", "role": "admin"}}
    assert auth.verify("a", "password1", path=p) is None
    assert auth.verify("c", "not-a-hash", path=p) is None


def test_no_secrets_file_means_no_accounts(tmp_path, monkeypatch):
    monkeypatch.setenv("QINGSHAN_SECRETS", str(tmp_path / "absent.toml"))
    assert auth.load_users() == {}
    assert auth.verify("li", "inspect-pass") is None


def test_user_add_prints_toml_that_verifies(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret-pass\n"))
    assert geo_main(["user", "add", "赵六", "--role", "planner"]) == 0
    out = capsys.readouterr().out
    assert "s3cret-pass" not in out
    p = tmp_path / "s.toml"
    p.write_text(out, encoding="utf-8")
    data = tomllib.loads(out)["auth"]["users"]["赵六"]
    assert data["role"] == "planner" and data["password_hash"].startswith("$2b$")
    assert auth.verify("赵六", "s3cret-pass", path=p) == auth.Account("赵六", "planner")


def test_user_add_refuses_short_passwords(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert geo_main(["user", "add", "x", "--role", "admin"]) == 2
    assert "8" in capsys.readouterr().err


def test_oidc_roles(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('[auth.roles]\n"li@example.org" = "inspector"\n"x@example.org" = "superuser"\n', encoding="utf-8")
    assert auth.role_for_email("LI@example.org ".lower(), path=p) == "inspector"
    assert auth.role_for_email("x@example.org", path=p) is None
    assert auth.role_for_email("nobody@example.org", path=p) is None


def test_personal_data_needs_a_signed_in_account():
    """Issue 26.8: complainants' names are for accounts of every role, never for anonymous readers."""
    assert not auth.can(None, "personal_data")
    assert all(auth.can(auth.Account("x", role), "personal_data") for role in auth.ROLES)


def test_oidc_sign_ins_are_logged_like_password_logins(caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="qingshan.auth"):
        auth.note_sign_in(auth.Account("li@example.org", "inspector"), "192.0.2.9", "oidc")
    (rec,) = [r for r in caplog.records if r.name == "qingshan.auth"]
    assert rec.levelno == logging.INFO and "login success (oidc)" in rec.getMessage()
    assert "'li@example.org'" in rec.getMessage() and "inspector" in rec.getMessage() and "192.0.2.9" in rec.getMessage()
