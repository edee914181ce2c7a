"""Download a registered dataset into the data folder, once.

What a failed download leaves and says:

- a file is kept only once it has its pinned md5: pooch writes to a temporary file beside it
  and deletes that file if the download breaks off or the hash does not match, so an HTML error
  page served with status 200, a truncated body or a damaged copy is never kept or read;
- any failure moves on to the next mirror: an HTTP error, a wrong md5, a connection that is
  refused or closes early, a server that sends nothing for ``timeout`` seconds (a per-read
  limit, so a stalled mirror costs at most that long per file), one that announces or sends
  more bytes than the file's known size (:attr:`DatasetSource.sizes`, else
  :data:`MAX_BYTES`), or one still sending ``deadline`` seconds after the request (a limit
  per file and mirror, so one that streams without end or trickles costs at most that long);
- when every mirror fails for a file, a :class:`DataError` says so in one line, naming the
  last error briefly and pointing to ``--data sample`` and ``--data PATH``. Files already there
  are left as they were (a damaged one is replaced only by a good copy), a dataset folder the
  failed attempt created is removed again, and files that did arrive with their md5 before
  the failure are kept, so that fetching again resumes;
- ``<data_dir>/<name>.lock`` stays behind, empty: it is the lock that lets two processes fetch
  at once, and deleting it while another process waits on it would break that lock.
"""

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from . import idx, sample
from .cache import resolve_data_dir
from .errors import DataError
from .registry import DatasetSource, lookup

DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for a mirror to connect or to send more bytes before trying the next one."""
DEFAULT_DEADLINE = 600.0
"""Seconds one file may take from one mirror: the largest, Fashion-MNIST's 26 MB of training
images, arrives in that time at 44 kB/s; a mirror slower than that is not worth the wait."""
MAX_BYTES = idx.MAX_VALUES + 1024
"""The most bytes a file of unknown size may have: the largest IDX file the reader accepts,
its values and a header of at most 1,024 bytes (gzipped, it is smaller)."""


@dataclass(frozen=True)
class _Limits:
    """What fetch's caller asked of each download: a progress bar, and how long it may take."""

    progress: bool
    timeout: float
    deadline: float


def fetch(
    name: str | DatasetSource,
    data_dir: str | Path | None = None,
    progress: bool = True,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
) -> Path:
    """Download dataset ``name`` into ``<data_dir>/<name>/`` and return that folder.

    Each file is fetched with pooch from the first mirror that serves it with its pinned md5.
    Files already present with the right md5 are kept, which makes fetching again cheap and
    resumes a download that failed part way. A lock on ``<data_dir>/<name>.lock`` lets two
    processes fetch at once: the second waits, then finds the first one's files and keeps them.
    Nothing is printed unless ``progress`` is true (then pooch names each download and draws a
    tqdm progress bar). ``timeout`` limits each connection and read, ``deadline`` the whole
    download of one file from one mirror (both in seconds).

    ``name`` may be a :class:`DatasetSource` instead, to fetch from other mirrors. For the
    embedded sample nothing is downloaded or written: the folder inside mnistlab that holds
    it is returned.
    """
    root = resolve_data_dir(data_dir)
    if name == sample.NAME:
        sample.load()  # nothing to download; this checks that the installed files are readable
        return sample.FOLDER
    source = name if isinstance(name, DatasetSource) else lookup(name)
    try:
        _fetch_locked(source, root, _Limits(progress, timeout, deadline))
    except OSError as err:  # a read-only or full data folder, not a network problem
        raise DataError(
            f"cannot write to the data folder {root} ({err.strerror or err}); free some disk "
            "space or choose another folder with --data-dir"
        ) from err
    return root / source.name


def _fetch_locked(source: DatasetSource, root: Path, limits: _Limits) -> None:
    """Fetch every file of ``source`` while holding its lock."""
    # Imported here, not at the top: they are slow to import and only a download needs them.
    import pooch
    from filelock import FileLock

    # pooch logs "Downloading data from ..." at INFO level to stderr. A filter rather than a
    # level change, so that two threads fetching at once cannot restore each other's level.
    def shown(record: logging.LogRecord) -> bool:
        return limits.progress or record.levelno > logging.INFO

    root.mkdir(parents=True, exist_ok=True)
    folder = root / source.name
    with FileLock(root / f"{source.name}.lock"):
        existed = folder.exists()
        pooch.get_logger().addFilter(shown)
        try:
            for filename, md5 in source.files.items():
                _download(source, filename, md5, folder, limits)
        finally:
            pooch.get_logger().removeFilter(shown)
            if not existed:
                with contextlib.suppress(OSError):  # rmdir only removes an empty folder:
                    folder.rmdir()  # the one pooch made before the first file failed


def _download(
    source: DatasetSource, filename: str, md5: str, folder: Path, limits: _Limits
) -> None:
    """Fetch one file into ``folder`` from the first mirror that works."""
    import pooch
    import requests

    from .download import BoundedDownloader

    downloader = BoundedDownloader(
        max_bytes=source.sizes.get(filename, MAX_BYTES),
        deadline=limits.deadline,
        timeout=limits.timeout,
        progressbar=limits.progress,
    )
    last_error, reached = "", False  # DatasetSource ensures there is at least one mirror
    for mirror in source.mirrors:
        url = f"{mirror.rstrip('/')}/{filename}"
        try:
            pooch.retrieve(
                url, known_hash=f"md5:{md5}", fname=filename, path=folder, downloader=downloader
            )
            return
        except (requests.RequestException, ValueError) as err:  # pooch: ValueError = bad hash
            last_error = f"{url}: {_reason(err, limits.timeout)}"
            reached = reached or not _unreachable(err)
    if reached:
        raise DataError(
            f"could not download {source.name}: every mirror failed (last: {last_error}); "
            "try again later, or use --data sample or --data PATH"
        )
    raise DataError(
        f"could not download {source.name}: no mirror could be reached (last: {last_error}); "
        "check your connection, or use --data sample or --data PATH"
    )


def _root_cause(err: BaseException) -> BaseException:
    while err.__cause__ or err.__context__:
        err = err.__cause__ or err.__context__  # type: ignore[assignment]
    return err


def _reason(err: Exception, timeout: float) -> str:
    """A few words on why one download failed.

    pooch's and requests' own messages run to hundreds of characters of object reprs, retry
    counts and temporary file names; the user needs only what went wrong.
    """
    from requests import exceptions

    from .download import Stopped

    root = _root_cause(err)
    if not isinstance(err, exceptions.RequestException):  # pooch's ValueError
        return "wrong md5, download discarded"
    if isinstance(err, Stopped):  # a size or a deadline: it says which
        return str(err)
    if isinstance(err, exceptions.HTTPError):
        return f"HTTP {err.response.status_code} {err.response.reason}"
    if isinstance(root, TimeoutError):
        return f"nothing received for {timeout:g} s"
    if isinstance(err, exceptions.ChunkedEncodingError):
        return "connection closed before the end of the file"
    if isinstance(root, OSError) and root.strerror:
        return root.strerror.lower()  # "connection refused", "name or service not known", ...
    return type(err).__name__


def _unreachable(err: Exception) -> bool:
    """Whether no server answered at all: refused, unknown host, or no connection in time.

    A read timeout is raised as a ConnectionError too, but that server did answer.
    """
    from requests import exceptions

    return isinstance(err, exceptions.ConnectTimeout) or (
        isinstance(err, exceptions.ConnectionError)
        and not isinstance(_root_cause(err), TimeoutError)
    )
