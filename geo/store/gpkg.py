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
import secrets
import sqlite3
import struct
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import contract
from ..contract import SITE_LAYERS, STORE_CRS, TABLES
from ..errors import StoreError
from .base import Change, Store, Transaction
from .shared import (STORED_GEOMETRY, check_layer_name, merge_partial, normalise, prepare_rows, promote_multi,
                     sites_touched, status_fixes, validate_prepared)

T = TypeVar("T")

VERSIONS = "qingshan_table_versions"
_ALL = "*"          # row of VERSIONS counting every commit
_EPOCH = "#epoch"   # row of VERSIONS: random per file, so two files never share a version
_BUSY_MS = 30_000   # wait for another program's write lock this long
_STALE_S = 60       # temporary files of a killed writer older than this are removed

# --- GeoPackage binary geometry ------------------------------------------------------------

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def gpkg_blobs(geoms, srs_id: int = 4326, *, envelope: bool = True) -> list:
    """GeoPackage binary of each geometry (``None`` stays NULL): header, optional xy envelope, WKB."""
    g = np.asarray(geoms, dtype=object)
    out: list = [None] * len(g)
    present = ~shapely.is_missing(g) if len(g) else np.zeros(0, bool)
    if not present.any():
        return out
    idx = np.flatnonzero(present)
    wkb = shapely.to_wkb(g[idx], byte_order=1, output_dimension=2)
    empty = shapely.is_empty(g[idx])
    bounds = shapely.bounds(g[idx])
    srs = struct.pack("<i", srs_id)
    for k, i in enumerate(idx):
        if empty[k]:
            out[i] = b"GP\x00" + bytes([0x11]) + srs + wkb[k]
        elif envelope:
            minx, miny, maxx, maxy = bounds[k]
            out[i] = b"GP\x00\x03" + srs + struct.pack("<4d", minx, maxx, miny, maxy) + wkb[k]
        else:
            out[i] = b"GP\x00\x01" + srs + wkb[k]
    return out


def _wkb_part(blob):
    """The WKB inside a GeoPackage blob (``None`` for NULL or a blob that is not GeoPackage binary)."""
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if flags & 0x20:  # extended GeoPackage geometry: not ours to read
        return None
    return bytes(blob[8 + _ENVELOPE_BYTES.get((flags >> 1) & 0x07, 0):])


def decode_blobs(values) -> np.ndarray:
    """Shapely geometries of GeoPackage blobs (missing for NULL or unreadable ones)."""
    wkb = np.array([_wkb_part(v) for v in values], dtype=object)
    return shapely.from_wkb(wkb, on_invalid="ignore") if len(wkb) else np.array([], dtype=object)


_last: list = [None, None]  # (blob, envelope) of the last blob asked about: the triggers ask four times


def _envelope(blob):
    """(minx, maxx, miny, maxy, empty) of a GeoPackage blob, or ``None``."""
    if blob is None:
        return None
    if _last[0] is blob or _last[0] == blob:
        return _last[1]
    env = None
    if len(blob) >= 8 and blob[:2] == b"GP":
        flags = blob[3]
        order = "<" if flags & 1 else ">"
        kind = (flags >> 1) & 0x07
        if flags & 0x10:
            env = (None, None, None, None, True)
        elif kind:
            minx, maxx, miny, maxy = struct.unpack(order + "4d", blob[8:40])
            env = (minx, maxx, miny, maxy, False)
        else:
            g = shapely.from_wkb(_wkb_part(blob), on_invalid="ignore")
            if g is None or g.is_empty:
                env = (None, None, None, None, True)
            else:
                minx, miny, maxx, maxy = g.bounds
                env = (minx, maxx, miny, maxy, False)
    _last[:] = [blob, env]
    return env


def _st(index: int):
    def f(blob):
        env = _envelope(blob)
        return None if env is None or env[4] else env[index]
    return f


def _st_isempty(blob):
    env = _envelope(blob)
    return None if env is None else int(env[4])


