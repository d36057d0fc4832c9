"""The GeoPackage store: the data contract in one GeoPackage file, written by SQLite transactions.

A write is one SQLite transaction in WAL mode, so its cost follows what it
changes, not the size of the store: a status update inserts one event and
updates one site's status; appending readings inserts rows; an upsert
updates only the rows and columns that differ. Readers read a snapshot (WAL:
they never wait for a writer, and :meth:`GpkgStore.read_many` reads several
tables from one snapshot); one writer at a time across processes (a lock
file, then ``BEGIN IMMEDIATE`` against other programs). After ``kill -9`` at
any moment SQLite rolls an unfinished transaction back: the store is as
before or as after the commit.

The file stays a GeoPackage that GDAL and QGIS open while the app runs:
geometries are written as GeoPackage binary (header + WKB); the R-tree
spatial index is kept by GDAL's own triggers, for which this module gives
SQLite the ``ST_MinX``… functions they call; ``gpkg_contents`` gets the new
``last_change`` and extent. Tables a commit needs but the file lacks are
created as GDAL creates them.

Everything in this process goes through the standard ``sqlite3`` module: GDAL
(pyogrio) carries its own SQLite, and two SQLite libraries on one file in one
process break each other's locks (GDAL closing the file would delete the WAL
of an open transaction). GDAL therefore only writes brand-new files (a store
created whole, :meth:`GpkgStore.rebuild`), before anyone opens them.

Bookkeeping: ``qingshan_table_versions`` (a plain table, not a layer) counts
commits per table in the same transaction as the data, for :meth:`version`.
"""
from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import contract
from ..contract import SITE_LAYERS, TABLES
from ..errors import StoreError
from . import commits
from .base import Change, Store, Transaction
from .search_sql import (SEARCH_LAYERS, SEARCH_LIMIT, check_bbox, check_layers, check_limit, clean_query,
                         search_statement, within_bbox)
from .search_sql import frame as search_frame
from .gpkg_format import (DECL, UNIQUE_KEYS, VERSIONS, Layout, create_layer, crs_of, decode_blobs,
                          ensure_bookkeeping, ensure_unique, fits, from_sql, gpkg_blobs, kind_of, plain_index_name,
                          quote, register_functions, to_sql, wkb_part)
from .shared import (STORED_GEOMETRY, check_layer_name, merge_partial, normalise, prepare_rows, promote_multi,
                     sites_touched, status_fixes, validate_prepared, with_latest_status)

T = TypeVar("T")

_ALL = "*"          # row of VERSIONS counting every commit
_BUSY_MS = 30_000   # wait for another program's write lock this long
_STALE_S = 60       # temporary files of a killed writer older than this are removed

# --- the store ------------------------------------------------------------------------------

