"""Outfalls judged against discharge limits: GB 8978-1996 污水综合排放标准, or the plant's permit.

GB 3838-2002 classes describe a river or a lake; an outfall's wastewater is judged against the discharge
standard that applies to it (DOMAIN.md). The standard is data (``data/standards/gb8978_1996.toml``, read into
:data:`STANDARD`): Table 1 (first-class pollutants, one limit whatever the grade) and Table 4 (second-class
pollutants for units built after 1 January 1998, by grade 一级 / 二级 / 三级).

- The grade of an outfall is ``sampling_points.discharge_grade`` (1–3) when set, else it follows from the
  receiving water (:func:`default_grade`: GB 3838 class Ⅰ–Ⅲ → 一级, Ⅳ–Ⅴ → 二级, §4.1 of the standard).
- ``sampling_points.permit_limits`` (``COD=80; NH3-N=10; pH=6-9``) overrides the standard parameter by
  parameter (a plant's discharge permit may be stricter, or cover an industry row of Table 4).
- :func:`judge` says 达标 / 超标 for each reading with the exceedance multiple as the standard practice
  computes it: 超标倍数 = (C − C0) / C0 (C the measured concentration, C0 the limit); a reading at the limit
  is 达标. pH outside its range is 超标 without a multiple.
- :func:`latest_outfalls` is what the water page, the wall, the briefing and the site file show for outfalls:
  the latest sampling of every outfall, 达标 or 超标, and which parameters exceed by how much
  (:func:`latest_sampling`: the same sampling reading by reading).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .contract import parse_permit  # noqa: F401  (re-exported: the permit format belongs to the contract)
from .errors import GeoError
from .fmt import multiple as fmt_multiple, plain

TABLE_PATH = Path(__file__).resolve().parent.parent / "data" / "standards" / "gb8978_1996.toml"
GRADES = (1, 2, 3)
GRADE_LABELS = {1: "一级", 2: "二级", 3: "三级"}
#: Verdicts shown to people.
MEETS, EXCEEDS, NO_LIMIT, UNDETERMINED, NO_DATA = "达标", "超标", "无限值", "无法判定", "无数据"


@dataclass(frozen=True)
class Limit:
    """One parameter of GB 8978-1996.

    ``table`` 1 or 4 and ``item`` (序号) cite the row; ``grades`` holds the limits of 一级/二级/三级
    (``None`` where the standard has "—"); pH has ``low``/``high`` instead (same range for all grades).
    """

    code: str
    name: str
    table: int
    item: int
    unit: str = "mg/L"
    grades: tuple[float | None, float | None, float | None] = (None, None, None)
    low: float | None = None
    high: float | None = None
    row: str = ""

    @property
    def is_range(self) -> bool:
        return self.low is not None

    def limit(self, grade: int) -> float | None:
        """Upper limit at ``grade`` (1–3); ``None`` where the standard gives none."""
        return self.grades[int(grade) - 1] if 1 <= int(grade) <= 3 else None

    def cite(self, grade: int | None = None) -> str:
        """``GB 8978-1996 表4 第5项（其他排污单位）一级``."""
        row = f"（{self.row}）" if self.row else ""
        g = "" if self.table == 1 or grade is None else GRADE_LABELS.get(int(grade), "")
        return f"{CODE} 表{self.table} 第{self.item}项{row}{g}"


def _load(path: Path = TABLE_PATH) -> tuple[dict, dict[str, Limit]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, Limit] = {}
    for r in data.get("table1", []):
        v = float(r["limit"])
        out[r["code"]] = Limit(r["code"], r["name"], 1, int(r["item"]), r.get("unit", "mg/L"), (v, v, v),
                               row=r.get("row", ""))
    for r in data.get("table4", []):
        if "range" in r:
            lo, hi = (float(x) for x in r["range"])
            out[r["code"]] = Limit(r["code"], r["name"], 4, int(r["item"]), r.get("unit", "mg/L"), low=lo, high=hi,
                                   row=r.get("row", ""))
        else:
            g = tuple(float(r[k]) if k in r else None for k in ("grade1", "grade2", "grade3"))
            out[r["code"]] = Limit(r["code"], r["name"], 4, int(r["item"]), r.get("unit", "mg/L"), g,
                                   row=r.get("row", ""))
    return data["standard"], out


META, STANDARD = _load()
CODE = META["code"]
TITLE = f"{META['code']} {META['name']}"
#: The rule in one line, for captions and file headers.
RULE = (f"排污口按 {TITLE} 判定（表1第一类污染物；表4第二类污染物，1998年1月1日后建设的单位，按受纳水体分级："
        "Ⅲ类水域执行一级，Ⅳ、Ⅴ类执行二级），有排污许可限值的以许可为准；超标倍数 =（实测浓度 − 限值）/ 限值")


def default_grade(target_class) -> pd.Series:
    """The grade an outfall discharging into water of GB 3838 class ``target_class`` is held to.

    §4.1: class Ⅲ waters → 一级, class Ⅳ and Ⅴ → 二级. Classes Ⅰ–Ⅱ admit no new outfalls (§4.1.4); an
    existing one there, or one whose receiving water is unknown, is held to the strictest grade, 一级.
    """
    t = pd.to_numeric(pd.Series(np.atleast_1d(np.asarray(target_class, dtype=object))), errors="coerce")
    return pd.Series(np.where(t >= 4, 2, 1), index=t.index, dtype="int64")


def _permit_or_none(text) -> dict:
    """A stored permit that does not parse is ignored here (the check reports it; pages must not fail)."""
    try:
        return parse_permit(text)
    except GeoError:
        return {}


def outfall_terms(points: pd.DataFrame) -> pd.DataFrame:
    """Per outfall: ``point_id, grade`` (1–3), ``grade_label``, ``permit`` (parsed dict)."""
    pts = points[points["kind"] == "outfall"] if "kind" in points.columns else points
    grade = default_grade(pts["target_class"].to_numpy() if "target_class" in pts.columns else [np.nan] * len(pts))
    grade.index = pts.index
    if "discharge_grade" in pts.columns:
        given = pd.to_numeric(pts["discharge_grade"], errors="coerce")
        grade = given.where(given.isin(GRADES), grade).astype("int64")
    permits = pts["permit_limits"].map(_permit_or_none) if "permit_limits" in pts.columns else \
        pd.Series([{}] * len(pts), index=pts.index, dtype=object)
    return pd.DataFrame({"point_id": pts["id"].astype(str).to_numpy(), "grade": grade.to_numpy(),
                         "grade_label": grade.map(GRADE_LABELS).to_numpy(), "permit": permits.to_numpy()})


def judge(parameter, value, grade=1, permit=None, below_detection=None) -> pd.DataFrame:
    """Each reading judged against its discharge limit.

    Parameters
    ----------
    parameter, value : array-like (or scalars) of parameter codes and concentrations.
    grade : 1–3 (一级/二级/三级), scalar or one per reading.
    permit : a dict from :func:`parse_permit` (or one per reading) overriding the standard.
    below_detection : optional booleans: the value is a detection limit and the true value lies below.

    Returns
    -------
    DataFrame with ``limit`` (upper limit, NaN when none), ``low`` (lower limit: pH), ``limit_text``
    (``100``, ``6–9``), ``basis`` (the standard's table and item with the grade, or 排污许可),
    ``multiple`` (超标倍数 (C − C0)/C0 of an exceeding reading; NaN otherwise and for pH), ``exceeds`` (nullable
    boolean) and ``verdict`` (达标 / 超标 / 无限值 / 无法判定: a detection limit above the limit).
    """
    par = np.atleast_1d(np.asarray(parameter, dtype=object))
    n = len(par)
    val = pd.to_numeric(pd.Series(np.broadcast_to(np.asarray(value, dtype=object), (n,))),
                        errors="coerce").to_numpy(float)
    grades = np.broadcast_to(np.asarray(grade, dtype=object), (n,))
    if permit is None or isinstance(permit, dict):
        permits = [permit or {}] * n
    else:
        permits = list(permit)
    bd = (np.zeros(n, bool) if below_detection is None else
          pd.Series(np.broadcast_to(np.asarray(below_detection, dtype=object), (n,))).astype("boolean")
          .fillna(False).to_numpy(bool))
    low = np.full(n, np.nan)
    high = np.full(n, np.nan)
    basis = np.full(n, "", dtype=object)
    for i in range(n):
        p, g, own = par[i], grades[i], permits[i] or {}
        if p in own:
            lo, hi = own[p]
            low[i] = np.nan if lo is None else lo
            high[i] = hi
            basis[i] = "排污许可"
            continue
        spec = STANDARD.get(p)
        if spec is None:
            continue
        try:
            g = int(g)
        except (TypeError, ValueError):
            g = 1
        if spec.is_range:
            low[i], high[i] = spec.low, spec.high
        else:
            lim = spec.limit(g)
            if lim is None:
                continue
            high[i] = lim
        basis[i] = spec.cite(g)
    has = ~np.isnan(high)
    ranged = has & ~np.isnan(low)
    with np.errstate(invalid="ignore", divide="ignore"):
        over = np.where(ranged, (val < low) | (val > high), val > high)
        mult = np.where(has & ~ranged, (val - high) / high, np.nan)
    known = has & ~np.isnan(val)
    # a detection limit at or under the limit means the true value is too; above it nothing can be said
    undetermined = known & bd & over
    exceeds = pd.array(np.where(known & ~undetermined, over, False), dtype="boolean")
    exceeds[~(known & ~undetermined)] = pd.NA
    mult = np.where(known & ~undetermined & over, mult, np.nan)  # 超标倍数 is stated for exceedances only
    verdict = np.where(~has, NO_LIMIT, np.where(np.isnan(val), NO_DATA,
                       np.where(undetermined, UNDETERMINED, np.where(over, EXCEEDS, MEETS))))
    limit_text = [("" if np.isnan(h) else (f"{plain(lo_)}–{plain(h)}" if not np.isnan(lo_) else plain(h)))
                  for lo_, h in zip(low, high)]
    return pd.DataFrame({"limit": high, "low": low, "limit_text": limit_text, "basis": basis,
                         "multiple": mult, "exceeds": exceeds, "verdict": verdict})


def _end_of(as_of) -> pd.Timestamp | None:
    return None if as_of is None else pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)


def outfall_readings(readings: pd.DataFrame, points: pd.DataFrame, *, as_of=None, start=None) -> pd.DataFrame:
    """Readings of outfalls up to the end of ``as_of`` (from ``start``), each judged (:func:`judge`).

    Adds ``day``, ``grade``, ``grade_label`` and the columns of :func:`judge`; parameters without a
    discharge limit (water temperature, …) are kept with verdict 无限值.
    """
    terms = outfall_terms(points)
    r = readings[readings["point_id"].isin(terms["point_id"])]
    if as_of is not None:
        r = r[r["sampled_at"] < _end_of(as_of)]
    if start is not None:
        r = r[r["sampled_at"] >= pd.Timestamp(start)]
    r = r.merge(terms, on="point_id", how="inner")
    if not len(r):
        cols = ["limit", "low", "limit_text", "basis", "multiple", "exceeds", "verdict"]
        return r.assign(day=pd.Series(dtype="datetime64[ns]"), **{c: pd.Series(dtype=object) for c in cols})
    bd = r["below_detection"] if "below_detection" in r.columns else None
    j = judge(r["parameter"].to_numpy(object), r["value"].to_numpy(float), r["grade"].to_numpy(),
              list(r["permit"]), bd)
    out = pd.concat([r.reset_index(drop=True), j], axis=1)
    out["day"] = out["sampled_at"].dt.normalize()
    return out



def exceedance_bounds(points: pd.DataFrame) -> pd.DataFrame:
    """Per outfall and parameter with a limit (standard or permit), the values beyond which it is 超标.

    For :meth:`geo.store.Store.readings_outside`: the readings at or beyond these bounds are a superset
    of the readings :func:`judge` finds 超标 (a reading below detection is never 超标), which the page
    then judges exactly. Returns ``point_id, parameter, low, high, below_detection`` (NaN: no bound).
    """
    terms = outfall_terms(points)
    cols = ["point_id", "parameter", "low", "high", "below_detection"]
    if not len(terms):
        return pd.DataFrame(columns=cols)
    pid, par, grade, permit = [], [], [], []
    for p, g, own in zip(terms["point_id"], terms["grade"], terms["permit"]):
        for code in dict.fromkeys(list(STANDARD) + list((own or {}).keys())):
            pid.append(p)
            par.append(code)
            grade.append(g)
            permit.append(own or {})
    j = judge(np.array(par, dtype=object), np.full(len(par), np.nan), np.array(grade, dtype=object), permit)
    out = pd.DataFrame({"point_id": pid, "parameter": par, "low": j["low"].to_numpy(float),
                        "high": j["limit"].to_numpy(float), "below_detection": False})
    return out[out["high"].notna() | out["low"].notna()].reset_index(drop=True)[cols]

def exceedance_text(rows: pd.DataFrame) -> str:
    """``COD 超标0.12倍、TP 超标2.2倍、pH 9.5（限值6–9）`` for the 超标 rows of one sampling."""
    parts = []
    for p, v, m, lt in zip(rows["parameter"], rows["value"], rows["multiple"], rows["limit_text"]):
        # 超标 said with the multiple: "COD 0.52倍" alone reads as a concentration ratio, not an exceedance
        parts.append(f"{p} 超标{fmt_multiple(m)}倍" if m == m else f"{p} {plain(v)}（限值{lt}）")
    return "、".join(parts)


def latest_sampling(readings: pd.DataFrame, points: pd.DataFrame, *, as_of=None) -> pd.DataFrame:
    """The readings of each outfall's last sampling day up to ``as_of``, each judged (:func:`outfall_readings`).

    What :func:`latest_outfalls` sums up per outfall, reading by reading: the site file (一企一档) lists
    these, so its 达标 / 超标 and 超标倍数 are the water page's, the wall's and the briefing's.
    """
    r = outfall_readings(readings, points, as_of=as_of)
    if len(r):
        last = r.groupby("point_id")["day"].transform("max")
        r = r[r["day"] == last]
    return r


def latest_outfalls(frames: dict[str, pd.DataFrame], as_of=None) -> pd.DataFrame:
    """The latest sampling of every outfall up to ``as_of``, judged against its discharge limits.

    Returns
    -------
    One row per outfall (those never sampled included): ``id, name, grade, grade_label, sampled_on,
    verdict`` (达标 / 超标 / 无数据), ``n_judged``, ``n_exceeding``, ``max_multiple`` and ``exceeding``
    (e.g. ``COD 0.12倍、TP 2.2倍``; empty when 达标).
    """
    points = frames["sampling_points"]
    pts = points[points["kind"] == "outfall"] if "kind" in points.columns else points.iloc[:0]
    terms = outfall_terms(pts)
    out = pd.DataFrame({"id": pts["id"].astype(str).to_numpy(), "name": pts["name"].astype(str).to_numpy()})
    out["grade"] = terms["grade"].to_numpy()
    out["grade_label"] = terms["grade_label"].to_numpy()
    r = latest_sampling(frames["readings"], pts, as_of=as_of)
    judged = r[r["verdict"].isin([MEETS, EXCEEDS])]
    bad = judged[judged["verdict"] == EXCEEDS]
    g = judged.groupby("point_id")
    out["sampled_on"] = out["id"].map(r.groupby("point_id")["day"].max()) if len(r) else pd.NaT
    out["n_judged"] = out["id"].map(g.size()).fillna(0).astype(int) if len(judged) else 0
    out["n_exceeding"] = out["id"].map(bad.groupby("point_id").size()).fillna(0).astype(int) if len(bad) else 0
    out["max_multiple"] = out["id"].map(bad.groupby("point_id")["multiple"].max()) if len(bad) else np.nan
    texts = bad.groupby("point_id").apply(exceedance_text, include_groups=False) if len(bad) else pd.Series(
        dtype=object)
    out["exceeding"] = out["id"].map(texts).fillna("") if len(texts) else ""
    out["verdict"] = np.where(out["n_exceeding"] > 0, EXCEEDS, np.where(out["n_judged"] > 0, MEETS, NO_DATA))
    return out