def _register_functions(con: sqlite3.Connection) -> None:
    """The SQL functions GDAL's R-tree triggers call (GDAL registers them in its own SQLite; we do here)."""
    con.create_function("ST_IsEmpty", 1, _st_isempty, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, _st(i), deterministic=True)


# --- values ---------------------------------------------------------------------------------

def _kind(decl: str) -> str:
    """Storage kind of a declared SQLite column type (as GDAL declares them)."""
    d = (decl or "").upper()
    if d in ("DATETIME", "TIMESTAMP"):
        return "datetime"
    if d == "DATE":
        return "date"
    if d == "BOOLEAN":
        return "boolean"
    if d in ("INTEGER", "INT", "MEDIUMINT", "SMALLINT", "TINYINT", "BIGINT"):
        return "integer"
    if d in ("REAL", "FLOAT", "DOUBLE"):
        return "real"
    return "text"


_DECL = {"text": "TEXT", "real": "REAL", "integer": "INTEGER", "boolean": "BOOLEAN", "datetime": "DATETIME",
         "date": "DATE"}
_CONTRACT_KIND = {"str": "text", "float": "real", "int": "integer", "bool": "boolean", "date": "datetime",
                  "datetime": "datetime"}


def _kind_of(table: str, name: str, s: pd.Series) -> str:
    """Storage kind for a frame column: the contract's for contract columns, else from the dtype."""
    spec = TABLES[table]
    if name in spec.column_names:
        return _CONTRACT_KIND[spec.column(name).kind]
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        return "boolean"
    if pd.api.types.is_integer_dtype(dt):
        return "integer"
    if pd.api.types.is_float_dtype(dt):
        return "real"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "datetime"
    return "text"


def _fits(have: str, want: str) -> str | None:
    """The kind a stored extra column must take to hold values of kind ``want`` (``None``: it fits)."""
    if have == want or have == "text" or (have == "real" and want in ("integer", "boolean")):
        return None
    return "real" if {have, want} <= {"real", "integer", "boolean"} else "text"


