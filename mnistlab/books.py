"""The run's books: steps, each epoch's training loss, and the checks that keep them honest.

No loop reports a step: as the loop walks the training batches, the books
count each optimizer step, record its loss (the last one the loss piece
computed with gradients), check it for divergence and tell the
``after_batch`` observers. At the end of an epoch they see that training
moved the weights and turn what the loop measured into an ``EpochResult``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import torch

from mnistlab.errors import Diverged, PluginError, StopTraining
from mnistlab.types import MEASURED, EpochResult
from mnistlab.words import plural

Batch = tuple[torch.Tensor, torch.Tensor]


class TrainingLoss:
    """The loss piece as the loop calls it: it remembers the last loss computed with gradients.

    That is how the books learn each training step's loss without the loop
    reporting it. Losses computed under ``torch.no_grad()``, as validation
    is, are not training steps and are not remembered.
    """

    def __init__(self, loss: Callable[..., torch.Tensor]) -> None:
        self.loss = loss
        self.last: torch.Tensor | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        value = self.loss(*args, **kwargs)
        if torch.is_grad_enabled():
            self.last = value
        return value

    def __repr__(self) -> str:
        return repr(self.loss)


class Books:
    """Counts and checks the steps of a run; ``loop`` names the loop piece in messages."""

    def __init__(self, loss: TrainingLoss, loop: str, update: str, opt: Any = None) -> None:
        self.loss, self.loop, self.update = loss, loop, update
        self._opt_steps = 0  # the optimizer's steps during the current batch
        # The weights' version counters after the last step: a weight changed in place before
        # the next step (or the epoch's end) was changed by hand. None: no step yet this epoch.
        self._versions: list[int] | None = None
        self._weights: list[torch.Tensor] = []
        if isinstance(opt, torch.optim.Optimizer):  # a hand-written update has no steps to count
            self._weights = [p for group in opt.param_groups for p in group["params"]]
            opt.register_step_pre_hook(self._stepping)
            opt.register_step_post_hook(self._stepped)
        self.epoch = 0  # the epoch being trained, from 1
        self.first_epoch = 1  # the first epoch this run trains (later when resumed)
        self.step = 0  # optimizer steps taken in the whole run
        self.history: list[EpochResult] = []
        self.stopped: str | None = None  # why training ends early, once an observer says so
        # Called after every step with (epoch, step, loss); None when nobody listens.
        self.after_batch: Callable[[int, int, float], None] | None = None
        self.train_passes = 0
        self._steps = self._examples = 0
        self._loss_sum = 0.0
        self._started = 0.0
        self._weights_before: list[torch.Tensor] | None = None

    def open_epoch(self, epoch: int, model: Any) -> None:
        """Start the books of ``epoch``; the first one remembers the weights it found."""
        self.epoch, self.train_passes = epoch, 0
        self._steps = self._examples = 0
        self._loss_sum = 0.0
        self._versions = None  # between epochs, observers and the runner may load weights
        if epoch == self.first_epoch:
            self._weights_before = [p.detach().clone() for p in model.parameters()]
        self._started = time.perf_counter()

    def steps(self, batches: Iterable[Batch]) -> Iterator[Batch]:
        """Hand out the training batches, closing the books on each as the loop moves on."""
        for xb, yb in batches:
            self.loss.last, self._opt_steps = None, 0
            yield xb, yb
            self._count(self.loss.last, len(yb))

    def _stepping(self, *_: Any) -> None:
        self._check_untouched(f"before training batch {self._steps + 1}")

    def _stepped(self, *_: Any) -> None:
        self._opt_steps += 1
        self._versions = [weight._version for weight in self._weights]

    def _check_untouched(self, where: str) -> None:
        """Refuse weights changed in place since the last step: by the loop, not the update.
        (A change through ``.data`` bypasses the version counters and goes unseen.)"""
        if self._versions is not None and self._versions != [
                weight._version for weight in self._weights]:
            raise PluginError(
                f"{self.loop}: the loop changed the model's weights by hand in epoch "
                f"{self.epoch}, {where}; only the update ({self.update} filled it) may change "
                "them: move that change into an update plugin (make_update)")

    def _count(self, loss: torch.Tensor | None, examples: int) -> None:
        if loss is None:
            raise PluginError(
                f"{self.loop}: the loop took training batch {self._steps + 1} of epoch "
                f"{self.epoch} without computing its loss with session.loss_func; use it, so "
                "the run can count and record the step")
        if self._opt_steps > 1:  # each batch's gradient applied twice: not the run it reports
            raise PluginError(
                f"{self.loop}: the loop called opt.step() {self._opt_steps} times for training "
                f"batch {self._steps + 1} of epoch {self.epoch}; call it once per batch")
        value = loss.item()
        self.step += 1
        self._steps += 1
        self._loss_sum += value * examples
        self._examples += examples
        if not math.isfinite(value):
            raise Diverged(value, self.epoch, self._steps)
        if self.after_batch is not None:
            self.after_batch(self.epoch, self.step, value)
            if self.stopped:
                raise StopTraining(self.stopped)

    def close_epoch(self, model: Any, measured: Any) -> EpochResult:
        """The epoch's result from its steps and what the loop ``measured``; kept in history."""
        seconds = time.perf_counter() - self._started
        self._check_untouched("after its last training batch")
        if self._steps == 0:  # assembly refused an empty training split
            raise PluginError(f"{self.loop}: the loop took no training batch in epoch "
                              f"{self.epoch}; iterate session.batches('train') and compute each "
                              "batch's loss with session.loss_func")
        if self._weights_before is not None:
            before, self._weights_before = self._weights_before, None
            if all(map(torch.equal, before, model.parameters())):
                raise PluginError(
                    f"{self.loop}: no weight changed in epoch {self.epoch}, over "
                    f"{plural(self._steps, 'training batch', 'training batches')}; call "
                    "opt.step() after loss.backward(), and check that the update moves the "
                    f"model's weights ({self.update} filled it)")
        result = EpochResult(self.epoch, train_loss=self._loss_sum / self._examples,
                             seconds=seconds, **self._numbers(measured))
        self.history.append(result)
        return result

    def _numbers(self, measured: Any) -> dict[str, float]:
        """What the loop returned, as numbers by name; anything else names the loop."""
        measured = {} if measured is None else measured
        unknown = set(measured) - set(MEASURED) if isinstance(measured, Mapping) else None
        if unknown is None or unknown:
            what = (type(measured).__name__ if unknown is None
                    else ", ".join(map(repr, sorted(unknown))))
            raise PluginError(f"{self.loop}: the loop returned {what}; return None or a dict "
                              f"with any of {', '.join(MEASURED)}")
        numbers = {}
        for key, value in measured.items():
            try:
                numbers[key] = float(value)
            except (TypeError, ValueError, RuntimeError):  # a string, a list, a tensor of many
                raise PluginError(f"{self.loop}: the loop returned {key}={value!r}; return "
                                  "each measurement as one number") from None
        return numbers
