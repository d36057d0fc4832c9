"""The GeoPackage format as SQLite sees it: geometry binary, column kinds and values, layers as GDAL makes them.

:mod:`geo.store.gpkg` writes and reads a GeoPackage through the standard
``sqlite3`` module with these pieces: GeoPackage binary geometries (header,
optional envelope, WKB), the ``ST_*`` SQL functions GDAL's R-tree triggers
call, stored values of each declared column type (as pyogrio reads them),
and the DDL of a new layer exactly as GDAL writes it.
"""
from __future__ import annotations

import sqlite3
import struct
import threading
from typing import Iterable

import numpy as np
import pandas as pd
import shapely

from ..contract import STORE_CRS, TABLES
from .shared import STORED_GEOMETRY, column_kind

VERSIONS = "qingshan_table_versions"

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


def wkb_part(blob):
    """The WKB inside a GeoPackage blob (``None`` for NULL or a blob that is not GeoPackage binary)."""
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if flags & 0x20:  # extended GeoPackage geometry: not ours to read
        return None
    return bytes(blob[8 + _ENVELOPE_BYTES.get((flags >> 1) & 0x07, 0):])


def decode_blobs(values) -> np.ndarray:
    """Shapely geometries of GeoPackage blobs (missing for NULL or unreadable ones)."""
    wkb = np.array([wkb_part(v) for v in values], dtype=object)
    return shapely.from_wkb(wkb, on_invalid="ignore") if len(wkb) else np.array([], dtype=object)


_last = threading.local()  # (blob, envelope) of the last blob asked about: each trigger asks four times


def _envelope(blob):
    """(minx, maxx, miny, maxy, empty) of a GeoPackage blob, or ``None``."""
    if blob is None:
        return None
    cached = getattr(_last, "pair", (None, None))
    if cached[0] is blob or cached[0] == blob:
        return cached[1]
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
            g = shapely.from_wkb(wkb_part(blob), on_invalid="ignore")
            if g is None or g.is_empty:
                env = (None, None, None, None, True)
            else:
                minx, miny, maxx, maxy = g.bounds
                env = (minx, maxx, miny, maxy, False)
    _last.pair = (blob, env)
    return env


def _st(index: int):
    def f(blob):
        env = _envelope(blob)
        return None if env is None or env[4] else env[index]
    return f


def _st_isempty(blob):
    env = _envelope(blob)
    return None if env is None else int(env[4])


def register_functions(con: sqlite3.Connection) -> None:
    """The SQL functions GDAL's R-tree triggers call (GDAL registers them in its own SQLite; we do here)."""
    con.create_function("ST_IsEmpty", 1, _st_isempty, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, _st(i), deterministic=True)


# --- values ---------------------------------------------------------------------------------

def declared_kind(decl: str) -> str:
    """Storage kind of a declared SQLite column type (as GDAL declares them)."""
    d = (decl or "").upper()
    if d in ("DATETIME", "TIMESTAMP"):
        return "datetime"
    if d == "DATE":
        return "date"
    if d == "BOOLEAN":
        return "boolean"
    if d == "BLOB":
        return "blob"
    if d in ("INTEGER", "INT", "MEDIUMINT", "SMALLINT", "TINYINT", "BIGINT"):
        return "integer"
    if d in ("REAL", "FLOAT", "DOUBLE"):
        return "real"
    return "text"


DECL = {"text": "TEXT", "real": "REAL", "integer": "INTEGER", "boolean": "BOOLEAN", "datetime": "DATETIME",
        "date": "DATE", "blob": "BLOB"}
_CONTRACT_KIND = {"str": "text", "float": "real", "int": "integer", "bool": "boolean", "date": "datetime",
                  "datetime": "datetime", "bytes": "blob"}


def kind_of(table: str, name: str, s: pd.Series) -> str:
    """Storage kind for a frame column (:func:`geo.store.shared.column_kind` in this file's terms)."""
    return _CONTRACT_KIND[column_kind(table, name, s)[0]]