class GpkgStore(Store):
    """A store in one GeoPackage file (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, *, create: bool = False):
        self.path = Path(path).resolve()
        self.url = str(self.path)
        if not self.path.exists() and not create:
            raise StoreError(f"no store at {self.path}", zh=f"找不到数据文件：{self.path}")
        self._remove_debris(wait=False)

    # -- connections ---------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            # mode=rw: never create a file (a missing store is an error, not a new empty database)
            con = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, isolation_level=None,
                                  timeout=_BUSY_MS / 1000, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        register_functions(con)
        return con

    @contextlib.contextmanager
    def _snapshot(self):
        """A connection inside one read transaction: every read sees the same committed state."""
        con = self._connect()
        try:
            con.execute("BEGIN")
            yield con
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot read {self.path}: {exc}") from exc
        finally:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            con.close()

    @contextlib.contextmanager
    def _lock(self, *, wait: bool = True):
        """The writer lock of this store across processes (a lock file beside it; kill -9 releases it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _debris(self) -> list[str]:
        d = str(self.path.parent)
        own = glob.glob(os.path.join(glob.escape(d), f".{glob.escape(self.path.name)}.new-*"))
        # the swap files of earlier versions of this store, when their writer was killed
        old = [p for p in glob.glob(os.path.join(glob.escape(d), ".commit-*.gpkg"))
               if time.time() - os.path.getmtime(p) > _STALE_S]
        return own + old

    def _remove_debris(self, *, wait: bool) -> None:
        """Remove temporary files a killed writer left beside the store (only while no writer runs)."""
        if not self.path.parent.is_dir() or not self._debris():
            return
        with self._lock(wait=wait) as held:
            if held:
                for p in self._debris():
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(p)

    # -- reading -------------------------------------------------------------------------

    def tables(self) -> list[str]:
        if not self.path.exists():
            return []
        with self._snapshot() as con:
            return self._tables(con)

    @staticmethod
    def _tables(con) -> list[str]:
        names = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
        return [t for t in TABLES if t in names]

    def read(self, table: str, where: dict[str, Iterable] | None = None) -> pd.DataFrame:
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        if not self.path.exists():
            return contract.empty(table)
        with self._snapshot() as con:
            return _read(con, table, where=where)

    def read_raw(self, table: str) -> pd.DataFrame:
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        if not self.path.exists():
            return contract.empty(table)
        with self._snapshot() as con:
            return _read(con, table, raw=True)

    def read_columns(self, table: str, columns: Iterable[str], where: dict[str, Iterable] | None = None
                     ) -> pd.DataFrame:
        """:meth:`Store.read_columns`: only ``columns`` are selected (an attachment's content stays on disk)."""
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        wanted = set(columns)
        if not self.path.exists():
            empty = contract.empty(table)
            return empty[[c for c in empty.columns if c in wanted or c == "geometry"]]
        with self._snapshot() as con:
            whole = Layout(con, table)
            if not whole.exists:
                empty = contract.empty(table)
                return empty[[c for c in empty.columns if c in wanted or c == "geometry"]]
            some = Layout(con, table)
            some.columns = {n: k for n, k in whole.columns.items() if n in wanted}
            df = _frame(con, some, raw=False, sql_where=_where_sql(whole, where))
            if TABLES[table].geometry and df.crs is None:
                raise StoreError(f"{table}: layer has no CRS")
            return normalise(table, df)

    def read_many(self, tables: Iterable[str] = tuple(TABLES)) -> dict[str, pd.DataFrame]:
        """Several tables from one snapshot (one read transaction): sites and their events always agree."""
        tables = list(tables)
        for t in tables:
            if t not in TABLES:
                raise StoreError(f"unknown table {t!r}")
        if not self.path.exists():
            return {t: contract.empty(t) for t in tables}
        with self._snapshot() as con:
            return {t: _read(con, t) for t in tables}

    def read_extra(self, layer: str) -> pd.DataFrame | None:
        check_layer_name(layer)
        if not self.path.exists():
            return None
        with self._snapshot() as con:
            lay = Layout(con, layer)
            return _frame(con, lay, raw=True) if lay.exists else None

    def version(self, tables: Iterable[str] | None = None) -> str:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return "absent"
        with self._snapshot() as con:
            return self._version(con, st, tables)

    def versions(self, tables: Iterable[str]) -> dict[str, str]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {t: "absent" for t in tables}
        with self._snapshot() as con:
            return {t: self._version(con, st, [t]) for t in tables}

    def read_versioned(self, table: str) -> tuple[str, pd.DataFrame]:
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return "absent", contract.empty(table)
        with self._snapshot() as con:
            return self._version(con, st, [table]), _read(con, table)

    @staticmethod
    def _version(con, st, tables: Iterable[str] | None) -> str:
        counts = {}
        if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (VERSIONS,)).fetchone():
            counts = dict(con.execute(f"SELECT table_name, version FROM {VERSIONS}").fetchall())
        changes = dict(con.execute("SELECT table_name, last_change FROM gpkg_contents").fetchall())
        # The file's identity on disk tells a swapped-in or recreated file apart (its counters restart).
        epoch = f"{st.st_dev}.{st.st_ino}"
        if tables is None:
            # last_change: GDAL (QGIS) updates it when it edits a layer, so such edits show too.
            return f"gpkg-{epoch}-{counts.get(_ALL, 0)}-{max(changes.values(), default='')}"
        parts = [f"{counts.get(t, 0)}:{changes.get(t, '')}" for t in sorted(set(tables))]
        return f"gpkg-{epoch}-" + "-".join(parts)

    # -- writing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writer(self):
        """The writer lock, then a connection in WAL mode inside ``BEGIN IMMEDIATE``; committed on success."""
        with self._lock():
            for p in self._debris():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(p)
            con = self._connect()
            try:
                try:
                    con.execute("PRAGMA synchronous=FULL")
                    con.execute("BEGIN IMMEDIATE")
                except sqlite3.DatabaseError as exc:
                    raise (commits.sqlite_refusal(exc, str(self.path))
                           or StoreError(f"cannot write {self.path}: {exc}")) from exc
                wrote = [False]
                try:
                    yield con, wrote
                    con.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        con.execute("ROLLBACK")
                    raise
                # After the first successful commit (a refused one leaves the file byte for byte as it
                # was): WAL from now on, so readers never wait for writers. The mode stays with the file.
                if wrote[0] and con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    with contextlib.suppress(sqlite3.OperationalError):  # busy readers: next time
                        con.execute("PRAGMA journal_mode=WAL")
            finally:
                con.close()

    def atomic(self, work: Callable[[Transaction], T]) -> T:
        if not self.path.exists():
            raise StoreError(f"no store at {self.path}; a new store is first written whole (replace_all)")
        try:
            with self._writer() as (con, wrote):
                tx = _GpkgTx(con, wrote)
                try:
                    result = work(tx)
                except sqlite3.DatabaseError as exc:
                    raise self._refusal(exc) from exc
        except sqlite3.DatabaseError as exc:
            # COMMIT itself failed (rolled back): where a full disk usually shows, the pages reaching the file
            raise self._refusal(exc) from exc
        except OSError as exc:
            if commits.is_disk_full_os(exc):
                raise commits.disk_full(str(self.path), exc) from exc
            raise
        commits.log_commit(self.url, tx.committed)  # committed: the one log line of this write
        return result

    def _refusal(self, exc: sqlite3.DatabaseError) -> StoreError:
        """The :class:`StoreError` of a SQLite error that ended a write (the transaction rolled back)."""
        disk = commits.sqlite_refusal(exc, str(self.path))
        if disk is not None:
            return disk
        if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc):
            return StoreError(f"a row repeats a key already stored ({exc}); nothing was written",
                              zh=f"有数据与库中已有记录重复（{exc}），未写入任何数据。")
        return StoreError(f"the commit to {self.path} failed; nothing was written: {exc}")

    def commit(self, changes: list[Change]) -> None:
        if not changes:
            return
        if not self.path.exists():
            # A new store: written whole by GDAL into a new file (nobody can have it open yet).
            if len({ch.table for ch in changes}) != len(changes):
                raise StoreError("a new store is written with one change per table")
            try:
                self.rebuild({ch.table: ch.rows for ch in changes})
            except OSError as exc:
                if commits.is_disk_full_os(exc):
                    raise commits.disk_full(str(self.path), exc) from exc
                raise
            commits.log_commit(self.url, changes)
            return
        self.atomic(lambda tx: tx.commit(changes))

    def rebuild(self, tables: dict[str, pd.DataFrame]) -> Path:
        """Make the store hold exactly ``tables``: a new file written whole, then swapped in.

        For whole-store rebuilds (``geo demo``). The new file keeps the old
        one's permissions. A store in use (a reader holding it open) is not
        swapped under it: the tables are then replaced in one transaction.
        """
        prepared = [(Change(t, df, "replace"), prepare_rows(Change(t, df, "replace"))) for t, df in tables.items()]
        problems = validate_prepared(prepared, {t: [] for t in tables}, {t: False for t in tables})
        if problems:
            raise StoreError(f"{len(problems)} problem(s); nothing was written", problems)
        frames = with_latest_status({ch.table: rows for ch, rows in prepared})
        with self._lock():
            old_mode = self.path.stat().st_mode & 0o7777 if self.path.exists() else _default_mode()
            if self.path.exists() and not self._leave_wal():
                # Someone holds the file open in WAL mode: never swap a file under its WAL.
                return self._replace_in_place(frames)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.new-", suffix=".gpkg", dir=self.path.parent)
            os.close(fd)
            os.unlink(tmp)
            try:
                for table, df in frames.items():
                    _write_new_layer(Path(tmp), table, df)
                # GDAL has closed the file: the indexes queries and commits use are built now, with the
                # store, so the first inspector's update does not pay for them (0.5 s at 1.25 M readings).
                con = sqlite3.connect(tmp, isolation_level=None)
                try:
                    with con:
                        ensure_bookkeeping(con, frames)
                finally:
                    con.close()
                os.chmod(tmp, old_mode)
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
                for side in ("-wal", "-shm", "-journal"):  # (they belonged to the old file)
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(str(self.path) + side)
                _fsync_dir(self.path.parent)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        return self.path

    def _leave_wal(self) -> bool:
        """Switch the file back to a rollback journal (checkpointing its WAL) if nobody else has it open."""
        con = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, isolation_level=None, timeout=2.0)
        try:
            mode = con.execute("PRAGMA journal_mode").fetchone()[0].lower()
            if mode != "wal":
                return True
            return con.execute("PRAGMA journal_mode=DELETE").fetchone()[0].lower() == "delete"
        except sqlite3.OperationalError:
            return False
        finally:
            con.close()

    def _replace_in_place(self, frames: dict[str, pd.DataFrame]) -> Path:
        con = self._connect()
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("BEGIN IMMEDIATE")
            _GpkgTx(con).commit([Change(t, df, "replace") for t, df in frames.items()])
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()
        return self.path

    def export_gpkg(self, path: str | os.PathLike) -> Path:
        """A standalone copy of one snapshot (SQLite backup; rollback journal, no WAL beside it)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.new-", suffix=".gpkg", dir=path.parent)
        os.close(fd)
        try:
            src = self._connect()
            dst = sqlite3.connect(tmp, isolation_level=None)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
                src.close()
            os.chmod(tmp, _default_mode())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return path

    # -- site search (issue 13) --------------------------------------------------------------

    def search_sites(self, text, *, layers=SEARCH_LAYERS, limit: int = SEARCH_LIMIT) -> pd.DataFrame:
        """Sites whose id or name contains ``text`` (at most ``limit``): ``layer``, ``id``, ``name``.

        One SQL query on a snapshot (:mod:`geo.store.search_sql`: wildcards typed by the user are
        literal, the text is a parameter); an empty text gives the first sites by layer and id.
        """
        q, n = clean_query(text), check_limit(limit)
        if not self.path.exists():
            return search_frame([])
        with self._snapshot() as con:
            names = [(t, "name" in Layout(con, t).columns) for t in check_layers(layers, self._tables(con))]
            if not names:
                return search_frame([])
            statement, params = search_statement(names, q, n, dialect="sqlite")
            rows = con.execute(statement, params).fetchall()
        return search_frame(rows)

    def count(self, table: str, where: dict[str, Iterable] | None = None) -> int:
        """Number of rows of ``table`` (matching ``where`` as in :meth:`read`), counted by SQLite."""
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        if not self.path.exists():
            return 0
        with self._snapshot() as con:
            lay = Layout(con, table)
            if not lay.exists:
                return 0
            clause, params = _where_sql(lay, where)
            return int(con.execute(f"SELECT count(*) FROM {quote(table)}{clause}", params).fetchone()[0])

    def read_bbox(self, table: str, bbox) -> pd.DataFrame:
        """Rows of a site layer (or ``sampling_points``) whose geometry meets ``bbox`` (minx, miny, maxx, maxy).

        The layer's R-tree (``rtree_<table>_geom``) finds the candidates; the exact test is shapely's.
        """
        if table not in TABLES or TABLES[table].key != "id" or not TABLES[table].geometry:
            raise StoreError(f"not a layer of features with ids: {table!r}")
        b = check_bbox(bbox)
        if not self.path.exists():
            return contract.empty(table)
        with self._snapshot() as con:
            lay = Layout(con, table)
            if not lay.exists or not lay.geom:
                return contract.empty(table)
            rtree = f"rtree_{table}_{lay.geom}"
            if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (rtree,)).fetchone():
                ids = [r[0] for r in con.execute(
                    f"SELECT \"id\" FROM {quote(table)} WHERE {quote(lay.pk)} IN (SELECT id FROM {quote(rtree)} "
                    "WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?)", (b[2], b[0], b[3], b[1]))]
                df = _read(con, table, where={"id": ids})
            else:  # a file without its spatial index: every row, tested below
                df = _read(con, table)
        return within_bbox(df, b)


    # -- readings queries (issue 13) --
    # SQL on the file through the same stdlib sqlite3 snapshot as every read (geo.store.readings_sql).

    def _readings_index(self) -> None:
        """Create the index ``readings(point_id, sampled_at)`` once when the file lacks it.

        Commits create it too (``ensure_bookkeeping``); a file GDAL wrote whole lacks it until its first
        commit, so the first query adds it (a plain SQLite index: the file stays a valid GeoPackage),
        as a writer, before any snapshot is open. A file this process may not write is queried as is.
        """
        if getattr(self, "_readings_indexed", False) or not self.path.exists():
            return
        with self._snapshot() as con:
            need = Layout(con, "readings").exists and not con.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                ("qingshan_readings_point",)).fetchone()
        if need:
            with contextlib.suppress(StoreError, sqlite3.Error, OSError):
                with self._writer() as (w, _):
                    w.execute('CREATE INDEX IF NOT EXISTS "qingshan_readings_point" ON "readings" '
                              '("point_id", "sampled_at")')
        self._readings_indexed = True

    @staticmethod
    def _readings_ready(con) -> "Layout | None":
        """The readings layout when the table can be queried (the required columns are there)."""
        lay = Layout(con, "readings")
        if not lay.exists or not {"point_id", "sampled_at", "parameter", "value"} <= set(lay.columns):
            return None
        return lay

    def _readings_query(self, sql_text: str, params: list, fallback, setup=None):
        """Rows of ``sql_text`` (``{cols}``/``{pk}`` filled) as a ``readings`` frame; ``fallback()`` without the table."""
        if not self.path.exists():
            return contract.empty("readings")
        self._readings_index()
        with self._snapshot() as con:
            lay = self._readings_ready(con)
            if lay is None:
                return fallback()
            names = list(lay.columns)
            cols = ", ".join(f"r.{quote(n)}" for n in names)
            if setup is not None:
                setup(con)
            rows = con.execute(sql_text.format(cols=cols, pk=quote(lay.pk)), params).fetchall()
            grid = np.empty((len(rows), len(names)), dtype=object)
            if rows:
                grid[:] = rows
            df = pd.DataFrame({n: from_sql(grid[:, j], lay.columns[n], False) for j, n in enumerate(names)},
                              columns=names)
        return normalise("readings", df)

    def latest_sampling(self, as_of=None, points=None) -> pd.DataFrame:
        from . import readings_sql as q

        ids = q.ids_list(points)
        end = q.end_of(as_of)
        inner, outer, params = "", "", []
        if ids is not None:
            params.append(json.dumps(ids))
        if end is not None:
            inner, outer = ' AND "sampled_at" < ?', ' AND r."sampled_at" < ?'
            params = params + [q.sqlite_time(end)] * 2
        text = q.GPKG_LATEST.format(points=q.GPKG_POINTS_ALL if ids is None else q.GPKG_POINTS_GIVEN,
                                    end_inner=inner, end_outer=outer, cols="{cols}", pk="{pk}")
        return self._readings_query(text, params, lambda: super(GpkgStore, self).latest_sampling(as_of, points))

    def readings_between(self, points, start=None, end=None) -> pd.DataFrame:
        from . import readings_sql as q

        ids = q.ids_list(points)
        time_sql, params = q.gpkg_time(start, end)
        where = "" if ids is None else ' AND r."point_id" IN (SELECT value FROM json_each(?))'
        params = ([] if ids is None else [json.dumps(ids)]) + params
        text = q.GPKG_BETWEEN.format(points=where, time=time_sql, cols="{cols}", pk="{pk}")
        return self._readings_query(text, params,
                                    lambda: super(GpkgStore, self).readings_between(points, start, end))

    def readings_outside(self, bounds, start=None, end=None) -> pd.DataFrame:
        from . import readings_sql as q

        if not len(bounds):
            return self.readings_between([], start, end)
        time_sql, params = q.gpkg_time(start, end)
        with self._snapshot() as con:
            has_bd = "below_detection" in Layout(con, "readings").columns
        bd = ' OR (b.bd AND r."below_detection" AND r."value" IS NOT NULL)' if has_bd else ""
        text = q.GPKG_OUTSIDE.format(time=time_sql, bd=bd, cols="{cols}", pk="{pk}")

        def load_bounds(con):
            # The bounds go into a keyed temporary table (this connection only, gone when it closes): SQLite
            # then reads the readings once and looks each row's bounds up by key (0.6 s at 1.25 M readings),
            # where joining a JSON list made it search every point's readings per parameter (5 s).
            con.execute(q.GPKG_BOUNDS_TABLE)
            con.executemany(q.GPKG_BOUNDS_INSERT, q.bounds_rows(bounds))

        return self._readings_query(text, params,
                                    lambda: super(GpkgStore, self).readings_outside(bounds, start, end),
                                    setup=load_bounds)

    def monthly_worst(self, limits, points, start=None, end=None) -> pd.DataFrame:
        from . import readings_sql as q

        time_sql, params = q.gpkg_time(start, end)
        if not self.path.exists():
            return q.monthly_worst(contract.empty("readings"), limits, points, start, end)
        self._readings_index()
        with self._snapshot() as con:
            lay = self._readings_ready(con)
            if lay is None:
                return super().monthly_worst(limits, points, start, end)
            bd = ('SUM(CASE WHEN r."below_detection" AND r."value" IS NOT NULL THEN 1 ELSE 0 END)'
                  if "below_detection" in lay.columns else "0")
            sql_text = q.GPKG_MONTHLY_WORST.format(bd=bd, time=time_sql, case=q.worst_case_sql())
            (text,), = con.execute(sql_text, [json.dumps(q.water_rows(points)), json.dumps(q.limits_rows(limits))]
                                   + params).fetchall()
        rows = json.loads(text or "[]")
        cols = list(zip(*rows)) if rows else [[]] * 3
        return q.worst_frame(list(cols[0]), [f"{m}-01" for m in cols[1]], list(cols[2]))

    def readings_present(self, keys: pd.DataFrame) -> pd.DataFrame:
        """:meth:`Store.readings_present` in SQL: the keys in a temporary table, joined on the readings index.

        SQLite finds each key's candidates by an index range (its point, the texts its time can be stored
        as, its parameter); their times are then parsed as every read parses them and compared exactly.
        """
        from . import readings_sql as q

        k = q.reading_keys(keys)
        if not len(k) or not self.path.exists():
            return k.iloc[:0]
        with self._snapshot() as con:
            lay = Layout(con, "readings")
            if not lay.exists or not set(q.READING_KEY) <= set(lay.columns):
                return k.iloc[:0]
            # (a temporary table of this connection only: gone when the snapshot closes)
            con.execute(q.GPKG_KEYS_TABLE)
            con.executemany(q.GPKG_KEYS_INSERT, q.key_rows(k))
            found = con.execute(q.GPKG_PRESENT).fetchall()
        if not found:
            return k.iloc[:0]
        grid = np.empty((len(found), 2), dtype=object)
        grid[:] = found
        n = grid[:, 0].astype(np.int64)
        stored = from_sql(grid[:, 1], "datetime", False).to_numpy()
        same = stored == k["sampled_at"].to_numpy()[n]
        return k.iloc[np.unique(n[same])]

    def section_classes(self, points: Iterable[str] | None = None, start=None, end=None) -> pd.DataFrame:
        """:meth:`Store.section_classes` in SQL (by the key index on point and month)."""
        from . import readings_sql as q

        if not self.path.exists():
            return contract.empty("section_classes")
        ids = q.ids_list(points)
        lo, hi = q.month_range(start, end)
        conds, params = [], []
        if ids is not None:
            conds.append('"point_id" IN (SELECT value FROM json_each(?))')
            params.append(json.dumps(ids))
        if lo is not None:
            conds.append('"month" >= ?')
            params.append(q.sqlite_time(lo))
        if hi is not None:
            conds.append('"month" < ?')
            params.append(q.sqlite_time(hi))
        with self._snapshot() as con:
            lay = Layout(con, "section_classes")
            if not lay.exists or not {"point_id", "month"} <= set(lay.columns):
                return contract.empty("section_classes")
            clause = (" WHERE " + " AND ".join(conds)) if conds else ""
            df = _frame(con, lay, raw=False, sql_where=(clause, params), order='"point_id", "month"')
        return normalise("section_classes", df)

    # -- status queries (issue 13) --

    def sites_on(self, layer: str, as_of=None, columns: Iterable[str] | None = None, *,
                 exclude_statuses: Iterable[str] | None = None):
        """:meth:`Store.sites_on` in SQL on one snapshot (:mod:`geo.store.status_sql`)."""
        from . import status_sql as S

        S.check_layer(layer)
        if not self.path.exists():
            return self._empty_sites(layer, columns)
        S.ensure_gpkg_index(self)
        with self._snapshot() as con:
            lay = Layout(con, layer)
            if not lay.exists:
                return self._empty_sites(layer, columns)
            rows, cols = S.gpkg_sites_on(con, lay, Layout(con, "status_events").exists, as_of, columns,
                                         exclude_statuses=exclude_statuses)
            crs = crs_of(con, lay.srs_id)
        grid = np.empty((len(rows), 2 + len(cols) + 1), dtype=object)
        if rows:
            grid[:] = rows
        kinds = {"id": "text", "status": "text", **{c: lay.columns[c] for c in cols}}
        df = pd.DataFrame({n: from_sql(grid[:, j], kinds[n], False) for j, n in enumerate(kinds)}, columns=list(kinds))
        df = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(decode_blobs(grid[:, -1]), crs=crs), crs=crs)
        return S.finish(layer, df)

    def _empty_sites(self, layer: str, columns) -> pd.DataFrame:
        from .status_sql import wanted_columns

        e = contract.empty(layer)
        return e[["id", "status"] + wanted_columns([c for c in e.columns if c != "geometry"], columns) + ["geometry"]]

    def events_of(self, layer: str, *, until=None, statuses: Iterable[str] | None = None,
                  feature_ids: Iterable[str] | None = None, changed_after=None) -> pd.DataFrame:
        """:meth:`Store.events_of` in SQL (over the events index by site and date)."""
        from . import status_sql as S

        S.check_layer(layer)
        if not self.path.exists() or "status_events" not in self.tables():
            return contract.empty("status_events")[S.EVENT_COLUMNS]
        S.ensure_gpkg_index(self)
        day = None if until is None else S.day_text(until)
        statuses = None if statuses is None else list(statuses)
        feature_ids = None if feature_ids is None else list(feature_ids)
        with self._snapshot() as con:
            rows = con.execute(S.gpkg_events_sql(day is not None, statuses, feature_ids, changed_after),
                               S.gpkg_events_params(layer, day, statuses, feature_ids, changed_after)).fetchall()
        grid = np.empty((len(rows), 5), dtype=object)
        if rows:
            grid[:] = rows
        kinds = ["text", "text", "text", "datetime", "datetime"]
        df = pd.DataFrame({n: from_sql(grid[:, j], k, False) for j, (n, k) in enumerate(zip(S.EVENT_COLUMNS, kinds))},
                          columns=S.EVENT_COLUMNS)
        return S.finish("status_events", df)

    def done_steps(self, layer: str, until, done: Iterable[str], feature_ids: Iterable[str] | None = None
                   ) -> pd.DataFrame:
        """:meth:`Store.done_steps` in SQL (a window over the events index: no event leaves the database)."""
        from . import status_sql as S

        S.check_layer(layer)
        if not self.path.exists() or "status_events" not in self.tables():
            return S.steps_frame([])
        S.ensure_gpkg_index(self)
        params = [layer, S.day_text(until), S._json(done)] + ([] if feature_ids is None else [S._json(feature_ids)])
        with self._snapshot() as con:
            rows = con.execute(S.gpkg_steps_sql(feature_ids is not None), params).fetchall()
        return S.steps_frame(rows)


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- reading rows ---------------------------------------------------------------------------

def _where_sql(lay: Layout, where: dict[str, Iterable] | None) -> tuple[str, list]:
    """``WHERE`` clause and parameters: each column's values as one JSON parameter (no length limit)."""
    if not where:
        return "", []
    parts, params = [], []
    for col, values in where.items():
        if col not in lay.columns:
            return " WHERE 0", []
        vals = [None if pd.isna(v) else (v.item() if isinstance(v, np.generic) else v) for v in values]
        parts.append(f"{quote(col)} IN (SELECT value FROM json_each(?))")
        params.append(json.dumps([str(v) if isinstance(v, (pd.Timestamp,)) else v for v in vals if v is not None]))
    return " WHERE " + " AND ".join(parts), params