def _to_sql(s: pd.Series, kind: str) -> list:
    """Values of ``s`` as stored in a column of ``kind`` (``None`` for every kind of missing)."""
    if kind in ("datetime", "date"):
        ts = pd.to_datetime(s, errors="coerce", format="ISO8601") if not pd.api.types.is_datetime64_any_dtype(
            s.dtype) else s
        ts = pd.Series(ts).reset_index(drop=True)
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_localize(None)
        if kind == "date":
            text = ts.dt.strftime("%Y-%m-%d")
        else:
            # GDAL's form: seconds, and milliseconds only when there are some.
            text = ts.dt.strftime("%Y-%m-%dT%H:%M:%S")
            ms = (ts.dt.microsecond // 1000).to_numpy()
            frac = ts.notna().to_numpy() & (np.nan_to_num(ms) > 0)
            if frac.any():
                text = text.astype(object)
                text[frac] = [f"{t}.{int(m):03d}" for t, m in zip(text[frac], ms[frac])]
        return [None if pd.isna(v) else str(v) for v in text.tolist()]
    if kind == "real":
        arr = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy(dtype="float64", na_value=np.nan)
        return [None if np.isnan(v) else float(v) for v in arr]
    vals = s.astype(object).where(s.notna(), None).tolist()
    if kind == "integer":
        return [None if v is None else int(v) for v in vals]
    if kind == "boolean":
        return [None if v is None else int(bool(v)) for v in vals]
    return [None if v is None else str(v) for v in vals]


def _parse_times(values: list, raw: bool) -> pd.Series:
    s = pd.Series(values, dtype=object)
    text = s.map(lambda v: v[:-1] if isinstance(v, str) and v.endswith("Z") else v)
    try:
        ts = pd.to_datetime(text, errors="coerce", format="ISO8601")
    except (ValueError, TypeError):
        ts = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_localize(None)
    if raw and (ts.isna() & s.notna()).any():
        return s  # as stored, so `geo check` can name the values that are not dates
    return ts.astype("datetime64[ms]")


def _from_sql(values: list, kind: str, raw: bool) -> pd.Series:
    """A frame column from stored values (typed as pyogrio types GeoPackage columns)."""
    has_null = any(v is None for v in values)
    try:
        if kind in ("datetime", "date"):
            return _parse_times(values, raw)
        if kind == "real":
            return pd.Series(np.array([np.nan if v is None else v for v in values], dtype="float64"))
        if kind == "integer":
            return pd.Series(pd.array(values, dtype="Int64") if has_null else np.array(values, dtype="int64"))
        if kind == "boolean":
            vals = [None if v is None else bool(v) for v in values]
            return pd.Series(pd.array(vals, dtype="boolean") if has_null else np.array(vals, dtype=bool))
    except (ValueError, TypeError):
        # A value of another type in a typed column (SQLite allows it): kept as stored.
        return pd.Series(values, dtype=object)
    return pd.Series([v if v is None or isinstance(v, str) else str(v) for v in values], dtype="str")


# --- schema ---------------------------------------------------------------------------------

def _q(name: str) -> str:
    """A quoted SQL identifier (names come from the contract or from the file itself)."""
    return '"' + str(name).replace('"', '""') + '"'


class _Layout:
    """A table's stored layout: columns (name → kind) in order, its geometry column and SRS."""

    def __init__(self, con: sqlite3.Connection, table: str):
        self.table = table
        row = con.execute("SELECT data_type FROM gpkg_contents WHERE table_name = ?", (table,)).fetchone()
        self.exists = row is not None
        self.geom, self.srs_id = None, None
        if self.exists:
            g = con.execute("SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?",
                            (table,)).fetchone()
            if g:
                self.geom, self.srs_id = g
        info = con.execute(f"PRAGMA table_info({_q(table)})").fetchall() if self.exists else []
        self.pk = next((r[1] for r in info if r[5]), "fid")
        self.columns = {r[1]: _kind(r[2]) for r in info if r[1] not in (self.pk, self.geom)}


def _crs_of(con: sqlite3.Connection, srs_id) -> str | None:
    if srs_id is None or srs_id in (0, -1):
        return None
    if srs_id == 4326:
        return STORE_CRS
    row = con.execute("SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys "
                      "WHERE srs_id = ?", (srs_id,)).fetchone()
    if row is None:
        return None
    org, code, definition = row
    if str(org).upper() == "EPSG":
        return f"EPSG:{code}"
    return definition if definition and definition != "undefined" else None


_WGS84_WKT = ('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
              'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",'
              '0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],'
              'AUTHORITY["EPSG","4326"]]')


def _create_layer(con: sqlite3.Connection, table: str, kinds: dict[str, str]) -> None:
    """Create ``table`` as GDAL creates a GeoPackage layer: feature table, contents, geometry column, R-tree."""
    spec = TABLES[table]
    t = _q(table)
    cols = ['"fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL']
    if spec.geometry:
        cols.append(f'"geom" {STORED_GEOMETRY[spec.geometry].upper()}')
    cols += [f"{_q(n)} {_DECL[k]}" for n, k in kinds.items()]
    con.execute(f"CREATE TABLE {t} ( {', '.join(cols)})")
    srs = 4326 if spec.geometry else 0
    if spec.geometry:
        con.execute("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?, "
                    "'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')", (_WGS84_WKT,))
    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id) "
                "VALUES (?, ?, ?, '', strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?)",
                (table, "features" if spec.geometry else "attributes", table, srs))
    if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_ogr_contents'").fetchone():
        con.execute("INSERT OR REPLACE INTO gpkg_ogr_contents VALUES (?, 0)", (table,))
        lit = "'" + table.replace("'", "''") + "'"
        con.execute(f"CREATE TRIGGER {_q('trigger_insert_feature_count_' + table)} AFTER INSERT ON {t} BEGIN "
                    f"UPDATE gpkg_ogr_contents SET feature_count = feature_count + 1 "
                    f"WHERE lower(table_name) = lower({lit}); END")
        con.execute(f"CREATE TRIGGER {_q('trigger_delete_feature_count_' + table)} AFTER DELETE ON {t} BEGIN "
                    f"UPDATE gpkg_ogr_contents SET feature_count = feature_count - 1 "
                    f"WHERE lower(table_name) = lower({lit}); END")
    if not spec.geometry:
        return
    con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, 4326, 0, 0)",
                (table, STORED_GEOMETRY[spec.geometry].upper()))
    if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_extensions'").fetchone():
        con.execute("CREATE TABLE gpkg_extensions (table_name TEXT,column_name TEXT,extension_name TEXT NOT NULL,"
                    "definition TEXT NOT NULL,scope TEXT NOT NULL,CONSTRAINT ge_tce UNIQUE "
                    "(table_name, column_name, extension_name))")
    con.execute("INSERT INTO gpkg_extensions VALUES (?, 'geom', 'gpkg_rtree_index', "
                "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')", (table,))
    rt = _q(f"rtree_{table}_geom")
    con.execute(f"CREATE VIRTUAL TABLE {rt} USING rtree(id, minx, maxx, miny, maxy)")
    box = 'ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"),ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")'
    name = f"rtree_{table}_geom"
    # GDAL's trigger set (GeoPackage 1.4 R-tree extension), verbatim but for names.
    triggers = {
        "insert": f'AFTER INSERT ON {t} WHEN (new."geom" NOT NULL AND NOT ST_IsEmpty(NEW."geom")) BEGIN '
                  f'INSERT OR REPLACE INTO {rt} VALUES (NEW."fid",{box}); END',
        "update6": f'AFTER UPDATE OF "geom" ON {t} WHEN OLD."fid" = NEW."fid" AND (NEW."geom" NOTNULL AND NOT '
                   f'ST_IsEmpty(NEW."geom")) AND (OLD."geom" NOTNULL AND NOT ST_IsEmpty(OLD."geom")) BEGIN UPDATE '
                   f'{rt} SET minx = ST_MinX(NEW."geom"), maxx = ST_MaxX(NEW."geom"),miny = ST_MinY(NEW."geom"), '
                   f'maxy = ST_MaxY(NEW."geom") WHERE id = NEW."fid";END',
        "update7": f'AFTER UPDATE OF "geom" ON {t} WHEN OLD."fid" = NEW."fid" AND (NEW."geom" NOTNULL AND NOT '
                   f'ST_IsEmpty(NEW."geom")) AND (OLD."geom" ISNULL OR ST_IsEmpty(OLD."geom")) BEGIN INSERT INTO '
                   f'{rt} VALUES (NEW."fid",{box}); END',
        "update2": f'AFTER UPDATE OF "geom" ON {t} WHEN OLD."fid" = NEW."fid" AND (NEW."geom" ISNULL OR '
                   f'ST_IsEmpty(NEW."geom")) BEGIN DELETE FROM {rt} WHERE id = OLD."fid"; END',
        "update5": f'AFTER UPDATE ON {t} WHEN OLD."fid" != NEW."fid" AND (NEW."geom" NOTNULL AND NOT '
                   f'ST_IsEmpty(NEW."geom")) BEGIN DELETE FROM {rt} WHERE id = OLD."fid"; INSERT OR REPLACE INTO '
                   f'{rt} VALUES (NEW."fid",{box}); END',
        "update4": f'AFTER UPDATE ON {t} WHEN OLD."fid" != NEW."fid" AND (NEW."geom" ISNULL OR '
                   f'ST_IsEmpty(NEW."geom")) BEGIN DELETE FROM {rt} WHERE id IN (OLD."fid", NEW."fid"); END',
        "delete": f'AFTER DELETE ON {t} WHEN old."geom" NOT NULL BEGIN DELETE FROM {rt} WHERE id = OLD."fid"; END',
    }
    for suffix, body in triggers.items():
        con.execute(f"CREATE TRIGGER {_q(name + '_' + suffix)} {body}")


