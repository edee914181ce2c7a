"""Ctrl-C and ``kill``, told apart from a ``KeyboardInterrupt`` that code raised.

Python's own Ctrl-C raises a plain ``KeyboardInterrupt``, which a plugin can
raise too. While :func:`watched` is in force, SIGINT raises
:class:`Interrupted` instead, so a plain ``KeyboardInterrupt`` can only come
from code, and the run reports it as that code's failure instead of as the user
stopping the run. The command line also turns SIGTERM into :class:`Terminated`.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT): the user stopped the run. A shell reports status 128 + 2."""

    status = 130


class Terminated(Interrupted):
    """``kill`` (SIGTERM), handled like Ctrl-C but with its own exit status."""

    status = 143


def _interrupt(signum: int, frame: Any) -> None:
    raise Interrupted


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


_watching = 0  # how many watched() blocks are open (a run inside a command: two)


@contextmanager
def watched(*, sigterm: bool = False) -> Iterator[None]:
    """Raise :class:`Interrupted` on SIGINT (and :class:`Terminated` on SIGTERM when asked).

    Only in the main thread, and only where Python's own Ctrl-C handler is in
    place: a program with a handler of its own (a notebook kernel, say) keeps
    it, and there every ``KeyboardInterrupt`` counts as the user's.
    """
    global _watching
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) not in (signal.default_int_handler, _interrupt)):
        yield
        return
    previous = signal.signal(signal.SIGINT, _interrupt)
    before = signal.signal(signal.SIGTERM, _terminate) if sigterm else None
    _watching += 1
    try:
        yield
    finally:
        _watching -= 1
        signal.signal(signal.SIGINT, previous)
        if sigterm:
            signal.signal(signal.SIGTERM, before)


def raised_by_code(error: BaseException) -> bool:
    """Whether ``error`` is code failing (an exception, ``sys.exit()``, or a ``KeyboardInterrupt``
    raised while Ctrl-C is watched) rather than the user stopping the run."""
    if isinstance(error, KeyboardInterrupt):
        return _watching > 0 and not isinstance(error, Interrupted)
    return isinstance(error, (Exception, SystemExit))
