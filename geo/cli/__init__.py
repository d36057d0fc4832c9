"""``python -m geo <command> …``: the command line of Qingshan's core.

One module per command group; each has ``add_cli(subparsers)`` and handlers
that parse the arguments, call the domain (``geo.*``) and print or write
files. No domain logic lives here, and no domain module imports this package.

Errors: a domain function raises :class:`geo.errors.GeoError` (bilingual);
:func:`main` prints it with :func:`report_error` and exits with code 2, never
with a traceback. A closed pipe (``python -m geo status … | head``) ends the
command quietly.

Terminal safety: whatever a command prints (names from a store, cells quoted in a report) reaches the
terminal through :func:`inert`: control characters other than TAB and LF, and the bidi controls, are
shown as ``\\x1b``-style escapes, so a name holding ESC or BEL can neither colour, move nor ring the
terminal, nor a bidi override reorder a line.
"""
from __future__ import annotations

import argparse
import os
import re
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


#: What :func:`inert` escapes: category Cc except TAB and LF, and the bidi embeddings, overrides, isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """``text`` safe for a terminal: each character of :data:`_UNSAFE` written as a visible escape
    (``\\x1b``, ``\\u202e``); TAB, LF and everything else as it is."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


class _InertStream:
    """A text stream that writes through :func:`inert` (binary ``buffer`` writes pass as they are)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(inert(text) if isinstance(text, str) else text)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name):  # flush, fileno, buffer, encoding, isatty …
        return getattr(self._stream, name)


def as_of_day(text: str | None, store: Store, frames: dict | None = None, *, option: str = "--as-of"):
    """The day ``--as-of`` names, or the store's own date when it names none.

    A named day is read and bounded by :func:`geo.datecheck.check_day` (the one check of asked dates):
    malformed, beyond what can be counted, or before the first day of ``frames`` (the tables the
    command reports on; without them, the store's) is a :class:`GeoError`, so exit code 2 and a
    bilingual message, never a traceback or figures of a day nothing had been recorded yet.
    """
    if text is None or not str(text).strip():
        from ..progress import parse_as_of

        return parse_as_of(None, store)
    from .. import datecheck

    return datecheck.check_day(text, store if frames is None else frames, what_zh="日期", what_en=option)


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
    """Run one command; return its exit code (0 ok, 1 the command found problems, 2 bad input, a full disk
    or a bug: never a traceback).

    A closed stdout (``… | head``) ends any command quietly with code 1, as the
    Python docs recommend, instead of a ``BrokenPipeError`` traceback.
    """
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _InertStream(out), _InertStream(err)
    try:
        return _run(parser_for(argv).parse_args(argv))
    except BrokenPipeError:
        _quiet_closed_pipe()
        return 1
    finally:
        sys.stdout, sys.stderr = out, err


def _run(args: argparse.Namespace) -> int:
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        raise
    except OSError as exc:
        return report_error(_os_error(exc))
    except GeoError as exc:  # bad input, said in both languages; any other exception is a bug (below)
        return report_error(exc)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug still ends in two plain lines, not a traceback
        if os.environ.get("QINGSHAN_DEBUG"):
            raise
        return report_error(GeoError(
            f"程序内部错误（{type(exc).__name__}：{str(exc)[:200]}），命令未完成。请把命令和这两行报告给维护人员"
            f"（设 QINGSHAN_DEBUG=1 可看到详细信息）。",
            f"internal error ({type(exc).__name__}: {str(exc)[:200]}); the command did not finish. Please report "
            f"the command and these lines (QINGSHAN_DEBUG=1 shows the details)."))


def _os_error(exc: OSError) -> BaseException:
    """A full disk (``ENOSPC``, a quota) said in both languages; any other OS error as it is."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f"：{exc.filename}" if exc.filename else ""
        return GeoError(f"磁盘已满，无法写入{where}。请腾出磁盘空间后重试。",
                        f"the disk is full: cannot write{' ' + str(exc.filename) if exc.filename else ''}. "
                        f"Free some space and try again.")
    return exc
