"""The PostGIS store: the data contract in a shared PostgreSQL database.

One GeoPackage serves one desk; a bureau with a wall screen, planners and
inspectors writing at once needs a database. :class:`PostgisStore` gives the
same API as :class:`geo.store.gpkg.GpkgStore` over PostgreSQL + PostGIS:

- one table per contract table, named as in the contract, with typed columns
  (``date``, ``timestamp``, ``double precision``, ``integer``, ``boolean``,
  ``text``) and ``geometry(<Type>, 4326)`` with a GiST index (polygons and
  lines stored as their multi type, as the GeoPackage does); columns beyond
  the contract are stored too, typed from their pandas dtype;
- a hidden ``_seq`` column keeps table order (the contract breaks ties between
  status events by table order), so a round trip returns rows in order;
- ``commit`` is one transaction: the rows are validated exactly as the
  GeoPackage store validates them (:func:`geo.store.shared.validate_prepared`), then
  ``upsert`` is ``INSERT … ON CONFLICT`` (a partial upsert sets only its
  columns), ``append`` an ``INSERT`` (``COPY``), ``replace`` a ``DELETE`` and
  ``COPY``. Readers keep seeing the previous data until the commit ends
  (MVCC), and a failed commit changes nothing;
- no lost update: a commit first locks the sites whose status it sets (upserted
  rows, sites gaining events: ``SELECT … FOR UPDATE``, in id order) and, after
  writing, sets their ``status`` to their latest event (the one rule of
  :func:`geo.store.shared.status_fixes`), so two inspectors updating one site
  are both recorded and a rewritten site row never restores a stale status.
  :meth:`PostgisStore.atomic` runs read-then-write units in one transaction
  (rows read ``for_update`` stay locked until it ends). Deadlocks and
  serialisation failures are retried;
- ``version()`` reads counters in ``qingshan_meta`` (overall, and one per
  table for ``version(tables)``) that every commit bumps in its own
  transaction (so a reader never sees a new version with old data).

Connections come from one SQLAlchemy pool per URL and process; every value
goes to the database as a parameter or through ``COPY`` and every identifier
is quoted by psycopg, never formatted into SQL text.

Command line: ``python -m geo migrate --store postgresql://…`` creates or
upgrades the schema (idempotent); ``python -m geo copy SRC DST`` copies a whole
store between GeoPackage and PostGIS, either way.
"""
from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from typing import Callable, Iterable, Iterator, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from psycopg import sql

from .. import contract
from ..contract import SITE_LAYERS, STORE_CRS, TABLES
from ..errors import StoreError
from . import commits
from .base import Change, Store, Transaction
from .search_sql import (SEARCH_LAYERS, SEARCH_LIMIT, check_bbox, check_layers, check_limit, clean_query,
                         search_statement, within_bbox)
from .search_sql import frame as search_frame
from .shared import (STORED_GEOMETRY, check_layer_name, column_kind, merge_partial, normalise, prepare_rows,
                     promote_multi, sites_touched, status_fixes, validate_prepared)

#: Version of the database schema this code writes; ``migrate`` brings older ones up to it.
SCHEMA_VERSION = 5
META_TABLE = "qingshan_meta"
_VERSION_KEY = "version:"  # qingshan_meta rows counting the commits of each table
T = TypeVar("T")
SEQ = "_seq"  # hidden column: table order

_SQL_TYPES = {"str": "text", "float": "double precision", "int": "integer", "date": "date",
              "datetime": "timestamp", "bool": "boolean", "bytes": "bytea"}
_TYPE_NAMES = {"timestamp without time zone": "timestamp", "character varying": "text"}
_NUMERIC = {"integer", "bigint", "double precision", "smallint", "real", "numeric"}
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
_RETRIES = 8
_KEYS_CHUNK = 20_000  # reading keys per query of readings_present
_COPY_CHUNK = 20_000  # rows converted to Python values at a time for COPY

_ENGINES: dict[str, object] = {}
_ENGINES_LOCK = threading.Lock()


# --- connections ------------------------------------------------------------------------

def _sa_url(url: str):
    from sqlalchemy.engine import make_url

    u = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    return u.set(drivername="postgresql+psycopg")


def engine_for(url: str):
    """The pooled SQLAlchemy engine of ``url`` (one per URL and process, shared by every store object)."""
    from sqlalchemy import create_engine

    u = _sa_url(url)
    key = u.render_as_string(hide_password=False)
    with _ENGINES_LOCK:
        eng = _ENGINES.get(key)
        if eng is None:
            # Small pool: a Streamlit process serves its sessions from it; pre-ping survives server restarts.
            eng = create_engine(u, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800,
                                connect_args={"application_name": "qingshan"})
            _ENGINES[key] = eng
        return eng


def dispose_engine(url: str) -> None:
    """Close the pooled connections to ``url`` (tests drop their databases after)."""
    key = _sa_url(url).render_as_string(hide_password=False)
    with _ENGINES_LOCK:
        eng = _ENGINES.pop(key, None)
    if eng is not None:
        eng.dispose()


def _sqlstate(exc: BaseException) -> str | None:
    return getattr(getattr(exc, "orig", exc), "sqlstate", None)


# --- schema -----------------------------------------------------------------------------

def _create_table(cur, table: str, columns: Iterable[str] | None = None) -> None:
    """Create ``table`` with its hidden order column, key, required contract columns and geometry."""
    spec = TABLES[table]
    cols = [sql.SQL("{} bigserial NOT NULL").format(sql.Identifier(SEQ))]
    names = [c.name for c in spec.columns if c.required] if columns is None else list(columns)
    for name in names:
        col = spec.column(name)
        decl = sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(_SQL_TYPES[col.kind]))
        if name == spec.key:
            decl = sql.SQL("{} PRIMARY KEY").format(decl)
        cols.append(decl)
    if spec.geometry:
        cols.append(sql.SQL("geometry geometry({}, 4326)").format(sql.SQL(STORED_GEOMETRY[spec.geometry])))
    if spec.key is None:
        cols.append(sql.SQL("PRIMARY KEY ({})").format(sql.Identifier(SEQ)))
    cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(sql.Identifier(table), sql.SQL(", ").join(cols)))
    if spec.key is not None:
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
            sql.Identifier(f"{table}_seq_idx"), sql.Identifier(table), sql.Identifier(SEQ)))
    if spec.geometry:
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gist (geometry)").format(
            sql.Identifier(f"{table}_geometry_gist"), sql.Identifier(table)))


def _migration_1(cur) -> None:
    """Every contract table, indexes for the common lookups."""
    for table in TABLES:
        _create_table(cur, table)
    # The latest event of a site, the latest reading of a point: both are index-ordered scans.
    cur.execute("CREATE INDEX IF NOT EXISTS status_events_site_idx ON status_events "
                "(layer, feature_id, effective_on, recorded_at)")
    cur.execute("CREATE INDEX IF NOT EXISTS readings_point_idx ON readings (point_id, parameter, sampled_at)")


def _migration_2(cur) -> None:
    """The casework tables (complaints, inspections, visits, attachments, assessment entries)."""
    for table in contract.CASEWORK_TABLES:
        _create_table(cur, table)


