"""``python -m geo COMMAND`` builds the parser of that command only, and imports no other command's domain."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from geo.cli import COMMAND_MODULES, build_parser, parser_for
from tests.conftest import ROOT


def _groups(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_each_command_is_defined_by_its_module():
    whole = _groups(build_parser())
    for command, module in COMMAND_MODULES.items():
        assert command in whole
        assert set(_groups(parser_for([command]))) == {
            c for c, m in COMMAND_MODULES.items() if m == module}, command


@pytest.mark.parametrize("argv", [
    ["buffer", "--store", "x.gpkg", "--layers", "farms", "--distance", "150", "--out", "o.csv"],
    ["buffer", "--out", "o.xlsx", "--all", "--as-of", "2007-01-01"],
    ["water", "classify", "--in", "in.csv", "--out", "o.csv"],
    ["status", "--store", "s.gpkg", "--layer", "farms", "--id", "F1", "--set", "closed"],
    ["complaints", "list"],
])
def test_one_command_parses_as_the_whole_parser_does(argv):
    whole = build_parser().parse_args(argv)
    assert vars(parser_for(argv).parse_args(argv)) == vars(whole)


def test_errors_of_one_command_read_as_before(capsys):
    outs = []
    for parser in (build_parser(), parser_for(["buffer"])):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(["buffer", "--distance", "-5", "--out", "o.csv"])
        assert exc.value.code == 2
        outs.append(capsys.readouterr().err)
    assert outs[0] == outs[1] and "python -m geo buffer" in outs[0] and "米" in outs[0]


def test_help_and_unknown_commands_use_the_whole_parser():
    for argv in ([], ["--help"], ["bufer"], ["-h"]):
        assert set(_groups(parser_for(argv))) == set(_groups(build_parser()))


def test_buffer_imports_no_other_command():
    code = ("import sys\n"
            "from geo.cli import parser_for\n"
            "parser_for(['buffer', '--out', 'x.csv'])\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('geo'))))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    loaded = set(out.split())
    assert "geo.cli.buffer" in loaded and "geo.buffers" in loaded
    others = {f"geo.cli.{m}" for m in COMMAND_MODULES.values()} - {"geo.cli.buffer"}
    assert not loaded & others, loaded & others
    assert not loaded & {"geo.water", "geo.routing", "geo.casepdf", "geo.demo", "geo.intake"}
    heavy = ("streamlit", "matplotlib", "pyvrp", "openpyxl", "sqlalchemy", "psycopg")
    code2 = code.replace("m.startswith('geo')", f"m.split('.')[0] in {heavy!r}")
    out2 = subprocess.run([sys.executable, "-c", code2], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out2.split() == []
