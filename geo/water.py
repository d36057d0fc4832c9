"""Surface water quality by GB 3838-2002 (地表水环境质量标准): classes, targets, trends, river profiles.

The standard's Table 1 is data here (:data:`STANDARD`); everything else is
computed from it, assessed by the national method, 《地表水环境质量评价办法（试行）》
(环办〔2011〕22号, :data:`METHOD`):

- :func:`classify` gives the class of each reading, 1–5 for Ⅰ–Ⅴ and 6 for
  worse than Ⅴ (劣Ⅴ类); NaN where the standard gives no class (water
  temperature, TN in rivers, the automatic stations' parameters outside
  GB 3838: :data:`UNCLASSED`). A value belongs to the best class whose limit
  it meets, so a value on a limit shared by two classes takes the better one.
- :func:`site_class` is the single-factor assessment (单因子评价法): the worst
  class among the assessed parameters, the 21 basic items of Table 1 other
  than water temperature, TN and fecal coliform, for rivers and lakes alike
  (lakes and reservoirs with TP at the lake limits). A lake's TN is assessed
  separately (总氮单独评价) and reported beside the class (``tn_class``);
  fecal coliform is reported separately and classes nothing (:data:`NOT_IN_CLASS`).
- :func:`latest_assessment` is what the map and the wall screen show: the
  latest sampling of every point, its class, its target and whether it meets it.
- :func:`exceedance_factor`, :func:`exceedances` compare readings with the
  limit of the point's target class (超标倍数).
- :func:`trend` is the Mann–Kendall test with Sen's slope per point and parameter.
- :func:`upstream_downstream` orders sampling points along a river and says
  which lie above and below a reach (e.g. the chemical park).

Below-detection readings (``below_detection`` True) hold the detection limit
as value; the true value is lower, so the class of the limit is an upper
bound (the reading is "at most" that class). For dissolved oxygen, a lower
bound, "below detection" means almost no oxygen: worse than Ⅴ.
"""
from __future__ import annotations

import functools

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import discharge, fmt, memo
from .errors import GeoError, InputError
from .io.cells import parse_detection

#: Class number for worse than Ⅴ (劣Ⅴ类).
WORSE_THAN_V = 6
CLASSES = (1, 2, 3, 4, 5, 6)
CLASS_LABELS = {1: "Ⅰ类", 2: "Ⅱ类", 3: "Ⅲ类", 4: "Ⅳ类", 5: "Ⅴ类", 6: "劣Ⅴ类"}
WATERBODIES = ("river", "lake")
#: Parameters of Table 1 that class no section, river or lake (环办〔2011〕22号): total nitrogen (no river
#: limit; a lake's or reservoir's TN is assessed separately and reported beside its class, :data:`SEPARATE`)
#: and fecal coliform (reported separately). Water temperature has no class at all.
NOT_IN_CLASS = frozenset({"TN", "FC"})
#: The former name, from when lakes still counted TN and fecal coliform.
RIVER_EXCLUDED = NOT_IN_CLASS
#: The parameter a lake or reservoir is assessed on separately, reported beside its class (``tn_class``).
SEPARATE = "TN"
#: Parameters the national automatic stations report that have no class (GB 3838 has no limit for them, or,
#: water temperature, no class limit): known, stored and charted, never classed, assessed or exceeding.
UNCLASSED = ("WT", "EC", "TURB", "CHLA", "ALGAE")
#: The standard and the method every statement of a class names.
METHOD = "GB 3838-2002《地表水环境质量标准》及《地表水环境质量评价办法（试行）》（环办〔2011〕22号）"
#: The method in one clause, for statements that cover more than water (the briefing's rule).
METHOD_BRIEF = (f"断面按 {METHOD}单因子评价（河流不评价总氮、粪大肠菌群；湖泊、水库总磷按湖库限值，"
                "总氮单独评价、不参与定类）")


@dataclass(frozen=True)
class Parameter:
    """One row of GB 3838-2002 Table 1.

    ``kind``: ``max`` (limits are upper bounds), ``min`` (lower bounds: dissolved
    oxygen), ``range`` (pH: inside ``limits`` = (low, high) for every class),
    ``none`` (no class: water temperature and the parameters outside GB 3838).
    ``river``/``lake``: the five limits of classes Ⅰ–Ⅴ for that kind of water,
    ``None`` when the standard has none.
    """

    code: str
    name: str
    name_en: str
    unit: str
    kind: str
    river: tuple[float, ...] | None
    lake: tuple[float, ...] | None

    def limits(self, waterbody: str) -> tuple[float, ...] | None:
        return self.river if waterbody == "river" else self.lake


def _p(code, name, name_en, limits, *, kind="max", unit="mg/L", lake=None, river=True):
    lake_limits = tuple(lake) if lake is not None else (tuple(limits) if limits else None)
    river_limits = tuple(limits) if (limits and river) else None
    return Parameter(code, name, name_en, unit, kind, river_limits, lake_limits)


