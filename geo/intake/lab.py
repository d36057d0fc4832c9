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
  file, and then nothing is written.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import asdict, dataclass

import pandas as pd

from ..datecheck import future_message, future_year, is_future
from ..errors import GeoError
from ..io import readers
from ..io.cells import ND_WORDS, blank as _blank, parse_datetime  # noqa: F401 (ND_WORDS re-exported)
from ..io.cells import parse_detection as parse_value
from ..io.limits import Limits, bounded
from ..water import STANDARD
from .report import Finding, bounded_findings, report_frame

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
}


def problems_frame(problems: list[Finding]) -> pd.DataFrame:
    """The per-row report as a table with Chinese headers (the one report of every import)."""
    return report_frame(problems)


def unit_for(code: str, unit_text) -> tuple[str, int] | None:
    """``(stored unit, decimal exponent)`` for a parameter's unit as written, else ``None``."""
    t = "" if _blank(unit_text) else _norm(unit_text)
    table = UNITS.get(code, _MASS)
    return table.get(t)


def _parse_times(cells: pd.Series) -> pd.Series:
    parsed = functools.lru_cache(maxsize=4096)(parse_datetime)
    return pd.to_datetime(cells.map(lambda v: parsed(v) if isinstance(v, str) else parse_datetime(v)),
                          errors="coerce")


# --- the whole file -----------------------------------------------------------------------

