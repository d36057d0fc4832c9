"""A throwaway PostgreSQL + PostGIS cluster for tests and benchmarks.

``throwaway_cluster()`` runs ``initdb`` and ``pg_ctl`` from the Debian
packages (``postgresql``, ``postgis``) into a temporary directory, listens on
127.0.0.1 at a free port (its unix socket stays inside the temporary
directory), creates a database with ``CREATE EXTENSION postgis`` and yields
its URL; the cluster is stopped and deleted afterwards. PostgreSQL refuses to
run as root, so when the tests run as root the server runs as the ``postgres``
system user (through ``runuser``).

``QINGSHAN_TEST_PG`` (a ``postgresql://`` URL of a database with PostGIS, on a
server where that role may create databases) makes it use an existing server
instead.

``new_database(url)`` makes a fresh, empty database (with PostGIS) on the same
server from a template: about 0.2 s, so each test gets its own.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

TEMPLATE = "qingshan_template"


class PostgisUnavailable(RuntimeError):
    """PostgreSQL or PostGIS cannot be started here (the message says why)."""


def _bin_dir() -> Path:
    explicit = os.environ.get("PG_BIN")
    candidates = [explicit] if explicit else sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    raise PostgisUnavailable("initdb/pg_ctl not found (install the Debian packages postgresql and postgis)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    """``cmd`` run as the ``postgres`` user when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(map(_shell_quote, cmd))]


def _shell_quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise PostgisUnavailable(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip() or res.stdout.strip()}")
    return res


def _with_db(url: str, db: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + db))


def _admin(url: str):
    import psycopg

    return psycopg.connect(_libpq(url), autocommit=True)


def _libpq(url: str) -> str:
    # psycopg wants a plain postgresql:// URL, not SQLAlchemy's postgresql+psycopg://.
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _prepare_template(url: str) -> None:
    """A template database with PostGIS, so new databases are a cheap file copy."""
    with _admin(_with_db(url, "postgres")) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    with _admin(_with_db(url, TEMPLATE)) as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except Exception as exc:  # noqa: BLE001 - any failure means: no PostGIS here
            raise PostgisUnavailable(f"CREATE EXTENSION postgis failed: {exc}") from exc


def new_database(url: str, name: str | None = None) -> str:
    """A fresh empty database with PostGIS on the server of ``url``; returns its URL."""
    name = name or f"t_{uuid.uuid4().hex[:12]}"
    _prepare_template(url)
    with _admin(_with_db(url, "postgres")) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}" STRATEGY FILE_COPY')
    return _with_db(url, name)


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    try:  # close the store's pooled connections to it first
        from geo.store.postgis import dispose_engine

        dispose_engine(url)
    except ImportError:
        pass
    with _admin(_with_db(url, "postgres")) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def throwaway_cluster(*, durable: bool = False, port: int | None = None) -> Iterator[str]:
    """Start a PostgreSQL+PostGIS cluster in a temp dir; yield the URL of a PostGIS database; stop it after.

    Parameters
    ----------
    durable
        Keep ``fsync`` on (for benchmarks); tests turn it off for speed, which
        is safe for a cluster that is deleted afterwards.
    port
        TCP port on 127.0.0.1; a free one by default.

    Raises
    ------
    PostgisUnavailable
        When the binaries, the ``postgres`` user (as root) or the PostGIS
        extension are missing, or the server does not start.
    """
    if os.environ.get("QINGSHAN_TEST_PG"):
        url = os.environ["QINGSHAN_TEST_PG"]
        _prepare_template(url)
        yield url
        return
    bindir = _bin_dir()
    if os.geteuid() == 0:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise PostgisUnavailable("running as root and there is no 'postgres' user to run the server") from exc
    tmp = Path(tempfile.mkdtemp(prefix="qingshan-pg-"))
    if os.geteuid() == 0:
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    data = tmp / "data"
    port = port or _free_port()
    started = False
    try:
        _run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                              "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]))
        opts = [f"-p {port}", "-c listen_addresses=127.0.0.1", f"-k {tmp}", "-c max_connections=120",
                "-c shared_buffers=64MB"]
        if not durable:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        _run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "server.log"),
                              "-o", " ".join(opts), "-w", "-t", "60", "start"]))
        started = True
        base = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        _prepare_template(base)
        yield new_database(base, "qingshan")
    finally:
        if started:
            subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                                            "stop"]), capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":  # smoke test: python tests/pg.py
    with throwaway_cluster() as u:
        print("PostGIS up at", u)
        with _admin(u) as c:
            print(c.execute("SELECT postgis_version()").fetchone()[0])
