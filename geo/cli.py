"""Shared pieces of the command line: the store option and error reporting."""
from __future__ import annotations

import argparse
import sys

from .store import Store, StoreError, open_store


def add_store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="GeoPackage path or postgresql:// URL (default: $QINGSHAN_STORE, "
                                        "else the working copy of the demo)")


def store_from(args: argparse.Namespace, *, create: bool = False) -> Store:
    return open_store(getattr(args, "store", None), create=create)


class UserError(Exception):
    """An error the user can fix; printed in Chinese and English without a traceback."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


def report_error(exc: BaseException) -> int:
    if isinstance(exc, UserError):
        print(f"错误：{exc.zh}\nerror: {exc.en}", file=sys.stderr)
    elif isinstance(exc, StoreError):
        print(f"错误：数据存储操作失败，未写入任何数据。\nerror: {exc}", file=sys.stderr)
        for p in exc.problems[:200]:
            print(f"  {p}", file=sys.stderr)
    else:
        print(f"错误：{exc}\nerror: {exc}", file=sys.stderr)
    return 2