def _frame(con, lay: Layout, *, raw: bool, where: dict | None = None, sql_where: tuple[str, list] | None = None,
           order: str | None = None) -> pd.DataFrame:
    """Rows of a layout; ``where`` as :meth:`GpkgStore.read`, or ``sql_where`` = (clause, parameters) and
    ``order`` (quoted columns) for the reads that filter otherwise."""
    names = list(lay.columns)
    select = [quote(n) for n in names] + ([quote(lay.geom)] if lay.geom else [])
    clause, params = sql_where if sql_where is not None else _where_sql(lay, where)
    by = f"{order}, {quote(lay.pk)}" if order else quote(lay.pk)
    rows = con.execute(f"SELECT {', '.join(select) or 'NULL'} FROM {quote(lay.table)}{clause} "
                       f"ORDER BY {by}", params).fetchall()
    grid = np.empty((len(rows), max(len(select), 1)), dtype=object)  # rows → columns, in C
    if rows:
        grid[:] = rows
    df = pd.DataFrame({n: from_sql(grid[:, j], lay.columns[n], raw) for j, n in enumerate(names)}, columns=names)
    if not lay.geom:
        return df
    geoms = decode_blobs(grid[:, -1])
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=crs_of(con, lay.srs_id)),
                            crs=crs_of(con, lay.srs_id))


