"""The datasets mnistlab can download. Adding one is one entry in :data:`DATASETS`."""

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import idx, sample
from .errors import DataError
from .splits import TUTORIAL_N_VALID


@dataclass(frozen=True)
class DatasetSource:
    """Where a downloadable dataset comes from and how it is split.

    ``files`` maps each of the four standard IDX file names (see :data:`idx.STEMS`, optionally
    with ``.gz``) to its published md5; each base URL in ``mirrors`` must serve all four, and
    they are tried in turn for each file (:mod:`.fetch` says what makes one fail and what the
    user is told when all do). ``sizes`` maps a file to its size in bytes where known: a
    download that grows past it is stopped, since it could not have the right md5. The
    training file is split as the tutorial's ``mnist.pkl.gz`` was: the last ``n_valid``
    images validate, the rest train; the t10k files are the test split.

    To download from elsewhere (a local mirror, a test server) use a copy:
    ``dataclasses.replace(DATASETS["mnist"], mirrors=("http://host/mnist/",))``.
    """

    name: str
    description: str
    files: Mapping[str, str]
    mirrors: tuple[str, ...]
    n_valid: int = TUTORIAL_N_VALID
    sizes: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Catch a mistyped registry entry when it is written, not when someone loads it.
        if sorted(name.removesuffix(".gz") for name in self.files) != sorted(idx.STEMS):
            raise ValueError(
                f"dataset {self.name!r}: files must be the four IDX files {idx.STEMS} "
                f"(each optionally .gz), got {sorted(self.files)}"
            )
        # A lone string would be iterated one character at a time, each "mirror" then failing.
        if isinstance(self.mirrors, str) or not self.mirrors:
            raise ValueError(
                f"dataset {self.name!r}: mirrors must be a non-empty tuple of base URLs, "
                f"got {self.mirrors!r}"
            )
        if not set(self.sizes) <= set(self.files):
            raise ValueError(
                f"dataset {self.name!r}: sizes names files that are not in files: "
                f"{sorted(set(self.sizes) - set(self.files))}"
            )


DATASETS: dict[str, DatasetSource] = {
    source.name: source
    for source in (
        DatasetSource(
            name="mnist",
            description="handwritten digits (LeCun, Cortes & Burges)",
            files={
                "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
            },
            mirrors=(
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "http://yann.lecun.com/exdb/mnist/",
            ),
            sizes={
                "train-images-idx3-ubyte.gz": 9_912_422,
                "train-labels-idx1-ubyte.gz": 28_881,
                "t10k-images-idx3-ubyte.gz": 1_648_877,
                "t10k-labels-idx1-ubyte.gz": 4_542,
            },
        ),
        DatasetSource(
            name="fashion-mnist",
            description="Zalando's images of clothing, 10 classes (Xiao, Rasul & Vollgraf)",
            files={
                "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
            },
            mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
            sizes={
                "train-images-idx3-ubyte.gz": 26_421_880,
                "train-labels-idx1-ubyte.gz": 29_515,
                "t10k-images-idx3-ubyte.gz": 4_422_102,
                "t10k-labels-idx1-ubyte.gz": 5_148,
            },
        ),
    )
}
"""Every downloadable dataset by name. The embedded ``sample`` needs no entry: it is never
downloaded."""


def lookup(name: str) -> DatasetSource:
    """The registered source called ``name``; a DataError suggests the closest name if none."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(unknown_name(name, "a downloadable dataset")) from None


def unknown_name(name: str, expected: str) -> str:
    """A one-line message for a dataset name that is not ``expected``, with a suggestion."""
    names = [sample.NAME, *DATASETS]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{name!r} is not {expected}; {hint}known datasets: {', '.join(names)}"
