"""Ask the plugins for a piece, know who answered, trace every hook call, and blame a plugin.

pluggy's ``firstresult`` returns the first non-None answer but not which
plugin gave it, and a run must record who filled each piece and name the
plugin whose answer breaks a contract. So the kernel asks one plugin at a
time, in pluggy's own order (last registered first, ``tryfirst`` and
``trylast`` respected), each through pluggy's hook caller: the hook-call
monitoring of ``--trace`` sees every question and every answer, pieces and
observers alike.
"""

from __future__ import annotations

import inspect
import os
import sys
import traceback
from typing import Any

import pluggy

from mnistlab.errors import MnistlabError, PluginError, plugin_failed
from mnistlab.plugin_manager import SPECS, PluginManager
from mnistlab.signals import raised_by_code
from mnistlab.stages import PIECE_HOOKS
from mnistlab.types import Filled


def fill(pm: PluginManager, piece: str, **arguments: Any) -> Filled:
    """Ask the plugins of ``piece`` in turn; the first non-None answer fills it."""
    hook = PIECE_HOOKS[piece]
    asked = [impl.plugin for impl in reversed(getattr(pm.hook, hook).get_hookimpls())]
    passed: list[str] = []
    for plugin in asked:
        name = pm.get_name(plugin)
        only_this = pm.subset_hook_caller(hook, [other for other in asked if other is not plugin])
        try:
            value = only_this(**arguments)
        except MnistlabError:
            raise
        except BaseException as error:  # a plugin's sys.exit() is no answer either
            if not raised_by_code(error):  # Ctrl-C or kill
                raise
            raise plugin_failed(name, hook, error) from error
        if value is not None:
            return Filled(piece, value, name, pm.origins[name], tuple(passed))
        passed.append(name)
    said = f"; asked {', '.join(map(repr, passed))}, each returned None" if passed else ""
    raise PluginError(f"no plugin provides the {piece} ({hook}){said}; register one with "
                      "--plugin, or stop blocking the built-in one")


def trace(pm: PluginManager) -> None:
    """Print every hook call to stderr: who is asked, and what a piece's plugins answered."""

    def before(hook: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        if impls and hook not in PIECE_HOOKS.values():  # an observer: everyone is called
            say(f"{hook}: {', '.join(impl.plugin_name for impl in reversed(impls))}")

    def after(outcome: Any, hook: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        if hook not in PIECE_HOOKS.values() or outcome.exception is not None:
            return
        value = outcome.get_result()
        if len(impls) == 1:  # fill() asks one plugin at a time, and knows who answered
            name = impls[0].plugin_name
            say(f"{hook}: passed by {name} (None)" if value is None else
                f"{hook}: filled by {name} with {_kind(value)}")
        else:  # pluggy's own first answer, for every pass over a split
            asked = ", ".join(impl.plugin_name for impl in reversed(impls))
            say(f"{hook}: first answer of {asked}: {_kind(value)}")

    pm.add_hookcall_monitoring(before, after)


def say(line: str) -> None:
    print(f"[trace] {line}", file=sys.stderr)


def _kind(value: Any) -> str:
    """``function NAME`` for a function, else the type of the value."""
    if inspect.isfunction(value):
        return f"function {value.__name__}"
    return f"a {type(value).__name__}"


def blame(pm: pluggy.PluginManager, error: BaseException) -> PluginError | None:
    """A one-line ``PluginError`` naming the plugin and hook behind ``error``, if any.

    The innermost frame of the traceback that lies in a registered plugin's
    source file names the plugin; the hook is that frame's function when it
    is a hook, else the hooks the plugin implements.
    """
    files = _source_files(pm)
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        name = files.get(os.path.realpath(frame.filename))
        if name is None:
            continue
        hook = frame.name
        if hook not in SPECS:
            callers = pm.get_hookcallers(pm.get_plugin(name)) or []
            hook = f"{'/'.join(caller.name for caller in callers) or '?'}, in {frame.name}()"
        return plugin_failed(name, hook, error, f" at line {frame.lineno}")
    return None


def _source_files(pm: pluggy.PluginManager) -> dict[str, str]:
    """Map each registered plugin's source file to the plugin's name."""
    files = {}
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        holder = plugin if inspect.ismodule(plugin) else type(plugin)
        try:
            files[os.path.realpath(inspect.getfile(holder))] = name
        except (TypeError, OSError):  # built into the interpreter, or made on the fly
            continue
    return files
