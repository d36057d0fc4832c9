"""``python -m geo migrate`` (create or upgrade a PostGIS schema) and ``copy SRC DST`` (a whole store, either way)."""
from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import GeoError
from ..store import is_postgres_url, open_store
from . import add_store_arg


def add_cli(sub) -> None:
    p = sub.add_parser("migrate", help="create or upgrade the PostGIS schema / 创建或升级 PostGIS 数据库结构")
    add_store_arg(p)
    p.set_defaults(func=migrate)
    p = sub.add_parser("copy", help="copy a whole store between GeoPackage and PostGIS / 在 GeoPackage 与 PostGIS 间复制数据")
    p.add_argument("src", help="source: GeoPackage path or postgresql:// URL")
    p.add_argument("dst", help="destination: GeoPackage path or postgresql:// URL (replaced entirely)")
    p.set_defaults(func=copy)


def migrate(args) -> int:
    from ..store.postgis import migrate as migrate_schema

    spec = args.store or os.environ.get("QINGSHAN_STORE", "")
    if not is_postgres_url(spec):
        raise GeoError("migrate 只用于 PostGIS 数据库：请用 --store postgresql://… 指定",
                       "migrate applies to a PostGIS database: give --store postgresql://…")
    before, after = migrate_schema(spec)
    shown = open_store(spec).url  # the URL without its password
    if before == after:
        print(f"schema version {after} already current in {shown}")
    else:
        print(f"schema migrated from version {before} to {after} in {shown}")
    return 0


def copy(args) -> int:
    from ..store.postgis import copy_store

    if not is_postgres_url(args.src) and not Path(args.src).exists():
        raise GeoError(f"源数据不存在：{args.src}", f"no store at {args.src}")
    if not is_postgres_url(args.dst) and Path(args.dst).resolve() == Path(args.src).resolve():
        raise GeoError("源与目标相同", "source and destination are the same store")
    src = open_store(args.src)
    dst = open_store(args.dst, create=True)
    t0 = time.perf_counter()
    counts = copy_store(src, dst)
    for table, n in counts.items():
        print(f"{table}\t{n}")
    print(f"copied {sum(counts.values())} rows in {len(counts)} tables from {src.url} to {dst.url} "
          f"in {time.perf_counter() - t0:.2f} s")
    return 0
