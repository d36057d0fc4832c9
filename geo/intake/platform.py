"""The national automatic surface-water monitoring platform's exports into ``readings`` and ``section_classes``.

Two kinds of file come from the platform (国家地表水水质自动监测实时数据发布系统) and from the monthly
tables a bureau receives:

**Real-time exports** (:func:`read_platform`, :func:`import_platform`): one row per station and hour,
parameters as columns, as CSV (often GBK, with a title line above the header), xlsx, or the site's data
API as JSON (``{"records": [...]}`` or a list of objects, keyed by the CSV's Chinese headers or by
English keys such as ``siteName``, ``monitorTime``, ``waterQuality``)::

    省份, 流域, 断面名称, 监测时间, 水质类别, 水温(℃), pH(无量纲), 溶解氧(mg/L), 电导率(μS/cm), 浊度(NTU),
    高锰酸盐指数(mg/L), 氨氮(mg/L), 总磷(mg/L), 总氮(mg/L), 叶绿素α(mg/L), 藻密度(cells/L), 站点情况

What the cells mean, and what is stored:

- ``--``, ``*``, ``—``, ``/`` and blank cells hold no value: not an error; they are counted per column
  (无数据) and nothing is stored for that parameter and hour.
- ``0.077*`` is a value with a flag: 0.077 is stored, ``*`` in ``readings.flag``.
- 站点情况 (``正常``, ``维护``, ``停运``, ``通讯中断``) other than 正常 is the flag of the row's readings
  (``维护``, or ``维护；*`` with a marked value); a row of such a station without any value is a warning.
- Times without a year (``08-21 20:00``, as the site shows them) take the year the caller gives; without
  one the file is refused: the year is never guessed (nor is a year-less file spanning December and
  January, which one year cannot date). ``2026-08-21 20:00:00`` is taken as written.
- 水质类别 (``Ⅱ``, ``II``, ``劣Ⅴ``, ``Ⅲ类``) is not stored: it is compared with the class the row's own
  values give by :func:`geo.water.site_class`, and a contradiction is a warning.

The wide table is melted into the long cells (``point_id, sampled_at, parameter, value, unit``, index =
the file's row number) that :func:`geo.intake.lab.check_readings` checks, the one check of every readings
import: stations are matched to sampling points by id or unique name, parameters and units, times
(none in the future), duplicates in the file or in the store; it is called once per parameter column, so
every finding names the row the user sees and the column as written (a finding about a whole row, such as
an unknown station, is reported once). :func:`geo.intake.lab.write_readings` writes them: all or nothing,
or the good rows only.

**Monthly section tables** (:func:`read_section_table`, :func:`import_section_classes`)::

    断面名称, 所在水体, 目标类别, 本月水质类别, 超标项目(超标倍数)

one row per section, the month in a title row (``2026年8月``) or given by the caller, into
``section_classes`` (``point_id, month, water_class, target_class, exceeding, source, recorded_by,
recorded_at``): the classes as published (超标项目 kept as written, read only to check it against the
class); sections not assessed that month (断流, blank) are counted and not stored.

Every read is bounded by ``[limits]`` (:mod:`geo.io.limits`); JSON is parsed by the ``json`` module after
its size is checked.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import water
from ..errors import GeoError
from ..io import readers
from ..io.cells import blank, norm_key, parse_class, parse_number, text
from ..io.limits import Limits
from . import lab
from .report import Finding, bounded_findings, total_count

__all__ = [
    "PLATFORM_PARAMETERS", "PlatformImport", "SectionImport", "read_platform", "check_platform",
    "import_platform", "read_section_table", "check_section_classes", "import_section_classes",
]

# --- vocabularies -------------------------------------------------------------------------

#: The platform's parameter columns: code → (Chinese headers, English JSON keys, unit when none is written).
#: Codes outside GB 3838 (EC, TURB, CHLA, ALGAE) are the unclassed parameters of :data:`geo.water.UNCLASSED`.
PLATFORM_PARAMETERS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "WT": (("水温", "温度"), ("waterTemperature", "waterTemp", "temperature"), "℃"),
    "pH": (("pH", "pH值"), ("ph",), "无量纲"),
    "DO": (("溶解氧",), ("dissolvedOxygen", "oxygen"), "mg/L"),
    "EC": (("电导率",), ("conductivity", "electricalConductivity"), "μS/cm"),
    "TURB": (("浊度",), ("turbidity", "turb"), "NTU"),
    "CODMn": (("高锰酸盐指数",), ("permanganateIndex", "codMn"), "mg/L"),
    "NH3-N": (("氨氮",), ("ammoniaNitrogen", "nh3n", "nh3N"), "mg/L"),
    "TP": (("总磷",), ("totalPhosphorus", "tp"), "mg/L"),
    "TN": (("总氮",), ("totalNitrogen", "tn"), "mg/L"),
    "CHLA": (("叶绿素α", "叶绿素a", "叶绿素"), ("chlorophyll", "chlorophyllA", "chla"), "mg/L"),
    "ALGAE": (("藻密度",), ("algaeDensity", "algalDensity", "algae"), "cells/L"),
}

#: The columns that are not parameters (Chinese headers and English keys).
PLATFORM_FIELDS: dict[str, tuple[str, ...]] = {
    "station": ("断面名称", "断面", "站点名称", "站点", "测站名称", "点位名称", "siteName", "stationName",
                "sectionName"),
    "station_code": ("断面编码", "断面编号", "站点编码", "站点编号", "点位编号", "siteCode", "siteId", "stationCode",
                     "stationId", "pointId", "point_id"),
    "sampled_at": ("监测时间", "时间", "监测日期", "采样时间", "数据时间", "monitorTime", "monitoringTime", "dataTime",
                   "time", "datetime", "sampled_at"),
    "water_class": ("水质类别", "类别", "waterQuality", "waterClass", "qualityLevel"),
    "status": ("站点情况", "站点状态", "运行状态", "状态", "siteStatus", "stationStatus", "status"),
    "province": ("省份", "省", "province"),
    "basin": ("流域", "basin", "watershed", "riverBasin"),
}
_LABELS = {"station": "断面名称", "sampled_at": "监测时间"}

#: Header spellings of the real-time export, for :func:`geo.io.readers.match_headers`.
ALIASES: dict[str, tuple[str, ...]] = {
    **PLATFORM_FIELDS,
    **{code: (*zh, *en) for code, (zh, en, _unit) in PLATFORM_PARAMETERS.items()},
}

#: The word of a station running normally (any other 站点情况 flags its readings).
NORMAL = "正常"

#: Cells that hold no value: blank, ``--``/``—``/``——`` (any run of dashes), ``*``, ``/`` (after NFKC).
_NO_VALUE = r"[-‐‑‒–—―−─━_~～]*|\*+|/|\\"
#: A number followed by a flag: ``0.077*``.
_FLAGGED = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(\*+)"
#: A time without a year, as the site shows it: ``08-21 20:00``, ``8/21 20:00:00``, ``8月21日 20时``, ``08-21``.
_YEARLESS = (r"(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
             r"(?:\s*(\d{1,2})\s*[:时点]\s*(?:(\d{1,2})\s*分?)?(?:\s*:\s*(\d{1,2}))?)?")
#: Years a time may be given (those pandas can hold with room).
_YEARS = (1900, 2200)


def _header_unit(header: str) -> str | None:
    """The unit in a header's brackets (``溶解氧(mg/L)`` → ``mg/L``), else ``None``."""
    m = re.search(r"[(（\[［]([^()（）\[\]［］]*)[)）\]］]\s*$", str(header))  # the unit kept as written (℃)
    return m[1].strip() if m and m[1].strip() else None


