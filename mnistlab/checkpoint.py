"""A run's state after an epoch, to continue it exactly: what ``checkpoint.pt`` holds.

Besides the weights and the optimizer (its momentum buffers), the random
states matter: the shuffling generator decides the next epoch's batch order.
Observers that keep state (early stopping's best loss) save it through their
own ``state_dict()`` and ``load_state_dict()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import torch

from mnistlab.session import Session
from mnistlab.types import EpochResult
from mnistlab.words import plural


def state_dict(session: Session) -> dict[str, Any]:
    """Everything needed to continue ``session`` exactly after its last epoch."""
    return {
        "epoch": session.history[-1].epoch if session.history else 0,
        "step": session.step,
        "model": weights_of(session.model),
        "opt": session.opt.state_dict() if hasattr(session.opt, "state_dict") else {},
        "generator": session.generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "history": [asdict(epoch) for epoch in session.history],
        "observers": {name: plugin.state_dict() for name, plugin in _stateful(session)},
        "stopped": session.stopped,
    }


def load_state_dict(session: Session, state: dict[str, Any]) -> None:
    """Continue ``session`` from a checkpoint made by ``state_dict()``.

    Every number is checked for its type and range first, so a hand-edited or
    foreign checkpoint is a ``ValueError`` naming the field, never a run that
    starts from epoch -3.
    """
    check_state(state)
    load_weights(session.model, state["model"])
    if hasattr(session.opt, "load_state_dict"):
        session.opt.load_state_dict(state["opt"])
    session.generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    books = session.books
    books.step = state["step"]
    books.history = [EpochResult(**epoch) for epoch in state["history"]]
    books.first_epoch = state["epoch"] + 1
    books.stopped = state.get("stopped")
    saved = state.get("observers", {})
    for name, plugin in _stateful(session):
        if name in saved:
            plugin.load_state_dict(saved[name])


def check_state(state: Any) -> None:
    """Refuse a checkpoint whose counts, history or stop reason are not what a run saves."""
    if not isinstance(state, dict):
        raise ValueError(f"the checkpoint is a {type(state).__name__}, not a dict")
    for name in ("epoch", "step"):
        if type(state.get(name)) is not int or not 0 <= state[name] < 2**53:
            raise ValueError(f"field {name!r} is {state.get(name)!r}, not a count")
    history = state.get("history")
    if not isinstance(history, list) or len(history) != state["epoch"]:
        raise ValueError(f"field 'history' does not hold the {plural(state['epoch'], 'epoch')} "
                         "saved")
    numbers = (int, float, type(None))
    for number, row in enumerate(history, start=1):
        if not (isinstance(row, dict) and set(row) <= set(EpochResult.__dataclass_fields__)
                and row.get("epoch") == number
                and all(type(value) in numbers for value in row.values())):
            raise ValueError(f"field 'history' holds a damaged row for epoch {number}")
    if not isinstance(state.get("stopped"), str | None):
        raise ValueError(f"field 'stopped' is {state['stopped']!r}, not a reason")


def _stateful(session: Session) -> Iterator[tuple[str, Any]]:
    for name, plugin in session.pm.list_name_plugin():
        if callable(getattr(plugin, "state_dict", None)) and callable(
                getattr(plugin, "load_state_dict", None)):
            yield name, plugin


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
