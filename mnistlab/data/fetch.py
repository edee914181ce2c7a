"""Download a registered dataset into the data folder, once."""

import importlib.util
from pathlib import Path

from . import sample
from .cache import resolve_data_dir
from .errors import DataError
from .registry import DatasetSource, lookup

DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for a mirror to connect or to send more bytes before trying the next one."""


def fetch(
    name: str | DatasetSource,
    data_dir: str | Path | None = None,
    progress: bool = True,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Download dataset ``name`` into ``<data_dir>/<name>/`` and return that folder.

    Each file is fetched with pooch from the first mirror that serves it with its pinned md5;
    pooch downloads to a temporary file and deletes it if the hash does not match, so a bad
    file is never kept or read. Files already present with the right md5 are kept, which makes
    fetching again cheap and resumes a partial download. A lock on ``<data_dir>/<name>.lock``
    lets two processes fetch at once and end with one good copy.

    ``name`` may be a :class:`DatasetSource` instead, to fetch from other mirrors. For the
    embedded sample nothing is downloaded; its cache is built and its folder returned.
    """
    root = resolve_data_dir(data_dir)
    if name == sample.NAME:
        sample.load(root)
        return root / sample.NAME
    source = name if isinstance(name, DatasetSource) else lookup(name)
    # Imported here, not at the top: they are slow to import and only a download needs them.
    from filelock import FileLock

    root.mkdir(parents=True, exist_ok=True)
    folder = root / source.name
    with FileLock(root / f"{source.name}.lock"):
        for filename, md5 in source.files.items():
            _download(source, filename, md5, folder, progress, timeout)
    return folder


def _download(
    source: DatasetSource, filename: str, md5: str, folder: Path, progress: bool, timeout: float
) -> None:
    """Fetch one file into ``folder`` from the first mirror that works."""
    import pooch
    import requests

    # pooch draws its progress bar with tqdm, an optional dependency: no tqdm, no bar.
    bar = progress and importlib.util.find_spec("tqdm") is not None
    downloader = pooch.HTTPDownloader(progressbar=bar, timeout=timeout)
    last_error = "no mirrors are configured"
    for mirror in source.mirrors:
        url = f"{mirror.rstrip('/')}/{filename}"
        try:
            pooch.retrieve(
                url, known_hash=f"md5:{md5}", fname=filename, path=folder, downloader=downloader
            )
            return
        except (requests.RequestException, ValueError) as err:  # pooch: ValueError = bad hash
            last_error = f"{url}: {err}"
    raise DataError(
        f"could not download {source.name} from any mirror (last error: {last_error}); "
        "check your connection, or use --data sample / --data PATH"
    )
