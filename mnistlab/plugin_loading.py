"""Find plugins: built-in modules, ``--plugin`` files and modules, installed entry points.

Loading is all this module does; :mod:`mnistlab.plugin_manager` registers
what it finds and checks it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from mnistlab.errors import PluginError, one_line
from mnistlab.signals import raised_by_code

ENTRY_POINT_GROUP = "mnistlab"
BUILTIN_PACKAGE = "mnistlab.plugins"
# A comma-separated list of entry-point plugin names to load; empty loads none.
LOAD_PLUGINS_ENV = "MNISTLAB_LOAD_PLUGINS"


def builtin(name: str) -> ModuleType:
    """Import the built-in plugin module called ``name``."""
    return importlib.import_module(f"{BUILTIN_PACKAGE}.{name}")


def instantiate(module: Any) -> object:
    """The object to register for a plugin module.

    A plugin module is its own plugin, unless it keeps state: then it defines
    ``make_plugin()`` and each run registers a fresh object, so nothing leaks
    from one run to the next. ``make_plugin()`` may return ``None`` to sit
    this run out (the progress bar does, when there is no terminal).
    """
    make_plugin = getattr(module, "make_plugin", None)
    return make_plugin() if callable(make_plugin) else module


def declared(plugin: Any, attribute: str) -> bool:
    """Whether ``plugin`` (a module, or an object made by a plugin module) declares
    ``attribute`` as True: ``PRINTS_ONLY`` (it only shows the run) or ``JOINS_PROCESSES``
    (its loop joins the processes torchrun starts)."""
    module = plugin if inspect.ismodule(plugin) else sys.modules.get(type(plugin).__module__)
    return any(getattr(holder, attribute, False) is True for holder in (plugin, module))


def is_path(spec: str) -> bool:
    """Whether a ``--plugin`` value names a file rather than an importable module."""
    return spec.endswith(".py") or os.sep in spec or "/" in spec


def load_plugin(spec: str) -> ModuleType:
    """Import a user plugin from a ``.py`` path or an importable module name."""
    if is_path(spec):
        return _load_file(Path(spec))
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as error:
        if error.name and spec.startswith(error.name):
            raise PluginError(
                f"plugin {spec!r}: no module named {error.name!r}; "
                "pass a .py file path or the name of an installed module"
            ) from None
        raise PluginError(f"plugin {spec!r} failed to import: {one_line(error)}") from None
    except Exception as error:
        raise PluginError(f"plugin {spec!r} failed to import: {one_line(error)}") from None


def source_file(spec: str) -> Path:
    """The file a ``--plugin`` value names, found without running it."""
    if is_path(spec):
        path = Path(spec)
    else:
        try:
            found = importlib.util.find_spec(spec)
        except (ImportError, ValueError):
            found = None
        path = Path(found.origin) if found and found.origin else Path(spec)
    if not path.is_file():
        raise PluginError(f"plugin {spec!r} is not a file or an installed module; check the name")
    return path


def _load_file(path: Path) -> ModuleType:
    if path.is_dir():
        raise PluginError(f"plugin {str(path)!r} is a folder; give a .py file, or the name of "
                          "an installed module")
    if not path.is_file():
        why = "is not a regular file" if path.exists() else "does not exist"
        raise PluginError(f"plugin file {str(path)!r} {why}; check the path")
    module_name = f"mnistlab_user_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"plugin file {str(path)!r} is not a Python module; pass a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # lets the plugin's classes pickle and dataclasses resolve
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        del sys.modules[module_name]
        raise PluginError(
            f"plugin {str(path)!r} has a syntax error on line {error.lineno}: {error.msg}"
        ) from None
    except BaseException as error:  # sys.exit() while importing is a failure too
        del sys.modules[module_name]
        if not raised_by_code(error):  # Ctrl-C or kill
            raise
        raise PluginError(f"plugin {str(path)!r} failed to import: {one_line(error)}") from None
    return module



def entry_points() -> Iterator[importlib.metadata.EntryPoint]:
    """The installed ``mnistlab`` entry points, narrowed by ``$MNISTLAB_LOAD_PLUGINS``."""
    wanted = os.environ.get(LOAD_PLUGINS_ENV)
    names = None if wanted is None else {n.strip() for n in wanted.split(",") if n.strip()}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if names is None or entry_point.name in names:
            yield entry_point
