"""Build a fresh pluggy plugin manager for one run, and check every plugin it holds.

One rule orders the plugins, in code, docs and errors alike. They are
registered in layers, and pluggy asks the last registered first:

1. the built-in plugins that fill the stage's pieces, by their short names,
   and the built-in observers the stage table names;
2. installed packages that register in the ``mnistlab`` entry-point group;
3. the ``--plugin`` files and modules in the order given, then plugin objects.

So a later layer is asked before an earlier one, and within ``--plugin`` the
last given is asked first. A plugin that returns ``None`` passes the
question on. The one real conflict is two installed packages claiming the
same piece: nothing orders them, so that is refused.

A new manager per run keeps runs (and tests) from leaking state into each other.

A plugin module may declare what it is, and the kernel asks instead of naming
plugins: ``PRINTS_ONLY = True`` says it only shows the run (``quiet`` leaves it
out, and so do all but the first of N processes).
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pluggy

from mnistlab import hookspecs
from mnistlab.errors import PluginError, closest, one_line
from mnistlab.plugin_loading import (
    LOAD_PLUGINS_ENV,
    builtin,
    declared,
    entry_points,
    instantiate,
    load_plugin,
)
from mnistlab.stages import OBSERVERS, PIECE_HOOKS, pieces_of

# pluggy 1.7 passes a hook argument that has a default value; older versions leave the default.
PASSES_DEFAULTS = tuple(int(part) for part in pluggy.__version__.split(".")[:2]) >= (1, 7)
HOOK_REFERENCE = "see the Hook reference page of the docs (docs/hooks.md)"

SPECS = {name: spec for name, spec in vars(hookspecs).items() if hasattr(spec, "mnistlab_spec")}


class PluginManager(pluggy.PluginManager):
    """pluggy's manager for the ``mnistlab`` project, remembering where each plugin came from."""

    def __init__(self) -> None:
        super().__init__("mnistlab")
        self.add_hookspecs(hookspecs)
        # plugin name -> "built-in", "entry point", "--plugin" or "object"
        self.origins: dict[str, str] = {}
        # --plugin value -> the source file it was loaded from, for the run's record.
        self.sources: dict[str, Path] = {}


def builtin_names(stage: str) -> list[str]:
    """The short names of the built-in plugins a stage registers."""
    return [*pieces_of(stage).values(), *OBSERVERS]


@functools.cache
def spec_arguments(hook: str) -> tuple[str, ...]:
    """The argument names a hook passes, in its spec's order."""
    return tuple(inspect.signature(SPECS[hook]).parameters)


def register(pm: PluginManager, plugin: Any, name: str, origin: str) -> None:
    """Check ``plugin``'s hooks, register it as ``name`` and note its origin."""
    if plugin is None:  # make_plugin() declined
        return
    hooks = _check_hooks(pm, plugin, name)
    if origin != "built-in" and not hooks:
        raise PluginError(f"plugin {name!r} implements no hook{_why_no_hooks(plugin)}")
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        message = " ".join(str(error).split())
        raise PluginError(f"plugin {name!r}: {message}") from None
    except ValueError as error:  # pluggy: the same name or object registered twice
        raise PluginError(f"plugin {name!r} is given twice: {error}") from None
    pm.origins[name] = origin


def _check_hooks(pm: pluggy.PluginManager, plugin: Any, name: str) -> list[str]:
    """The hooks ``plugin`` implements; name every mistake pluggy would miss or garble."""
    hooks = []
    for attr in dir(plugin):
        value = getattr(plugin, attr, None)
        options = pm.parse_hookimpl_opts(plugin, attr)
        if options is None:
            _check_unmarked(name, attr, value)
            continue
        hook = options.get("specname") or attr
        if hook not in SPECS:
            if options.get("optionalhook"):
                continue
            raise PluginError(f"plugin {name!r} implements unknown hook {hook!r}"
                              f"{closest(hook, SPECS)}; {HOOK_REFERENCE}")
        if hook in PIECE_HOOKS.values() and (options.get("wrapper") or options.get("hookwrapper")):
            raise PluginError(f"plugin {name!r}: {hook} fills a piece and cannot be a wrapper; "
                              "return the piece, or None to pass the question on")
        # pluggy 1.7 and later pass an argument that has a default too (pyproject.toml asks
        # for 1.7); an older pluggy would leave it at its default, so that is refused.
        parameters = inspect.signature(value).parameters
        arguments = list(parameters)
        defaulted = [name for name, parameter in parameters.items()
                     if parameter.default is not inspect.Parameter.empty]
        if defaulted and not PASSES_DEFAULTS:
            raise PluginError(
                f"plugin {name!r}: hook {hook} gives {', '.join(map(repr, defaulted))} a default, "
                f"which pluggy {pluggy.__version__} never passes; remove the default, or "
                "install pluggy 1.7 or later")
        wrong = [argument for argument in arguments if argument not in spec_arguments(hook)]
        if wrong:
            raise PluginError(
                f"plugin {name!r}: hook {hook}({', '.join(arguments)}) asks for "
                f"{', '.join(map(repr, wrong))}, which {hook} does not pass; "
                f"use any of: {', '.join(spec_arguments(hook))}"
            )
        hooks.append(hook)
    return hooks