# --- reading the file ---------------------------------------------------------------------

def _reusable(src, name: str | None, limits: Limits):
    """``(src, name)`` that can be read twice: a stream is read once (bounded) into bytes."""
    if hasattr(src, "read") and not hasattr(src, "getvalue"):
        data = src.read(limits.max_upload_bytes + 1)
        limits.check_upload(len(data))
        return data, name or getattr(src, "name", None)
    if hasattr(src, "getvalue"):
        return src.getvalue(), name or getattr(src, "name", None)
    return src, name


def _is_json(src, name: str | None) -> bool:
    """A ``.json`` file by its name; bytes without a name by their first character (``{`` or ``[``)."""
    source = name or (str(src) if isinstance(src, (str, os.PathLike)) else getattr(src, "name", None))
    if source:
        return Path(str(source)).suffix.lower() == ".json"
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src[:64]).lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")
    return False


#: Keys of a JSON document that hold its records (the site's API answers ``{"records": [...]}`` and kin).
_RECORD_KEYS = ("records", "data", "rows", "list", "items", "result", "results")


def _records_of(doc) -> list:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in _RECORD_KEYS:
            inner = doc.get(key)
            if isinstance(inner, list):
                return inner
            if isinstance(inner, dict):  # {"data": {"records": [...]}}
                for key2 in _RECORD_KEYS:
                    if isinstance(inner.get(key2), list):
                        return inner[key2]
    raise GeoError("JSON 中找不到记录列表（应为 {\"records\": [...]} 或对象列表）。",
                   "no list of records in the JSON (expected {\"records\": [...]} or a list of objects)")


def _json_table(src, name: str | None, limits: Limits) -> readers.Table:
    """The records of the platform's JSON as a table (row numbers = record numbers from 1)."""
    path, data, source = readers._load(src, name, limits)  # the size is checked before anything is read
    if data is None:
        data = path.read_bytes()
    textdata, encoding = readers.decode_text(data)
    try:
        # NaN / Infinity are no values (None), as the platform's blank cells
        doc = json.loads(textdata, parse_constant=lambda _c: None)
    except RecursionError as exc:
        raise GeoError("JSON 嵌套过深，无法读取。", "the JSON is nested too deeply to read") from exc
    except ValueError as exc:
        raise GeoError(f"JSON 格式有误：{exc}", f"malformed JSON: {exc}") from exc
    records = _records_of(doc)
    limits.check_rows(len(records))
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise GeoError(f"JSON 第{bad + 1}条记录不是对象。", f"JSON record {bad + 1} is not an object")
    # the keys are counted before a frame is made: records with many distinct keys would make it huge
    limits.check_columns(len(set().union(*records)) if records else 0)
    frame = pd.DataFrame.from_records(records).astype(object) if records else pd.DataFrame(dtype=object)
    frame = _as_cells(frame.where(frame.notna(), None))
    table = readers.Table(frame.reset_index(drop=True), np.arange(1, len(frame) + 1), source, encoding=encoding)
    table.matched = readers.match_headers(frame.columns, ALIASES)
    return table


