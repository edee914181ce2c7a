"""The loaded dataset: flat float images and int labels for each split, checked and described."""

import hashlib
from dataclasses import dataclass

import numpy as np

from mnistlab.words import plural

from .errors import DataError

PIXELS = 28 * 28
TUTORIAL_N_VALID = 10_000
"""How many of MNIST's 60,000 training images the tutorial's mnist.pkl.gz held out to validate."""

Pair = tuple[np.ndarray, np.ndarray]
"""Images and their labels."""


@dataclass(frozen=True, eq=False)
class Splits:
    """A dataset ready to train on, whatever file it came from.

    Images are float32 of shape (N, 784) in [0, 1], labels int64 of shape (N,) in 0..9: the
    form the tutorial's ``mnist.pkl.gz`` had, so every step reads every dataset the same way.
    ``checksum`` is a sha256 over the arrays' bytes (train, valid, test) that a run records in
    its config, so two runs can tell whether they saw the same data; compare checksums, not
    Splits objects, which are equal only to themselves (``==`` on arrays is elementwise).
    """

    name: str
    description: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    checksum: str = ""


def make_splits(name: str, what: str, train: Pair, valid: Pair, test: Pair | None = None) -> Splits:
    """Check the arrays and assemble a :class:`Splits` with its description and checksum.

    Every loader ends here, so every dataset meets the same contract and is described the
    same way: ``"<name>: 50,000 train / 10,000 valid / 10,000 test <what>"``.
    """
    pairs = {"train": train, "valid": valid}
    if test is not None:
        pairs["test"] = test
    digest = hashlib.sha256()
    for split, (x, y) in pairs.items():
        check_pair(x, y, name, split)
        digest.update(np.ascontiguousarray(x))
        digest.update(np.ascontiguousarray(y))
    counts = " / ".join(f"{len(x):,} {split}" for split, (x, _) in pairs.items())
    x_test, y_test = test if test is not None else (None, None)
    return Splits(
        name, f"{name}: {counts} {what}", *train, *valid, x_test, y_test, digest.hexdigest()
    )


def check_pair(x: object, y: object, source: str, split: str) -> None:
    """Raise DataError unless ``x``, ``y`` are images and labels in the :class:`Splits` form.

    Data from files must fail here, naming the file, rather than deep inside a training step.
    """
    if not (isinstance(x, np.ndarray) and x.dtype == np.float32 and x.shape[1:] == (PIXELS,)):
        raise DataError(
            f"{source}: {split} images must be a float32 array of shape (N, {PIXELS}), "
            f"got {_describe(x)}"
        )
    if not (isinstance(y, np.ndarray) and y.dtype == np.int64 and y.shape == (len(x),)):
        raise DataError(
            f"{source}: {split} labels must be an int64 array of shape ({len(x)},), "
            f"got {_describe(y)}"
        )
    if x.size and not (x.min() >= 0 and x.max() <= 1):
        raise DataError(f"{source}: {split} pixels must lie in [0, 1]; scale them (e.g. / 255)")
    if y.size and not (y.min() >= 0 and y.max() <= 9):
        raise DataError(f"{source}: {split} labels must be digits 0..9")


def hold_out_last(x: np.ndarray, y: np.ndarray, n_valid: int, source: str) -> tuple[Pair, Pair]:
    """Split a training set into train and valid as the tutorial's ``mnist.pkl.gz`` did.

    The last ``n_valid`` examples validate and the rest train. A fixed tail rather than a
    random draw keeps full MNIST here identical to the tutorial's pickle.
    """
    if not 0 < n_valid < len(x):
        raise DataError(
            f"{source}: {plural(len(x), 'training image', spec=',')} "
            f"{'is' if len(x) == 1 else 'are'} too few to hold out the last {n_valid:,} for "
            "validation"
        )
    return (x[:-n_valid], y[:-n_valid]), (x[-n_valid:], y[-n_valid:])


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return type(value).__name__
