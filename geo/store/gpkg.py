"""The GeoPackage store: the data contract in one GeoPackage file.

The store writes into a copy of the file and swaps it in with an atomic
rename, under an exclusive lock, so readers never see half a write and two
writers never interleave.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from .. import contract
from ..contract import TABLES
from ..errors import StoreError
from .base import Change, Store
from .shared import STORED_GEOMETRY, apply_change, check_layer_name, normalise, promote_multi, sync_status, validate_change


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

    def read_extra(self, layer: str) -> pd.DataFrame | None:
        check_layer_name(layer)
        if not self.path.exists() or layer not in {row[0] for row in pyogrio.list_layers(self.path)}:
            return None
        return pyogrio.read_dataframe(self.path, layer=layer)

    def rebuild(self, tables: dict[str, pd.DataFrame]) -> Path:
        """Make the file hold exactly ``tables`` (contract tables; others dropped): a new file swapped in."""
        changes = [Change(t, df, "replace") for t, df in tables.items()]
        results = {}
        problems: list = []
        for ch in changes:
            try:
                results[ch.table] = apply_change(None, ch)
            except (ValueError, StoreError) as exc:
                raise StoreError(f"{ch.table}: {exc}") from exc
            problems += validate_change(ch, results[ch.table])
        if problems:
            raise StoreError(f"{len(problems)} problem(s); nothing was written", problems)
        with self._lock():
            fd, tmp_name = tempfile.mkstemp(prefix=".commit-", suffix=".gpkg", dir=self.path.parent)
            os.close(fd)
            tmp = Path(tmp_name)
            tmp.unlink()
            try:
                for table, df in results.items():
                    _write_layer(tmp, table, df)
                os.replace(tmp, self.path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        return self.path

    def export_gpkg(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        with self._lock():
            _copy_file(self.path, path)
        return path

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
        # GeoPackage layers hold one geometry type: single parts are promoted to their multi type.
        out = out.set_geometry(gpd.GeoSeries(promote_multi(table, out.geometry.values), crs=out.crs, index=out.index))
        pyogrio.write_dataframe(out, path, geometry_type=STORED_GEOMETRY[spec.geometry], **kwargs)
    else:
        pyogrio.write_dataframe(pd.DataFrame(out), path, **kwargs)




def _copy_file(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` through a temporary file beside ``dst`` (never half a file at ``dst``)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".copy-", suffix=".gpkg", dir=dst.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
