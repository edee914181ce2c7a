"""The known mistakes: code that runs, and teaches the wrong lesson.

Each detector reads what the probe recorded in the learner's run (and the
reference's) and, when it recognises a mistake, names it with the fix. None
names a stage or a plugin: a detector that does not apply stays silent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from mnistlab.exercises.probe import Record, close


@dataclass(frozen=True)
class Mistake:
    """A known mistake: ``key`` for tests and tools, ``name`` and ``fix`` for the learner."""

    key: str
    name: str
    fix: str


KNOWN = {mistake.key: mistake for mistake in (
    Mistake("zero_grad", "gradients accumulate: zero_grad is forgotten",
            "PyTorch adds each backward() to the .grad already there; clear the gradients "
            "once per batch (opt.zero_grad(), or p.grad.zero_() for each parameter)"),
    Mistake("softmax", "softmax before cross_entropy",
            "F.cross_entropy takes raw scores and applies log_softmax itself; pass it the "
            "model's output as it is"),
    Mistake("sum", "a sum where the mean belongs",
            "the loss of a batch is the mean over its examples (reduction='mean', or .mean()), "
            "so that the learning rate does not depend on the batch size"),
    Mistake("eval_mode", "the model trains in eval mode: model.train() is missing",
            "call model.train() before the training batches of every epoch, and model.eval() "
            "only for validation; a BatchNorm or Dropout layer computes differently in each"),
    Mistake("no_grad", "the update is outside torch.no_grad()",
            "change the weights inside `with torch.no_grad():`, so that autograd does not "
            "record the update as part of the next loss"),
    Mistake("not_in_place", "the update does not change the weights in place",
            "`p = p - lr * p.grad` makes a new tensor and leaves the model's weight as it was; "
            "write `p -= lr * p.grad` (or p.sub_(...)) inside torch.no_grad()"),
    Mistake("init_scale", "the initial weights have the wrong scale",
            "draw them as the lesson does: torch.randn(784, 10) / math.sqrt(784) (Xavier), "
            "with the bias at zero; or let nn.Linear draw its own"),
    Mistake("lr", "a wrong learning rate",
            "use config.lr, the stage's learning rate, rather than a number of your own"),
    Mistake("momentum", "a wrong momentum",
            "use config.momentum, the stage's momentum (0 for the logistic stages)"),
    Mistake("reshape", "a missing flatten or reshape",
            "the convolutions take images shaped (batch, 1, 28, 28) and the loss takes scores "
            "shaped (batch, 10): view the inputs as images, and the pooled map as one row per "
            "image"),
    Mistake("shuffle", "shuffling where the stage does not shuffle",
            "shuffle only when the hook's `shuffle` argument asks for it"),
    Mistake("no_shuffle", "no shuffling where the stage shuffles",
            "pass the hook's `shuffle` and `generator` arguments on to the DataLoader (or "
            "draw the order with torch.randperm(n, generator=generator))"),
    Mistake("other_order", "a random order other than the run's",
            "draw the order from the `generator` the hook is given, so that the seed decides it"),
    Mistake("batch_size", "batches of the wrong size",
            "cut batches of `batch_size` rows, the last one shorter when the rows run out"),
)}

Detector = Callable[[Record, Record, Any], bool]
_DETECTORS: list[tuple[str, Detector]] = []


def detects(key: str) -> Callable[[Detector], Detector]:
    def register(function: Detector) -> Detector:
        _DETECTORS.append((key, function))
        return function
    return register


def diagnose(mine: Record, reference: Record, error: BaseException | None) -> list[Mistake]:
    """Every known mistake the learner's run shows, most telling first."""
    found = [KNOWN[key] for key, detector in _DETECTORS if detector(mine, reference, error)]
    return list(dict.fromkeys(found))


_MESSAGES = {
    "no_grad": "a leaf Variable that requires grad is being used in an in-place operation",
    "reshape": r"the model returns \(\d+(, \d+){2,}\)|shape '\[|channels, but got|"
               r"input to conv2d|mat1 and mat2 shapes|only batches of spatial targets",
}


@detects("no_grad")
def _no_grad(mine: Record, reference: Record, error: BaseException | None) -> bool:
    return error is not None and _said(error, _MESSAGES["no_grad"])


@detects("reshape")
def _reshape(mine: Record, reference: Record, error: BaseException | None) -> bool:
    return error is not None and _said(error, _MESSAGES["reshape"])


