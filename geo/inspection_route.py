"""A patrol route file becomes an inspection: the checklist that ``geo route --out X.csv|.xlsx`` (or the
/patrol page's download) writes, read back into stops and recorded with :func:`geo.inspections.new_inspection`.

The file gives the order of the stops and which site each one is (layer and id); the points come from the
store, never from the file (its coordinates may be GCJ-02). Every stop is checked first: one unknown site
refuses the whole file, and nothing is written.
"""
from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .contract import LAYER_LABELS, STORE_CRS
from .errors import GeoError
from .io.cells import blank, norm_key, normalise_id, parse_date, text
from .io.readers import read_table
from .patrol import CHECKLIST_COLUMNS, team_label

#: The checklist columns read back, with their English (csv) and Chinese (xlsx) headers.
ALIASES = {k: (k, CHECKLIST_COLUMNS[k]) for k in ("team", "order", "layer", "id")}
NEEDED = ("layer", "id")
LAYER_CODES = {**{norm_key(v): k for k, v in LAYER_LABELS.items()}, **{norm_key(k): k for k in LAYER_LABELS}}
TEAM_NUMBERS = {team_label(k): k for k in range(1, 100)}
ROUTE_LAYERS = ("enterprises", "kilns", "farms", "sampling_points")


def _route_day(path: Path, name: str | None) -> pd.Timestamp | None:
    """The date an xlsx route states in its sheet 说明 (written by :func:`geo.patrol.to_xlsx`), else ``None``."""
    try:
        notes = read_table(path, name=name, sheet="说明", formats=("xlsx",),
                           aliases={"key": ("项目",), "value": ("值", "内容")})
    except GeoError:  # no such sheet: a checklist saved by hand
        return None
    cols = {v: k for k, v in notes.matched.items()}
    if not {"key", "value"} <= set(cols):
        return None
    for k, v in zip(notes.frame[cols["key"]], notes.frame[cols["value"]]):
        # the statement of the file (geo.io.writers.Meta) names it 巡查日期; older checklists 日期
        if not blank(k) and text(k) in ("巡查日期", "日期"):
            return parse_date(v)
    return None


def read_route(path: str | Path, *, name: str | None = None) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """The stops of a route checklist (csv or xlsx): ``row``, ``team``, ``order``, ``layer``, ``id`` (raw
    cells, read by :func:`geo.io.readers.read_table`); and the route's date when the file states it."""
    path = Path(path)
    suffix = Path(name or path.name).suffix.lower()
    if suffix not in (".csv", ".txt", ".xlsx", ".xlsm"):
        raise GeoError(f"不支持的路线文件类型“{suffix}”（支持 geo route 写出的 csv、xlsx 巡查清单）。",
                       f"unsupported route file type {suffix!r} (the csv or xlsx checklist of geo route)")
    table = read_table(path, name=name, aliases=ALIASES, formats=("xlsx", "csv"))
    cols = {v: k for k, v in table.matched.items()}
    missing = [k for k in NEEDED if k not in cols]
    if missing:
        raise GeoError(f"路线文件缺少列：{'、'.join(CHECKLIST_COLUMNS[k] for k in missing)}（应为 geo route 写出的"
                       f"巡查清单）。", f"the route file lacks column(s) {', '.join(missing)} "
                       "(expected the checklist written by geo route)")
    f = table.frame
    out = pd.DataFrame({"row": table.row_numbers,
                        **{k: (f[cols[k]].to_numpy() if k in cols else [None] * len(f)) for k in ALIASES}})
    if not len(out):
        raise GeoError("路线文件中没有点位。", "the route file lists no stops")
    return out, (_route_day(path, name) if suffix in (".xlsx", ".xlsm") else None)


def _team_number(v) -> int | None:
    if blank(v):
        return 1
    t = text(v)
    if t in TEAM_NUMBERS:
        return TEAM_NUMBERS[t]
    m = re.fullmatch(r"第?(\d+)组?", t)
    return int(m[1]) if m else None


def stops_from_route(frames: dict, route: pd.DataFrame, *, team: int | None = None) -> gpd.GeoDataFrame:
    """The route's stops as sites of the store (``layer``, ``id``, ``team``, ``order``, the store's point), in
    route order; only team ``team`` when given. Raises :class:`GeoError` listing every unknown row."""
    problems, rows = [], []
    points = {lay: dict(zip(frames[lay]["id"].astype(str), frames[lay].geometry.values))
              for lay in ROUTE_LAYERS if lay in frames}
    for r in route.itertuples():
        k = _team_number(r.team)
        layer = None if blank(r.layer) else LAYER_CODES.get(norm_key(text(r.layer)))
        fid = "" if blank(r.id) else text(r.id)
        if layer in points and fid not in points[layer]:
            fid = normalise_id(fid) or ""  # the documented id rule (NFKC, upper case), as ledgers store them
        if k is None:
            problems.append(f"第{r.row}行：组别“{text(r.team)}”无法识别 / row {r.row}: team not understood")
            continue
        if layer not in points:
            problems.append(f"第{r.row}行：图层“{'' if blank(r.layer) else text(r.layer)}”不是可巡查的点位图层 / "
                            f"row {r.row}: not a site layer")
            continue
        if fid not in points[layer]:
            problems.append(f"第{r.row}行：{LAYER_LABELS[layer]}中没有编号为“{fid}”的点位 / "
                            f"row {r.row}: no {layer} site {fid!r}")
            continue
        try:
            order = int(float(text(r.order))) if not blank(r.order) else len(rows) + 1
        except ValueError:
            order = len(rows) + 1
        rows.append({"layer": layer, "id": fid, "team": k, "order": order, "geometry": points[layer][fid]})
    if problems:
        raise GeoError(f"路线文件有 {len(problems)} 处问题，未建立巡查。",
                       f"{len(problems)} problem(s) in the route file; no inspection was made", problems)
    stops = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["layer", "id", "team", "order", "geometry"]),
                             geometry="geometry", crs=STORE_CRS)
    if team is not None:
        if team not in set(stops["team"]):
            raise GeoError(f"路线文件中没有{team_label(team)}。", f"the route file has no team {team}")
        stops = stops[stops["team"] == team]
    return stops.sort_values(["team", "order"], kind="stable").reset_index(drop=True)


def from_route(store, path: str | Path, *, held_on=None, team_no: int | None = None, kind: str = "joint",
               departments="", team: str = "", note: str = "", user: str, name: str | None = None) -> str:
    """Make an inspection from a route checklist file; returns its id (one commit, or nothing on any error).

    ``held_on`` defaults to the date the file states (xlsx); a csv checklist needs it given.
    """
    from .inspections import new_inspection, visits_from_stops

    route, day = read_route(path, name=name)
    held_on = held_on if held_on is not None else day
    if held_on is None:
        raise GeoError("路线文件未写明日期，请指定巡查日期（--date）。", "the route file states no date: give --date")
    stops = stops_from_route(store.read_many(list(ROUTE_LAYERS)), route, team=team_no)
    if not len(visits_from_stops("check", stops, store)):
        raise GeoError("路线中没有企业、窑（棚）或养殖场（监测断面不列为巡查点位），未建立巡查。",
                       "the route visits no enterprise, kiln or farm (river sections are not inspection stops); "
                       "no inspection was made")
    if team_no is not None and not team:
        team = team_label(team_no)
    return new_inspection(store, held_on=held_on, kind=kind, departments=departments, team=team, note=note,
                          stops=stops, user=user)
