"""Read the tutorial's ``mnist.pkl.gz`` without trusting it.

That file is a gzipped pickle (protocol 2, written by Python 2) of
``((x_train, y_train), (x_valid, y_valid), (x_test, y_test))``. A pickle is a program: plain
``pickle.load`` runs whatever callable the file names, so a tampered file could run any
command. This module's unpickler resolves only the few callables that rebuild numpy arrays
and refuses every other name.
"""

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .files import open_data_file
from .splits import Splits, make_splits

_WHAT = "from a file in the tutorial's mnist.pkl.gz format"


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
            content = _ArraysOnlyUnpickler(file, str(path)).load()
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
