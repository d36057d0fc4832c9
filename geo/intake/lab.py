"""Lab result files (监测报告数据) into ``readings``: parse, check every row, then append in one commit.

A lab file is a CSV (UTF-8 or GBK) or an Excel sheet in long form, one result
per row: point, sampling date-time, parameter, value, unit, and optionally the
detection limit. Headers may be Chinese (点位/监测点, 采样时间, 指标/项目,
数值/结果, 单位, 检出限) or English (point_id, sampled_at, parameter, value,
unit, detection_limit); a title row above the header is skipped.

What labs write, and what we store:

- ``<0.01``, ``＜0.01`` and the national convention ``0.01L`` mean "below the
  detection limit 0.01": stored as ``value`` = 0.01, ``below_detection`` = True
  (the grammar is :func:`geo.io.cells.parse_detection`, shared by every import).
- ``ND`` / ``未检出`` needs the detection limit column; without it the row is
  rejected (we will not invent a limit).
- µg/L is converted to mg/L exactly (decimal arithmetic, so 50 µg/L compares
  equal to the 0.05 mg/L limit).
- Unknown parameters, units, points, dates, duplicates (in the file or
  already in the store) are reported per row with the row number as in the
  file, and then nothing is written — or, when the user chooses "good rows
  only" (``skip_bad_rows``), the other rows are written and every row left
  out is listed.

A province's automatic stations send about 120,000 readings a day. The check
reads the sampling points only: whether a reading is already stored is asked
of the store (:meth:`geo.store.Store.readings_present`, answered in SQL over
the readings key index), so a day's import costs the same whatever the store
holds. A day of the platform (≈ 120,000 rows) fits in ``[limits] max_rows``
(200,000): a file is one day; two days in one file are refused with the limit's
message (import them one day at a time). :class:`ReadingsImport` says what was
done with the true totals, however few findings the bounded report lists.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..datecheck import future_message, future_year
from ..errors import GeoError
from ..io import readers
from ..io.cells import ND_WORDS, blank as _blank, parse_datetime  # noqa: F401 (ND_WORDS re-exported)
from ..io.cells import CONTROLS_REMOVED, strip_controls
from ..io.cells import parse_detection as parse_value
from ..io.limits import Limits
from ..water import STANDARD
from .report import Finding, bounded_findings, report_frame, total_count

# The size, row and column limits of a lab file are ``[limits]`` in qingshan.toml (geo.io.limits).

# --- vocabularies -------------------------------------------------------------------------

#: Header spellings per field (compared after NFKC, lower case, spaces removed).
HEADERS: dict[str, tuple[str, ...]] = {
    "point_id": ("点位", "点位编号", "点位名称", "监测点", "监测点位", "监测点编号", "监测点位编号", "断面", "断面编号",
                 "断面名称", "监测断面", "采样点", "采样点位", "站点", "站点编号", "point_id", "point", "site", "station"),
    "sampled_at": ("采样时间", "采样日期", "采样日期时间", "监测时间", "监测日期", "日期", "时间", "sampled_at",
                   "datetime", "date", "time", "sampling_time"),
    "parameter": ("指标", "项目", "监测项目", "检测项目", "分析项目", "监测指标", "检测指标", "参数", "parameter",
                  "item", "analyte"),
    "value": ("数值", "结果", "监测值", "监测结果", "检测结果", "检测值", "测定值", "浓度", "value", "result"),
    "unit": ("单位", "计量单位", "unit", "units"),
    "detection_limit": ("检出限", "方法检出限", "检出限值", "detection_limit", "dl", "lod", "mdl"),
}
HEADER_LABELS = {"point_id": "点位", "sampled_at": "采样时间", "parameter": "指标", "value": "数值", "unit": "单位",
                 "detection_limit": "检出限"}
REQUIRED = ("point_id", "sampled_at", "parameter", "value", "unit")

_EXTRA_NAMES = {
    "ph值": "pH", "溶解氧(do)": "DO", "高锰酸盐指数(codmn)": "CODMn", "codmn": "CODMn", "高锰酸钾指数": "CODMn",
    "codcr": "COD", "化学需氧量(cod)": "COD", "bod": "BOD5", "生化需氧量": "BOD5", "nh3n": "NH3-N",
    "nh4-n": "NH3-N", "nh4+-n": "NH3-N", "nh3-n": "NH3-N", "氨氮(nh3-n)": "NH3-N", "总磷(以p计)": "TP",
    "总氮(湖、库,以n计)": "TN", "总氮(以n计)": "TN", "氟化物(以f-计)": "F", "氟": "F", "f-": "F", "cr6+": "Cr6",
    "cr(vi)": "Cr6", "铬(六价)": "Cr6", "六价铬(cr6+)": "Cr6", "挥发性酚": "VP", "挥发酚(以苯酚计)": "VP", "酚": "VP",
    "石油": "OIL", "油类": "OIL", "阴离子合成洗涤剂": "LAS", "s2-": "S2", "粪大肠杆菌": "FC", "粪大肠菌群数": "FC",
    "温度": "WT", "水温(℃)": "WT", "t": "WT",
}


def _norm(s) -> str:
    """NFKC (full-width to ASCII, µ to μ), lower case, no spaces; Chinese brackets become ASCII ones."""
    t = unicodedata.normalize("NFKC", str(s)).strip().lower()
    return re.sub(r"\s+", "", t)


#: Parameter spellings → code: the codes themselves, the standard's Chinese names, and lab variants.
PARAMETER_NAMES: dict[str, str] = {
    **{_norm(c): c for c in STANDARD},
    **{_norm(p.name): p.code for p in STANDARD.values()},
    **{_norm(k): v for k, v in _EXTRA_NAMES.items()},
}


def parameter_code(text) -> str | None:
    """The GB 3838 code of a parameter as a lab writes it (``氨氮``, ``NH3-N``, ``CODcr``), else ``None``."""
    t = _norm(text)
    if t in PARAMETER_NAMES:
        return PARAMETER_NAMES[t]
    bare = re.sub(r"\(.*?\)", "", t)  # "氨氮(以N计)" → "氨氮"
    return PARAMETER_NAMES.get(bare)


#: Units accepted per kind of parameter: spelling → (stored unit, decimal exponent applied to the value).
_MASS = {"mg/l": ("mg/L", 0), "毫克/升": ("mg/L", 0), "mg/dm3": ("mg/L", 0),
         "μg/l": ("mg/L", -3), "ug/l": ("mg/L", -3), "微克/升": ("mg/L", -3), "μg/dm3": ("mg/L", -3)}
UNITS: dict[str, dict[str, tuple[str, int]]] = {
    "pH": {"": ("无量纲", 0), "无量纲": ("无量纲", 0), "无": ("无量纲", 0), "-": ("无量纲", 0), "/": ("无量纲", 0),
           "ph": ("无量纲", 0), "ph单位": ("无量纲", 0), "dimensionless": ("无量纲", 0)},
    "WT": {"℃": ("℃", 0), "°c": ("℃", 0), "摄氏度": ("℃", 0), "度": ("℃", 0)},
    "FC": {"个/l": ("个/L", 0), "mpn/l": ("个/L", 0), "cfu/l": ("个/L", 0)},
    # parameters of the automatic stations outside GB 3838 (stored, never classed)
    "EC": {"μs/cm": ("µS/cm", 0), "us/cm": ("µS/cm", 0), "微西门子/厘米": ("µS/cm", 0), "ms/m": ("µS/cm", 1),
           "ms/cm": ("µS/cm", 3)},
    "TURB": {"ntu": ("NTU", 0), "fnu": ("NTU", 0)},
    "ALGAE": {"个/l": ("个/L", 0), "cells/l": ("个/L", 0), "cell/l": ("个/L", 0), "万个/l": ("个/L", 4)},
}


def problems_frame(problems: list[Finding]) -> pd.DataFrame:
    """The per-row report as a table with Chinese headers (the one report of every import)."""
    return report_frame(problems)


def unit_for(code: str, unit_text) -> tuple[str, int] | None:
    """``(stored unit, decimal exponent)`` for a parameter's unit as written, else ``None``."""
    t = "" if _blank(unit_text) else _norm(unit_text)
    table = UNITS.get(code, _MASS)
    return table.get(t)


