"""Opening local data files, gzipped or not."""

import gzip
from pathlib import Path
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"


def open_data_file(path: Path) -> BinaryIO:
    """Open ``path`` for binary reading, gunzipping on the fly when its first bytes say gzip.

    The content decides, not the ``.gz`` suffix, because MNIST files are often unpacked or
    renamed by hand.
    """
    with open(path, "rb") as probe:
        gzipped = probe.read(len(GZIP_MAGIC)) == GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else open(path, "rb")
