"""Login throttling that holds (issues 14.3, 26.3): per name and address, per name, and made-up names per address.

Failures are counted in a shared SQLite file (geo.auth.LoginThrottle), so a new browser tab, a new
Streamlit session or another server process sees the same count; each failure doubles the wait before
the next attempt, and N failures within the window lock that name from that address, with a bilingual
message saying for how long. Strangers cannot lock an account out: made-up names count only against
their address, and failures from other addresses lock a name only briefly (``account_lockout_seconds``).
Every success and failure is logged and stored.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
import sqlite3
import time
from pathlib import Path

import bcrypt
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from geo import auth
from geo.store import DEMO_STORE

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "data.py")
USERS = {"li": ("inspector-pw", "inspector"), "wang": ("planner-pw", "planner"), "zhao": ("admin-pw", "admin")}


def _users() -> dict[str, dict]:
    return {n: {"password_hash": bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)).decode(), "role": role}
            for n, (pw, role) in USERS.items()}


@pytest.fixture(autouse=True)
def _cheap_dummy_hash(monkeypatch):
    """Made-up names are checked against a dummy hash of cost 12 (0.3 s each); these tests make hundreds."""
    monkeypatch.setattr(auth, "_dummy", [bcrypt.hashpw(b"dummy", bcrypt.gensalt(4))])


def _throttle(tmp_path, **settings) -> auth.LoginThrottle:
    return auth.LoginThrottle(tmp_path / "logins.sqlite", {**auth.THROTTLE_DEFAULTS, **settings})


# --- the rule, on a fixed clock -----------------------------------------------------------------

def test_backoff_doubles_and_lockout_says_how_long(tmp_path):
    th, users, t0 = _throttle(tmp_path), _users(), 1_000_000.0
    r = auth.login("wang", "guess-1", "10.0.0.9", throttle=th, users=users, now=t0)
    assert not r.ok and r.zh.startswith("用户名或密码错误") and r.wait == pytest.approx(1.0)
    # within the back-off: refused without a password check, even the right password
    r = auth.login("wang", "planner-pw", "10.0.0.9", throttle=th, users=users, now=t0 + 0.5)
    assert not r.ok and "请 1 秒后再试" in r.zh and "try again in 1 s" in r.en
    waits = []
    t = t0
    for k in range(2, 5):  # failures 2, 3, 4: waits 2, 4, 8 s
        t += waits[-1] if waits else 1.0
        r = auth.login("wang", f"guess-{k}", "10.0.0.9", throttle=th, users=users, now=t)
        assert not r.ok and not r.locked
        waits.append(r.wait)
    assert waits == pytest.approx([2.0, 4.0, 8.0])
    t += 8.0
    r = auth.login("wang", "guess-5", "10.0.0.9", throttle=th, users=users, now=t)  # the 5th failure: locked
    assert r.locked and r.wait == pytest.approx(900.0)
    assert "已被暂时锁定" in r.zh and "15 分钟" in r.zh and "locked" in r.en and "15 min" in r.en
    r = auth.login("wang", "planner-pw", "10.0.0.9", throttle=th, users=users, now=t + 600)  # same address
    assert not r.ok and r.locked and "5 分钟" in r.zh and "5 min" in r.en
    # issue 26.3: the guesser's address is locked, not the account: its owner signs in from their own address
    r = auth.login("wang", "planner-pw", "10.0.0.77", throttle=th, users=users, now=t + 600)
    assert r.ok and r.account == auth.Account("wang", "planner")
    # ... and that success elsewhere gives the guesser's address no fresh tries
    assert auth.login("wang", "planner-pw", "10.0.0.9", throttle=th, users=users, now=t + 601).locked
    r = auth.login("wang", "planner-pw", "10.0.0.9", throttle=th, users=users, now=t + 901)
    assert r.ok and r.account == auth.Account("wang", "planner")
    # a success clears the account's count: the next typo waits 1 s again, not 16
    r = auth.login("wang", "typo", "10.0.0.9", throttle=th, users=users, now=t + 1000)
    assert not r.ok and r.wait == pytest.approx(1.0)


def test_twelve_guesses_a_minute_are_stopped(tmp_path):
    th, users, t0 = _throttle(tmp_path), _users(), 2_000_000.0
    checked = []
    for k in range(12):  # one guess every 5 seconds
        r = auth.login("li", f"guess-{k}", "203.0.113.5", throttle=th, users=users, now=t0 + 5 * k)
        checked.append(not r.zh.startswith("登录"))  # refused attempts never reach the password check
        assert not r.ok
    assert sum(checked) <= 5  # lock-out after 5 failures: the rest were refused unchecked
    assert r.locked
    # even the right password, a minute later, from the same address; the owner at another address is not
    # locked out by a guesser (issue 26.3): 5 checked failures are below max_failures_per_account
    assert not auth.login("li", "inspector-pw", "203.0.113.5", throttle=th, users=users, now=t0 + 60).ok
    assert auth.login("li", "inspector-pw", "198.51.100.1", throttle=th, users=users, now=t0 + 60).ok


def test_many_accounts_from_one_address_back_off_per_address(tmp_path):
    th, users, t0 = _throttle(tmp_path), _users(), 3_000_000.0
    checked = 0
    for k in range(12):  # password spraying: a different account name each time, one every 5 seconds
        r = auth.login(f"user{k}", "123456", "192.0.2.44", throttle=th, users=users, now=t0 + 5 * k)
        checked += not r.zh.startswith("登录")
    assert checked < 12
    v = th.status("someone-else", "192.0.2.44", now=t0 + 60)
    assert not v.allowed and v.by == "client"
    # another address is not held back by this one
    assert auth.login("wang", "planner-pw", "192.0.2.45", throttle=th, users=users, now=t0 + 60).ok


def test_unknown_accounts_are_throttled_like_known_ones(tmp_path):
    th, users = _throttle(tmp_path, backoff_seconds=0.0, max_failures=3), _users()
    for k in range(3):
        r = auth.login("nobody", "x", "192.0.2.1", throttle=th, users=users, now=100.0 + k)
    assert r.locked and "锁定" in r.zh  # the same answer as for a real account: no hint which names exist


def test_made_up_names_never_stop_an_account(tmp_path):
    """Issue 26.3: made-up names from the address every user shares slowed and then blocked the admin."""
    th, users, t0 = _throttle(tmp_path), _users(), 4_000_000.0
    refused = 0
    for k in range(30):  # one a second, all from `local` (every user behind a proxy that is not trusted)
        r = auth.login(f"nobody{k}", "x", auth.LOCAL, throttle=th, users=users, now=t0 + k)
        refused += r.zh.startswith("登录")
    assert refused >= 15  # made-up names from that address are throttled: back-off after 5, doubling
    assert th.status("nobody-else", auth.LOCAL, now=t0 + 30).by == "client"
    assert th.status("zhao", auth.LOCAL, known=True, now=t0 + 30).allowed
    r = auth.login("zhao", "admin-pw", auth.LOCAL, throttle=th, users=users, now=t0 + 30)
    assert r.ok and r.account == auth.Account("zhao", "admin")
    for k in range(30):  # and from thirty addresses, then the admin from one of them
        auth.login(f"ghost{k}", "x", f"198.51.100.{k + 1}", throttle=th, users=users, now=t0 + 40 + k)
    assert auth.login("zhao", "admin-pw", "198.51.100.3", throttle=th, users=users, now=t0 + 71).ok
    assert not any(a["known"] for a in th.audit() if a["outcome"] == "failure")


def test_strangers_lock_the_admin_out_only_briefly(tmp_path):
    """Issue 26.3: strangers' failures against a real name lock their own addresses for 15 minutes, the
    name for everyone only for account_lockout_seconds after the latest recorded failure."""
    th, users, t0 = _throttle(tmp_path), _users(), 5_000_000.0
    checked = 0
    for k in range(12):  # one stranger guessing as fast as the back-off lets him: 5 checked, then locked
        r = auth.login("zhao", f"guess-{k}", "203.0.113.99", throttle=th, users=users, now=t0 + 20 * k)
        checked += not r.zh.startswith("登录")
    assert checked == 5 and r.locked
    r = auth.login("zhao", "admin-pw", "192.0.2.10", throttle=th, users=users, now=t0 + 241)  # the admin's desk
    assert r.ok
    t1 = t0 + 300
    checked = 0
    for k in range(12):  # twelve strangers, one guess each, one a second
        r = auth.login("zhao", f"guess-{k}", f"203.0.113.{k + 1}", throttle=th, users=users, now=t1 + k)
        checked += not r.zh.startswith("登录")
    assert checked == 10 and r.locked  # max_failures_per_account: the 11th and 12th were not checked
    last = t1 + 9
    r = auth.login("zhao", "admin-pw", "192.0.2.10", throttle=th, users=users, now=t1 + 12)
    assert not r.ok and r.locked and r.wait == pytest.approx(last + 60 - (t1 + 12))
    assert "57 秒" in r.zh and "57 s" in r.en
    # refused attempts do not prolong it; it ends account_lockout_seconds after the last failure
    assert auth.login("zhao", "admin-pw", "192.0.2.10", throttle=th, users=users, now=last + 59).locked
    r = auth.login("zhao", "admin-pw", "192.0.2.10", throttle=th, users=users, now=last + 60.5)
    assert r.ok
    # the success cleared the name's count: the admin's next typo is an ordinary first failure
    r = auth.login("zhao", "typo", "192.0.2.10", throttle=th, users=users, now=last + 70)
    assert not r.locked and r.wait == pytest.approx(1.0)
    # the strangers' own addresses stay locked out of the name (only a success from there clears them)
    assert auth.login("zhao", "admin-pw", "203.0.113.99", throttle=th, users=users, now=last + 70).locked


def test_short_lock_and_account_cap_come_from_the_config(tmp_path):
    th, users = _throttle(tmp_path, max_failures_per_account=6, account_lockout_seconds=5.0), _users()
    for k in range(6):
        auth.login("li", "guess", f"203.0.113.{k + 1}", throttle=th, users=users, now=100.0 + k)
    r = auth.login("li", "inspector-pw", "192.0.2.10", throttle=th, users=users, now=106.0)
    assert r.locked and r.wait == pytest.approx(4.0)
    assert auth.login("li", "inspector-pw", "192.0.2.10", throttle=th, users=users, now=110.5).ok


def test_a_throttle_file_from_before_issue_26_is_read(tmp_path):
    path = tmp_path / "logins.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE login_attempts (id INTEGER PRIMARY KEY, at REAL NOT NULL, account TEXT NOT NULL, "
                "client TEXT NOT NULL, outcome TEXT NOT NULL)")
    con.executemany("INSERT INTO login_attempts (at, account, client, outcome) VALUES (?, 'wang', '192.0.2.1', "
                    "'failure')", [(float(t),) for t in range(5)])
    con.commit()
    con.close()
    th = auth.LoginThrottle(path, dict(auth.THROTTLE_DEFAULTS))
    assert th.status("wang", "192.0.2.1", known=True, now=10.0).locked  # old rows count for their name
    r = auth.login("li", "inspector-pw", "192.0.2.1", throttle=th, users=_users(), now=10.0)
    assert r.ok and th.audit()[0] == {**th.audit()[0], "account": "li", "outcome": "success", "known": True}


def test_successes_reach_the_log_when_nothing_configures_logging(tmp_path):
    """Issue 26.8: under `streamlit run` nothing handles qingshan.auth, so INFO (successes) vanished while
    WARNING (failures) reached stderr. Run as the server does: a fresh interpreter, no logging set up."""
    import json
    import subprocess
    import sys

    code = ("import json, sys; from geo import auth; "
            "th = auth.LoginThrottle(sys.argv[1], dict(auth.THROTTLE_DEFAULTS)); users = json.loads(sys.argv[2]); "
            "auth.login('wang', 'wrong', '192.0.2.7', throttle=th, users=users); "
            "auth.login('li', 'inspector-pw', '192.0.2.8', throttle=th, users=users)")
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "l.sqlite"), json.dumps(_users())], cwd=root,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert any("login failure" in x and "'wang'" in x and "192.0.2.7" in x for x in lines), r.stderr
    assert any("login success" in x and "'li'" in x and "192.0.2.8" in x and "inspector" in x for x in lines), r.stderr
    assert "inspector-pw" not in r.stderr and "wrong" not in r.stderr


def test_audit_lines_logged_and_stored(tmp_path, caplog):
    th, users = _throttle(tmp_path), _users()
    with caplog.at_level(logging.INFO, logger="qingshan.auth"):
        auth.login("wang", "wrong", "192.0.2.7", throttle=th, users=users, now=10.0)
        auth.login("wang", "wrong", "192.0.2.7", throttle=th, users=users, now=10.2)  # refused: back-off
        auth.login("wang", "planner-pw", "192.0.2.7", throttle=th, users=users, now=12.0)
    stored = th.audit()
    assert [(a["account"], a["client"], a["outcome"]) for a in stored] == [
        ("wang", "192.0.2.7", "success"), ("wang", "192.0.2.7", "failure")]
    assert all(a["at"][:4].isdigit() for a in stored)
    messages = [r.getMessage() for r in caplog.records if r.name == "qingshan.auth"]
    assert any("login failure" in m and "'wang'" in m and "192.0.2.7" in m for m in messages)
    assert any("login refused" in m for m in messages)
    assert any("login success" in m for m in messages)
    assert all("wrong" not in m and "planner-pw" not in m for m in messages)  # passwords never logged


def test_attempt_store_broken_means_no_login(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    th = auth.LoginThrottle(blocker / "logins.sqlite", dict(auth.THROTTLE_DEFAULTS))
    with caplog.at_level(logging.INFO, logger="qingshan.auth"):
        r = auth.login("wang", "planner-pw", "192.0.2.1", throttle=th, users=_users())
    assert not r.ok and "登录暂不可用" in r.zh and "unavailable" in r.en
    # issue 26.8: the server's paths are for its log, not for whoever is at the login form
    assert str(tmp_path) not in r.zh + r.en and "sqlite" not in (r.zh + r.en).lower()
    assert any(str(blocker / "logins.sqlite") in rec.getMessage() for rec in caplog.records)


def test_settings_from_qingshan_toml(tmp_path, monkeypatch):
    cfg = tmp_path / "qingshan.toml"
    cfg.write_text('[auth]\nmax_failures = 3\nlockout_seconds = 60\nthrottle_file = "state/logins.db"\n'
                   'backoff_seconds = "oops"\n', encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))
    s = auth.throttle_settings()
    assert s["max_failures"] == 3 and s["lockout_seconds"] == 60.0 and s["backoff_seconds"] == 1.0
    assert auth.throttle_path() == tmp_path / "state" / "logins.db"
    cfg.write_text("[auth]\n", encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_STORE", str(tmp_path / "stores" / "s.gpkg"))
    assert auth.throttle_path() == (tmp_path / "stores").resolve() / auth.THROTTLE_FILE


def test_client_address_trusts_forwarded_for_only_from_configured_proxies():
    assert auth.client_address(None) == auth.LOCAL
    assert auth.client_address("203.0.113.9", "1.2.3.4", trusted=[]) == "203.0.113.9"  # header ignored
    assert auth.client_address(None, "1.2.3.4", trusted=[]) == auth.LOCAL
    # behind a trusted proxy on this machine: the right-most address the proxy saw
    assert auth.client_address(None, "6.6.6.6, 198.51.100.7", trusted=["127.0.0.1"]) == "198.51.100.7"
    assert auth.client_address("10.1.2.3", "198.51.100.7, 10.1.2.4", trusted=["10.0.0.0/8"]) == "198.51.100.7"
    # a proxy that is not trusted: its header is ignored
    assert auth.client_address("10.1.2.3", "198.51.100.7", trusted=["192.168.0.0/16"]) == "10.1.2.3"
    assert auth.client_address(None, "not-an-ip", trusted=["127.0.0.1"]) == auth.LOCAL
    assert auth.client_address("2001:db8:0:0::1") == "2001:db8::1"


def test_client_address_reads_x_real_ip_from_trusted_proxies_only():
    assert auth.client_address(None, None, trusted=["127.0.0.1"], real_ip="198.51.100.7") == "198.51.100.7"
    assert auth.client_address(None, None, trusted=[], real_ip="198.51.100.7") == auth.LOCAL
    assert auth.client_address("203.0.113.9", None, trusted=["127.0.0.1"], real_ip="1.2.3.4") == "203.0.113.9"
    # X-Forwarded-For first (it names every hop), and X-Real-IP that is no address changes nothing
    assert auth.client_address(None, "198.51.100.8", trusted=["127.0.0.1"], real_ip="198.51.100.7") == "198.51.100.8"
    assert auth.client_address(None, None, trusted=["127.0.0.1"], real_ip="nonsense") == auth.LOCAL


# --- several processes --------------------------------------------------------------------------

GUESSER = """
import json, os, sys, time
from geo import auth
path, users, n, go = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
th = auth.LoginThrottle(path, {**auth.THROTTLE_DEFAULTS, "backoff_seconds": 0.0, "max_failures": 5})
while not os.path.exists(go):  # start together
    time.sleep(0.005)
