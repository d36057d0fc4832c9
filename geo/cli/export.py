"""``python -m geo export``: the whole store (.gpkg) or one layer (.xlsx, .csv, .geojson), as the data page offers."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .. import export
from ..contract import TABLES
from . import add_store_arg, operator, store_from


def add_cli(sub) -> None:
    p = sub.add_parser("export", help="export the whole store (.gpkg) or one layer (.xlsx, .csv, .geojson) / 导出数据")
    add_store_arg(p)
    p.add_argument("--layer", choices=list(TABLES), help="the table to export (not needed for .gpkg)")
    p.add_argument("--out", required=True, help="FILE.gpkg (whole store) or FILE.xlsx|.csv|.geojson (one layer)")
    p.set_defaults(func=run)


def run(args) -> int:
    out = Path(args.out)
    export.check_request(out.suffix, args.layer)  # before the store is opened
    data = export.export_bytes(store_from(args), out.suffix, args.layer, generated_by=operator())
    write_atomic(out, data)
    print(f"{out} ({len(data):,} bytes)")
    return 0


def write_atomic(out: Path, data: bytes) -> None:
    """Write beside the target and rename: a failed export never leaves half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".export-", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