def _read(con, table: str, *, raw: bool = False, where: dict | None = None) -> pd.DataFrame:
    lay = Layout(con, table)
    if not lay.exists:
        return contract.empty(table)
    df = _frame(con, lay, raw=raw, where=where)
    if raw:
        return df
    if TABLES[table].geometry and df.crs is None:
        raise StoreError(f"{table}: layer has no CRS")
    return normalise(table, df)


# --- writing rows ---------------------------------------------------------------------------

class _GpkgTx(Transaction):
    """Reads and writes on one connection inside ``BEGIN IMMEDIATE`` (the store's one writer)."""

    def __init__(self, con: sqlite3.Connection, wrote: list | None = None):
        self.con = con
        self._ready = False
        self._wrote = wrote if wrote is not None else [False]
        self.committed: list[Change] = []  # what this unit wrote, for the store's log line once committed

    def read(self, table, where=None, *, for_update=False):
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        return _read(self.con, table, where=where)

    def commit(self, changes: list[Change]) -> None:
        if not changes:
            return
        con = self.con
        if not self._ready:
            # indexes first, so the reads below are lookups even on a file GDAL wrote
            ensure_bookkeeping(con, self._present())
            self._ready = True
        prepared: list[tuple[Change, pd.DataFrame]] = []
        for ch in changes:
            if ch.columns is not None:
                # A partial upsert: the stored rows, read here under the lock, with the given columns.
                current = _read(con, ch.table, where={TABLES[ch.table].key: ch.rows[TABLES[ch.table].key]})
                ch = Change(ch.table, merge_partial(ch, current), "upsert")
            prepared.append((ch, prepare_rows(ch)))
        layouts = {t: Layout(con, t) for t in {ch.table for ch, _ in prepared}}
        filled = {t: lay.exists and con.execute(f"SELECT EXISTS (SELECT 1 FROM {quote(t)})").fetchone()[0] == 1
                  for t, lay in layouts.items()}
        problems = validate_prepared(prepared, {t: list(lay.columns) for t, lay in layouts.items()}, dict(filled))
        if problems:
            raise StoreError(f"{len(problems)} problem(s); nothing was written", problems)
        written: set[str] = set()
        for ch, rows in prepared:
            lay = layouts[ch.table]
            if not lay.exists:
                create_layer(con, ch.table, {c: kind_of(ch.table, c, rows[c]) for c in rows.columns
                                              if c != "geometry"})
                ensure_bookkeeping(con, [ch.table])
                lay = layouts[ch.table] = Layout(con, ch.table)
            fresh = ch.how == "replace" or not filled[ch.table]
            keyed = fresh and ch.table in UNIQUE_KEYS
            if keyed:  # rewritten whole: its key index is built again after the rows (faster, and it may
                for name in (UNIQUE_KEYS[ch.table][0], plain_index_name(ch.table)):  # become unique again)
                    con.execute(f"DROP INDEX IF EXISTS {quote(name)}")
            layouts[ch.table] = _write(con, lay, ch, rows, fresh)
            if keyed:
                ensure_unique(con, ch.table)
            filled[ch.table] = len(rows) > 0 or (filled[ch.table] and ch.how != "replace")
            written.add(ch.table)
        written |= _sync_status(con, sites_touched(prepared), self._present())
        _bump(con, written)
        self._wrote[0] = True
        self.committed += changes

    def _present(self) -> list[str]:
        return GpkgStore._tables(self.con)


