"""``python -m geo alerts``: what the wall's alert strip shows, on any date (late campaigns, failing sections,
outfalls over their limits, overdue complaints, new riverside violations)."""
from __future__ import annotations

import sys
from pathlib import Path

from .. import alerts, progress
from ..errors import GeoError
from . import add_store_arg, as_of_day, store_from


def add_cli(sub) -> None:
    p = sub.add_parser(
        "alerts",
        help="alerts on a date: campaigns projected late, sections failing target, outfalls over limit, "
             "complaints overdue, new riverside violations / 预警",
        description="python -m geo alerts [--as-of D] [--format text|csv|json] [--out F]\n"
                    "Exit code 1 when any alert is active (0: all clear), so a scheduled job can act on it.",
    )
    add_store_arg(p)
    p.add_argument("--as-of", help="date YYYY-MM-DD (default: the store's as_of); replays the data as of then")
    p.add_argument("--format", choices=("text", "csv", "json"), default="text",
                   help="text (default, Chinese, for people), csv or json (for machines)")
    p.add_argument("--out", help="output file (default stdout)")
    p.add_argument("--new-days", type=int, default=alerts.NEW_DAYS,
                   help=f"a riverside violation is new when it was none this many days earlier (default {alerts.NEW_DAYS})")
    p.add_argument("--distance", type=float, default=None,
                   help="riverside limit in metres (default: [riverside] limit_m, 200)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.new_days <= 0:
        raise GeoError("--new-days 应为正整数。", "--new-days must be a positive number of days.")
    store = store_from(args)
    frames = alerts.load_frames(store)
    day = as_of_day(args.as_of, store, frames)
    found = alerts.collect(frames, day, new_days=args.new_days, distance=args.distance)
    if args.format == "json":
        text = alerts.to_json(found, day) + "\n"
    elif args.format == "csv":
        text = progress.excel_safe(alerts.table(found)).to_csv(index=False)  # names typed by people: no formulas
    else:
        text = "\n".join(alerts.lines(found, day)) + "\n"
    if args.out:
        data = text.encode("utf-8-sig" if args.format == "csv" else "utf-8")
        Path(args.out).write_bytes(data)
        print(f"{args.out}: alerts as of {day.date()}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 1 if any(a.active for a in found) else 0
