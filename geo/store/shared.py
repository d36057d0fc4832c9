"""What every backend shares: store spec detection, contract dtypes, multipart promotion, validation, status sync.

Each rule here is written once and used by both backends (and by
:mod:`geo.updates` for the status rule), so the GeoPackage and PostGIS stores
cannot drift apart.
"""
from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import contract
from ..contract import SITE_LAYERS, STORE_CRS, TABLES
from ..errors import StoreError
from .base import Change

#: URL schemes served by the PostGIS backend.
POSTGRES_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")

#: Stored geometry type per contract geometry: single parts are promoted to their multi type.
STORED_GEOMETRY = {"Point": "Point", "Polygon": "MultiPolygon", "LineString": "MultiLineString"}

_LAYER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def is_postgres_url(spec) -> bool:
    """Whether a store spec names a PostGIS database (else it is a GeoPackage path)."""
    return str(spec).startswith(POSTGRES_SCHEMES)


def check_layer_name(name: str) -> str:
    """``name`` if it is a plain identifier (optional layers are looked up by name), else :class:`StoreError`."""
    if not isinstance(name, str) or not _LAYER_NAME.match(name):
        raise StoreError(f"not a layer name: {name!r}")
    return name


def promote_multi(table: str, geoms) -> np.ndarray:
    """Geometries of ``table`` as stored: single polygons and lines become their multi type (a copy)."""
    g = np.asarray(geoms, dtype=object).copy()
    kind = TABLES[table].geometry
    if kind in ("Polygon", "LineString") and len(g):
        present = ~shapely.is_missing(g)
        single = present & (shapely.get_type_id(g) == (3 if kind == "Polygon" else 1))
        if single.any():
            make = shapely.multipolygons if kind == "Polygon" else shapely.multilinestrings
            g[single] = make(g[single][:, None])
    return g