def _write(con, lay: Layout, ch: Change, rows: pd.DataFrame, fresh: bool) -> Layout:
    """Write one validated change; returns the table's layout after it."""
    t = quote(lay.table)
    spec = TABLES[lay.table]
    frame_cols = [c for c in rows.columns if c != "geometry"]
    if fresh:
        # As a rewrite would: replacing (or first rows) leaves exactly the frame's columns.
        con.execute(f"DELETE FROM {t}")
        for name in [c for c in lay.columns if c not in frame_cols and c not in spec.required_names]:
            con.execute(f"ALTER TABLE {t} DROP COLUMN {quote(name)}")
    for name in frame_cols:
        want = kind_of(lay.table, name, rows[name])
        have = lay.columns.get(name) if name in lay.columns else None
        if name not in lay.columns:
            con.execute(f"ALTER TABLE {t} ADD COLUMN {quote(name)} {DECL[want]}")
        elif name not in spec.column_names and fits(have, want):
            _retype(con, lay.table, name, fits(have, want))
    lay = Layout(con, lay.table)
    if len(rows) == 0:
        return lay
    values = {c: to_sql(rows[c], lay.columns[c]) for c in frame_cols}
    if lay.geom:
        geoms = promote_multi(lay.table, rows.geometry.values)
        values[lay.geom] = gpkg_blobs(geoms, envelope=spec.geometry != "Point")
        _extend_extent(con, lay.table, geoms)
    if ch.how == "upsert" and not fresh:
        _upsert(con, lay, values, spec.key)
    else:
        _insert(con, lay.table, values)
    return lay


