"""The kernel's layers, read from its own source: who imports whom, and the path a run takes.

A module's layer is one more than the highest layer it imports from, so the
modules that import nothing of mnistlab are layer 0 and every import points
down. ``import_graph`` reads the imports with ``ast`` (those inside functions
and under ``TYPE_CHECKING`` too: a lazy import still makes two modules depend
on each other); ``call_path`` records which kernel modules a real run enters,
in order, up to its first training batch. ``docs/how-it-works.md`` draws both,
and ``tests/test_kernel_layout.py`` holds the kernel to them.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any

KERNEL = Path(__file__).resolve().parent


@cache
def modules() -> dict[str, Path]:
    """Every module of the kernel by dotted name, with its file."""
    found = {}
    for path in sorted(KERNEL.rglob("*.py")):
        name = ".".join(("mnistlab", *path.relative_to(KERNEL).with_suffix("").parts))
        found[name.removesuffix(".__init__")] = path
    return found


def imports_of(module: str) -> set[str]:
    """The kernel modules that ``module`` imports, anywhere in its source."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . import x, from .x import y
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            # `from mnistlab import runner` imports the module runner; `from mnistlab import
            # hookimpl` imports the package that defines hookimpl.
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules() else base
                         for alias in node.names)
    return {name for name in found if name in modules() and name != module}


def import_graph() -> dict[str, set[str]]:
    """Each kernel module and the kernel modules it imports."""
    return {module: imports_of(module) for module in modules()}


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in ``graph``, as the modules around it (first one repeated), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
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


def layer_of(graph: dict[str, set[str]]) -> dict[str, int]:
    """Each module's layer: 0 when it imports no kernel module, else one above its highest."""
    layers: dict[str, int] = {}

    def layer(node: str) -> int:
        if node not in layers:
            layers[node] = 1 + max((layer(nxt) for nxt in graph[node]), default=-1)
        return layers[node]

    for node in graph:
        layer(node)
    return layers


def call_path(stage: str, **settings: Any) -> list[tuple[str, str]]:
    """The calls between kernel modules that a run of ``stage`` makes, in order, from
    ``mnistlab.run`` until the loop takes its first training batch.

    Each call is ``(caller, callee)``: the nearest kernel module on the stack and the kernel
    module called, when they differ. Code that runs while a module is imported is not a call,
    and neither are plugins' frames (a loop calling ``session.batches``) nor torch's and
    pluggy's, which are looked through to the kernel module below them.
    """
    import mnistlab

    kernel = modules()
    calls: list[tuple[str, str]] = []
    first_batch = False

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal first_batch
        callee = frame.f_globals.get("__name__", "")
        if event != "call" or first_batch or callee not in kernel or (
                frame.f_code.co_name == "<module>"):
            return
        caller = frame.f_back
        while caller is not None and caller.f_globals.get("__name__", "") not in kernel:
            caller = caller.f_back
        if caller is not None and caller.f_globals["__name__"] not in (callee, __name__):
            calls.append((caller.f_globals["__name__"], callee))
        first_batch = callee == "mnistlab.books" and frame.f_code.co_name == "steps"
        if first_batch:  # the path is drawn: the rest of the run goes unwatched, at full speed
            sys.setprofile(None)

    sys.setprofile(profile)
    try:
        mnistlab.run(stage, epochs=1, quiet=True, **settings)
    finally:
        sys.setprofile(None)
    return calls