def _ensure_bookkeeping(con: sqlite3.Connection, tables: Iterable[str]) -> None:
    """The versions table and the indexes commits and filtered reads need (idempotent)."""
    con.execute(f"CREATE TABLE IF NOT EXISTS {VERSIONS} (table_name TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    con.execute(f"INSERT OR IGNORE INTO {VERSIONS} VALUES (?, ?)", (_EPOCH, secrets.randbits(48)))
    present = set(tables)
    for table in present:
        key = TABLES[table].key
        if key:
            con.execute(f"CREATE INDEX IF NOT EXISTS {_q(f'qingshan_{table}_{key}')} ON {_q(table)} ({_q(key)})")
    if "status_events" in present:
        con.execute('CREATE INDEX IF NOT EXISTS "qingshan_status_events_site" ON "status_events" '
                    '("layer", "feature_id")')
    if "readings" in present:
        con.execute('CREATE INDEX IF NOT EXISTS "qingshan_readings_point" ON "readings" '
                    '("point_id", "sampled_at")')


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
        _register_functions(con)
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
            lay = _Layout(con, layer)
            return _frame(con, lay, raw=True) if lay.exists else None

    def version(self, tables: Iterable[str] | None = None) -> str:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return "absent"
        with self._snapshot() as con:
            counts = {}
            if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (VERSIONS,)).fetchone():
                counts = dict(con.execute(f"SELECT table_name, version FROM {VERSIONS}").fetchall())
            changes = dict(con.execute("SELECT table_name, last_change FROM gpkg_contents").fetchall())
        # A file no commit of ours has touched yet is told apart by its identity on disk.
        epoch = counts.get(_EPOCH) or f"f{st.st_ino}-{st.st_size}"
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
                    if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                        con.execute("PRAGMA journal_mode=WAL")
                    con.execute("PRAGMA synchronous=FULL")
                    con.execute("BEGIN IMMEDIATE")
                except sqlite3.DatabaseError as exc:
                    raise StoreError(f"cannot write {self.path}: {exc}") from exc
                try:
                    yield con
                    con.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        con.execute("ROLLBACK")
                    raise
            finally:
                con.close()

    def atomic(self, work: Callable[[Transaction], T]) -> T:
        if not self.path.exists():
            raise StoreError(f"no store at {self.path}; a new store is first written whole (replace_all)")
        with self._writer() as con:
            try:
                return work(_GpkgTx(con))
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"the commit to {self.path} failed; nothing was written: {exc}") from exc

    def commit(self, changes: list[Change]) -> None:
        if not changes:
            return
        if not self.path.exists():
            # A new store: written whole by GDAL into a new file (nobody can have it open yet).
            if len({ch.table for ch in changes}) != len(changes):
                raise StoreError("a new store is written with one change per table")
            self.rebuild({ch.table: ch.rows for ch in changes})
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
        frames = _with_latest_status({ch.table: rows for ch, rows in prepared})
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
                os.chmod(tmp, old_mode)
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
                for side in ("-wal", "-shm"):
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