#: Rows from which an insert counts its features once instead of through GDAL's per-row trigger.
_BULK = 1000


def _insert(con, table: str, values: dict[str, list]) -> None:
    names = list(values)
    n = len(next(iter(values.values()), []))
    # GDAL's feature-count trigger updates gpkg_ogr_contents once per row (a third of the time of a day's
    # 120,000 readings): a bulk insert drops it, adds the count once, and puts it back as it was, all
    # inside this transaction (so GDAL and QGIS only ever see the file with its trigger and a true count).
    trigger = None
    if n >= _BULK:
        trigger = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                              (f"trigger_insert_feature_count_{table}",)).fetchone()
    if trigger:
        con.execute(f"DROP TRIGGER {quote(trigger[0])}")
    con.executemany(f"INSERT INTO {quote(table)} ({', '.join(map(quote, names))}) VALUES ({', '.join('?' * len(names))})",
                    zip(*values.values()))
    if trigger:
        con.execute(trigger[1])
        con.execute("UPDATE gpkg_ogr_contents SET feature_count = feature_count + ? WHERE lower(table_name) = lower(?)",
                    (n, table))


def _upsert(con, lay: Layout, values: dict[str, list], key: str) -> None:
    """Rows with a stored key: only the columns that differ are updated (in place); new keys are inserted.

    The rows replace stored rows whole, so a stored column the rows lack
    becomes NULL (counted as a difference only where it was not NULL).
    """
    names = list(lay.columns) + ([lay.geom] if lay.geom else [])
    n = len(values[key])
    new = {c: values.get(c, [None] * n) for c in names}
    stored = con.execute(f"SELECT {quote(lay.pk)}, {', '.join(map(quote, names))} FROM {quote(lay.table)} "
                         f"WHERE {quote(key)} IN (SELECT value FROM json_each(?))",
                         (json.dumps(values[key]),)).fetchall()
    by_key = {r[1 + names.index(key)]: r for r in stored}
    inserts, updates = [], {}
    for i in range(n):
        old = by_key.get(new[key][i])
        if old is None:
            inserts.append(i)
            continue
        changed = []
        for j, c in enumerate(names):
            a, b = old[1 + j], new[c][i]
            if c == lay.geom:
                a, b = wkb_part(a), wkb_part(b)
            if a != b:
                changed.append(c)
        if changed:
            updates.setdefault(tuple(changed), []).append((i, old[0]))
    for cols, items in updates.items():
        sets = ", ".join(f"{quote(c)} = ?" for c in cols)
        con.executemany(f"UPDATE {quote(lay.table)} SET {sets} WHERE {quote(lay.pk)} = ?",
                        [[new[c][i] for c in cols] + [fid] for i, fid in items])
    if inserts:
        _insert(con, lay.table, {c: [values[c][i] for i in inserts] for c in values})


