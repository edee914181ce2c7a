"""Where each built-in plugin's source lives, and the diff a stage makes.

The docs and ``mnistlab diff`` read the plugin files themselves, so what they
show is always the code that runs.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import inspect
import re
from pathlib import Path

from mnistlab.errors import MnistlabError
from mnistlab.plugin_loading import BUILTIN_PACKAGE
from mnistlab.stages import STAGES, get_stage, hyper_of, pieces_of


def plugin_path(name: str) -> Path:
    """The source file of the built-in plugin ``name``, found without importing it."""
    spec = importlib.util.find_spec(f"{BUILTIN_PACKAGE}.{name}")
    if spec is None or spec.origin is None:
        raise MnistlabError(f"no built-in plugin called {name!r}")
    return Path(spec.origin)


def plugin_source(name: str) -> str:
    """The source text of the built-in plugin ``name``."""
    return plugin_path(name).read_text(encoding="utf-8")


def replaced_plugin(stage: str) -> str:
    """The plugin that the stage's swapped piece had in the parent stage."""
    info = get_stage(stage)
    if info.parent is None:
        second = next(later.name for later in STAGES if later.parent == stage)
        raise MnistlabError(f"{stage!r} is the first stage: it swaps nothing; "
                            f"try `mnistlab diff {second}`")
    return pieces_of(info.parent)[info.swaps]


def split_docstring(source: str) -> tuple[str, int]:
    """The module docstring of ``source``, and how many lines it and the blank lines after it take.

    The docstring is the lesson's prose; the lines after it are its code.
    """
    body = ast.parse(source).body
    if not (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        return "", 0
    lines = source.splitlines()
    end = body[0].end_lineno or 0
    while end < len(lines) and not lines[end].strip():
        end += 1
    return inspect.cleandoc(body[0].value.value), end


def plugin_docstring(name: str) -> str:
    """The module docstring of the built-in plugin ``name``: what it does and what it replaces."""
    return split_docstring(plugin_source(name))[0]


def hyper_changes(stage: str) -> dict[str, tuple[float, float]]:
    """The default hyper-parameters the stage changes: ``{name: (parent's, stage's)}``."""
    info = get_stage(stage)
    if info.parent is None:
        return {}
    old, new = hyper_of(info.parent), hyper_of(stage)
    return {name: (old.get(name), value) for name, value in new.items()
            if old.get(name) != value}


def settings_diff(stage: str) -> str:
    """The default settings the stage changes, as a diff of its parent's and its own.

    The stage table sets them (``hyper`` in ``mnistlab/stages.py``), so no
    plugin file shows the change; empty when the stage changes none.
    """
    if not hyper_changes(stage):
        return ""
    from mnistlab.config import stage_defaults

    parent = get_stage(stage).parent
    old, new = ([f"{name} = {value:g}\n" for name, value in stage_defaults(name).items()]
                for name in (parent, stage))
    return "".join(difflib.unified_diff(
        old, new, fromfile=f"stage {parent}: default settings (mnistlab/stages.py)",
        tofile=f"stage {stage}: default settings (mnistlab/stages.py)"))


def stage_diff(stage: str) -> str:
    """The unified diff of the code a stage swaps in, against the code it replaces.

    Only the code is compared: each file's module docstring (its prose, which
    changes with every swap) is left out, and ``plugin_docstring`` gives it.
    The line numbers in the hunk headers are those of the files themselves.
    """
    old, new = replaced_plugin(stage), get_stage(stage).plugin
    (old_text, old_skip), (new_text, new_skip) = (
        _code(plugin_source(name)) for name in (old, new))
    lines = difflib.unified_diff(old_text, new_text, fromfile=f"plugins/{old}.py",
                                 tofile=f"plugins/{new}.py")
    return "".join(_shift_hunk(line, old_skip, new_skip) for line in lines)


def _code(source: str) -> tuple[list[str], int]:
    """The lines of ``source`` after its module docstring, and how many lines came before."""
    _, skip = split_docstring(source)
    return source.splitlines(keepends=True)[skip:], skip


_HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


def _shift_hunk(line: str, old_skip: int, new_skip: int) -> str:
    """A hunk header renumbered from the code's lines to the file's."""
    match = _HUNK.match(line)
    if match is None:
        return line
    old_start, old_count, new_start, new_count = match.groups()
    return (f"@@ -{int(old_start) + old_skip}{old_count or ''} "
            f"+{int(new_start) + new_skip}{new_count or ''} @@{line[match.end():]}")
