"""The kernel's shape: layers without an import circle, small modules, and no plugin or stage
named outside the stage table. Read from the source with ``ast``, imports inside functions and
under ``TYPE_CHECKING`` included: a lazy import still makes two modules depend on each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mnistlab.stages import OBSERVERS, STAGES, pieces_of

KERNEL = Path(__file__).resolve().parents[1] / "mnistlab"
MODULES = {
    ".".join(("mnistlab", *path.relative_to(KERNEL).with_suffix("").parts)).removesuffix(
        ".__init__"): path
    for path in KERNEL.rglob("*.py")
}
# hookspecs.py is the plugin author's reference: one docstring per hook, kept in one file.
LONGEST = 300


def imported(module: str, path: Path) -> set[str]:
    """The mnistlab modules that ``module`` imports, anywhere in its source."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . import x, from .x import y
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            # `from mnistlab import runner` imports the module runner; `from mnistlab import
            # hookimpl` imports the package that defines hookimpl.
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                         for alias in node.names)
    return {name for name in found if name in MODULES and name != module}


def circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in ``graph``, as the modules around it, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_kernels_imports_have_no_circle():
    graph = {module: imported(module, path) for module, path in MODULES.items()}
    found = circle(graph)
    assert found is None, " -> ".join(found)


def test_the_circle_check_finds_a_circle():
    assert circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert circle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_kernel_module_is_longer_than_a_sitting(module):
    if module == "mnistlab.hookspecs":
        pytest.skip("the hook reference: one docstring per hook, in one file")
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= LONGEST, f"{module} has {lines} lines"


def names_of_plugins_and_stages() -> set[str]:
    names = {stage.name for stage in STAGES} | set(OBSERVERS)
    for stage in STAGES:
        names.update(pieces_of(stage.name).values())
    return names


def test_the_kernel_names_no_plugin_and_no_stage_outside_the_stage_table():
    names = names_of_plugins_and_stages()
    named = [f"{path.relative_to(KERNEL)}:{node.lineno}: {node.value!r}"
             for module, path in MODULES.items() if module != "mnistlab.stages"
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Constant) and node.value in names]
    assert named == []
