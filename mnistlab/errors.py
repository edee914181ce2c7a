"""The one exception type a user is meant to read.

Every problem the user can fix (a stage name, a plugin, a dataset, an option)
is raised as a ``MnistlabError`` whose message is one line naming the problem
and the fix. The CLI prints it without a traceback and exits with status 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class MnistlabError(Exception):
    """A problem the user can fix; ``str(error)`` is one line saying how."""


class PluginError(MnistlabError):
    """A plugin could not be loaded, registered or called."""


class StopTraining(Exception):  # noqa: N818 - a signal, not an error
    """Ends the loop from inside it after an observer called ``session.stop()``."""


def closest(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the nearest choice, or ``""``."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else ""


def one_line(error: BaseException) -> str:
    """``TypeName: message`` on one line, for an error raised by a plugin's code."""
    return f"{type(error).__name__}: {' '.join(str(error).split()) or '(no message)'}"
