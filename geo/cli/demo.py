"""``python -m geo demo``: build the demo store (Qujiang, as of 2007-06-30)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from .. import demo


def add_cli(sub) -> None:
    p = sub.add_parser("demo", help="build the demo store (Qujiang, as of 2007-06-30) / 生成演示数据")
    p.add_argument("--out", default=str(demo.ROOT / "data" / "demo.gpkg"), help="GeoPackage to write")
    p.add_argument("--sources", default=None, help="folder of demo sources (default: data/sources, "
                                                   "else ../shared/demo-sources)")
    p.add_argument("--seed", type=int, default=demo.SEED)
    p.set_defaults(func=run)


def run(args) -> int:
    started = dt.datetime.now()
    out = demo.write(Path(args.out), demo.sources_dir(args.sources), args.seed)
    print(f"demo store written to {out} in {(dt.datetime.now() - started).total_seconds():.1f} s")
    return 0
