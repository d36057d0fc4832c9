"""Login throttling that holds (issue 14.3): per account and per client address, across sessions and processes.

Failures are counted in a shared SQLite file (geo.auth.LoginThrottle), so a new browser tab, a new
Streamlit session or another server process sees the same count; each failure doubles the wait before
the next attempt, and N failures within the window lock the account out, with a bilingual message
saying for how long. Every success and failure is logged and stored.
"""
from __future__ import annotations

import logging
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
USERS = {"li": ("inspector-pw", "inspector"), "wang": ("planner-pw", "planner")}


def _users() -> dict[str, dict]:
    return {n: {"password_hash": bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)).decode(), "role": role}
            for n, (pw, role) in USERS.items()}


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
    r = auth.login("wang", "planner-pw", "10.0.0.77", throttle=th, users=users, now=t + 600)  # another address
    assert not r.ok and r.locked and "5 分钟" in r.zh and "5 min" in r.en
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
    # even the right password, a minute later, from the same or another address
    for client in ("203.0.113.5", "198.51.100.1"):
        assert not auth.login("li", "inspector-pw", client, throttle=th, users=users, now=t0 + 60).ok


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


def test_attempt_store_broken_means_no_login(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    th = auth.LoginThrottle(blocker / "logins.sqlite", dict(auth.THROTTLE_DEFAULTS))
    r = auth.login("wang", "planner-pw", "192.0.2.1", throttle=th, users=_users())
    assert not r.ok and "登录暂不可用" in r.zh and "unavailable" in r.en


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
    r = auth.login("wang", "planner-pw", "192.0.2.51", throttle=th, users=users)  # a third process, say
    assert not r.ok and r.locked


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
