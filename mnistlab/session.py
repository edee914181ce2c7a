"""The loop's view of a run: what a loop plugin and the observers are given as ``session``.

A loop reads ``model``, ``loss_func`` and ``opt`` here and asks ``batches()``
for each pass over a split; observers read the config, the data, the
history and may call ``stop()``. The run's books (:mod:`mnistlab.books`)
count the steps behind this view, so a loop holds the lesson and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from mnistlab import launch
from mnistlab.books import Batch, Books, TrainingLoss
from mnistlab.config import RunConfig
from mnistlab.errors import MnistlabError, PluginError
from mnistlab.types import EpochResult, Filled, Tensors

# Cuts one pass over (x, y): (x, y, batch_size, shuffle, generator) -> batches.
Cutter = Callable[[torch.Tensor, torch.Tensor, int, bool, torch.Generator], Iterable[Batch]]


@dataclass(eq=False)
class Session:
    """Everything built for one run, and the few helpers a training loop needs.

    ``pieces`` says which plugin filled each piece; ``pm`` is the run's plugin
    manager and ``hook`` its hook relay.
    """

    config: RunConfig
    data: Tensors
    device: torch.device
    model: Any
    loss_func: TrainingLoss
    opt: Any
    pieces: dict[str, Filled]
    pm: Any = field(repr=False)
    # Shuffling has its own generator, so its order does not depend on how many random
    # numbers the model drew.
    generator: torch.Generator = field(repr=False)
    cut: Cutter = field(repr=False)
    books: Books = field(repr=False)

    @property
    def hook(self) -> Any:
        """The plugin manager's hook relay: ``session.hook.after_epoch(...)``."""
        return self.pm.hook

    @property
    def epoch(self) -> int:
        """The epoch being trained, counting from 1."""
        return self.books.epoch

    @property
    def first_epoch(self) -> int:
        """The first epoch this run trains: 1, or the next one when it was resumed."""
        return self.books.first_epoch

    @property
    def step(self) -> int:
        """Optimizer steps taken so far in the whole run."""
        return self.books.step

    @property
    def history(self) -> list[EpochResult]:
        """The result of every epoch trained so far."""
        return self.books.history

    @property
    def stopped(self) -> str | None:
        """Why training ends early (an observer called ``stop()``), or None."""
        return self.books.stopped

    def batches(self, split: str, batch_size: int | None = None,
                shuffle: bool = False) -> Iterable[Batch]:
        """One pass over the ``"train"`` or ``"valid"`` split, cut by the batches piece.

        ``batch_size`` defaults to ``config.bs`` for training and
        ``config.valid_bs`` for validation. A pass over the training split
        counts each batch as one optimizer step once the loop moves on.
        """
        x, y = self.data.split(split)
        if batch_size is None:
            batch_size = self.config.bs if split == "train" else self.config.valid_bs
        batches = self.cut(x, y, batch_size, shuffle, self.generator)
        if split != "train":
            return batches
        loop = self.pieces["loop"].who
        if self.books.train_passes:
            raise PluginError(
                f"{loop}: the loop began a second pass over the training split in epoch "
                f"{self.epoch}; the runner calls it once per epoch, so drop its own "
                "`for epoch in ...`")
        if launch.processes() > 1 and not launch.joined():
            raise MnistlabError(
                f"stage {self.config.stage}: torchrun started {launch.processes()} processes, "
                f"but its loop ({loop}) trains without joining them, so each would train the "
                "whole run alone; run it without torchrun, or use a stage whose loop joins "
                "them (`mnistlab stages`)")
        self.books.train_passes += 1
        return self.books.steps(batches)

    def report_loss(self, loss: torch.Tensor) -> None:
        """Record ``loss`` as this step's training loss, in place of the loss piece's last value.

        For a loop that computes a batch's loss in parts, as one process of
        several computes its share: it reports the whole batch's loss here.
        """
        self.loss_func.last = loss

    def stop(self, reason: str) -> None:
        """Ask to end training early (for observers such as early stopping).

        Training stops once every observer of the current step or epoch has
        run, so none of them misses the last one. The epochs done so far are
        kept; the validation set is still scored and ``after_run`` called.
        """
        self.books.stopped = reason