def _migration_3(cur) -> None:
    """Each point's latest sampling time is one index look-up (pages read each point's latest sampling day)."""
    cur.execute("CREATE INDEX IF NOT EXISTS readings_point_time_idx ON readings (point_id, sampled_at)")


#: Tables with a unique key of several columns: (index name, columns); see :func:`ensure_unique`.
UNIQUE_KEYS = {"readings": ("readings_key_idx", ("point_id", "sampled_at", "parameter")),
               "section_classes": ("section_classes_key_idx", ("point_id", "month"))}


def _plain_index(table: str) -> str:
    """The non-unique index a table gets instead of its unique key when it already holds duplicates."""
    return UNIQUE_KEYS[table][0].replace("_key_idx", "_key_dups_idx")


def ensure_unique(cur, table: str, *, rebuild: bool = False) -> bool:
    """The table's unique key index (:data:`UNIQUE_KEYS`), created when missing; ``True`` when it is unique.

    A table that already holds duplicate keys (stored before the index existed) is still opened: it gets
    a plain index on the same columns, so the duplicate check of an import stays an index lookup, and keeps
    it. ``rebuild`` drops both first (the table was just rewritten whole) and tries the unique one again.
    """
    name, cols = UNIQUE_KEYS[table]
    plain = _plain_index(table)
    if rebuild:
        for n in (name, plain):
            cur.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(n)))
    cur.execute("SELECT to_regclass(format('%%I.%%I', current_schema(), %s::text)), "
                "to_regclass(format('%%I.%%I', current_schema(), %s::text)), "
                "to_regclass(format('%%I.%%I', current_schema(), %s::text))", (table, name, plain))
    have_table, unique, dups = cur.fetchone()
    if have_table is None:
        return False
    if unique is not None or dups is not None:
        return unique is not None
    columns = sql.SQL(", ").join(map(sql.Identifier, cols))
    # a failed statement would end the whole transaction: the attempt runs inside a savepoint
    cur.execute("SAVEPOINT qingshan_key")
    try:
        cur.execute(sql.SQL("CREATE UNIQUE INDEX {} ON {} ({})").format(sql.Identifier(name), sql.Identifier(table),
                                                                        columns))
    except Exception as exc:  # noqa: BLE001 - only a unique violation is expected; others are raised
        if _sqlstate(exc) != "23505":
            raise
        cur.execute("ROLLBACK TO SAVEPOINT qingshan_key")
        cur.execute("RELEASE SAVEPOINT qingshan_key")
        cur.execute(sql.SQL("CREATE INDEX {} ON {} ({})").format(sql.Identifier(plain), sql.Identifier(table),
                                                                 columns))
        return False
    cur.execute("RELEASE SAVEPOINT qingshan_key")
    return True


def _migration_4(cur) -> None:
    """The readings key (point, time, parameter) unique, so an import asks the database which readings it holds;
    the published monthly section classes (``section_classes``), unique by point and month."""
    _create_table(cur, "section_classes")
    for table in UNIQUE_KEYS:
        ensure_unique(cur, table)


def _migration_5(cur) -> None:
    """The history of field changes (``edits``: a ledger update's rename or move, who and when), by site."""
    _create_table(cur, "edits")
    cur.execute("CREATE INDEX IF NOT EXISTS edits_site_idx ON edits (layer, feature_id)")


#: (schema version, migration): each runs once, in order, in the migrating transaction.
MIGRATIONS = ((1, _migration_1), (2, _migration_2), (3, _migration_3), (4, _migration_4), (5, _migration_5))


def migrate(url: str) -> tuple[int, int]:
    """Create or upgrade the Qingshan schema in the database of ``url``; idempotent.

    Returns
    -------
    (before, after)
        Schema versions before and after (``before == after`` when already current).
    """
    eng = engine_for(url)
    with _driver_tx(eng) as cur:
        # One migrator at a time; the lock ends with the transaction.
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (0x71696E67,))
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
        if cur.fetchone() is None:
            try:
                cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except Exception as exc:  # noqa: BLE001
                raise StoreError(f"PostGIS is not installed in this database and could not be created "
                                 f"(ask the administrator to run CREATE EXTENSION postgis): {exc}") from exc
        cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, value text NOT NULL)").format(
            sql.Identifier(META_TABLE)))
        before = _schema_version(cur)
        if before > SCHEMA_VERSION:
            raise StoreError(f"the database schema is version {before}, newer than this program "
                             f"({SCHEMA_VERSION}); update Qingshan")
        for number, step in MIGRATIONS:
            if number > before:
                step(cur)
        meta = sql.Identifier(META_TABLE)
        cur.execute(sql.SQL("INSERT INTO {} VALUES ('schema_version', %s) ON CONFLICT (key) "
                            "DO UPDATE SET value = EXCLUDED.value").format(meta), (str(SCHEMA_VERSION),))
        # epoch: tells a recreated database from the old one, so cached data of the old one is never reused.
        cur.execute(sql.SQL("INSERT INTO {} VALUES ('epoch', %s), ('data_version', '0') "
                            "ON CONFLICT (key) DO NOTHING").format(meta), (uuid.uuid4().hex[:12],))
    return before, SCHEMA_VERSION


def _schema_version(cur) -> int:
    cur.execute("SELECT to_regclass(%s)", (META_TABLE,))
    if cur.fetchone()[0] is None:
        return 0
    cur.execute(sql.SQL("SELECT value FROM {} WHERE key = 'schema_version'").format(sql.Identifier(META_TABLE)))
    row = cur.fetchone()
    return int(row[0]) if row else 0


@contextlib.contextmanager
def _driver_tx(eng, *, isolation: str | None = None, readonly: bool = False) -> Iterator:
    """A psycopg cursor inside one pooled transaction (committed on success, rolled back on error)."""
    opts = {}
    if isolation:
        opts["isolation_level"] = isolation
    with eng.connect().execution_options(**opts) as conn:
        with conn.begin():
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                if readonly:
                    cur.execute("SET TRANSACTION READ ONLY")
                yield cur


# --- values in and out -----------------------------------------------------------------

def _kind_of(table: str, name: str, s: pd.Series) -> str:
    """SQL type of a frame column (:func:`geo.store.shared.column_kind`); integers outside the contract as bigint."""
    kind, in_contract = column_kind(table, name, s)
    return "bigint" if kind == "int" and not in_contract else _SQL_TYPES[kind]


def _py_values(s: pd.Series, sqltype: str) -> list:
    """Python values for ``COPY`` (``None`` for every kind of missing)."""
    if sqltype == "date":
        ts = pd.to_datetime(s)
        return [None if v is pd.NaT else v.date() for v in ts.tolist()]
    if sqltype == "timestamp":
        ts = pd.to_datetime(s)
        return [None if v is pd.NaT else v.to_pydatetime() for v in ts.tolist()]
    if sqltype == "double precision":
        arr = pd.to_numeric(s).to_numpy(dtype="float64", na_value=np.nan)
        out = arr.astype(object)
        out[np.isnan(arr)] = None  # NaN would be stored as the float NaN, not as NULL
        return out.tolist()
    vals = s.astype(object).where(s.notna(), None).tolist()
    if sqltype in ("integer", "bigint"):
        return [None if v is None else int(v) for v in vals]
    if sqltype == "boolean":
        return [None if v is None else bool(v) for v in vals]
    if sqltype == "bytea":
        return [None if v is None else bytes(v) for v in vals]
    return [None if v is None else str(v) for v in vals]