def without_controls(frame: pd.DataFrame, rows, headers: dict | None = None, columns=None
                     ) -> tuple[pd.DataFrame, list[Finding]]:
    """``frame`` with control characters removed from its text cells (:func:`geo.io.cells.strip_controls`;
    every cell of a readings file is one line), and a warning for each cell cleaned.

    Parameters
    ----------
    frame : cells as read.
    rows : the file row number of each of ``frame``'s rows (in order), for the findings.
    headers : column → header as written (the findings' column; default the column's name).
    columns : the columns to clean (default every column).

    Returns
    -------
    ``(frame, findings)``: ``frame`` itself when no cell held a control character.
    """
    headers = headers or {}
    rows = np.asarray(rows)
    new, found = {}, []
    for col in frame.columns if columns is None else columns:
        before = frame[col]
        cleaned, removed = strip_controls(before)
        if cleaned is not before:
            new[col] = cleaned.to_numpy(dtype=object)
        found += [Finding(int(r), "", str(headers.get(col, col)), *CONTROLS_REMOVED, "warning") for r in rows[removed]]
    if not new:
        return frame, found
    out = frame.copy()
    for col, values in new.items():
        out[col] = pd.Series(values, index=frame.index, dtype=object)
    return out, found


def _parse_times(cells: pd.Series) -> pd.Series:
    """Sampling times (NaT where not understood), each distinct text parsed once."""
    return pd.to_datetime(pd.Series(_by_text(cells, parse_datetime), index=cells.index, dtype=object),
                          errors="coerce")


