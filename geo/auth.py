"""Accounts and roles: who may change data.

Read-only pages need no login (but show no complainant's personal data: action
``personal_data``, any signed-in account). Writes need an account with a role:

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
recorded in a small shared SQLite file (:func:`throttle_path`) before its
password is checked. Failures are counted in three buckets, each over the last
``window_seconds``:

* **the name from this address** (name, client): each failure doubles the wait
  before the next attempt (``backoff_seconds`` × 2^(k−1)), and ``max_failures``
  lock that name *from that address* for ``lockout_seconds``. This is what
  stops a guesser; it cannot lock the owner out from another address.
* **the name from every address**: ``max_failures_per_account`` failures lock the
  name for everyone, but only for ``account_lockout_seconds`` (short), so guessing
  from many addresses is bounded while strangers can keep an account closed no
  longer than that after their last failure. The owner's correct password then
  signs in and clears this count (and the first, from the owner's address only).
* **names that are not accounts, per address**: failures under made-up names count
  against the client address only (back-off after ``max_failures`` of them, a
  lock-out of that address's made-up names after ``max_failures_per_client``);
  they never count against, slow or lock a configured account, whatever address
  the account signs in from.

The first two treat every name alike, real or not, so their answers do not say
which names exist; the third cannot help telling it to someone who first uses up
an address's made-up names (a real name is still tried from there): the price of
never letting made-up names stop an account. The rule needs one address per
person: behind a reverse proxy set ``trusted_proxies`` (docs/deployment.md).
Where users share an address (every browser on the server machine is ``local``)
a stranger there can lock a name for everyone there for ``lockout_seconds``;
made-up names still cannot.
Every success and failure is an audit line, logged (logger ``qingshan.auth``, to
stderr when the deployment configures no logging) and stored. The limits are set
in ``qingshan.toml``::

    [auth]
    max_failures = 5               # per name and address within the window, then that pair is locked
    max_failures_per_account = 10  # per name from all addresses within the window, then a short lock
    max_failures_per_client = 20   # made-up names per address within the window, then that address is locked
    window_seconds = 900
    lockout_seconds = 900
    account_lockout_seconds = 60   # the short lock of a name for every address
    backoff_seconds = 1            # wait after the k-th failure in a row: backoff × 2^(k−1)
    throttle_file = ""             # default: qingshan-logins.sqlite beside the store file
    trusted_proxies = []           # addresses whose X-Forwarded-For / X-Real-IP is believed
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

from .errors import GeoError, InputError

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
    # complainants' personal data (name …) on pages and in downloads: any signed-in account, never anonymous
    "personal_data": frozenset({"inspector", "planner", "admin"}),
}
ACTION_LABELS = {"status_update": "更新状态", "import": "导入数据", "inspect": "登记巡查结果",
                 "casework": "登记信访投诉与考核评分", "personal_data": "查看投诉人等个人信息"}

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
        raise InputError("密码不能为空。", "empty password")
    if len(raw) > MAX_PASSWORD_BYTES:
        raise InputError(f"密码过长：不能超过 {MAX_PASSWORD_BYTES} 字节（约 {MAX_PASSWORD_BYTES // 3} 个汉字）。",
                         f"password longer than {MAX_PASSWORD_BYTES} bytes")
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
_AUDIT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _audit_log() -> logging.Logger:
    """The audit logger, made to reach stderr at INFO when the deployment configured no logging.

    Under ``streamlit run`` nothing handles a library's records (Streamlit's loggers do not
    propagate), so Python's last-resort handler printed the failures (WARNING) and dropped the
    successes (INFO): the audit trail showed who failed but never who got in.
    """
    if not log.hasHandlers():
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_AUDIT_FORMAT))
        log.addHandler(handler)
        if log.level == logging.NOTSET:
            log.setLevel(logging.INFO)
    return log


#: Defaults of the ``[auth]`` section of ``qingshan.toml`` (see the module docstring).
THROTTLE_DEFAULTS = {
    "max_failures": 5,
    "max_failures_per_account": 10,
    "max_failures_per_client": 20,
    "window_seconds": 900.0,
    "lockout_seconds": 900.0,
    "account_lockout_seconds": 60.0,
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
    out["max_failures_per_account"] = max(out["max_failures"], out["max_failures_per_account"])
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


def client_address(peer: str | None, forwarded_for: str | None = None, trusted: list | None = None, *,
                   real_ip: str | None = None) -> str:
    """The address a login attempt is counted under.

    Parameters
    ----------
    peer : the address of the connection (Streamlit's ``st.context.ip_address``; ``None`` for this
        machine).
    forwarded_for : the ``X-Forwarded-For`` header (repeated headers joined by commas), believed only
        when ``peer`` is a trusted proxy.
    trusted : addresses or networks of trusted proxies (default ``[auth] trusted_proxies``; empty:
        the headers are ignored, since any client can send them).
    real_ip : the ``X-Real-IP`` header, used when a trusted proxy sends no ``X-Forwarded-For``.

    Returns
    -------
    str
        The client's IP address (normalised), or ``"local"`` when the connection comes from this
        machine and no trusted proxy names another client.
    """
    trusted = throttle_settings()["trusted_proxies"] if trusted is None else trusted
    addr = _ip(peer) if peer else None
    here = addr or LOCAL
    if not trusted or not _trusted(addr, trusted):
        return here
    if forwarded_for:
        hops = [h.strip() for h in str(forwarded_for).split(",") if h.strip()]
        # The right-most hop not added by one of our proxies is the client: the left part is the client's word.
        for hop in reversed(hops):
            ip = _ip(hop)
            if ip is None:
                return here
            if not _trusted(ip, trusted):
                return ip
        return _ip(hops[0]) or here if hops else here
    if real_ip:
        return _ip(real_ip) or here
    return here


@dataclass(frozen=True)
class Verdict:
    """Whether a login attempt may go ahead now."""

    wait: float = 0.0
    locked: bool = False
    by: str = ""  # "account" (the name's counts) or "client" (made-up names from the address): which stopped it

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
    """Login attempts in a shared SQLite file: the three counts of the module docstring.

    Attempts are recorded *before* the password is checked (as ``pending``), inside one
    ``BEGIN IMMEDIATE`` transaction with the check, so parallel attempts from other sessions or
    processes see each other and wait their turn. A pending attempt counts as a failure until it
    is finished; one left by a crashed process stays a failure. Each row says whether its name was
    an account (``known``): failures under other names count only against their address.

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
                    "account TEXT NOT NULL, client TEXT NOT NULL, outcome TEXT NOT NULL, "
                    "known INTEGER NOT NULL DEFAULT 1)")
        if "known" not in {r[1] for r in con.execute("PRAGMA table_info(login_attempts)")}:
            # A file written before names were told apart: its rows count as accounts' (as they did).
            try:
                con.execute("ALTER TABLE login_attempts ADD COLUMN known INTEGER NOT NULL DEFAULT 1")
            except sqlite3.OperationalError:  # another process added it first
                pass
        con.execute("CREATE INDEX IF NOT EXISTS login_attempts_account ON login_attempts (account, at)")
        con.execute("CREATE INDEX IF NOT EXISTS login_attempts_client ON login_attempts (client, at)")
        return con

    def _verdict(self, con: sqlite3.Connection, account: str, client: str, known: bool, now: float) -> Verdict:
        """What holds back an attempt under ``account`` from ``client``: the name's two counts, and for a
        name that is not an account (``known`` false) also the address's count of made-up names."""
        s = self.settings
        window, backoff = float(s["window_seconds"]), float(s["backoff_seconds"])
        lockout, short = float(s["lockout_seconds"]), float(s["account_lockout_seconds"])
        since = now - window - max(lockout, short)
        oks = dict(con.execute("SELECT client, MAX(at) FROM login_attempts WHERE account = ? AND outcome = 'success' "
                               "GROUP BY client", (account,)).fetchall())
        none = float("-inf")  # never signed in
        name_ok, pair_ok = max(oks.values(), default=none), oks.get(client, none)
        failed = con.execute("SELECT at, client FROM login_attempts WHERE account = ? AND outcome <> 'success' "
                             "AND at > ?", (account, since)).fetchall()
        # A success clears the name's count from every address; the count from one address only a success
        # from there, so the owner signing in elsewhere does not hand a guesser here a fresh set of tries.
        by_pair = [t for t, c in failed if c == client and t > pair_ok]
        by_name = [t for t, _ in failed if t > name_ok]
        verdicts = [self._one(by_pair, int(s["max_failures"]), 0, now, window, lockout, backoff, "account"),
                    self._one(by_name, int(s["max_failures_per_account"]), 0, now, window, short, 0.0, "account")]
        if not known:
            by_client = [r[0] for r in con.execute(
                "SELECT at FROM login_attempts WHERE client = ? AND known = 0 AND outcome <> 'success' AND at > ?",
                (client, since))]
            verdicts.append(self._one(by_client, int(s["max_failures_per_client"]), int(s["max_failures"]), now,
                                      window, lockout, backoff, "client"))
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
        if k <= 0 or backoff <= 0:
            return Verdict()
        wait = last + min(backoff * 2 ** (k - 1), lockout) - now
        return Verdict(wait, False, by) if wait > 0 else Verdict()

    def status(self, account: str, client: str, *, known: bool = False, now: float | None = None) -> Verdict:
        """Whether ``account`` may try from ``client`` now (nothing is recorded).

        ``known``: whether ``account`` is a configured account (then made-up names tried from
        ``client`` do not hold it back)."""
        now = time.time() if now is None else now
        con = self._connect()
        try:
            return self._verdict(con, _key(account), _key(client), known, now)
        finally:
            con.close()

    def begin(self, account: str, client: str, *, known: bool = False, now: float | None = None) -> int | Verdict:
        """Record an attempt about to check a password: its id, or the :class:`Verdict` that holds it back.

        ``known``: whether ``account`` is a configured account (see :meth:`status`)."""
        now = time.time() if now is None else now
        account, client = _key(account), _key(client)
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                verdict = self._verdict(con, account, client, known, now)
                if not verdict.allowed:
                    con.execute("ROLLBACK")
                    return verdict
                con.execute("DELETE FROM login_attempts WHERE at < ?", (now - AUDIT_DAYS * 86400.0,))
                cur = con.execute("INSERT INTO login_attempts (at, account, client, outcome, known) "
                                  "VALUES (?, ?, ?, ?, ?)", (now, account, client, "pending", int(bool(known))))
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
        """The latest stored audit lines, newest first: ``at`` (ISO time), ``account``, ``client``, ``outcome``
        and ``known`` (whether the name was an account)."""
        import datetime as dt

        con = self._connect()
        try:
            rows = con.execute("SELECT at, account, client, outcome, known FROM login_attempts ORDER BY id DESC "
                               "LIMIT ?", (int(limit),)).fetchall()
        finally:
            con.close()
        return [{"at": dt.datetime.fromtimestamp(at).isoformat(timespec="seconds"), "account": a, "client": c,
                 "outcome": o, "known": bool(k)} for at, a, c, o, k in rows]


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