#: The known parameters: GB 3838-2002 Table 1 (basic items) with the limits of classes Ⅰ–Ⅴ, then the
#: parameters the national automatic stations report beyond it, without a class (:data:`UNCLASSED`).
#: The codes are those of ``readings.parameter`` (:data:`geo.contract.PARAMETERS`).
STANDARD: dict[str, Parameter] = {p.code: p for p in (
    _p("pH", "pH", "pH", (6.0, 9.0), kind="range", unit="无量纲"),
    _p("DO", "溶解氧", "dissolved oxygen", (7.5, 6, 5, 3, 2), kind="min"),
    _p("CODMn", "高锰酸盐指数", "permanganate index", (2, 4, 6, 10, 15)),
    _p("COD", "化学需氧量", "chemical oxygen demand", (15, 15, 20, 30, 40)),
    _p("BOD5", "五日生化需氧量", "5-day biochemical oxygen demand", (3, 3, 4, 6, 10)),
    _p("NH3-N", "氨氮", "ammonia nitrogen", (0.15, 0.5, 1.0, 1.5, 2.0)),
    _p("TP", "总磷", "total phosphorus", (0.02, 0.1, 0.2, 0.3, 0.4), lake=(0.01, 0.025, 0.05, 0.1, 0.2)),
    _p("TN", "总氮", "total nitrogen", (0.2, 0.5, 1.0, 1.5, 2.0), river=False),
    _p("Cu", "铜", "copper", (0.01, 1.0, 1.0, 1.0, 1.0)),
    _p("Zn", "锌", "zinc", (0.05, 1.0, 1.0, 2.0, 2.0)),
    _p("F", "氟化物", "fluoride", (1.0, 1.0, 1.0, 1.5, 1.5)),
    _p("Se", "硒", "selenium", (0.01, 0.01, 0.01, 0.02, 0.02)),
    _p("As", "砷", "arsenic", (0.05, 0.05, 0.05, 0.1, 0.1)),
    _p("Hg", "汞", "mercury", (0.00005, 0.00005, 0.0001, 0.001, 0.001)),
    _p("Cd", "镉", "cadmium", (0.001, 0.005, 0.005, 0.005, 0.01)),
    _p("Cr6", "六价铬", "chromium (VI)", (0.01, 0.05, 0.05, 0.05, 0.1)),
    _p("Pb", "铅", "lead", (0.01, 0.01, 0.05, 0.05, 0.1)),
    _p("CN", "氰化物", "cyanide", (0.005, 0.05, 0.2, 0.2, 0.2)),
    _p("VP", "挥发酚", "volatile phenol", (0.002, 0.002, 0.005, 0.01, 0.1)),
    _p("OIL", "石油类", "petroleum", (0.05, 0.05, 0.05, 0.5, 1.0)),
    _p("LAS", "阴离子表面活性剂", "anionic surfactant", (0.2, 0.2, 0.2, 0.3, 0.3)),
    _p("S2", "硫化物", "sulfide", (0.05, 0.1, 0.2, 0.5, 1.0)),
    _p("FC", "粪大肠菌群", "fecal coliform", (200, 2000, 10000, 20000, 40000), unit="个/L"),
    _p("WT", "水温", "water temperature", None, kind="none", unit="℃"),
    # beyond GB 3838 (the automatic stations' items): no class
    _p("EC", "电导率", "electrical conductivity", None, kind="none", unit="µS/cm"),
    _p("TURB", "浊度", "turbidity", None, kind="none", unit="NTU"),
    _p("CHLA", "叶绿素α", "chlorophyll a", None, kind="none", unit="mg/L"),
    _p("ALGAE", "藻密度", "algal density", None, kind="none", unit="个/L"),  # cells per litre
)}

#: Order of parameters in tables and charts (the standard's order).
ORDER = {code: i for i, code in enumerate(STANDARD)}


def label(cls) -> str:
    """``Ⅲ类`` for 3, ``劣Ⅴ类`` for 6, ``无数据`` for NaN/None."""
    try:
        return CLASS_LABELS[int(cls)]
    except (TypeError, ValueError, KeyError):
        return "无数据"


def class_limits() -> pd.DataFrame:
    """The limits that class a reading, one row per assessed parameter and kind of water: ``parameter,
    waterbody, kind, l1``…``l5`` (pH: ``l1``–``l2`` the range; what :func:`classify` and :func:`assessed`
    apply, as data a database can apply too: :meth:`geo.store.Store.monthly_worst`)."""
    rows = []
    for p in STANDARD.values():
        for wb in WATERBODIES:
            lim = p.limits(wb)
            if lim is None or p.kind == "none" or not _assessed_table()[(p.code, wb)]:
                continue
            ls = list(lim) + [0.0] * (5 - len(lim)) if p.kind == "range" else list(lim)
            if len(ls) != 5:
                raise ValueError(f"{p.code}: five class limits expected")
            rows.append([p.code, wb, p.kind, *map(float, ls)])
    return pd.DataFrame(rows, columns=["parameter", "waterbody", "kind", "l1", "l2", "l3", "l4", "l5"])


def limits_table() -> pd.DataFrame:
    """Table 1 in long form: ``parameter, waterbody, kind, class, limit`` (pH: ``low``/``high`` limit rows).

    One row per class Ⅰ–Ⅴ with a limit; used by the charts (class bands) and the tests.
    """
    rows = []
    for p in STANDARD.values():
        for wb in WATERBODIES:
            lim = p.limits(wb)
            if lim is None:
                continue
            if p.kind == "range":
                for c in range(1, 6):
                    rows.append((p.code, wb, p.kind, c, lim[0], lim[1]))
            else:
                for c, v in enumerate(lim, start=1):
                    rows.append((p.code, wb, p.kind, c, float(v), np.nan))
    return pd.DataFrame(rows, columns=["parameter", "waterbody", "kind", "class", "limit", "limit_high"])


# --- classes of readings ------------------------------------------------------------------

def _as_bool(x, n: int) -> np.ndarray:
    if x is None:
        return np.zeros(n, dtype=bool)
    s = pd.Series(np.broadcast_to(np.asarray(x, dtype=object), (n,)) if np.ndim(x) == 0 else x)
    return s.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _arrays(parameter, value, waterbody, below_detection=None):
    par = np.asarray(parameter, dtype=object)
    val = np.asarray(pd.to_numeric(np.asarray(value, dtype=object).ravel(), errors="coerce"),
                     dtype=float).reshape(np.shape(value))
    wb = np.asarray(waterbody, dtype=object)
    par, val, wb = (np.atleast_1d(a) for a in np.broadcast_arrays(par, val, wb))
    bd = _as_bool(None if below_detection is None else np.broadcast_to(
        np.asarray(below_detection, dtype=object), par.shape).ravel(), par.size)
    unknown = sorted({str(p) for p in pd.unique(par.ravel()) if p not in STANDARD})
    if unknown:
        raise InputError(f"未知的指标代码：{'、'.join(unknown)}；可用：{'、'.join(STANDARD)}。",
                         f"unknown parameter code(s) {', '.join(map(repr, unknown))}; "
                         f"known codes: {', '.join(STANDARD)}")
    bad_wb = sorted({str(w) for w in pd.unique(wb.ravel()) if w not in WATERBODIES})
    if bad_wb:
        raise InputError(f"未知的水体类型：{'、'.join(bad_wb)}；应为 river（河流）或 lake（湖库）。",
                         f"unknown waterbody {', '.join(map(repr, bad_wb))}; use 'river' or 'lake'")
    return par.ravel(), val.ravel(), wb.ravel(), bd, par.shape


