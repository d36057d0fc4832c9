"""Reads of ``readings`` that fetch only what a page shows (issue 13): shared SQL text and the pandas reference.

At province scale ``readings`` holds millions of rows; reading it whole into
pandas costs seconds and hundreds of MB. The reads here push the filter
(or the aggregation) into the database, on both backends:

- :func:`latest_sampling`: every reading of each point's last sampling *day*
  up to the end of ``as_of`` (what :func:`geo.water.latest_assessment` and
  :func:`geo.discharge.latest_outfalls` keep). One index lookup per point: a
  correlated ``MAX(sampled_at)`` on the index ``readings(point_id, sampled_at)``,
  then a range scan of that day.
- :func:`readings_between`: the readings of a few points over a period (one
  point's series, trend, the points of one river).
- :func:`readings_outside`: readings of given points and parameters beyond
  given bounds (``value < low`` or ``value > high``, or below detection where
  that alone decides), a superset of the exceedances the domain then judges
  exactly, so a page lists exceedances without fetching every reading.
- :func:`monthly_worst`: per point and month the worst class of its readings,
  given the limits as data (:func:`geo.water.class_limits`). GB 3838 classes
  are monotone in the value (``max`` kind: worse as it rises; ``min`` kind, DO:
  worse as it falls, below detection = worse than Ⅴ; ``range``, pH: outside
  6–9), so a month's worst is the class of its extremes per parameter
  (:func:`monthly_extremes`): the database aggregates and classes, a few
  thousand rows come back, and :func:`geo.wallboard.water_share_from_store` on
  them equals the share on every reading.

Each function here is the pandas definition on a whole ``readings`` frame: the
:class:`geo.store.base.Store` fallback and the tests' reference. The SQL text
below is what the GeoPackage (SQLite) and PostGIS stores run; values are always
parameters, identifiers come from the contract or the stored table and are quoted.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
import pandas as pd

#: Columns of a bounds frame for :func:`readings_outside`.
BOUNDS_COLUMNS = ("point_id", "parameter", "low", "high", "below_detection")


# --- bounds of time ----------------------------------------------------------------------------

def end_of(as_of) -> pd.Timestamp | None:
    """The first instant after the day ``as_of`` (readings up to the end of that day count)."""
    return None if as_of is None else pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)


def start_of(start) -> pd.Timestamp | None:
    return None if start is None else pd.Timestamp(start)


def sqlite_time(ts: pd.Timestamp) -> str:
    """``ts`` as text comparable with stored GeoPackage date-times (ISO 8601, ``T`` separator).

    A midnight bound is given as the date alone: ``'2007-06-30' <= '2007-06-30T…'`` and ``'2007-06-30'``
    itself, so a value stored as a bare date or with a ``Z`` compares as the pandas bound does.
    """
    ts = pd.Timestamp(ts)
    if ts == ts.normalize():
        return ts.strftime("%Y-%m-%d")
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{ts.microsecond // 1000:03d}" if ts.microsecond else "")


def ids_list(points: Iterable | None) -> list[str] | None:
    """Point ids as a list of strings (``None`` stays ``None``: every point)."""
    if points is None:
        return None
    return sorted({str(p) for p in pd.Series(list(points), dtype=object).dropna()})


def bounds_rows(bounds: pd.DataFrame) -> list[list]:
    """A bounds frame as JSON-able rows ``[point_id, parameter, low, high, bd]`` (``None`` for no bound)."""
    b = bounds.reindex(columns=list(BOUNDS_COLUMNS))
    # ±inf as the largest finite doubles (JSON has no infinity); as bounds they keep the same rows
    low = np.clip(pd.to_numeric(b["low"], errors="coerce").to_numpy(float), -1e308, 1e308)
    high = np.clip(pd.to_numeric(b["high"], errors="coerce").to_numpy(float), -1e308, 1e308)
    bd = b["below_detection"].astype("boolean").fillna(False).to_numpy(bool)
    return [[str(p), str(q), None if np.isnan(lo) else float(lo), None if np.isnan(hi) else float(hi), int(f)]
            for p, q, lo, hi, f in zip(b["point_id"], b["parameter"], low, high, bd)]


# --- the pandas definitions (Store fallback, tests' reference) -----------------------------------

def _bd(readings: pd.DataFrame) -> np.ndarray:
    if "below_detection" not in readings.columns:
        return np.zeros(len(readings), bool)
    return readings["below_detection"].astype("boolean").fillna(False).to_numpy(bool)


def latest_sampling(readings: pd.DataFrame, as_of=None, points: Iterable | None = None) -> pd.DataFrame:
    """Every reading of each point's last sampling day up to the end of ``as_of`` (table order kept)."""
    r = readings
    ids = ids_list(points)
    if ids is not None:
        r = r[r["point_id"].astype(str).isin(ids)]
    end = end_of(as_of)
    if end is not None:
        r = r[r["sampled_at"] < end]
    day = r["sampled_at"].dt.normalize()
    last = day.groupby(r["point_id"]).transform("max")
    return r[(day == last).to_numpy(bool)].reset_index(drop=True)