def _retype(con, table: str, name: str, kind: str) -> None:
    """Widen a stored extra column to ``kind`` (numbers to REAL, anything else to TEXT), keeping its values."""
    t, tmp = quote(table), quote(name + "__widened")
    con.execute(f"ALTER TABLE {t} ADD COLUMN {tmp} {DECL[kind]}")
    con.execute(f"UPDATE {t} SET {tmp} = CAST({quote(name)} AS {DECL[kind]})")
    con.execute(f"ALTER TABLE {t} DROP COLUMN {quote(name)}")
    con.execute(f"ALTER TABLE {t} RENAME COLUMN {tmp} TO {quote(name)}")


def _extend_extent(con, table: str, geoms) -> None:
    """Grow the layer's extent in ``gpkg_contents`` to cover ``geoms`` (it is informative; never shrunk)."""
    g = np.asarray(geoms, dtype=object)
    g = g[~(shapely.is_missing(g) | shapely.is_empty(g))] if len(g) else g
    if not len(g):
        return
    b = shapely.bounds(g)
    minx, miny = float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1]))
    maxx, maxy = float(np.nanmax(b[:, 2])), float(np.nanmax(b[:, 3]))
    con.execute("UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?), ?), min_y = min(coalesce(min_y, ?), ?), "
                "max_x = max(coalesce(max_x, ?), ?), max_y = max(coalesce(max_y, ?), ?) WHERE table_name = ?",
                (minx, minx, miny, miny, maxx, maxx, maxy, maxy, table))


