"""``python -m geo <command> …``: the command line of Qingshan's core.

Each command lives in the module that owns its concern and registers itself
through an ``add_cli(subparsers)`` function.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .cli import UserError, report_error
from .store import StoreError

# command modules, in the order ``--help`` lists them
MODULES = (
    "geo.demo", "geo.check", "geo.progress", "geo.buffers", "geo.water", "geo.patrol", "geo.intake",
    "geo.store.postgis", "geo.updates", "geo.auth", "geo.export",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m geo", description="青山 Qingshan: 区县生态整治监测 core commands")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a feature not built yet
                continue
            raise
        if hasattr(module, "add_cli"):
            module.add_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UserError, StoreError, ValueError, FileNotFoundError, PermissionError) as exc:
        return report_error(exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