def readings_between(readings: pd.DataFrame, points: Iterable | None, start=None, end=None) -> pd.DataFrame:
    """Readings of ``points`` (all when ``None``) from ``start`` to the end of the day ``end``."""
    r = readings
    ids = ids_list(points)
    if ids is not None:
        r = r[r["point_id"].astype(str).isin(ids)]
    if start is not None:
        r = r[r["sampled_at"] >= start_of(start)]
    if end is not None:
        r = r[r["sampled_at"] < end_of(end)]
    return r.reset_index(drop=True)


def readings_outside(readings: pd.DataFrame, bounds: pd.DataFrame, start=None, end=None) -> pd.DataFrame:
    """Readings of the bounds' (point, parameter) pairs with ``value <= low``, ``value >= high`` or, where
    the bound says so, below detection; from ``start`` to the end of the day ``end``.

    The comparisons include the bound itself, so the rows are a superset of the readings strictly beyond
    it (the domain then judges each row exactly).
    """
    r = readings_between(readings, None, start, end)
    rows = bounds_rows(bounds)
    if not rows or not len(r):
        return r.iloc[:0].reset_index(drop=True)
    b = pd.DataFrame(rows, columns=list(BOUNDS_COLUMNS)).drop_duplicates(["point_id", "parameter"], keep="last")
    b = b.astype({"low": float, "high": float})
    key = pd.MultiIndex.from_arrays([r["point_id"].astype(str), r["parameter"].astype(str)])
    bi = b.set_index(["point_id", "parameter"])
    pos = bi.index.get_indexer(key)
    has = pos >= 0
    low = np.where(has, bi["low"].to_numpy()[pos], np.nan)
    high = np.where(has, bi["high"].to_numpy()[pos], np.nan)
    flag = np.where(has, bi["below_detection"].to_numpy()[pos], 0).astype(bool)
    v = r["value"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        keep = has & ((v <= low) | (v >= high) | (flag & _bd(r) & ~np.isnan(v)))
    return r[keep].reset_index(drop=True)


def monthly_extremes(readings: pd.DataFrame, start=None, end=None, points: Iterable | None = None
                     ) -> pd.DataFrame:
    """Per point, month and parameter: ``point_id, month, parameter, low, high, n_below`` (``n_below``:
    readings below detection with a value), readings from ``start`` to the end of the day ``end``."""
    r = readings_between(readings, points, start, end)
    cols = ["point_id", "month", "parameter", "low", "high", "n_below"]
    if not len(r):
        return months_frame([], [], [], [], [], [])
    work = pd.DataFrame({"point_id": r["point_id"].astype(str).to_numpy(),
                         "month": r["sampled_at"].dt.to_period("M").dt.to_timestamp().to_numpy(),
                         "parameter": r["parameter"].astype(str).to_numpy(),
                         "value": r["value"].to_numpy(float),
                         "bd": (_bd(r) & r["value"].notna().to_numpy(bool)).astype(int)})
    g = work.groupby(["point_id", "month", "parameter"], sort=True)
    out = g.agg(low=("value", "min"), high=("value", "max"), n_below=("bd", "sum")).reset_index()
    return months_frame(*(out[c].tolist() for c in cols))


#: Columns of a limits frame for :func:`monthly_worst`: a parameter on a kind of water, how its classes
#: go (``max``: worse as the value rises past ``l1``…``l5``; ``min``: worse as it falls below them, below
#: detection worse than the last; ``range``: inside ``l1``–``l2`` class 1, outside worse than the last).
LIMITS_COLUMNS = ("parameter", "waterbody", "kind", "l1", "l2", "l3", "l4", "l5")
#: The class of a value beyond the fifth limit (劣Ⅴ when the limits are GB 3838's Ⅰ–Ⅴ).
BEYOND = 6


def monthly_worst(readings: pd.DataFrame, limits: pd.DataFrame, points: dict, start=None, end=None
                  ) -> pd.DataFrame:
    """Per point and month, the worst class of its readings: ``point_id, month, worst`` (float).

    ``points`` maps each point id to its kind of water; a reading counts where ``limits`` has a row for its
    parameter on that water. The class of a value is one more than the number of limits it is past (as
    :func:`numpy.searchsorted` counts: on a limit is not past it); a month's worst is the class of its
    extreme values (classes are monotone in the value), so this is :func:`monthly_extremes` classed. Months
    with no value of a limited parameter are left out.
    """
    ext = monthly_extremes(readings, start, end, list(points))
    return worst_of_extremes(ext, limits, points)


def worst_of_extremes(ext: pd.DataFrame, limits: pd.DataFrame, points: dict) -> pd.DataFrame:
    """:func:`monthly_worst` from :func:`monthly_extremes`' rows."""
    wb = ext["point_id"].map(points)
    lim = pd.DataFrame(limits, columns=list(LIMITS_COLUMNS))
    x = ext.assign(waterbody=wb).merge(lim, on=["parameter", "waterbody"], how="inner")
    lo, hi = x["low"].to_numpy(float), x["high"].to_numpy(float)
    ls = x[["l1", "l2", "l3", "l4", "l5"]].to_numpy(float)
    kind = x["kind"].to_numpy(object)
    with np.errstate(invalid="ignore"):
        past_max = 1.0 + (hi[:, None] > ls).sum(axis=1)
        past_min = np.where(x["n_below"].to_numpy() > 0, float(BEYOND), 1.0 + (ls > lo[:, None]).sum(axis=1))
        out_range = np.where((lo < ls[:, 0]) | (hi > ls[:, 1]), float(BEYOND), 1.0)
    cls = np.select([kind == "max", kind == "min", kind == "range"], [past_max, past_min, out_range], np.nan)
    cls[np.isnan(lo) | np.isnan(hi)] = np.nan
    out = pd.DataFrame({"point_id": x["point_id"].to_numpy(object), "month": x["month"].to_numpy(), "worst": cls})
    out = out.dropna(subset=["worst"]).groupby(["point_id", "month"], sort=True)["worst"].max().reset_index()
    return worst_frame(out["point_id"].tolist(), out["month"].tolist(), out["worst"].tolist())


def worst_frame(points: list, months: list, worst: list) -> pd.DataFrame:
    """The frame :func:`monthly_worst` returns, from a database's rows."""
    return pd.DataFrame({"point_id": pd.Series([str(p) for p in points], dtype=object),
                         "month": pd.to_datetime(pd.Series(months, dtype=object)).astype("datetime64[ns]"),
                         "worst": pd.to_numeric(pd.Series(worst, dtype=object), errors="coerce").astype(float)})


def water_rows(points: dict) -> list[list]:
    """``points`` (id → kind of water) as JSON-able ``[id, water]`` rows (``None`` for a missing water)."""
    return [[str(k), None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)]
            for k, v in dict(points).items()]