# --- the whole file -----------------------------------------------------------------------

def _points(store) -> pd.DataFrame:
    """The sampling points rows are matched to: the one table the check reads whole (a few thousand rows)."""
    if isinstance(store, dict):
        return store["sampling_points"]
    return store.read("sampling_points")


def _latest(store):
    """The last sampling day allowed: today, or the ``as_of`` of a replay store (and today)."""
    import datetime as dt

    from ..datecheck import latest_allowed

    today = dt.date.today()
    return latest_allowed(store, today), today


def parse_lab_file(path_or_buffer, store, *, name: str | None = None,
                   limits: Limits | None = None) -> tuple[pd.DataFrame, list[Finding]]:
    """Parse and check a lab file against the store's sampling points and readings.

    Parameters
    ----------
    path_or_buffer : a path, bytes buffer or uploaded file (``.name`` tells CSV from xlsx).
    store : a :class:`geo.store.Store` (or a dict with ``sampling_points`` and ``readings`` frames).
    name : the file name as the user knows it (for uploads saved under another name).
    limits : size, row and column limits (default ``[limits]`` of qingshan.toml); a file over one is
        reported as a problem of the whole file, before it is expanded.

    Returns
    -------
    ``(readings, problems)``: the rows that passed, as ``readings`` rows (index = row number in
    the file), and every problem found. Write only when ``problems`` holds no error.
    """
    limits = limits or Limits.current()
    try:
        # Header: the row among the first rows with the most recognised headers (skips title rows).
        table = readers.read_table(path_or_buffer, name=name, aliases=HEADERS, formats=("csv", "xlsx"),
                                   limits=limits)
    except GeoError as exc:
        return empty_readings(), [Finding(None, "", "", exc.zh, exc.en)]
    cols = {f: c for c, f in table.matched.items()}  # field → header as written
    missing = [f for f in REQUIRED if f not in cols]
    if missing:
        names = "、".join(HEADER_LABELS[f] for f in missing)
        return empty_readings(), [Finding(None, "", ", ".join(missing), f"缺少列：{names}（表头应含 点位、采样时间、指标、数值、单位）",
                                     f"missing column(s): {', '.join(missing)}")]
    raw = pd.DataFrame({f: table.frame[c].to_numpy(dtype=object) for f, c in cols.items()}, dtype=object)
    raw.index = pd.Index(table.row_numbers, name="row")
    return check_readings(raw, store, header_text=dict(cols), limits=limits)


def check_readings(raw: pd.DataFrame, store, *, header_text: dict | None = None, limits: Limits | None = None,
                   problems: list[Finding] | None = None) -> tuple[pd.DataFrame, list[Finding]]:
    """Check readings given as raw cells, one reading a row, against the store (the one check of every
    readings import: lab files, the national platform's exports).

    Parameters
    ----------
    raw : cells as read (object dtype), columns ``point_id``, ``sampled_at``, ``parameter``, ``value``,
        ``unit`` and optionally ``detection_limit``; the index is the row number in the file (``row``).
    store : a :class:`geo.store.Store` (or a dict with ``sampling_points`` and ``readings`` frames). Of a
        store only the sampling points (and ``meta``) are read; whether a reading is already stored is asked
        of it (:meth:`geo.store.Store.readings_present`, in SQL).
    header_text : ``{field: header as written}`` for the report (default: the field names).
    problems : findings already made about the file; the returned list continues it.

    Returns
    -------
    ``(readings, problems)`` as :func:`parse_lab_file`. ``readings.attrs["check"]`` holds what the bounded
    report cannot list (``rows_read``, every row with an error in ``bad_rows``, ``duplicates``,
    ``missing_values``), for :func:`write_readings`.
    """
    limits = limits or Limits.current()
    problems = list(problems or [])
    header_text = dict(header_text or {})
    for f in REQUIRED:
        if f not in raw.columns:
            raw = raw.assign(**{f: None})

    # Column by column (a province's day is 120,000 rows): each cell's verdict is worked out once per
    # distinct text, and findings are made only for the cells that fail; per row they keep the order of
    # the checks (point, time, parameter, value, unit/pH), as the report has always listed them.
    rows = np.asarray(raw.index.tolist(), dtype=np.int64)
    # control characters out of every cell before it is matched or parsed (each cleaned cell a warning)
    raw, cleaned = without_controls(raw, rows, header_text)
    found = _Found(rows, header_text)
    pid = _point_ids(raw["point_id"], _points(store), found)
    limit, today = _latest(store)
    times = _check_times(raw["sampled_at"], limit, today, found)
    code = _by_text(raw["parameter"], lambda p: None if _blank(p) else parameter_code(p))
    for i in np.flatnonzero(pd.isna(code)):
        p = raw["parameter"].iat[i]
        found.add(i, 2, "parameter", "指标为空" if _blank(p) else f"未知指标“{p}”（应为 GB 3838-2002 表1 中的项目）",
                  "parameter is empty" if _blank(p) else f"unknown parameter {p!r} (not in GB 3838-2002 Table 1)")
    kind, num = _check_values(raw, found)
    unit, exp = _check_units(raw["unit"], code, kind, num, found)
    ok = ~found.failed
    problems += cleaned + found.findings()
    value = np.array([float(d) if e == 0 else float(d.scaleb(int(e))) for d, e in zip(num[ok], exp[ok])],
                     dtype=float)
    readings = pd.DataFrame({"point_id": pid[ok], "sampled_at": times[ok], "parameter": code[ok], "value": value,
                             "unit": unit[ok], "below_detection": kind[ok] == "below"},
                            index=pd.Index(rows[ok], name="row"))
    readings["below_detection"] = readings["below_detection"].astype("boolean")
    readings["sampled_at"] = pd.to_datetime(readings["sampled_at"]).astype("datetime64[ms]")
    dups, dup_rows = _duplicates(readings, store, header_text, limits.max_report_lines)
    tallies = [p for p in dups if p.row is None]  # (a kind's total closes the report, as bounded_findings puts it)
    problems += [p for p in dups if p.row is not None]
    problems.sort(key=lambda p: (p.row or 0))
    problems += tallies
    # What the bounded report cannot list, for write_readings: every row with an error, and the counts.
    bad = {p.row for p in problems if p.severity == "error" and p.row is not None}
    readings.attrs["check"] = {
        "rows_read": int(len(raw)),
        "bad_rows": sorted(bad.union(dup_rows.tolist())),
        "duplicates": int(len(dup_rows)),
        "missing_values": int(raw["value"].map(_blank).sum()) if len(raw) else 0,
    }
    # A bounded report: the first N findings of each kind, then the kind's total.
    return readings, bounded_findings(problems, limits.max_report_lines)