def _ewkb_hex(table: str, geoms) -> list:
    """Hex EWKB (SRID 4326) of each geometry, single parts promoted to the stored multi type."""
    g = promote_multi(table, geoms)
    missing = shapely.is_missing(g)
    out = np.full(len(g), None, dtype=object)
    if (~missing).any():
        out[~missing] = shapely.to_wkb(shapely.set_srid(g[~missing], 4326), hex=True, include_srid=True,
                                       output_dimension=2)
    return out.tolist()


def _frame_from_rows(table: str, names: list[str], types: list[str], rows: list[tuple]) -> pd.DataFrame:
    """A frame from fetched rows, typed from the SQL column types (geometry arrives as WKB)."""
    spec = TABLES[table]
    cols = list(zip(*rows)) if rows else [() for _ in names]
    data: dict[str, object] = {}
    geom = None
    for name, sqltype, values in zip(names, types, cols):
        if name == "geometry" and spec.geometry:
            geom = shapely.from_wkb(np.array(values, dtype=object)) if len(values) else np.array([], dtype=object)
            continue
        has_null = any(v is None for v in values)
        if sqltype in ("date", "timestamp"):
            # pandas converts the driver's date objects a dozen times faster than numpy does
            data[name] = pd.Series(pd.array(list(values), dtype="datetime64[ms]"))
        elif sqltype in ("double precision", "real", "numeric"):
            data[name] = pd.Series(np.array([np.nan if v is None else v for v in values], dtype="float64"))
        elif sqltype in ("integer", "bigint", "smallint"):
            data[name] = pd.Series(pd.array(values, dtype="Int64") if has_null else np.array(values, dtype="int64"))
        elif sqltype == "boolean":
            data[name] = pd.Series(pd.array(values, dtype="boolean") if has_null else np.array(values, dtype=bool))
        elif sqltype == "bytea":
            data[name] = pd.Series([None if v is None else bytes(v) for v in values], dtype=object)
        else:
            # As pyogrio reads text from a GeoPackage: pandas' string dtype, NaN for NULL.
            data[name] = pd.Series(list(values), dtype="str")
    df = pd.DataFrame(data, columns=[n for n in names if not (n == "geometry" and spec.geometry)])
    if spec.geometry:
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geom, crs=STORE_CRS), crs=STORE_CRS)
    return df


# --- the store --------------------------------------------------------------------------

