"""Read the IDX files that MNIST and Fashion-MNIST are published in.

An IDX file is two zero bytes, a type code (0x08: unsigned bytes, the only type these datasets
use), the number of dimensions, one big-endian uint32 per dimension, then the values in C
order. See http://yann.lecun.com/exdb/mnist/.
"""

import io
import math
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mnistlab.words import plural

from .errors import DataError
from .files import open_data_file
from .splits import PIXELS, Pair

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
STEMS = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
"""The standard names of a dataset's four files; each may also end in ``.gz``."""

_UBYTE = 0x08
_IMAGE_SHAPE = (28, 28)

MAX_VALUES = 2**28
"""The most values (bytes) mnistlab reads from one IDX file: 256 MiB.

MNIST's largest file holds 47 million (60,000 images of 28x28) and the largest ten-class
MNIST-style release, EMNIST Digits, 188 million. A header that declares more belongs to a
damaged or hostile file, such as a gzip bomb (a few MB that inflate to GBs), and reading it
would take that much memory, and four times as much again once the images are float32.
"""


def read_folder(folder: Path) -> tuple[Pair, Pair]:
    """Read the four IDX files in ``folder``: returns (train images, labels), (test ...)."""
    paths = {stem: _find(folder, stem) for stem in STEMS}
    return (
        read_pair(paths[TRAIN_IMAGES], paths[TRAIN_LABELS]),
        read_pair(paths[TEST_IMAGES], paths[TEST_LABELS]),
    )


def read_pair(images_path: Path, labels_path: Path) -> Pair:
    """Read an images file and its labels file, checking that they have one label per image."""
    images, labels = read_images(images_path), read_labels(labels_path)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} has {plural(len(images), 'image', spec=',')} but {labels_path} "
            f"has {plural(len(labels), 'label', spec=',')}; they must come from the same release"
        )
    return images, labels


def read_images(path: Path) -> np.ndarray:
    """Read an IDX images file as float32 of shape (N, 784) scaled to [0, 1]."""
    return images_from(read_idx(path), str(path))


def read_labels(path: Path) -> np.ndarray:
    """Read an IDX labels file as int64 of shape (N,), checking that each is a digit 0..9."""
    return labels_from(read_idx(path), str(path))


def images_from(raw: np.ndarray, source: str) -> np.ndarray:
    """The images of a parsed IDX file as float32 of shape (N, 784) scaled to [0, 1]."""
    if raw.ndim != 3 or raw.shape[1:] != _IMAGE_SHAPE:
        raise DataError(
            f"{source}: expected 28x28 images, i.e. shape (N, 28, 28), got shape {raw.shape}; "
            "is this an images file?"
        )
    images = raw.reshape(len(raw), PIXELS).astype(np.float32)
    images /= 255
    return images


def labels_from(raw: np.ndarray, source: str) -> np.ndarray:
    """The labels of a parsed IDX file as int64 of shape (N,), checking that each is 0..9."""
    if raw.ndim != 1:
        raise DataError(
            f"{source}: expected one label per image, i.e. shape (N,), got shape {raw.shape}; "
            "is this a labels file?"
        )
    if raw.size and raw.max() > 9:
        raise DataError(f"{source}: labels must be digits 0..9, found {raw.max()}")
    return raw.astype(np.int64)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file, gzipped or not, as a read-only uint8 array of the shape it declares.

    Only as many bytes are read (and inflated) as the header declares, plus one to tell
    whether more follow, so a gzip bomb behind a valid header is never inflated whole.
    """
    try:
        with open_data_file(path) as file:
            return read_idx_from(file, str(path))
    except (OSError, EOFError, zlib.error) as err:  # gzip reports a corrupt stream with all 3
        raise DataError(f"{path}: cannot read it ({err}); download it again") from err


def parse_idx(data: bytes, source: str) -> np.ndarray:
    """Parse the bytes of an IDX file; ``source`` names it in errors."""
    return read_idx_from(io.BytesIO(data), source)


def read_idx_from(file: BinaryIO, source: str) -> np.ndarray:
    """Read an IDX file from ``file``: its header, then exactly the values it declares."""
    shape = _read_shape(file, source)
    expected = math.prod(shape)
    if expected > MAX_VALUES:
        raise DataError(
            f"{source}: its header declares shape {shape} ({expected:,} values), more than "
            f"the {MAX_VALUES:,} mnistlab reads from one IDX file; MNIST-style files hold "
            "tens of millions, so it is damaged or not an MNIST-style dataset"
        )
    data = file.read(expected + 1)  # one byte more than declared tells that more follow
    if len(data) != expected:
        problem, holds = (
            ("truncated", f"it holds {len(data):,}")
            if len(data) < expected
            else ("has extra bytes at the end", "more follow")
        )
        raise DataError(
            f"{source}: {problem}: its header declares shape {shape} ({expected:,} values) "
            f"but {holds}; download it again"
        )
    return np.frombuffer(data, np.uint8, count=expected).reshape(shape)


def _read_shape(file: BinaryIO, source: str) -> tuple[int, ...]:
    """Read and check the header: magic, type code, dimension count, then the dimensions."""
    start = file.read(4)
    if len(start) < 4:
        raise DataError(f"{source}: {plural(len(start), 'byte')} is too short for an IDX file")
    if start[:2] != b"\0\0":
        raise DataError(
            f"{source}: not an IDX file (it starts with 0x{start[:2].hex()}, not 0x0000)"
        )
    if start[2] != _UBYTE:
        raise DataError(
            f"{source}: IDX type code 0x{start[2]:02x} is not supported; "
            f"MNIST-style files hold unsigned bytes (0x{_UBYTE:02x})"
        )
    ndim = start[3]
    dims = file.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{source}: truncated IDX header; download it again")
    return struct.unpack(f">{ndim}I", dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise DataError(
        f"{folder}: no {stem}[.gz]; a dataset folder needs the four IDX files "
        f"{', '.join(STEMS)} (gzipped or not)"
    )