def limits_rows(limits: pd.DataFrame) -> list[list]:
    """A limits frame as JSON-able rows (``None`` for a missing limit)."""
    lim = pd.DataFrame(limits, columns=list(LIMITS_COLUMNS))
    return [[str(r[0]), str(r[1]), str(r[2]), *[None if pd.isna(v) else float(v) for v in r[3:]]]
            for r in lim.itertuples(index=False, name=None)]


def worst_case_sql(as_int: str = "({})") -> str:
    """The class of ``e`` (a :func:`monthly_extremes` row: ``lo, hi, nb``) under ``l`` (a limits row), in
    SQL; ``as_int`` turns a comparison into 0/1 (SQLite: it is already; PostGIS: ``({})::int``)."""
    def past(a, b):
        return " + ".join(as_int.format(f"{a.format(i=i)} > {b.format(i=i)}") for i in range(1, 6))
    return (f"CASE WHEN e.lo IS NULL OR e.hi IS NULL THEN NULL "
            f"WHEN l.kind = 'max' THEN 1 + {past('e.hi', 'l.l{i}')} "
            f"WHEN l.kind = 'min' THEN CASE WHEN e.nb > 0 THEN {BEYOND} ELSE 1 + {past('l.l{i}', 'e.lo')} END "
            f"WHEN l.kind = 'range' THEN CASE WHEN e.lo < l.l1 OR e.hi > l.l2 THEN {BEYOND} ELSE 1 END END")


