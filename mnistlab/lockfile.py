"""A lock file that is gone once its holder is done, and still keeps every other process out.

A run folder's ``.lock`` keeps a second mnistlab process out while one writes the
folder. The lock is ``flock`` on that file, which the operating system drops when
the process ends, however it ends. A plain ``flock`` lock must leave its file
behind (filelock's does, on purpose), because removing a lock file is safe only
when every process that takes it follows one protocol, the one portalocker 4
adopted:

acquire
    1. open the path, creating the file if there is none (never through a link);
    2. take an exclusive ``flock`` on it without waiting; failing that, another
       process holds the lock (:class:`Busy`);
    3. check that the path still names the file just locked (same device and
       inode). If it does not, the holder removed it between steps 1 and 2: close
       it and start again at step 1.

release
    1. remove the path, while still holding the lock;
    2. close the file, which drops the lock.

Why no two processes can hold it at once: only a process that has passed step 3
removes the path, and it removes it before letting go. So once a process passes
step 3, the path names its file until that process removes it: nobody else can
lock that file (``flock`` is exclusive), and nobody else removes the path (nobody
else has passed step 3). A process that locks a file after its holder removed it
fails step 3, because the path names a newer file or none, and starts again; it
never takes itself for the holder. That closes the race that makes removing lock
files unsafe elsewhere: B opens the file; A removes it and lets go; C creates a
new file and locks it; B's lock on the removed file succeeds, but B's step 3 sees
C's file, and B tries again and finds it held.

What no lock file can do: a process killed with SIGKILL cannot remove its file
(the operating system drops its lock, not its name); the next process to take the
lock uses that file and removes it when done. A file deleted by hand while a run
holds it lets a second run in, as with any lock file. A file system without
``flock`` (some network ones) answers with its error, which the run folder
reports, rather than a lock of mere existence that a killed run would leave held.

Windows has no ``flock``. There filelock's lock is used, which removes its file
after letting go; Windows refuses to remove a file that another process has open,
so a waiter can never be left holding a removed one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


class Busy(Exception):  # noqa: N818 - a state, not a failure
    """Another process holds the lock."""


class LockFile:
    """An exclusive lock on ``path`` that never waits, and removes the file on release."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._filelock: Any = None  # Windows: filelock's lock

    def acquire(self) -> None:
        """Take the lock, or raise :class:`Busy`; an ``OSError`` if the file cannot be made."""
        if fcntl is None:
            return self._acquire_filelock()
        while True:
            # O_NOFOLLOW: a link put in place of the lock file is refused (ELOOP), not followed.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BaseException as error:
                os.close(fd)
                if isinstance(error, BlockingIOError):
                    raise Busy(str(self.path)) from None
                raise
            if _names(self.path, fd):
                self._fd = fd
                return None
            os.close(fd)  # its holder removed it before our lock: the path names another file

    def release(self) -> None:
        """Remove the file, then let go of the lock (in that order: see the module's notes)."""
        if self._filelock is not None:
            self._filelock.release()
            self._filelock = None
        if self._fd is None:
            return
        try:
            with contextlib.suppress(OSError):  # gone or not, the lock is let go
                os.unlink(self.path)
        finally:
            os.close(self._fd)
            self._fd = None

    def _acquire_filelock(self) -> None:
        from filelock import FileLock, Timeout

        lock = FileLock(self.path, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise Busy(str(self.path)) from None
        self._filelock = lock

    def __enter__(self) -> LockFile:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()


def _names(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the open file ``fd`` (the same device and inode)."""
    try:
        return os.path.samestat(os.fstat(fd), os.lstat(path))
    except FileNotFoundError:
        return False
