"""``python -m geo check``: validate a store against the data contract (exit 1 on any error)."""
from __future__ import annotations

import sys

from ..check import check_store
from . import add_store_arg, store_from


def add_cli(sub) -> None:
    p = sub.add_parser("check", help="validate a store against the data contract / 按数据规范检查数据库")
    add_store_arg(p)
    p.add_argument("--warnings", action="store_true", help="also print warnings")
    p.set_defaults(func=run)


def run(args) -> int:
    store = store_from(args)
    problems = check_store(store)
    errors = [p for p in problems if p.severity == "error"]
    shown = problems if args.warnings else errors
    print("severity\ttable\trow_id\tcolumn\twhy")
    for p in shown:
        print(p)
    print(f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s) in {store.url}", file=sys.stderr)
    return 1 if errors else 0
