"""A run's settings: one frozen value, final before any piece is built, that every hook
receives as ``config``.

The settings fall in two groups. The **lesson's** settings are what a learner varies
(``LESSON``: lr, momentum, bs, valid_bs, epochs, seed); the others say what the run is built
from (data, device, plugins, options). Where the run is kept, whether it prints and whether it
is traced are logistics: they are arguments of a run, not settings, and no hook sees them.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mnistlab.errors import ArgumentError, MnistlabError
from mnistlab.stages import get_stage, hyper_of

# What a learner varies from one run of a lesson to the next, in the order pages show them.
LESSON = ("lr", "momentum", "bs", "valid_bs", "epochs", "seed")

# The tutorial trains 2 epochs over 50,000 images: 100,000 examples seen.
TUTORIAL_EPOCHS = 2
TUTORIAL_EXAMPLES = TUTORIAL_EPOCHS * 50_000

# The type each setting must have, checked before any range: mnistlab.run() takes them from
# Python, where "2" or 0.5 can land in epochs. (bool is an int to Python, so it is refused
# where it is not named.)
_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "lr": ((int, float), "a number"),
    "momentum": ((int, float), "a number"),
    "bs": ((int,), "a whole number"),
    "valid_bs": ((int,), "a whole number"),
    "epochs": ((int,), "a whole number"),
    "seed": ((int,), "a whole number"),
    "device": ((str, type(None)), "a device name such as 'cpu' or 'cuda:0'"),
    "data": ((str, type(None)), "a dataset name or a path"),
    "data_dir": ((str, type(None)), "a path"),
    "options": ((Mapping,), "a dict of option names to values"),
    "deterministic": ((bool,), "True or False"),
}


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one run. Hooks read it; nothing writes to it.

    Build one with :func:`make_config`, which fills in the stage's defaults:
    ``valid_bs`` is twice ``bs`` (the tutorial's ``bs * 2``: validation keeps
    no gradients, so it can take bigger batches), and ``epochs`` shows as many
    examples as the tutorial does (see :func:`tutorial_epochs`).
    """

    stage: str
    # The lesson's settings.
    lr: float
    momentum: float
    bs: int
    valid_bs: int
    epochs: int
    seed: int
    # What the run is built from.
    data: str | None = None
    data_dir: str | None = None
    device: str | None = None
    plugins: tuple[str, ...] = field(default_factory=tuple)
    blocked: tuple[str, ...] = field(default_factory=tuple)
    # The plugins' own settings (declared with the plugin_options hook), by name.
    options: Mapping[str, Any] = field(default_factory=dict)
    # Deterministic kernels, so that the same seed gives the same weights on every
    # device; False trades that for speed on a GPU (and is recorded like any setting).
    deterministic: bool = True

    def __post_init__(self) -> None:
        for name, (kinds, wanted) in _KINDS.items():
            value = getattr(self, name)
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise ArgumentError(f"{name} must be {wanted}, got {value!r} "
                                    f"({type(value).__name__})")
        for name in ("bs", "valid_bs"):
            if getattr(self, name) < 1:
                raise MnistlabError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.epochs < 0:
            raise MnistlabError(f"epochs must be 0 or more, got {self.epochs}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise MnistlabError(f"learning rate must be a positive number, got {self.lr}")
        if not 0 <= self.seed < 2**64:
            raise MnistlabError(f"seed must be in [0, 2**64), got {self.seed}")
        if not 0 <= self.momentum < 1:
            raise MnistlabError(f"momentum must be in [0, 1), got {self.momentum}")

    @property
    def lesson(self) -> dict[str, Any]:
        """The lesson's settings, by name: what ``mnistlab diff`` and the pages show."""
        return {name: getattr(self, name) for name in LESSON}


def tutorial_epochs(data: str | None) -> int:
    """The epochs that show as many examples as the tutorial's 2 epochs over 50,000 images.

    That is 2 on full-size data, and 25 on the 4,000 training digits of the
    embedded sample, where 2 epochs are only 126 optimizer steps and the CNN
    stages would barely learn. Decided from the data's name, before the data
    is loaded, so that every setting is final when ``make_data`` is asked.
    """
    from mnistlab.data import SAMPLE, SAMPLE_TRAIN_ROWS

    return math.ceil(TUTORIAL_EXAMPLES / SAMPLE_TRAIN_ROWS) if data == SAMPLE else TUTORIAL_EPOCHS


def stage_defaults(stage: str) -> dict[str, float]:
    """The lesson's settings a stage sets by default: lr, momentum, bs and valid_bs."""
    hyper = hyper_of(stage)
    bs = hyper.get("bs", 64)
    return {**hyper, "bs": bs, "valid_bs": 2 * bs}


def make_config(stage: str, **settings: Any) -> RunConfig:
    """A ``RunConfig`` for ``stage``: its default hyper-parameters, then ``settings``.

    Settings given as ``None`` keep the default, so CLI options map straight in.
    Paths, numpy numbers and a ``torch.device`` are taken as the values the
    command line would give, and one plugin as a string is a list of one.
    """
    from mnistlab.data import choose

    get_stage(stage)
    known = set(RunConfig.__dataclass_fields__) - {"stage"}
    unknown = set(settings) - known
    if unknown:
        raise MnistlabError(f"unknown setting(s) {', '.join(sorted(unknown))} for mnistlab.run()"
                            f"; use any of: {', '.join(sorted(known))}")
    given = {key: _plain(value) for key, value in settings.items() if value is not None}
    for key in ("plugins", "blocked"):
        if key in given:
            # One name or path is a list of one, not a list of its characters.
            names = [given[key]] if isinstance(given[key], str) else given[key]
            if not isinstance(names, list | tuple):
                raise ArgumentError(f"{key} must be a list of names or paths, got {names!r} "
                                    f"({type(names).__name__})")
            given[key] = tuple(map(_plain, names))
    if isinstance(given.get("data", ""), str) and isinstance(given.get("data_dir", ""), str):
        given["data"] = choose(given.get("data"), given.get("data_dir"))
    defaults: dict[str, Any] = {"seed": 0, **stage_defaults(stage)}
    bs = given.get("bs", defaults["bs"])
    defaults["valid_bs"] = 2 * bs if isinstance(bs, int) else bs  # the tutorial's bs * 2
    defaults["epochs"] = tutorial_epochs(given.get("data"))
    return RunConfig(stage=stage, **{**defaults, **given})


def _plain(value: Any) -> Any:
    """A path, a torch.device or a numpy number as the value the command line would give."""
    # A torch.device or a numpy number exists only once its library is imported: look there,
    # so that building a config imports neither.
    torch, numpy = sys.modules.get("torch"), sys.modules.get("numpy")
    if isinstance(value, os.PathLike) or (torch is not None and isinstance(value, torch.device)):
        return str(value)
    return value.item() if numpy is not None and isinstance(value, numpy.generic) else value