def classify(parameter, value, waterbody="river", below_detection=None) -> np.ndarray:
    """Class of each reading: 1–5 (Ⅰ–Ⅴ), 6 (劣Ⅴ), NaN where there is no class.

    Parameters
    ----------
    parameter, value, waterbody : scalars or arrays (broadcast together); parameter codes as in
        :data:`STANDARD`, waterbody ``river`` or ``lake`` (lakes and reservoirs).
    below_detection : optional booleans: the value is a detection limit and the true value lies below.

    Returns
    -------
    float array of the broadcast shape; NaN for missing values, TN in rivers and the parameters without
    a class (:data:`UNCLASSED`). TN in lakes and fecal coliform get their class here although no section's
    class counts them (:func:`assessed`): it is reported beside it.

    Raises
    ------
    ValueError for an unknown parameter code or waterbody.
    """
    par, val, wb, bd, shape = _arrays(parameter, value, waterbody, below_detection)
    out = np.full(val.shape, np.nan)
    keys = pd.DataFrame({"p": pd.Series(par, dtype=object), "w": pd.Series(wb, dtype=object)})
    for (p, w), idx in keys.groupby(["p", "w"], sort=False).indices.items():
        spec = STANDARD[p]
        lim = spec.limits(w)
        if lim is None or spec.kind == "none":
            continue
        v = val[idx]
        if spec.kind == "max":
            # first class whose limit the value meets (side="left": on a shared limit, the better class)
            c = np.searchsorted(np.asarray(lim, float), v, side="left") + 1.0
        elif spec.kind == "min":
            c = np.searchsorted(-np.asarray(lim, float), -v, side="left") + 1.0
            c[bd[idx]] = WORSE_THAN_V  # less oxygen than the detection limit
        else:  # range: pH inside 6–9 does not limit the class; outside it is worse than Ⅴ
            c = np.where((v >= lim[0]) & (v <= lim[1]), 1.0, float(WORSE_THAN_V))
        c[np.isnan(v)] = np.nan
        out[idx] = c
    return out.reshape(shape)


def assessed(parameter, waterbody) -> np.ndarray:
    """Whether a parameter takes part in the class of a site on that kind of water (环办〔2011〕22号: the
    basic items of Table 1 other than water temperature, TN and fecal coliform, rivers and lakes alike)."""
    par, wb = np.broadcast_arrays(np.asarray(parameter, dtype=object), np.asarray(waterbody, dtype=object))
    table = _assessed_table()
    if par.size == 1:  # one question (per point and parameter loops): a dictionary look-up
        return np.array(table.get((par.ravel()[0], wb.ravel()[0]), False), dtype=bool).reshape(par.shape)
    keys = pd.MultiIndex.from_arrays([par.ravel(), wb.ravel()])
    lookup = pd.Series(table)
    lookup.index = pd.MultiIndex.from_tuples(lookup.index)
    return lookup.reindex(keys).fillna(False).to_numpy(dtype=bool).reshape(par.shape)


@functools.cache
def _assessed_table() -> dict:
    return {(p, w): (spec.kind != "none" and spec.limits(w) is not None and p not in NOT_IN_CLASS)
            for p, spec in STANDARD.items() for w in WATERBODIES}


def site_class(readings: pd.DataFrame, by="site", worst: bool = True) -> pd.DataFrame:
    """Single-factor assessment: the worst class among a group's assessed parameters (:func:`assessed`),
    with a lake's total nitrogen assessed separately beside it.

    Parameters
    ----------
    readings : columns ``parameter``, ``value``, ``waterbody`` (``river``/``lake``), the ``by``
        columns, optionally ``below_detection``.
    by : column (or list of columns) naming a site or a sampling (e.g. ``["point_id", "day"]``).
    worst : whether to name the parameters that set the class (``worst``); without, that column is absent.

    Returns
    -------
    One row per group: the ``by`` columns, ``class`` (float, NaN when nothing was assessed),
    ``n_assessed``, ``tn_class`` (the class of the group's total nitrogen, its worst reading, assessed
    separately: lakes and reservoirs only, NaN for rivers and where no TN was measured) and ``worst``
    (codes of the parameters that set the class, in the standard's order).
    """
    by = [by] if isinstance(by, str) else list(by)
    bd = readings["below_detection"] if "below_detection" in readings.columns else None
    par = readings["parameter"].to_numpy(object)  # converted once: arrow strings are slow to convert
    wb = readings["waterbody"].to_numpy(object)
    cls = classify(par, readings["value"].to_numpy(float), wb, bd)
    use = assessed(par, wb) & ~np.isnan(cls)
    work = readings[by].copy()
    work["_cls"] = np.where(use, cls, np.nan)
    # TN beside the class: classify gives rivers' TN no class, so only lakes and reservoirs get one
    work["_tn"] = np.where(par == SEPARATE, cls, np.nan)
    work["_par"] = pd.Series(par, index=work.index, dtype=object)
    g = work.groupby(by, sort=True, dropna=False)
    out = g["_cls"].max().rename("class").to_frame()
    out["n_assessed"] = g["_cls"].count()
    out["tn_class"] = g["_tn"].max()
    if not worst:  # only the class (e.g. the wall's monthly share): no parameter names
        return out.reset_index()
    worst = work[work["_cls"].notna()].drop_duplicates(by + ["_par", "_cls"])
    worst = worst.merge(out["class"].reset_index(), on=by)
    worst = worst[worst["_cls"] == worst["class"]].drop_duplicates(by + ["_par"])
    worst = worst.assign(_o=worst["_par"].map(ORDER)).sort_values(by + ["_o"])
    out["worst"] = worst.groupby(by)["_par"].agg(",".join).reindex(out.index)
    return out.reset_index()


def separate_label(tn_class) -> str:
    """What a page shows beside a lake's class: ``总氮（单独评价）Ⅳ类``; ``""`` without a TN class (rivers)."""
    return f"{STANDARD[SEPARATE].name}（单独评价）{label(tn_class)}" if pd.notna(tn_class) else ""


