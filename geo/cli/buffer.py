"""``python -m geo buffer``: riverside buffer check, active sites within D metres of water."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .. import buffers, rules
from ..contract import SITE_LAYERS
from ..errors import GeoError
from . import add_store_arg, as_of_day, operator, store_from

OUTPUTS = (".csv", ".xlsx", ".geojson", ".json", ".gpkg")


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("buffer", help="riverside buffer check: active sites within D metres of water",
                              description="沿河缓冲检查：列出距河流（自岸线）或水库湖泊 D 米以内的在管点位。")
    add_store_arg(p)
    p.add_argument("--distance", type=metres, default=None,
                   help="limit D in metres (default: [riverside] limit_m of qingshan.toml, 200)")
    p.add_argument("--layers", default="farms,enterprises,kilns", help="comma-separated: farms,enterprises,kilns")
    p.add_argument("--as-of", dest="as_of", default=None, help="date YYYY-MM-DD whose statuses apply (default: the store's as_of)")
    p.add_argument("--all", dest="all_sites", action="store_true", help="list every site with its distance")
    p.add_argument("--out", required=True,
                   help="output file: .csv, .xlsx, .geojson or .gpkg (GeoPackage: Chinese field aliases and "
                        "labels, the rule as metadata)")
    p.add_argument("--labels", choices=["zh"], default=None,
                   help="CSV/GeoJSON for people: Chinese headers and labels (CSV: UTF-8 with BOM, the rule as "
                        "leading lines; default: the machine columns layer,id,name,township,distance_m,water_id,"
                        "water_name,…)")
    p.set_defaults(func=run)


def metres(text: str) -> float:
    """``--distance``: a positive, finite number of metres (argparse reports anything else)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"距离应为米数 / not a number of metres: {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"距离必须为正数（米）/ must be a positive number of metres: {text}")
    return value


def _layers(text: str) -> tuple[str, ...]:
    layers = tuple(s.strip() for s in text.split(",") if s.strip())
    if not layers or any(x not in SITE_LAYERS for x in layers):
        raise GeoError(f"图层无效：{text}（可选 farms、enterprises、kilns）",
                       f"invalid --layers {text!r}; choose from farms,enterprises,kilns")
    return layers


def run(args: argparse.Namespace) -> int:
    if args.distance is None:
        args.distance = rules.riverside_limit_m()
    if not np.isfinite(args.distance) or args.distance <= 0:
        raise GeoError(f"距离必须为正数（米），而不是 {args.distance}",
                       f"--distance must be a positive number of metres, not {args.distance}")
    layers = _layers(args.layers)
    if Path(args.out).suffix.lower() not in OUTPUTS:
        raise GeoError("输出文件须以 .csv、.xlsx、.geojson 或 .gpkg 结尾",
                       f"--out must end in .csv, .xlsx, .geojson or .gpkg: {args.out}")
    store = store_from(args)
    meta = store.meta()
    # A store without an as_of entry (and no --as-of) is checked as it stands: its status column.
    # A named day before the data is refused (geo.datecheck, the store's first day: read only then).
    as_of = as_of_day(args.as_of, store) if args.as_of else rules.resolve_as_of(None, meta) if meta.get("as_of") else None
    result = buffers.check(store, args.distance, layers, as_of, all_sites=args.all_sites)
    meta = buffers.riverside_meta(args.distance, as_of, layers, data_version=store.version(),
                                  generated_by=operator())
    buffers.write_result(result, args.out, meta=meta, labels=args.labels)
    n_viol = int(result["violation"].sum())
    what = f"{len(result)} sites" if args.all_sites else f"{n_viol} violations"
    print(f"沿河 {args.distance:g} 米：违规 {n_viol} 处 → {args.out}\n{what} within {args.distance:g} m → {args.out}")
    return 0
