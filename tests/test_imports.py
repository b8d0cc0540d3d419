"""Import hygiene of ``src/eoforge``: no cycles, layers respected, lazy imports explained.

Every module is parsed with :mod:`ast` (nothing is imported), and its imports
are sorted into:

* module-level imports, which run when the module is imported: the edges of
  the import graph. ``from pkg import name`` points at ``pkg.name`` when that
  is a module, else at ``pkg``; relative imports are resolved; imports under
  ``if TYPE_CHECKING:`` never run and are left out. A package ``__init__``
  that re-exports its submodules imports them like any other module.
* imports inside a function body, which run when the function is called.
  Each must say why it is not at the top, in a comment on its own line(s) or
  on the line directly above; a comment above a run of consecutive imports
  covers the run. Good reasons: an optional extra that may not be installed
  (dask, distributed), or the start-up time of the command line (PyTorch is
  not imported by ``eoforge --version``). Hiding an import cycle is not one:
  break the cycle instead.

Layer rules (from the architecture) are checked on every import that runs,
module-level or in a function, directly or through other modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "eoforge"

LAYERS: dict[str, tuple[str, ...]] = {
    "eoforge.io": ("eoforge.tasks", "eoforge.experiment", "eoforge.predict", "eoforge.datasets"),
    "eoforge.models": ("eoforge.io",),
    "eoforge.predict": ("eoforge.experiment", "eoforge.tasks"),
}
"""Package -> packages it must never import, not even through another module.

