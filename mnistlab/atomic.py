"""Write files so that a reader sees the old file or the whole new one, never half of one.

Everything mnistlab keeps on disk (cached data, checkpoints, metrics, plots)
goes through here: the bytes go to a temporary file in the target's folder,
which is renamed over the target only once it is complete. A crash, Ctrl-C or
``kill`` in between leaves the old file as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from mnistlab.errors import MnistlabError

# A temporary file's name: one that no user's file has, so that cleaning up after a process
# killed mid-write removes only what mnistlab made.
TEMP_PREFIX, TEMP_SUFFIX = ".mnistlab-", ".tmp"

# os.umask can only be read by setting it: do it once, at import.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_write(path: str | Path, mode: str = "wb", **open_args: Any) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; rename it to ``path`` when the block succeeds.

    A write that fails (a full disk, a folder that is read-only) raises a
    one-line ``MnistlabError`` naming the file, and leaves no temporary file.
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMP_PREFIX}{path.name}.",
                                   suffix=TEMP_SUFFIX)
        # mkstemp makes the file private (0600); give it the permissions any new file gets.
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, mode, **open_args) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise MnistlabError(
                f"cannot write {path} ({error.strerror or error}); free some disk space or "
                "choose another folder (--out, --data-dir)"
            ) from error
        raise


def is_temporary(path: Path) -> bool:
    """Whether ``path`` is a temporary file that ``atomic_write`` made (a regular file, not a
    link or a folder, named as it names them)."""
    return (path.name.startswith(TEMP_PREFIX) and path.name.endswith(TEMP_SUFFIX)
            and path.is_file() and not path.is_symlink())


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_write(path, "w", encoding="utf-8", newline="") as file:
        file.write(text)
