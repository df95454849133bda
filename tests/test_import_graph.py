"""The package's modules import each other without a cycle, and none uses another's private
names (issue 12).

The graph is built from the sources with :mod:`ast` (every import executed when a module is
imported: module level, class bodies, ``if``/``try`` blocks, but not function bodies, which run
later, nor ``if TYPE_CHECKING:`` blocks, which never run). A second, independent check imports
every module in a fresh interpreter and records which package module started executing inside
which: every such edge must be in the static graph, so the graph misses nothing that runs.
"""

from __future__ import annotations

import ast
import graphlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "teamforge_analysis"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def module_name(path: Path) -> str:
    parts = (PACKAGE, *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
PACKAGES = {module_name(p) for p in ROOT.rglob("__init__.py")}


def executed_at_import(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of ``body`` that run when the module is imported."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from executed_at_import(node.orelse)
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            yield from executed_at_import(getattr(node, field, []))


def imported(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str]]:
    """(module imported, name taken from it or "") for each package module the node imports."""
    if isinstance(node, ast.Import):
        yield from ((a.name, "") for a in node.names if a.name.split(".")[0] == PACKAGE)
        return
    base = module if module in PACKAGES else module.rpartition(".")[0]
    for _ in range(node.level - 1 if node.level else 0):
        base = base.rpartition(".")[0]
    target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
    if target is None or target.split(".")[0] != PACKAGE:
        return
    for alias in node.names:  # (`from . import io` imports the module io, not the package)
        submodule = f"{target}.{alias.name}"
        yield (submodule, "") if submodule in SOURCES else (target, alias.name)


def static_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in SOURCES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[module] = {target for node in executed_at_import(tree.body)
                         if isinstance(node, (ast.Import, ast.ImportFrom))
                         for target, _ in imported(module, node)}
    return graph


def test_the_import_graph_has_no_cycle() -> None:
    graph = static_graph()
    assert f"{PACKAGE}.analysis" in graph[PACKAGE]  # (the resolver finds what __init__ imports)
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        # (graphlib lists each module before one that imports it)
        pytest.fail(f"import cycle: {' imports '.join(reversed(exc.args[1]))}")
    assert set(order) >= set(SOURCES)


def test_no_module_imports_private_names_of_another() -> None:
    private = []
    for module, path in SOURCES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                private += [f"{module}: {target}.{name}" for target, name in imported(module, node)
                            if name.startswith("_") and not name.startswith("__")]
    assert private == []


#: Run in a fresh interpreter: import every module, recording which package module started
#: executing while which other one was executing (the finder wraps each loader).
TRACER = """
import importlib.abc, json, sys
stack, edges = [], set()

class Tracer(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] != "teamforge_analysis":
            return None
        others = [f for f in sys.meta_path if f is not self and hasattr(f, "find_spec")]
        spec = next(filter(None, (f.find_spec(name, path, target) for f in others)), None)
        if spec is not None:
            run = spec.loader.exec_module
            def exec_module(module):
                if stack:
                    edges.add((stack[-1], name))
                stack.append(name)
                try:
                    run(module)
                finally:
                    stack.pop()
            spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Tracer())
for name in json.loads(sys.argv[1]):
    __import__(name)
print(json.dumps(sorted(edges)))
"""


def test_every_import_that_runs_is_in_the_static_graph() -> None:
    modules = sorted(set(SOURCES) - {f"{PACKAGE}.__main__"})  # (importing it runs the command)
    done = subprocess.run([sys.executable, "-c", TRACER, json.dumps(modules)],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    edges = json.loads(done.stdout)
    graph = static_graph()
    # A module's package runs before the module itself: importing a.b.c may start a.b first.
    missing = [(a, b) for a, b in edges if not any(t == b or t.startswith(f"{b}.")
                                                   for t in graph[a])]
    assert edges and missing == []