``eoforge.cli`` may import anything."""


# --------------------------------------------------------------------------- the graph


@dataclass(frozen=True)
class LocalImport:
    """An import statement inside a function body."""

    module: str
    path: Path
    line: int
    end_line: int
    text: str
    targets: tuple[str, ...]


@dataclass
class Graph:
    """The imports of every module of a package tree."""

    files: dict[str, Path]
    edges: dict[str, set[str]] = field(default_factory=dict)
    local: list[LocalImport] = field(default_factory=list)

    def local_edges(self) -> dict[str, set[str]]:
        """Module -> modules it imports inside functions."""
        out: dict[str, set[str]] = {name: set() for name in self.files}
        for imp in self.local:
            out[imp.module].update(imp.targets)
        return out


def module_files(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``root/package``."""
    files: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _resolve(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: dict[str, Path]
) -> tuple[str, ...]:
    """The modules of ``known`` that an import statement imports."""

    def longest_known(name: str) -> str | None:
        parts = name.split(".")
        while parts:
            candidate = ".".join(parts)
            if candidate in known:
                return candidate
            parts.pop()
        return None

    found: list[str] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            target = longest_known(alias.name)
            if target is not None:
                found.append(target)
        return tuple(found)
    if node.level:
        base_parts = module.split(".") if is_package else module.split(".")[:-1]
        base_parts = base_parts[: len(base_parts) - (node.level - 1)]
        base = ".".join([*base_parts, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        if submodule in known:
            found.append(submodule)
        else:
            target = longest_known(base)
            if target is not None:
                found.append(target)
    return tuple(dict.fromkeys(found))


def _module_level(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module runs: not in functions, not under TYPE_CHECKING."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _module_level(node.orelse)
        else:
            for name in ("body", "orelse", "finalbody"):
                yield from _module_level(getattr(node, name, []))
            for handler in getattr(node, "handlers", []):
                yield from _module_level(handler.body)
            for case in getattr(node, "cases", []):
                yield from _module_level(case.body)


def _in_functions(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports anywhere inside a function body (nested functions included)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    yield inner


def build_graph(root: Path, package: str) -> Graph:
    """Parse every module of ``root/package`` into its import graph."""
    graph = Graph(module_files(root, package))
    for name, path in graph.files.items():
        is_package = path.name == "__init__.py"
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
        lines = source.splitlines()
        graph.edges[name] = {
            target
            for node in _module_level(tree.body)
            for target in _resolve(node, name, is_package, graph.files)
        }
        seen: set[int] = set()
        for node in _in_functions(tree):
            if id(node) in seen:  # nested functions are walked twice
                continue
            seen.add(id(node))
            end = node.end_lineno or node.lineno
            graph.local.append(
                LocalImport(
                    module=name,
                    path=path,
                    line=node.lineno,
                    end_line=end,
                    text=" ".join(" ".join(lines[node.lineno - 1 : end]).split()),
                    targets=_resolve(node, name, is_package, graph.files),
                )
            )
    graph.local.sort(key=lambda imp: (str(imp.path), imp.line))
    return graph


# --------------------------------------------------------------------------- the checks


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle ``[a, b, ..., a]`` per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    counter = 0

    def connect(node: str) -> None:  # Tarjan's algorithm; the graph has ~200 nodes
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1 or node in edges.get(node, ()):
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return [_cycle_in(sorted(group)[0], group, edges) for group in groups]


def _cycle_in(start: str, group: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest path from ``start`` back to itself inside ``group`` (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for nxt in sorted(edges.get(node, ()) & group):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def is_explained(imp: LocalImport, lines: list[str], explained: set[tuple[Path, int]]) -> bool:
    """A comment on the import's lines or directly above, or above its run of imports."""
    if any("#" in line for line in lines[imp.line - 1 : imp.end_line]):
        return True
    above = lines[imp.line - 2].strip() if imp.line >= 2 else ""
    return above.startswith("#") or (imp.path, imp.line - 1) in explained


def unexplained_local_imports(graph: Graph) -> list[LocalImport]:
    """Function-local imports without a comment saying why."""
    sources: dict[Path, list[str]] = {}
    explained: set[tuple[Path, int]] = set()  # (file, last line) of explained imports
    offenders: list[LocalImport] = []
    for imp in graph.local:  # in file and line order, so a run is seen top-down
        lines = sources.setdefault(imp.path, imp.path.read_text(encoding="utf-8").splitlines())
        if is_explained(imp, lines, explained):
            explained.add((imp.path, imp.end_line))
        else:
            offenders.append(imp)
    return offenders


def _in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layer_violations(graph: Graph, rules: dict[str, tuple[str, ...]]) -> list[str]:
    """Chains ``a -> b -> c`` by which a package reaches one it must never import.

    Every import that runs counts: module-level and function-local edges, and
    the implicit import of each module's parent packages.
    """
    edges: dict[str, set[str]] = {name: set(targets) for name, targets in graph.edges.items()}
    for name, targets in graph.local_edges().items():
        edges[name] |= targets
    for name in graph.files:
        parent = name.rpartition(".")[0]
        if parent in graph.files:
            edges[name].add(parent)
    found: list[str] = []
    for package, forbidden in rules.items():
        starts = sorted(m for m in graph.files if _in_package(m, package))
        previous: dict[str, str] = {}
        frontier = list(starts)
        seen = set(starts)
        while frontier:
            following: list[str] = []
            for node in frontier:
                for nxt in sorted(edges[node]):
                    if nxt in seen:
                        continue
                    seen.add(nxt)
                    previous[nxt] = node
                    following.append(nxt)
            frontier = following
        for bad in forbidden:
            for target in sorted(m for m in seen if _in_package(m, bad)):
                chain = [target]
                while chain[-1] in previous:
                    chain.append(previous[chain[-1]])
                if len(chain) > 1 and _in_package(chain[1], bad):
                    continue  # reached through another forbidden module: report that one
                found.append(f"{package} must not import {bad}: " + " -> ".join(reversed(chain)))
    return found


# --------------------------------------------------------------------------- eoforge


@pytest.fixture(scope="module")
def graph() -> Graph:
    return build_graph(SRC, PACKAGE)


def test_the_graph_covers_every_module(graph: Graph) -> None:
    assert len(graph.files) > 100
    assert "eoforge.io.source" in graph.files and "eoforge.cli.main" in graph.files
    # Module-level imports resolve to submodules, package inits re-export theirs.
    assert "eoforge.io.handles" in graph.edges["eoforge.io.source"]
    assert "eoforge.io.reader" in graph.edges["eoforge.io"]


def test_no_import_cycles(graph: Graph) -> None:
    cycles = find_cycles(graph.edges)
    if cycles:
        pytest.fail("module-level import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles))


def test_function_local_imports_say_why(graph: Graph) -> None:
    offenders = unexplained_local_imports(graph)
    if offenders:
        pytest.fail(
            "imports inside functions need a comment (same line or the line above) saying why "
            "they are not at the top of the module (optional extra, CLI start-up time); move "
            "the others up:\n"
            + "\n".join(f"{imp.path.relative_to(SRC)}:{imp.line}: {imp.text}" for imp in offenders)
        )


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_layers(graph: Graph, package: str) -> None:
    violations = layer_violations(graph, {package: LAYERS[package]})
    if violations:
        pytest.fail("\n".join(violations))


# --------------------------------------------------------------------------- the checker itself


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_checker_on_a_small_package(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import f\n",
            "pkg/a.py": (
                "from typing import TYPE_CHECKING\n"
                "from pkg import b\n"
                "if TYPE_CHECKING:\n"
                "    from pkg.c import C\n"
                "def f():\n"
                "    # the reason\n"
                "    from pkg.c import g\n"
                "    from pkg.d import h\n"
                "\n"
                "    import json  # another reason\n"
                "    from pkg.d import k\n"
            ),
            "pkg/b.py": "from .c import g\n",
            "pkg/c.py": "import pkg.a\nclass C:\n    from pkg import d\n",
            "pkg/d.py": "def h():\n    from . import a\n",
            "pkg/low/__init__.py": "",
            "pkg/low/x.py": "def k():\n    # lazy\n    from pkg.b import g\n",
        },
    )
    graph = build_graph(tmp_path, "pkg")
    assert graph.edges["pkg"] == {"pkg.a"}
    assert graph.edges["pkg.a"] == {"pkg.b"}  # the TYPE_CHECKING import is no edge
    assert graph.edges["pkg.b"] == {"pkg.c"}  # relative import resolved
    assert graph.edges["pkg.c"] == {"pkg.a", "pkg.d"}  # class bodies run at import
    assert find_cycles(graph.edges) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
    offenders = [(imp.module, imp.line) for imp in unexplained_local_imports(graph)]
    # Line 7 has the comment above, line 8 follows it in the same run; line 11 follows
    # line 10 (commented); d.py's import has no comment.
    assert offenders == [("pkg.d", 2)]
    assert graph.local[-1].targets == ("pkg.b",)
    rules = {"pkg.low": ("pkg.c",), "pkg.d": ("pkg.low",)}
    assert layer_violations(graph, rules) == [
        "pkg.low must not import pkg.c: pkg.low.x -> pkg.b -> pkg.c"
    ]
