"""Reading and writing local data files safely."""

import gzip
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mnistlab.atomic import atomic_write

GZIP_MAGIC = b"\x1f\x8b"


def open_data_file(path: Path) -> BinaryIO:
    """Open ``path`` for binary reading, gunzipping on the fly when its first bytes say gzip.

    The content decides, not the ``.gz`` suffix, because MNIST files are often unpacked or
    renamed by hand.
    """
    with open(path, "rb") as probe:
        gzipped = probe.read(len(GZIP_MAGIC)) == GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    """Save ``array`` as ``.npy`` so that readers see the old file or the whole new one.

    A crash or a second process building the same cache never leaves a
    half-written file behind (see :mod:`mnistlab.atomic`).
    """
    with atomic_write(path) as file:
        np.save(file, array, allow_pickle=False)
