"""``python -m geo water``: latest class of each sampling point; ``classify``, ``assess`` and ``import`` lab results."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from .. import rules, water
from ..intake import lab as labfile
from ..errors import GeoError
from ..io.readers import read_table as io_read_table
from ..io.writers import write_csv, write_xlsx
from . import bounded_problems, operator, store_from


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
    c = ws.add_parser("classify", help="class of each reading (columns parameter,value,waterbody)")
    c.add_argument("--in", dest="input", required=True)
    c.add_argument("--out", dest="output", required=True)
    c.set_defaults(func=classify)
    a = ws.add_parser("assess", help="site class = worst assessed parameter (columns site,parameter,value,waterbody)")
    a.add_argument("--in", dest="input", required=True)
    a.add_argument("--out", dest="output", required=True)
    a.set_defaults(func=assess)
    i = ws.add_parser("import", help="import lab results (CSV/xlsx: point, time, parameter, value, unit)")
    # Own dest: argparse lets a subcommand's defaults overwrite the parent's --store.
    i.add_argument("--store", dest="import_store", help="GeoPackage path or postgresql:// URL")
    i.add_argument("--file", required=True, help="lab file (.csv UTF-8/GBK, or .xlsx)")
    i.add_argument("--dry-run", action="store_true", help="check only, write nothing")
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
    as_of = rules.resolve_as_of(args.as_of, store.meta()).date()
    out = water.latest_table(store.read_many(["sampling_points", "readings"]), as_of=as_of)
    write_table(out, args.output, water.assessment_meta("监测点位最新一次采样评价", as_of,
                                                        data_version=store.version(), generated_by=operator()))
    assessed_n = int(out["class"].notna().sum())
    met = int(out["meets"].fillna(False).astype(bool).sum())
    print(f"截至 {as_of or '全部数据'}：{assessed_n} 个点位有评价，{met} 个达标 → {args.output} / "
          f"{met} of {assessed_n} assessed points meet their target")
    return 0


def import_lab(args) -> int:
    """``water import``: check a lab file and append its readings in one commit (nothing on any error)."""
    if not args.file:
        raise GeoError("请用 --file 指定化验结果文件。", "give the lab file with --file")
    args.store = args.import_store or getattr(args, "store", None)
    store = store_from(args)
    readings, problems, written = labfile.import_lab_file(store, args.file, dry_run=args.dry_run)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise GeoError(f"{len(errors)} 处错误，未写入任何数据。", f"{len(errors)} error(s); nothing written",
                       problems=problems)
    for line in bounded_problems(problems):
        print(line, file=sys.stderr)
    n_bd = int(readings["below_detection"].sum()) if len(readings) else 0
    pts = readings["point_id"].nunique() if len(readings) else 0
    if args.dry_run:
        print(f"检查通过：{len(readings)} 条读数（{pts} 个点位，{n_bd} 条低于检出限），未写入（--dry-run）。"
              f" / check passed: {len(readings)} readings; nothing written (dry run)")
    else:
        print(f"已导入 {len(readings)} 条读数（{pts} 个点位，{n_bd} 条低于检出限）。 / imported {len(readings)} readings")
    return 0
