"""Turn what the user asked for (a dataset name, a path, or nothing) into :class:`Splits`."""

import hashlib
from pathlib import Path

from . import idx, sample
from .cache import is_cached, resolve_data_dir
from .errors import DataError
from .registry import DATASETS, DatasetSource, unknown_name
from .splits import TUTORIAL_N_VALID, Splits, hold_out_last, make_splits
from .tutorial_pickle import read_tutorial_pickle

DEFAULT_FULL = "mnist"
"""The dataset :func:`load` prefers, when no dataset is named, if it is already downloaded."""

_PICKLE_SUFFIXES = (".pkl", ".pkl.gz")


def load(
    spec: str | Path | DatasetSource | None = None, data_dir: str | Path | None = None
) -> Splits:
    """Load a dataset; never touches the network.

    ``spec`` is one of:

    - ``None``: full MNIST if it is already downloaded, else the embedded sample
      (``Splits.description`` says which);
    - a dataset name: ``"sample"`` or a key of ``DATASETS``, which must be downloaded already
      (``mnistlab data fetch NAME``); a name wins over a folder of the same name, so write
      ``./mnist`` for the folder;
    - a :class:`DatasetSource`, loaded from its folder in the data folder;
    - a path: a ``.pkl``/``.pkl.gz`` file in the tutorial's format, or a folder with the four
      IDX files (gzipped or not), whose training set is split like MNIST's.
    """
    root = resolve_data_dir(data_dir)
    if spec is None:
        spec = choose(None, root)
    if isinstance(spec, DatasetSource):
        return _load_source(spec, root)
    if spec == sample.NAME:
        return sample.load()
    if spec in DATASETS:
        return _load_source(DATASETS[str(spec)], root)
    path = Path(spec).expanduser()
    if path.is_dir():
        return _load_idx_folder(str(path), "from IDX files", path, TUTORIAL_N_VALID)
    if path.is_file():
        if not path.name.endswith(_PICKLE_SUFFIXES):
            raise DataError(
                f"{path}: unsupported file; give a .pkl.gz or .pkl file in the tutorial's "
                "format, or a folder with the four IDX files"
            )
        return read_tutorial_pickle(path)
    if path.exists():  # a pipe, a socket, a device: nothing mnistlab can read as data
        raise DataError(f"{path}: not a regular file or a folder; give a .pkl.gz or .pkl file "
                        "in the tutorial's format, or a folder with the four IDX files")
    raise DataError(unknown_name(str(spec), "a dataset name or an existing file or folder"))


def choose(spec: str | None, data_dir: str | Path | None = None) -> str:
    """The dataset ``load(spec)`` would read: with no ``spec``, full MNIST if it is already
    downloaded, else the embedded sample. Looks at the cache only; reads no data."""
    if spec is not None:
        return spec
    return DEFAULT_FULL if is_cached(DEFAULT_FULL, resolve_data_dir(data_dir)) else sample.NAME


def _load_source(source: DatasetSource, root: Path) -> Splits:
    folder = root / source.name
    if not is_cached(source, root):
        raise DataError(
            f"{source.name} is not downloaded in {root}; run `mnistlab data fetch "
            f"{source.name}` or use --data sample"
        )
    _check_md5s(source, folder)
    return _load_idx_folder(
        source.name, f"{source.description} from {folder}", folder, source.n_valid
    )


def _check_md5s(source: DatasetSource, folder: Path) -> None:
    """Refuse files that no longer match their pinned md5 (edited, or damaged on disk)."""
    for filename, md5 in source.files.items():
        if hashlib.md5((folder / filename).read_bytes(), usedforsecurity=False).hexdigest() != md5:
            raise DataError(
                f"{folder / filename} does not match its published md5; run "
                f"`mnistlab data fetch {source.name}` to download it again"
            )


def _load_idx_folder(name: str, what: str, folder: Path, n_valid: int) -> Splits:
    (x_train, y_train), test = idx.read_folder(folder)
    train, valid = hold_out_last(x_train, y_train, n_valid, name)
    return make_splits(name, what, train, valid, test)