def months_frame(points: list, months: list, parameters: list, low: list, high: list, n_below: list
                 ) -> pd.DataFrame:
    """The frame :func:`monthly_extremes` returns, from a database's rows."""
    return pd.DataFrame({"point_id": pd.Series([str(p) for p in points], dtype=object),
                         "month": pd.to_datetime(pd.Series(months, dtype=object)).astype("datetime64[ns]"),
                         "parameter": pd.Series([str(p) for p in parameters], dtype=object),
                         "low": pd.to_numeric(pd.Series(low, dtype=object), errors="coerce").astype(float),
                         "high": pd.to_numeric(pd.Series(high, dtype=object), errors="coerce").astype(float),
                         "n_below": pd.to_numeric(pd.Series(n_below, dtype=object)).fillna(0).astype("int64")})


# --- SQL: GeoPackage (SQLite) ---------------------------------------------------------------------
# {cols}: the stored columns, quoted and prefixed ``r.``; {time}/{bd}: fixed fragments chosen below.
# Parameters are positional (``?``); point ids and bounds travel as one JSON text each (no length limit).

#: Each point's last reading time (correlated MAX on the index readings(point_id, sampled_at)), then
#: every reading of that day. ?1 = JSON list of point ids, ?2 = end bound (when {end} is used).
GPKG_LATEST = (
    'WITH pts(pid) AS ({points}), '
    'last(pid, at) AS (SELECT pid, (SELECT MAX("sampled_at") FROM "readings" '
    'WHERE "point_id" = pts.pid{end_inner}) FROM pts) '
    'SELECT {cols} FROM last JOIN "readings" r ON r."point_id" = last.pid '
    'AND r."sampled_at" >= substr(last.at, 1, 10) AND r."sampled_at" < date(last.at, \'+1 day\'){end_outer} '
    'ORDER BY r.{pk}')
GPKG_POINTS_GIVEN = "SELECT DISTINCT value FROM json_each(?)"
GPKG_POINTS_ALL = 'SELECT DISTINCT "point_id" FROM "readings"'

#: Readings of some points over a period.
GPKG_BETWEEN = 'SELECT {cols} FROM "readings" r WHERE 1{points}{time} ORDER BY r.{pk}'

#: Readings beyond bounds: the bounds as a JSON list of [point_id, parameter, low, high, bd].
GPKG_OUTSIDE = (
    'SELECT {cols} FROM "readings" r CROSS JOIN temp."qingshan_bounds" b '
    'ON b.pid = r."point_id" AND b.par = r."parameter" '
    'WHERE (r."value" <= b.lo OR r."value" >= b.hi{bd}){time} ORDER BY r.{pk}')
#: The bounds of :data:`GPKG_OUTSIDE`, keyed by point and parameter (a later row for the same key wins).
GPKG_BOUNDS_TABLE = ('CREATE TEMP TABLE IF NOT EXISTS "qingshan_bounds" (pid TEXT, par TEXT, lo REAL, hi REAL, '
                     'bd INTEGER, PRIMARY KEY (pid, par)) WITHOUT ROWID')
