"""mnistlab's datasets, as numpy arrays in the form of the tutorial's ``mnist.pkl.gz``.

- ``sample``: 5,000 real MNIST digits shipped inside this package (``mnist5k/``), the
  default when nothing is downloaded;
- ``mnist`` and ``fashion-mnist`` (see :data:`DATASETS`): downloaded once by :func:`fetch`
  into the data folder (``--data-dir``, ``$MNISTLAB_DATA``, else the user cache folder);
- a local ``mnist.pkl.gz`` or folder of IDX files.

:func:`load` never touches the network. This package imports numpy only, not torch, so that
commands such as ``mnistlab data list`` start fast.
"""

from .cache import default_data_dir, is_cached, resolve_data_dir
from .errors import DataError
from .fetch import fetch
from .loading import choose, load
from .registry import DATASETS, DatasetSource
from .sample import NAME as SAMPLE
from .sample import TRAIN_ROWS as SAMPLE_TRAIN_ROWS
from .splits import Splits

__all__ = [
    "DATASETS",
    "DataError",
    "DatasetSource",
    "SAMPLE",
    "SAMPLE_TRAIN_ROWS",
    "Splits",
    "choose",
    "default_data_dir",
    "fetch",
    "is_cached",
    "load",
    "resolve_data_dir",
]
