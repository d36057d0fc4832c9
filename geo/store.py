"""Store access: the tables of the data contract behind one small API.

A store is opened from a spec: a GeoPackage path, or a ``postgresql://`` URL
(served by :mod:`geo.pgstore`). Both implement :class:`Store`:

- ``read(table)`` returns the table with contract dtypes (EPSG:4326 geometries);
- ``commit(changes)`` applies a list of :class:`Change` atomically: every
  changed row is validated first, and a failed commit leaves the store exactly
  as it was;
- ``version()`` changes whenever the data does (pages cache on it).

The GeoPackage store writes into a copy of the file and swaps it in with an
atomic rename, under an exclusive lock, so readers never see half a write and
two writers never interleave.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from . import contract
from .contract import STORE_CRS, TABLES
from .errors import StoreError

ROOT = Path(__file__).resolve().parent.parent
DEMO_STORE = ROOT / "data" / "demo.gpkg"
WORK_STORE = ROOT / "data" / "work" / "qingshan.gpkg"


@dataclass
class Change:
    """One table's part of a commit.

    ``how``: ``replace`` the whole table; ``upsert`` rows by the table's key
    (rows with a new key are added, rows with an existing key replace it);
    ``append`` rows (for ``readings`` and ``status_events``).
    """

    table: str
    rows: pd.DataFrame
    how: Literal["replace", "upsert", "append"] = "upsert"

    def __post_init__(self):
        if self.table not in TABLES:
            raise StoreError(f"unknown table {self.table!r}")
        if self.how == "upsert" and TABLES[self.table].key is None:
            raise StoreError(f"table {self.table} has no key; use append")


class Store(ABC):
    """The store API every backend implements."""

    url: str

    @abstractmethod
    def read(self, table: str) -> pd.DataFrame:
        """The whole ``table`` with contract dtypes; an empty frame when the store lacks it."""

    def read_raw(self, table: str) -> pd.DataFrame:
        """The table as stored, without dtype coercion (for ``geo check``); defaults to :meth:`read`."""
        return self.read(table)

    def read_many(self, tables: Iterable[str] = tuple(TABLES)) -> dict[str, pd.DataFrame]:
        return {t: self.read(t) for t in tables}

    @abstractmethod
    def commit(self, changes: list[Change]) -> None:
        """Apply ``changes`` in one transaction; raise :class:`StoreError` and change nothing on any problem."""

    @abstractmethod
    def version(self) -> str:
        """A token that changes whenever any table changes."""

    @abstractmethod
    def tables(self) -> list[str]:
        """Names of the contract tables present in the store."""

    def meta(self) -> dict[str, str]:
        m = self.read("meta")
        return dict(zip(m["key"], m["value"])) if len(m) else {}

    # Convenience for the common case of several tables replaced at once (demo, copy).
    def replace_all(self, tables: dict[str, pd.DataFrame]) -> None:
        self.commit([Change(name, df, "replace") for name, df in tables.items()])


# --- shared helpers for every backend ---------------------------------------------------

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
    """The table after ``change`` (pure; used by backends that rewrite whole tables)."""
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
    from .check import Problem, check_table

    key = TABLES[change.table].key
    if key is None:
        return [p for p in check_table(change.table, change.rows) if p.severity == "error"]
    rows = normalise(change.table, change.rows)
    problems = [Problem(change.table, f"#{i + 1}", key, "empty id", "编号为空")
                for i in range(len(rows)) if pd.isna(rows[key].iat[i]) or str(rows[key].iat[i]).strip() == ""]
    ids = set(rows[key].dropna())
    return problems + [p for p in check_table(change.table, result, only_ids=ids) if p.severity == "error"]


def sync_status(results: dict[str, pd.DataFrame], appended: pd.DataFrame, read) -> None:
    """Set each site an event was appended to to its latest event (the contract's definition of status).

    A backdated event is recorded but does not override a newer one, and two
    inspectors updating one site leave it with whichever event is latest.
    ``results`` (table → new table) is updated in place; ``read(table)`` gives
    the stored table when the commit did not touch it.
    """
    from .history import status_on

    events = results.get("status_events")
    if events is None or len(appended) == 0:
        return
    for layer in contract.SITE_LAYERS:
        ids = set(appended.loc[appended["layer"] == layer, "feature_id"])
        if not ids:
            continue
        sites = results.get(layer)
        if sites is None:
            sites = read(layer)
        latest = status_on(events[events["feature_id"].isin(ids)], layer)
        hit = sites["id"].isin(latest.index)
        new = sites.loc[hit, "id"].map(latest)
        if (sites.loc[hit, "status"] != new).any() or layer in results:
            sites = sites.copy()
            sites.loc[hit, "status"] = new.to_numpy()
            results[layer] = sites


# --- GeoPackage --------------------------------------------------------------------------

class GpkgStore(Store):
    """A store in one GeoPackage file."""

    def __init__(self, path: str | os.PathLike, *, create: bool = False):
        self.path = Path(path).resolve()
        self.url = str(self.path)
        if not self.path.exists() and not create:
            raise StoreError(f"no store at {self.path}")

    def tables(self) -> list[str]:
        if not self.path.exists():
            return []
        names = {row[0] for row in pyogrio.list_layers(self.path)}
        return [t for t in TABLES if t in names]

    def read(self, table: str) -> pd.DataFrame:
        if table not in TABLES:
            raise StoreError(f"unknown table {table!r}")
        if table not in self.tables():
            return contract.empty(table)
        return self._read_path(self.path, table)

    def read_raw(self, table: str) -> pd.DataFrame:
        if table not in self.tables():
            return contract.empty(table)
        return self._read_path(self.path, table, raw=True)

    @staticmethod
    def _read_path(path: Path, table: str, raw: bool = False) -> pd.DataFrame:
        spec = TABLES[table]
        if spec.geometry:
            df = pyogrio.read_dataframe(path, layer=table)
            if df.crs is None and not raw:
                raise StoreError(f"{table}: layer has no CRS")
        else:
            df = pyogrio.read_dataframe(path, layer=table, read_geometry=False)
            if isinstance(df, gpd.GeoDataFrame):
                df = pd.DataFrame(df.drop(columns="geometry", errors="ignore"))
        return df if raw else normalise(table, df)

    def version(self) -> str:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return "absent"
        # A commit renames a new file into place: inode and mtime both change.
        return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"

    @contextlib.contextmanager
    def _lock(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def commit(self, changes: list[Change]) -> None:
        if not changes:
            return
        with self._lock():
            present = set(self.tables())
            results: dict[str, pd.DataFrame] = {}
            problems: list = []
            for ch in changes:
                base = results.get(ch.table)
                if base is None and ch.how != "replace" and ch.table in present:
                    base = self._read_path(self.path, ch.table)
                try:
                    results[ch.table] = apply_change(base, ch)
                except (ValueError, StoreError) as exc:
                    raise StoreError(f"{ch.table}: {exc}") from exc
                problems += validate_change(ch, results[ch.table])
            if problems:
                raise StoreError(f"{len(problems)} problem(s); nothing was written", problems)
            appended = [ch.rows for ch in changes if ch.table == "status_events" and ch.how == "append"]
            if appended:
                sync_status(results, pd.concat(appended, ignore_index=True),
                            lambda t: self._read_path(self.path, t) if t in present else contract.empty(t))
            fd, tmp_name = tempfile.mkstemp(prefix=".commit-", suffix=".gpkg", dir=self.path.parent)
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                if self.path.exists():
                    shutil.copyfile(self.path, tmp)
                else:
                    tmp.unlink()
                for table, df in results.items():
                    _write_layer(tmp, table, df)
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise


def _write_layer(path: Path, table: str, df: pd.DataFrame) -> None:
    spec = TABLES[table]
    out = df.copy()
    # GDAL has no nullable-int/bool arrays; floats keep NULLs, and read() restores the dtype.
    for col in out.columns:
        if str(out[col].dtype) in ("Int64", "boolean"):
            out[col] = out[col].astype("float64")
    kwargs = dict(layer=table, driver="GPKG")
    if path.exists() and table in {r[0] for r in pyogrio.list_layers(path)}:
        kwargs["layer_options"] = {"OVERWRITE": "YES"}
    if spec.geometry:
        geom_type = {"Point": "Point", "Polygon": "MultiPolygon", "LineString": "MultiLineString"}[spec.geometry]
        if geom_type.startswith("Multi"):
            import shapely

            # GeoPackage layers hold one geometry type: promote single parts to their multi type.
            g = out.geometry.values.copy()
            single = shapely.get_type_id(g) == (3 if spec.geometry == "Polygon" else 1)
            if single.any():
                make = shapely.multipolygons if spec.geometry == "Polygon" else shapely.multilinestrings
                g[single] = make(np.asarray(g[single], dtype=object)[:, None])
                out = out.set_geometry(gpd.GeoSeries(g, crs=out.crs, index=out.index))
        pyogrio.write_dataframe(out, path, geometry_type=geom_type, **kwargs)
    else:
        # Binary columns (attachments.content) become BLOB fields only through GDAL's Arrow writer.
        binary = any(c.kind == "bytes" for c in spec.columns)
        pyogrio.write_dataframe(pd.DataFrame(out), path, **kwargs, **({"use_arrow": True} if binary else {}))


# --- opening ---------------------------------------------------------------------------

def default_spec() -> str:
    """The store the app uses: ``QINGSHAN_STORE``, else a working copy of the shipped demo."""
    spec = os.environ.get("QINGSHAN_STORE", "").strip()
    if spec:
        return spec
    return str(ensure_work_copy())


def ensure_work_copy(work: Path = WORK_STORE, demo: Path = DEMO_STORE) -> Path:
    """Create the working copy from the shipped demo on first start (the demo file is never written)."""
    if not work.exists():
        if not demo.exists():
            raise StoreError(f"the shipped demo {demo} is missing; build it with: python -m geo demo --out {demo}")
        work.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".copy-", suffix=".gpkg", dir=work.parent)
        os.close(fd)
        shutil.copyfile(demo, tmp)
        os.replace(tmp, work)
    return work


def open_store(spec: str | os.PathLike | None = None, *, create: bool = False) -> Store:
    """Open the store named by ``spec`` (a path or a ``postgresql://`` URL); ``None`` uses :func:`default_spec`."""
    spec = str(spec) if spec is not None else default_spec()
    if spec.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        from .pgstore import PostgisStore

        return PostgisStore(spec, create=create)
    return GpkgStore(spec, create=create)