UNAVAILABLE = ("登录暂不可用（无法记录登录尝试），请联系管理员。",
               "Login unavailable: login attempts cannot be recorded; please tell the administrator.")


def login(user: str, password: str, client: str, *, throttle: LoginThrottle | None = None,
          users: dict[str, dict] | None = None, path: str | os.PathLike | None = None,
          now: float | None = None) -> LoginResult:
    """Check a password login, throttled across sessions and processes; every outcome is audited.

    The rule (module docstring): failures under a name count for that name from that address
    (back-off, then ``lockout_seconds``) and from every address (``account_lockout_seconds``, short);
    failures under names that are not accounts count only against the address. So an account's
    correct password signs in unless that account itself failed ``max_failures`` times from this
    address, or ``max_failures_per_account`` times from anywhere within the last
    ``account_lockout_seconds``; made-up names never stop it.

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
        written, logins are refused (throttling must not be side-stepped by breaking the file);
        the message says so without naming the file, which only the server log names.
    """
    name = _key(user)
    shown = name[:40]
    audit = _audit_log()
    try:
        users = load_users(path) if users is None else users
    except ValueError as exc:  # the secrets file is not TOML: say so in the log, not to the browser
        audit.error("login refused: %s account=%r client=%s", exc, shown, client)
        return LoginResult(None, "登录暂不可用（账号配置有误），请联系管理员。",
                           "Login unavailable: the accounts cannot be read; please tell the administrator.")
    known = name in users
    try:
        throttle = throttle or LoginThrottle()
        attempt = throttle.begin(name, client, known=known, now=now)
    except (OSError, sqlite3.Error) as exc:
        audit.error("login refused: attempt store %s unavailable (%s: %s) account=%r client=%s",
                    getattr(throttle, "path", "?"), exc.__class__.__name__, exc, shown, client)
        return LoginResult(None, *UNAVAILABLE)
    if isinstance(attempt, Verdict):
        audit.warning("login refused: %s account=%r client=%s wait=%.0fs by=%s",
                      "locked" if attempt.locked else "back-off", shown, client, attempt.wait, attempt.by)
        zh, en = refusal(attempt)
        return LoginResult(None, zh, en, attempt.wait, attempt.locked)
    found = None
    try:
        found = verify(name, password, users=users)
    finally:
        throttle.finish(attempt, found is not None)
    if found is not None:
        audit.info("login success account=%r role=%s client=%s", shown, found.role, client)
        return LoginResult(found)
    audit.warning("login failure account=%r client=%s%s", shown, client, "" if known else " (not an account)")
    after = throttle.status(name, client, known=known, now=now)
    zh, en = "用户名或密码错误。", "Wrong user name or password."
    if after.locked:
        more_zh, more_en = refusal(after)
        zh, en = f"{zh}{more_zh}", f"{en} {more_en}"
    return LoginResult(None, zh, en, after.wait, after.locked)


def note_sign_in(account: Account, client: str, how: str) -> None:
    """Log a sign-in that did not go through :func:`login` (the deployment's OIDC), as logins are."""
    _audit_log().info("login success (%s) account=%r role=%s client=%s", how, account.name[:40], account.role,
                      client)


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
