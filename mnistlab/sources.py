"""Where each built-in plugin's source lives, and the diff a stage makes.

The docs and ``mnistlab diff`` read the plugin files themselves, so what they
show is always the code that runs.
"""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

from mnistlab.errors import MnistlabError
from mnistlab.plugin_loading import BUILTIN_PACKAGE
from mnistlab.stages import get_stage, pieces_of


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
        raise MnistlabError(f"{stage!r} is the first stage: it swaps nothing; "
                            "try `mnistlab diff functional`")
    return pieces_of(info.parent)[info.swaps]


def stage_diff(stage: str) -> str:
    """The unified diff from the replaced plugin's source to the stage's own."""
    old, new = replaced_plugin(stage), get_stage(stage).plugin
    return "".join(difflib.unified_diff(
        plugin_source(old).splitlines(keepends=True),
        plugin_source(new).splitlines(keepends=True),
        fromfile=f"plugins/{old}.py", tofile=f"plugins/{new}.py",
    ))
