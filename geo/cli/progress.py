"""``python -m geo progress``: closure progress counts (csv/json/xlsx), and ``briefing``: the monthly PDF + xlsx."""
from __future__ import annotations

import sys
from pathlib import Path

from .. import progress
from ..errors import GeoError
from . import add_store_arg, as_of_day, operator, store_from


def add_cli(sub) -> None:
    p = sub.add_parser(
        "progress",
        help="closure progress by layer/group/township/status; 'briefing' writes the monthly PDF + xlsx / 关停进度",
        description="python -m geo progress [counts] --as-of D --format csv|json|xlsx [--out F]\n"
                    "python -m geo progress briefing --as-of D --out F.pdf   (also writes F.xlsx)",
    )
    p.add_argument("action", nargs="?", default="counts", choices=("counts", "briefing"),
                   help="counts (default): one row per layer, group, township, status; briefing: monthly PDF")
    add_store_arg(p)
    p.add_argument("--as-of", help="date YYYY-MM-DD (default: the store's as_of)")
    p.add_argument("--format", choices=("csv", "json", "xlsx"), default="csv", help="counts output format")
    p.add_argument("--out", help="output file (counts: default stdout; xlsx needs --out; briefing: required .pdf)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.action == "counts" and args.format == "xlsx" and not args.out:
        raise GeoError("xlsx 格式需要 --out 指定输出文件。", "--format xlsx needs --out FILE.")
    if args.action == "briefing" and not args.out:
        raise GeoError("简报需要 --out 指定 PDF 文件。", "briefing needs --out FILE.pdf.")
    store = store_from(args)
    frames = progress.load_frames(store)
    day = as_of_day(args.as_of, store, frames)
    if args.action == "briefing":
        return briefing(store, frames, day, Path(args.out))
    data = progress.export_counts(progress.counts(frames, day), args.format, bom=bool(args.out))
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"{args.out}: progress counts as of {day.date()}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def briefing(store, frames, day, out: Path) -> int:
    """``progress briefing``: the PDF and, beside it, the xlsx of the same figures."""
    from .. import briefing as B  # matplotlib: loaded only when a briefing is asked for

    if out.suffix.lower() != ".pdf":
        raise GeoError("简报输出文件应以 .pdf 结尾。", "briefing --out must end in .pdf.")
    pdf, xlsx = B.write(frames, day, out, district=store.meta().get("district", ""), data_version=store.version(),
                        generated_by=operator())
    print(f"briefing written: {pdf} and {xlsx}")
    return 0