def fits(have: str, want: str) -> str | None:
    """The kind a stored extra column must take to hold values of kind ``want`` (``None``: it fits)."""
    if have == want or have == "text" or (have == "real" and want in ("integer", "boolean")):
        return None
    return "real" if {have, want} <= {"real", "integer", "boolean"} else "text"


def to_sql(s: pd.Series, kind: str) -> list:
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
    if kind == "blob":  # attachments' content: stored as BLOB, byte for byte
        return [None if v is None else bytes(v) for v in vals]
    if kind == "integer":
        return [None if v is None else int(v) for v in vals]
    if kind == "boolean":
        return [None if v is None else int(bool(v)) for v in vals]
    return [None if v is None else str(v) for v in vals]


def _parse_times(values: np.ndarray, raw: bool) -> pd.Series:
    s = pd.Series(values, dtype=object)
    try:
        ts = pd.to_datetime(s, errors="coerce", format="ISO8601")
    except (ValueError, TypeError):
        # UTC times written with a Z beside naive ones: all read as wall-clock times (the contract's are naive)
        ts = pd.to_datetime(s, errors="coerce", format="ISO8601", utc=True)
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_localize(None)
    if raw and (ts.isna() & s.notna()).any():
        return s  # as stored, so `geo check` can name the values that are not dates
    return ts.astype("datetime64[ms]")


def from_sql(values, kind: str, raw: bool) -> pd.Series:
    """A frame column from stored values (typed as pyogrio types GeoPackage columns)."""
    values = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    missing = pd.isna(values)
    if kind == "blob" or any(isinstance(v, (bytes, memoryview)) for v in values[:50]):
        return pd.Series([None if m else bytes(v) if isinstance(v, (bytes, memoryview)) else v
                          for v, m in zip(values, missing)], dtype=object)
    try:
        if kind in ("datetime", "date"):
            return _parse_times(values, raw)
        if kind == "real":
            return pd.Series(values).astype("float64")
        if kind == "integer":
            return pd.Series(pd.array(values, dtype="Int64") if missing.any() else values.astype("int64"))
        if kind == "boolean":
            if missing.any():
                return pd.Series(pd.array([None if m else bool(v) for v, m in zip(values, missing)],
                                          dtype="boolean"))
            return pd.Series(values.astype(bool))
    except (ValueError, TypeError):
        # A value of another type in a typed column (SQLite allows it): kept as stored.
        return pd.Series(values, dtype=object)
    return pd.Series(values, dtype="str")


# --- schema ---------------------------------------------------------------------------------

def quote(name: str) -> str:
    """A quoted SQL identifier (names come from the contract or from the file itself)."""
    return '"' + str(name).replace('"', '""') + '"'


class Layout:
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
        info = con.execute(f"PRAGMA table_info({quote(table)})").fetchall() if self.exists else []
        self.pk = next((r[1] for r in info if r[5]), "fid")
        self.columns = {r[1]: declared_kind(r[2]) for r in info if r[1] not in (self.pk, self.geom)}


def crs_of(con: sqlite3.Connection, srs_id) -> str | None:
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


