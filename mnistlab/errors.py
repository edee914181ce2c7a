"""The one exception type a user is meant to read.

Every problem the user can fix (a stage name, a plugin, a dataset, an option)
is raised as a ``MnistlabError`` whose message is one line naming the problem
and the fix. The CLI prints it without a traceback and exits with status 2.
"""

from __future__ import annotations

import difflib
import errno
from collections.abc import Iterable


class MnistlabError(Exception):
    """A problem the user can fix; ``str(error)`` is one line saying how."""


class ArgumentError(MnistlabError, TypeError):
    """A public function was given an argument of the wrong type; the message names it."""


class PluginError(MnistlabError):
    """A plugin could not be loaded, registered or called."""


class StopTraining(Exception):  # noqa: N818 - a signal, not an error
    """Ends the loop from inside it after an observer called ``session.stop()``."""


class OutputFailed(MnistlabError):
    """Writing the run's output (stdout or stderr) failed: the terminal's doing, no plugin's."""


class Diverged(Exception):  # noqa: N818 - a signal: the run turns it into a MnistlabError
    """The training loss of a step became NaN or infinite; the run says what to change."""

    def __init__(self, loss: float, epoch: int, batch: int) -> None:
        super().__init__(f"loss {loss} in epoch {epoch}, batch {batch}")
        self.loss, self.epoch, self.batch = loss, epoch, batch


def closest(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the nearest choice, or ``""``."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else ""


def one_line(error: BaseException) -> str:
    """``TypeName: message`` on one line, for an error raised by a plugin's code."""
    return f"{type(error).__name__}: {' '.join(str(error).split()) or '(no message)'}"


def plugin_failed(plugin: str, hook: str, error: BaseException, where: str = "") -> PluginError:
    """The one-line error for ``plugin`` raising ``error`` in ``hook`` (``where``: "at line 12")."""
    return PluginError(f"plugin {plugin!r} failed in hook {hook}{where}: {one_line(error)}; fix "
                       "the plugin or block it with --no-plugin (--debug shows the traceback)")


# The ways a write to the terminal, a pipe or a redirected output fails.
_OUTPUT_ERRNOS = {errno.EPIPE, errno.ENOSPC, errno.EBADF, errno.EIO, errno.EDQUOT}


def output_failed(error: BaseException) -> bool:
    """Whether ``error`` is a failed write to the output (stdout or stderr): an OSError of
    that kind with no file name, as a print's is."""
    return (isinstance(error, OSError) and error.errno in _OUTPUT_ERRNOS
            and error.filename is None)