GPKG_BOUNDS_INSERT = 'INSERT OR REPLACE INTO temp."qingshan_bounds" VALUES (?, ?, ?, ?, ?)'

#: Per point and month the worst class (:func:`monthly_worst`), as one JSON value of ``[point, month,
#: worst]`` rows: the aggregation and the classing in SQLite, a few thousand rows back to Python. ?1 = JSON
#: ``[[point, water], …]``, ?2 = JSON limits rows (:func:`limits_rows`), then the time bounds.
GPKG_MONTHLY_WORST = (
    'WITH pts(pid, wb) AS (SELECT json_extract(value, \'$[0]\'), json_extract(value, \'$[1]\') FROM json_each(?)), '
    'lims(parameter, waterbody, kind, l1, l2, l3, l4, l5) AS (SELECT ' +
    ", ".join(f"json_extract(value, '$[{i}]')" for i in range(8)) + ' FROM json_each(?)), '
    'e AS (SELECT "point_id" AS pid, substr("sampled_at", 1, 7) AS m, "parameter" AS par, MIN("value") AS lo, '
    'MAX("value") AS hi, {bd} AS nb FROM "readings" r WHERE r."point_id" IN (SELECT pid FROM pts){time} '
    'GROUP BY 1, 2, 3) '
    'SELECT json_group_array(json_array(pid, m, w)) FROM ('
    'SELECT e.pid AS pid, e.m AS m, MAX({case}) AS w FROM e JOIN pts ON pts.pid = e.pid '
    'JOIN lims l ON l.parameter = e.par AND l.waterbody = pts.wb GROUP BY 1, 2 HAVING w IS NOT NULL ORDER BY 1, 2)')


def gpkg_time(start=None, end=None, prefix: str = "r.") -> tuple[str, list]:
    """``AND sampled_at >= ? AND sampled_at < ?`` for the bounds given (SQLite text)."""
    sql, params = "", []
    if start is not None:
        sql += f' AND {prefix}"sampled_at" >= ?'
        params.append(sqlite_time(start_of(start)))
    if end is not None:
        sql += f' AND {prefix}"sampled_at" < ?'
        params.append(sqlite_time(end_of(end)))
    return sql, params


# --- SQL: PostGIS ---------------------------------------------------------------------------------
# Composed with psycopg.sql: {cols} the stored columns as identifiers prefixed r.; named parameters.

PG_LATEST = (
    # MATERIALIZED and OFFSET 0 keep PostgreSQL from folding the per-point look-ups into one join over
    # every reading (5 s at 1.25 M readings): each point's latest time is one index probe, its day one
    # index range scan (0.05 s).
    "WITH last AS MATERIALIZED (SELECT pts.pid, (SELECT max(sampled_at) FROM readings "
    "WHERE point_id = pts.pid{end_inner}) AS at FROM ({points}) pts) "
    "SELECT {cols} FROM last CROSS JOIN LATERAL (SELECT * FROM readings x WHERE x.point_id = last.pid "
    "AND x.sampled_at >= date_trunc('day', last.at) "
    "AND x.sampled_at < date_trunc('day', last.at) + interval '1 day'{end_outer} OFFSET 0) r "
    "ORDER BY r._seq")
PG_POINTS_GIVEN = "SELECT DISTINCT unnest(%(ids)s::text[]) AS pid"
PG_POINTS_ALL = "SELECT DISTINCT point_id AS pid FROM readings"
PG_BETWEEN = "SELECT {cols} FROM readings r WHERE true{points}{time} ORDER BY r._seq"
PG_OUTSIDE = (  # joined on (point, parameter) at once: the planner hashes the bounds (a join through the
    # points first was sorted on disk, 0.7 s against 0.4 s for a province's 12,936 bounds)
    "WITH b AS (SELECT * FROM unnest(%(pid)s::text[], %(par)s::text[], %(lo)s::float8[], %(hi)s::float8[], "
    "%(bd)s::boolean[]) AS b(pid, par, lo, hi, bd)) "
    "SELECT {cols} FROM readings r JOIN b ON b.pid = r.point_id AND b.par = r.parameter "
    "WHERE (r.value <= b.lo OR r.value >= b.hi{bd}){time} ORDER BY r._seq")