def create_layer(con: sqlite3.Connection, table: str, kinds: dict[str, str]) -> None:
    """Create ``table`` as GDAL creates a GeoPackage layer: feature table, contents, geometry column, R-tree."""
    spec = TABLES[table]
    t = quote(table)
    cols = ['"fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL']
    if spec.geometry:
        cols.append(f'"geom" {STORED_GEOMETRY[spec.geometry].upper()}')
    cols += [f"{quote(n)} {DECL[k]}" for n, k in kinds.items()]
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
        con.execute(f"CREATE TRIGGER {quote('trigger_insert_feature_count_' + table)} AFTER INSERT ON {t} BEGIN "
                    f"UPDATE gpkg_ogr_contents SET feature_count = feature_count + 1 "
                    f"WHERE lower(table_name) = lower({lit}); END")
        con.execute(f"CREATE TRIGGER {quote('trigger_delete_feature_count_' + table)} AFTER DELETE ON {t} BEGIN "
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
    rt = quote(f"rtree_{table}_geom")
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
        con.execute(f"CREATE TRIGGER {quote(name + '_' + suffix)} {body}")


def ensure_bookkeeping(con: sqlite3.Connection, tables: Iterable[str]) -> None:
    """The versions table and the indexes commits and filtered reads need (idempotent)."""
    con.execute(f"CREATE TABLE IF NOT EXISTS {VERSIONS} (table_name TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    present = set(tables)
    for table in present:
        key = TABLES[table].key
        if key:
            con.execute(f"CREATE INDEX IF NOT EXISTS {quote(f'qingshan_{table}_{key}')} ON {quote(table)} ({quote(key)})")
    if "status_events" in present:
        con.execute('CREATE INDEX IF NOT EXISTS "qingshan_status_events_site" ON "status_events" '
                    '("layer", "feature_id")')
        # statuses on a date (geo.store.status_sql): events by site and date
        con.execute('CREATE INDEX IF NOT EXISTS "qingshan_status_events_site_date" ON "status_events" '
                    '("layer", "feature_id", "effective_on")')
    if "readings" in present:
        con.execute('CREATE INDEX IF NOT EXISTS "qingshan_readings_point" ON "readings" '
                    '("point_id", "sampled_at")')
    for table in present & set(UNIQUE_KEYS):
        ensure_unique(con, table)


#: Tables with a unique key of several columns: (index name, columns). A readings import asks the database
#: which of its (point, time, parameter) are stored, and the index refuses a second copy of one.
UNIQUE_KEYS = {"readings": ("qingshan_readings_key", ("point_id", "sampled_at", "parameter")),
               "section_classes": ("qingshan_section_classes_key", ("point_id", "month"))}


def plain_index_name(table: str) -> str:
    """The non-unique index a table gets instead of its unique key when it already holds duplicates."""
    return UNIQUE_KEYS[table][0] + "_dups"


def key_indexes(con: sqlite3.Connection, table: str) -> set[str]:
    """Which of the table's key indexes (unique, or the plain one) exist."""
    name, _ = UNIQUE_KEYS[table]
    rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN (?, ?)",
                       (name, plain_index_name(table))).fetchall()
    return {r[0] for r in rows}


def ensure_unique(con: sqlite3.Connection, table: str, *, rebuild: bool = False) -> bool:
    """The table's unique key index (:data:`UNIQUE_KEYS`), created when missing; ``True`` when it is unique.

    A table that already holds duplicate keys (written before the index existed) still opens: it gets a
    plain index on the same columns instead, so the duplicate check stays a lookup, and keeps it (trying
    the unique index again would read the whole table on every commit). ``rebuild`` drops both first (the
    table was just rewritten whole) and tries the unique index again.
    """
    name, cols = UNIQUE_KEYS[table]
    have = {r[1] for r in con.execute(f"PRAGMA table_info({quote(table)})")}
    if not set(cols) <= have:
        return False
    if rebuild:
        for n in (name, plain_index_name(table)):
            con.execute(f"DROP INDEX IF EXISTS {quote(n)}")
    present = key_indexes(con, table)
    if name in present:
        return True
    if present:
        return False
    columns = ", ".join(map(quote, cols))
    con.execute("SAVEPOINT qingshan_key")
    try:
        con.execute(f"CREATE UNIQUE INDEX {quote(name)} ON {quote(table)} ({columns})")
    except sqlite3.IntegrityError:
        con.execute("ROLLBACK TO qingshan_key")
        con.execute(f"CREATE INDEX {quote(plain_index_name(table))} ON {quote(table)} ({columns})")
        return False
    finally:
        con.execute("RELEASE qingshan_key")
    return True