def _where_sql(lay: _Layout, where: dict[str, Iterable] | None) -> tuple[str, list]:
    """``WHERE`` clause and parameters: each column's values as one JSON parameter (no length limit)."""
    if not where:
        return "", []
    parts, params = [], []
    for col, values in where.items():
        if col not in lay.columns:
            return " WHERE 0", []
        vals = [None if pd.isna(v) else (v.item() if isinstance(v, np.generic) else v) for v in values]
        parts.append(f"{_q(col)} IN (SELECT value FROM json_each(?))")
        params.append(json.dumps([str(v) if isinstance(v, (pd.Timestamp,)) else v for v in vals if v is not None]))
    return " WHERE " + " AND ".join(parts), params


def _frame(con, lay: _Layout, *, raw: bool, where: dict | None = None) -> pd.DataFrame:
    names = list(lay.columns)
    select = [_q(n) for n in names] + ([_q(lay.geom)] if lay.geom else [])
    clause, params = _where_sql(lay, where)
    rows = con.execute(f"SELECT {', '.join(select) or 'NULL'} FROM {_q(lay.table)}{clause} "
                       f"ORDER BY {_q(lay.pk)}", params).fetchall()
    cols = list(zip(*rows)) if rows else [() for _ in select]
    df = pd.DataFrame({n: _from_sql(list(v), lay.columns[n], raw) for n, v in zip(names, cols)}, columns=names)
    if not lay.geom:
        return df
    geoms = decode_blobs(cols[-1])
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=_crs_of(con, lay.srs_id)),
                            crs=_crs_of(con, lay.srs_id))


