"""Build a fresh pluggy plugin manager for one run.

Plugins are registered in this order, and pluggy asks the last registered
first, so each group overrides the one before it:

1. the built-in plugins that fill the stage's pieces, by their short names;
2. the built-in observers (console report, progress bar, run folder);
3. installed packages that register in the ``mnistlab`` entry-point group;
4. the ``--plugin`` files and modules, in the order given.

A new manager per run keeps runs (and tests) from leaking state into each other.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from mnistlab import hookspecs
from mnistlab.errors import PluginError, closest
from mnistlab.stages import PIECE_HOOKS, pieces_of

ENTRY_POINT_GROUP = "mnistlab"
BUILTIN_PACKAGE = "mnistlab.plugins"
# Observers every run has; pluggy asks the last registered first, so run_folder
# (which may refuse to overwrite a folder) speaks before console prints anything.
OBSERVERS = ("console", "progress", "run_folder")
# A comma-separated list of entry-point plugin names to load; empty loads none.
LOAD_PLUGINS_ENV = "MNISTLAB_LOAD_PLUGINS"


def builtin(name: str) -> ModuleType:
    """Import the built-in plugin module called ``name``."""
    return importlib.import_module(f"{BUILTIN_PACKAGE}.{name}")


def builtin_plugin(name: str) -> object:
    """The object to register for the built-in plugin ``name``."""
    return instantiate(builtin(name))


def instantiate(module: Any) -> object:
    """The object to register for a plugin module.

    A plugin module is its own plugin, unless it keeps state: then it defines
    ``make_plugin()`` and each run registers a fresh object, so nothing leaks
    from one run to the next. ``make_plugin()`` may return ``None`` to sit
    this run out (the progress bar does, when there is no terminal).
    """
    make_plugin = getattr(module, "make_plugin", None)
    return make_plugin() if callable(make_plugin) else module


def builtin_names(stage: str) -> list[str]:
    """The short names of the built-in plugins a stage registers."""
    return [*pieces_of(stage).values(), *OBSERVERS]


def load_plugin(spec: str) -> ModuleType:
    """Import a user plugin from a ``.py`` path or an importable module name."""
    if spec.endswith(".py") or os.sep in spec or "/" in spec:
        return _load_file(Path(spec))
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as error:
        if error.name and spec.startswith(error.name):
            raise PluginError(
                f"plugin {spec!r}: no module named {error.name!r}; "
                "pass a .py file path or the name of an installed module"
            ) from None
        raise PluginError(f"plugin {spec!r} failed to import: {_describe(error)}") from None
    except Exception as error:
        raise PluginError(f"plugin {spec!r} failed to import: {_describe(error)}") from None


def _load_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise PluginError(f"plugin file {str(path)!r} does not exist; check the path")
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
    except Exception as error:
        del sys.modules[module_name]
        raise PluginError(f"plugin {str(path)!r} failed to import: {_describe(error)}") from None
    return module


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    wanted = os.environ.get(LOAD_PLUGINS_ENV)
    names = None if wanted is None else {n.strip() for n in wanted.split(",") if n.strip()}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if names is None or entry_point.name in names:
            yield entry_point


class PluginManager(pluggy.PluginManager):
    """pluggy's manager for the ``mnistlab`` project, remembering where each plugin came from."""

    def __init__(self) -> None:
        super().__init__("mnistlab")
        # plugin name -> "built-in", "entry point" or "--plugin"
        self.origins: dict[str, str] = {}


def register(pm: PluginManager, plugin: Any, name: str, origin: str) -> None:
    """Check ``plugin``'s hooks, register it as ``name`` and note its origin."""
    if plugin is None:  # make_plugin() declined
        return
    _check_hooks(pm, plugin, name)
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        message = " ".join(str(error).split())
        raise PluginError(f"plugin {name!r}: {message}") from None
    except ValueError as error:  # pluggy: the same name or object registered twice
        raise PluginError(f"plugin {name!r} is given twice: {error}") from None
    pm.origins[name] = origin


