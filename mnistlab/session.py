"""The loop's view of a run: what a loop plugin and the observers are given as ``session``.

A loop reads ``model``, ``loss_func`` and ``opt`` here and asks ``batches()``
for each pass over a split; observers read the config, the data, the
history and may call ``stop()``. The run's books (:mod:`mnistlab.books`)
count the steps behind this view, so a loop holds the lesson and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from mnistlab.books import Batch, Books, TrainingLoss
from mnistlab.config import RunConfig
from mnistlab.errors import PluginError
from mnistlab.types import EpochResult, Filled, Tensors


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
    books: Books = field(repr=False)
    # What the last pass over each split's inputs was handed, to see an iterator handed twice.
    last_pass: dict[int, Iterable[Batch]] = field(default_factory=dict, repr=False)

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
        if isinstance(batches, Iterator):  # a DataLoader or a list walks afresh
            if self.last_pass.get(id(x)) is batches:
                raise PluginError(f"{self.pieces['batches'].who} handed out the same iterator "
                                  "as for the last pass over these examples, used up by then; "
                                  "return a new one (a generator expression, a DataLoader) "
                                  "on every call")
            self.last_pass[id(x)] = batches
        if split != "train":
            return batches
        loop = self.pieces["loop"].who
        if self.books.train_passes:
            raise PluginError(
                f"{loop}: the loop began a second pass over the training split in epoch "
                f"{self.epoch}; the runner calls it once per epoch, so drop its own "
                "`for epoch in ...`")
        self.books.train_passes += 1
        return self.books.steps(batches)

    def cut(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool,
            generator: torch.Generator) -> Iterable[Batch]:
        """Ask the batches piece (pluggy's first answer) for one pass over ``x`` and ``y``."""
        batches = self.hook.make_batches(config=self.config, x=x, y=y, batch_size=batch_size,
                                         shuffle=shuffle, generator=generator,
                                         device=self.device)
        if batches is None:
            raise PluginError("no plugin provides the batches (make_batches) for this pass; "
                              "return them for every call, not only the first")
        return batches

    def report_loss(self, loss: torch.Tensor) -> None:
        """Record ``loss`` as this step's training loss, in place of the loss piece's last value.

        For a loop that computes a batch's loss in parts, as one process of
        several computes its share: it reports the whole batch's loss here.
        """
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:  # checked once, here
            raise PluginError(f"{self.books.loop}: session.report_loss got {loss!r}; give it "
                              "the batch's loss, a tensor of one number")
        self.loss_func.last = loss

    def stop(self, reason: str) -> None:
        """Ask to end training early (for observers such as early stopping).

        Training stops once every observer of the current step or epoch has
        run, so none of them misses the last one. The epochs done so far are
        kept; the validation set is still scored and ``after_run`` called.
        """
        self.books.stopped = reason