def _read(con, table: str, *, raw: bool = False, where: dict | None = None) -> pd.DataFrame:
    lay = _Layout(con, table)
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

    def __init__(self, con: sqlite3.Connection):
        self.con = con
        self._ready = False

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
            _ensure_bookkeeping(con, self._present())
            self._ready = True
        prepared: list[tuple[Change, pd.DataFrame]] = []
        for ch in changes:
            if ch.columns is not None:
                # A partial upsert: the stored rows, read here under the lock, with the given columns.
                current = _read(con, ch.table, where={TABLES[ch.table].key: ch.rows[TABLES[ch.table].key]})
                ch = Change(ch.table, merge_partial(ch, current), "upsert")
            prepared.append((ch, prepare_rows(ch)))
        layouts = {t: _Layout(con, t) for t in {ch.table for ch, _ in prepared}}
        filled = {t: lay.exists and con.execute(f"SELECT EXISTS (SELECT 1 FROM {_q(t)})").fetchone()[0] == 1
                  for t, lay in layouts.items()}
        problems = validate_prepared(prepared, {t: list(lay.columns) for t, lay in layouts.items()}, dict(filled))
        if problems:
            raise StoreError(f"{len(problems)} problem(s); nothing was written", problems)
        written: set[str] = set()
        for ch, rows in prepared:
            lay = layouts[ch.table]
            if not lay.exists:
                _create_layer(con, ch.table, {c: _kind_of(ch.table, c, rows[c]) for c in rows.columns
                                              if c != "geometry"})
                _ensure_bookkeeping(con, [ch.table])
                lay = layouts[ch.table] = _Layout(con, ch.table)
            fresh = ch.how == "replace" or not filled[ch.table]
            layouts[ch.table] = _write(con, lay, ch, rows, fresh)
            filled[ch.table] = len(rows) > 0 or (filled[ch.table] and ch.how != "replace")
            written.add(ch.table)
        written |= _sync_status(con, sites_touched(prepared), self._present())
        _bump(con, written)

    def _present(self) -> list[str]:
        return GpkgStore._tables(self.con)


def _write(con, lay: _Layout, ch: Change, rows: pd.DataFrame, fresh: bool) -> _Layout:
    """Write one validated change; returns the table's layout after it."""
    t = _q(lay.table)
    spec = TABLES[lay.table]
    frame_cols = [c for c in rows.columns if c != "geometry"]
    if fresh:
        # As a rewrite would: replacing (or first rows) leaves exactly the frame's columns.
        con.execute(f"DELETE FROM {t}")
        for name in [c for c in lay.columns if c not in frame_cols and c not in spec.required_names]:
            con.execute(f"ALTER TABLE {t} DROP COLUMN {_q(name)}")
    for name in frame_cols:
        want = _kind_of(lay.table, name, rows[name])
        have = lay.columns.get(name) if name in lay.columns else None
        if name not in lay.columns:
            con.execute(f"ALTER TABLE {t} ADD COLUMN {_q(name)} {_DECL[want]}")
        elif name not in spec.column_names and _fits(have, want):
            _retype(con, lay.table, name, _fits(have, want))
    lay = _Layout(con, lay.table)
    if len(rows) == 0:
        return lay
    values = {c: _to_sql(rows[c], lay.columns[c]) for c in frame_cols}
    if lay.geom:
        geoms = promote_multi(lay.table, rows.geometry.values)
        values[lay.geom] = gpkg_blobs(geoms, envelope=spec.geometry != "Point")
        _extend_extent(con, lay.table, geoms)
    if ch.how == "upsert" and not fresh:
        _upsert(con, lay, values, spec.key)
    else:
        _insert(con, lay.table, values)
    return lay


