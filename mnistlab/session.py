"""The assembled run that the loop and the observers see."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pluggy
import torch

from mnistlab.config import RunConfig
from mnistlab.errors import missing_piece
from mnistlab.types import Tensors

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class Session:
    """Everything built for one run, and the few helpers a training loop needs.

    A loop plugin reads ``model``, ``loss_func`` and ``opt`` from here, asks
    ``batches()`` for each pass over a split, walks ``epochs()`` and reports
    each optimizer step with ``after_batch()``.
    """

    config: RunConfig
    data: Tensors
    device: torch.device
    model: Any
    loss_func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    opt: Any
    hook: pluggy.HookRelay = field(repr=False)
    generator: torch.Generator = field(repr=False)
    first_epoch: int = 1
    step: int = 0
    epoch_started: float = 0.0
    _batch_observed: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        # Skip the per-batch hook call entirely when nobody listens.
        self._batch_observed = bool(self.hook.after_batch.get_hookimpls())

    def epochs(self) -> Iterator[int]:
        """Yield the epoch numbers to run (from 1), telling observers as each starts."""
        for epoch in range(self.first_epoch, self.config.epochs + 1):
            self.epoch_started = time.perf_counter()
            self.hook.before_epoch(session=self, epoch=epoch)
            yield epoch

    def batches(self, split: str, batch_size: int, shuffle: bool = False) -> Iterable[Batch]:
        """One pass over the ``"train"`` or ``"valid"`` split, cut by the batches piece."""
        x, y = self.data.split(split)
        batches = self.hook.make_batches(
            config=self.config, x=x, y=y, batch_size=batch_size, shuffle=shuffle,
            generator=self.generator, device=self.device,
        )
        if batches is None:
            raise missing_piece("batches", "make_batches")
        return batches

    def after_batch(self, epoch: int, loss: float) -> None:
        """Count an optimizer step and tell the observers, if any, its loss."""
        self.step += 1
        if self._batch_observed:
            self.hook.after_batch(session=self, epoch=epoch, step=self.step, loss=loss)
