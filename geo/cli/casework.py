"""Command line of casework: ``geo complaints``, ``geo inspect``, ``geo site``, ``geo assess``.

The domain lives in ``geo.complaints``, ``geo.inspections``, ``geo.sitefile``, ``geo.assess``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from ..errors import GeoError
from . import operator, store_from
from ..io.writers import write_csv


def _tsv(df: pd.DataFrame) -> str:
    """A table for the terminal (tab-separated), text cells neutralised like every CSV (geo.io.writers)."""
    return write_csv(df, sep="\t").decode("utf-8")


def _store(args, create: bool = False):

    return store_from(args, create=create)


def _day(text: str | None, store, frames: dict | None = None) -> pd.Timestamp:
    """``--as-of`` (default: the store's date), checked against the first day of ``frames`` (else the store's)."""
    from . import as_of_day

    return as_of_day(text, store, frames)


def _user(args, action: str) -> str:
    from ..auth import check_cli_user

    return check_cli_user(args.user, action)


def add_cli(sub) -> None:
    from . import add_store_arg
    from ..crs import DATUMS

    p = sub.add_parser("complaints", help="environmental complaints / 信访投诉")
    cs = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = cs.add_parser("import", help="import a complaints register (xlsx/csv) / 导入信访登记簿",
                      description="Check every row of a register (12345 / 12369 / 信访 work orders as offices "
                                  "export them) and write all rows or nothing. A row with only an address is "
                                  "imported without a point (未定位): place it with `complaints place` or on "
                                  "the complaints page.")
    add_store_arg(q)
    # the file as a positional or as --file, the datum as --datum or --crs: as the other imports spell them
    which = q.add_mutually_exclusive_group(required=True)
    which.add_argument("file", nargs="?", help="the register (xlsx or csv)")
    which.add_argument("--file", dest="file_opt", metavar="FILE", help="the register (same as the positional)")
    q.add_argument("--user", required=True, help="who imports (recorded with every row)")
    q.add_argument("--datum", "--crs", dest="datum", choices=DATUMS, default="wgs84",
                   help="datum of the register's coordinates / 坐标系")
    q.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    q.set_defaults(func=_complaints_import)
    q = cs.add_parser("list", help="list complaints, alarms first / 列出投诉（超期、当日到期优先）")
    add_store_arg(q)
    q.add_argument("--as-of", help="date (default: the store's report date)")
    q.add_argument("--alarms", action="store_true", help="only overdue and due-today complaints")
    q.add_argument("--figures", action="store_true", help="print the figures of the year to the date")
    q.add_argument("--unplaced", action="store_true", help="only complaints without a point (未定位)")
    q.set_defaults(func=_complaints_list)
    q = cs.add_parser("place", help="give an unplaced complaint its point / 为未定位投诉标注位置")
    add_store_arg(q)
    q.add_argument("id", help="the complaint's id")
    q.add_argument("--lon", required=True, help="longitude")
    q.add_argument("--lat", required=True, help="latitude")
    q.add_argument("--datum", "--crs", dest="datum", choices=DATUMS, default="wgs84",
                   help="datum of --lon/--lat (gcj02: read from Amap/Tencent; bd09: Baidu) / 坐标系")
    q.add_argument("--user", required=True, help="who places it (recorded with the point)")
    q.add_argument("--replace", action="store_true", help="also move a complaint that already has a point")
    q.set_defaults(func=_complaints_place)

    p = sub.add_parser("inspect", help="inspections and findings / 巡查与检查结果")
    cs = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = cs.add_parser("record", help="record a stop's finding / 登记点位检查结果")
    add_store_arg(q)
    q.add_argument("visit", help="the stop id (inspection id + stop number, e.g. XC20070608-01-03)")
    q.add_argument("finding", help="ok | violation | closed_confirmed | not_found (or 正常/违规/确认已关停/未找到)")
    q.add_argument("--user", required=True)
    q.add_argument("--note", default="")
    q.add_argument("--lon", type=float)
    q.add_argument("--lat", type=float)
    q.add_argument("--photo", action="append", default=[], help="a photo or document file (repeatable)")
    q.add_argument("--confirm", action="store_true", help="also write the status event the finding suggests")
    q.set_defaults(func=_inspect_record)
    q = cs.add_parser("new", help="make an inspection from a patrol route / 由巡查路线建立巡查")
    add_store_arg(q)
    q.add_argument("--from-route", required=True, metavar="FILE",
                   help="the checklist written by `geo route --out FILE.csv|.xlsx` (or the /patrol download)")
    q.add_argument("--user", required=True, help="who records it")
    q.add_argument("--date", help="day of the inspection (default: the date in an xlsx route file)")
    q.add_argument("--kind", default="joint", help="joint | sampling | spot | night (default joint)")
    q.add_argument("--departments", default="", help="departments taking part, 、 or comma separated "
                                                     "(a joint patrol needs at least four)")
    q.add_argument("--team-no", type=int, help="only this team of the route (1, 2, …); default every stop")
    q.add_argument("--team", default="", help="name of the inspection team")
    q.add_argument("--note", default="")
    q.set_defaults(func=_inspect_new)
    q = cs.add_parser("list", help="list inspections and the twice-a-month rule / 巡查列表与每半月一次规则")
    add_store_arg(q)
    q.add_argument("--as-of")
    q.add_argument("--stops", metavar="INSPECTION", help="list the stops of one inspection")
    q.set_defaults(func=_inspect_list)

    p = sub.add_parser("site", help="one file per site (一企一档)")
    add_store_arg(p)
    p.add_argument("layer", help="enterprises | kilns | farms")
    p.add_argument("id")
    p.add_argument("--out", help="write the file as PDF here")
    p.set_defaults(func=_site)

    p = sub.add_parser("assess", help="township assessment / 乡镇考核")
    add_store_arg(p)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--as-of", help="date (default: the store's report date)")
    p.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    p.add_argument("--out", help="file to write (xlsx: required; csv: default standard output)")
    p.add_argument("--circular", help="also write the circular (通报) as PDF here")
    p.add_argument("--departments", action="store_true", help="departments instead of townships (csv)")
    p.set_defaults(func=_assess)


def _complaints_import(args) -> int:
    from ..complaints import import_file

    store = _store(args)
    intake = import_file(store, args.file or args.file_opt, datum=args.datum, user=_user(args, "casework"),
                         dry_run=args.dry_run)
    for p in intake.problems[:500]:
        print(p, file=sys.stderr)
    print(intake.summary(), file=sys.stderr)
    if not intake.ok:
        print("未写入任何数据 / nothing was written", file=sys.stderr)
        return 1
    print("检查通过，未写入（--dry-run） / checked, nothing written" if args.dry_run else
          f"已写入 {len(intake.rows)} 件 / {len(intake.rows)} complaint(s) written to {store.url}", file=sys.stderr)
    return 0


def _complaints_list(args) -> int:
    from .. import complaints as C

    store = _store(args)
    c = store.read("complaints")
    day = _day(args.as_of, store, {"complaints": c})
    if args.unplaced:
        sys.stdout.write(_tsv(C.unplaced(c)))
        return 0
    if args.figures:
        f = C.figures(c, store.read("townships"), start=pd.Timestamp(day.year, 1, 1), end=day)
        print(_tsv(C.figures_table(f)), end="")
        return 0
    rows = C.alarms(c, day) if args.alarms else c.sort_values("received_on")
    out = C.labelled(rows, day)
    if args.alarms:
        out.insert(0, "告警", rows["alarm_label"].to_numpy())
    sys.stdout.write(_tsv(out))
    return 0


def _complaints_place(args) -> int:
    from .. import complaints as C

    store = _store(args)
    point = C.place(store, args.id, args.lon, args.lat, datum=args.datum, user=_user(args, "casework"),
                    replace=args.replace)
    print(f"已定位 {args.id}：{point.x:.6f}, {point.y:.6f}（WGS84） / placed", file=sys.stderr)
    return 0


def _inspect_record(args) -> int:
    from .. import inspections as I

    store = _store(args)
    user = _user(args, "inspect")
    if (args.lon is None) != (args.lat is None):
        raise GeoError("--lon 与 --lat 须同时给出。", "give both --lon and --lat")
    photos = [(Path(p).name, Path(p).read_bytes()) for p in args.photo]
    proposal = I.record_finding(store, args.visit, args.finding, note=args.note, user=user, photos=photos,
                                location=(args.lon, args.lat) if args.lon is not None else None)
    print(f"已登记 {args.visit} / recorded", file=sys.stderr)
    if proposal is not None:
        if args.confirm:
            I.confirm(store, proposal, user=user)
            print(f"已登记状态变更：{proposal.label} / status event written", file=sys.stderr)
        else:
            print(f"建议登记状态变更：{proposal.label}（加 --confirm 写入） / proposed status event, "
                  "not written without --confirm", file=sys.stderr)
    return 0


def _inspect_new(args) -> int:
    from .. import inspections as I
    from ..inspection_route import from_route
    from ..io.cells import parse_date

    store = _store(args)
    user = _user(args, "inspect")
    day = None
    if args.date:
        day = parse_date(args.date)
        if day is None:
            raise GeoError(f"日期“{args.date}”无法识别。", f"--date {args.date!r} is not a date")
    iid = from_route(store, args.from_route, held_on=day, team_no=args.team_no, kind=args.kind,
                     departments=args.departments.replace(",", "、"), team=args.team, note=args.note, user=user)
    n = len(I.stops_of(store, iid))
    print(iid)
    print(f"已建立巡查 {iid}，{n} 个点位 / inspection {iid} made with {n} stop(s); "
          f"record findings with: geo inspect record {iid}-01 …", file=sys.stderr)
    return 0


def _inspect_list(args) -> int:
    from .. import inspections as I
    from ..contract import FINDING_LABELS, LAYER_LABELS

    store = _store(args)
    if args.stops:
        s = I.stops_of(store, args.stops)
        if not len(s):
            raise GeoError(f"没有巡查“{args.stops}”或其没有点位。", f"no stops for inspection {args.stops!r}")
        out = pd.DataFrame({"记录编号": s["id"], "图层": s["layer"].map(LAYER_LABELS), "编号": s["feature_id"],
                            "名称": s["name"], "检查结果": s["finding"].map(FINDING_LABELS).fillna("未记录"),
                            "备注": s["note"].fillna(""), "检查人": s["recorded_by"].fillna("")})
        sys.stdout.write(_tsv(out))
        return 0
    ins, visits = store.read("inspections"), store.read("inspection_visits")
    day = _day(args.as_of, store, {"inspections": ins})
    sys.stdout.write(_tsv(I.labelled_inspections(ins[ins["held_on"] <= day], visits)))
    rule = I.joint_by_month(ins, pd.Timestamp(day.year, 1, 1), day)
    print("\nmonth\tjoint\trequired\tmet", file=sys.stderr)
    for _, r in rule.iterrows():
        print(f"{r['month']}\t{r['joint']}\t{r['required']}\t{'yes' if r['met'] else 'NO'}", file=sys.stderr)
    return 0


def _site(args) -> int:
    from ..sitefile import site_file, to_pdf

    store = _store(args)
    day = _day(None, store)  # the store's report date, the day the water page opens on
    f = site_file(store, args.layer, args.id, as_of=day)
    if args.out:
        Path(args.out).write_bytes(to_pdf(f, as_of=day, data_version=store.version(),
                                          generated_by=operator()))
        print(f"一企一档已写入 {args.out} / site file written", file=sys.stderr)
        return 0
    print(f"# {f.name}（{f.id}）")
    for title, df in (("基本情况", f.facts), ("状态记录", f.history), ("排口监测", f.outfalls),
                      ("巡查记录", f.visits), ("信访投诉", f.complaints)):
        print(f"\n## {title}")
        print(_tsv(df) if len(df) else "（无）", end="" if len(df) else "\n")
    if f.water["distance_m"] is not None:
        print(f"\n## 沿河距离\n{f.water['distance_m']:.0f} 米（{f.water['water_name']}）")
    print("\n## 附件")
    for _, a in f.attachments.iterrows():
        print(f"{a['id']}\t{a['name']}\t{a['mime']}\t{a['size']}\t{a['sha256']}")
    return 0


def _assess(args) -> int:
    from .. import assess as A

    store = _store(args)
    scheme = A.load_scheme(args.year)
    frames = store.read_many(A.TABLES_NEEDED)
    day = _day(args.as_of, store, frames)
    if args.circular:
        Path(args.circular).write_bytes(A.circular_pdf(store, args.year, day, scheme, generated_by=operator()))
        print(f"通报已写入 {args.circular} / circular written", file=sys.stderr)
    if args.format == "xlsx":
        if not args.out:
            raise GeoError("xlsx 格式须用 --out 指定文件。", "--format xlsx needs --out FILE")
        Path(args.out).write_bytes(A.to_xlsx(store, args.year, day, scheme, generated_by=operator()))
        print(f"考核结果已写入 {args.out} / written", file=sys.stderr)
        return 0
    if args.departments:
        d = A.department_scores(frames, args.year, day, scheme)
        data = write_csv(d.drop(columns="basis"), bom=True)
    else:
        data = A.to_csv(A.township_scores(frames, args.year, day, scheme), scheme)
    if args.out:
        Path(args.out).write_bytes(data)
    else:
        sys.stdout.write(data.decode("utf-8-sig"))
    return 0
