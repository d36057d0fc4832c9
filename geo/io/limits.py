"""Input limits: how big an upload or import may be, checked before anything is expanded.

A 2 MB zip can declare a 2 GB ``.dbf``; a 7 MB CSV can hold four million ids.
Every reader of :mod:`geo.io.readers` checks, in this order and before it
decompresses or parses more than the limit:

1. the file's size (``max_upload_mb``);
2. for zips (a zipped Shapefile, and xlsx, which is a zip too) the uncompressed
   size every member declares in the central directory (``max_uncompressed_mb``,
   for the sum of the members and hence for each);
3. the number of columns (``max_columns``) and data rows (``max_rows``; a site ledger
   ``max_ledger_rows``, :meth:`Limits.for_ledger`: importing one costs about 4 KB a row, so
   100,000 rows peak near 420 MB and 200,000 near 700 MB, bench/readers_rss.py), from the
   ``.dbf`` header, the GeoPackage/GeoJSON layer info, or counted while streaming
   xlsx and CSV rows (the reader stops at the first row over the limit);
4. the cells of a table (``max_cells``, filled cells of a sheet or CSV, rows × fields of a
   spatial layer), an xlsx's shared strings (``max_shared_strings``, counted while streaming
   the part before openpyxl reads it) and how much each xlsx part is compressed
   (``max_zip_ratio``: a 480 KB part declaring 190 MB is a bomb);
5. the vertices of a spatial file (``max_vertices``) and of one feature
   (``max_feature_vertices``), from the Shapefile's record headers, counted in a GeoJSON or
   KML before it is parsed, and counted again on the geometries read.

The limits are deployment settings (``qingshan.toml``)::

    [limits]
    max_upload_mb = 20          # size of an uploaded or imported file
    max_uncompressed_mb = 200   # a zip's (xlsx, zipped Shapefile) declared uncompressed size
    max_rows = 200000           # data rows of one table
    max_ledger_rows = 100000    # rows of one site ledger (a province's whole ledger is ~10⁵ sites)
    max_columns = 200           # columns of one table
    max_report_lines = 200      # findings listed per kind in an error report (totals always given)
    max_cells = 10000000        # filled cells of one table (a ledger: at most 100,000 rows × 100 columns)
    max_shared_strings = 1000000  # strings in an xlsx's shared-strings table
    max_zip_ratio = 100         # uncompressed / compressed size of an xlsx part over 1 MB
    max_vertices = 1000000      # vertices of one spatial file
    max_feature_vertices = 200000  # vertices of one feature (a township outline)

A file over a limit raises :class:`geo.errors.LimitError`, in Chinese and
English, naming the limit, the file's figure and the setting to change.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace

from .. import config
from ..errors import LimitError

DEFAULTS = {"max_upload_mb": 20, "max_uncompressed_mb": 200, "max_rows": 200_000, "max_ledger_rows": 100_000, "max_columns": 200,
            "max_report_lines": 200, "max_cells": 10_000_000, "max_shared_strings": 1_000_000,
            "max_zip_ratio": 100, "max_vertices": 1_000_000, "max_feature_vertices": 200_000}

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The limits in force (see the module docstring); :meth:`current` reads them from the config."""

    max_upload_mb: float = DEFAULTS["max_upload_mb"]
    max_uncompressed_mb: float = DEFAULTS["max_uncompressed_mb"]
    max_rows: int = DEFAULTS["max_rows"]
    max_ledger_rows: int = DEFAULTS["max_ledger_rows"]
    max_columns: int = DEFAULTS["max_columns"]
    max_report_lines: int = DEFAULTS["max_report_lines"]
    max_cells: int = DEFAULTS["max_cells"]
    max_shared_strings: int = DEFAULTS["max_shared_strings"]
    max_zip_ratio: int = DEFAULTS["max_zip_ratio"]
    max_vertices: int = DEFAULTS["max_vertices"]
    max_feature_vertices: int = DEFAULTS["max_feature_vertices"]
    #: The setting a row refusal names (``max_ledger_rows`` once :meth:`for_ledger` has applied it).
    rows_setting: str = "max_rows"

    @classmethod
    def current(cls) -> "Limits":
        """``[limits]`` of ``qingshan.toml`` (``QINGSHAN_CONFIG``), each key defaulting to :data:`DEFAULTS`."""
        values = {}
        for f in fields(cls):
            if f.name not in DEFAULTS:
                continue
            v = config.get("limits", f.name, DEFAULTS[f.name])
            try:
                v = float(v) if f.name.endswith("_mb") else int(v)
            except (TypeError, ValueError):
                v = DEFAULTS[f.name]
            values[f.name] = v if v > 0 else DEFAULTS[f.name]
        return cls(**values)

    def for_ledger(self) -> "Limits":
        """These limits for a site ledger: at most ``max_ledger_rows`` rows (when lower than ``max_rows``)."""
        if self.max_ledger_rows >= self.max_rows:
            return self
        return replace(self, max_rows=self.max_ledger_rows, rows_setting="max_ledger_rows")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MB)

    @property
    def max_uncompressed_bytes(self) -> int:
        return int(self.max_uncompressed_mb * MB)

    # --- checks (each raises LimitError) ----------------------------------------------------

    def check_upload(self, size: int, what: str = "文件") -> None:
        """A file of ``size`` bytes."""
        if size > self.max_upload_bytes:
            raise LimitError(
                f"{what}过大：{_mb(size)}，上限 {self.max_upload_mb:g} MB（qingshan.toml [limits] max_upload_mb）；"
                f"未读取任何内容。",
                f"file too large: {_mb(size)}; the limit is {self.max_upload_mb:g} MB "
                f"([limits] max_upload_mb in qingshan.toml); nothing was read")

    def check_uncompressed(self, size: int, what: str = "压缩包") -> None:
        """A zip whose members declare ``size`` bytes in all."""
        if size > self.max_uncompressed_bytes:
            raise LimitError(
                f"{what}解压后过大：声明 {_mb(size)}，上限 {self.max_uncompressed_mb:g} MB"
                f"（qingshan.toml [limits] max_uncompressed_mb）；未解压任何内容。",
                f"the archive expands to {_mb(size)} (declared); the limit is {self.max_uncompressed_mb:g} MB "
                f"([limits] max_uncompressed_mb in qingshan.toml); nothing was extracted")

    def check_rows(self, rows: int, *, at_least: bool = False) -> None:
        """A table of ``rows`` data rows (``at_least``: counting stopped there, the file holds more)."""
        if rows > self.max_rows:
            more_zh, more_en = ("至少 ", "at least ") if at_least else ("", "")
            raise LimitError(
                f"行数过多：文件有{more_zh}{rows:,} 行数据，上限 {self.max_rows:,} 行"
                f"（qingshan.toml [limits] {self.rows_setting}）；请分批导入。",
                f"too many rows: the file holds {more_en}{rows:,} data rows; the limit is {self.max_rows:,} "
                f"([limits] {self.rows_setting} in qingshan.toml); import it in parts")

    def check_columns(self, columns: int) -> None:
        """A table of ``columns`` columns."""
        if columns > self.max_columns:
            raise LimitError(
                f"列数过多：文件有 {columns:,} 列，上限 {self.max_columns:,} 列（qingshan.toml [limits] max_columns）。",
                f"too many columns: the file holds {columns:,} columns; the limit is {self.max_columns:,} "
                f"([limits] max_columns in qingshan.toml)")

    def check_cells(self, cells: int, *, at_least: bool = False) -> None:
        """A table of ``cells`` filled cells (``at_least``: counting stopped there)."""
        if cells > self.max_cells:
            more_zh, more_en = ("至少 ", "at least ") if at_least else ("", "")
            raise LimitError(
                f"单元格过多：文件有{more_zh}{cells:,} 个非空单元格，上限 {self.max_cells:,} 个"
                f"（qingshan.toml [limits] max_cells）；请分批导入。",
                f"too many cells: the file holds {more_en}{cells:,} filled cells; the limit is {self.max_cells:,} "
                f"([limits] max_cells in qingshan.toml); import it in parts")

    def check_shared_strings(self, strings: int, *, declared: bool = False) -> None:
        """An xlsx whose shared-strings table holds (``declared``: says it holds) ``strings`` strings."""
        if strings > self.max_shared_strings:
            how_zh, how_en = ("声明有 ", "declares ") if declared else ("至少有 ", "holds at least ")
            raise LimitError(
                f"Excel 文件的共享字符串表{how_zh}{strings:,} 个字符串，上限 {self.max_shared_strings:,} 个"
                f"（qingshan.toml [limits] max_shared_strings）；未读取表格内容。",
                f"the Excel file's shared-strings table {how_en}{strings:,} strings; the limit is "
                f"{self.max_shared_strings:,} ([limits] max_shared_strings in qingshan.toml); nothing was read")

    def check_ratio(self, member: str, size: int, compressed: int, what: str = "压缩包") -> None:
        """A zip member declaring ``size`` bytes stored in ``compressed`` bytes (parts over 1 MB only)."""
        ratio = size / max(compressed, 1)
        if size > MB and ratio > self.max_zip_ratio:
            raise LimitError(
                f"{what}中的 {member} 压缩比异常：{_mb(compressed)} 解压后为 {_mb(size)}（{ratio:,.0f} 倍，上限 "
                f"{self.max_zip_ratio:,} 倍，qingshan.toml [limits] max_zip_ratio），疑为压缩炸弹；未解压任何内容。",
                f"{member} in the archive expands {ratio:,.0f}-fold ({_mb(compressed)} to {_mb(size)}; the limit is "
                f"{self.max_zip_ratio:,}, [limits] max_zip_ratio in qingshan.toml): refused as a zip bomb; "
                f"nothing was extracted")

    def check_vertices(self, vertices: int, *, at_least: bool = False) -> None:
        """A spatial file of ``vertices`` vertices in all (``at_least``: counting stopped there)."""
        if vertices > self.max_vertices:
            more_zh, more_en = ("至少 ", "at least ") if at_least else ("", "")
            raise LimitError(
                f"几何过于复杂：文件共有{more_zh}{vertices:,} 个顶点，上限 {self.max_vertices:,} 个"
                f"（qingshan.toml [limits] max_vertices）；请在 GIS 软件中简化（抽稀）后再导入。",
                f"geometry too detailed: the file holds {more_en}{vertices:,} vertices; the limit is "
                f"{self.max_vertices:,} ([limits] max_vertices in qingshan.toml); simplify it in the GIS software "
                f"and import it again")

    def check_feature_vertices(self, vertices: int, feature: int) -> None:
        """Feature number ``feature`` (from 1) of ``vertices`` vertices."""
        if vertices > self.max_feature_vertices:
            raise LimitError(
                f"几何过于复杂：第 {feature:,} 个要素有 {vertices:,} 个顶点，单个要素上限 {self.max_feature_vertices:,} 个"
                f"（qingshan.toml [limits] max_feature_vertices）；请在 GIS 软件中简化（抽稀）后再导入。",
                f"geometry too detailed: feature {feature:,} has {vertices:,} vertices; the limit per feature is "
                f"{self.max_feature_vertices:,} ([limits] max_feature_vertices in qingshan.toml); simplify it in "
                f"the GIS software and import it again")


def _mb(size: int) -> str:
    return f"{size / MB:,.1f} MB" if size >= MB / 10 else f"{size:,} 字节 bytes"


def bounded(problems: Iterable, kind: Callable, limit: int, summary: Callable) -> list:
    """The first ``limit`` findings of each kind, then one ``summary(kind, omitted, total)`` per kind cut short.

    Parameters
    ----------
    problems : findings in report order.
    kind : finding → a hashable kind (e.g. ``(severity, column)``).
    limit : findings kept per kind (``Limits.max_report_lines``).
    summary : builds the closing finding of a kind: "… and 1,234 more of this kind (5,000 in all)".

    Returns
    -------
    list
        At most ``limit + 1`` findings per kind, in the original order; the totals stay visible.
    """
    problems = list(problems)
    totals = Counter(kind(p) for p in problems)
    if all(n <= limit for n in totals.values()):
        return problems
    seen: Counter = Counter()
    out = []
    for p in problems:
        k = kind(p)
        seen[k] += 1
        if seen[k] <= limit:
            out.append(p)
    for k, n in totals.items():
        if n > limit:
            out.append(summary(k, n - limit, n))
    return out