def meets_target(cls, target_class) -> pd.Series:
    """Whether a class is no worse than the target class (NA when either is missing)."""
    c = pd.Series(np.asarray(cls, dtype=float))
    t = pd.Series(pd.to_numeric(pd.Series(np.asarray(target_class, dtype=object)), errors="coerce"),
                  dtype="float64")
    out = (c <= t).astype("boolean")
    out[c.isna() | t.isna()] = pd.NA
    return out


def target_limit(parameter, waterbody, target_class) -> np.ndarray:
    """The limit a reading is held to at its point's target class (NaN for pH, WT and classless cases)."""
    par, wb, tc = np.broadcast_arrays(np.asarray(parameter, dtype=object), np.asarray(waterbody, dtype=object),
                                      np.asarray(pd.to_numeric(pd.Series(np.ravel(target_class)), errors="coerce"),
                                                 dtype=float).reshape(np.shape(target_class)))
    out = np.full(par.shape, np.nan)
    for i, (p, w, t) in enumerate(zip(par.ravel(), wb.ravel(), tc.ravel())):
        spec = STANDARD.get(p)
        if spec is None or spec.kind not in ("max", "min") or not (1 <= t <= 5):
            continue
        lim = spec.limits(w)
        if lim is not None:
            out.flat[i] = lim[int(t) - 1]
    return out


def exceedance_factor(parameter, value, waterbody, target_class) -> np.ndarray:
    """超标倍数 against the target class limit: (C − S) / S; for dissolved oxygen (S − C) / S.

    Positive means the reading misses the target by that multiple (0.5 = 50 % over the limit);
    zero or negative means it meets it. NaN where there is no limit (pH, TN in rivers, the unclassed
    parameters).
    """
    par = np.asarray(parameter, dtype=object)
    val = np.asarray(value, dtype=float)
    lim = target_limit(par, waterbody, target_class)
    is_min = np.vectorize(lambda p: STANDARD[p].kind == "min" if p in STANDARD else False, otypes=[bool])(par)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(is_min, (lim - val) / lim, (val - lim) / lim)


# --- the store's readings -------------------------------------------------------------------

def _end_of(as_of) -> pd.Timestamp | None:
    if as_of is None:
        return None
    return pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)


def readings_with_points(readings: pd.DataFrame, points: pd.DataFrame, *, as_of=None,
                         start=None) -> pd.DataFrame:
    """Readings joined with their point's ``waterbody`` and ``target_class``, up to the end of ``as_of``.

    Adds ``day`` (the sampling day; all readings of a point on one day form one sampling), ``kind``
    (``section`` when the points have no kind) and ``class`` of each reading. Outfall readings get no
    class (NaN): wastewater is judged against discharge limits (:mod:`geo.discharge`), not GB 3838.
    Readings of unknown points are dropped.
    """
    r = readings
    if as_of is not None:
        r = r[r["sampled_at"] < _end_of(as_of)]
    if start is not None:
        r = r[r["sampled_at"] >= pd.Timestamp(start)]
    cols = ["id", "waterbody", "target_class"] + (["kind"] if "kind" in points.columns else [])
    r = r.merge(pd.DataFrame(points[cols]).rename(columns={"id": "point_id"}), on="point_id", how="inner")
    r = r[r["parameter"].isin(list(STANDARD)) & r["waterbody"].isin(WATERBODIES)].copy()
    if "kind" not in r.columns:
        r["kind"] = "section"
    r["day"] = r["sampled_at"].dt.normalize()
    bd = r["below_detection"] if "below_detection" in r.columns else None
    r["class"] = classify(r["parameter"].to_numpy(object), r["value"].to_numpy(float),
                          r["waterbody"].to_numpy(object), bd)
    r.loc[(r["kind"] == "outfall").to_numpy(bool), "class"] = np.nan
    return r.reset_index(drop=True)


def sampling_classes(readings: pd.DataFrame, points: pd.DataFrame, *, as_of=None, start=None,
                     worst: bool = True) -> pd.DataFrame:
    """Class of every sampling (point and day): ``point_id, day, class, worst, n_assessed, target_class, meets``.

    ``worst=False`` leaves the ``worst`` column out (naming the parameters costs a Python join per sampling).
    """
    r = readings_with_points(readings, points, as_of=as_of, start=start)
    s = site_class(r, by=["point_id", "day"], worst=worst)
    tgt = pd.DataFrame(points[["id", "target_class"]]).rename(columns={"id": "point_id"})
    s = s.merge(tgt, on="point_id", how="left")
    s["meets"] = meets_target(s["class"], s["target_class"]).to_numpy()
    return s


def latest_assessment(frames: dict[str, pd.DataFrame], as_of=None) -> pd.DataFrame:
    """The latest sampling of every sampling point up to ``as_of`` (default: all data), judged.

    Sections (rivers, lakes) get their GB 3838-2002 class; outfalls are judged against their
    discharge limits instead (:func:`geo.discharge.latest_outfalls`) and get no class. Used by the
    water page, the wall screen and the briefing. ``frames`` needs ``sampling_points`` and ``readings``.

    Returns
    -------
    One row per sampling point (points without readings included, class NaN): ``id, name, kind,
    waterbody, water_id, target_class, sampled_on, class`` (float 1–6; NaN for outfalls; TN and fecal
    coliform never count, :data:`NOT_IN_CLASS`), ``tn_class`` (a lake's or reservoir's total nitrogen,
    assessed separately and shown beside the class, :func:`separate_label`; NaN for rivers and outfalls),
    ``class_label`` (``—`` for outfalls), ``meets`` (nullable boolean: a section meets its target
    class, an outfall its discharge limits), ``verdict`` (达标 / 超标 / 无数据), ``standard`` (what the
    point is held to: ``GB 3838-2002 目标Ⅲ类`` or ``GB 8978-1996 一级``), ``worst`` (parameters that
    set the class) and ``exceeding`` (parameters over the target or discharge limit with their
    超标倍数, e.g. ``NH3-N 0.4倍``).
    """
    # a snapshot's wall asks for it from its tile, its alerts and its assessment: once (geo.memo)
    return memo.remember(frames, ("latest_assessment", None if as_of is None else pd.Timestamp(as_of).normalize()),
                         lambda: _latest_assessment(frames["sampling_points"], frames["readings"], as_of),
                         uses=("sampling_points", "readings"))


