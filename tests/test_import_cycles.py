"""No import cycle in the service (inspection/, tasks/, config/), the bench or the lab: a
module's imports never lead back to it. Imports inside functions count too: deferring one hides
a cycle (until someone moves it, and start-up fails on a half-initialised module), it does not
remove it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PACKAGES = {"service": ("inspection", "tasks", "config"), "bench": ("bench",), "lab": ("lab",)}


def module_files(folders: tuple[str, ...]) -> dict[str, Path]:
    found = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(tree: ast.Module, modules: set[str]) -> list[str]:
    """Modules imported anywhere in a module. `from package import submodule` imports the
    submodule: the package is its parent, initialised first whatever the order, so that is no
    edge back to the package."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            full = [f"{node.module}.{alias.name}" for alias in node.names]
            names += [name for name in full if name in modules]
            if any(name not in modules for name in full):
                names.append(node.module)
    return names


def import_graph(folders: tuple[str, ...]) -> dict[str, set[str]]:
    files = module_files(folders)
    modules = set(files)
    return {
        name: {m for m in imports(ast.parse(path.read_text()), modules) if m in files} - {name}
        for name, path in files.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle found by a depth-first walk, as the path that closes it."""
    found, done = [], set()

    def walk(node: str, path: list[str]) -> None:
        for target in sorted(graph[node]):
            if target in path:
                found.append([*path[path.index(target) :], target])
            elif target not in done:
                walk(target, [*path, target])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            walk(start, [start])
    return found


@pytest.mark.parametrize("part", sorted(PACKAGES))
def test_no_import_cycle(part: str) -> None:
    graph = import_graph(PACKAGES[part])
    assert len(graph) > 5
    assert cycles(graph) == []


def test_the_walk_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    source = (
        "import x.y\nfrom p.q import r\nfrom p import s\nif True:\n    import z\n"
        "def f():\n    import w\n"
    )
    modules = {"x.y", "p", "p.q", "p.s", "z", "w"}
    assert imports(ast.parse(source), modules) == ["x.y", "p.q", "p.s", "z", "w"]
