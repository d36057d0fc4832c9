"""A patrol route file becomes an inspection: the checklist that ``geo route --out X.csv|.xlsx`` (or the
/patrol page's download) writes, read back into stops and recorded with :func:`geo.inspections.new_inspection`.

The file gives the order of the stops and which site each one is (layer and id); the points come from the
store, never from the file (its coordinates may be GCJ-02). Every stop is checked first: one unknown site
refuses the whole file, and nothing is written.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .contract import LAYER_LABELS, STORE_CRS
from .errors import GeoError
from .intake import MAX_BYTES, _blank, _text, decode_text, parse_date
from .patrol import CHECKLIST_COLUMNS, team_label

#: The checklist columns needed, by their English (csv) and Chinese (xlsx) headers.
NEEDED = ("layer", "id")


def _nfkc(text: str) -> str:
    """As cells are read (:func:`geo.intake._text`): full-width brackets become ASCII ones."""
    return unicodedata.normalize("NFKC", text)


HEADERS = {**{k: k for k in CHECKLIST_COLUMNS}, **{_nfkc(v): k for k, v in CHECKLIST_COLUMNS.items()}}
LAYER_CODES = {**{_nfkc(v): k for k, v in LAYER_LABELS.items()}, **{k: k for k in LAYER_LABELS}}
TEAM_NUMBERS = {team_label(k): k for k in range(1, 100)}
ROUTE_LAYERS = ("enterprises", "kilns", "farms", "sampling_points")


def _rows_xlsx(path: Path) -> tuple[list[list], pd.Timestamp | None]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise GeoError(f"无法读取 Excel 文件：{exc}", f"cannot read the Excel file: {exc}") from exc
    try:
        sheet = wb["巡查清单"] if "巡查清单" in wb.sheetnames else wb[wb.sheetnames[0]]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        day = None
        if "说明" in wb.sheetnames:  # the route's own date, written by geo.patrol.to_xlsx
            for r in wb["说明"].iter_rows(values_only=True):
                if r and r[0] == "日期" and len(r) > 1:
                    day = parse_date(r[1])
    finally:
        wb.close()
    return rows, day


def read_route(path: str | Path, *, name: str | None = None) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """The stops of a route checklist (csv or xlsx): ``row``, ``team``, ``order``, ``layer``, ``id``; and the
    route's date when the file states it (xlsx sheet 说明), else ``None``."""
    path = Path(path)
    source = name or path.name
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise GeoError(f"文件过大（{size / 1e6:.1f} MB，上限 {MAX_BYTES / 1e6:.0f} MB）。",
                       f"file too large ({size / 1e6:.1f} MB; limit {MAX_BYTES / 1e6:.0f} MB)")
    suffix = Path(source).suffix.lower()
    day = None
    if suffix in (".xlsx", ".xlsm"):
        rows, day = _rows_xlsx(path)
    elif suffix in (".csv", ".txt"):
        try:
            text, _ = decode_text(path.read_bytes())
        except ValueError as exc:
            raise GeoError("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV。", str(exc)) from exc
        rows = list(csv.reader(io.StringIO(text)))
    else:
        raise GeoError(f"不支持的路线文件类型“{suffix}”（支持 geo route 写出的 csv、xlsx 巡查清单）。",
                       f"unsupported route file type {suffix!r} (the csv or xlsx checklist of geo route)")
    rows = [r for r in rows if r and not all(_blank(c) for c in r)]
    if not rows:
        raise GeoError("路线文件为空。", "the route file is empty")
    header = [HEADERS.get(_text(c) if not _blank(c) else "", None) for c in rows[0]]
    missing = [CHECKLIST_COLUMNS[k] for k in NEEDED if k not in header]
    if missing:
        raise GeoError(f"路线文件缺少列：{'、'.join(missing)}（应为 geo route 写出的巡查清单）。",
                       f"the route file lacks column(s) {', '.join(k for k in NEEDED if k not in header)} "
                       "(expected the checklist written by geo route)")
    col = {k: header.index(k) for k in ("team", "order", "layer", "id") if k in header}
    out = []
    for n, r in enumerate(rows[1:], start=2):
        cell = lambda k: r[col[k]] if k in col and col[k] < len(r) and not _blank(r[col[k]]) else None  # noqa: E731
        out.append({"row": n, "team": cell("team"), "order": cell("order"), "layer": cell("layer"), "id": cell("id")})
    if not out:
        raise GeoError("路线文件中没有点位。", "the route file lists no stops")
    return pd.DataFrame(out), day


def _team_number(v) -> int | None:
    if v is None:
        return 1
    t = _text(v)
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
        layer = LAYER_CODES.get(_text(r.layer)) if r.layer is not None else None
        fid = _text(r.id) if r.id is not None else ""
        if k is None:
            problems.append(f"第{r.row}行：组别“{_text(r.team)}”无法识别 / row {r.row}: team not understood")
            continue
        if layer not in points:
            problems.append(f"第{r.row}行：图层“{'' if r.layer is None else _text(r.layer)}”不是可巡查的点位图层 / "
                            f"row {r.row}: not a site layer")
            continue
        if fid not in points[layer]:
            problems.append(f"第{r.row}行：{LAYER_LABELS[layer]}中没有编号为“{fid}”的点位 / "
                            f"row {r.row}: no {layer} site {fid!r}")
            continue
        try:
            order = int(float(_text(r.order))) if r.order is not None else len(rows) + 1
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
