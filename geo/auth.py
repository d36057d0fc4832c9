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

Password logins on the web page go through :func:`login`, which throttles
guessing across browser sessions, tabs and server processes: every attempt is
recorded in a small shared SQLite file (:func:`throttle_path`), failures are
counted per account and per client address, each failure makes the next
attempt wait longer (exponential back-off), and too many failures within a
window lock the account (or the address) out for a while. Every success and
failure is an audit line, logged (logger ``qingshan.auth``) and stored. The
limits are set in ``qingshan.toml``::

    [auth]
    max_failures = 5               # per account within the window, then a lock-out
    max_failures_per_client = 20   # per client address within the window, then a lock-out
    window_seconds = 900
    lockout_seconds = 900
    backoff_seconds = 1            # wait after the k-th failure in a row: backoff × 2^(k−1)
    throttle_file = ""             # default: qingshan-logins.sqlite beside the store file
    trusted_proxies = []           # addresses whose X-Forwarded-For is believed
"""
from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import sqlite3
import time
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


# --- login throttling ----------------------------------------------------------------------

log = logging.getLogger("qingshan.auth")

#: Defaults of the ``[auth]`` section of ``qingshan.toml`` (see the module docstring).
THROTTLE_DEFAULTS = {
    "max_failures": 5,
    "max_failures_per_client": 20,
    "window_seconds": 900.0,
    "lockout_seconds": 900.0,
    "backoff_seconds": 1.0,
    "throttle_file": "",
    "trusted_proxies": [],
}
THROTTLE_FILE = "qingshan-logins.sqlite"
#: Stored audit lines older than this are removed (the log keeps them as long as it is kept).
AUDIT_DAYS = 400
#: The address recorded when Streamlit reports none (it does so for connections from this machine).
LOCAL = "local"
_MAX_KEY = 128  # longest account name or address stored


def throttle_settings() -> dict:
    """The ``[auth]`` settings of ``qingshan.toml``, each falling back to :data:`THROTTLE_DEFAULTS`."""
    from . import config

    out = {}
    for key, default in THROTTLE_DEFAULTS.items():
        value = config.get("auth", key, default)
        try:
            out[key] = type(default)(value) if not isinstance(default, list) else list(value or [])
        except (TypeError, ValueError):  # a typo in the config must not switch throttling off
            out[key] = default
    out["max_failures"] = max(1, out["max_failures"])
    out["max_failures_per_client"] = max(out["max_failures"], out["max_failures_per_client"])
    return out


def throttle_path(settings: dict | None = None) -> Path:
    """The shared file of login attempts.

    ``[auth] throttle_file`` of ``qingshan.toml`` (relative to that file) when set; else
    ``qingshan-logins.sqlite`` beside the store file named by ``QINGSHAN_STORE``, or in the
    working-copy folder (``data/work``) for the demo copy and for PostGIS stores. Every process
    serving the same store therefore shares one file.
    """
    from . import config

    settings = settings or throttle_settings()
    configured = str(settings.get("throttle_file") or "").strip()
    if configured:
        p = Path(configured).expanduser()
        return p if p.is_absolute() else config.path().parent / p
    spec = os.environ.get("QINGSHAN_STORE", "").strip()
    if spec and "://" not in spec:
        return Path(spec).expanduser().resolve().parent / THROTTLE_FILE
    return ROOT / "data" / "work" / THROTTLE_FILE


def _ip(text) -> str | None:
    try:
        return ipaddress.ip_address(str(text).strip().strip("[]")).compressed
    except ValueError:
        return None


def _trusted(address: str | None, trusted: list) -> bool:
    ip = "127.0.0.1" if address in (None, LOCAL) else address
    for entry in trusted:
        entry = str(entry).strip()
        if entry == "localhost" and ip in ("127.0.0.1", "::1"):
            return True
        try:
            if ipaddress.ip_address(ip) in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(peer: str | None, forwarded_for: str | None = None, trusted: list | None = None) -> str:
    """The address a login attempt is counted under.

    Parameters
    ----------
    peer : the address of the connection (Streamlit's ``st.context.ip_address``; ``None`` for this
        machine).
    forwarded_for : the ``X-Forwarded-For`` header, believed only when ``peer`` is a trusted proxy.
    trusted : addresses or networks of trusted proxies (default ``[auth] trusted_proxies``; empty:
        the header is ignored, since any client can send it).

    Returns
    -------
    str
        The client's IP address (normalised), or ``"local"`` when the connection comes from this
        machine and no trusted proxy names another client.
    """
    trusted = throttle_settings()["trusted_proxies"] if trusted is None else trusted
    addr = _ip(peer) if peer else None
    here = addr or LOCAL
    if forwarded_for and trusted and _trusted(addr, trusted):
        hops = [h.strip() for h in str(forwarded_for).split(",") if h.strip()]
        # The right-most hop not added by one of our proxies is the client: the left part is the client's word.
        for hop in reversed(hops):
            ip = _ip(hop)
            if ip is None:
                return here
            if not _trusted(ip, trusted):
                return ip
        return _ip(hops[0]) or here if hops else here
    return here


@dataclass(frozen=True)
class Verdict:
    """Whether a login attempt may go ahead now."""

    wait: float = 0.0
    locked: bool = False
    by: str = ""  # "account" or "client": which count stopped it

    @property
    def allowed(self) -> bool:
        return self.wait <= 0


def _duration(seconds: float) -> tuple[str, str]:
    s = max(1, int(-(-seconds // 1)))
    if s < 60:
        return f"{s} 秒", f"{s} s"
    m, r = divmod(s, 60)
    return (f"{m} 分 {r} 秒" if r else f"{m} 分钟"), (f"{m} min {r} s" if r else f"{m} min")


def refusal(verdict: Verdict) -> tuple[str, str]:
    """The message (Chinese, English) for an attempt that ``verdict`` holds back."""
    zh, en = _duration(verdict.wait)
    if verdict.locked:
        who = "该账号" if verdict.by == "account" else "本机地址"
        whom = "this account" if verdict.by == "account" else "this address"
        return (f"登录失败次数过多，{who}已被暂时锁定，请 {zh}后再试。",
                f"Too many failed logins: {whom} is locked; try again in {en}.")
    return f"登录尝试过于频繁，请 {zh}后再试。", f"Too many login attempts; try again in {en}."


class LoginThrottle:
    """Login attempts in a shared SQLite file: back-off and lock-out per account and per client address.

    Attempts are recorded *before* the password is checked (as ``pending``), inside one
    ``BEGIN IMMEDIATE`` transaction with the check, so parallel attempts from other sessions or
    processes see each other and wait their turn. A pending attempt counts as a failure until it
    is finished; one left by a crashed process stays a failure.

    Parameters
    ----------
    path : the SQLite file (default :func:`throttle_path`).
    settings : the ``[auth]`` settings (default :func:`throttle_settings`).
    """

    def __init__(self, path: str | os.PathLike | None = None, settings: dict | None = None):
        self.settings = {**THROTTLE_DEFAULTS, **(settings or throttle_settings())}
        self.path = Path(path) if path is not None else throttle_path(self.settings)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=15, isolation_level=None)
        con.execute("PRAGMA busy_timeout = 15000")
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("CREATE TABLE IF NOT EXISTS login_attempts (id INTEGER PRIMARY KEY, at REAL NOT NULL, "
                    "account TEXT NOT NULL, client TEXT NOT NULL, outcome TEXT NOT NULL)")
        con.execute("CREATE INDEX IF NOT EXISTS login_attempts_account ON login_attempts (account, at)")
        con.execute("CREATE INDEX IF NOT EXISTS login_attempts_client ON login_attempts (client, at)")
        return con

    def _verdict(self, con: sqlite3.Connection, account: str, client: str, now: float) -> Verdict:
        s = self.settings
        window, lockout, backoff = float(s["window_seconds"]), float(s["lockout_seconds"]), float(s["backoff_seconds"])
        since = now - window - lockout
        last_ok = con.execute("SELECT MAX(at) FROM login_attempts WHERE account = ? AND outcome = 'success'",
                              (account,)).fetchone()[0] or 0.0
        by_account = [r[0] for r in con.execute(
            "SELECT at FROM login_attempts WHERE account = ? AND outcome <> 'success' AND at > ? AND at > ?",
            (account, since, last_ok))]
        by_client = [r[0] for r in con.execute(
            "SELECT at FROM login_attempts WHERE client = ? AND outcome <> 'success' AND at > ?", (client, since))]
        verdicts = [self._one(by_account, int(s["max_failures"]), 0, now, window, lockout, backoff, "account"),
                    self._one(by_client, int(s["max_failures_per_client"]), int(s["max_failures"]), now, window,
                              lockout, backoff, "client")]
        return max(verdicts, key=lambda v: (v.locked, v.wait))

    @staticmethod
    def _one(times: list[float], limit: int, free: int, now: float, window: float, lockout: float,
             backoff: float, by: str) -> Verdict:
        if not times:
            return Verdict()
        last = max(times)
        # Lock-out: `limit` failures within one window ending at the latest failure.
        if sum(t > last - window for t in times) >= limit and now < last + lockout:
            return Verdict(last + lockout - now, True, by)
        # Back-off: each failure (beyond `free`) in the window doubles the wait after the latest one.
        k = sum(t > now - window for t in times) - free
        if k <= 0:
            return Verdict()
        wait = last + min(backoff * 2 ** (k - 1), lockout) - now
        return Verdict(wait, False, by) if wait > 0 else Verdict()

    def status(self, account: str, client: str, *, now: float | None = None) -> Verdict:
        """Whether ``account`` may try from ``client`` now (nothing is recorded)."""
        now = time.time() if now is None else now
        con = self._connect()
        try:
            return self._verdict(con, _key(account), _key(client), now)
        finally:
            con.close()

    def begin(self, account: str, client: str, *, now: float | None = None) -> int | Verdict:
        """Record an attempt about to check a password: its id, or the :class:`Verdict` that holds it back."""
        now = time.time() if now is None else now
        account, client = _key(account), _key(client)
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                verdict = self._verdict(con, account, client, now)
                if not verdict.allowed:
                    con.execute("ROLLBACK")
                    return verdict
                con.execute("DELETE FROM login_attempts WHERE at < ?", (now - AUDIT_DAYS * 86400.0,))
                cur = con.execute("INSERT INTO login_attempts (at, account, client, outcome) VALUES (?, ?, ?, ?)",
                                  (now, account, client, "pending"))
                con.execute("COMMIT")
                return int(cur.lastrowid)
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
        finally:
            con.close()

    def finish(self, attempt: int, ok: bool) -> None:
        """Mark attempt ``attempt`` a success or a failure (its audit line)."""
        con = self._connect()
        try:
            con.execute("UPDATE login_attempts SET outcome = ? WHERE id = ?", ("success" if ok else "failure", attempt))
        finally:
            con.close()

    def audit(self, limit: int = 1000) -> list[dict]:
        """The latest stored audit lines, newest first: ``at`` (ISO time), ``account``, ``client``, ``outcome``."""
        import datetime as dt

        con = self._connect()
        try:
            rows = con.execute("SELECT at, account, client, outcome FROM login_attempts ORDER BY id DESC LIMIT ?",
                               (int(limit),)).fetchall()
        finally:
            con.close()
        return [{"at": dt.datetime.fromtimestamp(at).isoformat(timespec="seconds"), "account": a, "client": c,
                 "outcome": o} for at, a, c, o in rows]


def _key(text) -> str:
    return str(text or "").strip()[:_MAX_KEY]


@dataclass(frozen=True)
class LoginResult:
    """What :func:`login` decided: the account, or why not (bilingual), and how long to wait."""

    account: Account | None
    zh: str = ""
    en: str = ""
    wait: float = 0.0
    locked: bool = False

    @property
    def ok(self) -> bool:
        return self.account is not None


def login(user: str, password: str, client: str, *, throttle: LoginThrottle | None = None,
          users: dict[str, dict] | None = None, path: str | os.PathLike | None = None,
          now: float | None = None) -> LoginResult:
    """Check a password login, throttled across sessions and processes; every outcome is audited.

    Parameters
    ----------
    user, password : as typed.
    client : the client address (:func:`client_address`).
    throttle : the attempt store (default: :class:`LoginThrottle` on :func:`throttle_path`).
    users, path : the accounts (default: the secrets file), as for :func:`verify`.
    now : clock in seconds since the epoch (tests pass fixed values).

    Returns
    -------
    LoginResult
        ``account`` on success; else a message saying what went wrong and, when the next attempt
        must wait or the account is locked, for how long. When the attempt store cannot be
        written, logins are refused (throttling must not be side-stepped by breaking the file).
    """
    name = _key(user)
    shown = name[:40]
    try:
        throttle = throttle or LoginThrottle()
        attempt = throttle.begin(name, client, now=now)
    except (OSError, sqlite3.Error) as exc:
        log.error("login refused: attempt store unavailable (%s) account=%r client=%s", exc, shown, client)
        return LoginResult(None, "登录暂不可用（无法记录登录尝试），请联系管理员。",
                           f"Login unavailable: the login record {getattr(throttle, 'path', '')} cannot be "
                           f"written ({exc.__class__.__name__}).")
    if isinstance(attempt, Verdict):
        log.warning("login refused: %s account=%r client=%s wait=%.0fs",
                    "locked" if attempt.locked else "back-off", shown, client, attempt.wait)
        zh, en = refusal(attempt)
        return LoginResult(None, zh, en, attempt.wait, attempt.locked)
    found = None
    try:
        found = verify(name, password, path=path, users=users)
    finally:
        throttle.finish(attempt, found is not None)
    if found is not None:
        log.info("login success account=%r client=%s", shown, client)
        return LoginResult(found)
    log.warning("login failure account=%r client=%s", shown, client)
    after = throttle.status(name, client, now=now)
    zh, en = "用户名或密码错误。", "Wrong user name or password."
    if after.locked:
        more_zh, more_en = refusal(after)
        zh, en = f"{zh}{more_zh}", f"{en} {more_en}"
    return LoginResult(None, zh, en, after.wait, after.locked)


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
