"""The observer a check registers in both runs: it records what the judge compares.

In ``before_run`` it keeps the model's own initial weights, then copies the
reference's into the model when their shapes match (so that the check judges
the computation, not how random numbers were spent), and watches every
parameter's gradient. After every training step it keeps the loss, the
batch's targets, the weights and whether the model was in training mode; it
stops the run once enough batches are compared, or at the first loss that
parts from the reference's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from mnistlab.hookspecs import hookimpl
from mnistlab.types import MEASURED


@dataclass
class Record:
    """What one run did, step by step (step ``i`` is training batch ``i + 1``)."""

    names: list[str] = field(default_factory=list)
    initial: list[torch.Tensor] = field(default_factory=list)  # the model's own, before copying
    copied: bool = False
    losses: list[float] = field(default_factory=list)
    targets: list[torch.Tensor] = field(default_factory=list)
    weights: list[list[torch.Tensor]] = field(default_factory=list)  # after each step
    where: list[tuple[int, int]] = field(default_factory=list)  # (epoch, batch of the epoch)
    eval_mode: list[int] = field(default_factory=list)  # steps trained in eval mode
    accumulated: list[int] = field(default_factory=list)  # steps whose backward found old grads
    measured: list[dict[str, float]] = field(default_factory=list)  # each epoch's
    y_train: torch.Tensor | None = None
    opt: Any = None
    loss: Any = None  # the loss piece's function
    lr: float = 0.0
    momentum: float = 0.0
    parted: int | None = None  # the first step whose loss parts from the reference's


def close(mine: float, theirs: float, rtol: float) -> bool:
    """Whether two losses agree: equal when ``rtol`` is 0, else within ``rtol`` of ``theirs``."""
    if not (math.isfinite(mine) and math.isfinite(theirs)):
        return False
    return mine == theirs if rtol == 0 else abs(mine - theirs) <= rtol * abs(theirs)


class Probe:
    """Records a run into ``record``; stops after ``epochs`` epochs and ``batches`` more.

    With ``reference`` (the reference run's record), it starts the model from
    the reference's initial weights and stops at the first loss that parts.
    """

    def __init__(self, epochs: int, batches: int, reference: Record | None = None,
                 rtol: float = 0.0) -> None:
        self.epochs, self.batches, self.reference, self.rtol = epochs, batches, reference, rtol
        self.record = Record()
        self._epoch_start = 0

    @hookimpl
    def before_run(self, session: Any) -> None:
        record, model = self.record, session.model
        named = (list(model.named_parameters()) if hasattr(model, "named_parameters")
                 else [(_attribute(model, p, i), p) for i, p in enumerate(model.parameters())])
        record.names = [name for name, _ in named]
        params = [p for _, p in named]
        record.initial = [p.detach().clone() for p in params]
        record.y_train = session.data.y_train
        record.opt, record.loss = session.opt, session.loss_func.loss
        record.lr, record.momentum = session.config.lr, session.config.momentum
        theirs = self.reference.initial if self.reference else None
        if theirs is not None and [p.shape for p in params] == [p.shape for p in theirs]:
            with torch.no_grad():
                for mine, initial in zip(params, theirs, strict=False):
                    mine.copy_(initial.to(mine.device))
            record.copied = True
        for p in params:
            if p.requires_grad:
                p.register_hook(self._watch(p))
        piece = session.loss_func.loss

        def recording(scores: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
            if torch.is_grad_enabled():  # a training batch: validation runs without gradients
                record.targets.append(target.detach().cpu().clone())
            return piece(scores, target, *args, **kwargs)

        session.loss_func.loss = recording

    def _watch(self, p: torch.Tensor) -> Any:
        def hook(grad: torch.Tensor) -> None:
            step = len(self.record.losses) + 1
            if (p.grad is not None and bool(p.grad.any())
                    and step not in self.record.accumulated):
                self.record.accumulated.append(step)
        return hook

    @hookimpl
    def before_epoch(self, session: Any, epoch: int) -> None:
        self._epoch_start = len(self.record.losses)

    @hookimpl
    def after_batch(self, session: Any, epoch: int, step: int, loss: float) -> None:
        record = self.record
        record.losses.append(loss)
        batch = len(record.losses) - self._epoch_start
        record.where.append((epoch, batch))
        record.weights.append([p.detach().cpu().clone() for p in session.model.parameters()])
        if getattr(session.model, "training", True) is False:
            record.eval_mode.append(len(record.losses))
        reference = self.reference
        if reference is not None and record.parted is None:
            i = len(record.losses) - 1
            if i >= len(reference.losses) or not close(loss, reference.losses[i], self.rtol):
                record.parted = i + 1
                session.stop("the losses part")
                return
        if epoch > self.epochs and batch >= self.batches:
            session.stop("enough batches compared")

    @hookimpl
    def after_epoch(self, session: Any, result: Any) -> None:
        self.record.measured.append({key: getattr(result, key) for key in MEASURED
                                     if getattr(result, key) is not None})


def _attribute(model: Any, parameter: torch.Tensor, i: int) -> str:
    """The name of the attribute that holds ``parameter`` in a model that is no ``nn.Module``."""
    found = [name for name, value in vars(model).items() if value is parameter]
    return found[0] if found else f"parameter {i}"
