"""A run's settings: one frozen value that every hook receives as ``config``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mnistlab.errors import MnistlabError

# The tutorial trains 2 epochs over 50,000 images: 100,000 examples seen.
TUTORIAL_EXAMPLES = 2 * 50_000


# The type each setting must have, checked before any range: mnistlab.run() takes them from
# Python, where "2" or 0.5 can land in epochs. (bool is an int to Python, so it is refused
# where it is not named.)
_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "lr": ((int, float), "a number"),
    "momentum": ((int, float), "a number"),
    "epochs": ((int, type(None)), "a whole number"),
    "bs": ((int,), "a whole number"),
    "seed": ((int,), "a whole number"),
    "device": ((str, type(None)), "a device name such as 'cpu' or 'cuda:0'"),
    "data": ((str, type(None)), "a dataset name or a path"),
    "data_dir": ((str, type(None)), "a path"),
    "out": ((str, type(None)), "a path"),
    "options": ((Mapping,), "a dict of option names to values"),
    "deterministic": ((bool,), "True or False"),
    "force": ((bool,), "True or False"),
}


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one run. Hooks read it; nothing writes to it.

    ``epochs=None`` means "see as many examples as the tutorial does" (2
    epochs over 50,000 images): 2 epochs on full MNIST, 25 on the 4,000-digit
    sample, where 2 epochs are only 126 optimizer steps and the CNN stages
    would barely learn. The runner resolves it once the data is loaded.
    """

    stage: str
    lr: float
    momentum: float = 0.0
    epochs: int | None = None
    bs: int = 64
    seed: int = 0
    device: str | None = None
    data: str | None = None
    data_dir: str | None = None
    plugins: tuple[str, ...] = field(default_factory=tuple)
    blocked: tuple[str, ...] = field(default_factory=tuple)
    # Deterministic kernels, so that the same seed gives the same weights on every
    # device; False trades that for speed on a GPU (and is recorded like any setting).
    deterministic: bool = True
    # The plugins' own settings (declared with the plugin_options hook), by name.
    options: Mapping[str, Any] = field(default_factory=dict)
    # The run folder to write (config, metrics, checkpoints, plots); None: none.
    out: str | None = None
    # Whether an existing run folder in ``out`` may be overwritten.
    force: bool = False
    # True when ``epochs`` was filled in from the tutorial's example count.
    epochs_from_tutorial: bool = False

    def __post_init__(self) -> None:
        for name, (kinds, wanted) in _KINDS.items():
            value = getattr(self, name)
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise MnistlabError(f"{name} must be {wanted}, got {value!r} "
                                    f"({type(value).__name__})")
        if self.bs < 1:
            raise MnistlabError(f"batch size must be at least 1, got {self.bs}")
        if self.epochs is not None and self.epochs < 0:
            raise MnistlabError(f"epochs must be 0 or more, got {self.epochs}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise MnistlabError(f"learning rate must be a positive number, got {self.lr}")
        if not 0 <= self.seed < 2**64:
            raise MnistlabError(f"seed must be in [0, 2**64), got {self.seed}")
        if not 0 <= self.momentum < 1:
            raise MnistlabError(f"momentum must be in [0, 1), got {self.momentum}")

    @property
    def valid_bs(self) -> int:
        """The tutorial validates in batches twice as large: no gradients to keep."""
        return 2 * self.bs

    def with_epochs_for(self, n_train: int) -> RunConfig:
        """Fill in ``epochs`` for a training set of ``n_train`` rows, if not given."""
        if self.epochs is not None:
            return self
        epochs = max(1, math.ceil(TUTORIAL_EXAMPLES / n_train))
        return replace(self, epochs=epochs, epochs_from_tutorial=True)