def _as_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A nested value (an object or a list where a cell belongs) as its JSON text: no check accepts it, and
    it can be compared and counted like any cell. A column is looked at only when it holds one."""
    for c in frame.columns:
        try:
            pd.unique(frame[c])  # one hashing pass; a dict or list cannot be hashed
        except TypeError:
            frame[c] = frame[c].map(lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list))
                                    else v)
    return frame


def _export_table(src, name: str | None, limits: Limits) -> readers.Table:
    if _is_json(src, name):
        return _json_table(src, name, limits)
    return readers.read_table(src, name=name, aliases=ALIASES, formats=("csv", "xlsx"), limits=limits)


def _year(year) -> int | None:
    if year is None or (isinstance(year, str) and not year.strip()):
        return None
    v = parse_number(year)
    if v is None or not v.is_integer() or not (_YEARS[0] <= v <= _YEARS[1]):
        raise GeoError(f"年份“{year}”无效（示例：2026）。", f"invalid year {year!r} (e.g. 2026)")
    return int(v)


def _dated(times: pd.Series, rows: np.ndarray, year: int | None, header: str) -> pd.Series:
    """Times with the year put in front of those written without one (``08-21 20:00``); refuses without a year."""
    # an export repeats each hour once per station: the distinct times are matched, then spread
    uniq = pd.unique(times.dropna())
    text_ = pd.Series(uniq, dtype=object).map(lambda v: unicodedata.normalize("NFKC", v).strip()
                                              if isinstance(v, str) else "")
    found = text_.str.extract(f"^{_YEARLESS}$")
    found.index = pd.Index(uniq, dtype=object)
    m = found.reindex(times.to_numpy(dtype=object))
    m.index = times.index
    yearless = m[0].notna().to_numpy()
    if not yearless.any():
        return times
    first = int(np.flatnonzero(yearless)[0])
    if year is None:
        raise GeoError(
            f"“{header}”的时间没有年份（第{rows[first]}行：“{times.iloc[first]}”）：请指定年份（命令行 --year，"
            f"如 --year 2026）；系统不会猜测年份，未导入任何数据。",
            f"the times in {header!r} have no year (row {rows[first]}: {times.iloc[first]!r}): give the year "
            f"(--year on the command line, e.g. --year 2026); it is never guessed, nothing was imported")
    months = pd.to_numeric(m.loc[yearless, 0])
    if (months == 12).any() and (months == 1).any():
        raise GeoError(
            f"“{header}”的时间没有年份，且既有12月又有1月（跨年）：一个年份无法确定这些时间，请按年分开导出或导出带年份的"
            f"时间；未导入任何数据。",
            f"the times in {header!r} have no year and span December and January: one year cannot date them; "
            f"export each year apart or with full dates; nothing was imported")
    z = m.fillna("0")
    built = (f"{year:04d}-" + z[0].str.zfill(2) + "-" + z[1].str.zfill(2) + " " + z[2].str.zfill(2) + ":"
             + z[3].str.zfill(2) + ":" + z[4].str.zfill(2))
    return times.where(~yearless, built)


def read_platform(src, *, name: str | None = None, year=None, limits: Limits | None = None
                  ) -> tuple[pd.DataFrame, list[Finding]]:
    """The platform's real-time export (CSV, xlsx or JSON) as long raw cells for
    :func:`geo.intake.lab.check_readings`.

    Parameters
    ----------
    src : a path, bytes or uploaded file (``.name`` or ``name`` tells CSV, xlsx and JSON apart).
    name : the file name as the user knows it.
    year : the year of times written without one (``08-21 20:00``); required when the file has such times.
    limits : size, row and column limits (default ``[limits]`` of qingshan.toml).

    Returns
    -------
    ``(raw, findings)``. ``raw`` holds one row per cell with a value (object cells as read): ``point_id``
    (the station's name, else its code), ``sampled_at`` (the year put in), ``parameter`` (code),
    ``value`` (the number without its flag), ``unit`` (from the header, else the platform's), ``flag``
    (``*`` or ``None``), ``status`` (站点情况 as written), ``water_class`` (水质类别 parsed, NaN when none),
    ``station_code`` and ``column`` (the header as written); the index (``row``) is the file's row
    number. ``raw.attrs`` holds ``no_data`` (header → count of cells without a value), ``header_text``
    (field → header as written) and ``rows`` (data rows read). ``findings`` are warnings about the file
    and its rows (no-value counts, columns not imported, unreadable classes, rows of a station out of
    service without values).

    Raises
    ------
    geo.errors.GeoError
        The file cannot be read, lacks the station or time column or every parameter column, or has
        times without a year and none was given (nothing is returned, so nothing can be written).
    """
    limits = limits or Limits.current()
    year = _year(year)
    table = _export_table(src, name, limits)
    cols = {f: c for c, f in table.matched.items()}
    params = [(c, f) for c, f in table.matched.items() if f in PLATFORM_PARAMETERS]
    missing = [_LABELS[f] for f in ("station", "sampled_at") if f not in cols and not (
        f == "station" and "station_code" in cols)]
    if missing or not params:
        what = "、".join(missing + ([] if params else ["监测项目（如 溶解氧(mg/L)）"]))
        raise GeoError(f"不是平台导出的实时数据：缺少列 {what}（表头应含 断面名称、监测时间 及各监测项目）。",
                       f"not a platform export: missing {', '.join(missing + ([] if params else ['parameters']))} "
                       f"(the header holds 断面名称, 监测时间 and the parameters)")
    rows = np.asarray(table.row_numbers, dtype=int)
    # control characters out of every cell imported (station, state, values …): each cleaned cell a warning
    frame, cleaned = lab.without_controls(table.frame, rows, columns=list(table.matched))
    index = pd.Index(rows, name="row")
    station = _texts(frame, cols.get("station"), index)
    code = _texts(frame, cols.get("station_code"), index)
    status = _texts(frame, cols.get("status"), index)
    times = pd.Series(frame[cols["sampled_at"]].to_numpy(dtype=object), index=index, dtype=object)
    times = _dated(times, rows, year, cols["sampled_at"])
    classes, findings = _classes(frame, cols.get("water_class"), index, station)

    # wide → long in one melt: one row per (file row, parameter column)
    headers = [c for c, _ in params]
    wide = pd.DataFrame({c: frame[c].to_numpy(dtype=object) for c in headers}, index=index, dtype=object)
    long = wide.melt(value_vars=headers, var_name="column", value_name="cell", ignore_index=False)
    cells = long["cell"].to_numpy(dtype=object)
    column = long["column"].to_numpy(dtype=object)
    no_value, value, flag = _cells(cells)
    code_of = dict(params)
    units = {c: _header_unit(c) or PLATFORM_PARAMETERS[code_of[c]][2] for c in headers}
    at = index.get_indexer(long.index)  # each cell's file row, as a position
    raw = pd.DataFrame({
        "point_id": station.fillna(code).to_numpy(dtype=object)[at],
        "sampled_at": times.to_numpy(dtype=object)[at],
        "parameter": pd.Series(column).map(code_of).to_numpy(dtype=object),
        "value": value,
        "unit": pd.Series(column).map(units).to_numpy(dtype=object),
        "flag": flag,
        "status": status.to_numpy(dtype=object)[at],
        "water_class": classes.to_numpy(dtype=float)[at],
        "station_code": code.to_numpy(dtype=object)[at],
        "column": column,
    }, index=long.index)
    no_data = pd.Series(no_value, index=long.index).groupby(column).sum()
    no_data = {c: int(no_data.get(c, 0)) for c in headers}
    has_value = pd.Series(~no_value, index=long.index).groupby(level=0).any()
    raw = raw[~no_value].sort_index(kind="stable")
    findings += cleaned + _file_findings(table, cols, params, no_data)
    findings += _idle_rows(status, has_value.reindex(index, fill_value=False), station, cols.get("status"))
    raw.attrs.update(no_data=no_data, rows=len(frame),
                     header_text={"point_id": cols.get("station") or cols.get("station_code"),
                                  "sampled_at": cols["sampled_at"], "water_class": cols.get("water_class")})
    return raw, sorted(findings, key=lambda p: p.row or 0)


def _cells(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(no value, value, flag)`` of each cell: ``--``/``*``/``—``/``/``/blank hold no value; ``0.077*`` is
    the value ``0.077`` with the flag ``*``; anything else is handed on as read (the check judges it).

    Cells that read as numbers (nearly all: one C pass) are values as they are; only the others are
    matched against the patterns.
    """
    number = pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").notna().to_numpy()
    empty = pd.isna(cells)
    other = np.flatnonzero(~number & ~empty)
    txt = pd.Series(cells[other], dtype=object).astype(str).str.normalize("NFKC").str.strip()
    no_value, value, flag = empty.copy(), cells.copy(), np.full(len(cells), None, dtype=object)
    no_value[other] = txt.str.fullmatch(_NO_VALUE).to_numpy(dtype=bool)
    marked = txt.str.extract(f"^{_FLAGGED}$")
    hit = marked[0].notna().to_numpy()
    value[other[hit]] = marked.loc[hit, 0].to_numpy(dtype=object)
    flag[other[hit]] = marked.loc[hit, 1].to_numpy(dtype=object)
    return no_value, value, flag


def _texts(frame: pd.DataFrame, col: str | None, index: pd.Index) -> pd.Series:
    """A column's cells as trimmed text (``None`` where blank); all ``None`` when the column is absent."""
    if col is None:
        return pd.Series(None, index=index, dtype=object)
    s = pd.Series(frame[col].to_numpy(dtype=object), index=index, dtype=object)
    # a column repeats few values (stations, states): each distinct one is trimmed once
    as_text = {v: (None if blank(v) else text(v)) for v in pd.unique(s.dropna())}
    out = s.map(as_text)
    return out.where(out.notna(), None).astype(object)


def _classes(frame, col, index, station) -> tuple[pd.Series, list[Finding]]:
    """水质类别 of each row (NaN where none) and a warning for each that cannot be read."""
    if col is None:
        return pd.Series(np.nan, index=index), []
    cells = _texts(frame, col, index)
    uniq = {v: parse_class(v) for v in pd.unique(cells.dropna())}  # few spellings: parsed once each
    cls = cells.map(uniq).astype(float)
    none = cells.isna() | cells.astype("string").str.normalize("NFKC").str.fullmatch(_NO_VALUE).fillna(False)
    bad = cls.isna() & ~none
    out = [Finding(int(r), station.get(r) or "", col, f"水质类别“{v}”无法识别（应为 Ⅰ–Ⅴ 或 劣Ⅴ），未用于核对",
                   f"water class {v!r} not understood (expected I–V or worse than V); not checked", "warning")
           for r, v in cells[bad].items()]
    return cls, out


def _file_findings(table, cols, params, no_data) -> list[Finding]:
    out = []
    total = sum(no_data.values())
    if total:
        per = "、".join(f"{c} {n:,}" for c, n in no_data.items() if n)
        out.append(Finding(None, "", "", f"无数据 {total:,} 处（--、*、—、/ 或空白，未导入）：{per}",
                           f"{total:,} cell(s) without a value (--, *, —, / or blank; nothing stored): {per}",
                           "warning"))
    known = set(table.matched)
    ignored = [c for c in table.frame.columns if c not in known and not re.fullmatch(r"列\d+(_2)*", str(c))]
    if ignored:
        names = "、".join(map(str, ignored))
        out.append(Finding(None, "", names, f"未识别的列，未导入：{names}", f"column(s) not recognised, not "
                           f"imported: {names}", "warning"))
    return out


def _idle_rows(status: pd.Series, has_value: pd.Series, station: pd.Series, col: str | None) -> list[Finding]:
    """A warning for each row of a station out of normal service (维护, 停运 …) that holds no value."""
    idle = (status.astype("string").str.normalize("NFKC") != NORMAL).fillna(False) & ~has_value
    return [Finding(int(r), station.get(r) or "", col or "站点情况", f"站点情况“{s}”，本行无监测数据",
                    f"station status {s!r}; the row holds no value", "warning") for r, s in status[idle].items()]


# --- checking against the store -----------------------------------------------------------

_UNBOUNDED = dict(max_report_lines=10 ** 12)


def _points(store) -> pd.DataFrame:
    return store["sampling_points"] if isinstance(store, dict) else store.read("sampling_points")


class _PointsOnce:
    """The store with its sampling points read once for the dozen checks of one file (one per column);
    everything else is the store's."""

    def __init__(self, store, points: pd.DataFrame):
        self._store, self._points = store, points

    def read(self, table: str, *args, **kwargs):
        if table == "sampling_points" and not args and not kwargs:
            return self._points
        return self._store.read(table, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._store, name)


def _stations(raw: pd.DataFrame) -> pd.Series:
    """The station of each file row as written (the findings' ``id``)."""
    return raw.groupby(level=0)["point_id"].first()


def _with_ids(raw: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """A station's code stands for it where it is a sampling point's id (else its name is matched)."""
    code = raw["station_code"].astype("string").str.normalize("NFKC").str.strip()
    known = code.isin(set(points["id"].astype(str))).to_numpy()
    if not known.any():
        return raw
    return raw.assign(point_id=np.where(known, code.to_numpy(dtype=object), raw["point_id"].to_numpy(dtype=object)))


def _check(raw: pd.DataFrame, store, limits: Limits) -> tuple[pd.DataFrame, list[Finding]]:
    """Readings that pass (with ``flag``: the station's state and the value's mark) and every finding
    (unbounded), by one :func:`geo.intake.lab.check_readings` per column, so that each finding names the
    column as written."""
    points = _points(store)
    names = _stations(raw)
    header_text = dict(raw.attrs.get("header_text") or {})
    cells = _with_ids(raw, points)
    checked = store if isinstance(store, dict) else _PointsOnce(store, points)
    unbounded = dataclasses.replace(limits, **_UNBOUNDED)
    parts, found = [], []
    for col, sub in cells.groupby("column", sort=False):  # a dozen columns: the cells are checked in each call
        header = {**header_text, "parameter": col, "value": col, "unit": col}
        sub, stored_unit, problem = _bridge_unit(sub, col)
        if problem is not None:
            found.append(problem)
            continue
        got, problems = lab.check_readings(sub[list(lab.REQUIRED)], checked, header_text=header, limits=unbounded)
        if stored_unit is not None:
            got["unit"] = stored_unit
        # the row index is unique within one column: the row's flag and status follow each reading
        parts.append(got.assign(flag=sub["flag"].reindex(got.index).to_numpy(dtype=object),
                                status=sub["status"].reindex(got.index).to_numpy(dtype=object)))
        found += problems
    readings = pd.concat(parts) if parts else lab.empty_readings().assign(flag=None, status=None)
    readings = readings.sort_index(kind="stable")
    readings["flag"] = _flag_text(readings)
    readings = readings.drop(columns=["status"])
    found = _merged(found, names)
    found += _class_contradictions(cells, readings, points, header_text.get("water_class") or "水质类别")
    return readings, sorted(found, key=lambda p: p.row or 0)


def _merged(found: list[Finding], names: pd.Series) -> list[Finding]:
    """One finding per row and message: a finding about the row (unknown station, bad time) comes once per
    column, one about its cells (already stored) once per column it names; the columns are joined, and
    the finding carries the station as written."""
    groups: dict[tuple, list[str]] = {}
    for p in found:
        key = (p.row, p.id or (str(names.get(p.row) or "") if p.row is not None else ""), p.why_zh, p.why,
               p.severity)
        cols = groups.setdefault(key, [])
        if p.column not in cols:
            cols.append(p.column)
    return [Finding(row, id_, "、".join(cols), zh, en, sev) for (row, id_, zh, en, sev), cols in groups.items()]


#: Units of the platform's parameters outside GB 3838 (spelling after NFKC and lower case → the unit stored).
#: ``lab.unit_for`` knows them all; a header unit it does not know refuses the column once here (one finding
#: for the column, not one per hour), instead of a finding on every row.
_OWN_UNITS = {
    "EC": {"μs/cm": "µS/cm", "us/cm": "µS/cm", "微西门子/厘米": "µS/cm"},
    "TURB": {"ntu": "NTU"},
    "ALGAE": {"cells/l": "个/L", "个/l": "个/L", "cell/l": "个/L"},
}
#: A unit lab.unit_for takes at face value (exponent 0) for any parameter without a unit table of its own.
_FACE_VALUE = "mg/L"


def _bridge_unit(sub: pd.DataFrame, col: str) -> tuple[pd.DataFrame, str | None, Finding | None]:
    """A column of a parameter whose unit the lab check does not know yet (EC, TURB, ALGAE): its unit
    checked here, once for the column (it is the header's), and the cells handed on at face value.

    Returns ``(cells, unit to store or None, a finding refusing the column or None)``.
    """
    code = sub["parameter"].iloc[0]
    unit = sub["unit"].iloc[0]
    if code not in _OWN_UNITS or lab.unit_for(code, unit) is not None:
        return sub, None, None
    stored = _OWN_UNITS[code].get(norm_key(unit))
    if stored is None:
        allowed = "、".join(sorted(set(_OWN_UNITS[code].values())))
        return sub, None, Finding(None, "", col, f"{water.STANDARD[code].name}的单位“{unit}”无法识别（可用：{allowed}），"
                                                 f"该列未导入", f"{code}: unknown unit {unit!r}; the column is not "
                                                 f"imported")
    # the value needs no conversion: the lab check sees a unit it takes at face value, the stored unit is set after
    return sub.assign(unit=_FACE_VALUE), stored, None


def _flag_text(readings: pd.DataFrame) -> pd.Series:
    """A reading's flag: the station's state when not 正常, then the value's own mark (``维护；*``); ``None``
    for a normal station's unmarked value."""
    status = readings["status"].astype(object).where(readings["status"].notna(), "").astype(str)
    status = status.where(status.str.normalize("NFKC") != NORMAL, "")
    mark = readings["flag"].astype(object).where(readings["flag"].notna(), "").astype(str)
    joined = status + np.where((status != "") & (mark != ""), "；", "") + mark
    return joined.where(joined != "", None).astype(object)


def _classed_columns(raw: pd.DataFrame) -> int:
    """How many of the file's parameters class a section (the platform's pH, DO, CODMn, NH3-N, TP)."""
    codes = pd.unique(raw["parameter"].dropna())
    return int(sum(bool(water.assessed(c, "river")) for c in codes if c in water.STANDARD))


def _class_contradictions(raw: pd.DataFrame, readings: pd.DataFrame, points: pd.DataFrame,
                          header: str) -> list[Finding]:
    """A warning where 水质类别 contradicts the class the row's own values give (single factor).

    The platform may class an hour on fewer values than a row shows when one is missing, so a better
    computed class contradicts it only when every classed column of the row holds a value; a worse one
    always does (a value of the row lies beyond the class stated).
    """
    stated = raw.groupby(level=0)["water_class"].first().dropna()
    sections = points[points["kind"] == "section"].set_index("id")["waterbody"]
    r = readings[readings["point_id"].isin(sections.index)].reset_index()
    if not len(stated) or not len(r):
        return []
    r["waterbody"] = r["point_id"].map(sections).to_numpy()
    got = water.site_class(r, by="row").set_index("row").reindex(stated.index).dropna(subset=["class"])
    theirs = stated.reindex(got.index)
    contradicts = (got["class"] > theirs) | ((got["class"] < theirs) & (got["n_assessed"] >= _classed_columns(raw)))
    bad = got[contradicts.to_numpy()]
    names = {w: "、".join(water.STANDARD[c].name for c in str(w).split(",") if c in water.STANDARD)
             for w in pd.unique(bad["worst"].fillna(""))}  # few distinct sets of parameters
    return [Finding(int(row), "", header,
                    f"平台水质类别为{water.label(t)}，按本行数值（GB 3838-2002 单因子评价）为{water.label(c)}"
                    f"{'（定类项目：' + names[w] + '）' if names[w] else ''}",
                    f"the platform states {water.label(t)} but the row's values give {water.label(c)} "
                    f"(GB 3838-2002, single factor)", "warning")
            for row, t, c, w in zip(bad.index.tolist(), theirs[contradicts].tolist(), bad["class"].tolist(),
                                    bad["worst"].fillna("").tolist())]


def check_platform(raw: pd.DataFrame, store, *, problems: list[Finding] | None = None,
                   limits: Limits | None = None) -> tuple[pd.DataFrame, list[Finding]]:
    """Check :func:`read_platform`'s cells against the store (:func:`geo.intake.lab.check_readings`).

    Parameters
    ----------
    raw : the long cells of :func:`read_platform`.
    store : a :class:`geo.store.Store` (or a dict of ``sampling_points`` and ``readings`` frames).
    problems : findings already made (those of :func:`read_platform`); the returned list continues it.

    Returns
    -------
    ``(readings, findings)``: the readings that pass (index = row number; ``flag`` as stored) and the
    findings, bounded (the first ``[limits] max_report_lines`` of each kind, then the kind's total).
    ``readings.attrs["check"]`` holds what :func:`geo.intake.lab.write_readings` needs to write the good
    rows only: every row with an error and the counts.
    """
    limits = limits or Limits.current()
    readings, found = _check(raw, store, limits)
    found = sorted([*(problems or []), *found], key=lambda p: p.row or 0)
    readings.attrs["check"] = _facts(raw, found)
    return readings, bounded_findings(found, limits.max_report_lines)


def _facts(raw: pd.DataFrame, found: list[Finding]) -> dict:
    """What the bounded report cannot list (for :func:`geo.intake.lab.write_readings`): every row with an
    error, the rows read and the rows with a duplicate. Cells without a value are no error here: none is
    missing (they are counted apart, :attr:`PlatformImport.no_data`)."""
    return {"rows_read": int(raw.attrs.get("rows", raw.index.nunique())),
            "bad_rows": sorted({p.row for p in found if p.severity == "error" and p.row is not None}),
            "duplicates": lab.rows_of_kind(found, lab.DUPLICATE_WHAT), "missing_values": 0}


# --- writing ------------------------------------------------------------------------------

@dataclass
class PlatformImport(lab.ReadingsImport):
    """What :func:`import_platform` did: :class:`geo.intake.lab.ReadingsImport` (readings, bounded findings,
    true totals; ``rows_read`` counts the file's station-hours), and the platform's own counts."""

    #: Cells without a value (``--``, ``*``, ``—``, ``/``, blank) per column as written: not errors, not stored.
    no_data: dict[str, int] = field(default_factory=dict)

    @property
    def flagged(self) -> int:
        """Readings with a flag (a marked value, or a station not in normal service)."""
        return int(self.readings["flag"].notna().sum()) if "flag" in self.readings.columns else 0

    def summary_zh(self) -> str:
        return (f"{super().summary_zh()}无数据 {sum(self.no_data.values()):,} 处（--、*、—、/ 或空白，不是错误，未导入）；"
                f"带标记的读数 {self.flagged:,} 条。")

    def summary_en(self) -> str:
        return (f"{super().summary_en()}; {sum(self.no_data.values()):,} cell(s) without a value (--, *, —, / or "
                f"blank: not errors, nothing stored); {self.flagged:,} flagged reading(s)")


def import_platform(store, src, *, name: str | None = None, year=None, dry_run: bool = False,
                    skip_bad_rows: bool = False, user: str, limits: Limits | None = None) -> PlatformImport:
    """Read, check and (unless ``dry_run`` or an error) append the platform's readings in one commit.

    Parameters
    ----------
    store : a :class:`geo.store.Store`.
    src, name, year : as :func:`read_platform` (``year`` for times written without one).
    dry_run : check only.
    skip_bad_rows : "good rows only": the file rows with an error are left out (their findings listed
        with severity ``skipped``) and the others written; an error about the whole file still refuses
        it. Default: all or nothing.
    user : who imports (stored in ``readings.recorded_by``).

    Returns
    -------
    PlatformImport

    Raises
    ------
    geo.errors.GeoError
        As :func:`read_platform`: nothing is written.
    """
    if not str(user or "").strip():
        raise GeoError("必须指明导入人。", "name who imports (user)")
    limits = limits or Limits.current()
    raw, findings = read_platform(src, name=name, year=year, limits=limits)
    readings, found = _check(raw, store, limits)
    found = sorted([*findings, *found], key=lambda p: p.row or 0)
    readings.attrs["check"] = _facts(raw, found)
    # the one write of every readings import; it bounds the report and keeps the true totals
    done = lab.write_readings(store, readings, found, dry_run=dry_run, skip_bad_rows=skip_bad_rows,
                              user=str(user).strip())
    return PlatformImport(**{f.name: getattr(done, f.name) for f in dataclasses.fields(lab.ReadingsImport)},
                          no_data=dict(raw.attrs["no_data"]))


# --- monthly section tables ---------------------------------------------------------------

#: Header spellings of the monthly section table (compared as :func:`geo.io.readers.match_headers` does).
SECTION_FIELDS: dict[str, tuple[str, ...]] = {
    "station": ("断面名称", "断面", "监测断面", "点位名称", "站点名称"),
    "station_code": ("断面编码", "断面编号", "点位编号", "站点编码", "point_id"),
    "water_name": ("所在水体", "水体", "所在河流", "河流名称", "河流", "水体名称"),
    "target_class": ("目标类别", "水质目标", "目标水质", "目标水质类别", "考核目标"),
    "water_class": ("本月水质类别", "本月水质", "本月类别", "当月水质类别", "水质类别"),
    "exceeding": ("超标项目(超标倍数)", "超标项目（超标倍数）", "超标项目", "超标项目及超标倍数", "超标因子",
                  "超标指标"),
}
_SECTION_LABELS = {"station": "断面名称", "water_class": "本月水质类别"}
#: Words a monthly table writes instead of a class when a section was not assessed that month.
NOT_ASSESSED = ("断流", "干涸", "停测", "未监测", "未采样", "无数据", "维护", "停运", "冰封")
_MONTH_TITLE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月")
#: Columns of ``section_classes`` (the store's table of official monthly section classes).
SECTION_COLUMNS = ("point_id", "month", "water_class", "target_class", "exceeding", "source", "recorded_by",
                   "recorded_at")


def parse_month(value) -> str | None:
    """A month as ``YYYY-MM`` from ``2026-08``, ``2026-8``, ``2026/08``, ``2026年8月``, ``202608`` or a date;
    ``None`` when it is not one."""
    if blank(value):
        return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        return f"{value.year:04d}-{value.month:02d}"
    s = unicodedata.normalize("NFKC", str(value)).strip()
    m = re.fullmatch(r"(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*月?|(\d{2}))", s)
    if not m:
        return None
    month = int(m[2] or m[3])
    return f"{int(m[1]):04d}-{month:02d}" if 1 <= month <= 12 else None


def _title_months(src, name, limits, first_data_row: int) -> list[str]:
    """The months written above the header (``2026年8月``), in order, without repeats."""
    plain = readers.read_table(src, name=name, formats=("csv", "xlsx"), limits=limits)  # header = first line
    cells = [*plain.frame.columns]
    above = plain.frame[np.asarray(plain.row_numbers) < first_data_row]
    cells += [c for c in above.to_numpy(dtype=object).ravel() if not blank(c)]
    found = [f"{int(m[1]):04d}-{int(m[2]):02d}" for c in cells for m in _MONTH_TITLE.finditer(
        unicodedata.normalize("NFKC", str(c))) if 1 <= int(m[2]) <= 12]
    return list(dict.fromkeys(found))


def read_section_table(src, *, name: str | None = None, month=None, limits: Limits | None = None
                       ) -> tuple[pd.DataFrame, list[Finding]]:
    """A monthly section table as raw cells, with its month.

    Parameters
    ----------
    src, name : a CSV (UTF-8 or GBK) or xlsx: path, bytes or uploaded file, and its name.
    month : the month (``2026-08``); else the one in a title row above the header (``2026年8月``).

    Returns
    -------
    ``(raw, findings)``: ``raw`` has the cells as read (``station``, ``station_code``, ``water_name``,
    ``target_class``, ``water_class``, ``exceeding``; index ``row`` = the file's row number) and
    ``raw.attrs`` ``month`` (``YYYY-MM``), ``header_text`` (field → header as written) and ``source``.

    Raises
    ------
    geo.errors.GeoError
        The file cannot be read or lacks 断面名称 / 本月水质类别; no month is given or written, or the
        month given and the title's disagree, or the title names several months.
    """
    limits = limits or Limits.current()
    src, name = _reusable(src, name, limits)
    table = readers.read_table(src, name=name, aliases=SECTION_FIELDS, formats=("csv", "xlsx"), limits=limits)
    cols = {f: c for c, f in table.matched.items()}
    missing = [_SECTION_LABELS[f] for f in ("station", "water_class") if f not in cols and not (
        f == "station" and "station_code" in cols)]
    if missing:
        raise GeoError(f"不是断面月度水质表：缺少列 {'、'.join(missing)}（表头应含 断面名称、目标类别、本月水质类别、"
                       f"超标项目(超标倍数)）。", f"not a monthly section table: missing {', '.join(missing)}")
    given = parse_month(month) if month is not None else None
    if month is not None and given is None:
        raise GeoError(f"月份“{month}”无效（示例：2026-08）。", f"invalid month {month!r} (e.g. 2026-08)")
    first = int(table.row_numbers[0]) if len(table.row_numbers) else 10 ** 9
    titled = _title_months(src, name, limits, first)
    if len(titled) > 1 and given is None:
        raise GeoError(f"表头上方写有多个月份（{'、'.join(titled)}），请指定月份。",
                       f"the title names several months ({', '.join(titled)}); give the month")
    if given and titled and given not in titled:
        raise GeoError(f"指定的月份 {given} 与表头上方写的 {'、'.join(titled)} 不一致，未导入任何数据。",
                       f"the month given ({given}) differs from the title's ({', '.join(titled)}); nothing imported")
    resolved = given or (titled[0] if titled else None)
    if resolved is None:
        raise GeoError("表中没有写明月份（如标题“2026年8月”），请指定月份（命令行 --month 2026-08）；不会猜测月份。",
                       "the table names no month (a title such as 2026年8月): give it (--month 2026-08); it is "
                       "never guessed")
    index = pd.Index(np.asarray(table.row_numbers, dtype=int), name="row")
    # control characters out of every cell imported (station, 超标项目 …): each cleaned cell a warning
    frame, cleaned = lab.without_controls(table.frame, index, columns=list(table.matched))
    raw = pd.DataFrame({f: (_texts(frame, cols.get(f), index)) for f in SECTION_FIELDS}, index=index)
    raw.attrs.update(month=resolved, source=table.source,
                     header_text={f: cols.get(f) or SECTION_FIELDS[f][0] for f in SECTION_FIELDS})
    return raw, cleaned


def _parameter(name: str) -> str | None:
    """A parameter's code from its name in a table (the platform's names, then the lab vocabulary)."""
    key = norm_key(name)
    for code, (zh, en, _unit) in PLATFORM_PARAMETERS.items():
        if key in {norm_key(s) for s in (code, *zh, *en)}:
            return code
    return lab.parameter_code(name)


def parse_exceeding(cell) -> tuple[list[tuple[str, float | None]], list[str]]:
    """超标项目(超标倍数) as ``([(code, factor)], [items not understood])``.

    ``总磷(0.2)、氨氮(0.5倍)`` → ``([("TP", 0.2), ("NH3-N", 0.5)], [])``; blank, ``无``, ``—`` → ``([], [])``;
    ``总磷`` without a factor → ``[("TP", None)]``. What is stored is the cell as published; this reads it
    to check it against the class.
    """
    if blank(cell):
        return [], []
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(cell)))
    if re.fullmatch(_NO_VALUE, s) or s in ("无", "未超标", "达标"):
        return [], []
    items, bad = [], []
    for token in (t for t in re.split(r"[、,;]+", s) if t):
        m = re.fullmatch(r"(.+?)(?:\(([^()]*)\))?", token)
        code = _parameter(m[1]) if m else None
        factor = parse_number(re.sub(r"倍$", "", m[2])) if m and m[2] is not None else None
        if code is None or (m[2] is not None and factor is None):
            bad.append(token)
        else:
            items.append((code, factor))
    return items, bad


def _point_ids(station: pd.Series, code: pd.Series, points: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """``(id, why)`` per row: the sampling point named by the code or id, else by a unique name; ``why``
    says, for the rows matched by nothing, ``empty``, ``unknown`` or ``ambiguous``."""
    ids = {str(i).strip(): str(i) for i in points["id"]}
    by_name = points.groupby(points["name"].astype(str).str.strip())["id"].agg(list).to_dict()
    key = code.fillna(station).map(lambda v: unicodedata.normalize("NFKC", v).strip(), na_action="ignore")
    name = station.map(lambda v: unicodedata.normalize("NFKC", v).strip(), na_action="ignore")
    by_id = key.map(ids)
    named = name.map(lambda v: by_name.get(v, []), na_action="ignore")
    unique = named.map(lambda v: v[0] if len(v) == 1 else None, na_action="ignore")
    pid = by_id.fillna(unique)
    why = pd.Series(None, index=station.index, dtype=object)
    why[pid.isna() & key.isna()] = "empty"
    why[pid.isna() & key.notna()] = "unknown"
    why[pid.isna() & named.map(lambda v: len(v) > 1, na_action="ignore").fillna(False).astype(bool)] = "ambiguous"
    return pid.astype(object), why


class _TableReport:
    """Findings about the rows of a monthly table, each naming its row, its station and the column as written."""

    def __init__(self, raw: pd.DataFrame):
        self.raw, self.header, self.found = raw, raw.attrs["header_text"], []

    def add(self, mask, field_: str, zh, en, severity: str = "error") -> None:
        """A finding for each row of ``mask``; ``zh``/``en`` are texts or functions of the row's cells."""
        for row in self.raw.index[np.asarray(mask, dtype=bool)]:
            r = self.raw.loc[row]
            self.found.append(Finding(int(row), r["station"] or r["station_code"] or "", self.header[field_],
                                      zh(r) if callable(zh) else zh, en(r) if callable(en) else en, severity))

    def error_rows(self) -> set[int]:
        return {p.row for p in self.found if p.severity == "error"}


def _section_points(rep: _TableReport, points: pd.DataFrame) -> pd.Series:
    """The sampling point of each row (by id, else unique name); unknown, ambiguous and outfalls are errors."""
    pid, why = _point_ids(rep.raw["station"], rep.raw["station_code"], points)
    shown = lambda r: r["station"] or r["station_code"]  # noqa: E731
    rep.add(why == "empty", "station", "断面名称为空", "station name is empty")
    rep.add(why == "unknown", "station", lambda r: f"未知断面“{shown(r)}”（不在监测点位表中）",
            lambda r: f"unknown station {shown(r)!r} (not in sampling_points)")
    rep.add(why == "ambiguous", "station", lambda r: f"名称“{r['station']}”对应多个点位，请改用编号",
            lambda r: f"name {r['station']!r} names several points; use the id")
    kind = pid.map(points.set_index("id")["kind"])
    rep.add(pid.notna() & (kind != "section"), "station", "该点位是排污口，不是断面",
            "this point is an outfall, not a section")
    return pid


def _section_class_cells(rep: _TableReport) -> tuple[pd.Series, pd.Series]:
    """本月水质类别 of each row (NaN where none) and which rows have none (blank, ``—``, 断流 …: no error;
    a word such as 断流 is a warning, a cell not understood an error)."""
    text_ = rep.raw["water_class"].map(lambda v: unicodedata.normalize("NFKC", v).strip(), na_action="ignore")
    empty = text_.isna() | text_.map(lambda v: re.fullmatch(_NO_VALUE, v) is not None, na_action="ignore")
    word = text_.map(lambda v: v.rstrip("类") in NOT_ASSESSED, na_action="ignore")
    empty, word = empty.fillna(False).astype(bool), word.fillna(False).astype(bool)
    cls = text_.map(parse_class, na_action="ignore").astype(float)
    rep.add(word, "water_class", lambda r: f"本月“{r['water_class']}”，无水质类别，未导入",
            lambda r: f"{r['water_class']!r} this month: no class, nothing stored", "warning")
    rep.add(cls.isna() & ~empty & ~word, "water_class", lambda r: f"水质类别“{r['water_class']}”无法识别（应为 Ⅰ–Ⅴ 或 劣Ⅴ）",
            lambda r: f"water class {r['water_class']!r} not understood (I–V or worse than V)")
    return cls, empty | word


def _section_targets(rep: _TableReport, pid: pd.Series, points: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """目标类别 as written (NaN where blank) and the target each row is held to (the table's, else the
    point's); a target other than the point's is a warning (the table is imported as published)."""
    target = rep.raw["target_class"].map(parse_class, na_action="ignore").astype(float)
    rep.add(rep.raw["target_class"].notna() & (target.isna() | (target > 5)), "target_class",
            lambda r: f"目标类别“{r['target_class']}”无效（应为 Ⅰ–Ⅴ）",
            lambda r: f"invalid target class {r['target_class']!r} (I–V)")
    target = target.where(target <= 5)
    stored = pid.map(points.set_index("id")["target_class"]).astype(float)
    rep.add(target.notna() & stored.notna() & (target != stored), "target_class",
            lambda r: f"目标类别{water.label(target[r.name])}与点位表的{water.label(stored[r.name])}不同（按本表导入）",
            lambda r: f"target {water.label(target[r.name])} differs from the point's "
                      f"{water.label(stored[r.name])} (imported as published)", "warning")
    return target, target.fillna(stored)


def _section_exceeding(rep: _TableReport, cls: pd.Series, goal: pd.Series) -> pd.Series:
    """Whether each row lists 超标项目; items not understood, and lists the class contradicts, are warnings."""
    parsed = rep.raw["exceeding"].map(parse_exceeding)  # a few dozen rows: one call each
    listed = parsed.map(lambda t: bool(t[0] or t[1])).astype(bool)
    unread = parsed.map(lambda t: "、".join(t[1]))
    rep.add(unread != "", "exceeding", lambda r: f"超标项目“{unread[r.name]}”无法识别（按原文保存）",
            lambda r: f"exceeding item(s) {unread[r.name]!r} not understood (stored as published)", "warning")
    judged = cls.notna() & goal.notna()
    rep.add(judged & (cls > goal) & ~listed, "exceeding",
            lambda r: f"本月{water.label(cls[r.name])}劣于目标{water.label(goal[r.name])}，但未填超标项目",
            lambda r: f"{water.label(cls[r.name])} is worse than the target {water.label(goal[r.name])} but no "
                      f"item is listed as exceeding", "warning")
    rep.add(judged & (cls <= goal) & listed, "exceeding",
            lambda r: f"本月{water.label(cls[r.name])}达到目标{water.label(goal[r.name])}，却填有超标项目“{r['exceeding']}”",
            lambda r: f"{water.label(cls[r.name])} meets the target {water.label(goal[r.name])} yet items are "
                      f"listed as exceeding", "warning")
    return listed


def _section_duplicates(rep: _TableReport, pid: pd.Series, store, month: str) -> None:
    """A section twice in the table, or already stored for the month: errors."""
    rows = pd.Series(rep.raw.index, index=rep.raw.index)
    dup = (pid.notna() & pid.duplicated(keep="first")).to_numpy()
    first = rows.groupby(pid.fillna("").to_numpy()).transform("first")
    rep.add(dup, "station", lambda r: f"与第{first[r.name]}行重复（同一断面、同一月份）",
            lambda r: f"duplicate of row {first[r.name]} (same section and month)")
    stored = _stored_months(store, month, pid.dropna().unique().tolist())
    rep.add(pid.isin(stored).to_numpy() & ~dup, "station", f"该断面 {month} 的水质类别已在库中（重复导入？）",
            f"this section's class for {month} is already stored (imported twice?)")


def check_section_classes(raw: pd.DataFrame, store, *, user: str, now=None
                          ) -> tuple[pd.DataFrame, list[Finding], dict]:
    """Check a monthly table's rows (:func:`read_section_table`) against the store.

    Returns
    -------
    ``(rows, findings, counts)``: ``rows`` are ``section_classes`` rows (index = row number) of the rows
    without an error; ``findings`` every finding (an unknown, ambiguous or non-section point, a class not
    understood, a duplicate in the table or in the store are errors; a target other than the point's,
    超标项目 not understood or contradicting the class, a section not assessed (断流 …) are warnings);
    ``counts`` ``{"no_data": n}``: rows without a class this month (nothing stored for them).
    """
    month = raw.attrs["month"]
    points = _points(store)
    rep = _TableReport(raw)
    pid = _section_points(rep, points)
    cls, no_class = _section_class_cells(rep)
    target, goal = _section_targets(rep, pid, points)
    listed = _section_exceeding(rep, cls, goal)
    _section_duplicates(rep, pid, store, month)
    good = pid.notna() & cls.notna() & ~raw.index.isin(rep.error_rows())
    rows = pd.DataFrame({
        "point_id": pid[good].astype(str), "month": pd.Timestamp(f"{month}-01"),
        "water_class": cls[good].astype("int64"), "target_class": pd.array(target[good], dtype="Int64"),
        # as published (the contract's "as published, e.g. 总磷(0.2)"); blank and "—" are none
        "exceeding": raw["exceeding"][good].where(listed[good], None),
        "source": raw.attrs.get("source") or "", "recorded_by": user,
        "recorded_at": pd.Timestamp(now or dt.datetime.now().replace(microsecond=0)),
    }, index=raw.index[good], columns=list(SECTION_COLUMNS))
    return rows, sorted(rep.found, key=lambda p: p.row or 0), {"no_data": int(no_class.sum())}


def _stored_months(store, month: str, points: list[str]) -> set[str]:
    """Those of ``points`` whose class for ``month`` is already stored."""
    if not points:
        return set()
    got = store.get("section_classes") if isinstance(store, dict) else store.section_classes(
        points, start=f"{month}-01", end=f"{month}-01")
    if got is None or not len(got):
        return set()
    same = (pd.to_datetime(got["month"]).dt.strftime("%Y-%m") == month).to_numpy()
    return set(got.loc[same, "point_id"].astype(str))


@dataclass
class SectionImport:
    """What :func:`import_section_classes` did: the rows (written, or that would be), the bounded findings
    and the true totals."""

    rows: pd.DataFrame
    findings: list[Finding]
    month: str
    written: bool = False
    #: Rows without a class this month (blank, ``—``, 断流 …): nothing stored for them.
    no_data: int = 0
    errors: int = 0
    warnings: int = 0
    dry_run: bool = False

    @property
    def refused(self) -> bool:
        return self.errors > 0

    def _missed(self) -> int:
        r = self.rows
        return int((r["water_class"] > r["target_class"].astype("Float64").fillna(9)).sum()) if len(r) else 0

    def summary_zh(self) -> str:
        head = (f"{self.month}：{len(self.rows):,} 个断面的水质类别（其中未达目标 {self._missed():,} 个），无类别 "
                f"{self.no_data:,} 个；{self.errors:,} 处错误，{self.warnings:,} 处提示；")
        if self.refused:
            return head + "未写入任何数据（有错误时整个文件都不写入）。"
        if self.dry_run:
            return head + "试运行，未写入。"
        return head + ("已写入。" if self.written else "没有可写入的行，未写入。")

    def summary_en(self) -> str:
        head = (f"{self.month}: classes of {len(self.rows):,} section(s) ({self._missed():,} missing their target), "
                f"{self.no_data:,} without a class; {self.errors:,} error(s), {self.warnings:,} warning(s); ")
        if self.refused:
            return head + "nothing written (a file with errors is not written at all)"
        if self.dry_run:
            return head + "dry run, nothing written"
        return head + ("written" if self.written else "nothing to write")

    def summary(self) -> str:
        return f"{self.summary_zh()} / {self.summary_en()}"


def import_section_classes(store, src, *, month=None, user: str, dry_run: bool = False, name: str | None = None,
                           limits: Limits | None = None) -> SectionImport:
    """Read, check and (unless ``dry_run`` or an error) append a monthly section table to ``section_classes``
    in one commit; any error writes nothing.

    Parameters
    ----------
    store : a :class:`geo.store.Store`.
    src, name, month : as :func:`read_section_table`.
    user : who imports (``recorded_by``).

    Raises
    ------
    geo.errors.GeoError
        As :func:`read_section_table`: nothing is written.
    """
    from ..store import Change

    if not str(user or "").strip():
        raise GeoError("必须指明导入人。", "name who imports (user)")
    limits = limits or Limits.current()
    raw, findings = read_section_table(src, name=name, month=month, limits=limits)
    rows, found, counts = check_section_classes(raw, store, user=str(user).strip())
    found = sorted([*findings, *found], key=lambda p: p.row or 0)
    result = SectionImport(rows, bounded_findings(found, limits.max_report_lines), raw.attrs["month"],
                           no_data=counts["no_data"], errors=total_count(found, "error"),
                           warnings=total_count(found, "warning"), dry_run=dry_run)
    if result.refused or dry_run or not len(rows):
        return result
    store.commit([Change("section_classes", rows.reset_index(drop=True), "append")])
    result.written = True
    return result