def _latest_assessment(points: pd.DataFrame, readings: pd.DataFrame, as_of) -> pd.DataFrame:
    if as_of is not None:
        readings = readings[readings["sampled_at"] < _end_of(as_of)]
    # keep only each point's last sampling day before joining and classing (hourly stations: 1/24 of a day)
    day = readings["sampled_at"].dt.normalize()
    last = day.groupby(readings["point_id"]).max().rename("last_day")
    # reindex, not map: map fails on an empty mapping of dates (a day before any sampling)
    r = readings_with_points(readings[day.to_numpy() == last.reindex(readings["point_id"]).to_numpy()], points)
    last = last[last.index.isin(r["point_id"].unique())]
    s = site_class(r, by="point_id") if len(r) else pd.DataFrame(
        columns=["point_id", "class", "n_assessed", "tn_class", "worst"])
    ex = exceedances(r)
    ex_text = ex.groupby("point_id").apply(
        lambda g: "、".join(f"{p} 超标{fmt.multiple(f)}倍" if f == f else p for p, f in zip(g["parameter"], g["factor"])),
        include_groups=False) if len(ex) else pd.Series(dtype=object)
    cols = [c for c in ("id", "name", "kind", "waterbody", "water_id", "target_class") if c in points.columns]
    out = pd.DataFrame(points[cols]).reset_index(drop=True)
    out["sampled_on"] = last.reindex(out["id"]).to_numpy()
    out["class"] = out["id"].map(s.set_index("point_id")["class"]).astype(float) if len(s) else np.nan
    out["tn_class"] = out["id"].map(s.set_index("point_id")["tn_class"]).astype(float) if len(s) else np.nan
    out["class_label"] = out["class"].map(label)
    out["meets"] = meets_target(out["class"], out["target_class"]).to_numpy()
    out["worst"] = out["id"].map(s.set_index("point_id")["worst"]) if len(s) else None
    out["exceeding"] = out["id"].map(ex_text) if len(ex_text) else None
    out["verdict"] = np.where(out["meets"].isna(), discharge.NO_DATA,
                              np.where(out["meets"].fillna(False).astype(bool), discharge.MEETS, discharge.EXCEEDS))
    out["standard"] = "GB 3838-2002 目标" + out["target_class"].map(label)
    if "kind" in out.columns and (out["kind"] == "outfall").any():
        of = discharge.latest_outfalls({"sampling_points": points, "readings": readings}).set_index("id")
        o = (out["kind"] == "outfall").to_numpy(bool)
        ids = out.loc[o, "id"].astype(str)
        out.loc[o, "class"] = np.nan
        out.loc[o, "tn_class"] = np.nan
        out.loc[o, "class_label"] = "—"
        out.loc[o, "worst"] = None
        out.loc[o, "sampled_on"] = ids.map(of["sampled_on"]).to_numpy()
        out.loc[o, "verdict"] = ids.map(of["verdict"]).to_numpy()
        out.loc[o, "standard"] = (discharge.CODE + " " + ids.map(of["grade_label"])).to_numpy()
        out.loc[o, "exceeding"] = ids.map(of["exceeding"]).replace("", None).to_numpy()
        meets = pd.array(ids.map(of["verdict"]).map({discharge.MEETS: True, discharge.EXCEEDS: False}).to_numpy(),
                         dtype="boolean")
        out["meets"] = out["meets"].astype("boolean")
        out.loc[o, "meets"] = meets
    # what the maps show for an outfall (layers.sampling_points: judgment pass/fail, judgment_text)
    is_out = (out["kind"] == "outfall").to_numpy(bool) if "kind" in out.columns else np.zeros(len(out), bool)
    out["judgment"] = np.where(is_out, out["verdict"].map({discharge.MEETS: "pass", discharge.EXCEEDS: "fail"}),
                               None)
    out["judgment_text"] = [(f"{std}：{ex}" if isinstance(ex, str) and ex else std) if o_ else None
                            for o_, std, ex in zip(is_out, out["standard"], out["exceeding"])]
    return out


def exceedances(r: pd.DataFrame) -> pd.DataFrame:
    """Readings (from :func:`readings_with_points`) whose class is worse than their point's target.

    Only assessed parameters count (a lake's TN, assessed separately, exceeds nothing). Adds ``limit``
    (the target class limit), ``factor`` (超标倍数, NaN for pH and below-detection values, whose true value
    is unknown).
    """
    if not len(r):
        return r.assign(limit=pd.Series(dtype=float), factor=pd.Series(dtype=float))
    use = assessed(r["parameter"].to_numpy(object), r["waterbody"].to_numpy(object))
    tgt = pd.to_numeric(r["target_class"], errors="coerce").astype(float).to_numpy()
    bad = r[use & (r["class"].to_numpy(float) > tgt)].copy()
    bad["limit"] = target_limit(bad["parameter"].to_numpy(object), bad["waterbody"].to_numpy(object),
                                bad["target_class"].to_numpy(float))
    f = exceedance_factor(bad["parameter"].to_numpy(object), bad["value"].to_numpy(float),
                          bad["waterbody"].to_numpy(object), bad["target_class"].to_numpy(float))
    if "below_detection" in bad.columns:
        f = np.where(bad["below_detection"].astype("boolean").fillna(False).to_numpy(bool), np.nan, f)
    bad["factor"] = f
    bad["_o"] = bad["parameter"].map(ORDER)
    return bad.sort_values(["point_id", "sampled_at", "_o"]).drop(columns="_o").reset_index(drop=True)



