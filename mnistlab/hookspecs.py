"""Every hook a plugin can implement, in one file.

A stage is built from **pieces**. Each piece is one ``make_*`` hook marked
``firstresult``: the kernel asks the plugins in turn, last registered first,
and the first one that returns something other than ``None`` fills the
piece. That is how a user plugin overrides a built-in one: it is registered
later, so it is asked first. What a piece returns is checked where it enters
the run, and a failure names the plugin that filled it.

**Observers** (``before_*`` / ``after_*``) are called on every plugin that
implements them and their results are ignored: progress bars, reports and
early stopping are observers, and a plugin may add as many as it likes.

The run owns the protocol: it builds the pieces in one direction, then counts
the epochs itself and calls the loop once per epoch, keeping the run folder
(when there is one) after every epoch's observers:

```
plugin_options -> make_data -> make_device -> make_model -> make_loss
  -> make_update -> make_batches (one pass, for the checks) -> make_loop -> before_run
  -> for each epoch: before_epoch, loop(session) (which asks make_batches
     and, after every optimizer step, has the run call after_batch),
     after_epoch
  -> after_run
```

An implementation may accept any subset of a hook's arguments, by name. The
run always passes every argument, so a default value in an implementation
is never used: give none.

A plugin module may also declare what it is, with a module attribute set to
``True``: ``PRINTS_ONLY`` (it only shows the run, so ``--quiet`` leaves it
out, as do all but the first of N processes) and ``JOINS_PROCESSES`` (its
loop joins the processes that ``torchrun`` starts, so ``--nproc`` may launch
its stage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import torch

    from mnistlab.config import RunConfig
    from mnistlab.session import Session
    from mnistlab.types import EpochResult, Option, RunResult, Tensors

hookspec = pluggy.HookspecMarker("mnistlab")
hookimpl = pluggy.HookimplMarker("mnistlab")

Batch = tuple["torch.Tensor", "torch.Tensor"]


# --- settings: every answer is collected -------------------------------------


@hookspec
def plugin_options() -> list[Option]:
    """Declare the settings this plugin takes.

    Called once, before any piece is built. Each [`Option`][mnistlab.types.Option]
    has a name, a default and a line of help; the user sets it with
    ``--set NAME=VALUE`` or ``mnistlab.run(..., options={NAME: VALUE})``, and
    every hook reads the value from ``config.options[NAME]``. The values are
    checked, recorded in the run folder's ``config.json`` and used again on
    resume.

    Returns:
        A list of ``Option``. All results are collected; two plugins may not
        declare the same name.
    """


# --- pieces: exactly one answer each; the first non-None result wins ---------


@hookspec(firstresult=True)
def make_data(config: RunConfig) -> Tensors | None:
    """Load the dataset as tensors.

    Called once, first of all.

    Args:
        config: the run's settings; ``config.data`` and ``config.data_dir``
            say which dataset to load and where the cache is.

    Returns:
        A [`Tensors`][mnistlab.types.Tensors] with the train and valid splits:
        float inputs of one shape in both splits, and one int64 class per
        input. Stops at the first non-None result.
    """


@hookspec(firstresult=True)
def make_device(config: RunConfig) -> torch.device | None:
    """Choose the device that the model and the batches live on.

    Called once, after ``make_data``. The ``--device`` option, when given,
    takes the place of this piece.

    Args:
        config: the run's settings.

    Returns:
        A ``torch.device``. Stops at the first non-None result.
    """


@hookspec(firstresult=True)
def make_model(config: RunConfig) -> Callable[..., torch.Tensor] | None:
    """Build the model.

    Called once, after ``make_device`` and right after the runner seeds
    torch's global random generator with ``config.seed``, so two stages that
    build the same layers in the same order start from the same weights. The
    runner moves the result to the device when it has a ``.to()`` method.

    Args:
        config: the run's settings.

    Returns:
        An instance (not a class) that maps a batch of inputs to a
        ``(batch, number of classes)`` tensor of scores, with a
        ``parameters()`` method: an ``nn.Module`` is one. The scores must
        depend on weights that require grad, or training has nothing to
        change. Stops at the first non-None result.
    """


@hookspec(firstresult=True)
def make_loss(config: RunConfig) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None:
    """Choose the loss function.

    Called once, after ``make_model``.

    Args:
        config: the run's settings.

    Returns:
        A function or module instance ``loss(scores, targets)`` returning a
        scalar tensor computed from the scores, so that gradients reach the
        model (no ``.item()`` or ``.detach()`` on the way). Before training,
        the runner checks it once on the model's scores for one validation
        batch, with gradients on but no backward pass. Stops at the first
        non-None result.
    """


@hookspec(firstresult=True)
def make_update(config: RunConfig, model: Any) -> Any | None:
    """Build what updates the weights after each backward pass.

    Called once, after ``make_loss``, with the model already on its device.

    Args:
        config: the run's settings (``lr``, ``momentum``).
        model: the model from ``make_model``.

    Returns:
        An instance with ``step()`` and ``zero_grad()`` methods, as every
        ``torch.optim`` optimizer has. An optimizer must hold the model's own
        parameters (all of them, or the part to train), not a copy's. Stops
        at the first non-None result.
    """


@hookspec(firstresult=True)
def make_batches(
    config: RunConfig,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    shuffle: bool,
    generator: torch.Generator,
    device: torch.device,
) -> Iterable[Batch] | None:
    """Cut one split into mini-batches for one pass over it.

    Called by the loop through ``session.batches(...)``, once per pass (each
    epoch asks again, so a plugin may return a one-shot generator). Before
    training, the runner also takes one validation batch from it to check
    that the pieces fit together.

    Args:
        config: the run's settings.
        x: the split's inputs, one row per example.
        y: the split's targets.
        batch_size: examples per batch (the last batch may be smaller).
        shuffle: whether the loop wants a new random order for this pass.
        generator: the run's seeded generator for shuffling, so that the
            order does not depend on how many random numbers the model used.
        device: where the batches must be when they are yielded.

    Returns:
        An iterable of ``(inputs, targets)`` pairs of the same length, on
        ``device``, shaped as this stage's model takes them: a new one for
        every call, since each is walked once. Stops at the first non-None
        result.
    """


@hookspec(firstresult=True)
def make_loop(config: RunConfig) -> Callable[[Session], dict[str, float] | None] | None:
    """Choose the function that trains one epoch.

    Called once, after ``make_update``. The runner counts the epochs and
    calls the returned function once per epoch, so it holds no
    ``for epoch in ...`` of its own. Inside, it takes the training batches
    from ``session.batches("train")`` and computes each batch's loss with
    ``session.loss_func``: the runner counts the optimizer steps, records the
    losses, calls ``after_batch`` and checks for divergence as the loop
    moves from one batch to the next. It may take at most one pass over the
    training split, call ``session.opt.step()`` at most once per batch, and
    leave the weights to the update: a change by hand is refused.

    Args:
        config: the run's settings.

    Returns:
        A function ``loop(session)`` that trains one epoch and returns what
        it measured besides the training loss (which the runner keeps): a
        dict with any of ``valid_loss``, ``valid_acc``, ``last_batch_loss``
        and ``last_batch_acc``, or ``None``. Stops at the first non-None
        result.
    """


# --- observers: every implementation is called; results are ignored ---------


@hookspec
def before_run(session: Session) -> None:
    """Called once, after every piece is built and before the first epoch.

    Args:
        session: the assembled run.
    """


@hookspec
def before_epoch(session: Session, epoch: int) -> None:
    """Called at the start of every epoch.

    Args:
        session: the assembled run.
        epoch: the epoch about to run, counting from 1.
    """


@hookspec
def after_batch(session: Session, epoch: int, step: int, loss: float) -> None:
    """Called after every optimizer step, as the loop moves to the next batch.

    Only called when some plugin implements it, so it costs nothing otherwise.
    Call ``session.stop(reason)`` to end training after this step.

    Args:
        session: the assembled run.
        epoch: the current epoch, counting from 1.
        step: optimizer steps taken so far in the whole run.
        loss: the batch's training loss.
    """


@hookspec
def after_epoch(session: Session, result: EpochResult) -> None:
    """Called at the end of every epoch with its measured result.

    Call ``session.stop(reason)`` to end training after this epoch (early
    stopping does).

    Args:
        session: the assembled run.
        result: the epoch's losses, accuracy and seconds.
    """


@hookspec
def after_run(session: Session, result: RunResult) -> None:
    """Called once, after training and the final validation.

    Args:
        session: the assembled run.
        result: the run's history, final scores and trained model.
    """
