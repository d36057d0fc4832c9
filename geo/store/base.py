"""The :class:`Store` interface every backend implements, and :class:`Change`, one table's part of a commit.

Callers never ask which backend they hold: anything a backend can do is a
method here (``read_extra`` for optional layers such as roads, ``export_gpkg``
for a standalone copy), and each backend implements it its own way.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

import pandas as pd

from ..contract import TABLES
from ..errors import StoreError


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
        """Several tables from one consistent state of the store (sites and their events always agree)."""
        return {t: self.read(t) for t in tables}

    @abstractmethod
    def read_extra(self, layer: str) -> pd.DataFrame | None:
        """An optional layer outside the contract (e.g. ``roads``) as stored, or ``None`` when absent."""

    @abstractmethod
    def commit(self, changes: list[Change]) -> None:
        """Apply ``changes`` in one transaction; raise :class:`StoreError` and change nothing on any problem."""

    @abstractmethod
    def version(self) -> str:
        """A token that changes whenever any table changes."""

    @abstractmethod
    def tables(self) -> list[str]:
        """Names of the contract tables present in the store."""

    @abstractmethod
    def export_gpkg(self, path: str | Path) -> Path:
        """Write the whole store as one standalone GeoPackage file at ``path`` (replaced if present)."""

    def meta(self) -> dict[str, str]:
        m = self.read("meta")
        return dict(zip(m["key"], m["value"])) if len(m) else {}

    # Convenience for the common case of several tables replaced at once (demo, copy).
    def replace_all(self, tables: dict[str, pd.DataFrame]) -> None:
        self.commit([Change(name, df, "replace") for name, df in tables.items()])