def _check_unmarked(name: str, attr: str, value: Any) -> None:
    """A hook-named function without mnistlab's marker would be ignored without a word."""
    if not callable(value) or inspect.isclass(value):
        return
    # pluggy marks a function with a dict attribute named PROJECT_impl.
    foreign = [key.removesuffix("_impl") for key, opts in getattr(value, "__dict__", {}).items()
               if key.endswith("_impl") and isinstance(opts, dict)]
    if foreign:
        raise PluginError(f"plugin {name!r}: {attr} is marked as a hook of project "
                          f"{foreign[0]!r}, not mnistlab; use `from mnistlab import hookimpl`")
    if attr in SPECS:
        raise PluginError(f"plugin {name!r}: {attr} is named like a hook but not marked as one; "
                          "decorate it with @hookimpl (`from mnistlab import hookimpl`)")


def _why_no_hooks(plugin: Any) -> str:
    """The likely fix for a plugin with no hooks: a class of hooks never instantiated."""
    if inspect.ismodule(plugin):
        for attr, value in vars(plugin).items():
            if inspect.isclass(value) and value.__module__ == plugin.__name__ and any(
                hasattr(getattr(value, name, None), "mnistlab_impl") for name in dir(value)
            ):
                return (f"; its hooks are methods of class {attr}: add "
                        f"`def make_plugin(): return {attr}()` to the module")
    return "; mark its hook functions with @hookimpl (`from mnistlab import hookimpl`)"


def _check_installed_claims(pm: PluginManager) -> None:
    """Two installed packages claiming one piece: nothing orders them, so refuse."""
    for piece, hook_name in PIECE_HOOKS.items():
        claims = sorted(impl.plugin_name for impl in getattr(pm.hook, hook_name).get_hookimpls()
                        if pm.origins[impl.plugin_name] == "entry point")
        if len(claims) > 1:
            *others, last = map(repr, claims)
            names, each = f"{', '.join(others)} and {last}", "both" if len(claims) == 2 else "all"
            raise PluginError(
                f"installed plugins {names} {each} provide the {piece} ({hook_name}) and nothing "
                f"orders them; block one with --no-plugin, or name the ones to load in "
                f"{LOAD_PLUGINS_ENV}"
            )


def object_name(plugin: object) -> str:
    """The name a plugin given as a Python object is registered and recorded under."""
    return getattr(plugin, "__name__", None) or type(plugin).__name__


def get_plugin_manager(
    stage: str,
    plugins: Iterable[str] = (),
    blocked: Iterable[str] = (),
    objects: Iterable[object] = (),
    quiet: bool = False,
) -> PluginManager:
    """Return a new plugin manager with everything a run of ``stage`` uses.

    Args:
        stage: the stage whose built-in pieces to register.
        plugins: ``--plugin`` values: ``.py`` paths or module names.
        blocked: plugin names not to register (built-in, entry point or user).
        objects: plugins given as Python objects (modules or instances).
        quiet: leave out every plugin that declares ``PRINTS_ONLY``.
    """
    pm = PluginManager()
    builtins = builtin_names(stage)
    plugins, objects = list(plugins), list(objects)
    twice = [spec for index, spec in enumerate(plugins) if spec in plugins[:index]]
    if twice:
        raise PluginError(f"--plugin {twice[0]!r} is given twice; give each plugin once")
    # Reading every installed package's metadata takes milliseconds: do it once.
    installed = list(entry_points())
    known = [*builtins, *(ep.name for ep in installed), *plugins, *map(object_name, objects)]
    for name in blocked:
        if name not in known:
            raise PluginError(
                f"--no-plugin {name!r}: no such plugin in this run{closest(name, known)}; "
                "run `mnistlab plugins` to list them"
            )
        pm.set_blocked(name)

    def wanted(name: str, plugin: Any) -> bool:
        return not pm.is_blocked(name) and not (quiet and declared(plugin, "PRINTS_ONLY"))

    for name in builtins:
        module = builtin(name)
        if wanted(name, module):
            register(pm, instantiate(module), name, "built-in")
    for entry_point in installed:
        if pm.is_blocked(entry_point.name):
            continue
        # A broken installed package must not break every command: say so, skip it.
        try:
            plugin = entry_point.load()
            if wanted(entry_point.name, plugin):
                register(pm, instantiate(plugin), entry_point.name, "entry point")
        except Exception as error:
            print(f"warning: skipped installed plugin {entry_point.name!r} ({entry_point.value}): "
                  f"{one_line(error)}; uninstall it or leave it out of {LOAD_PLUGINS_ENV}",
                  file=sys.stderr)
    for spec in plugins:
        if pm.is_blocked(spec):
            continue
        module = load_plugin(spec)
        if getattr(module, "__file__", None):  # recorded even when quiet leaves it out
            pm.sources[spec] = Path(module.__file__)
        if wanted(spec, module):
            register(pm, instantiate(module), spec, "--plugin")
    for plugin in objects:
        if wanted(object_name(plugin), plugin):
            register(pm, plugin, object_name(plugin), "object")

    pm.check_pending()  # a backstop: _check_hooks has named every problem it can
    _check_installed_claims(pm)
    return pm
