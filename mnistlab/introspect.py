"""Who implements what: the data behind ``mnistlab plugins``, the run header and ``config.json``."""

from __future__ import annotations

import pkgutil
from collections.abc import Iterable
from typing import Any

from mnistlab.plugin_loading import builtin, declared, instantiate
from mnistlab.plugin_manager import SPECS, PluginManager, get_plugin_manager, register
from mnistlab.stages import PIECE_HOOKS, STAGE_NAMES, pieces_of


def all_builtin_names() -> list[str]:
    """Every module in ``mnistlab.plugins``, found without importing them."""
    import mnistlab.plugins as plugins_package

    return sorted(info.name for info in pkgutil.iter_modules(plugins_package.__path__))


def declares(stage: str, piece: str, attribute: str) -> bool:
    """Whether the built-in plugin that fills ``piece`` in ``stage`` declares ``attribute``."""
    return declared(builtin(pieces_of(stage)[piece]), attribute)


PluginRow = tuple[str, str, list[str]]


def plugin_manager_for(stage: str | None, plugins: Iterable[str] = ()) -> PluginManager:
    """The plugins a run of ``stage`` would register; without a stage, every built-in too."""
    pm = get_plugin_manager(stage or STAGE_NAMES[-1], plugins)
    if stage is None:
        for name in all_builtin_names():
            if pm.get_plugin(name) is None:
                register(pm, instantiate(builtin(name)), name, "built-in")
    return pm


def describe(pm: PluginManager) -> list[PluginRow]:
    """``(name, origin, hooks)`` for each plugin registered in ``pm``, built-ins first.

    A plugin that sits this run out (the progress bar, without a terminal) is
    not listed, just as it is not registered.
    """
    spec_order = list(SPECS)
    rows = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # a blocked name
            continue
        hooks = sorted((caller.name for caller in pm.get_hookcallers(plugin) or ()),
                       key=spec_order.index)
        rows.append((name, pm.origins[name], hooks))
    return sorted(rows, key=lambda row: (row[1] != "built-in", row[0]))


def asking_order(pm: PluginManager) -> dict[str, list[tuple[str, str]]]:
    """For each piece, its plugins in the order they are asked: ``(name, origin)``.

    The first one fills the piece unless it returns ``None``; the others are
    shadowed by it.
    """
    return {piece: [(impl.plugin_name, pm.origins[impl.plugin_name])
                    for impl in reversed(getattr(pm.hook, hook).get_hookimpls())]
            for piece, hook in PIECE_HOOKS.items()}


# The hyper-parameters worth showing for an optimizer, when it has them.
_SHOWN = ("lr", "momentum", "betas", "weight_decay", "nesterov")


def describe_update(opt: Any) -> str:
    """The update that was really built, e.g. ``SGD(lr=0.1, momentum=0.9)``."""
    settings = getattr(opt, "defaults", None)
    if not isinstance(settings, dict):
        settings = {key: getattr(opt, key) for key in _SHOWN if hasattr(opt, key)}
    shown = [f"{key}={settings[key]:g}" if isinstance(settings[key], float) else
             f"{key}={settings[key]}" for key in _SHOWN
             if key in settings and (key in ("lr", "momentum") or settings[key])]
    return f"{type(opt).__name__}({', '.join(shown)})"