#: :data:`GPKG_MONTHLY_WORST` for PostGIS: points and limits as arrays (unnest), time bounds as in pg_time.
PG_MONTHLY_WORST = (
    "WITH pts AS (SELECT * FROM unnest(%(pids)s::text[], %(wbs)s::text[]) AS t(pid, wb)), "
    "lims AS (SELECT * FROM unnest(%(lpar)s::text[], %(lwb)s::text[], %(lkind)s::text[], %(l1)s::float8[], "
    "%(l2)s::float8[], %(l3)s::float8[], %(l4)s::float8[], %(l5)s::float8[]) "
    "AS t(parameter, waterbody, kind, l1, l2, l3, l4, l5)), "
    "e AS (SELECT point_id AS pid, date_trunc('month', sampled_at) AS m, parameter AS par, min(value) AS lo, "
    "max(value) AS hi, {bd} AS nb FROM readings r WHERE r.point_id = ANY(%(pids)s::text[]){time} GROUP BY 1, 2, 3) "
    "SELECT e.pid, e.m, max({case}) AS w FROM e JOIN pts ON pts.pid = e.pid "
    "JOIN lims l ON l.parameter = e.par AND l.waterbody = pts.wb GROUP BY 1, 2 "
    "HAVING max({case}) IS NOT NULL ORDER BY 1, 2")


def pg_time(start=None, end=None) -> tuple[str, dict]:
    sql, params = "", {}
    if start is not None:
        sql += " AND r.sampled_at >= %(start)s"
        params["start"] = start_of(start).to_pydatetime()
    if end is not None:
        sql += " AND r.sampled_at < %(end)s"
        params["end"] = end_of(end).to_pydatetime()
    return sql, params


def pg_bounds(bounds: pd.DataFrame) -> dict:
    rows = bounds_rows(bounds)
    return {"pid": [r[0] for r in rows], "par": [r[1] for r in rows], "lo": [r[2] for r in rows],
            "hi": [r[3] for r in rows], "bd": [bool(r[4]) for r in rows]}


# --- which readings are stored (a readings import's duplicate check) ------------------------------

#: The key of a reading: one point, one time, one parameter (unique in the store; see ``ensure_readings_key``).
READING_KEY = ("point_id", "sampled_at", "parameter")


def reading_keys(keys: pd.DataFrame) -> pd.DataFrame:
    """``keys`` as :data:`READING_KEY` columns in contract dtypes (text, ``datetime64[ms]``), index kept."""
    missing = [c for c in READING_KEY if c not in keys.columns]
    if missing:
        raise ValueError(f"reading keys lack the columns {missing}")
    return pd.DataFrame({"point_id": _text(keys["point_id"]),
                         "sampled_at": pd.to_datetime(keys["sampled_at"], errors="coerce", format="mixed"
                                                      ).astype("datetime64[ms]").to_numpy(),
                         "parameter": _text(keys["parameter"])}, index=keys.index)


def _text(s: pd.Series) -> np.ndarray:
    """Cells as Python strings (``None`` where missing), an object array."""
    v = s.to_numpy(dtype=object)
    missing = pd.isna(v)
    out = np.empty(len(v), dtype=object)
    out[:] = [None if m else x if type(x) is str else str(x) for x, m in zip(v.tolist(), missing.tolist())]
    return out