checked = 0
for k in range(n):
    r = auth.login("wang", f"wrong-{k}", "192.0.2.50", throttle=th, users=users)
    checked += not r.zh.startswith("登录")
print(checked)
"""


def test_two_processes_share_the_count(tmp_path):
    """Two server processes guessing at once: exactly N failures are checked in all, then both are locked out."""
    import json
    import subprocess
    import sys

    users = _users()
    path, go = str(tmp_path / "logins.sqlite"), tmp_path / "go"
    root = Path(__file__).resolve().parent.parent
    procs = [subprocess.Popen([sys.executable, "-c", GUESSER, path, json.dumps(users), "8", str(go)], cwd=root,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(1.0)
    go.write_text("go")
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    assert sum(int(o[0].strip()) for o in outs) == 5
    con = sqlite3.connect(path)
    assert con.execute("SELECT COUNT(*) FROM login_attempts WHERE outcome = 'failure'").fetchone()[0] == 5
    con.close()
    th = auth.LoginThrottle(path, dict(auth.THROTTLE_DEFAULTS))
    r = auth.login("wang", "planner-pw", "192.0.2.50", throttle=th, users=users)  # a third process, say
    assert not r.ok and r.locked
    assert auth.login("wang", "planner-pw", "192.0.2.51", throttle=th, users=users).ok  # the owner, elsewhere


def test_real_clock_guessing_is_slowed(tmp_path):
    th, users = _throttle(tmp_path), _users()
    t0, checked = time.time(), 0
    while time.time() - t0 < 3.0:  # as fast as possible for three seconds
        checked += not auth.login("li", "guess", "192.0.2.60", throttle=th, users=users).zh.startswith("登录")
    assert 1 <= checked <= 3  # 1 s, then 2 s of back-off


# --- the page: a new session does not reset the lock-out -----------------------------------------

@pytest.fixture
def env(tmp_path, monkeypatch):
    store = tmp_path / "store.gpkg"
    shutil.copyfile(DEMO_STORE, store)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("\n".join(auth.toml_entry(n, u["password_hash"], u["role"]) for n, u in _users().items()),
                       encoding="utf-8")
    cfg = tmp_path / "qingshan.toml"
    cfg.write_text("[auth]\nmax_failures = 3\nbackoff_seconds = 0\nlockout_seconds = 600\n", encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_STORE", str(store))
    monkeypatch.setenv("QINGSHAN_SECRETS", str(secrets))
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path
    st.cache_resource.clear()
    st.cache_data.clear()


def _session() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _login(at: AppTest, user: str, password: str) -> str:
    at.sidebar.text_input(key="login_user").input(user)
    at.sidebar.text_input(key="login_password").input(password)
    next(b for b in at.sidebar.button if b.label == "登录").click()
    at.run()
    assert not at.exception, at.exception
    return "\n".join(e.value for e in at.sidebar.error)


def _signed_in(at: AppTest) -> bool:
    return any(t.value.startswith("已登录") for t in at.sidebar.text)


def test_new_sessions_do_not_reset_the_lockout(env):
    first = _session()
    for k in range(3):
        msg = _login(first, "wang", f"guess-{k}")
    assert "锁定" in msg and "10 分钟" in msg and "locked" in msg and "10 min" in msg
    for at in (_session(), _session()):  # a new tab, then another
        msg = _login(at, "wang", "planner-pw")
        assert not _signed_in(at) and "锁定" in msg
    assert not _signed_in(first)
    # the lock-out is per account: a colleague at the same address still signs in
    other = _session()
    assert _login(other, "li", "inspector-pw") == "" and _signed_in(other)
    th = auth.LoginThrottle(env / auth.THROTTLE_FILE)
    outcomes = [a["outcome"] for a in th.audit() if a["account"] == "wang"]
    assert outcomes == ["failure"] * 3  # the refused attempts were not checked
    assert th.audit()[0]["account"] == "li" and th.audit()[0]["outcome"] == "success"


# --- the page behind the documented nginx: one address per user (issue 26.3) ----------------------

class _Connection:
    """What Streamlit's server hands a session (``ClientContext``): the TCP peer and the handshake headers."""

    def __init__(self):
        self.remote_ip, self.headers, self.cookies = "127.0.0.1", [], {}

    def via_nginx(self, browser: str, *, spoofed: str = "") -> None:
        """A request through nginx on this machine (``proxy_add_x_forwarded_for``, ``X-Real-IP``); ``spoofed``:
        an X-Forwarded-For the browser sent itself, which nginx keeps on the left."""
        self.remote_ip = "127.0.0.1"
        self.headers = [("X-Forwarded-For", f"{spoofed}, {browser}" if spoofed else browser), ("X-Real-IP", browser)]