def _frames(store) -> dict[str, pd.DataFrame]:
    if isinstance(store, dict):
        return store
    return {t: store.read(t) for t in ("sampling_points", "readings")}


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
    problems: list[Finding] = []
    limits = limits or Limits.current()
    try:
        # Header: the row among the first rows with the most recognised headers (skips title rows).
        table = readers.read_table(path_or_buffer, name=name, aliases=HEADERS, formats=("csv", "xlsx"),
                                   limits=limits)
    except GeoError as exc:
        return _empty(), [Finding(None, "", "", exc.zh, exc.en)]
    cols = {f: c for c, f in table.matched.items()}  # field → header as written
    missing = [f for f in REQUIRED if f not in cols]
    if missing:
        names = "、".join(HEADER_LABELS[f] for f in missing)
        return _empty(), [Finding(None, "", ", ".join(missing), f"缺少列：{names}（表头应含 点位、采样时间、指标、数值、单位）",
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
    store : a :class:`geo.store.Store` (or a dict with ``sampling_points`` and ``readings`` frames).
    header_text : ``{field: header as written}`` for the report (default: the field names).
    problems : findings already made about the file; the returned list continues it.

    Returns
    -------
    ``(readings, problems)`` as :func:`parse_lab_file`.
    """
    limits = limits or Limits.current()
    problems = list(problems or [])
    header_text = dict(header_text or {})
    for f in REQUIRED:
        if f not in raw.columns:
            raw = raw.assign(**{f: None})

    def bad(row, field, zh, en):
        problems.append(Finding(int(row), "", header_text.get(field, field), zh, en))

    frames = _frames(store)
    _code = functools.lru_cache(maxsize=None)(lambda t: parameter_code(t))
    _unit = functools.lru_cache(maxsize=None)(lambda c, u: unit_for(c, u))
    points = frames["sampling_points"]
    ids = {str(i).strip(): str(i) for i in points["id"]}
    by_name = points.groupby(points["name"].astype(str).str.strip())["id"].agg(list).to_dict()
    limit, today = _latest(store)
    times = _parse_times(raw["sampled_at"]) if len(raw) else pd.Series(dtype="datetime64[ns]")
    out = []
    # plain dicts: a pandas row per iteration costs ~0.5 ms, too much for a year of lab results
    for row, cells, when in zip(raw.index.tolist(), raw.to_dict("records"), times.tolist()):
        ok = True
        # point: by id, else by an unambiguous name
        pt = None if _blank(cells["point_id"]) else unicodedata.normalize("NFKC", str(cells["point_id"])).strip()
        pid = ids.get(pt) if pt else None
        if pt and pid is None and len(by_name.get(pt, [])) == 1:
            pid = by_name[pt][0]
        if pid is None:
            ok = False
            if not pt:
                bad(row, "point_id", "点位为空", "point id is empty")
            else:
                bad(row, "point_id", f"未知点位“{pt}”（不在监测点位表中）", f"unknown point {pt!r} (not in sampling_points)")
        if pd.isna(when) and future_year(cells["sampled_at"]):  # beyond pandas' dates: the year 9999
            ok = False
            bad(row, "sampled_at", *future_message("采样时间", "sampling time", str(cells["sampled_at"]).strip(),
                                                   limit, today))
        elif pd.isna(when):
            ok = False
            v = cells["sampled_at"]
            bad(row, "sampled_at", "采样时间为空" if _blank(v) else f"采样时间“{v}”无法识别（示例：2007-06-12 09:30）",
                "sampling time is empty" if _blank(v) else f"sampling time {v!r} not understood")
        elif is_future(when, limit):
            ok = False
            bad(row, "sampled_at", *future_message("采样时间", "sampling time", when, limit, today))
        code = None if _blank(cells["parameter"]) else _code(cells["parameter"])
        if code is None:
            ok = False
            p = cells["parameter"]
            bad(row, "parameter", "指标为空" if _blank(p) else f"未知指标“{p}”（应为 GB 3838-2002 表1 中的项目）",
                "parameter is empty" if _blank(p) else f"unknown parameter {p!r} (not in GB 3838-2002 Table 1)")
        kind, num = parse_value(cells["value"]) if not _blank(cells["value"]) else ("empty", None)
        if kind == "nd":
            dl = cells.get("detection_limit")
            dkind, dnum = parse_value(dl) if not _blank(dl) else ("empty", None)
            if dkind in ("value", "below") and dnum is not None and dnum > 0:
                kind, num = "below", dnum
            else:
                ok = False
                bad(row, "value", f"“{cells['value']}”为未检出，但没有检出限（请填写检出限列或写成“<检出限”）",
                    f"{cells['value']!r} is not detected but no detection limit is given (add a detection limit "
                    f"column or write '<limit')")
        elif kind == "empty":
            ok = False
            bad(row, "value", "数值为空", "value is empty")
        elif kind == "above":
            ok = False
            bad(row, "value", f"“{cells['value']}”超出测定上限，请填写实测值", f"{cells['value']!r} is above the range; "
                                                                   f"give the measured value")
        elif kind == "bad":
            ok = False
            bad(row, "value", f"“{cells['value']}”不是数值", f"{cells['value']!r} is not a number")
        elif num is not None and num < 0:
            ok = False
            bad(row, "value", f"数值 {num} 为负", f"negative value {num}")
        unit = None
        if code is not None:
            unit = _unit(code, cells["unit"])
            if unit is None:
                ok = False
                u = cells["unit"]
                allowed = "、".join(sorted({k for k in UNITS.get(code, _MASS) if k} | ({"μg/L", "mg/L"}
                                    if code not in UNITS else set())))
                bad(row, "unit", (f"{STANDARD[code].name}缺少单位" if _blank(u) else
                                  f"{STANDARD[code].name}的单位“{u}”无法识别") + f"（可用：{allowed}）",
                    f"{code}: " + ("unit missing" if _blank(u) else f"unknown unit {u!r}"))
            elif code == "pH" and kind in ("value", "below") and num is not None:
                if kind == "below":
                    ok = False
                    bad(row, "value", "pH 不能写成低于检出限", "pH cannot be below a detection limit")
                elif not (0 <= num <= 14):
                    ok = False
                    bad(row, "value", f"pH {num} 超出 0–14", f"pH {num} outside 0–14")
        if ok:
            stored, exp = unit
            out.append(dict(row=row, point_id=pid, sampled_at=when, parameter=code,
                            value=float(num.scaleb(exp)), unit=stored, below_detection=(kind == "below")))
    readings = pd.DataFrame(out, columns=["row", "point_id", "sampled_at", "parameter", "value", "unit",
                                          "below_detection"]).set_index("row")
    readings["below_detection"] = readings["below_detection"].astype("boolean")
    readings["sampled_at"] = pd.to_datetime(readings["sampled_at"]).astype("datetime64[ms]")
    problems += _duplicates(readings, frames["readings"], header_text)
    problems.sort(key=lambda p: (p.row or 0))
    # A bounded report: the first N findings of each kind, then the kind's total.
    return readings, bounded_findings(problems, limits.max_report_lines)


def _duplicates(new: pd.DataFrame, old: pd.DataFrame, header_text: dict) -> list[Finding]:
    """The same point, time and parameter twice in the file, or already in the store."""
    out = []
    key = ["point_id", "sampled_at", "parameter"]
    if not len(new):
        return out
    k = new[key].reset_index()
    dup = k.duplicated(key, keep="first")
    for _, r in k[dup].iterrows():
        first = int(k[(k[key] == r[key]).all(axis=1)]["row"].iloc[0])
        out.append(Finding(int(r["row"]), "", header_text.get("parameter", "parameter"),
                              f"与第{first}行重复（同一点位、时间、指标）",
                              f"duplicate of row {first} (same point, time and parameter)"))
    if len(old):
        o = old[key].assign(sampled_at=pd.to_datetime(old["sampled_at"]).astype("datetime64[ms]"))
        hit = k.merge(o.drop_duplicates(), on=key, how="inner")
        for _, r in hit.iterrows():
            out.append(Finding(int(r["row"]), "", header_text.get("parameter", "parameter"),
                                  "该点位该时间的此指标已在库中（重复导入？）",
                                  "this point, time and parameter is already stored (imported twice?)"))
    return out


def _empty() -> pd.DataFrame:
    df = pd.DataFrame({"point_id": pd.Series(dtype=object), "sampled_at": pd.Series(dtype="datetime64[ms]"),
                       "parameter": pd.Series(dtype=object), "value": pd.Series(dtype=float),
                       "unit": pd.Series(dtype=object), "below_detection": pd.Series(dtype="boolean")})
    df.index.name = "row"
    return df


def import_lab_file(store, path_or_buffer, *, name: str | None = None, dry_run: bool = False
                    ) -> tuple[pd.DataFrame, list[Finding], bool]:
    """Parse, check and (unless ``dry_run`` or any error) append the readings in one commit.

    Returns ``(readings, problems, written)``.
    """
    from ..store import Change

    readings, problems = parse_lab_file(path_or_buffer, store, name=name)
    errors = [p for p in problems if p.severity == "error"]
    if errors or dry_run or not len(readings):
        return readings, problems, False
    store.commit([Change("readings", readings.reset_index(drop=True), "append")])
    return readings, problems, True

