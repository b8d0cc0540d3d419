"""The layout of eoforge.synth: world <- render <- write <- scene modules, no cycles."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

import eoforge.synth

ROOT = Path(eoforge.synth.__file__).parent
PACKAGE = "eoforge.synth"
#: Each stage may import the stages before it, never those after it.
STAGES = ("world", "render", "write")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(encoding="utf-8")) for p in ROOT.rglob("*.py")}


def _synth_imports(tree: ast.Module, known: set[str]) -> set[str]:
    """Modules of eoforge.synth imported at module level."""
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in known:
                    out.add(sub)
                elif node.module in known:
                    out.add(node.module)
    return out - {PACKAGE}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _synth_imports(tree, known) for name, tree in modules.items()}


def _stage(module: str) -> int:
    parts = module.split(".")
    if len(parts) > 3 and parts[2] in STAGES:
        return STAGES.index(parts[2])
    return len(STAGES)  # the scene modules at the top drive all stages


def test_no_import_cycles() -> None:
    graph = _graph()
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycle = [*path[path.index(node) :], node]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        for target in sorted(graph[node]):
            visit(target, [*path, node])
        done.add(node)

    for module in sorted(graph):
        visit(module, [])


def test_stages_import_only_earlier_stages() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if _stage(target) > _stage(module)
    ]
    assert wrong == []


def test_function_local_imports_say_why() -> None:
    silent = []
    for path in ROOT.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    line = lines[inner.lineno - 1]
                    above = lines[inner.lineno - 2].strip() if inner.lineno > 1 else ""
                    if "#" not in line and not above.startswith("#"):
                        silent.append(f"{path.name}:{inner.lineno}")
    assert silent == []


@pytest.mark.parametrize(
    "old",
    [
        "bench",
        "classes",
        "context",
        "extras",
        "indexing",
        "options",
        "outputs",
        "passes",
        "render_optical",
        "render_s1",
        "render_vhr",
        "writers",
    ],
)
def test_old_module_names_are_gone(old: str) -> None:
    assert importlib.util.find_spec(f"{PACKAGE}.{old}") is None
