"""The command line as a whole (``geo/cli``): every command's help, bilingual errors, closed pipes."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from geo.check import Problem
from geo.cli import build_parser, main, report_error
from geo.errors import GeoError, StoreError
from tests.conftest import ROOT

GROUPS = {"demo", "check", "progress", "buffer", "water", "route", "import", "migrate", "copy", "status", "user",
          "export", "complaints", "inspect", "site", "assess", "alerts"}


def _commands(parser: argparse.ArgumentParser, prefix: tuple = ()) -> list[tuple[str, ...]]:
    """Every command and subcommand the parser knows, e.g. ``("water", "classify")``."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.append((*prefix, name))
                out += _commands(sub, (*prefix, name))
    return out


COMMANDS = _commands(build_parser())


def test_every_command_group_is_registered():
    assert {c[0] for c in COMMANDS} == GROUPS
    assert {("water", "classify"), ("water", "assess"), ("water", "import"), ("user", "add")} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_works(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m geo {' '.join(command)}")


def test_top_level_help_lists_every_group(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("    ") and line.split()}
    assert GROUPS <= listed


# --- errors -----------------------------------------------------------------------------------

def test_a_geo_error_prints_both_languages_and_exits_2(demo_store, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert main(["progress", "--store", str(demo_store), "--as-of", "30/06/2007", "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "错误：日期格式应为 YYYY-MM-DD，收到“30/06/2007”。"
    assert err[1] == "error: --as-of must be YYYY-MM-DD, got '30/06/2007'."
    assert not out.exists()


def test_a_geo_error_from_a_shell_has_no_traceback(tmp_path):
    # export checks the request before it opens a store: nothing is opened, nothing written
    p = subprocess.run([sys.executable, "-m", "geo", "export", "--out", str(tmp_path / "x.pdf")], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.startswith("错误：不支持的导出格式“.pdf”") and "\nerror: unsupported export format '.pdf'" in p.stderr
    assert "Traceback" not in p.stderr and list(tmp_path.iterdir()) == []


def test_a_store_error_is_reported_like_any_geo_error(tmp_path, capsys):
    assert main(["check", "--store", str(tmp_path / "missing.gpkg")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：") and "\nerror: " in err and "missing.gpkg" in err


def test_problems_are_bounded_per_kind_with_totals(capsys):
    bad_status = [Problem("farms", f"F{i}", "status", "unknown status", "未知状态") for i in range(50)]
    no_geom = [Problem("kilns", f"K{i}", "geometry", "missing geometry", "缺少几何") for i in range(3)]
    exc = StoreError("3 tables failed validation", bad_status + no_geom)
    assert report_error(exc, per_kind=5) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "错误：数据存储操作失败，未写入任何数据。" and lines[1] == "error: 3 tables failed validation"
    assert sum("\tfarms\t" in x for x in lines) == 5 and sum("\tkilns\t" in x for x in lines) == 3
    assert any("另有 45 处" in x and "45 more" in x for x in lines)
    assert lines[-1] == "共 53 处问题，列出 8 处 / 53 problem(s), 8 shown"
    assert len(lines) == 2 + 5 + 1 + 3 + 1


def test_a_short_problem_list_is_printed_whole(capsys):
    report_error(GeoError("坏", "bad", problems=["第2行 有误 / row 2 is wrong"]))
    assert capsys.readouterr().err == "错误：坏\nerror: bad\n  第2行 有误 / row 2 is wrong\n"


# --- closed pipes -----------------------------------------------------------------------------

def test_progress_into_head_exits_without_a_traceback(demo_store):
    """The documented use: ``python -m geo progress … --format csv | head -1``."""
    cmd = (f"'{sys.executable}' -m geo progress --as-of 2007-06-30 --format csv --store '{demo_store}' | head -1")
    p = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.stdout == "layer,group,township,status,count\n"
    assert "Traceback" not in p.stderr and "BrokenPipeError" not in p.stderr


def _into_closed_pipe(args: list[str]) -> subprocess.CompletedProcess:
    """Run ``python -m geo ARGS`` with a stdout whose reader has already gone (as after ``| head``).

    The reader is closed before the command starts, so every command's first write meets a broken pipe,
    however short its output (``| head -1`` on a small output may finish before head exits).
    """
    r, w = os.pipe()
    os.close(r)
    try:
        return subprocess.run([sys.executable, "-m", "geo", *args], cwd=ROOT, stdout=w, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(w)


@pytest.mark.parametrize("args", [
    ["progress", "--as-of", "2007-06-30", "--format", "csv"],
    ["progress", "--format", "json"],
    ["check", "--warnings"],
    ["status", "--layer", "kilns", "--id", "KL001"],
    ["buffer", "--out", "{tmp}/v.csv"],
    ["water", "--out", "{tmp}/w.csv"],
    ["export", "--layer", "farms", "--out", "{tmp}/f.csv"],
    ["alerts", "--as-of", "2007-06-30"],
], ids=lambda a: a[0] + ("-" + a[-1] if a[0] == "progress" else ""))
def test_a_closed_stdout_ends_any_command_quietly(args, demo_store, tmp_path):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args] + ["--store", str(demo_store)]
    p = _into_closed_pipe(args)
    assert p.stderr.count("Traceback") == 0 and "BrokenPipeError" not in p.stderr, p.stderr
    assert p.returncode == 1


# --- stores -----------------------------------------------------------------------------------

def test_migrate_and_copy_on_postgis(pg_db, demo_store, tmp_path, capsys):
    from geo.store import open_store

    assert main(["migrate", "--store", pg_db]) == 0
    first = capsys.readouterr().out
    assert first.startswith("schema migrated from version 0 to ")
    assert main(["migrate", "--store", pg_db]) == 0
    assert "already current" in capsys.readouterr().out
    assert main(["copy", str(demo_store), pg_db]) == 0
    out = capsys.readouterr().out
    assert f"farms\t{len(open_store(demo_store).read('farms'))}" in out.splitlines()
    assert open_store(pg_db).read("farms")["id"].tolist() == open_store(demo_store).read("farms")["id"].tolist()
    assert main(["migrate", "--store", str(demo_store)]) == 2  # a GeoPackage has no schema to migrate
    assert "PostGIS" in capsys.readouterr().err
    assert main(["copy", str(demo_store), str(demo_store)]) == 2
    assert "源与目标相同" in capsys.readouterr().err
