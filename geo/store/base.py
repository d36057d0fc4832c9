"""The :class:`Store` interface every backend implements, and :class:`Change`, one table's part of a commit.

Callers never ask which backend they hold: anything a backend can do is a
method here (``read_extra`` for optional layers such as roads, ``export_gpkg``
for a standalone copy), and each backend implements it its own way.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Literal, TypeVar

import pandas as pd

from ..contract import TABLES
from ..errors import StoreError

T = TypeVar("T")


@dataclass
class Change:
    """One table's part of a commit.

    ``how``: ``replace`` the whole table; ``upsert`` rows by the table's key
    (rows with a new key are added, rows with an existing key replace it
    whole); ``append`` rows (for ``readings`` and ``status_events``).

    ``columns`` (upsert only) makes a partial upsert: of a row whose key is
    stored, only these columns are written and every other column keeps its
    stored value (read inside the commit, so a concurrent writer's change to
    another column is never undone); a row with a new key is added whole.
    """

    table: str
    rows: pd.DataFrame
    how: Literal["replace", "upsert", "append"] = "upsert"
    columns: list[str] | None = None

    def __post_init__(self):
        if self.table not in TABLES:
            raise StoreError(f"unknown table {self.table!r}")
        if self.how == "upsert" and TABLES[self.table].key is None:
            raise StoreError(f"table {self.table} has no key; use append")
        if self.columns is not None:
            key = TABLES[self.table].key
            if self.how != "upsert":
                raise StoreError(f"{self.table}: only an upsert can write some columns")
            self.columns = [c for c in self.columns if c != key]
            missing = [c for c in self.columns + [key] if c not in self.rows.columns]
            if missing:
                raise StoreError(f"{self.table}: the rows lack the columns {missing}")


class Transaction(ABC):
    """Reads and writes of one :meth:`Store.atomic` unit: what it reads stays as read until it commits."""

    @abstractmethod
    def read(self, table: str, where: dict[str, Iterable] | None = None, *, for_update: bool = False
             ) -> pd.DataFrame:
        """``table`` (rows whose column values are in ``where``, if given) as it stands inside the transaction.

        ``for_update`` marks rows about to be changed (PostGIS locks them; the
        GeoPackage already holds its one writer lock).
        """

    @abstractmethod
    def commit(self, changes: list[Change]) -> None:
        """Validate and write ``changes`` (made durable when the unit ends without an exception)."""

    def meta(self) -> dict[str, str]:
        """The store's meta entries as read inside the unit (its ``as_of`` bounds the dates a write may carry)."""
        m = self.read("meta")
        return dict(zip(m["key"], m["value"])) if len(m) else {}