def _insert(con, table: str, values: dict[str, list]) -> None:
    names = list(values)
    con.executemany(f"INSERT INTO {_q(table)} ({', '.join(map(_q, names))}) VALUES ({', '.join('?' * len(names))})",
                    zip(*values.values()))


def _upsert(con, lay: _Layout, values: dict[str, list], key: str) -> None:
    """Rows with a stored key: only the columns that differ are updated (in place); new keys are inserted.

    The rows replace stored rows whole, so a stored column the rows lack
    becomes NULL (counted as a difference only where it was not NULL).
    """
    names = list(lay.columns) + ([lay.geom] if lay.geom else [])
    n = len(values[key])
    new = {c: values.get(c, [None] * n) for c in names}
    stored = con.execute(f"SELECT {_q(lay.pk)}, {', '.join(map(_q, names))} FROM {_q(lay.table)} "
                         f"WHERE {_q(key)} IN (SELECT value FROM json_each(?))",
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
                a, b = _wkb_part(a), _wkb_part(b)
            if a != b:
                changed.append(c)
        if changed:
            updates.setdefault(tuple(changed), []).append((i, old[0]))
    for cols, items in updates.items():
        sets = ", ".join(f"{_q(c)} = ?" for c in cols)
        con.executemany(f"UPDATE {_q(lay.table)} SET {sets} WHERE {_q(lay.pk)} = ?",
                        [[new[c][i] for c in cols] + [fid] for i, fid in items])
    if inserts:
        _insert(con, lay.table, {c: [values[c][i] for i in inserts] for c in values})


def _retype(con, table: str, name: str, kind: str) -> None:
    """Widen a stored extra column to ``kind`` (numbers to REAL, anything else to TEXT), keeping its values."""
    t, tmp = _q(table), _q(name + "__widened")
    con.execute(f"ALTER TABLE {t} ADD COLUMN {tmp} {_DECL[kind]}")
    con.execute(f"UPDATE {t} SET {tmp} = CAST({_q(name)} AS {_DECL[kind]})")
    con.execute(f"ALTER TABLE {t} DROP COLUMN {_q(name)}")
    con.execute(f"ALTER TABLE {t} RENAME COLUMN {tmp} TO {_q(name)}")


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
        lay = _Layout(con, layer)
        if "status" not in lay.columns:
            continue
        ev = _read(con, "status_events", raw=True,
                   where={"layer": [layer]} if ids is None else {"layer": [layer], "feature_id": sorted(ids)})
        if not len(ev):
            continue
        site_where = "" if ids is None else f" WHERE {_q('id')} IN (SELECT value FROM json_each(?))"
        cur = con.execute(f'SELECT "id", "status" FROM {_q(layer)}{site_where}',
                          () if ids is None else (json.dumps(sorted(ids)),)).fetchall()
        current = pd.Series([s for _, s in cur], index=[i for i, _ in cur], dtype=object)
        fixes = status_fixes(ev, layer, current)
        if len(fixes):
            con.executemany(f'UPDATE {_q(layer)} SET "status" = ? WHERE "id" = ?',
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

def _with_latest_status(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Whole tables with each site's status set to its latest event (when the events are among them)."""
    events = frames.get("status_events")
    if events is None or not len(events):
        return frames
    out = dict(frames)
    for layer in SITE_LAYERS:
        sites = out.get(layer)
        if sites is None or not len(sites) or "status" not in sites.columns:
            continue
        fixes = status_fixes(events, layer, sites.set_index("id")["status"])
        if len(fixes):
            sites = sites.copy()
            hit = sites["id"].isin(fixes.index)
            sites.loc[hit, "status"] = sites.loc[hit, "id"].map(fixes).to_numpy()
            out[layer] = sites
    return out


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
        pyogrio.write_dataframe(pd.DataFrame(out), path, **kwargs)
