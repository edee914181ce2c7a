"""Read the tutorial's ``mnist.pkl.gz`` without trusting it.

That file is a gzipped pickle (protocol 2, written by Python 2) of
``((x_train, y_train), (x_valid, y_valid), (x_test, y_test))``. A pickle is a program: plain
``pickle.load`` runs whatever callable the file names, so a tampered file could run any
command. This module's unpickler resolves only the few callables that rebuild numpy arrays
and refuses every other name.
"""

import pickle
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .errors import DataError
from .files import open_data_file
from .splits import Splits, make_splits

_WHAT = "from a file in the tutorial's mnist.pkl.gz format"

MAX_BYTES = 2**29
"""The most bytes mnistlab unpickles from one file, once gunzipped: 512 MiB.

The tutorial's mnist.pkl.gz unpacks to 220 MB (70,000 float32 images of 784 pixels and their
labels), and a file in that format holds those same 70,000 images; but Python 3 writes the
arrays of a protocol 2 pickle as text that can be up to twice as long, so the bound is twice
the tutorial's. A pickle asking for more is damaged or hostile, such as a gzip bomb (a few MB
that inflate to GBs).
"""


def _latin1_encode(text: str, encoding: str) -> bytes:
    """Stand in for ``_codecs.encode``, admitting only latin-1.

    Python 3 writes ``bytes`` into protocol 2 pickles as ``_codecs.encode(text, "latin1")``,
    so arrays pickled that way need it, but nothing needs another codec.
    """
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"codec {encoding!r} is not allowed")
    return text.encode("latin1")


# The functions numpy pickles arrays with, taken from numpy itself because their module moved
# from numpy.core to numpy._core in numpy 2; pickles name either.
_RECONSTRUCT = np.empty(0).__reduce__()[0]  # protocols 0-4
_FROMBUFFER = np.empty(0).__reduce_ex__(5)[0]  # protocol 5
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("_codecs", "encode"): _latin1_encode,
}


class _Capped:
    """A file that hands the unpickler at most ``limit`` bytes, then refuses.

    The unpickler asks for exactly what each opcode needs, so a request beyond what is left
    means the pickle needs more than ``limit`` bytes in all: it is refused before the bytes
    are read (and inflated).
    """

    def __init__(self, file: BinaryIO, limit: int, source: str) -> None:
        self._file, self._left, self._limit, self._source = file, limit, limit, source

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(self._allowed(size))
        self._take(len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        line = self._file.readline(self._allowed(size))
        self._take(len(line))
        return line

    def readinto(self, buffer: Any) -> int:
        self._allowed(memoryview(buffer).nbytes)
        count = self._file.readinto(buffer)
        self._take(count)
        return count

    def _allowed(self, size: int) -> int:
        """How much to read for a request of ``size`` (all, if negative)."""
        if size < 0:
            return self._left + 1  # all of it: one byte beyond what is left shows it is too much
        if size > self._left:
            raise self._too_large()
        return size

    def _take(self, count: int) -> None:
        self._left -= count
        if self._left < 0:
            raise self._too_large()

    def _too_large(self) -> DataError:
        return DataError(
            f"{self._source}: it unpacks to more than {self._limit:,} bytes, more than a "
            "dataset in the tutorial's format needs (its mnist.pkl.gz unpacks to 220 MB); "
            "is this really the tutorial's mnist.pkl.gz?"
        )


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can build numpy arrays, tuples, lists and plain values, nothing else."""

    def __init__(self, file: Any, source: str) -> None:
        # latin1 turns Python 2 byte strings into str without loss; numpy expects that.
        super().__init__(file, encoding="latin1")
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[module, name]
        except KeyError:
            raise DataError(
                f"{self._source}: mnistlab refuses to load {module}.{name} from a pickle: "
                "only numpy arrays are allowed; is this really the tutorial's mnist.pkl.gz?"
            ) from None


def read_tutorial_pickle(path: Path) -> Splits:
    """Read a ``.pkl`` or ``.pkl.gz`` file in the tutorial's format as :class:`Splits`."""
    try:
        with open_data_file(path) as file:
            capped = _Capped(file, MAX_BYTES, str(path))
            content = _ArraysOnlyUnpickler(capped, str(path)).load()
    except DataError:
        raise
    except Exception as err:  # bytes from elsewhere can make pickle or gzip raise almost anything
        raise DataError(
            f"{path}: cannot unpickle it ({type(err).__name__}: {err}); "
            "expected the tutorial's mnist.pkl.gz format"
        ) from err
    if not (
        isinstance(content, tuple | list)
        and len(content) == 3
        and all(isinstance(pair, tuple | list) and len(pair) == 2 for pair in content)
    ):
        raise DataError(
            f"{path}: expected ((x_train, y_train), (x_valid, y_valid), (x_test, y_test)) "
            f"as in the tutorial's mnist.pkl.gz, got a {type(content).__name__}"
        )
    train, valid, test = (tuple(pair) for pair in content)
    return make_splits(str(path), _WHAT, train, valid, test)