def exceedance_bounds(points: pd.DataFrame) -> pd.DataFrame:
    """Per section and assessed parameter, the values beyond which a reading misses the target class.

    For :meth:`geo.store.Store.readings_outside`: the store returns the readings at or beyond these
    bounds (a superset), and :func:`exceedances` judges them exactly, so a page lists the exceedances of
    a period without reading every reading. ``max`` kind: above the target limit; ``min`` kind (DO):
    below it, or below detection; pH: outside 6–9. Classes are whole numbers, so a target of 3.5 is
    missed by class 4 and worse. Outfalls, points without a target or with 劣Ⅴ as target get none.

    Returns ``point_id, parameter, low, high, below_detection`` (NaN: no bound on that side).
    """
    pts = points[points["kind"] != "outfall"] if "kind" in points.columns else points
    tgt = pd.to_numeric(pts["target_class"], errors="coerce").to_numpy(float) if "target_class" in pts.columns \
        else np.full(len(pts), np.nan)
    rows = []
    # which parameters count, per kind of water: asked once (asking per point costs 5 ms a call)
    counted = {wb: [c for c in STANDARD if assessed(c, wb)] for wb in WATERBODIES}
    for pid, wb, t in zip(pts["id"].astype(str), pts["waterbody"], tgt):
        if wb not in WATERBODIES or not t == t or t >= WORSE_THAN_V:
            continue
        k = int(np.floor(t))
        for code in counted[wb]:
            spec = STANDARD[code]
            lim = spec.limits(wb)
            if k < 1:  # below class Ⅰ: every reading misses it
                rows.append((pid, code, np.nan, -np.inf, False))
            elif spec.kind == "max":
                rows.append((pid, code, np.nan, float(lim[k - 1]), False))
            elif spec.kind == "min":
                rows.append((pid, code, float(lim[k - 1]), np.nan, True))
            elif spec.kind == "range":
                rows.append((pid, code, float(lim[0]), float(lim[1]), False))
    return pd.DataFrame(rows, columns=["point_id", "parameter", "low", "high", "below_detection"])


#: The park whose reach :func:`upstream_downstream` profiles by default.
PROFILE_PARK = "沈家经济开发区"


def profile_river(frames: dict[str, pd.DataFrame], *, park: str = PROFILE_PARK, kinds=("section",)) -> str:
    """The river :func:`upstream_downstream` profiles by default: the river nearest the park's enterprises
    (without them, the river most sampling points of ``kinds`` name in ``water_id``)."""
    points = frames["sampling_points"]
    pts = points[points["kind"].isin(list(kinds))] if "kind" in points.columns else points
    if "water_id" not in pts.columns:
        raise ValueError("sampling_points has no water_id column; cannot place points on rivers")
    ent = frames["enterprises"]
    ent = ent[ent.get("park", pd.Series(index=ent.index, dtype=object)) == park]
    rivers = frames["rivers"]
    if len(ent):
        import geopandas as gpd

        from .crs import metric_crs_for
        crs = metric_crs_for(rivers.total_bounds)
        c = gpd.GeoSeries([ent.geometry.union_all().centroid], crs=rivers.crs).to_crs(crs).iloc[0]
        d = rivers.to_crs(crs).distance(c)
        return rivers["id"].iloc[int(np.argmin(d.to_numpy()))]
    return pts["water_id"].value_counts().index[0]

# --- trends -------------------------------------------------------------------------------

#: Direction in which a rising value means better water (all others: rising is worse).
HIGHER_IS_BETTER = frozenset({"DO"})
#: Parameters whose rise or fall says nothing simple about quality (conductivity rises with minerals as with
#: wastewater; turbidity, chlorophyll and algae rising are worse).
NO_DIRECTION = frozenset({"pH", "WT", "EC"})
#: Series longer than this are reduced to daily, then monthly medians before the O(n²) tests.
MAX_TREND_POINTS = 1500


def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, k=1)


def sens_slope(t_years: np.ndarray, y: np.ndarray) -> float:
    """Sen's slope: the median of pairwise slopes (per year), using the real sampling times."""
    t = np.asarray(t_years, float)
    y = np.asarray(y, float)
    i, j = _pairs(len(t))
    dt = t[j] - t[i]
    ok = dt != 0
    return float(np.median((y[j][ok] - y[i][ok]) / dt[ok])) if ok.any() else np.nan


def mann_kendall(y: np.ndarray, alpha: float = 0.05) -> tuple[str, float, float, float]:
    """The original Mann–Kendall test on a series in time order: ``(trend, p, z, tau)``.

    Same statistic as ``pymannkendall.original_test`` (S with the tie-corrected variance, continuity
    correction, two-sided normal p-value), computed with array operations over all pairs.
    """
    from math import erfc, sqrt

    y = np.asarray(y, float)
    n = len(y)
    i, j = _pairs(n)
    s = float(np.sign(y[j] - y[i]).sum())
    _, counts = np.unique(y, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - float(np.sum(counts * (counts - 1) * (2 * counts + 5)))) / 18.0
    z = 0.0 if s == 0 or var <= 0 else (s - np.sign(s)) / sqrt(var)
    p = erfc(abs(z) / sqrt(2.0))
    tau = s / (0.5 * n * (n - 1))
    h = p < alpha
    return ("increasing" if h and z > 0 else "decreasing" if h and z < 0 else "no trend"), p, z, tau


def _reduce(s: pd.Series) -> pd.Series:
    if len(s) > MAX_TREND_POINTS:
        s = s.groupby(s.index.normalize()).median()
    if len(s) > MAX_TREND_POINTS:
        s = s.groupby(s.index.to_period("M").to_timestamp()).median()
    return s