SPECS = {name: spec for name, spec in vars(hookspecs).items() if hasattr(spec, "mnistlab_spec")}


def spec_arguments(hook: str) -> list[str]:
    """The argument names a hook passes, in its spec's order."""
    return list(inspect.signature(SPECS[hook]).parameters)


def _check_hooks(pm: pluggy.PluginManager, plugin: Any, name: str) -> None:
    """Name an unknown hook or a wrong argument before pluggy sees it, with the fix."""
    for attr in dir(plugin):
        options = pm.parse_hookimpl_opts(plugin, attr)
        if options is None:
            continue
        hook = options.get("specname") or attr
        if hook not in SPECS:
            if options.get("optionalhook"):
                continue
            raise PluginError(f"plugin {name!r} implements unknown hook {hook!r}"
                              f"{closest(hook, SPECS)}; the hooks are listed in hookspecs.py")
        arguments = list(inspect.signature(getattr(plugin, attr)).parameters)
        wrong = [argument for argument in arguments if argument not in spec_arguments(hook)]
        if wrong:
            raise PluginError(
                f"plugin {name!r}: hook {hook}({', '.join(arguments)}) asks for "
                f"{', '.join(map(repr, wrong))}, which {hook} does not pass; "
                f"use any of: {', '.join(spec_arguments(hook))}"
            )


def _check_single_claims(pm: pluggy.PluginManager, builtins: set[str]) -> None:
    """A piece is filled by one plugin: two user plugins claiming it is a mistake."""
    for piece, hook_name in PIECE_HOOKS.items():
        claims = [
            impl.plugin_name
            for impl in getattr(pm.hook, hook_name).get_hookimpls()
            if impl.plugin_name not in builtins
        ]
        if len(claims) > 1:
            names = " and ".join(repr(name) for name in claims)
            raise PluginError(
                f"plugins {names} both provide the {piece} ({hook_name}); "
                "a piece is filled by one plugin: pass only one, or block one with --no-plugin"
            )


def get_plugin_manager(
    stage: str,
    plugins: Iterable[str | object] = (),
    blocked: Iterable[str] = (),
) -> PluginManager:
    """Return a new plugin manager with everything a run of ``stage`` uses.

    Args:
        stage: the stage whose built-in pieces to register.
        plugins: extra plugins: ``.py`` paths, module names, or plugin objects.
        blocked: plugin names not to register (built-in, entry point or user).
    """
    pm = PluginManager()
    pm.add_hookspecs(hookspecs)
    builtins = builtin_names(stage)
    blocked = list(blocked)
    # Reading every installed package's metadata takes milliseconds: do it once.
    entry_points = list(_entry_points())
    known = [*builtins, *(ep.name for ep in entry_points)]
    for name in blocked:
        if name not in known and not any(name == str(p) for p in plugins):
            raise PluginError(
                f"--no-plugin {name!r}: no such plugin in this run{closest(name, known)}; "
                "run `mnistlab plugins` to list them"
            )
        pm.set_blocked(name)

    for name in builtins:
        if not pm.is_blocked(name):
            register(pm, builtin_plugin(name), name, "built-in")
    for entry_point in entry_points:
        if pm.is_blocked(entry_point.name):
            continue
        # A broken installed package must not break every command: say so, skip it.
        try:
            plugin = entry_point.load()
            register(pm, instantiate(plugin), entry_point.name, "entry point")
        except Exception as error:
            print(f"warning: skipped installed plugin {entry_point.name!r} ({entry_point.value}): "
                  f"{_describe(error)}; uninstall it or leave it out of {LOAD_PLUGINS_ENV}",
                  file=sys.stderr)
    for plugin in plugins:
        if isinstance(plugin, str):
            if not pm.is_blocked(plugin):
                register(pm, instantiate(load_plugin(plugin)), plugin, "--plugin")
        else:
            name = getattr(plugin, "__name__", None) or type(plugin).__name__
            register(pm, plugin, name, "--plugin")

    pm.check_pending()  # a backstop: _check_hooks has named every problem it can
    _check_single_claims(pm, set(builtins))
    return pm
