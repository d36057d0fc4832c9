"""The import graph follows docs/architecture.md: no circle, no import running back up a layer.

Imports are read from the source (``ast``), including imports inside functions, so a lazy import
cannot hide a circle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["geo", "layers", "views", "ui.py", "login_ui.py", "casework_ui.py", "search_ui.py", "app.py"]


def rank(module: str) -> int:
    """The layer of a project module (docs/architecture.md)."""
    if module in ("geo", "geo.errors", "geo.config", "geo.crs"):
        return 0
    if module == "geo.io" or module.startswith("geo.io."):
        return 1
    if module in ("geo.contract", "geo.rules", "geo.check", "geo.history", "geo.spatial"):
        return 2
    if module == "geo.store" or module.startswith("geo.store."):
        return 3
    if module == "geo.cli" or module.startswith("geo.cli.") or module == "geo.__main__":
        return 5
    if module.startswith("geo."):
        return 4
    if module == "layers" or module.startswith("layers."):
        return 5
    return 6  # ui, casework_ui, views, app


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_files() -> list[Path]:
    out = []
    for s in SOURCES:
        p = ROOT / s
        out += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    return [p for p in out if p.exists()]


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Project modules that ``path`` imports (resolving relative imports and ``from pkg import module``)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names] + [target]
        else:
            continue
        for name in names:
            # the longest project module the name starts with
            parts = name.split(".")
            for i in range(len(parts), 0, -1):
                cand = ".".join(parts[:i])
                if cand in modules:
                    if cand != me:
                        found.add(cand)
                    break
    return found


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    files = project_files()
    modules = {module_name(p) for p in files}
    g = nx.DiGraph()
    g.add_nodes_from(modules)
    for p in files:
        for target in imports_of(p, modules):
            # a package's __init__ re-exporting its own modules is not an upward import
            if target.startswith(module_name(p) + "."):
                continue
            g.add_edge(module_name(p), target)
    return g


def test_the_graph_is_read(graph):
    assert graph.number_of_nodes() > 30
    assert graph.has_edge("views.overview", "ui")


def test_no_import_circle(graph):
    cycles = list(nx.simple_cycles(graph))
    assert cycles == [], f"import circles: {cycles}"


def test_no_import_runs_back_up(graph):
    up = [(a, b) for a, b in graph.edges if rank(b) > rank(a)]
    assert up == [], f"imports running back up a layer: {up}"


def test_no_streamlit_in_the_core():
    bad = [str(p.relative_to(ROOT)) for p in (ROOT / "geo").rglob("*.py") if "import streamlit" in p.read_text()]
    assert bad == []


def test_argparse_only_in_the_cli():
    bad = []
    for p in (ROOT / "geo").rglob("*.py"):
        rel = p.relative_to(ROOT).as_posix()
        if rel.startswith("geo/cli/") or rel == "geo/__main__.py":
            continue
        text = p.read_text(encoding="utf-8")
        if "argparse" in text or "add_parser(" in text or "add_argument(" in text:
            bad.append(rel)
    assert bad == [], f"command-line code outside geo/cli: {bad}"


def test_map_layers_compute_no_domain_state(graph):
    """A map layer draws what the page gives it: ``layers`` never imports a domain module (rank 4)."""
    bad = [(a, b) for a, b in graph.edges if a.split(".")[0] == "layers" and rank(b) == 4]
    assert bad == [], f"map layers importing the domain: {bad}"


def test_no_placeholder_branches_in_pages_and_layers():
    """No ``except ImportError`` / ``AttributeError`` "under construction" branches: a real bug must surface."""
    bad = []
    for p in [*(ROOT / "views").rglob("*.py"), *(ROOT / "layers").rglob("*.py"), ROOT / "ui.py", ROOT / "app.py"]:
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
                if names & {"ImportError", "ModuleNotFoundError", "AttributeError"}:
                    bad.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert bad == [], f"placeholder branches: {bad}"


def test_one_date_formatter():
    """Dates a person reads are written by geo.fmt.date_zh (2007年6月30日) or fmt.iso_date in tables, never by a
    page's own strftime ("2007年06月30日" beside "2007年6月30日" was one of four formats, issue 25)."""
    import re

    own = re.compile(r":%Y年%m月%d日\}|strftime\(\"%Y年")
    bad = [f"{p.relative_to(ROOT)}:{i}" for p in project_files() for i, line in
           enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if own.search(line)]
    assert bad == [], bad
