"""The assembled run that the loop and the observers see."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import pluggy
import torch

from mnistlab.config import RunConfig
from mnistlab.errors import MnistlabError, StopTraining, missing_piece
from mnistlab.stages import hyper_of
from mnistlab.types import EpochResult, Tensors

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
    history: list[EpochResult] = field(default_factory=list)
    # Why training ended early (an observer called stop()), or None.
    stopped: str | None = None
    # (name, origin, hooks) of every registered plugin, for the record.
    plugins: list[tuple[str, str, list[str]]] = field(default_factory=list)
    _batch_observed: bool = field(default=False, repr=False)
    _epoch_first_step: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        # Skip the per-batch hook call entirely when nobody listens.
        self._batch_observed = bool(self.hook.after_batch.get_hookimpls())

    def epochs(self) -> Iterator[int]:
        """Yield the epoch numbers to run (from 1), telling observers as each starts."""
        for epoch in range(self.first_epoch, self.config.epochs + 1):
            self.epoch_started = time.perf_counter()
            self._epoch_first_step = self.step
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
        """Count an optimizer step and tell the observers, if any, its loss.

        A loss that is NaN or infinite stops the run: nothing after it can be
        trusted, and the last complete epoch's checkpoint stays as it was.
        """
        self.step += 1
        if not math.isfinite(loss):
            raise self.diverged(epoch, loss)
        if self._batch_observed:
            self.hook.after_batch(session=self, epoch=epoch, step=self.step, loss=loss)
            if self.stopped:
                raise StopTraining(self.stopped)

    def stop(self, reason: str) -> None:
        """Ask to end training early (for observers such as early stopping).

        Training stops once every observer of the current step or epoch has
        run, so none of them misses the last one. The epochs done so far are
        kept; the validation set is still scored and ``after_run`` called.
        """
        self.stopped = reason

    def diverged(self, epoch: int, loss: float) -> MnistlabError:
        """The error for a training loss that became NaN or infinite."""
        batch = self.step - self._epoch_first_step
        lr, usual = self.config.lr, hyper_of(self.config.stage)["lr"]
        advice = f"try --lr {lr / 10:g}" if lr <= usual else f"the tutorial uses --lr {usual:g}"
        kept = (f"; {self.config.out} keeps epoch {self.history[-1].epoch}"
                if self.config.out and self.history else "")
        return MnistlabError(
            f"the training loss became {loss} in epoch {epoch}, batch {batch}: learning rate "
            f"{lr:g} is too large for this stage; {advice}{kept}"
        )

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run exactly: a checkpoint.

        Besides the weights and the optimizer (its momentum buffers), the
        random states matter: the shuffling generator decides the next
        epoch's batch order.
        """
        return {
            "epoch": self.history[-1].epoch if self.history else 0,
            "step": self.step,
            "model": weights_of(self.model),
            "opt": self.opt.state_dict() if hasattr(self.opt, "state_dict") else {},
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": [asdict(epoch) for epoch in self.history],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint made by ``state_dict()``."""
        load_weights(self.model, state["model"])
        if hasattr(self.opt, "load_state_dict"):
            self.opt.load_state_dict(state["opt"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.step = state["step"]
        self.history = [EpochResult(**epoch) for epoch in state["history"]]
        self.first_epoch = state["epoch"] + 1


def weights_of(model: Any) -> Any:
    """The model's ``state_dict``, or its parameters for a model that is not an ``nn.Module``."""
    if hasattr(model, "state_dict"):
        return model.state_dict()
    return [p.detach().clone() for p in model.parameters()]


def load_weights(model: Any, weights: Any) -> None:
    """Put ``weights`` from ``weights_of()`` back into ``model``."""
    if hasattr(model, "load_state_dict"):
        model.load_state_dict(weights)
        return
    with torch.no_grad():
        for p, saved in zip(model.parameters(), weights, strict=True):
            p.copy_(saved)