def trend(readings: pd.DataFrame, *, start=None, end=None, alpha: float = 0.05, min_n: int = 8,
          points=None, parameters=None) -> pd.DataFrame:
    """Mann–Kendall trend test and Sen's slope per point and parameter over a window.

    Parameters
    ----------
    readings : the ``readings`` table (``point_id, sampled_at, parameter, value``, optional
        ``below_detection``; below-detection values count at their detection limit).
    start, end : the window (``end`` inclusive of its day); default all data.
    alpha : significance level of the test.
    min_n : fewer readings than this give ``trend`` = ``insufficient``.
    points, parameters : optional lists to restrict the computation.

    Returns
    -------
    One row per (point_id, parameter): ``n, first, last, tau, p, trend`` (``increasing`` /
    ``decreasing`` / ``no trend`` / ``insufficient``), ``slope_per_year`` (Sen's slope in the
    value's unit per year, from real times) and ``quality`` (``worse`` / ``better`` / ``stable`` /
    ``n/a``: rising DO is better, rising pH or temperature has no direction).
    """
    r = readings
    if start is not None:
        r = r[r["sampled_at"] >= pd.Timestamp(start)]
    if end is not None:
        r = r[r["sampled_at"] < _end_of(end)]
    if points is not None:
        r = r[r["point_id"].isin(list(points))]
    if parameters is not None:
        r = r[r["parameter"].isin(list(parameters))]
    r = r[r["value"].notna()]
    rows = []
    for (pid, par), g in r.groupby(["point_id", "parameter"], sort=True):
        s = _reduce(g.set_index("sampled_at")["value"].sort_index().astype(float))
        row = dict(point_id=pid, parameter=par, n=len(s), first=s.index.min(), last=s.index.max(),
                   tau=np.nan, p=np.nan, trend="insufficient", slope_per_year=np.nan)
        if len(s) >= min_n and s.nunique() > 1:
            direction, p, _, tau = mann_kendall(s.to_numpy(), alpha=alpha)
            t_years = (s.index - s.index[0]).total_seconds().to_numpy() / (365.25 * 86400)
            row.update(tau=tau, p=p, trend=direction, slope_per_year=sens_slope(t_years, s.to_numpy()))
        elif len(s) >= min_n:
            row.update(trend="no trend", slope_per_year=0.0, p=1.0, tau=0.0)
        rows.append(row)
    out = pd.DataFrame(rows, columns=["point_id", "parameter", "n", "first", "last", "tau", "p", "trend",
                                      "slope_per_year"])
    up = out["trend"] == "increasing"
    down = out["trend"] == "decreasing"
    better_up = out["parameter"].isin(list(HIGHER_IS_BETTER))
    out["quality"] = np.select([out["parameter"].isin(list(NO_DIRECTION)) & (up | down),
                                (up & ~better_up) | (down & better_up), up | down,
                                out["trend"] == "no trend"],
                               ["n/a", "worse", "better", "stable"], default="n/a")
    return out


TREND_ARROWS = {"increasing": "↑", "decreasing": "↓", "no trend": "→", "insufficient": "·"}


# --- along a river --------------------------------------------------------------------------

def _river_line(rivers: pd.DataFrame, water_id: str):
    import shapely

    row = rivers[rivers["id"] == water_id]
    if not len(row):
        raise InputError(f"没有编号为“{water_id}”的河流。", f"no river with id {water_id!r}")
    line = shapely.line_merge(row.geometry.iloc[0])
    return line


def chainage(points, rivers, water_id: str, *, reverse: bool = False) -> np.ndarray:
    """Distance (m) of each point along river ``water_id`` from its upstream end.

    Points and river are projected to a local metric CRS (:func:`geo.crs.metric_crs_for`) and
    located with ``shapely.line_locate_point``. Rivers are taken as digitised from source to
    mouth (the demo and most hydrography layers); ``reverse`` flips that.
    """
    import geopandas as gpd
    import shapely

    from .crs import metric_crs_for

    river = gpd.GeoSeries([_river_line(rivers, water_id)], crs=rivers.crs)
    crs = metric_crs_for(river.total_bounds)
    line = river.to_crs(crs).iloc[0]
    pts = gpd.GeoSeries(points.geometry if hasattr(points, "geometry") else points, crs=rivers.crs).to_crs(crs)
    d = shapely.line_locate_point(line, pts.values)
    return (line.length - d) if reverse else d


def upstream_downstream(frames: dict[str, pd.DataFrame], *, water_id: str | None = None,
                        park: str = PROFILE_PARK, start=None, end=None, parameters=None,
                        kinds=("section",), reverse: bool = False) -> pd.DataFrame:
    """Sampling points along a river relative to a reach (default: the chemical park), with mean values.

    The reach is where the park's enterprises project onto the river (from the most upstream to
    the most downstream one). Each point is ``upstream`` of it, ``alongside`` it, or ``downstream``.

    Parameters
    ----------
    frames : needs ``sampling_points``, ``readings``, ``rivers``, ``enterprises``.
    water_id : the river; default the river of the points nearest the park (the one most
        sampling points name in ``water_id`` among those of kind ``kinds``).
    park : value of ``enterprises.park`` naming the reach.
    start, end : the window of readings averaged.
    parameters : parameters to compare (default: every assessed one present).
    kinds : sampling point kinds to include (sections; outfalls are sources, not the river).

    Returns
    -------
    One row per (point, parameter): ``id, name, chainage_km, offset_km`` (from the park reach's
    downstream end, negative upstream), ``position, parameter, mean, median, n, class``
    (class of the mean), ``target_class``; ordered along the river. Attributes
    ``attrs["park_km"]`` = (start, end) of the reach in km.
    """
    points = frames["sampling_points"]
    pts = points[points["kind"].isin(list(kinds))] if "kind" in points.columns else points
    if "water_id" not in pts.columns:
        raise ValueError("sampling_points has no water_id column; cannot place points on rivers")
    ent = frames["enterprises"]
    ent = ent[ent.get("park", pd.Series(index=ent.index, dtype=object)) == park]
    rivers = frames["rivers"]
    if water_id is None:
        water_id = profile_river(frames, park=park, kinds=kinds)
    on = pts[pts["water_id"] == water_id]
    km = chainage(on, rivers, water_id, reverse=reverse) / 1000.0
    park_km = chainage(ent, rivers, water_id, reverse=reverse) / 1000.0 if len(ent) else np.array([np.nan])
    lo, hi = float(np.nanmin(park_km)), float(np.nanmax(park_km))
    base = pd.DataFrame({"id": on["id"].to_numpy(), "name": on["name"].to_numpy(), "chainage_km": km,
                         "target_class": on["target_class"].to_numpy()})
    base["offset_km"] = np.where(km < lo, km - lo, np.where(km > hi, km - hi, 0.0))
    base["position"] = np.where(km < lo, "upstream", np.where(km > hi, "downstream", "alongside"))
    r = readings_with_points(frames["readings"], on, as_of=end, start=start)
    if parameters is not None:
        r = r[r["parameter"].isin(list(parameters))]
    r = r[assessed(r["parameter"].to_numpy(object), r["waterbody"].to_numpy(object))]
    agg = r.groupby(["point_id", "parameter"])["value"].agg(["mean", "median", "count"]).reset_index()
    agg = agg.rename(columns={"point_id": "id", "count": "n"})
    out = base.merge(agg, on="id", how="inner")
    out["class"] = classify(out["parameter"].to_numpy(object), out["mean"].to_numpy(float),
                            np.where(out["id"].isin(on.loc[on["waterbody"] == "lake", "id"]), "lake", "river"))
    out["_o"] = out["parameter"].map(ORDER)
    out = out.sort_values(["_o", "chainage_km"]).drop(columns="_o").reset_index(drop=True)
    out.attrs["park_km"] = (lo, hi)
    out.attrs["water_id"] = water_id
    return out