def readings_present(readings: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``keys`` whose (point, time, parameter) is in ``readings``, in order, with their index.

    A key with a missing part is never stored. The pandas definition of :meth:`Store.readings_present`.
    """
    k = reading_keys(keys)
    whole = k.notna().all(axis=1).to_numpy()
    if not whole.any() or not len(readings):
        return k.iloc[:0]
    r = reading_keys(readings)
    r = r[r.notna().all(axis=1).to_numpy()]
    stored = pd.MultiIndex.from_frame(r)
    hit = np.zeros(len(k), bool)
    hit[whole] = pd.MultiIndex.from_frame(k[whole]).isin(stored)
    return k[hit]


def time_texts(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each time as written to a GeoPackage (``2007-06-28T09:30:00``, ``.500`` with milliseconds) and its
    midnight flag (vectorised: numpy formats the times)."""
    t = np.asarray(times, dtype="datetime64[ms]")
    secs = t.astype("datetime64[s]")
    frac = (t - secs).astype(np.int64) != 0
    text = np.datetime_as_string(secs, unit="s").astype(object)
    if frac.any():
        text[frac] = np.datetime_as_string(t[frac], unit="ms").astype(object)
    return text, t == t.astype("datetime64[D]")


def key_rows(keys: pd.DataFrame, chunk: int = 20_000) -> Iterator[tuple]:
    """Per whole key of :func:`reading_keys`' frame ``keys`` (no missing part), ``(n, point, low, high,
    parameter)`` for the GeoPackage, made ``chunk`` keys at a time (a day's keys never all at once).

    ``n`` is the key's position in ``keys``; ``low``..``high`` is the range of stored texts that can spell
    its time (``2007-06-28T00:00:00``, with ``Z`` or milliseconds, or the bare date at midnight): SQLite
    finds the candidates on the index, and the GeoPackage store compares the parsed times exactly.
    """
    pos = np.flatnonzero(keys.notna().all(axis=1).to_numpy())
    pids, times, pars = (keys[c].to_numpy() for c in READING_KEY)
    for a in range(0, len(pos), chunk):
        at = pos[a:a + chunk]
        t = times[at]
        exact, midnight = time_texts(t)
        low = exact.copy()
        if midnight.any():
            low[midnight] = np.datetime_as_string(t[midnight].astype("datetime64[D]"), unit="D").astype(object)
        high = exact + "~"  # '~' sorts after every character a time is written with
        yield from zip(at.tolist(), pids[at].tolist(), low.tolist(), high.tolist(), pars[at].tolist())


GPKG_KEYS_TABLE = ('CREATE TEMP TABLE IF NOT EXISTS "qingshan_keys" (n INTEGER PRIMARY KEY, pid TEXT, lo TEXT, '
                   'hi TEXT, par TEXT)')
GPKG_KEYS_CLEAR = 'DELETE FROM temp."qingshan_keys"'
GPKG_KEYS_INSERT = 'INSERT INTO temp."qingshan_keys" VALUES (?, ?, ?, ?, ?)'
#: Candidates: each key's stored readings of its point and parameter within its time texts (one index range).
GPKG_PRESENT = ('SELECT k.n, r."sampled_at" FROM temp."qingshan_keys" k JOIN "readings" r '
                'ON r."point_id" = k.pid AND r."sampled_at" >= k.lo AND r."sampled_at" <= k.hi '
                'AND r."parameter" = k.par')
#: The positions (1-based) of the keys stored: the arrays are unnested side by side, joined on the key index.
PG_PRESENT = ("SELECT DISTINCT k.n FROM unnest(%(pid)s::text[], %(t)s::text[]::timestamp[], %(par)s::text[]) "
              "WITH ORDINALITY AS k(pid, t, par, n) JOIN readings r "
              "ON r.point_id = k.pid AND r.sampled_at = k.t AND r.parameter = k.par")


# --- published monthly section classes ----------------------------------------------------------

def month_range(start=None, end=None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The first day of ``start``'s month and the first day after ``end``'s month (``None`` stays open)."""
    lo = None if start is None else pd.Timestamp(start).to_period("M").to_timestamp()
    hi = None if end is None else (pd.Timestamp(end).to_period("M") + 1).to_timestamp()
    return lo, hi


def section_classes(classes: pd.DataFrame, points: Iterable | None = None, start=None, end=None) -> pd.DataFrame:
    """The published classes of ``points`` (all when ``None``) for the months ``start``..``end`` (inclusive),
    by point and month. The pandas definition of :meth:`Store.section_classes`."""
    c = classes
    ids = ids_list(points)
    if ids is not None:
        c = c[c["point_id"].astype(str).isin(ids)]
    lo, hi = month_range(start, end)
    if lo is not None:
        c = c[(c["month"] >= lo).to_numpy(bool)]
    if hi is not None:
        c = c[(c["month"] < hi).to_numpy(bool)]
    return c.sort_values(["point_id", "month"], kind="stable").reset_index(drop=True)