class PostgisStore(Store):
    """A store in a PostgreSQL + PostGIS database (see the module docstring).

    Parameters
    ----------
    url
        ``postgresql://user:password@host:port/dbname`` (``postgres://`` and
        ``postgresql+psycopg://`` accepted). A ``?options=-csearch_path=name,public``
        suffix keeps several stores in one database, one schema each.
    create
        Create or upgrade the schema when it is missing or old (as ``geo migrate``).
    """

    def __init__(self, url: str, *, create: bool = False):
        self._spec = url
        self.engine = engine_for(url)
        self.url = _sa_url(url).render_as_string(hide_password=True)
        try:
            with _driver_tx(self.engine) as cur:
                have = _schema_version(cur)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - any connection failure: one clear message
            raise StoreError(f"cannot open the database {self.url}: {getattr(exc, 'orig', exc)}") from exc
        if have < SCHEMA_VERSION:
            if not create:
                what = "holds no Qingshan store" if have == 0 else f"has schema version {have}, older than {SCHEMA_VERSION}"
                raise StoreError(f"the database {self.url} {what}; run: python -m geo migrate --store URL")
            migrate(url)
        elif have > SCHEMA_VERSION:
            raise StoreError(f"the database schema is version {have}, newer than this program ({SCHEMA_VERSION})")

    # -- reading ---------------------------------------------------------------------

    def tables(self) -> list[str]:
        with _driver_tx(self.engine, readonly=True) as cur:
            cur.execute("SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = current_schema() AND table_name = ANY(%s)", (list(TABLES),))
            names = {r[0] for r in cur.fetchall()}
        return [t for t in TABLES if t in names]

    @staticmethod
    def _columns(cur, table: str) -> dict[str, str]:
        """Stored columns of ``table`` (hidden ones left out) and their SQL types, in table order."""
        # pg_catalog, not information_schema: a lookup of one table, not a view over the whole catalogue
        cur.execute("SELECT a.attname, CASE WHEN t.typname = 'geometry' THEN 'geometry' "
                    "ELSE format_type(a.atttypid, NULL) END FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                    "WHERE a.attrelid = to_regclass(format('%%I.%%I', current_schema(), %s::text)) "
                    "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", (table,))
        return {name: _TYPE_NAMES.get(typ, typ) for name, typ in cur.fetchall() if name != SEQ}

    @staticmethod
    def _filled(cur, table: str) -> bool:
        cur.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table)))
        return bool(cur.fetchone()[0])

    def _read(self, cur, table: str, raw: bool, where: dict | None = None, for_update: bool = False,
              keep: Iterable[str] | None = None) -> pd.DataFrame:
        """Rows of ``table``; ``keep``: select only these columns (and the geometry)."""
        cols = self._columns(cur, table)
        if not cols:
            empty = contract.empty(table)
            return empty if keep is None else empty[[c for c in empty.columns if c in set(keep) or c == "geometry"]]
        clause, params = _where_sql(cols, where)
        if keep is not None:
            wanted = set(keep)
            cols = {n: t for n, t in cols.items() if n in wanted or (n == "geometry" and TABLES[table].geometry)}
        if for_update and TABLES[table].key:
            # lock in key order (as commits lock sites), so two writers never wait for each other in a circle
            cur.execute(sql.SQL("SELECT 1 FROM {} {} ORDER BY {} FOR UPDATE").format(
                sql.Identifier(table), clause, sql.Identifier(TABLES[table].key)), params)
        exprs = [sql.SQL("ST_AsBinary({})").format(sql.Identifier(n)) if t == "geometry" else sql.Identifier(n)
                 for n, t in cols.items()]
        cur.execute(sql.SQL("SELECT {} FROM {} {} ORDER BY {}").format(
            sql.SQL(", ").join(exprs), sql.Identifier(table), clause, sql.Identifier(SEQ)), params)
        df = _frame_from_rows(table, list(cols), list(cols.values()), cur.fetchall())
        return df if raw else normalise(table, df)

    def read(self, table: str, where: dict[str, Iterable] | None = None) -> pd.DataFrame:
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        with _driver_tx(self.engine, readonly=True) as cur:
            return self._read(cur, table, raw=False, where=where)

    def read_raw(self, table: str) -> pd.DataFrame:
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        with _driver_tx(self.engine, readonly=True) as cur:
            return self._read(cur, table, raw=True)

    def read_columns(self, table: str, columns: Iterable[str], where: dict[str, Iterable] | None = None
                     ) -> pd.DataFrame:
        """:meth:`Store.read_columns`: only ``columns`` are selected (an attachment's content stays in the database)."""
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        with _driver_tx(self.engine, readonly=True) as cur:
            return self._read(cur, table, raw=False, where=where, keep=list(columns))

    def read_many(self, tables: Iterable[str] = tuple(TABLES)) -> dict[str, pd.DataFrame]:
        """Several tables from one snapshot: sites and their events always agree."""
        with _driver_tx(self.engine, isolation="REPEATABLE READ", readonly=True) as cur:
            return {t: self._read(cur, t, raw=False) for t in tables}

    def read_extra(self, layer: str) -> pd.DataFrame | None:
        """An optional table outside the contract (e.g. ``roads``), geometry as EPSG:4326; ``None`` when absent."""
        check_layer_name(layer)
        with _driver_tx(self.engine, readonly=True) as cur:
            cur.execute("SELECT column_name, udt_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
                        (layer,))
            cols = [(n, t) for n, t in cur.fetchall() if n != SEQ]
            if not cols:
                return None
            # geometries in any SRID come out as EPSG:4326 (an unknown SRID 0 is taken as 4326)
            exprs = [sql.SQL("ST_AsBinary(CASE WHEN ST_SRID({g}) IN (0, 4326) THEN {g} ELSE ST_Transform({g}, 4326) "
                             "END)").format(g=sql.Identifier(n)) if t == "geometry" else sql.Identifier(n)
                     for n, t in cols]
            cur.execute(sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(exprs), sql.Identifier(layer)))
            rows = cur.fetchall()
        data = dict(zip([n for n, _ in cols], zip(*rows))) if rows else {n: [] for n, _ in cols}
        geom = [n for n, t in cols if t == "geometry"]
        df = pd.DataFrame({n: list(v) for n, v in data.items() if n not in geom})
        if not geom:
            return df
        g = shapely.from_wkb(np.array(list(data[geom[0]]), dtype=object)) if rows else []
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(g, crs=STORE_CRS), crs=STORE_CRS)

    def export_gpkg(self, path):
        """The whole store (one snapshot) written as a new GeoPackage at ``path``."""
        from .gpkg import GpkgStore

        frames = self.read_many(self.tables())
        return GpkgStore(path, create=True).rebuild(frames)

    def version(self, tables: Iterable[str] | None = None) -> str:
        with _driver_tx(self.engine, readonly=True) as cur:
            return self._version(cur, tables)

    def versions(self, tables: Iterable[str]) -> dict[str, str]:
        with _driver_tx(self.engine, isolation="REPEATABLE READ", readonly=True) as cur:
            return {t: self._version(cur, [t]) for t in tables}

    def read_versioned(self, table: str) -> tuple[str, pd.DataFrame]:
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        with _driver_tx(self.engine, isolation="REPEATABLE READ", readonly=True) as cur:
            return self._version(cur, [table]), self._read(cur, table, raw=False)

    @staticmethod
    def _version(cur, tables: Iterable[str] | None) -> str:
        names = None if tables is None else sorted(set(tables))
        keys = ["epoch", "data_version"] if names is None else ["epoch"] + [_VERSION_KEY + t for t in names]
        cur.execute(sql.SQL("SELECT key, value FROM {} WHERE key = ANY(%s)").format(
            sql.Identifier(META_TABLE)), (keys,))
        kv = dict(cur.fetchall())
        return f"pg-{kv.get('epoch', '')}-" + "-".join(kv.get(k, "0") for k in keys[1:])

    # -- aggregations the database does best ---------------------------------------------

    def latest_readings(self, parameters: Iterable[str] | None = None) -> pd.DataFrame:
        """The latest reading of each sampling point and parameter (``DISTINCT ON`` over the readings index)."""
        params = list(parameters) if parameters is not None else None
        with _driver_tx(self.engine, readonly=True) as cur:
            cols = self._columns(cur, "readings")
            query = sql.SQL("SELECT DISTINCT ON (point_id, parameter) {} FROM readings "
                            "WHERE (%(p)s::text[] IS NULL OR parameter = ANY(%(p)s::text[])) "
                            "ORDER BY point_id, parameter, sampled_at DESC, {} DESC").format(
                sql.SQL(", ").join(map(sql.Identifier, cols)), sql.Identifier(SEQ))
            cur.execute(query, {"p": params})
            df = _frame_from_rows("readings", list(cols), list(cols.values()), cur.fetchall())
        return normalise("readings", df)

    def status_counts(self, layer: str) -> pd.Series:
        """Number of ``layer`` sites by current status (``GROUP BY`` in the database)."""
        if layer not in SITE_LAYERS:
            raise StoreError(f"not a site layer: {layer!r}")
        with _driver_tx(self.engine, readonly=True) as cur:
            cur.execute(sql.SQL("SELECT status, count(*) FROM {} GROUP BY status ORDER BY status").format(
                sql.Identifier(layer)))
            rows = cur.fetchall()
        return pd.Series({s: int(n) for s, n in rows}, dtype="int64", name="count")

    # -- writing -----------------------------------------------------------------------

    def commit(self, changes: list[Change]) -> None:
        if not changes:
            return
        # (a frame that cannot take the contract's types is refused before connecting)
        whole = [(ch, prepare_rows(ch)) for ch in changes if ch.columns is None]
        # Tables whose definition this commit changes, looked up beforehand (see _lock_targets).
        with _driver_tx(self.engine, readonly=True) as cur:
            locked = self._lock_targets(cur, whole)
        del whole  # (the commit prepares its rows again: not two copies of a day's readings at once)
        self.atomic(lambda tx: tx.commit(changes, locked=locked))

    def atomic(self, work: Callable[[Transaction], T]) -> T:
        for attempt in range(_RETRIES):
            try:
                with _driver_tx(self.engine) as cur:
                    tx = _PgTx(self, cur)
                    result = work(tx)
                commits.log_commit(self.url, tx.committed)  # committed: the one log line of this write
                return result
            except Exception as exc:  # noqa: BLE001 - database errors become StoreError below
                if not _is_db_error(exc):
                    raise  # the caller's own errors (and StoreError) pass unchanged
                disk = commits.postgres_refusal(exc, _sqlstate(exc), self.url)
                if disk is not None:  # "could not extend file": rolled back, nothing written
                    raise disk from exc
                if _sqlstate(exc) in _RETRY_SQLSTATES and attempt < _RETRIES - 1:
                    # Another writer held the same rows: back off a little, then run the whole unit again.
                    time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
                    continue
                if _sqlstate(exc) == "23505":  # unique_violation: e.g. readings another import stored meanwhile
                    raise StoreError(f"a row repeats a key already stored ({getattr(exc, 'orig', exc)}); "
                                     f"nothing was written",
                                     zh=f"有数据与库中已有记录重复（{getattr(exc, 'orig', exc)}），未写入任何数据。") from exc
                raise StoreError(f"the database refused the commit; nothing was written: "
                                 f"{getattr(exc, 'orig', exc)}") from exc
        raise AssertionError("unreachable")

    def _lock_targets(self, cur, prepared) -> list[str]:
        """Tables this commit redefines (replace, first rows, new or retyped columns).

        Those are locked against other writers at the very start of the
        commit's transaction (readers go on): a plain :meth:`commit` looks them
        up beforehand, because taking the lock after reading the table would
        deadlock two such commits (inside :meth:`atomic` a deadlock is retried).
        """
        out = set()
        for ch, rows in prepared:
            if ch.how == "replace":
                out.add(ch.table)
                continue
            cols = self._columns(cur, ch.table)
            if not self._filled(cur, ch.table) or any(
                    c not in cols or (c not in TABLES[ch.table].column_names
                                      and cols[c] != _kind_of(ch.table, c, rows[c]) and cols[c] != "text")
                    for c in rows.columns if not (c == "geometry" and TABLES[ch.table].geometry)):
                out.add(ch.table)
        return sorted(out)

    def _commit_in(self, cur, prepared: list[tuple[Change, pd.DataFrame]], locked: list[str]) -> None:
        # 1. Lock: tables whose definition changes (no other writer meanwhile), then the sites whose
        #    status this commit sets (upserted, or gaining events), in a fixed order, so two updates of
        #    one site run one after the other and the second sees the first's event.
        for t in locked:
            cur.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.Identifier(t)))
        touched = sites_touched(prepared)
        for layer in sorted(touched):
            if touched[layer] is not None and self._columns(cur, layer):
                cur.execute(sql.SQL("SELECT id FROM {} WHERE id = ANY(%s) ORDER BY id FOR UPDATE").format(
                    sql.Identifier(layer)), (sorted(touched[layer]),))
        # 2. Validate every change as the GeoPackage store does, before anything is written.
        names = {ch.table for ch, _ in prepared}
        columns = {t: self._columns(cur, t) for t in names}
        missing_tables = [t for t in names if not columns[t]]
        if missing_tables:
            raise StoreError(f"tables {missing_tables} are missing; run: python -m geo migrate --store URL")
        # An empty table gets exactly the frame's columns (as in the GeoPackage) only under the lock;
        # emptied by someone else since the look-up, it is simply written into.
        filled = {t: self._filled(cur, t) or t not in locked for t in names}
        problems = validate_prepared(prepared, {t: list(c) for t, c in columns.items()}, dict(filled))
        if problems:
            raise StoreError(f"{len(problems)} problem(s); nothing was written", problems)
        # 3. Write.
        for ch, rows in prepared:
            self._apply(cur, ch, rows, columns[ch.table], filled[ch.table])
            filled[ch.table] = len(rows) > 0 or (filled[ch.table] and ch.how != "replace")
        # 4. Current status = latest event, for every site the commit touched (one rule for both backends).
        written = names | _sync_status(cur, touched)
        # 5. New versions, last, so the counters' row locks are held only for an instant.
        meta = sql.Identifier(META_TABLE)
        for key in [_VERSION_KEY + t for t in sorted(written)] + ["data_version"]:
            cur.execute(sql.SQL("INSERT INTO {} VALUES (%s, '1') ON CONFLICT (key) DO UPDATE "
                                "SET value = ({}.value::bigint + 1)::text").format(meta, meta), (key,))

    def _apply(self, cur, ch: Change, rows: pd.DataFrame, columns: dict[str, str], filled: bool) -> None:
        """Write one validated change; ``columns`` (name → SQL type) is updated to the table's new columns."""
        table, spec = ch.table, TABLES[ch.table]
        tid = sql.Identifier(table)
        frame_cols = [c for c in rows.columns if not (c == "geometry" and spec.geometry)]
        # As in the GeoPackage, replacing (or writing into an empty table) leaves exactly the frame's
        # columns; the table is emptied first, so optional columns are simply dropped and re-added.
        fresh = ch.how == "replace" or not filled
        keyed = fresh and table in UNIQUE_KEYS
        if keyed:  # rewritten whole: the key index is built again after the rows (it may become unique again)
            for n in (UNIQUE_KEYS[table][0], _plain_index(table)):
                cur.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(n)))
        if fresh:
            cur.execute(sql.SQL("DELETE FROM {}").format(tid))
            required = set(spec.required_names)
            for name in [c for c in columns if c not in required and c != "geometry"]:
                cur.execute(sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(tid, sql.Identifier(name)))
                del columns[name]
        for name in frame_cols:
            want = _kind_of(table, name, rows[name])
            have = columns.get(name)
            if have is None:
                cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                    tid, sql.Identifier(name), sql.SQL(want)))
                columns[name] = want
            elif have != want and name not in spec.column_names:
                # An extra column whose values changed kind: widen (numbers to double, anything else to text).
                wider = "double precision" if {have, want} <= _NUMERIC else "text"
                if have != wider:
                    cur.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}::{}").format(
                        tid, sql.Identifier(name), sql.SQL(wider), sql.Identifier(name), sql.SQL(wider)))
                    columns[name] = wider
        self._write_rows(cur, ch, rows, columns, fresh)
        if keyed:
            ensure_unique(cur, table)

    def _write_rows(self, cur, ch: Change, rows: pd.DataFrame, columns: dict[str, str], fresh: bool) -> None:
        """Insert (``COPY``) or upsert the rows of one validated change."""
        table, spec = ch.table, TABLES[ch.table]
        tid = sql.Identifier(table)
        frame_cols = [c for c in rows.columns if not (c == "geometry" and spec.geometry)]
        if len(rows) == 0:
            return
        write_cols = frame_cols + (["geometry"] if spec.geometry else [])

        def values():
            # the Python values of a slice of rows at a time: a day's 120,000 readings are never all
            # converted at once (COPY streams them anyway)
            for a in range(0, len(rows), _COPY_CHUNK):
                part = rows.iloc[a:a + _COPY_CHUNK]
                cols = [_py_values(part[c], columns[c]) for c in frame_cols]
                if spec.geometry:
                    cols.append(_ewkb_hex(table, part.geometry.values))
                yield from zip(*cols)

        ids = sql.SQL(", ").join(map(sql.Identifier, write_cols))
        if ch.how == "upsert" and not fresh:
            # Stage the rows, then one INSERT … ON CONFLICT: a row with an existing key replaces the old
            # row whole (columns it lacks become NULL), as in the GeoPackage.
            stage = sql.Identifier(f"_stage_{table}")
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(stage))
            cur.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                stage, ids, tid))
            cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN _n bigserial").format(stage))
            _copy(cur, stage, write_cols, values())
            # Upserted rows keep their place (as in the GeoPackage); a partial upsert sets only its columns.
            others = [c for c in (getattr(ch, "partial", None) or columns) if c != spec.key]
            sets = [sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in others]
            cur.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ORDER BY _n "
                                "ON CONFLICT ({}) DO UPDATE SET {}").format(
                tid, ids, ids, stage, sql.Identifier(spec.key), sql.SQL(", ").join(sets)))
        else:
            _copy(cur, tid, write_cols, values())
        if len(rows) >= 10_000:
            # fresh statistics after a bulk load, so lookups by id or by site use their index at once
            cur.execute(sql.SQL("ANALYZE {}").format(tid))

    # -- site search (issue 13) --------------------------------------------------------------

    def search_sites(self, text, *, layers=SEARCH_LAYERS, limit: int = SEARCH_LIMIT) -> pd.DataFrame:
        """Sites whose id or name contains ``text`` (at most ``limit``): ``layer``, ``id``, ``name``.

        One query (:mod:`geo.store.search_sql`, the same statement as the GeoPackage's: wildcards
        typed by the user are literal, the text is a parameter); an empty text gives the first sites.
        """
        q, n = clean_query(text), check_limit(limit)
        with _driver_tx(self.engine, readonly=True) as cur:
            present = [t for t in SEARCH_LAYERS if self._columns(cur, t)]
            names = [(t, "name" in self._columns(cur, t)) for t in check_layers(layers, present)]
            if not names:
                return search_frame([])
            statement, params = search_statement(names, q, n, dialect="postgres")
            cur.execute(statement, params)
            rows = cur.fetchall()
        return search_frame(rows)

    def count(self, table: str, where: dict[str, Iterable] | None = None) -> int:
        """Number of rows of ``table`` (matching ``where`` as in :meth:`read`), counted by PostgreSQL."""
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        with _driver_tx(self.engine, readonly=True) as cur:
            cols = self._columns(cur, table)
            if not cols:
                return 0
            clause, params = _where_sql(cols, where)
            cur.execute(sql.SQL("SELECT count(*) FROM {} {}").format(sql.Identifier(table), clause), params)
            return int(cur.fetchone()[0])

    def read_bbox(self, table: str, bbox) -> pd.DataFrame:
        """Rows of a site layer (or ``sampling_points``) whose geometry meets ``bbox`` (minx, miny, maxx, maxy).

        ``&&`` with ``ST_MakeEnvelope`` finds the candidates on the GiST index; the exact test is
        shapely's, as on the GeoPackage.
        """
        if table not in TABLES or TABLES[table].key != "id" or not TABLES[table].geometry:
            raise StoreError(f"not a layer of features with ids: {table!r}")
        b = check_bbox(bbox)
        with _driver_tx(self.engine, readonly=True) as cur:
            cols = self._columns(cur, table)
            if not cols:
                return contract.empty(table)
            exprs = [sql.SQL("ST_AsBinary({})").format(sql.Identifier(c)) if t == "geometry" else sql.Identifier(c)
                     for c, t in cols.items()]
            cur.execute(sql.SQL("SELECT {} FROM {} WHERE geometry && ST_MakeEnvelope(%s, %s, %s, %s, 4326) "
                                "ORDER BY {}").format(sql.SQL(", ").join(exprs), sql.Identifier(table),
                                                      sql.Identifier(SEQ)), list(b))
            df = _frame_from_rows(table, list(cols), list(cols.values()), cur.fetchall())
        return within_bbox(normalise(table, df), b)


    # -- readings queries (issue 13) --
    # SQL in the database (geo.store.readings_sql); values as parameters, identifiers quoted by psycopg.

    def _readings_index(self) -> None:
        """Create the index ``readings(point_id, sampled_at)`` once when missing (stores made before it).

        The latest sampling of a point is one lookup on it. A role that may not create indexes
        queries without it.
        """
        if getattr(self, "_readings_indexed", False):
            return
        with _driver_tx(self.engine, readonly=True) as cur:
            cur.execute("SELECT to_regclass(format('%%I.%%I', current_schema(), %s::text)), "
                        "to_regclass(format('%%I.%%I', current_schema(), %s::text))",
                        ("readings", "readings_point_time_idx"))
            table, index = cur.fetchone()
        if table is not None and index is None:
            with contextlib.suppress(Exception):
                with _driver_tx(self.engine) as cur:
                    cur.execute("CREATE INDEX IF NOT EXISTS readings_point_time_idx ON readings (point_id, sampled_at)")
        self._readings_indexed = True

    def _readings_query(self, template: str, fill: dict, params: dict, fallback, work_mem: str | None = None):
        """Rows of ``template`` (``{cols}`` = the stored columns) as a ``readings`` frame; ``fallback()`` without it.

        ``work_mem``: the memory this query's sorts and hashes may take (``SET LOCAL``, this transaction only)."""
        self._readings_index()
        with _driver_tx(self.engine, readonly=True) as cur:
            cols = self._columns(cur, "readings")
            if not {"point_id", "sampled_at", "parameter", "value"} <= set(cols):
                return fallback()
            if work_mem is not None:
                cur.execute("SELECT set_config('work_mem', %s, true)", (work_mem,))
            names = list(cols)
            ids = sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(n)) for n in names)
            cur.execute(sql.SQL(template).format(cols=ids, **{k: sql.SQL(v) for k, v in fill.items()}), params)
            df = _frame_from_rows("readings", names, list(cols.values()), cur.fetchall())
        return normalise("readings", df)

    def latest_sampling(self, as_of=None, points=None) -> pd.DataFrame:
        from . import readings_sql as q

        ids = q.ids_list(points)
        end = q.end_of(as_of)
        fill = {"points": q.PG_POINTS_ALL if ids is None else q.PG_POINTS_GIVEN,
                "end_inner": "" if end is None else " AND sampled_at < %(end)s",
                "end_outer": "" if end is None else " AND x.sampled_at < %(end)s"}
        params = {"ids": ids, "end": None if end is None else end.to_pydatetime()}
        return self._readings_query(q.PG_LATEST, fill, params,
                                    lambda: super(PostgisStore, self).latest_sampling(as_of, points))

    def readings_between(self, points, start=None, end=None) -> pd.DataFrame:
        from . import readings_sql as q

        ids = q.ids_list(points)
        time_sql, params = q.pg_time(start, end)
        fill = {"points": "" if ids is None else " AND r.point_id = ANY(%(ids)s::text[])", "time": time_sql}
        return self._readings_query(q.PG_BETWEEN, fill, {**params, "ids": ids},
                                    lambda: super(PostgisStore, self).readings_between(points, start, end))

    def readings_outside(self, bounds, start=None, end=None) -> pd.DataFrame:
        from . import readings_sql as q

        if not len(bounds):
            return self.readings_between([], start, end)
        time_sql, params = q.pg_time(start, end)
        with _driver_tx(self.engine, readonly=True) as cur:
            has_bd = "below_detection" in self._columns(cur, "readings")
        fill = {"time": time_sql,
                "bd": " OR (b.bd AND r.below_detection AND r.value IS NOT NULL)" if has_bd else ""}
        # three years of a province's readings are sorted by (point, parameter) for the join: 4 MB (the
        # default) spills them to disk, 64 MB keeps them in memory (0.38 → 0.26 s)
        return self._readings_query(q.PG_OUTSIDE, fill, {**params, **q.pg_bounds(bounds)},
                                    lambda: super(PostgisStore, self).readings_outside(bounds, start, end),
                                    work_mem="64MB")

    def monthly_worst(self, limits, points, start=None, end=None) -> pd.DataFrame:
        from . import readings_sql as q

        time_sql, params = q.pg_time(start, end)
        rows_l = q.limits_rows(limits)
        cols_l = list(zip(*rows_l)) if rows_l else [[]] * 8
        water = q.water_rows(points)
        self._readings_index()
        with _driver_tx(self.engine, readonly=True) as cur:
            cols = self._columns(cur, "readings")
            if not {"point_id", "sampled_at", "parameter", "value"} <= set(cols):
                return super().monthly_worst(limits, points, start, end)
            _serial(cur)
            bd = ("count(*) FILTER (WHERE r.below_detection AND r.value IS NOT NULL)"
                  if "below_detection" in cols else "0")
            fill = {"time": time_sql, "bd": bd, "case": q.worst_case_sql("({})::int")}
            cur.execute(sql.SQL(q.PG_MONTHLY_WORST).format(**{k: sql.SQL(v) for k, v in fill.items()}),
                        {**params, "pids": [p for p, _ in water], "wbs": [w for _, w in water],
                         "lpar": list(cols_l[0]), "lwb": list(cols_l[1]), "lkind": list(cols_l[2]),
                         **{f"l{i}": list(cols_l[2 + i]) for i in range(1, 6)}})
            rows = cur.fetchall()
        cols = list(zip(*rows)) if rows else [[]] * 3
        return q.worst_frame(*map(list, cols))

    def readings_present(self, keys: pd.DataFrame) -> pd.DataFrame:
        """:meth:`Store.readings_present` in SQL: the keys as three arrays unnested side by side, joined on the
        readings key index (values are parameters; no temporary table, so a read-only transaction)."""
        from . import readings_sql as q

        k = q.reading_keys(keys)
        whole = np.flatnonzero(k.notna().all(axis=1).to_numpy())
        if not len(whole):
            return k.iloc[:0]
        pids, times, pars = (k[c].to_numpy()[whole] for c in q.READING_KEY)
        found = []
        with _driver_tx(self.engine, readonly=True) as cur:
            if not set(q.READING_KEY) <= set(self._columns(cur, "readings")):
                return k.iloc[:0]
            _serial(cur)
            # a few arrays of 20,000 keys each: a day's 120,000 keys are never all in memory as parameters
            for a in range(0, len(whole), _KEYS_CHUNK):
                part = slice(a, a + _KEYS_CHUNK)
                t = np.datetime_as_string(times[part].astype("datetime64[ms]"), unit="ms")
                cur.execute(q.PG_PRESENT, {"pid": pids[part].tolist(), "par": pars[part].tolist(), "t": t.tolist()})
                found.append(np.array([r[0] for r in cur.fetchall()], dtype=np.int64) - 1 + a)
        n = np.sort(np.concatenate(found)) if found else np.array([], dtype=np.int64)
        return k.iloc[whole[n]]

    def section_classes(self, points: Iterable[str] | None = None, start=None, end=None) -> pd.DataFrame:
        """:meth:`Store.section_classes` in SQL (by the key index on point and month)."""
        from . import readings_sql as q

        ids = q.ids_list(points)
        lo, hi = q.month_range(start, end)
        conds, params = [], []
        if ids is not None:
            conds.append(sql.SQL("point_id = ANY(%s)"))
            params.append(ids)
        if lo is not None:
            conds.append(sql.SQL("month >= %s::date"))
            params.append(lo.date())
        if hi is not None:
            conds.append(sql.SQL("month < %s::date"))
            params.append(hi.date())
        with _driver_tx(self.engine, readonly=True) as cur:
            cols = self._columns(cur, "section_classes")
            if not {"point_id", "month"} <= set(cols):
                return contract.empty("section_classes")
            where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds) if conds else sql.SQL("")
            # COLLATE "C": ids ordered by code point, as pandas orders them (not by the database's locale)
            cur.execute(sql.SQL('SELECT {} FROM section_classes{} ORDER BY point_id COLLATE "C", month, {}').format(
                sql.SQL(", ").join(map(sql.Identifier, cols)), where, sql.Identifier(SEQ)), params)
            df = _frame_from_rows("section_classes", list(cols), list(cols.values()), cur.fetchall())
        return normalise("section_classes", df)

    # -- status queries (issue 13) --

    def sites_on(self, layer: str, as_of=None, columns: Iterable[str] | None = None, *,
                 exclude_statuses: Iterable[str] | None = None):
        """:meth:`Store.sites_on` in SQL (``DISTINCT ON`` over the events index; one snapshot)."""
        from . import status_sql as S

        S.check_layer(layer)
        S.ensure_pg_index(self, _driver_tx)
        day = None if as_of is None else S.day_text(as_of)
        with _driver_tx(self.engine, isolation="REPEATABLE READ", readonly=True) as cur:
            have = self._columns(cur, layer)
            cols = S.wanted_columns([c for c in have if c != "geometry"], columns)
            if not have:
                e = contract.empty(layer)
                return e[["id", "status"] + S.wanted_columns([c for c in e.columns if c != "geometry"], columns)
                         + ["geometry"]]
            events = bool(self._columns(cur, "status_events"))
            params: list = []
            sel = [sql.SQL("s.id")] + [sql.SQL("s.{}").format(sql.Identifier(c)) for c in cols]
            if day is not None and not events:
                rows = []
            else:
                if S.pg_fast(cur, layer, day) if events else True:
                    status = sql.SQL("s.status") if "status" in have else sql.SQL("NULL::text")
                    src = sql.SQL("FROM {} s").format(sql.Identifier(layer))
                    conds = []
                    if day is not None:  # sites with no event at all are not on the ledger on any date
                        conds.append(sql.SQL("EXISTS (SELECT 1 FROM status_events e WHERE e.layer = %s "
                                             "AND e.feature_id = s.id)"))
                        params.append(layer)
                else:
                    status = sql.SQL("ev.status")
                    src = sql.SQL("FROM {} s JOIN (" + S.PG_LATEST + ") ev ON ev.feature_id = s.id").format(
                        sql.Identifier(layer))
                    params += [layer, day]
                    conds = []
                if exclude_statuses is not None:
                    conds.append(sql.SQL("({st} IS NULL OR NOT ({st} = ANY(%s)))").format(st=status))
                    params.append([str(v) for v in exclude_statuses])
                where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds) if conds else sql.SQL("")
                geom = sql.SQL(", ST_AsBinary(s.geometry)") if "geometry" in have else sql.SQL(", NULL::bytea")
                cur.execute(sql.SQL("SELECT {}, {} AS status{}{} {}{} ORDER BY s.{}").format(
                    sel[0], status, sql.SQL("").join(sql.SQL(", ") + x for x in sel[1:]), geom, src, where,
                    sql.Identifier(SEQ)), params)
                rows = cur.fetchall()
        names = ["id", "status"] + cols + ["geometry"]
        types = ["text", "text"] + [have[c] for c in cols] + ["geometry"]
        return S.finish(layer, _frame_from_rows(layer, names, types, rows))

    def events_of(self, layer: str, *, until=None, statuses: Iterable[str] | None = None,
                  feature_ids: Iterable[str] | None = None, changed_after=None) -> pd.DataFrame:
        """:meth:`Store.events_of` in SQL (over the events index)."""
        from . import status_sql as S

        S.check_layer(layer)
        conds, params = [sql.SQL("layer = %s")], [layer]
        if until is not None:
            conds.append(sql.SQL("effective_on <= %s::date"))
            params.append(S.day_text(until))
        if statuses is not None:
            conds.append(sql.SQL("status = ANY(%s)"))
            params.append([str(v) for v in statuses])
        if feature_ids is not None:
            conds.append(sql.SQL("feature_id = ANY(%s)"))
            params.append([str(v) for v in feature_ids])
        if changed_after is not None:  # the sites with an event after the date (by the day): all their events
            conds.append(sql.SQL("feature_id IN (SELECT feature_id FROM status_events WHERE layer = %s "
                                 "AND effective_on > %s::date" + (" AND effective_on <= %s::date)" if until is not None
                                                                  else ")")))
            params += [layer, S.day_text(changed_after)] + ([S.day_text(until)] if until is not None else [])
        with _driver_tx(self.engine, readonly=True) as cur:
            have = self._columns(cur, "status_events")
            if not have:
                return contract.empty("status_events")[S.EVENT_COLUMNS]
            cur.execute(sql.SQL("SELECT layer, feature_id, status, effective_on, recorded_at FROM status_events "
                                "WHERE {} ORDER BY {}").format(sql.SQL(" AND ").join(conds), sql.Identifier(SEQ)),
                        params)
            rows = cur.fetchall()
        df = _frame_from_rows("status_events", S.EVENT_COLUMNS, [have[c] for c in S.EVENT_COLUMNS], rows)
        return S.finish("status_events", df)

    def done_steps(self, layer: str, until, done: Iterable[str], feature_ids: Iterable[str] | None = None
                   ) -> pd.DataFrame:
        """:meth:`Store.done_steps` in SQL (a window over the events index: no event leaves the database)."""
        from . import status_sql as S

        S.check_layer(layer)
        params = {"layer": layer, "day": S.day_text(until), "done": [str(v) for v in done],
                  "ids": None if feature_ids is None else [str(v) for v in feature_ids]}
        with _driver_tx(self.engine, readonly=True) as cur:
            if not self._columns(cur, "status_events"):
                return S.steps_frame([])
            _serial(cur)
            cur.execute(S.pg_steps_sql(feature_ids is not None), params)
            rows = cur.fetchall()
        return S.steps_frame(rows)


