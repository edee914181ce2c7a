"""Who implements what: the data behind ``mnistlab plugins``."""

from __future__ import annotations

import pkgutil
from collections.abc import Iterable

from mnistlab.plugin_manager import (
    SPECS,
    PluginManager,
    builtin_plugin,
    get_plugin_manager,
    register,
)
from mnistlab.stages import STAGE_NAMES


def all_builtin_names() -> list[str]:
    """Every module in ``mnistlab.plugins``, found without importing them."""
    import mnistlab.plugins as plugins_package

    return sorted(info.name for info in pkgutil.iter_modules(plugins_package.__path__))


PluginRow = tuple[str, str, list[str]]


def describe_plugins(stage: str | None, plugins: Iterable[str] = ()) -> list[PluginRow]:
    """``(name, origin, hooks)`` for each plugin a run of ``stage`` would register.

    Without a stage, every built-in plugin is listed, plus installed ones. A
    plugin that sits this run out (the progress bar, without a terminal) is
    not listed, just as it is not registered.
    """
    pm = get_plugin_manager(stage or STAGE_NAMES[-1], plugins)
    if stage is None:
        for name in all_builtin_names():
            plugin = builtin_plugin(name)
            if pm.get_plugin(name) is None:
                register(pm, plugin, name, "built-in")
    return describe(pm)


def describe(pm: PluginManager) -> list[PluginRow]:
    """``(name, origin, hooks)`` for each plugin registered in ``pm``, built-ins first."""
    spec_order = list(SPECS)
    rows = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # a blocked name
            continue
        hooks = sorted((caller.name for caller in pm.get_hookcallers(plugin) or ()),
                       key=spec_order.index)
        rows.append((name, pm.origins[name], hooks))
    return sorted(rows, key=lambda row: (row[1] != "built-in", row[0]))
