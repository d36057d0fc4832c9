"""``python -m geo import``: check every row of a ledger and upsert it by id in one commit.

The report (stdout) lists the findings, then every row's class: new, updated
(each changing field, old → new) or unchanged (at most ``[limits]
max_report_lines`` rows of each class, then the class's total). Stored sites
are changed only with ``--update-existing``; without it a ledger that would
change one is refused whole (exit 1, nothing written) and its updated rows are
listed, so the user can decide and run it again.

Coordinates typed into a table need their datum (``--crs``): there is no default, because a ledger
copied from a phone map (GCJ-02) lies ~580 m from where WGS84 would put it. ``--map`` / ``--map-file``
name the columns as the /data page's mapping does; ``--skip-bad-rows`` writes the good rows only.
"""
from __future__ import annotations

import sys

import pandas as pd

from .. import intake
from ..crs import DATUMS
from ..auth import check_cli_user
from ..intake.ledger import parse_mapping, read_mapping_file
from . import add_store_arg, store_from


def add_cli(sub) -> None:
    p = sub.add_parser(
        "import", help="import a ledger (xlsx, xls, csv, geojson, zipped shapefile, gpkg, kml/kmz, gpx) / 导入台账",
        description="Check every row of a ledger and upsert it by id in one commit; any error writes nothing. "
                    "Shell use is trusted: --user is recorded as the author of every status event "
                    "(the web page asks for a password instead).")
    add_store_arg(p)
    p.add_argument("--layer", required=True, choices=intake.IMPORT_LAYERS, help="target layer / 目标图层")
    p.add_argument("--file", required=True, help="ledger file / 台账文件")
    p.add_argument("--crs", "--datum", dest="datum", choices=DATUMS,
                   help="datum of typed coordinates, required for tables and KML/GPX (gcj02: copied from "
                        "Amap/Tencent; bd09: Baidu; cgcs2000/wgs84: GPS and official data) / 坐标系（必选）")
    p.add_argument("--confirm-datum", action="store_true",
                   help="import with --crs although the data point to another datum / 确认坐标系无误")
    p.add_argument("--gk-zone", help="Gauss-Krüger zone when metres cannot tell it: 3:40, 6:20 or cm:120 / 高斯投影带号")
    p.add_argument("--map", dest="mapping", help="column mapping, e.g. '养殖场(小区)编码=id,乡(镇)=township' "
                                                 "(as the /data page's) / 列对应")
    p.add_argument("--map-file", help="a saved mapping (the /data page's download, JSON) / 列对应文件")
    p.add_argument("--sheet", help="Excel sheet or GeoPackage/zip layer (name or number from 1) / 工作表")
    p.add_argument("--dry-run", action="store_true", help="check only, write nothing / 只检查不写入")
    p.add_argument("--skip-bad-rows", action="store_true",
                   help="write the rows without errors and list the others; default: all or nothing / 只导入无误的行")
    p.add_argument("--update-existing", action="store_true",
                   help="also change sites already stored (listed as updated in the report); without it a ledger "
                        "that would change one writes nothing / 更新已有点位")
    p.add_argument("--user", required=True, help="who imports (recorded in status_events) / 导入人")
    p.set_defaults(func=run)


def _mapping(args) -> dict[str, str] | None:
    """The mapping the options give (``--map-file`` first, ``--map`` on top of it), else ``None``: auto."""
    if not args.mapping and not args.map_file:
        return None
    out: dict[str, str] = {}
    if args.map_file:
        out.update(parse_mapping(read_mapping_file(args.map_file), args.layer))
    if args.mapping:
        out.update(parse_mapping(args.mapping, args.layer))
    return out


def run(args) -> int:
    check_cli_user(args.user, "import")
    store = store_from(args)
    mapping = _mapping(args)
    if mapping is not None:
        # the columns the options do not name are recognised as usual (as on the page)
        ledger = intake.read_ledger(args.file, sheet=args.sheet, layer=args.layer)
        auto = intake.auto_mapping(ledger.frame.columns, args.layer)
        taken = set(mapping.values())
        mapping = {**{c: t for c, t in auto.items() if t not in taken and c not in mapping}, **mapping}
    # a file that cannot be read at all raises intake.IntakeError (bilingual): main prints it
    result = intake.import_file(store, args.layer, args.file, datum=args.datum, sheet=args.sheet, user=args.user,
                                dry_run=args.dry_run, update_existing=args.update_existing, mapping=mapping,
                                confirm_datum=args.confirm_datum, gk_zone=args.gk_zone,
                                skip_bad_rows=args.skip_bad_rows)
    if result.problems:
        print("行号/row\t编号/id\t列/column\t级别/severity\t问题/problem")
        for p in sorted(result.problems, key=lambda p: (p.severity != "error", p.row or 0)):
            print(p)
    if result.changes:
        print("行号/row\t编号/id\t类别/class\t变更/changes (原 → 新 / old → new)")
        for rec in result.changes_report().itertuples(index=False):
            print("\t".join("" if v is None or v is pd.NA else str(v) for v in rec))
    print(result.summary(), file=sys.stderr)
    if not result.ok:
        print("未写入任何数据。 Nothing was written.", file=sys.stderr)
        return 1
    if args.dry_run:
        print("试运行：未写入。 Dry run: nothing was written.", file=sys.stderr)
    else:
        print(f"已写入 {store.url}。 Written.", file=sys.stderr)
    return 0