def _sync_status(con, touched: dict[str, set[str] | None], present: list[str]) -> set[str]:
    """Status = latest event for the touched sites (one rule: :func:`geo.store.shared.status_fixes`)."""
    out = set()
    if "status_events" not in present:
        return out
    for layer in SITE_LAYERS:
        if layer not in touched or layer not in present:
            continue
        ids = touched[layer]
        lay = Layout(con, layer)
        if "status" not in lay.columns:
            continue
        ev = _read(con, "status_events", raw=True,
                   where={"layer": [layer]} if ids is None else {"layer": [layer], "feature_id": sorted(ids)})
        if not len(ev):
            continue
        site_where = "" if ids is None else f" WHERE {quote('id')} IN (SELECT value FROM json_each(?))"
        cur = con.execute(f'SELECT "id", "status" FROM {quote(layer)}{site_where}',
                          () if ids is None else (json.dumps(sorted(ids)),)).fetchall()
        current = pd.Series([s for _, s in cur], index=[i for i, _ in cur], dtype=object)
        fixes = status_fixes(ev, layer, current)
        if len(fixes):
            con.executemany(f'UPDATE {quote(layer)} SET "status" = ? WHERE "id" = ?',
                            [(str(s), str(i)) for i, s in fixes.items()])
            out.add(layer)
    return out


def _bump(con, tables: set[str]) -> None:
    """New versions (per table and overall) and ``last_change``, in the commit's own transaction."""
    for name in sorted(tables) + [_ALL]:
        con.execute(f"INSERT INTO {VERSIONS} VALUES (?, 1) ON CONFLICT (table_name) "
                    f"DO UPDATE SET version = version + 1", (name,))
    con.executemany("UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') "
                    "WHERE table_name = ?", [(t,) for t in sorted(tables)])


# --- new files (GDAL) -------------------------------------------------------------------------

def _write_new_layer(path: Path, table: str, df: pd.DataFrame) -> None:
    """One table into a GeoPackage file nobody has open yet (GDAL builds the GeoPackage around it)."""
    import pyogrio

    spec = TABLES[table]
    out = df.copy()
    # GDAL has no nullable-int/bool arrays; floats keep NULLs, and read() restores the dtype.
    for col in out.columns:
        if str(out[col].dtype) in ("Int64", "boolean"):
            out[col] = out[col].astype("float64")
    kwargs = dict(layer=table, driver="GPKG")
    if spec.geometry:
        # GeoPackage layers hold one geometry type: single parts are promoted to their multi type.
        out = out.set_geometry(gpd.GeoSeries(promote_multi(table, out.geometry.values), crs=out.crs, index=out.index))
        pyogrio.write_dataframe(out, path, geometry_type=STORED_GEOMETRY[spec.geometry], **kwargs)
    else:
        # Binary columns (attachments.content) become BLOB fields only through GDAL's Arrow writer.
        binary = any(c.kind == "bytes" for c in spec.columns)
        pyogrio.write_dataframe(pd.DataFrame(out), path, **kwargs, **({"use_arrow": True} if binary else {}))