class Store(ABC):
    """The store API every backend implements."""

    url: str

    @abstractmethod
    def read(self, table: str, where: dict[str, Iterable] | None = None) -> pd.DataFrame:
        """``table`` with contract dtypes; an empty frame when the store lacks it.

        ``where`` (column → allowed values, all must hold) reads only the
        matching rows, e.g. ``{"id": ["F001"]}`` or ``{"layer": ["farms"],
        "feature_id": ids}``; values go to the database as parameters.
        """

    def read_columns(self, table: str, columns: Iterable[str], where: dict[str, Iterable] | None = None
                     ) -> pd.DataFrame:
        """``table`` (rows matching ``where``, as :meth:`read`) with only those of ``columns`` it has (and the
        geometry of a spatial table), contract dtypes: what a page lists without the bulky columns (the
        attachments' content). This default reads every column and drops the others; the backends select
        only these.
        """
        df = self.read(table, where)
        wanted = set(columns)
        return df[[c for c in df.columns if c in wanted or (c == "geometry" and TABLES[table].geometry)]]

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
        """Apply ``changes`` in one transaction; raise :class:`StoreError` and change nothing on any problem.

        Whatever the changes, every site they touch (upserted site rows, sites
        of appended events; all sites when a site layer or the events are
        replaced) ends with ``status`` = its latest event.
        """

    @abstractmethod
    def atomic(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work(tx)`` as one unit: read what you change with ``tx.read`` and write with ``tx.commit``.

        No other writer changes the store between those reads and the writes
        (GeoPackage: the one writer lock; PostGIS: rows read ``for_update``
        are locked). Nothing is written if ``work`` raises. PostGIS may run
        ``work`` again after a deadlock, so it must not have other side effects.
        """

    @abstractmethod
    def version(self, tables: Iterable[str] | None = None) -> str:
        """A token that changes whenever the data changes: of ``tables`` only when given, else of any table.

        Pages cache what they derive from some tables by the version of those
        tables, so a status update does not empty the water page's cache.
        """

    def versions(self, tables: Iterable[str]) -> dict[str, str]:
        """Each table's :meth:`version` ``([table])``, read together (backends: from one snapshot)."""
        return {t: self.version([t]) for t in tables}

    def read_versioned(self, table: str) -> tuple[str, pd.DataFrame]:
        """``table`` and its :meth:`version` ``([table])``, both from one snapshot (the frame is exactly that version).

        Pages cache each table by its own version and share the entry: a table read for one page is not
        read (and held in memory) again for the next. Backends override this to read both in one transaction.
        """
        version = self.version([table])
        frame = self.read(table)
        return (version if self.version([table]) == version else "changed-while-read"), frame

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

    # -- site search (issue 13) --------------------------------------------------------------

    @abstractmethod
    def search_sites(self, text: str, *, layers: Iterable[str] = ("enterprises", "kilns", "farms", "sampling_points"),
                     limit: int = 50) -> pd.DataFrame:
        """Sites of ``layers`` whose id or name contains ``text``, at most ``limit``, searched by the database.

        Returns ``layer``, ``id``, ``name`` (text): the id equal to the text first, then ids starting
        with it, then the rest, each by layer and id. ``%`` and ``_`` in the text are literal
        characters; ASCII letters match either case. An empty text gives the first ``limit`` sites.
        The SQL is shared by the backends (:mod:`geo.store.search_sql`).
        """

    @abstractmethod
    def count(self, table: str, where: dict[str, Iterable] | None = None) -> int:
        """Number of rows of ``table`` matching ``where`` (as :meth:`read`), counted by the database; 0 if absent."""

    @abstractmethod
    def read_bbox(self, table: str, bbox: tuple[float, float, float, float]) -> pd.DataFrame:
        """Rows of ``table`` (a layer keyed by ``id``) whose geometry meets ``bbox`` = (minx, miny, maxx, maxy).

        The spatial index finds the candidates (GeoPackage R-tree, PostGIS ``&&``); the exact test
        is shapely's, so both backends return the same rows, in the order :meth:`read` gives.
        """

    # -- readings queries (issue 13) --
    # Reads that fetch only what a page shows. This fallback computes them in pandas on the whole
    # table (:mod:`geo.store.readings_sql` holds the definitions); the backends push them into SQL.

    def latest_sampling(self, as_of=None, points: Iterable[str] | None = None) -> pd.DataFrame:
        """Every reading of each point's last sampling day up to the end of ``as_of`` (all data when ``None``).

        ``points``: the point ids to look at (default every point with readings). Same columns as
        ``readings``; :func:`geo.water.latest_assessment` and :func:`geo.discharge.latest_outfalls`
        give the same result on these rows as on the whole table.
        """
        from . import readings_sql

        return readings_sql.latest_sampling(self.read("readings"), as_of, points)

    def readings_between(self, points: Iterable[str] | None, start=None, end=None) -> pd.DataFrame:
        """Readings of ``points`` (every point when ``None``) from ``start`` to the end of the day ``end``."""
        from . import readings_sql

        return readings_sql.readings_between(self.read("readings"), points, start, end)

    def readings_outside(self, bounds: pd.DataFrame, start=None, end=None) -> pd.DataFrame:
        """Readings at or beyond ``bounds`` (``point_id, parameter, low, high, below_detection``), in the period.

        A row is kept when its value is at most ``low`` or at least ``high``, or, where the bound's
        ``below_detection`` is true, when it is below detection; a superset of the readings strictly
        beyond the bounds, for the domain to judge exactly (:func:`geo.store.readings_sql.readings_outside`).
        """
        from . import readings_sql

        return readings_sql.readings_outside(self.read("readings"), bounds, start, end)

    def monthly_worst(self, limits: pd.DataFrame, points: dict, start=None, end=None) -> pd.DataFrame:
        """``point_id, month, worst``: each point's worst class per month under ``limits`` (points: id →
        kind of water; see :func:`geo.store.readings_sql.monthly_worst`)."""
        from . import readings_sql

        return readings_sql.monthly_worst(self.read("readings"), limits, points, start, end)

    def readings_present(self, keys: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``keys`` (``point_id``, ``sampled_at``, ``parameter``) whose reading is stored.

        In the order of ``keys``, with its index, as :data:`geo.store.readings_sql.READING_KEY` columns in
        contract dtypes; a key with a missing part is never stored. What a readings import asks instead of
        reading every stored reading: the backends answer in SQL (a temporary table or arrays joined on the
        readings key index); this fallback is the pandas definition
        (:func:`geo.store.readings_sql.readings_present`).
        """
        from . import readings_sql

        return readings_sql.readings_present(self.read("readings"), keys)

    def section_classes(self, points: Iterable[str] | None = None, start=None, end=None) -> pd.DataFrame:
        """The published monthly classes (``section_classes``) of ``points`` (every point when ``None``) for
        the months of ``start`` to ``end`` (inclusive; either open when ``None``), ordered by point and month.

        The backends filter in SQL; this fallback is :func:`geo.store.readings_sql.section_classes`.
        """
        from . import readings_sql

        return readings_sql.section_classes(self.read("section_classes"), points, start, end)

    # -- status queries (issue 13) --

    def sites_on(self, layer: str, as_of=None, columns: Iterable[str] | None = None, *,
                 exclude_statuses: Iterable[str] | None = None):
        """The ``layer`` sites as they stood on ``as_of``: ``id, status``, the asked ``columns``, geometry.

        The contract's rule (:func:`geo.history.sites_on`): ``status`` is each
        site's latest event effective on or before ``as_of``; sites with no
        event by then are left out; ``as_of=None`` is the status as it stands
        (every site). ``columns`` (``None``: all) names the other columns to
        read (those the layer lacks are left out); ``exclude_statuses`` leaves
        out the sites whose status on the day is one of them (a missing status
        is kept). Rows in table order, contract dtypes, EPSG:4326.

        This default replays whole tables in pandas; the backends answer in SQL.
        """
        from ..history import sites_on as replay

        sites = self.read(layer)
        ev = self.read("status_events", where={"layer": [layer]}) if as_of is not None else None
        out = replay(sites, ev, layer, as_of) if as_of is not None else sites
        if exclude_statuses is not None:
            out = out[~out["status"].isin(list(exclude_statuses)).to_numpy(dtype=bool, na_value=False)]
        from .status_sql import wanted_columns

        keep = ["id", "status"] + wanted_columns([c for c in out.columns if c != "geometry"], columns)
        return out[[c for c in keep if c in out.columns] + ["geometry"]].reset_index(drop=True)

    def events_of(self, layer: str, *, until=None, statuses: Iterable[str] | None = None,
                  feature_ids: Iterable[str] | None = None, changed_after=None) -> pd.DataFrame:
        """The ``layer`` events (``layer, feature_id, status, effective_on, recorded_at``) in table order.

        Only those effective on or before ``until``, of ``statuses`` and of
        ``feature_ids`` when given (what replaying a campaign's history needs); with
        ``changed_after`` (a date), only the sites with an event effective after it (and on or
        before ``until``): all their events, what replaying the changes since then needs.
        """
        from .status_sql import EVENT_COLUMNS

        ev = self.read("status_events", where={"layer": [layer]})
        if until is not None:
            ev = ev[(ev["effective_on"] <= pd.Timestamp(until).normalize()).to_numpy(dtype=bool, na_value=False)]
        if statuses is not None:
            ev = ev[ev["status"].isin(list(statuses)).to_numpy(dtype=bool, na_value=False)]
        if feature_ids is not None:
            ev = ev[ev["feature_id"].isin(list(feature_ids)).to_numpy(dtype=bool, na_value=False)]
        if changed_after is not None:
            late = (ev["effective_on"] > pd.Timestamp(changed_after).normalize()).to_numpy(dtype=bool, na_value=False)
            ev = ev[ev["feature_id"].isin(ev["feature_id"][late].dropna()).to_numpy(dtype=bool, na_value=False)]
        return ev[[c for c in EVENT_COLUMNS if c in ev.columns]].reset_index(drop=True)

    def done_steps(self, layer: str, until, done: Iterable[str], feature_ids: Iterable[str] | None = None
                   ) -> pd.DataFrame:
        """:func:`geo.history.done_steps` of the ``layer`` events up to ``until`` (of ``feature_ids`` when
        given): per day, the change in how many sites stand in a ``done`` status (``date, step``)."""
        from ..history import done_steps

        return done_steps(self.events_of(layer, until=until, feature_ids=feature_ids), done)