def _serial(cur) -> None:
    """No parallel workers for this transaction's query: the wall runs its aggregates beside the page, and
    PostgreSQL's workers took the other processor from it (the page's riverside check 0.37 → 0.6 s) for no
    gain (the monthly worst classes of a province: 0.63–0.67 s with two workers, 0.53–0.68 s without)."""
    cur.execute("SET LOCAL max_parallel_workers_per_gather = 0")


def _copy(cur, target, columns: list[str], rows: Iterable[tuple]) -> None:
    """``COPY`` the rows (tuples in the order of ``columns``) into ``target``."""
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
            target, sql.SQL(", ").join(map(sql.Identifier, columns)))) as cp:
        for row in rows:
            cp.write_row(row)


def _where_sql(cols: dict[str, str], where: dict | None):
    """``WHERE`` clause (column = ANY(values), all must hold) and its parameters."""
    if not where:
        return sql.SQL(""), []
    parts, params = [], []
    for col, values in where.items():
        if col not in cols:
            return sql.SQL("WHERE false"), []
        vals = [v for v in values if not pd.isna(v)]
        if cols[col] == "text":
            parts.append(sql.SQL("{} = ANY(%s)").format(sql.Identifier(col)))
            params.append([str(v) for v in vals])
        else:
            parts.append(sql.SQL("{}::text = ANY(%s)").format(sql.Identifier(col)))
            params.append([str(v) for v in vals])
    return sql.SQL("WHERE ") + sql.SQL(" AND ").join(parts), params