@pytest.fixture
def behind_nginx(env, monkeypatch):
    """The page as deployed in docs/deployment.md: nginx at 127.0.0.1 and ``trusted_proxies = ["127.0.0.1"]``."""
    cfg = env / "proxied.toml"
    cfg.write_text("[auth]\nmax_failures = 3\nmax_failures_per_client = 10\nbackoff_seconds = 0\n"
                   "lockout_seconds = 600\naccount_lockout_seconds = 8\ntrusted_proxies = [\"127.0.0.1\"]\n",
                   encoding="utf-8")
    monkeypatch.setenv("QINGSHAN_CONFIG", str(cfg))
    conn = _Connection()
    import streamlit.runtime.context as context

    monkeypatch.setattr(context, "_get_client_context", lambda: conn)
    return conn


def test_behind_the_proxy_strangers_do_not_stop_the_admin(env, behind_nginx):
    conn = behind_nginx
    admin, stranger = _session(), _session()
    # 12 failures under made-up names from the admin's own address (a colleague at the same desk): that
    # address's made-up names are locked after 10 ...
    conn.via_nginx("192.0.2.10")
    msgs = [_login(stranger, f"nobody{k}", "123456") for k in range(12)]
    assert "本机地址已被暂时锁定" in msgs[-1]
    # ... and 12 more from twelve addresses, each sending a forged X-Forwarded-For
    for k in range(12):
        conn.via_nginx(f"203.0.113.{k + 1}", spoofed="192.0.2.10")
        _login(stranger, f"ghost{k}", "123456")
    conn.via_nginx("192.0.2.10")
    assert _login(admin, "zhao", "admin-pw") == "" and _signed_in(admin)
    _logout(admin)
    # 12 failures against the admin's name from twelve strangers' addresses: the name is locked for
    # everyone, but only for account_lockout_seconds (8 s) after the last recorded failure
    for k in range(12):
        conn.via_nginx(f"198.51.100.{k + 1}", spoofed="192.0.2.10")
        _login(stranger, "zhao", f"guess-{k}")
    th = auth.LoginThrottle(env / auth.THROTTLE_FILE)
    last = max(dt.datetime.fromisoformat(a["at"]) for a in th.audit() if a["account"] == "zhao")
    conn.via_nginx("192.0.2.10")
    msg = _login(admin, "zhao", "admin-pw")
    assert not _signed_in(admin) and "该账号已被暂时锁定" in msg and re.search(r"请 [1-8] 秒后再试", msg)
    deadline = time.monotonic() + 30
    while not th.status("zhao", "192.0.2.10", known=True).allowed and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _login(admin, "zhao", "admin-pw") == "" and _signed_in(admin)
    assert dt.datetime.now() - last < dt.timedelta(seconds=8 + 10)  # not 10 minutes: 8 s + this test's pace
    # every attempt was counted under the browser's own address, not the proxy's and not the forged one
    lines = th.audit()
    assert {a["client"] for a in lines if a["account"] == "zhao" and a["outcome"] == "failure"} == {
        f"198.51.100.{k + 1}" for k in range(10)}  # the 11th and 12th were refused unchecked
    assert {a["client"] for a in lines if a["account"].startswith("ghost")} == {f"203.0.113.{k + 1}" for k in range(12)}
    assert [a["client"] for a in lines if a["account"] == "zhao" and a["outcome"] == "success"] == ["192.0.2.10"] * 2
    assert not {auth.LOCAL, "127.0.0.1"} & {a["client"] for a in lines}


def test_the_page_reads_x_real_ip_and_a_peer_streamlit_already_rewrote(env, behind_nginx):
    conn = behind_nginx
    at = _session()
    conn.remote_ip, conn.headers = "127.0.0.1", [("X-Real-IP", "192.0.2.21")]  # a proxy sending only X-Real-IP
    _login(at, "wang", "typo")
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 itself: the session's peer is then the browser already
    conn.remote_ip, conn.headers = "192.0.2.22", [("X-Forwarded-For", "192.0.2.22")]
    _login(at, "wang", "typo")
    conn.remote_ip, conn.headers = "192.0.2.23", [("X-Forwarded-For", "10.0.0.1")]  # not from a trusted proxy
    _login(at, "wang", "typo")
    th = auth.LoginThrottle(env / auth.THROTTLE_FILE)
    assert [a["client"] for a in th.audit()] == ["192.0.2.23", "192.0.2.22", "192.0.2.21"]


def _logout(at: AppTest) -> None:
    next(b for b in at.sidebar.button if b.label == "退出登录").click()
    at.run()
    assert not at.exception, at.exception
