"""``python -m geo route``: plan a day's patrol for one or more teams and export GPX/KML/CSV/XLSX."""
from __future__ import annotations

from pathlib import Path


from .. import patrol, rules
from ..errors import GeoError
from . import add_store_arg, as_of_day, operator, store_from


def add_cli(sub) -> None:
    p = sub.add_parser("route", help="plan a day's patrol routes / 规划巡查路线",
                       description="Plan one day's patrol for one or more teams and export GPX/KML/CSV/XLSX.")
    add_store_arg(p)
    p.add_argument("--select", default="", help="comma list of " + ", ".join(list(patrol.SELECTIONS)[:-1]))
    p.add_argument("--ids", nargs="*", default=[], help="hand-picked sites: ID or layer:ID (comma or space separated)")
    p.add_argument("--as-of", default=None, help="date of the statuses (default: the store's as_of)")
    p.add_argument("--township", action="append", default=[],
                   help="keep the selections' sites inside this township (repeat for several; --ids anywhere)")
    p.add_argument("--teams", type=int, default=1)
    p.add_argument("--hours", type=float, default=8.0, help="working day per team, hours")
    p.add_argument("--start", default="08:30", help="departure time HH:MM")
    p.add_argument("--speed", type=float, default=40.0, help="average speed, km/h")
    p.add_argument("--circuity", type=float, default=1.3, help="road distance / straight-line distance")
    p.add_argument("--service", default="", help="minutes per kind, e.g. sampling=40,kilns-closed=10")
    p.add_argument("--required", default=None,
                   help="kinds always visited (default sampling,picked); the rest are dropped when the day is full")
    p.add_argument("--limit", type=float, default=None,
                   help="riverside limit for 'violations', metres (default: [riverside] limit_m, 200)")
    p.add_argument("--depot", default=None, help="lon,lat of the bureau (default: meta 'depot', else centroid)")
    p.add_argument("--no-roads", action="store_true", help="ignore a roads layer; straight-line estimate")
    p.add_argument("--time-limit", type=float, default=5.0, help="solver time, seconds")
    p.add_argument("--datum", default="wgs84", choices=["wgs84", "gcj02"],
                   help="coordinates of the export (gcj02 for apps that expect Amap coordinates)")
    p.add_argument("--out", required=True, help="FILE.gpx | .kml | .csv | .xlsx")
    p.add_argument("--labels", choices=["zh"], default=None,
                   help="CSV for people: Chinese headers, UTF-8 with BOM, the plan's rule as leading lines "
                        "(default: the English machine columns)")
    p.set_defaults(func=run)


def service_minutes(text: str) -> dict:
    """``--service sampling=40,kilns-closed=10`` as ``{kind: minutes}``."""
    out = {}
    for part in filter(None, (s.strip() for s in text.split(","))):
        k, _, v = part.partition("=")
        if k not in patrol.SELECTIONS:
            raise GeoError(f"未知类别“{k}”。", f"unknown kind {k!r} in --service")
        try:
            out[k] = float(v)
        except ValueError:
            raise GeoError(f"停留时间“{part}”应为 类别=分钟。", f"--service item {part!r} must be kind=minutes") from None
    return out


def run(args) -> int:
    if Path(args.out).suffix.lower() not in patrol.EXPORTS:
        raise GeoError(f"不支持的输出格式“{Path(args.out).suffix}”，可选 .gpx .kml .csv .xlsx",
                       f"unsupported output format {Path(args.out).suffix!r}; use .gpx, .kml, .csv or .xlsx")
    selections = [s.strip() for s in args.select.split(",") if s.strip()]
    ids = [i for chunk in args.ids for i in chunk.split(",") if i.strip()]
    if not selections and not ids:
        raise GeoError("请用 --select 选择巡查对象类别，或用 --ids 指定点位。", "give --select and/or --ids")
    store = store_from(args)
    as_of = as_of_day(args.as_of, store) if args.as_of else rules.resolve_as_of(None, store.meta())
    service = {**patrol.DEFAULT_SERVICE_MIN, **service_minutes(args.service)}
    required = patrol.DEFAULT_REQUIRED if args.required is None else frozenset(
        s.strip() for s in args.required.split(",") if s.strip())
    bad = sorted(required - set(patrol.SELECTIONS))
    if bad:
        raise GeoError(f"未知类别：{', '.join(bad)}", f"unknown kind(s) in --required: {', '.join(bad)}")
    params = patrol.PatrolParams(teams=args.teams, hours=args.hours, start=args.start, speed_kmh=args.speed,
                                 circuity=args.circuity, service_min=service, required=required,
                                 **({} if args.limit is None else {"limit_m": args.limit}), time_limit_s=args.time_limit)
    params.validate()
    depot = patrol.parse_depot(args.depot) if args.depot else None
    plan = patrol.plan_from_store(store, selections, ids=ids, as_of=as_of, params=params, depot=depot,
                                  use_roads=not args.no_roads, townships=args.township)
    out = patrol.write(plan, args.out, args.datum, generated_by=operator(), labels=args.labels)
    for w in plan.warnings:
        print(f"注意：{w}")
    for r in plan.teams.itertuples():
        print(f"{r.label}: {r.stops} 处, {r.km} km, 预计 {r.finish or '-'} 返回 / team {r.team}: {r.stops} stops, "
              f"{r.km} km, back at {r.finish or '-'}")
    nd = int(plan.stops["dropped"].sum())
    if nd:
        print(f"未安排 {nd} 处 / {nd} stop(s) dropped: " + ", ".join(plan.dropped["name"].head(20)))
    print(f"已写出 {out} / wrote {out}")
    return 0 if plan.feasible else 1
