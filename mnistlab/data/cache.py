"""Where datasets are kept, and whether one is there."""

import os
from pathlib import Path

import platformdirs

from . import sample
from .registry import DatasetSource, lookup

ENV_VAR = "MNISTLAB_DATA"


def default_data_dir() -> Path:
    """``$MNISTLAB_DATA`` if set, else the user's cache folder.

    A cache folder rather than a data folder because everything in it can be downloaded or
    rebuilt again, so the system may clean it.
    """
    from_env = os.environ.get(ENV_VAR)
    return (
        Path(from_env).expanduser() if from_env else Path(platformdirs.user_cache_dir("mnistlab"))
    )


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """The data folder to use: ``data_dir`` when given (``~`` expanded), else the default."""
    return default_data_dir() if data_dir is None else Path(data_dir).expanduser()


def is_cached(name: str | DatasetSource, data_dir: str | Path | None = None) -> bool:
    """Whether dataset ``name`` can be loaded without the network.

    True for the embedded sample; for a downloadable dataset, when all its files are present
    (their checksums are checked when it is loaded).
    """
    if name == sample.NAME:
        return True
    source = name if isinstance(name, DatasetSource) else lookup(name)
    folder = resolve_data_dir(data_dir) / source.name
    return all((folder / filename).is_file() for filename in source.files)
