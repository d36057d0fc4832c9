"""``python -m geo water``: latest class of each sampling point; ``classify``, ``assess`` and ``import`` lab results."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from .. import water
from ..intake import lab as labfile
from ..errors import GeoError
from ..io.readers import read_table as io_read_table
from ..io.writers import write_csv, write_xlsx
from . import PROBLEMS_PER_KIND, as_of_day, operator, store_from


def add_cli(sub) -> None:
    """``python -m geo water …``: classify, assess, import, and the latest class of every point."""
    p = sub.add_parser("water", help="水质评价 GB 3838-2002: classes, site assessment, lab import",
                       description="Without a subcommand: latest class of each sampling point "
                                   "(--store S [--as-of D] --out F).")
    p.add_argument("--store", help="GeoPackage path or postgresql:// URL (default: $QINGSHAN_STORE)")
    p.add_argument("--as-of", dest="as_of", help="date (default: the store's as_of)")
    p.add_argument("--out", dest="output", help="output CSV (or .xlsx)")
    p.set_defaults(func=latest)
    ws = p.add_subparsers(dest="water_command", metavar="SUBCOMMAND")
    add_platform_cli(ws)  # ``water platform`` and ``water monthly`` (geo.intake.platform)
    c = ws.add_parser("classify", help="class of each reading (columns parameter,value,waterbody)")
    c.add_argument("--in", dest="input", required=True)
    c.add_argument("--out", dest="output", required=True)
    c.set_defaults(func=classify)
    a = ws.add_parser("assess", help="site class = worst assessed parameter (columns site,parameter,value,waterbody)")
    a.add_argument("--in", dest="input", required=True)
    a.add_argument("--out", dest="output", required=True)
    a.set_defaults(func=assess)
    i = ws.add_parser("import", help="import lab results (CSV/xlsx: point, time, parameter, value, unit)",
                      description="Check a lab file and append its readings in one commit: nothing on any error, "
                                  "or with --skip-bad-rows the good rows (every row left out is listed).")
    i.add_argument("file_arg", nargs="?", metavar="FILE", help="lab file (.csv UTF-8/GBK, or .xlsx)")
    # Own dest: argparse lets a subcommand's defaults overwrite the parent's --store.
    i.add_argument("--store", dest="import_store", help="GeoPackage path or postgresql:// URL")
    i.add_argument("--file", help="the lab file (as FILE)")
    i.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    i.add_argument("--skip-bad-rows", action="store_true",
                   help="write the rows without errors and list the others (default: any error, nothing written)")
    i.add_argument("--user", help="who imports, stored with the readings (default: the system account)")
    i.set_defaults(func=import_lab)


# --- files ------------------------------------------------------------------------------------

def read_table(path: str) -> pd.DataFrame:
    """An input table as text cells (blanks as ""): .xlsx, else CSV in UTF-8 or GBK/GB18030 (geo.io, bounded)."""
    table = io_read_table(path, formats=("csv", "xlsx"))
    return table.frame.astype(object).where(table.frame.notna(), "")


def write_table(df: pd.DataFrame, path: str, meta=None) -> None:
    """``.xlsx`` (``meta`` as its header block and 说明 sheet), else CSV for machines (English columns and
    codes, plain UTF-8; ``meta`` in a sibling ``.meta.txt``), through geo.io.writers."""
    if Path(path).suffix.lower() == ".xlsx":
        write_xlsx(df, path, meta=meta, sheet="水质")
    else:
        write_csv(df, path, dialect="for_machines", meta=meta)


# --- commands ---------------------------------------------------------------------------------

def classify(args) -> int:
    out = water.classify_table(read_table(args.input))
    write_table(out, args.output, water.assessment_meta("水质读数类别（GB 3838-2002）",
                                                        parameters={"输入文件": Path(args.input).name},
                                                        generated_by=operator()))
    print(f"已分类 {len(out)} 条读数 → {args.output} / classified {len(out)} readings")
    return 0


def assess(args) -> int:
    out = water.assess_table(read_table(args.input))
    write_table(out, args.output, water.assessment_meta("站点水质类别（单因子评价）",
                                                        parameters={"输入文件": Path(args.input).name},
                                                        generated_by=operator()))
    print(f"已评价 {len(out)} 个站点 → {args.output} / assessed {len(out)} sites")
    return 0


def latest(args) -> int:
    if not args.output:
        raise GeoError("请用 --out 指定输出文件。", "give the output file with --out")
    store = store_from(args)
    frames = store.read_many(["sampling_points", "readings"])
    as_of = as_of_day(args.as_of, store, frames).date()  # a day before the first sampling is refused
    out = water.latest_table(frames, as_of=as_of)
    write_table(out, args.output, water.assessment_meta("监测点位最新一次采样评价", as_of,
                                                        data_version=store.version(), generated_by=operator()))
    assessed_n = int(out["class"].notna().sum())
    met = int(out["meets"].fillna(False).astype(bool).sum())
    print(f"截至 {as_of or '全部数据'}：{assessed_n} 个点位有评价，{met} 个达标 → {args.output} / "
          f"{met} of {assessed_n} assessed points meet their target")
    return 0


def import_lab(args) -> int:
    """``water import``: check a lab file and append its readings in one commit (nothing on any error, or
    the good rows with ``--skip-bad-rows``); the summary states the true totals however long the report."""
    path = args.file_arg or args.file
    if not path:
        raise GeoError("请指定化验结果文件：geo water import FILE。", "give the lab file: geo water import FILE")
    if args.file_arg and args.file and args.file_arg != args.file:
        raise GeoError("文件只能指定一次（FILE 或 --file）。", "give the file once (FILE or --file)")
    args.store = args.import_store or getattr(args, "store", None)
    store = store_from(args)
    result = labfile.import_lab_file(store, path, dry_run=args.dry_run, skip_bad_rows=args.skip_bad_rows,
                                     user=(args.user or "").strip() or operator())
    # the first findings of each kind, each kind's total, then the summary with the true totals
    for p in labfile.shorter_report(result.findings, PROBLEMS_PER_KIND):
        print(f"  {p}", file=sys.stderr)
    if result.refused:
        raise GeoError(result.summary_zh(), result.summary_en())
    if result.skipped_rows:
        print(f"跳过的行 / rows skipped: {result.skipped_text()}", file=sys.stderr)
    rd = result.readings
    n_bd = int(rd["below_detection"].sum()) if len(rd) else 0
    pts = rd["point_id"].nunique() if len(rd) else 0
    print(f"{result.summary_zh()}（{pts} 个点位，{n_bd} 条低于检出限） / {result.summary_en()} "
          f"({pts} point(s), {n_bd} below detection)")
    return 0


# --- the national platform's exports (geo.intake.platform) ------------------------------------

def add_platform_cli(ws) -> None:
    """``water platform FILE`` (the automatic stations' real-time export) and ``water monthly FILE``
    (a monthly section table)."""
    pl = ws.add_parser("platform", help="import the national automatic stations' export (CSV/xlsx/JSON: one row "
                                        "per station and hour) / 导入国家地表水水质自动监测数据")
    pl.add_argument("file", help="the export (.csv UTF-8/GBK, .xlsx, or the site's .json)")
    pl.add_argument("--store", dest="platform_store", help="GeoPackage path or postgresql:// URL")
    pl.add_argument("--year", help="year of times written without one (08-21 20:00); required for them, never "
                                   "guessed / 年份")
    pl.add_argument("--dry-run", action="store_true", help="check only, write nothing / 只检查不写入")
    pl.add_argument("--skip-bad-rows", action="store_true",
                    help="write the rows without errors and list the others; default: all or nothing / 只导入无误的行")
    pl.add_argument("--user", help="who imports, stored with the readings (default: the system account) / 导入人")
    pl.set_defaults(func=import_platform_file)
    mo = ws.add_parser("monthly", help="import a monthly section table (断面名称, 目标类别, 本月水质类别, "
                                       "超标项目(超标倍数)) / 导入断面月度水质类别")
    mo.add_argument("file", help="the table (.csv UTF-8/GBK, or .xlsx)")
    mo.add_argument("--store", dest="platform_store", help="GeoPackage path or postgresql:// URL")
    mo.add_argument("--month", help="the month, e.g. 2026-08 (default: the title's, e.g. 2026年8月) / 月份")
    mo.add_argument("--dry-run", action="store_true", help="check only, write nothing / 只检查不写入")
    mo.add_argument("--user", help="who imports (default: the system account) / 导入人")
    mo.set_defaults(func=import_monthly_file)


def _platform_run(args):
    """The store and the user of ``water platform`` / ``water monthly``."""
    args.store = args.platform_store or getattr(args, "store", None)
    return store_from(args), (args.user or "").strip() or operator()


def _platform_report(result) -> int:
    """The first findings of each kind (stderr), then the summary; a refusal exits 2 (nothing written)."""
    for p in labfile.shorter_report(result.findings, PROBLEMS_PER_KIND):
        print(f"  {p}", file=sys.stderr)
    if result.refused:
        raise GeoError(result.summary_zh(), result.summary_en())
    print(result.summary())
    return 0


def import_platform_file(args) -> int:
    """``water platform FILE``: check the platform's export and append its readings in one commit."""
    from ..intake import platform

    store, user = _platform_run(args)
    return _platform_report(platform.import_platform(store, args.file, year=args.year, dry_run=args.dry_run,
                                                     skip_bad_rows=args.skip_bad_rows, user=user))


def import_monthly_file(args) -> int:
    """``water monthly FILE``: check a monthly section table and append its classes in one commit."""
    from ..intake import platform

    store, user = _platform_run(args)
    return _platform_report(platform.import_section_classes(store, args.file, month=args.month, user=user,
                                                            dry_run=args.dry_run))

