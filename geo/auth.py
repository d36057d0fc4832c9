"""Accounts and roles: who may change data.

Read-only pages need no login. Writes need an account with a role:

========== ==================================
role       may
========== ==================================
inspector  ``status_update`` (field reports)
planner    ``status_update``, ``import``
admin      ``status_update``, ``import``
========== ==================================

Accounts are configured by whoever deploys the dashboard, in a TOML secrets
file (``.streamlit/secrets.toml`` beside the app, or the file named by
``QINGSHAN_SECRETS``), one table per account with a bcrypt hash::

    [auth.users.zhang]
    password_hash = "$2b$12$..."
    role = "inspector"

``python -m geo user add zhang --role inspector`` reads the password (without
echo) and prints those lines. Passwords are never stored or printed.

The command line (``python -m geo import --user NAME``) is trusted: whoever
can run it can write the store file anyway, so it asks for no password; it
records NAME as the author and refuses only a configured account whose role
may not import.
"""
from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from .errors import GeoError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRETS = ROOT / ".streamlit" / "secrets.toml"

ROLES = ("inspector", "planner", "admin")
ROLE_LABELS = {"inspector": "巡查员", "planner": "规划员", "admin": "管理员"}
ACTIONS: dict[str, frozenset[str]] = {
    "status_update": frozenset({"inspector", "planner", "admin"}),
    "import": frozenset({"planner", "admin"}),
    # casework: inspectors record inspections and findings; planners and admins take in complaints and
    # enter assessment scores
    "inspect": frozenset({"inspector", "planner", "admin"}),
    "casework": frozenset({"planner", "admin"}),
}
ACTION_LABELS = {"status_update": "更新状态", "import": "导入数据", "inspect": "登记巡查结果",
                 "casework": "登记信访投诉与考核评分"}

#: bcrypt looks at the first 72 bytes only (and bcrypt ≥ 4.1 refuses longer input): we refuse them too.
MAX_PASSWORD_BYTES = 72
_dummy: list[bytes] = []


def _dummy_hash() -> bytes:
    """A hash of a random secret: checking unknown users against it costs as long as a real check."""
    if not _dummy:
        _dummy.append(bcrypt.hashpw(os.urandom(16).hex().encode(), bcrypt.gensalt(12)))
    return _dummy[0]


@dataclass(frozen=True)
class Account:
    """A signed-in user."""

    name: str
    role: str

    @property
    def label(self) -> str:
        return f"{self.name}（{ROLE_LABELS.get(self.role, self.role)}）"


def secrets_path() -> Path:
    """The secrets file: ``QINGSHAN_SECRETS`` if set, else ``.streamlit/secrets.toml`` of the app."""
    env = os.environ.get("QINGSHAN_SECRETS", "").strip()
    return Path(env) if env else DEFAULT_SECRETS


def load_users(path: str | os.PathLike | None = None) -> dict[str, dict]:
    """Configured accounts ``{name: {"password_hash": ..., "role": ...}}`` (empty when none).

    Entries without a hash or with an unknown role are left out: a typo in the
    secrets file must not create an account with more rights than intended.
    """
    p = Path(path) if path is not None else secrets_path()
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"secrets file {p} is not valid TOML: {exc}") from exc
    users = data.get("auth", {}).get("users", {})
    out = {}
    for name, entry in users.items():
        if isinstance(entry, dict) and entry.get("role") in ROLES and isinstance(entry.get("password_hash"), str):
            out[str(name)] = {"password_hash": entry["password_hash"], "role": entry["role"]}
    return out


def hash_password(password: str, *, rounds: int = 12) -> str:
    """A bcrypt hash of ``password`` (refuses empty passwords and those over 72 bytes)."""
    raw = password.encode("utf-8")
    if not raw:
        raise ValueError("empty password")
    if len(raw) > MAX_PASSWORD_BYTES:
        raise ValueError(f"password longer than {MAX_PASSWORD_BYTES} bytes")
    return bcrypt.hashpw(raw, bcrypt.gensalt(rounds)).decode("ascii")


def verify(user: str, password: str, *, path: str | os.PathLike | None = None,
           users: dict[str, dict] | None = None) -> Account | None:
    """The account when ``user`` exists and ``password`` matches its hash, else ``None``.

    An unknown user costs one bcrypt check like a known one, so response time
    does not reveal which names exist.
    """
    users = load_users(path) if users is None else users
    entry = users.get((user or "").strip())
    raw = (password or "").encode("utf-8")
    if not raw or len(raw) > MAX_PASSWORD_BYTES:
        return None
    stored = entry["password_hash"].encode("ascii", "replace") if entry else _dummy_hash()
    try:
        ok = bcrypt.checkpw(raw, stored)
    except ValueError:  # a malformed hash in the secrets file
        ok = False
    return Account(user.strip(), entry["role"]) if ok and entry else None


def can(account: Account | None, action: str) -> bool:
    """Whether ``account`` may perform ``action`` (``status_update`` or ``import``)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return account is not None and account.role in ACTIONS[action]


def role_for_email(email: str, *, path: str | os.PathLike | None = None) -> str | None:
    """Role of a user signed in through the deployment's OIDC (``[auth.roles]``: ``"email" = "role"``)."""
    p = Path(path) if path is not None else secrets_path()
    try:
        with open(p, "rb") as fh:
            roles = tomllib.load(fh).get("auth", {}).get("roles", {})
    except (FileNotFoundError, tomllib.TOMLDecodeError):
        return None
    role = roles.get((email or "").strip().lower()) if isinstance(roles, dict) else None
    return role if role in ROLES else None


def check_cli_user(user: str, action: str, *, path: str | os.PathLike | None = None) -> str:
    """Validate ``--user`` of a shell command (trusted: no password; see the module docstring)."""
    name = (user or "").strip()
    if not name:
        raise GeoError("必须用 --user 指明操作人。", "--user is required: name who makes the change")
    try:
        users = load_users(path)
    except ValueError:
        users = {}
    if name in users and users[name]["role"] not in ACTIONS[action]:
        raise GeoError(f"账号 {name} 的角色（{ROLE_LABELS[users[name]['role']]}）无权{ACTION_LABELS[action]}。",
                       f"account {name} (role {users[name]['role']}) may not {action}")
    return name


def toml_entry(name: str, password_hash: str, role: str) -> str:
    """The secrets-file lines of one account (the name quoted when it is not a bare TOML key)."""
    key = name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)
    return f"[auth.users.{key}]\npassword_hash = {json.dumps(password_hash)}\nrole = {json.dumps(role)}\n"


# --- new accounts ------------------------------------------------------------------------

def login_name(name: str) -> str:
    """``name`` trimmed, or :class:`GeoError` when it cannot be an account's login name."""
    name = (name or "").strip()
    if not name or any(ch in name for ch in "\n\r\"\\") or len(name) > 64:
        raise GeoError("登录名无效。", "invalid login name")
    return name


def new_account(name: str, password: str, role: str) -> str:
    """The secrets-file lines of a new account: ``password`` hashed with bcrypt (never stored in clear).

    Raises :class:`GeoError` for an invalid name or role, or a password shorter than 8 characters.
    """
    name = login_name(name)
    if role not in ROLES:
        raise GeoError(f"未知角色：{role}", f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if len(password) < 8:
        raise GeoError("密码至少 8 个字符。", "the password needs at least 8 characters")
    try:
        hashed = hash_password(password)
    except ValueError as exc:
        raise GeoError(f"密码无效：{exc}", f"invalid password: {exc}") from exc
    return toml_entry(name, hashed, role)
