"""The one exception the data layer raises for problems a user can fix."""

from mnistlab.errors import MnistlabError


class DataError(MnistlabError):
    """A user-facing data problem.

    ``str(err)`` is one line that names the file or dataset, says what is wrong and how to fix
    it, so the CLI can print it as it is instead of a traceback. Whitespace in the message is
    collapsed because messages often embed text from other libraries (pooch, pickle, gzip) that
    may span several lines.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
