"""Status queries in the database (issue 13): sites as they stood on a date, and a layer's events.

Both backends answer the contract's rule (:mod:`geo.history`) in SQL: a site's
status on a date is its latest event effective on or before it, ties broken
by ``recorded_at`` (a missing time after every time, as pandas sorts ``NaT``),
then by table order; a site with no event by then is left out. Only the
columns a caller names are read, and, when asked, only the sites whose status
on the date is not in a given set (the riverside check reads active sites only).

Fast path: when every event of the layer is effective on or before the date
(and none lacks a date), each site's latest event is its latest event of all,
which the store keeps in the site's ``status`` column (the contract's
guarantee, :meth:`geo.store.base.Store.commit`). The site table is then read
as it stands, sites without any event left out, with no replay at all.

GeoPackage: plain SQL on the standard ``sqlite3`` connection (window
functions); dates compared on their ``YYYY-MM-DD`` part and recording times
through ``julianday`` (so ``…T10:00:00`` and ``…T10:00:00.000Z`` are the same
time, as pandas reads them). PostGIS: ``DISTINCT ON`` over the index
``status_events (layer, feature_id, effective_on, recorded_at)``.
Every value goes in as a parameter; identifiers come from the contract or the
file's own schema and are quoted.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import contract
from ..contract import SITE_LAYERS
from ..errors import StoreError

#: Columns of :func:`events_of` results (what replaying history needs).
EVENT_COLUMNS = ["layer", "feature_id", "status", "effective_on", "recorded_at"]
#: The GeoPackage index of status events by site and date (PostGIS: ``status_events_site_idx``).
GPKG_EVENTS_INDEX = "qingshan_status_events_site_date"


def check_layer(layer: str) -> None:
    if layer not in SITE_LAYERS:
        raise StoreError(f"not a site layer: {layer!r}")


def day_text(as_of) -> str:
    """``as_of`` as ``YYYY-MM-DD`` (the day; a time of day is dropped, as the contract's dates have none)."""
    ts = pd.Timestamp(as_of)
    if pd.isna(ts):
        raise StoreError(f"not a date: {as_of!r}")
    return ts.strftime("%Y-%m-%d")


def wanted_columns(present: Iterable[str], columns: Iterable[str] | None) -> list[str]:
    """The asked ``columns`` the table has, in the asked order, without ``id``/``status``/geometry."""
    present = list(present)
    if columns is None:
        return [c for c in present if c not in ("id", "status")]
    return [c for c in dict.fromkeys(columns) if c in present and c not in ("id", "status", "geometry", "geom")]


def finish(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Contract dtypes on the contract columns (as :meth:`Store.read` gives them), index 0..n-1."""
    geom = df.geometry if isinstance(df, gpd.GeoDataFrame) else None
    out = pd.DataFrame(df).reset_index(drop=True)
    spec = contract.TABLES[table]
    # text as Python strings (NaN for NULL, as Store.read gives) in object columns, without a per-value map
    for c in spec.columns:
        if c.name in out.columns and c.kind == "str":
            out[c.name] = pd.Series(out[c.name].to_numpy(dtype=object, na_value=np.nan), dtype=object)
    typed = [c.name for c in spec.columns if c.name in out.columns and c.kind != "str"]
    if typed:
        out[typed] = contract.coerce(table, pd.DataFrame(out[typed]))
    if geom is not None:
        out = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom.values, crs=geom.crs), crs=geom.crs)
    return out


def _json(values) -> str:
    return json.dumps([str(v) for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))])


# --- GeoPackage ---------------------------------------------------------------------------------

def gpkg_has_index(con: sqlite3.Connection) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                       (GPKG_EVENTS_INDEX,)).fetchone() is not None


def gpkg_create_index(con: sqlite3.Connection) -> None:
    """The events index by site and date (idempotent; an index leaves the file a valid GeoPackage)."""
    con.execute(f'CREATE INDEX IF NOT EXISTS "{GPKG_EVENTS_INDEX}" ON "status_events" '
                '("layer", "feature_id", "effective_on")')


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def gpkg_fast(con, layer: str, day: str | None) -> bool:
    """Whether the site table's ``status`` is every site's status on ``day`` (see the module docstring)."""
    if day is None:
        return True
    row = con.execute('SELECT max(substr("effective_on", 1, 10)), count(*) - count("effective_on") '
                      'FROM "status_events" WHERE "layer" = ?', (layer,)).fetchone()
    latest, undated = row
    return latest is None or (not undated and latest <= day)


def gpkg_latest_sql(day_param: bool) -> str:
    """Each site's latest event of one layer (on or before a day): ``feature_id, status`` (row 1 of each site)."""
    # order of the contract: date, then recording time (missing = after every time), then table order
    date_filter = ' AND substr("effective_on", 1, 10) <= ?' if day_param else ""
    return ('SELECT "feature_id", "status" FROM (SELECT "feature_id", "status", row_number() OVER ('
            'PARTITION BY "feature_id" ORDER BY substr("effective_on", 1, 10) DESC, '
            'julianday("recorded_at") IS NULL DESC, julianday("recorded_at") DESC, "fid" DESC) AS "_rn" '
            'FROM "status_events" WHERE "layer" = ? AND "feature_id" IS NOT NULL AND "effective_on" IS NOT NULL'
            f'{date_filter}) WHERE "_rn" = 1')


def gpkg_sites_on(con, lay, has_events: bool, as_of=None, columns=None, *, exclude_statuses=None):
    """Rows of a site layer as they stood on ``as_of`` (see :meth:`geo.store.base.Store.sites_on`).

    ``lay``: the layer's :class:`geo.store.gpkg_format.Layout` (it exists); ``has_events``: whether the
    file has ``status_events``. Returns ``(rows, columns)``: fetched tuples ``id, status, *columns, geom``
    in table order and the columns read.
    """
    layer = lay.table
    check_layer(layer)
    cols = wanted_columns(lay.columns, columns)
    day = None if as_of is None else day_text(as_of)
    params: list = []
    sel = ['s."id"'] + [f's.{_q(c)}' for c in cols] + ([f's.{_q(lay.geom)}'] if lay.geom else ['NULL'])
    if day is not None and not has_events:
        return [], cols  # nobody is on the ledger before any event
    if gpkg_fast(con, layer, day) if has_events else True:
        status = 's."status"' if "status" in lay.columns else "NULL"
        src = f"FROM {_q(layer)} s"
        conds = []
        if day is not None:  # sites with no event at all are not on the ledger on any date
            conds.append('EXISTS (SELECT 1 FROM "status_events" e WHERE e."layer" = ? AND e."feature_id" = s."id")')
            params.append(layer)
        if exclude_statuses:
            conds.append(f"({status} IS NULL OR {status} NOT IN (SELECT value FROM json_each(?)))")
            params.append(_json(exclude_statuses))
        where = (" WHERE " + " AND ".join(conds)) if conds else ""
        rows = con.execute(f"SELECT {', '.join(sel[:1] + [status] + sel[1:])} {src}{where} "
                           f"ORDER BY s.{_q(lay.pk)}", params).fetchall()
        return rows, cols
    # Replay: each site's latest event by the day (one pass over the index), then the sites that have one.
    # (The join is done here, not by SQLite: a GDAL-written file has no index on the sites' id, and SQLite
    # would join the two row sets in a nested loop.)
    latest = con.execute(gpkg_latest_sql(True), (layer, day)).fetchall()
    status_of = dict(latest)
    if exclude_statuses:
        drop = {str(v) for v in exclude_statuses}
        status_of = {k: v for k, v in status_of.items() if v is None or v not in drop}
    fetched = con.execute(f"SELECT {', '.join(sel)} FROM {_q(layer)} s "
                          f'WHERE s."id" IN (SELECT value FROM json_each(?)) ORDER BY s.{_q(lay.pk)}',
                          (json.dumps(list(status_of)),)).fetchall()
    rows = [(r[0], status_of[r[0]], *r[1:]) for r in fetched]
    return rows, cols


def gpkg_events_sql(has_day: bool, statuses, feature_ids, changed_after=None) -> str:
    q = 'SELECT "layer", "feature_id", "status", "effective_on", "recorded_at" FROM "status_events" WHERE "layer" = ?'
    if has_day:
        q += ' AND substr("effective_on", 1, 10) <= ?'
    if statuses is not None:
        q += ' AND "status" IN (SELECT value FROM json_each(?))'
    if feature_ids is not None:
        q += ' AND "feature_id" IN (SELECT value FROM json_each(?))'
    if changed_after is not None:  # the sites with an event after the date (by the day): all their events
        q += (' AND "feature_id" IN (SELECT "feature_id" FROM "status_events" WHERE "layer" = ? '
              'AND substr("effective_on", 1, 10) > ?' + (' AND substr("effective_on", 1, 10) <= ?)' if has_day else ')'))
    return q + ' ORDER BY "fid"'


def gpkg_events_params(layer, day, statuses, feature_ids, changed_after=None) -> list:
    params: list = [layer]
    if day is not None:
        params.append(day)
    if statuses is not None:
        params.append(_json(statuses))
    if feature_ids is not None:
        params.append(_json(feature_ids))
    if changed_after is not None:
        params += [layer, day_text(changed_after)] + ([day] if day is not None else [])
    return params


def gpkg_steps_sql(feature_ids: bool) -> str:
    """:func:`geo.history.done_steps` in SQL: each event's done flag less the previous one of its site (in the
    contract's order, :func:`gpkg_latest_sql` reversed), summed by day. Parameters: ``?1`` layer, ``?2``
    day, ``?3`` done statuses (JSON), ``?4`` site ids (JSON) when ``feature_ids``."""
    done = 'CASE WHEN "status" IN (SELECT value FROM json_each(?3)) THEN 1 ELSE 0 END'
    only = ' AND "feature_id" IN (SELECT value FROM json_each(?4))' if feature_ids else ""
    return (f'SELECT "d", sum("s") FROM (SELECT substr("effective_on", 1, 10) AS "d", ({done}) - coalesce(lag({done}) '
            'OVER (PARTITION BY "feature_id" ORDER BY substr("effective_on", 1, 10), julianday("recorded_at") IS NULL, '
            'julianday("recorded_at"), "fid"), 0) AS "s" FROM "status_events" WHERE "layer" = ?1 '
            'AND "feature_id" IS NOT NULL AND "effective_on" IS NOT NULL AND substr("effective_on", 1, 10) <= ?2'
            f'{only}) GROUP BY "d" ORDER BY "d"')


def steps_frame(rows) -> pd.DataFrame:
    """``date, step`` from the ``(day, step)`` rows of a steps query (both backends)."""
    return pd.DataFrame({"date": pd.to_datetime(pd.Series([r[0] for r in rows], dtype=object)).astype("datetime64[ns]"),
                         "step": np.array([int(r[1]) for r in rows], dtype="int64")})


def ensure_gpkg_index(store) -> None:
    """Create the events index of a GeoPackage store once when missing, under the store's writer lock.

    Best effort: a store another writer holds, or a read-only file, is read without it (the queries are
    the same, only slower). No data changes, so no table version moves.
    """
    if getattr(store, "_status_index_ok", False) or not store.path.exists():
        return
    with store._snapshot() as con:
        present = "status_events" in store._tables(con)
        ok = (not present) or gpkg_has_index(con)
    if not ok:
        with contextlib.suppress(sqlite3.Error, OSError, StoreError), store._lock(wait=False) as held:
            if held:
                con = store._connect()
                try:
                    con.execute("BEGIN IMMEDIATE")
                    gpkg_create_index(con)
                    con.execute("COMMIT")
                    ok = True
                finally:
                    with contextlib.suppress(sqlite3.Error):
                        con.execute("ROLLBACK")
                    con.close()
    store._status_index_ok = ok


# --- PostGIS ------------------------------------------------------------------------------------

PG_INDEX_SQL = ("CREATE INDEX IF NOT EXISTS status_events_site_idx ON status_events "
                "(layer, feature_id, effective_on, recorded_at)")


def ensure_pg_index(store, driver_tx) -> None:
    """Create the events index (schema migration 1 makes it) once when an existing store lacks it.

    Looked up first in a read-only transaction, so a store that has it never takes a lock; best effort
    (a role without the right to create indexes reads without it).
    """
    if getattr(store, "_status_index_ok", False):
        return
    with driver_tx(store.engine, readonly=True) as cur:
        cur.execute("SELECT to_regclass(format('%%I.%%I', current_schema(), 'status_events')) IS NOT NULL, "
                    "EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND tablename = 'status_events' AND indexdef LIKE %s)",
                    ("%(layer, feature_id, effective_on%",))
        table, indexed = cur.fetchone()
    if table and not indexed:
        with contextlib.suppress(Exception), driver_tx(store.engine) as cur:
            cur.execute(PG_INDEX_SQL)
    store._status_index_ok = True


def pg_fast(cur, layer: str, day: str | None) -> bool:
    if day is None:
        return True
    cur.execute("SELECT max(effective_on), count(*) - count(effective_on) FROM status_events WHERE layer = %s",
                (layer,))
    latest, undated = cur.fetchone()
    return latest is None or (not undated and latest.isoformat()[:10] <= day)


def pg_steps_sql(feature_ids: bool) -> str:
    """:func:`gpkg_steps_sql` for PostGIS (named parameters ``done``, ``layer``, ``day`` and, when
    ``feature_ids``, ``ids``)."""
    done = "CASE WHEN status = ANY(%(done)s) THEN 1 ELSE 0 END"
    only = " AND feature_id = ANY(%(ids)s)" if feature_ids else ""
    return (f"SELECT d, sum(s)::bigint FROM (SELECT effective_on AS d, ({done}) - coalesce(lag({done}) OVER ("
            "PARTITION BY feature_id ORDER BY effective_on, recorded_at ASC NULLS LAST, _seq), 0) AS s "
            "FROM status_events WHERE layer = %(layer)s AND feature_id IS NOT NULL AND effective_on IS NOT NULL "
            f"AND effective_on <= %(day)s::date{only}) AS x GROUP BY d ORDER BY d")


PG_LATEST = ("SELECT DISTINCT ON (feature_id) feature_id, status FROM status_events "
             "WHERE layer = %s AND feature_id IS NOT NULL AND effective_on IS NOT NULL AND effective_on <= %s::date "
             "ORDER BY feature_id, effective_on DESC, recorded_at DESC NULLS FIRST, _seq DESC")
