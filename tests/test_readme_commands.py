"""Every ``python -m geo …`` command line the README and the docs show parses with the real parser.

The lines are taken from the fenced code blocks of README.md and docs/*.md and parsed (never run) by the
parser ``python -m geo`` itself uses (:func:`geo.cli.parser_for`, and the whole :func:`geo.cli.build_parser`).
Optional parts written ``[--dry-run]`` or ``[--format text|csv|json]`` are parsed left out and with each of
their choices. Commands quoted inline (```python -m geo copy SRC DST```) are often only a command's name: their
command words and every ``--option`` they name must exist.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import re
import shlex
from pathlib import Path

import pytest

from geo.cli import build_parser, parser_for
from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: How a command line starts: ``python -m geo``, ``.venv/bin/python -m geo``, ``python3 -m geo`` or ``geo``.
_PROGRAM = re.compile(r"^(?:\S*python3?\s+-m\s+geo|geo)(?:\s|$)")
_SHELL_OPERATORS = {">", ">>", "<", "|", "||", "&&", ";", "&", "2>", "2>&1"}
_FENCE = re.compile(r"^\s*(```|~~~)")


def _blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` of every line inside a fenced code block, continuation lines joined."""
    out: list[tuple[int, str]] = []
    inside, pending, start = False, "", 0
    for no, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            inside, pending = not inside, ""
            continue
        if not inside:
            continue
        if not pending:
            start = no
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append((start, pending + line))
        pending = ""
    return out


def _inline(text: str) -> list[tuple[int, str]]:
    """``(line number, span)`` of every inline code span outside the fenced blocks."""
    out, inside = [], False
    for no, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            out += [(no, m.group(1)) for m in re.finditer(r"`([^`\n]+)`", line)]
    return out


def _strip_comment(line: str) -> str:
    """The line without its shell comment (a ``#`` at the start or after white space)."""
    return re.sub(r"(^|\s)#.*$", "", line).strip()


def _argv_of(command: str) -> list[str] | None:
    """The words after ``geo`` of a command line, up to the first shell operator; ``None`` when the line is
    not a ``geo`` command."""
    m = _PROGRAM.match(command)
    if not m:
        return None
    words = shlex.split(command[m.end():])
    cut = next((i for i, w in enumerate(words) if w in _SHELL_OPERATORS), len(words))
    return words[:cut]


def _variants(command: str) -> list[str]:
    """The command with each ``[optional part]`` left out or given, and each ``a|b|c`` choice spelled out."""
    parts = re.split(r"(\[[^\]]*\])", command)
    options: list[list[str]] = []
    for part in parts:
        if part.startswith("[") and part.endswith("]"):
            inner = part[1:-1]
            options.append(["", *_choices(inner)])
        else:
            options.append(_choices(part))
    return [" ".join(" ".join(p.split()) for p in combo if p.strip()) for combo in itertools.product(*options)]


def _choices(text: str) -> list[str]:
    """``text`` once per choice of its ``a|b|c`` word (at most one such word is written per part)."""
    words = text.split(" ")
    for i, w in enumerate(words):
        if "|" in w and w != "|" and not w.startswith("|"):
            return [" ".join(words[:i] + [alt] + words[i + 1:]) for alt in w.split("|")]
    return [text]


def command_lines(paths=DOCS) -> list[tuple[str, int, str]]:
    """``(file, line number, command)`` of every ``geo`` command line in the fenced code blocks."""
    out = []
    for path in paths:
        for no, line in _blocks(Path(path).read_text(encoding="utf-8")):
            command = _strip_comment(line)
            if _PROGRAM.match(command):
                out.append((Path(path).name, no, command))
    return out


def inline_commands(paths=DOCS) -> list[tuple[str, int, str]]:
    out = []
    for path in paths:
        for no, span in _inline(Path(path).read_text(encoding="utf-8")):
            if _PROGRAM.match(span.strip()):
                out.append((Path(path).name, no, span.strip()))
    return out


def parse_error(argv: list[str]) -> str | None:
    """argparse's complaint about ``argv`` with the parser ``python -m geo`` uses, else ``None`` (parsed)."""
    for make in (lambda: parser_for(argv), build_parser):
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                args = make().parse_args(argv)
        except SystemExit as exc:
            if exc.code not in (0, None):  # --help exits 0
                return err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else f"exit {exc.code}"
            continue
        if not callable(getattr(args, "func", None)):
            return "parsed, but names no command to run"
    return None


def _subparsers(parser):
    return next((a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"), None)


def unknown_words(span: str) -> list[str]:
    """What an inline ``geo …`` span names that the parser does not know: a command word or an option."""
    words = _argv_of(_strip_comment(span)) or []
    parser, bad = build_parser(), []
    rest = list(words)
    first = True
    while rest:
        sub = _subparsers(parser)
        if sub is None or rest[0].startswith("-") or rest[0] in ("…", "..."):  # "python -m geo …": any command
            break
        if rest[0] not in sub.choices:
            if first:
                bad.append(rest[0])  # the first word must be a command
            break
        parser, rest, first = sub.choices[rest[0]], rest[1:], False
    for w in rest:
        opt = w.split("=", 1)[0]
        if opt.startswith("--") and opt not in parser._option_string_actions:
            bad.append(opt)
    return bad


# --- the extraction itself works (else the checks below would pass on nothing) -----------------

def test_extraction_finds_the_command_lines():
    lines = command_lines()
    readme = [c for f, _, c in lines if f == "README.md"]
    assert len(readme) >= 20 and any(c.startswith("python -m geo complaints import") for c in readme), readme
    assert any(f == "deployment.md" and "geo migrate" in c for f, _, c in lines)
    assert not any(c.startswith("scripts/") for _, _, c in lines)


def test_optional_parts_and_choices_are_spelled_out():
    got = _variants("python -m geo alerts --as-of 2007-06-30 [--format text|csv|json] [--dry-run]")
    assert len(got) == 8
    assert "python -m geo alerts --as-of 2007-06-30" in got
    assert "python -m geo alerts --as-of 2007-06-30 --format csv --dry-run" in got
    assert _argv_of('python -m geo copy a.gpkg "$X" > out.txt') == ["copy", "a.gpkg", "$X"]


def test_a_wrong_line_is_caught():
    # the complaints import as the README once wrote it, minus the file; and a command that does not exist
    assert parse_error(["complaints", "import", "--crs", "gcj02", "--user", "王五"]) is not None
    assert parse_error(["complaints", "import", "a.xlsx", "--datum", "utm", "--user", "王五"]) is not None
    assert parse_error(["complaint", "import", "a.xlsx"]) is not None
    assert parse_error(["complaints", "import", "a.xlsx", "--user", "王五"]) is None
    assert unknown_words("python -m geo complaints import --sheet 1") == ["--sheet"]
    assert unknown_words("geo statuss") == ["statuss"]


# --- every line of the docs ----------------------------------------------------------------------

@pytest.mark.parametrize("where,no,command", command_lines(), ids=lambda v: str(v)[:60])
def test_documented_command_parses(where, no, command):
    failures = []
    for variant in _variants(command):
        argv = _argv_of(variant)
        err = parse_error(argv)
        if err:
            failures.append(f"{variant!r}: {err}")
    assert not failures, f"{where}:{no}: " + "; ".join(failures)


@pytest.mark.parametrize("where,no,span", inline_commands(), ids=lambda v: str(v)[:60])
def test_inline_command_names_real_commands_and_options(where, no, span):
    bad = [w for variant in _variants(span) for w in unknown_words(variant)]
    assert not bad, f"{where}:{no}: {span!r} names {sorted(set(bad))}"
