"""The arguments of mnistlab's public functions, checked where they come in.

A wrong type is an ``ArgumentError`` (a ``TypeError`` and a ``MnistlabError``)
naming the parameter, never a ``TypeError`` from deep inside the kernel; a
string where a list of plugins belongs is a list of one, not of its characters.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mnistlab.errors import ArgumentError


def _got(value: Any) -> str:
    return f"got {value!r} ({type(value).__name__})"


def flag(name: str, value: Any) -> bool:
    """``value`` as True or False, and nothing else."""
    if not isinstance(value, bool):
        raise ArgumentError(f"{name} must be True or False, {_got(value)}")
    return value


def text(name: str, value: Any, what: str) -> str:
    """``value`` as a string: a stage name, say."""
    if not isinstance(value, str):
        raise ArgumentError(f"{name} must be {what} (a string), {_got(value)}")
    return value


def path(name: str, value: Any) -> Path:
    """``value`` as a path: a string or an ``os.PathLike``."""
    if isinstance(value, bool) or not isinstance(value, str | os.PathLike):
        raise ArgumentError(f"{name} must be a path (a string or a pathlib.Path), {_got(value)}")
    return Path(value)


def specs(name: str, value: Any) -> tuple[str, ...]:
    """``--plugin`` values: paths or module names; one given alone is a list of one."""
    if isinstance(value, str | os.PathLike):
        value = [value]
    if not isinstance(value, Sequence) or any(
            not isinstance(spec, str | os.PathLike) for spec in value):
        raise ArgumentError(f"{name} must be a list of plugin paths or module names, "
                            f"{_got(value)}")
    return tuple(map(str, value))


def objects(name: str, value: Any) -> tuple[object, ...]:
    """Plugins given as Python objects: a list of modules or instances."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ArgumentError(f"{name} must be a list of plugin objects (modules or "
                            f"instances), {_got(value)}")
    return tuple(value)
