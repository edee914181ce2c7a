"""Fill a piece: ask its plugins in order, know who answered, check the answer.

pluggy would answer a first-result hook itself, but it does not say which
plugin answered, nor who passed the question on. The kernel asks each
implementation in pluggy's own order (last registered first, ``tryfirst``
and ``trylast`` respected) so that the run can record who filled each piece,
say when a user's plugin returned ``None``, and blame the right plugin when
the answer breaks the piece's contract.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from mnistlab.errors import MnistlabError, PluginError, one_line
from mnistlab.plugin_manager import PluginManager
from mnistlab.stages import PIECE_HOOKS


@dataclass(frozen=True)
class Filled:
    """A piece's value and the plugin that gave it.

    Attributes:
        piece: the piece's name (``"model"``, ``"loss"``, ...).
        value: what the plugin returned.
        plugin: the name of the plugin that returned it.
        origin: where that plugin came from (``"built-in"``, ``"--plugin"``, ...).
        passed: the plugins asked before it that returned ``None``.
    """

    piece: str
    value: Any
    plugin: str
    origin: str
    passed: tuple[str, ...] = ()

    @property
    def who(self) -> str:
        """``plugin 'NAME'`` (with its origin when it is not built in), for messages."""
        return f"plugin {self.plugin!r}" + ("" if self.origin == "built-in" else
                                             f" ({self.origin})")


def fill(pm: PluginManager, piece: str, **arguments: Any) -> Filled:
    """Ask the plugins of ``piece`` in turn; the first non-None answer fills it."""
    hook = PIECE_HOOKS[piece]
    passed = []
    for impl in reversed(getattr(pm.hook, hook).get_hookimpls()):
        try:
            value = impl.function(*(arguments[name] for name in impl.argnames))
        except MnistlabError:
            raise
        except Exception as error:
            raise failed(impl.plugin_name, hook, error) from error
        if value is not None:
            if pm.trace:
                pm.trace(f"{hook}: filled by {impl.plugin_name} with {_kind(value)}"
                         + (f" (passed: {', '.join(passed)})" if passed else ""))
            return Filled(piece, value, impl.plugin_name, pm.origins[impl.plugin_name],
                          tuple(passed))
        passed.append(impl.plugin_name)
    asked = f"; asked {', '.join(map(repr, passed))}, each returned None" if passed else ""
    raise PluginError(f"no plugin provides the {piece} ({hook}){asked}; register one with "
                      "--plugin, or stop blocking the built-in one")


def failed(plugin: str, hook: str, error: BaseException) -> PluginError:
    """The one-line error for ``plugin`` raising ``error`` in ``hook``."""
    return PluginError(f"plugin {plugin!r} failed in hook {hook}: {one_line(error)}; fix the "
                       "plugin or block it with --no-plugin (--debug shows the traceback)")


def _kind(value: Any) -> str:
    """``function NAME`` for a function, else the type of the value."""
    if inspect.isfunction(value):
        return f"function {value.__name__}"
    return f"a {type(value).__name__}"


# How each piece's constructor is called, for the fix when a class comes back.
_CALL = {"model": "{}()", "loss": "{}()", "update": "{}(model.parameters(), lr=config.lr)"}


def require_instance(filled: Filled) -> None:
    """Refuse a class where an instance belongs: ``return Model`` for ``return Model()``."""
    if inspect.isclass(filled.value):
        name = filled.value.__name__
        fix = _CALL.get(filled.piece, "{}(...)").format(name)
        raise PluginError(f"{filled.who} returned the class {name} from "
                          f"{PIECE_HOOKS[filled.piece]}, not an instance; return {fix}")