class _Found:
    """Findings of a column-by-column check, listed in the order a row-by-row check makes them."""

    def __init__(self, rows: np.ndarray, header_text: dict):
        self.rows, self.header_text = rows, header_text
        self.failed = np.zeros(len(rows), dtype=bool)
        self._items: list[tuple[int, int, Finding]] = []

    def add(self, i: int, order: int, field: str, zh: str, en: str) -> None:
        """A finding about the cell of ``field`` at position ``i`` (``order``: the check's place in a row)."""
        self.failed[i] = True
        self._items.append((int(i), order, Finding(int(self.rows[i]), "", self.header_text.get(field, field), zh, en)))

    def findings(self) -> list[Finding]:
        self._items.sort(key=lambda t: (t[0], t[1]))
        return [f for _, _, f in self._items]


def _by_text(cells: pd.Series, func, parts: int = 1):
    """``func`` of every cell, called once per distinct text (other cells, e.g. a spreadsheet's numbers, one by
    one: ``1`` and ``1.0`` are equal keys but not the same cell); ``parts`` > 1 splits tuple results."""
    arr = cells.to_numpy(dtype=object)
    n = len(arr)
    res = np.empty(n, dtype=object)
    is_text = np.fromiter((type(v) is str for v in arr), dtype=bool, count=n)
    if is_text.any():
        codes, uniq = pd.factorize(arr[is_text])
        per = np.empty(len(uniq), dtype=object)
        for j, u in enumerate(uniq):
            per[j] = func(u)
        res[is_text] = per[codes]
    for i in np.flatnonzero(~is_text):
        res[i] = func(arr[i])
    if parts == 1:
        return res
    out = [np.empty(n, dtype=object) for _ in range(parts)]
    for k in range(parts):
        out[k][:] = [r[k] for r in res]
    return out


def _point_ids(cells: pd.Series, points: pd.DataFrame, found: _Found) -> np.ndarray:
    """The sampling point of each row: by id, else by an unambiguous name (``None`` and a finding if neither)."""
    ids = {str(i).strip(): str(i) for i in points["id"]}
    by_name = points.groupby(points["name"].astype(str).str.strip())["id"].agg(list).to_dict()

    def match(cell):
        pt = None if _blank(cell) else unicodedata.normalize("NFKC", str(cell)).strip()
        pid = ids.get(pt) if pt else None
        if pt and pid is None and len(by_name.get(pt, [])) == 1:
            pid = by_name[pt][0]
        return pt, pid

    pt, pid = _by_text(cells, match, parts=2)
    for i in np.flatnonzero(pd.isna(pid)):
        if not pt[i]:
            found.add(i, 0, "point_id", "点位为空", "point id is empty")
        else:
            found.add(i, 0, "point_id", f"未知点位“{pt[i]}”（不在监测点位表中）",
                      f"unknown point {pt[i]!r} (not in sampling_points)")
    return pid


