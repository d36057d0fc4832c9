"""``python -m geo <command> …``: the command line of Qingshan's core.

One module per command group; each has ``add_cli(subparsers)`` and handlers
that parse the arguments, call the domain (``geo.*``) and print or write
files. No domain logic lives here, and no domain module imports this package.

Errors: a domain function raises :class:`geo.errors.GeoError` (bilingual);
:func:`main` prints it with :func:`report_error` and exits with code 2, never
with a traceback. A closed pipe (``python -m geo status … | head``) ends the
command quietly.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

from ..errors import GeoError
from ..store import Store, open_store

#: At most this many problems of one kind are printed after an error; the rest are counted.
PROBLEMS_PER_KIND = 20


# --- shared helpers ----------------------------------------------------------------------

def add_store_arg(parser: argparse.ArgumentParser) -> None:
    """The ``--store`` option every command that reads a store takes."""
    parser.add_argument("--store", help="GeoPackage path or postgresql:// URL (default: $QINGSHAN_STORE, "
                                        "else the working copy of the demo)")


def store_from(args: argparse.Namespace, *, create: bool = False) -> Store:
    """Open the store named by ``--store`` (``None``: ``$QINGSHAN_STORE``, else the demo's working copy)."""
    return open_store(getattr(args, "store", None), create=create)


def operator() -> str:
    """Who generated a file on the command line, for its metadata: the system account."""
    import getpass

    try:
        return f"{getpass.getuser()}（命令行）"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "命令行"


def _kind(problem) -> tuple:
    """What groups problems in a report: severity, table and column (plain strings form one kind)."""
    if isinstance(problem, str):
        return ()
    return tuple(str(getattr(problem, a, "")) for a in ("severity", "table", "column"))


def bounded_problems(problems: list, per_kind: int = PROBLEMS_PER_KIND) -> list[str]:
    """Report lines for ``problems``: the first ``per_kind`` of each kind, how many more, and the total.

    A file with a million bad rows must not print a million lines; the first
    few of each kind show what to fix, the counts show how much.
    """
    if not problems:
        return []
    seen: Counter = Counter()
    totals = Counter(_kind(p) for p in problems)
    lines = []
    for p in problems:
        k = _kind(p)
        seen[k] += 1
        if seen[k] <= per_kind:
            lines.append(f"  {p}")
        if seen[k] == totals[k] and totals[k] > per_kind:
            more = totals[k] - per_kind
            what = " ".join(x for x in k if x)
            lines.append(f"  …同类问题另有 {more} 处 / {more} more{' of ' + what if what else ''}")
    shown = sum(min(n, per_kind) for n in totals.values())
    if shown < len(problems):
        lines.append(f"共 {len(problems)} 处问题，列出 {shown} 处 / {len(problems)} problem(s), {shown} shown")
    return lines


def report_error(exc: BaseException, *, per_kind: int = PROBLEMS_PER_KIND) -> int:
    """Print ``exc`` as ``错误：… / error: …`` (and its problems, bounded) on stderr; return exit code 2."""
    zh, en = getattr(exc, "zh", None), getattr(exc, "en", None)
    if zh is None or en is None:
        zh = en = str(exc)
    lines = [f"错误：{zh}", f"error: {en}", *bounded_problems(list(getattr(exc, "problems", None) or []), per_kind)]
    print("\n".join(lines), file=sys.stderr)
    return 2


def _quiet_closed_pipe() -> None:
    """After a reader closed our stdout (``| head``): point stdout (and a closed stderr) at /dev/null.

    As the Python docs advise (signal module, "Note on SIGPIPE"): otherwise Python
    reports a second BrokenPipeError when it flushes stdout at exit.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        streams = [sys.stdout]
        try:
            sys.stderr.flush()
        except (BrokenPipeError, ValueError):
            streams.append(sys.stderr)  # ``2>&1 | head``: stderr went with stdout
        for stream in streams:
            try:
                os.dup2(devnull, stream.fileno())
            except (OSError, ValueError, AttributeError):
                pass  # not a real file (e.g. captured by a test): nothing is flushed to it at exit
    finally:
        os.close(devnull)


# --- the parser --------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """The ``python -m geo`` parser with every command group."""
    from . import alerts, buffer, casework, check, demo, export, intake, progress, route, status, stores, user, water

    parser = argparse.ArgumentParser(prog="python -m geo", description="青山 Qingshan: 区县生态整治监测 core commands")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # the order ``--help`` lists them
    for module in (demo, check, progress, alerts, buffer, water, route, intake, stores, status, user, export, casework):
        module.add_cli(sub)
    return parser


#: The module of each command. ``python -m geo COMMAND …`` imports only that one: the other command
#: modules import their domains (water, routing, casework …), time a one-off command would spend for
#: nothing. A command missing here still works: it is found in the whole parser.
COMMAND_MODULES = {
    "demo": "demo", "check": "check", "progress": "progress", "buffer": "buffer", "water": "water",
    "route": "route", "import": "intake", "migrate": "stores", "copy": "stores", "status": "status",
    "user": "user", "export": "export", "complaints": "casework", "inspect": "casework", "site": "casework",
    "assess": "casework", "alerts": "alerts",
}


def parser_for(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: only its command's module when the first argument names a known command
    (same options, help and errors for it), else :func:`build_parser` (``--help``, a typo …)."""
    import importlib

    args = sys.argv[1:] if argv is None else list(argv)
    name = COMMAND_MODULES.get(args[0]) if args else None
    if name is None:
        return build_parser()
    # as build_parser makes it, with one command group
    parser = argparse.ArgumentParser(prog="python -m geo", description="青山 Qingshan: 区县生态整治监测 core commands")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    importlib.import_module(f"{__name__}.{name}").add_cli(sub)
    if args[0] not in sub.choices:  # the table above is out of date: the whole parser knows better
        return build_parser()
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (0 ok, 1 the command found problems, 2 bad input).

    A closed stdout (``… | head``) ends any command quietly with code 1, as the
    Python docs recommend, instead of a ``BrokenPipeError`` traceback.
    """
    try:
        return _run(parser_for(argv).parse_args(argv))
    except BrokenPipeError:
        _quiet_closed_pipe()
        return 1


def _run(args: argparse.Namespace) -> int:
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        raise
    except (GeoError, ValueError, OSError) as exc:
        return report_error(exc)
    except KeyboardInterrupt:
        return 130
