"""Store access: the tables of the data contract behind one small API.

A store is opened from a spec: a GeoPackage path (:mod:`geo.store.gpkg`), or a
``postgresql://`` URL (:mod:`geo.store.postgis`). Both implement
:class:`Store` (:mod:`geo.store.base`):

- ``read(table, where=…)`` returns the table (or the matching rows) with
  contract dtypes (EPSG:4326 geometries); ``read_many(tables)`` several tables
  from one consistent state;
- ``commit(changes)`` applies a list of :class:`Change` atomically: every
  changed row is validated first, a failed commit leaves the store exactly as
  it was, and every site the commit touches ends with status = latest event;
- ``atomic(work)`` runs a read-then-write unit (``tx.read`` … ``tx.commit``)
  that no other writer can interleave with: no lost update;
- ``version(tables=None)`` changes whenever the data (of those tables) does;
  pages cache on the version of the tables they read;
- capabilities are methods (``read_extra("roads")``, ``export_gpkg(path)``):
  callers never ask which backend they hold.

What the backends share (spec detection, dtypes, multipart promotion,
validation, status = latest event) is in :mod:`geo.store.shared`.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import StoreError
from .base import Change, Store
from .gpkg import GpkgStore
from .base import Transaction
from .shared import (apply_change, is_postgres_url, latest_status, normalise, promote_multi, status_fixes,
                     validate_change, with_latest_status)

ROOT = Path(__file__).resolve().parent.parent.parent
DEMO_STORE = ROOT / "data" / "demo.gpkg"
WORK_STORE = ROOT / "data" / "work" / "qingshan.gpkg"

__all__ = ["Change", "DEMO_STORE", "GpkgStore", "PostgisStore", "Store", "StoreError", "WORK_STORE", "apply_change",
           "copy_store", "default_spec", "ensure_work_copy", "is_postgres_url", "latest_status", "migrate",
           "normalise", "open_store", "promote_multi", "status_fixes", "Transaction", "validate_change",
           "with_latest_status"]


def __getattr__(name: str):
    # The PostGIS backend (psycopg, SQLAlchemy) is imported only when asked for.
    if name in ("PostgisStore", "copy_store", "migrate", "SCHEMA_VERSION"):
        from . import postgis

        return getattr(postgis, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        try:
            shutil.copyfile(demo, tmp)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # a normal file, not mkstemp's owner-only one
            os.replace(tmp, work)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return work


def open_store(spec: str | os.PathLike | None = None, *, create: bool = False) -> Store:
    """Open the store named by ``spec`` (a path or a ``postgresql://`` URL); ``None`` uses :func:`default_spec`."""
    spec = str(spec) if spec is not None else default_spec()
    if is_postgres_url(spec):
        from .postgis import PostgisStore

        return PostgisStore(spec, create=create)
    return GpkgStore(spec, create=create)