def _check_times(cells: pd.Series, limit, today, found: _Found) -> np.ndarray:
    """Sampling times (NaT where they fail): understood, not empty, not after ``limit``."""
    times = _parse_times(cells) if len(cells) else pd.Series(dtype="datetime64[ns]")
    nat = times.isna().to_numpy()
    for i in np.flatnonzero(nat):
        v = cells.iat[i]
        if future_year(v):  # beyond pandas' dates: the year 9999
            found.add(i, 1, "sampled_at", *future_message("采样时间", "sampling time", str(v).strip(), limit, today))
        else:
            found.add(i, 1, "sampled_at", "采样时间为空" if _blank(v) else f"采样时间“{v}”无法识别（示例：2007-06-12 09:30）",
                      "sampling time is empty" if _blank(v) else f"sampling time {v!r} not understood")
    # after the day ``limit`` (geo.datecheck.is_future): from the next midnight on
    late = ~nat & (times >= pd.Timestamp(limit) + pd.Timedelta(days=1)).to_numpy()
    for i in np.flatnonzero(late):
        found.add(i, 1, "sampled_at", *future_message("采样时间", "sampling time", times.iat[i], limit, today))
    return times.to_numpy()


def _result(v):
    return parse_value(v) if not _blank(v) else ("empty", None)


def _check_values(raw: pd.DataFrame, found: _Found) -> tuple[np.ndarray, np.ndarray]:
    """Each value's kind (``value``, ``below``, …) and exact number; ND takes the detection limit column's."""
    kind, num = _by_text(raw["value"], _result, parts=2)
    nd = np.flatnonzero(kind == "nd")
    if len(nd):
        dl = raw["detection_limit"].iloc[nd] if "detection_limit" in raw.columns else pd.Series([None] * len(nd))
        dkind, dnum = _by_text(dl, _result, parts=2)
        given = np.array([k in ("value", "below") and d is not None and d > 0 for k, d in zip(dkind, dnum)],
                         dtype=bool)
        kind[nd[given]], num[nd[given]] = "below", dnum[given]
        for i in nd[~given]:
            v = raw["value"].iat[i]
            found.add(i, 3, "value", f"“{v}”为未检出，但没有检出限（请填写检出限列或写成“<检出限”）",
                      f"{v!r} is not detected but no detection limit is given (add a detection limit "
                      f"column or write '<limit')")
    messages = {"empty": lambda v: ("数值为空", "value is empty"),
                "above": lambda v: (f"“{v}”超出测定上限，请填写实测值", f"{v!r} is above the range; give the measured value"),
                "bad": lambda v: (f"“{v}”不是数值", f"{v!r} is not a number")}
    for what, message in messages.items():
        for i in np.flatnonzero(kind == what):
            found.add(i, 3, "value", *message(raw["value"].iat[i]))
    numbered = np.flatnonzero(np.isin(kind, ["value", "below"]))
    numbered = numbered[~np.isin(numbered, nd)]  # (an ND given its limit is not checked again, as before)
    negative = numbered[np.array([num[i] < 0 for i in numbered], dtype=bool)] if len(numbered) else numbered
    for i in negative:
        found.add(i, 3, "value", f"数值 {num[i]} 为负", f"negative value {num[i]}")
    return kind, num