def _said(error: BaseException, pattern: str) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if re.search(pattern, str(seen)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@detects("zero_grad")
def _zero_grad(mine: Record, reference: Record, error: BaseException | None) -> bool:
    return bool(mine.accumulated) and not reference.accumulated


@detects("eval_mode")
def _eval_mode(mine: Record, reference: Record, error: BaseException | None) -> bool:
    return bool(mine.eval_mode) and not reference.eval_mode


@detects("init_scale")
def _init_scale(mine: Record, reference: Record, error: BaseException | None) -> bool:
    return bool(init_problems(mine, reference))


def init_problems(mine: Record, reference: Record) -> list[str]:
    """How the learner's own initial weights differ from the reference's, in statistics."""
    if [p.shape for p in mine.initial] != [p.shape for p in reference.initial]:
        return []
    problems = []
    for name, own, theirs in zip(mine.names, mine.initial, reference.initial, strict=False):
        own, theirs = own.float(), theirs.float()
        if float(theirs.std()) == 0 and float(theirs.abs().max()) == 0:
            if float(own.abs().max()) != 0:
                problems.append(f"{name} starts at std {float(own.std()):.4g}; the lesson "
                                "starts it at zero")
            continue
        ratio = float(own.std()) / float(theirs.std())
        if not 0.8 < ratio < 1.25:
            problems.append(f"{name} starts at std {float(own.std()):.4g}; the lesson's "
                            f"starts at {float(theirs.std()):.4g}")
    return problems


@detects("lr")
def _lr(mine: Record, reference: Record, error: BaseException | None) -> bool:
    group = _group(mine.opt)
    if group is not None:
        return "lr" in group and float(group["lr"]) != mine.lr
    ratio = _first_step_ratio(mine, reference)
    return ratio is not None and abs(ratio - 1) > 1e-3


@detects("momentum")
def _momentum(mine: Record, reference: Record, error: BaseException | None) -> bool:
    group = _group(mine.opt)
    return group is not None and float(group.get("momentum", 0.0)) != mine.momentum


def _group(opt: Any) -> dict[str, Any] | None:
    groups = getattr(opt, "param_groups", None)
    return groups[0] if isinstance(groups, list) and groups else None


def _first_step_ratio(mine: Record, reference: Record) -> float | None:
    """How many times as far as the reference's the learner's first step moved the weights,
    when it moved them in the same direction (the same gradient, another rate)."""
    if not (mine.copied and mine.weights and reference.weights and mine.targets
            and torch.equal(mine.targets[0], reference.targets[0])
            and close(mine.losses[0], reference.losses[0], 1e-5)):  # the same first gradient
        return None
    start = torch.cat([p.flatten().cpu() for p in reference.initial])
    moved = torch.cat([p.flatten() for p in mine.weights[0]]) - start
    theirs = torch.cat([p.flatten() for p in reference.weights[0]]) - start
    if float(theirs.norm()) == 0 or float(moved.norm()) == 0:
        return None
    ratio = float(moved @ theirs) / float(theirs @ theirs)
    off = float((moved - ratio * theirs).norm()) / float(theirs.norm() * max(ratio, 1e-12))
    return ratio if off < 1e-3 else None


@detects("not_in_place")
def _not_in_place(mine: Record, reference: Record, error: BaseException | None) -> bool:
    if not (mine.copied and mine.weights):
        return False
    start = [p.cpu() for p in reference.initial]
    return all(map(torch.equal, mine.weights[0], start))


@detects("softmax")
def _softmax(mine: Record, reference: Record, error: BaseException | None) -> bool:
    return _loss_is(mine, reference, lambda s, y: F.cross_entropy(F.softmax(s, -1), y))


@detects("sum")
def _sum(mine: Record, reference: Record, error: BaseException | None) -> bool:
    if _loss_is(mine, reference, lambda s, y: F.cross_entropy(s, y, reduction="sum")):
        return True
    if mine.parted != 1 or not mine.targets:
        return False
    return close(mine.losses[0], reference.losses[0] * len(mine.targets[0]), 1e-4)


def _loss_is(mine: Record, reference: Record, wrong: Callable[..., Any]) -> bool:
    """Whether the learner's loss function computes ``wrong`` where the reference's does not."""
    if mine.loss is None or mine.loss is reference.loss:
        return False
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(64, 10, generator=generator) * 3
    target = torch.randint(0, 10, (64,), generator=generator)
    try:
        with torch.no_grad():
            value = mine.loss(scores, target)
            return bool(torch.allclose(torch.as_tensor(value), wrong(scores, target),
                                       rtol=1e-4))
    except Exception:  # noqa: BLE001 - a loss that fails here is judged by the run itself
        return False


def _order(mine: Record, reference: Record) -> str | None:
    """What differs in the batches at the step where the losses part, if they differ."""
    step = mine.parted
    if step is None or step > min(len(mine.targets), len(reference.targets)):
        return None
    own, theirs = mine.targets[step - 1], reference.targets[step - 1]
    if len(own) != len(theirs):
        return "batch_size"
    if torch.equal(own, theirs):
        return None
    in_order = [_in_order(record, step) for record in (mine, reference)]
    return {(True, False): "no_shuffle", (False, True): "shuffle"}.get(tuple(in_order),
                                                                       "other_order")


def _in_order(record: Record, step: int) -> bool:
    """Whether the batch of ``step`` is the next slice of the training targets, in order."""
    epoch = record.where[step - 1][0]
    before = zip(record.targets[:step - 1], record.where, strict=False)
    start = sum(len(t) for t, (e, _) in before if e == epoch)
    batch = record.targets[step - 1]
    return torch.equal(batch, record.y_train[start:start + len(batch)].cpu())


for _key in ("shuffle", "no_shuffle", "other_order", "batch_size"):
    detects(_key)(lambda mine, reference, error, key=_key: _order(mine, reference) == key)