def _is_db_error(exc: BaseException) -> bool:
    import psycopg
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, (psycopg.Error, DBAPIError))


def _sync_status(cur, touched: dict[str, set[str] | None]) -> set[str]:
    """Status = latest event for the touched sites (one rule: :func:`geo.store.shared.status_fixes`)."""
    out = set()
    for layer in sorted(touched):
        ids = touched[layer]
        only = sql.SQL("") if ids is None else sql.SQL(" AND feature_id = ANY(%(ids)s)")
        cur.execute(sql.SQL("SELECT feature_id, status, effective_on, recorded_at FROM status_events "
                            "WHERE layer = %(layer)s{} ORDER BY {}").format(only, sql.Identifier(SEQ)),
                    {"layer": layer, "ids": sorted(ids or ())})
        ev = pd.DataFrame(cur.fetchall(), columns=["feature_id", "status", "effective_on", "recorded_at"])
        if not len(ev):
            continue
        ev.insert(0, "layer", layer)
        ev["effective_on"] = pd.to_datetime(ev["effective_on"])
        site_only = sql.SQL("") if ids is None else sql.SQL(" WHERE id = ANY(%s)")
        cur.execute(sql.SQL("SELECT id, status FROM {}{}").format(sql.Identifier(layer), site_only),
                    () if ids is None else (sorted(ids),))
        cur_rows = cur.fetchall()
        current = pd.Series([s for _, s in cur_rows], index=[i for i, _ in cur_rows], dtype=object)
        fixes = status_fixes(ev, layer, current)
        if len(fixes):
            cur.executemany(sql.SQL("UPDATE {} SET status = %s WHERE id = %s").format(sql.Identifier(layer)),
                            [(str(v), str(i)) for i, v in fixes.items()])
            out.add(layer)
    return out


