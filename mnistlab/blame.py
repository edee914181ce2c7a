"""Name the plugin and hook an exception came from.

When a plugin's code raises during a run, the user needs to know whose code
it was, not to read a traceback through pluggy and torch. The innermost
frame of the traceback that lies in a registered plugin's source file names
the plugin; the hook is that frame's function when it is a hook, else the
hooks the plugin implements.
"""

from __future__ import annotations

import inspect
import os
import traceback

import pluggy

from mnistlab.errors import PluginError, one_line
from mnistlab.plugin_manager import SPECS


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


def plugin_failure(pm: pluggy.PluginManager, error: BaseException) -> PluginError | None:
    """A one-line ``PluginError`` naming the plugin and hook behind ``error``, if any."""
    files = _source_files(pm)
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        name = files.get(os.path.realpath(frame.filename))
        if name is None:
            continue
        if frame.name in SPECS:
            hook = frame.name
        else:
            callers = pm.get_hookcallers(pm.get_plugin(name)) or []
            hook = "/".join(caller.name for caller in callers) or "?"
            hook = f"{hook}, in {frame.name}()"
        return PluginError(
            f"plugin {name!r} failed in hook {hook} at line {frame.lineno}: {one_line(error)}; "
            "fix the plugin or block it with --no-plugin (--debug shows the traceback)"
        )
    return None
