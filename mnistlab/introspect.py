"""Who implements what: the data behind ``mnistlab plugins``."""

from __future__ import annotations

import pkgutil
from collections.abc import Iterable

from mnistlab import hookspecs
from mnistlab.plugin_manager import BUILTIN_PACKAGE, builtin, get_plugin_manager
from mnistlab.stages import STAGE_NAMES


def all_builtin_names() -> list[str]:
    """Every module in ``mnistlab.plugins``, found without importing them."""
    import mnistlab.plugins as plugins_package

    return sorted(info.name for info in pkgutil.iter_modules(plugins_package.__path__))


def describe_plugins(stage: str | None, plugins: Iterable[str] = ()) -> list[tuple[str, str, list[str]]]:
    """``(name, origin, hooks)`` for each plugin a run of ``stage`` would register.

    Without a stage, every built-in plugin is listed, plus installed ones.
    """
    pm = get_plugin_manager(stage or STAGE_NAMES[-1], plugins)
    if stage is None:
        for name in all_builtin_names():
            if pm.get_plugin(name) is None:
                pm.register(builtin(name), name=name)
    spec_order = [name for name in vars(hookspecs) if hasattr(getattr(hookspecs, name), "mnistlab_spec")]
    rows = []
    for name, plugin in pm.list_name_plugin():
        hooks = sorted(
            (impl.name for impl in pm.get_hookcallers(plugin) or ()),
            key=spec_order.index,
        )
        module = getattr(plugin, "__name__", "")
        origin = ("built-in" if module.startswith(BUILTIN_PACKAGE)
                  else "--plugin" if name in plugins else "entry point")
        rows.append((name, origin, hooks))
    return sorted(rows, key=lambda row: (row[1] != "built-in", row[0]))