class _PgTx(Transaction):
    """Reads and writes of one :meth:`PostgisStore.atomic` unit, on one database transaction."""

    def __init__(self, store: PostgisStore, cur):
        self.store, self.cur = store, cur
        self.committed: list[Change] = []  # what this unit wrote, for the store's log line once committed

    def read(self, table, where=None, *, for_update=False):
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        return self.store._read(self.cur, table, raw=False, where=where, for_update=for_update)

    def commit(self, changes: list[Change], *, locked: list[str] | None = None) -> None:
        if not changes:
            return
        prepared: list[tuple[Change, pd.DataFrame]] = []
        for ch in changes:
            partial = ch.columns
            if partial is not None:
                # the stored rows, locked, with the change's columns: judged and written as whole rows
                key = TABLES[ch.table].key
                current = self.read(ch.table, where={key: ch.rows[key]}, for_update=True)
                ch = Change(ch.table, merge_partial(ch, current), "upsert")
                ch.partial = partial
            rows = prepare_rows(ch)
            if SEQ in rows.columns:
                raise StoreError(f"{ch.table}: the column name {SEQ} is reserved")
            prepared.append((ch, rows))
        if locked is None:
            locked = self.store._lock_targets(self.cur, prepared)
        self.store._commit_in(self.cur, prepared, locked)
        self.committed += changes


# --- copy between stores -----------------------------------------------------------------

def copy_store(src: Store, dst: Store) -> dict[str, int]:
    """Make ``dst`` hold exactly what ``src`` holds (every contract table), in one commit.

    Returns the number of rows copied per table. Tables ``src`` lacks are
    emptied in ``dst``; nothing is written if any table fails validation.
    """
    present_src, present_dst = set(src.tables()), set(dst.tables())
    frames = src.read_many([t for t in TABLES if t in present_src]) if present_src else {}
    changes: list[Change] = []
    counts: dict[str, int] = {}
    for table in TABLES:
        df = frames.get(table)
        if df is None:
            if table in present_dst:
                changes.append(Change(table, contract.empty(table), "replace"))
            continue
        if len(df) == 0 and table not in present_dst:
            continue
        changes.append(Change(table, df, "replace"))
        counts[table] = len(df)
    dst.commit(changes)
    return counts
