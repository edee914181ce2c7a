"""The assembled run that the loop and the observers see.

The session also keeps the run's books, so that no loop has to: as the loop
walks the training batches, the session counts each optimizer step, records
its loss, checks it for divergence and tells the ``after_batch`` observers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from mnistlab import launch
from mnistlab.config import RunConfig
from mnistlab.errors import MnistlabError, PluginError, StopTraining
from mnistlab.pieces import Filled, fill
from mnistlab.plugin_manager import PluginManager
from mnistlab.stages import hyper_of
from mnistlab.types import MEASURED, EpochResult, Tensors

Batch = tuple[torch.Tensor, torch.Tensor]


class TrainingLoss:
    """The loss piece as the loop calls it: it remembers the last loss computed with gradients.

    That is how the session learns each training step's loss without the
    loop reporting it. Losses computed under ``torch.no_grad()``, as
    validation is, are not training steps and are not remembered.
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


@dataclass
class Session:
    """Everything built for one run, and the few helpers a training loop needs.

    A loop reads ``model``, ``loss_func`` and ``opt`` from here and asks
    ``batches()`` for each pass over a split. ``pieces`` says which plugin
    filled each piece. Observers may call ``stop()``.
    """

    config: RunConfig
    data: Tensors
    device: torch.device
    model: Any
    loss_func: TrainingLoss
    opt: Any
    pieces: dict[str, Filled]
    pm: PluginManager = field(repr=False)
    generator: torch.Generator = field(repr=False)
    # The epoch being trained (from 1), and the first one this run trains.
    epoch: int = 0
    first_epoch: int = 1
    # Optimizer steps taken so far in the whole run.
    step: int = 0
    history: list[EpochResult] = field(default_factory=list)
    # Why training ended early (an observer called stop()), or None.
    stopped: str | None = None
    _epoch_started: float = field(default=0.0, repr=False)
    _epoch_steps: int = field(default=0, repr=False)
    _epoch_loss: float = field(default=0.0, repr=False)
    _epoch_examples: int = field(default=0, repr=False)
    _train_passes: int = field(default=0, repr=False)
    _batch_observed: bool = field(default=False, repr=False)
    # The weights as the run's first epoch found them, to see that training moves them.
    _weights_before: list[torch.Tensor] | None = field(default=None, repr=False)
    # What the last pass over each split's inputs was given, to see an iterator handed out twice.
    _last_pass: dict[int, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Skip the per-batch hook call entirely when nobody listens.
        self._batch_observed = bool(self.hook.after_batch.get_hookimpls())

    @property
    def hook(self) -> Any:
        """The plugin manager's hook relay: ``session.hook.after_epoch(...)``."""
        return self.pm.hook

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
        batches = self.make_batches(x, y, batch_size, shuffle, self.generator)
        if split != "train":
            return batches
        if self._train_passes:
            loop = self.pieces["loop"]
            raise PluginError(
                f"{loop.who}: the loop began a second pass over the training split in epoch "
                f"{self.epoch}; the runner calls it once per epoch, so drop its own "
                "`for epoch in ...`")
        if launch.processes() > 1 and not launch.joined():
            raise MnistlabError(
                f"stage {self.config.stage}: torchrun started {launch.processes()} processes, "
                f"but its loop ({self.pieces['loop'].who}) trains without joining them, so each "
                "would train the whole run alone; run it without torchrun, or use --stage "
                "distributed, whose loop shares every batch among the processes")
        self._train_passes += 1
        return self._steps(batches)

    def make_batches(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool,
                     generator: torch.Generator) -> Iterable[Batch]:
        """Ask the batches piece for one pass over ``x`` and ``y``."""
        filled = fill(self.pm, "batches", config=self.config, x=x, y=y, batch_size=batch_size,
                      shuffle=shuffle, generator=generator, device=self.device)
        self.remember_pass(x, filled)
        return filled.value

    def remember_pass(self, x: torch.Tensor, batches: Filled) -> None:
        """Note what a pass over ``x`` was given; an iterator given again is used up."""
        if not isinstance(batches.value, Iterator):  # a DataLoader or a list walks afresh
            return
        if self._last_pass.get(id(x)) is batches.value:
            raise PluginError(f"{batches.who} handed out the same iterator as for the last pass "
                              "over these examples, used up by then; return a new one (a "
                              "generator expression, a DataLoader) on every call")
        self._last_pass[id(x)] = batches.value

    def _steps(self, batches: Iterable[Batch]) -> Iterator[Batch]:
        """Hand out the training batches, closing the books on each as the loop moves on."""
        training_loss = self.loss_func
        for xb, yb in batches:
            training_loss.last = None
            yield xb, yb
            self._count_step(training_loss.last, len(yb))

    def report_loss(self, loss: torch.Tensor) -> None:
        """Record ``loss`` as this step's training loss, in place of the loss piece's last value.

        For a loop that computes a batch's loss in parts, as one process of
        several computes its share: it reports the whole batch's loss here.
        """
        self.loss_func.last = loss

    def _count_step(self, loss: torch.Tensor | None, examples: int) -> None:
        """Record one optimizer step; a NaN or infinite loss ends the run."""
        if loss is None:
            raise PluginError(
                f"{self.pieces['loop'].who}: the loop took training batch "
                f"{self._epoch_steps + 1} of epoch {self.epoch} without computing its loss "
                "with session.loss_func; use it, so the run can count and record the step")
        value = loss.item()
        self.step += 1
        self._epoch_steps += 1
        self._epoch_loss += value * examples
        self._epoch_examples += examples
        if not math.isfinite(value):
            raise self.diverged(value)
        if self._batch_observed:
            self.hook.after_batch(session=self, epoch=self.epoch, step=self.step, loss=value)
            if self.stopped:
                raise StopTraining(self.stopped)

    def start_epoch(self, epoch: int) -> None:
        """Open the books for ``epoch``."""
        self.epoch = epoch
        self._epoch_steps = self._epoch_examples = self._train_passes = 0
        self._epoch_loss = 0.0
        if epoch == self.first_epoch:
            self._weights_before = [p.detach().clone() for p in self.model.parameters()]
        self._epoch_started = time.perf_counter()

    def finish_epoch(self, measured: Any) -> EpochResult:
        """Close the books: the epoch's result from its steps and what the loop ``measured``."""
        seconds = time.perf_counter() - self._epoch_started
        loop = self.pieces["loop"]
        if self._epoch_steps == 0:  # assembly refused an empty training split
            raise PluginError(f"{loop.who}: the loop took no training batch in epoch "
                              f"{self.epoch}; iterate session.batches('train') and compute each "
                              "batch's loss with session.loss_func")
        if self._weights_before is not None:
            before, self._weights_before = self._weights_before, None
            if all(map(torch.equal, before, self.model.parameters())):
                raise PluginError(
                    f"{loop.who}: no weight changed in epoch {self.epoch}, over "
                    f"{self._epoch_steps} training batches; call opt.step() after "
                    "loss.backward(), and check that the update moves the model's weights "
                    f"({self.pieces['update'].who} filled it)")
        measured = {} if measured is None else measured
        unknown = set(measured) - set(MEASURED) if isinstance(measured, Mapping) else None
        if unknown is None or unknown:
            what = (type(measured).__name__ if unknown is None
                    else ", ".join(map(repr, sorted(unknown))))
            raise PluginError(f"{loop.who}: the loop returned {what}; return None or a dict "
                              f"with any of {', '.join(MEASURED)}")
        numbers = {}
        for key, value in measured.items():
            try:
                numbers[key] = float(value)
            except (TypeError, ValueError, RuntimeError):  # a string, a list, a tensor of many
                raise PluginError(f"{loop.who}: the loop returned {key}={value!r}; return "
                                  "each measurement as one number") from None
        train_loss = self._epoch_loss / self._epoch_examples if self._epoch_examples else math.nan
        return EpochResult(self.epoch, train_loss=train_loss, seconds=seconds, **numbers)

    def stop(self, reason: str) -> None:
        """Ask to end training early (for observers such as early stopping).

        Training stops once every observer of the current step or epoch has
        run, so none of them misses the last one. The epochs done so far are
        kept; the validation set is still scored and ``after_run`` called.
        """
        self.stopped = reason

    def diverged(self, loss: float) -> MnistlabError:
        """The error for a training loss that became NaN or infinite."""
        lr, usual = self.config.lr, hyper_of(self.config.stage)["lr"]
        advice = f"try --lr {lr / 10:g}" if lr <= usual else f"the tutorial uses --lr {usual:g}"
        kept = (f"; {self.config.out} keeps epoch {self.history[-1].epoch}"
                if self.config.out and self.history else "")
        return MnistlabError(
            f"the training loss became {loss} in epoch {self.epoch}, batch {self._epoch_steps}: "
            f"learning rate {lr:g} is too large for this stage; {advice}{kept}"
        )

    def _stateful_observers(self) -> Iterator[tuple[str, Any]]:
        for name, plugin in self.pm.list_name_plugin():
            if callable(getattr(plugin, "state_dict", None)) and callable(
                    getattr(plugin, "load_state_dict", None)):
                yield name, plugin

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run exactly: a checkpoint.

        Besides the weights and the optimizer (its momentum buffers), the
        random states matter: the shuffling generator decides the next
        epoch's batch order. Observers that keep state (early stopping's
        best loss) save it through their own ``state_dict()``.
        """
        return {
            "epoch": self.history[-1].epoch if self.history else 0,
            "step": self.step,
            "model": weights_of(self.model),
            "opt": self.opt.state_dict() if hasattr(self.opt, "state_dict") else {},
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": [asdict(epoch) for epoch in self.history],
            "observers": {name: plugin.state_dict() for name, plugin in self._stateful_observers()},
            "stopped": self.stopped,
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
        self.stopped = state.get("stopped")
        saved = state.get("observers", {})
        for name, plugin in self._stateful_observers():
            if name in saved:
                plugin.load_state_dict(saved[name])


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