# --- tables of readings (the ``water`` command's inputs and outputs) ------------------------------

def values_from_cells(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Parse the ``parameter, value, waterbody`` (and optional ``below_detection``) text columns of a table.

    A value ``<x`` or ``xL`` is below detection (:func:`geo.io.cells.parse_detection`). Raises
    :class:`GeoError` listing every bad row (numbered as in a file with one header row) and writes nothing.
    """
    need = {"parameter", "value", "waterbody"}
    missing = need - set(df.columns)
    if missing:
        raise GeoError(f"缺少列：{'、'.join(sorted(missing))}", f"missing column(s): {', '.join(sorted(missing))}")
    problems = []
    par = df["parameter"].astype(str).str.strip()
    wb = df["waterbody"].astype(str).str.strip().str.lower()
    raw = df["value"].astype(str).str.strip()
    # <0.01, 0.01L: below the detection limit 0.01 (the one grammar of geo.io.cells)
    parsed = [parse_detection(v) for v in df["value"]]
    below = pd.Series([k == "below" for k, _ in parsed], index=df.index)
    if "below_detection" in df.columns:
        below |= df["below_detection"].astype(str).str.strip().str.lower().isin(["true", "1", "yes", "是"])
    val = pd.Series([float(d) if k in ("value", "below") else np.nan for k, d in parsed], index=df.index)
    for i in range(len(df)):
        row = i + 2  # header is row 1
        if par.iat[i] not in STANDARD:
            problems.append(f"第{row}行 parameter：未知指标代码“{par.iat[i]}” / row {row} parameter: "
                            f"unknown code {par.iat[i]!r}")
        if wb.iat[i] not in WATERBODIES:
            problems.append(f"第{row}行 waterbody：水体应为 river 或 lake，而非“{wb.iat[i]}” / row {row} waterbody: "
                            f"{wb.iat[i]!r} is not river or lake")
        if pd.isna(val.iat[i]) and raw.iat[i] != "":
            problems.append(f"第{row}行 value：“{raw.iat[i]}”不是数值 / row {row} value: {raw.iat[i]!r} is not a number")
    if problems:
        raise GeoError("输入有误，未写出任何结果：\n  " + "\n  ".join(problems[:200]),
                       f"{len(problems)} problem(s) in the input; nothing written (see above)")
    return pd.DataFrame({"parameter": par, "value": val, "waterbody": wb, "below_detection": below}), problems


def classify_table(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (text columns ``parameter, value, waterbody``) with the ``class`` of each reading added."""
    vals, _ = values_from_cells(df)
    out = df.copy()
    out["class"] = pd.array(classify(vals["parameter"], vals["value"], vals["waterbody"], vals["below_detection"]),
                            dtype="Int64") if len(df) else pd.array([], dtype="Int64")
    return out


def assess_table(df: pd.DataFrame) -> pd.DataFrame:
    """``site, class, tn_class`` for a table of ``site, parameter, value, waterbody`` rows (see :func:`site_class`:
    ``tn_class`` is a lake's total nitrogen assessed separately, empty for rivers)."""
    if "site" not in df.columns:
        raise GeoError("缺少列：site", "missing column: site")
    vals, _ = values_from_cells(df)
    vals["site"] = df["site"].astype(str).str.strip().to_numpy()
    wbs = vals.groupby("site")["waterbody"].nunique()
    if (wbs > 1).any():
        bad = ", ".join(wbs[wbs > 1].index[:10])
        raise GeoError(f"同一站点的水体类型不一致：{bad}", f"sites with both river and lake rows: {bad}")
    s = site_class(vals, by="site")
    return pd.DataFrame({"site": s["site"], "class": pd.array(s["class"], dtype="Int64"),
                         "tn_class": pd.array(s["tn_class"], dtype="Int64")})


#: How points are judged, for the files' metadata.
RULE = (f"监测断面按 {METHOD}单因子评价：参评项目为 GB 3838-2002 表1基本项目中除水温、总氮、粪大肠菌群以外的21项，"
        "取其中最差的类别；河流不评价总氮、粪大肠菌群；湖泊、水库总磷按湖库限值评价，总氮单独评价（列于类别旁，不参与定类），"
        "粪大肠菌群单独报告、不参与定类；水温、电导率、浊度、叶绿素α、藻密度不分类；pH 超出 6–9 为劣Ⅴ类，低于检出限按检出限定类；"
        "类别不劣于目标类别为达标；超标倍数 =（实测值 − 目标类别限值）/ 限值。排污口不按地表水分类：" + discharge.RULE)


def assessment_meta(title: str, as_of=None, *, parameters=None, data_version: str | None = None,
                    generated_by: str | None = None):
    """What a water-quality file is (:class:`geo.io.writers.Meta`): the standards and method, the date."""
    from .io.writers import Meta

    return Meta(title=title, rule=RULE, parameters=dict(parameters or {}),
                as_of=None if as_of is None else pd.Timestamp(as_of).date(), data_version=data_version,
                generated_by=generated_by)


def latest_table(frames: dict, as_of=None) -> pd.DataFrame:
    """:func:`latest_assessment` as a table to hand out: classes as integers, ``sampled_on`` as a date."""
    a = latest_assessment(frames, as_of=as_of)
    return a.assign(**{"class": pd.array(a["class"], dtype="Int64"),
                       "tn_class": pd.array(a["tn_class"], dtype="Int64"),
                       "sampled_on": pd.to_datetime(a["sampled_on"]).dt.date})