def normalise(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Contract dtypes, contract columns first, EPSG:4326 geometry (CGCS2000 relabelled)."""
    spec = TABLES[table]
    df = contract.coerce(table, df)
    if spec.geometry:
        if not isinstance(df, gpd.GeoDataFrame):
            raise StoreError(f"{table}: rows must carry a geometry")
        if df.crs is None:
            raise StoreError(f"{table}: geometry has no CRS; expected EPSG:4326")
        epsg = df.crs.to_epsg()
        if epsg == 4490:
            df = df.set_crs(STORE_CRS, allow_override=True)
        elif epsg != 4326:
            raise StoreError(f"{table}: geometry CRS is {df.crs.to_string()}, expected EPSG:4326 (WGS84/CGCS2000)")
        if df.geometry.name != "geometry":
            df = df.rename_geometry("geometry")
    order = [c for c in spec.column_names if c in df.columns]
    rest = [c for c in df.columns if c not in order and c != "geometry"]
    cols = order + rest + (["geometry"] if spec.geometry else [])
    return df[cols].reset_index(drop=True)


def apply_change(current: pd.DataFrame | None, change: Change) -> pd.DataFrame:
    """The table after ``change`` (pure; used where whole tables are rewritten)."""
    rows = normalise(change.table, change.rows)
    if change.how == "replace" or current is None or len(current) == 0:
        return rows
    if change.how == "append":
        return normalise(change.table, _concat(current, rows))
    key = TABLES[change.table].key
    keep = current[~current[key].isin(rows[key])]
    return normalise(change.table, _concat(keep, rows))


def _concat(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    if len(a) == 0:
        return b
    if len(b) == 0:
        return a
    out = pd.concat([a, b], ignore_index=True)
    if isinstance(a, gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=STORE_CRS)
    return out


def validate_change(change: Change, result: pd.DataFrame) -> list:
    """Errors in the rows ``change`` brings (structure, codes, ids, geometries), judged in ``result``."""
    from ..check import Problem, check_table

    key = TABLES[change.table].key
    if key is None:
        return [p for p in check_table(change.table, change.rows) if p.severity == "error"]
    rows = normalise(change.table, change.rows)
    problems = [Problem(change.table, f"#{i + 1}", key, "empty id", "编号为空")
                for i in range(len(rows)) if pd.isna(rows[key].iat[i]) or str(rows[key].iat[i]).strip() == ""]
    ids = set(rows[key].dropna())
    return problems + [p for p in check_table(change.table, result, only_ids=ids) if p.severity == "error"]


# --- status = latest event -----------------------------------------------------------------

def latest_status(events: pd.DataFrame, layer: str) -> pd.Series:
    """Each ``layer`` site's latest status in ``events`` (rows in table order), indexed by feature id.

    The contract's definition of current status: the latest event by
    ``effective_on``, ties broken by ``recorded_at`` (a missing one counts as
    latest), then by table order. Sites without events are absent.
    """
    from ..history import status_on

    ev = events
    if len(ev) and not pd.api.types.is_datetime64_any_dtype(ev["effective_on"]):
        ev = ev.assign(effective_on=pd.to_datetime(ev["effective_on"], errors="coerce", format="ISO8601"))
    return status_on(ev, layer)


def status_fixes(events: pd.DataFrame, layer: str, current: pd.Series) -> pd.Series:
    """New status of each site (``current``: id → stored status) whose stored status is not its latest event."""
    latest = latest_status(events, layer)
    cur = current[current.index.isin(latest.index)]
    new = latest.reindex(cur.index)
    differs = cur.astype(object).where(cur.notna(), None) != new.astype(object)
    return new[differs.to_numpy()]


def with_latest_status(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
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


# --- commits: what both backends do before and after writing -----------------------------

def prepare_rows(change: Change) -> pd.DataFrame:
    """The change's rows with contract dtypes, or :class:`StoreError` naming the table."""
    try:
        return normalise(change.table, change.rows)
    except (ValueError, StoreError) as exc:
        raise StoreError(f"{change.table}: {exc}") from exc


def merge_partial(change: Change, current: pd.DataFrame) -> pd.DataFrame:
    """Whole rows for a partial upsert: stored rows (``current``) with ``change.columns`` taken from the change.

    Rows whose key is not stored are taken whole from the change. ``current``
    holds the stored rows of the change's keys, read inside the commit.
    """
    table, key = change.table, TABLES[change.table].key
    rows = change.rows.reset_index(drop=True)
    stored = current.set_index(current[key].astype(str), drop=False) if len(current) else None
    keys = rows[key].astype(str)
    known = keys.isin(stored.index).to_numpy() if stored is not None else np.zeros(len(rows), bool)
    parts = []
    if known.any():
        merged = stored.loc[keys[known]].reset_index(drop=True).copy()
        for c in change.columns:
            if c == "geometry" and TABLES[table].geometry:
                merged = merged.set_geometry(gpd.GeoSeries(np.asarray(rows.geometry.values, dtype=object)[known],
                                                           crs=merged.crs))
            else:
                merged[c] = rows.loc[known, c].to_numpy()
        parts.append(merged)
    if (~known).any():
        parts.append(rows[~known])
    out = parts[0] if len(parts) == 1 else _concat(*parts)
    if TABLES[table].geometry and not isinstance(out, gpd.GeoDataFrame):
        raise StoreError(f"{table}: rows must carry a geometry")
    return out


def sites_touched(prepared: list[tuple[Change, pd.DataFrame]]) -> dict[str, set[str] | None]:
    """Sites (layer → ids; ``None`` = every site) whose status a commit must set to their latest event.

    Upserted site rows, sites of appended events, and every site of a layer
    whose rows or whose events are replaced.
    """
    out: dict[str, set[str] | None] = {}

    def add(layer, ids):
        if out.get(layer, set()) is None:
            return
        out[layer] = None if ids is None else out.get(layer, set()) | ids

    for ch, rows in prepared:
        if ch.table in SITE_LAYERS:
            add(ch.table, None if ch.how == "replace" else set(rows["id"].dropna().astype(str)))
        elif ch.table == "status_events":
            if ch.how == "replace":
                for layer in SITE_LAYERS:
                    add(layer, None)
            elif {"layer", "feature_id"} <= set(rows.columns):
                for layer in SITE_LAYERS:
                    ids = set(rows.loc[rows["layer"] == layer, "feature_id"].dropna().astype(str))
                    if ids:
                        add(layer, ids)
    return out


def validate_prepared(prepared: list[tuple[Change, pd.DataFrame]], columns: dict[str, list[str]],
                      filled: dict[str, bool]) -> list:
    """Problems of each (change, normalised rows), judged in the table that results, without reading it.

    ``columns``: each table's stored columns; ``filled``: whether it holds
    rows (both updated as the changes go). A keyed table's new rows are
    judged by themselves, widened to the table's columns (NULL where they
    lack one): an upserted row replaces the stored one whole, so that is the
    row as it will be stored. Every row without a key is refused.
    """
    from ..check import Problem

    problems: list = []
    for ch, rows in prepared:
        spec = TABLES[ch.table]
        cols = columns[ch.table]
        fresh = ch.how == "replace" or not filled[ch.table]
        result_cols = list(rows.columns) if fresh else cols + [c for c in rows.columns if c not in cols]
        if spec.key is None:
            problems += validate_change(ch, rows)
        else:
            # (the added columns are all NULL: no dtype to coerce, so no second normalise)
            judged = rows.copy()
            for c in result_cols:
                if c not in judged.columns:
                    judged[c] = None
            problems += validate_change(Change(ch.table, rows, ch.how), judged)
            # A row without a key cannot be stored (the key is the primary key).
            for i in np.flatnonzero(rows[spec.key].isna().to_numpy()) if spec.key in rows.columns else []:
                problems.append(Problem(ch.table, f"#{i + 1}", spec.key, "empty id", "编号为空"))
        columns[ch.table] = result_cols
        filled[ch.table] = len(rows) > 0 or (filled[ch.table] and ch.how != "replace")
    return problems


def column_kind(table: str, name: str, s: pd.Series) -> tuple[str, bool]:
    """The contract kind of a frame column (``str``, ``int``, ``float``, ``bool``, ``datetime``, …) and whether
    the contract names it: the contract's kind for contract columns, else the one its dtype holds.

    Each backend maps the kind to its own column type (it may store extra integer columns wider).
    """
    spec = TABLES[table]
    if name in spec.column_names:
        return spec.column(name).kind, True
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        return "bool", False
    if pd.api.types.is_integer_dtype(dt):
        return "int", False
    if pd.api.types.is_float_dtype(dt):
        return "float", False
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "datetime", False
    return "str", False