def _check_units(cells: pd.Series, code: np.ndarray, kind: np.ndarray, num: np.ndarray, found: _Found
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's stored unit and decimal exponent (µg/L → mg/L: −3) for its parameter; pH within 0–14."""
    n = len(cells)
    unit, exp = np.full(n, None, dtype=object), np.zeros(n, dtype=np.int64)
    for c in pd.unique(code[~pd.isna(code)]):
        at = np.flatnonzero(code == c)
        got = _by_text(cells.iloc[at], lambda u, c=c: unit_for(c, u))
        unknown = np.array([g is None for g in got], dtype=bool)
        if unknown.any():
            allowed = "、".join(sorted({k for k in UNITS.get(c, _MASS) if k} | ({"μg/L", "mg/L"}
                                if c not in UNITS else set())))
            for i in at[unknown]:
                u = cells.iat[i]
                found.add(i, 4, "unit", (f"{STANDARD[c].name}缺少单位" if _blank(u) else
                                         f"{STANDARD[c].name}的单位“{u}”无法识别") + f"（可用：{allowed}）",
                          f"{c}: " + ("unit missing" if _blank(u) else f"unknown unit {u!r}"))
        known = at[~unknown]
        unit[known] = [g[0] for g in got[~unknown]]
        exp[known] = [g[1] for g in got[~unknown]]
        if c != "pH":
            continue
        for i in known[np.isin(kind[known], ["value", "below"])]:
            if num[i] is None:
                continue
            if kind[i] == "below":
                found.add(i, 4, "value", "pH 不能写成低于检出限", "pH cannot be below a detection limit")
            elif not (0 <= num[i] <= 14):
                found.add(i, 4, "value", f"pH {num[i]} 超出 0–14", f"pH {num[i]} outside 0–14")
    return unit, exp


def _duplicates(new: pd.DataFrame, store, header_text: dict, limit: int) -> tuple[list[Finding], np.ndarray]:
    """The same point, time and parameter twice in the file, or already in the store: findings, and the
    rows they are about (each once).

    Findings are made for the first ``limit`` rows of each kind only, then one line with the kind's
    total (as :func:`geo.intake.report.bounded_findings` would cut them): a day imported twice is 120,000
    duplicates, and the report lists a few of them. The store is asked which keys it holds
    (:meth:`geo.store.Store.readings_present`, in SQL); a dict of frames is asked in pandas
    (:func:`geo.store.readings_sql.readings_present` on its ``readings``).
    """
    from ..store import readings_sql
    from .report import _kind, _more

    key = list(readings_sql.READING_KEY)
    column = header_text.get("parameter", "parameter")
    if not len(new):
        return [], np.array([], dtype=np.int64)
    k = new[key].reset_index()
    dup = k.duplicated(key, keep="first").to_numpy()
    # each row's first row with the same key: one grouping, not a search per duplicate
    first = k.groupby(key, sort=False, dropna=False)["row"].transform("first").to_numpy()
    rows = k["row"].to_numpy()
    keys = k[key]
    if isinstance(store, dict):
        old = store.get("readings")
        hit = readings_sql.readings_present(old, keys) if old is not None and len(old) else keys.iloc[:0]
    else:
        hit = store.readings_present(keys)
    stored = rows[hit.index.to_numpy()]  # keys' index is the position in k

    def kind(at, make) -> list[Finding]:
        out = [make(i) for i in at[:limit]]
        if len(at) > limit:
            out.append(_more(_kind(out[0]), len(at) - limit, len(at)))
        return out

    out = kind(np.flatnonzero(dup), lambda i: Finding(
        int(rows[i]), "", column, f"与第{int(first[i])}行重复（同一点位、时间、指标）",
        f"duplicate of row {int(first[i])} (same point, time and parameter)"))
    out += kind(stored, lambda r: Finding(int(r), "", column, "该点位该时间的此指标已在库中（重复导入？）",
                                          "this point, time and parameter is already stored (imported twice?)"))
    return out, np.unique(np.concatenate([rows[dup], stored]))


def empty_readings() -> pd.DataFrame:
    df = pd.DataFrame({"point_id": pd.Series(dtype=object), "sampled_at": pd.Series(dtype="datetime64[ms]"),
                       "parameter": pd.Series(dtype=object), "value": pd.Series(dtype=float),
                       "unit": pd.Series(dtype=object), "below_detection": pd.Series(dtype="boolean")})
    df.index.name = "row"
    return df


# --- writing ------------------------------------------------------------------------------

#: A bounded report's closing line for a kind (geo.intake.report): "另有 N 处同类问题未列出（“kind”共 M 处）".
_TALLY = re.compile(r"另有 ([\d,]+) 处同类问题未列出（“(.*)”共 ([\d,]+) 处）")
DUPLICATE_WHAT = ("重复（同一点位、时间、指标）", "已在库中")
_MISSING_WHAT = ("数值为空",)


@dataclass
class ReadingsImport:
    """What a readings import did (:func:`write_readings`), with the true totals.

    ``findings`` is the bounded report (the first ``[limits] max_report_lines`` of each kind, then the
    kind's total); the counts are of every row and every finding. Unpacks as ``(readings, findings,
    written)``, what :func:`import_lab_file` returned before.
    """

    #: The readings written (or, on a dry run or a refusal, those that passed: what would be written).
    readings: pd.DataFrame
    findings: list[Finding]
    written: bool = False
    #: Data rows of the file (one reading a row for a lab file).
    rows_read: int = 0
    #: Readings appended to the store (0 unless ``written``).
    rows_written: int = 0
    #: Rows left out by "good rows only" (``skip_bad_rows``), every one in ``skipped_rows``.
    rows_skipped: int = 0
    #: Rows whose reading repeats another row of the file or a stored reading.
    duplicates: int = 0
    #: Rows without a value.
    missing_values: int = 0
    #: Findings of each severity, counting those the bounded report only counts.
    errors: int = 0
    warnings: int = 0
    #: Rows with at least one error.
    bad_rows: int = 0
    skipped_rows: list[int] = field(default_factory=list)
    dry_run: bool = False
    skip_bad_rows: bool = False
    #: A finding about the whole file (a missing column, a limit): nothing can be imported.
    file_error: bool = False

    def __iter__(self):
        return iter((self.readings, self.findings, self.written))

    @property
    def counts(self) -> dict[str, int]:
        return {"rows_read": self.rows_read, "rows_written": self.rows_written, "rows_skipped": self.rows_skipped,
                "duplicates": self.duplicates, "missing_values": self.missing_values, "errors": self.errors,
                "warnings": self.warnings, "bad_rows": self.bad_rows}

    @property
    def refused(self) -> bool:
        """Nothing was written because of errors (all or nothing, or an error about the whole file)."""
        return not self.written and (self.file_error or (self.errors > 0 and not self.skip_bad_rows))

    def skipped_text(self) -> str:
        """Every skipped row number, runs as ranges: ``3、7–9、15``."""
        return _ranges(self.skipped_rows)

    def summary_zh(self) -> str:
        head = (f"读取 {self.rows_read:,} 行，{self.errors:,} 处错误（{self.bad_rows:,} 行有错误；重复 "
                f"{self.duplicates:,} 行，缺少数值 {self.missing_values:,} 行），{self.warnings:,} 处提示；")
        n, skip = len(self.readings), self.rows_skipped
        if self.file_error:
            return head + "文件本身有错误，未写入任何数据。"
        if self.refused:
            return head + "未写入任何数据（有错误时整个文件都不写入；可选择只导入无误的行）。"
        skipped = f"，跳过有错误的行 {skip:,} 行" if skip else ""
        if self.dry_run:
            return head + f"可写入 {n:,} 条读数{skipped}；试运行，未写入。"
        if not self.written:
            return head + "没有可写入的读数，未写入任何数据。"
        return head + f"已写入 {self.rows_written:,} 条读数{skipped}。"

    def summary_en(self) -> str:
        head = (f"read {self.rows_read:,} rows: {self.errors:,} error(s) ({self.bad_rows:,} row(s) with errors; "
                f"{self.duplicates:,} duplicate(s), {self.missing_values:,} missing value(s)), "
                f"{self.warnings:,} warning(s); ")
        n, skip = len(self.readings), self.rows_skipped
        if self.file_error:
            return head + "the file itself is wrong; nothing written"
        if self.refused:
            return head + "nothing written (a file with errors is not written at all; or import the good rows only)"
        skipped = f", {skip:,} row(s) with errors skipped" if skip else ""
        if self.dry_run:
            return head + f"{n:,} reading(s) would be written{skipped}; dry run, nothing written"
        if not self.written:
            return head + "no readings to write; nothing written"
        return head + f"{self.rows_written:,} reading(s) written{skipped}"

    def summary(self) -> str:
        """The outcome with the true totals, in Chinese then English."""
        return f"{self.summary_zh()} / {self.summary_en()}"


def shorter_report(findings: list[Finding], per_kind: int) -> list[Finding]:
    """A bounded report cut to ``per_kind`` findings of each kind, each kind's closing line still counting
    every finding of the kind (the command line prints a few of each kind)."""
    from .report import _kind, _more

    tallies, listed = {}, []
    for p in findings:
        m = _TALLY.match(p.why_zh) if p.row is None else None
        if m:
            tallies[(p.severity, p.column, m.group(2))] = int(m.group(1).replace(",", ""))
        else:
            listed.append(p)
    seen: dict = {}
    out = []
    for p in listed:
        k = _kind(p)
        seen[k] = seen.get(k, 0) + 1
        if seen[k] <= per_kind:
            out.append(p)
    for k in dict.fromkeys([*seen, *tallies]):
        n, omitted = seen.get(k, 0), tallies.get(k, 0)
        if n > per_kind or omitted:
            out.append(_more(k, n - min(n, per_kind) + omitted, n + omitted))
    return out


def _ranges(rows) -> str:
    """Row numbers as runs: ``[3, 7, 8, 9, 15]`` → ``3、7–9、15``."""
    r = np.unique(np.asarray(list(rows), dtype=np.int64))
    if not len(r):
        return ""
    breaks = np.flatnonzero(np.diff(r) != 1)
    starts, ends = r[np.r_[0, breaks + 1]], r[np.r_[breaks, len(r) - 1]]
    return "、".join(str(a) if a == b else f"{a}–{b}" for a, b in zip(starts.tolist(), ends.tolist()))


def rows_of_kind(findings, what: tuple[str, ...]) -> int:
    """Rows whose finding is of a kind whose message contains one of ``what``, counting a bounded report's
    omitted ones (each finding of these kinds is about one row)."""
    rows, omitted = set(), 0
    for p in findings:
        m = _TALLY.match(p.why_zh) if p.row is None else None
        if m and any(w in m.group(2) for w in what):
            omitted += int(m.group(1).replace(",", ""))
        elif p.row is not None and any(w in p.why_zh for w in what):
            rows.add(p.row)
    return len(rows) + omitted


def write_readings(store, readings: pd.DataFrame, problems: list[Finding], *, dry_run: bool = False,
                   skip_bad_rows: bool = False, user: str | None = None) -> ReadingsImport:
    """Append checked readings in one commit: all or nothing, or the good rows only.

    The one write of every readings import (lab files, the national platform's exports).

    Parameters
    ----------
    store : a :class:`geo.store.Store`.
    readings : the rows that passed :func:`check_readings` (index = row number in the file; a row may give
        several readings). Its contract columns are written (``flag`` among them when present).
    problems : every finding about the file (as :func:`check_readings` returns them, bounded or not).
    dry_run : check only; nothing is written.
    skip_bad_rows : "good rows only": the rows with an error are left out (their errors reported with
        severity ``skipped``, every row number in ``skipped_rows``) and the others written. An error about
        the whole file still refuses it. Default: any error, nothing written.
    user : who imports; stored in ``recorded_by`` when given.

    Returns
    -------
    ReadingsImport
        The counts are true even where the report lists only the first findings of a kind:
        :func:`check_readings` leaves the rows with errors and its counts in ``readings.attrs["check"]``;
        without them they are read from ``problems`` (a bounded report's totals included).

    Raises
    ------
    geo.errors.StoreError
        When the commit fails (e.g. another import stored the same readings meanwhile: the readings key is
        unique in the store); nothing is written.
    """
    from ..store import Change

    facts = dict(readings.attrs.get("check") or {})
    limits = Limits.current()
    listed = [p for p in problems if p.severity == "error"]
    bad = sorted({p.row for p in listed if p.row is not None} | set(facts.get("bad_rows", ())))
    file_error = any(p.row is None and not _TALLY.match(p.why_zh) for p in listed)
    rows_read = facts.get("rows_read", len(set(readings.index.tolist()) | set(bad)))
    # Without the check's facts, a bounded report's omitted errors have no row numbers: the rows to leave
    # out are not all known, so "good rows only" cannot be honoured (all or nothing instead).
    if skip_bad_rows and not facts and any(p.row is None and _TALLY.match(p.why_zh) for p in listed):
        skip_bad_rows = False
    result = ReadingsImport(
        readings, list(problems), rows_read=int(rows_read), errors=total_count(problems, "error"),
        warnings=total_count(problems, "warning"), bad_rows=len(bad),
        duplicates=int(facts.get("duplicates", rows_of_kind(problems, DUPLICATE_WHAT))),
        missing_values=int(facts.get("missing_values", rows_of_kind(problems, _MISSING_WHAT))),
        dry_run=dry_run, skip_bad_rows=skip_bad_rows, file_error=file_error)
    if file_error or ((result.errors or bad) and not skip_bad_rows):
        result.findings = bounded_findings(problems, limits.max_report_lines)
        return result
    good = readings[~readings.index.isin(bad)] if bad else readings
    if bad:
        result.skipped_rows, result.rows_skipped = bad, len(bad)
        skipped = [replace(p, severity="skipped") if p.severity == "error" else p for p in problems]
        note = Finding(None, "", "", f"按“只导入无误的行”跳过 {len(bad):,} 行（均列于报告，级别“已跳过”）："
                                     f"第 {_ranges(bad)} 行",
                       f"'good rows only': {len(bad):,} row(s) with errors left out (listed as skipped): "
                       f"rows {_ranges(bad).replace('、', ', ')}", "warning")
        problems = [note, *skipped]
    result.readings = good
    result.findings = bounded_findings(problems, limits.max_report_lines)
    if dry_run or not len(good):
        return result
    rows = _stored_columns(good, user)
    store.commit([Change("readings", rows, "append")])
    result.written, result.rows_written = True, len(rows)
    return result


def _stored_columns(readings: pd.DataFrame, user: str | None) -> pd.DataFrame:
    """The readings' contract columns (helper columns of an importer are not stored), and who imports."""
    from ..contract import TABLES

    names = TABLES["readings"].column_names
    rows = readings[[c for c in names if c in readings.columns]].reset_index(drop=True)
    if user is not None and str(user).strip():
        rows = rows.assign(recorded_by=str(user).strip())
    return rows


def import_lab_file(store, path_or_buffer, *, name: str | None = None, dry_run: bool = False,
                    skip_bad_rows: bool = False, user: str | None = None) -> ReadingsImport:
    """Parse, check and (unless ``dry_run`` or any error) append the readings in one commit.

    ``skip_bad_rows`` writes the good rows and lists every row left out; by default a file with any error
    writes nothing. ``user`` is recorded in ``recorded_by``. See :func:`write_readings`; the result
    unpacks as ``(readings, problems, written)``.
    """
    readings, problems = parse_lab_file(path_or_buffer, store, name=name)
    return write_readings(store, readings, problems, dry_run=dry_run, skip_bad_rows=skip_bad_rows, user=user)
