"""One way to build a run from its settings, used by run, resume, load and predict.

``assemble`` makes the plugin manager, settles the plugins' options, then
fills the pieces in the stage table's order (data -> device -> model -> loss
-> update -> batches -> loop): for each it asks the piece's hook, checks the
contract where the piece enters and records who filled it. Last, it passes
one validation batch through the model and the loss. What it returns is
ready to train, resume or predict with, and nothing has been written anywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import torch

from mnistlab import pieces
from mnistlab.books import Books, TrainingLoss
from mnistlab.config import RunConfig
from mnistlab.contracts import (
    check_data,
    check_device,
    check_fit,
    check_loop,
    check_loss,
    check_model,
    check_update,
)
from mnistlab.errors import MnistlabError, PluginError, closest, plugin_failed
from mnistlab.plugin_manager import PluginManager, get_plugin_manager
from mnistlab.session import Session
from mnistlab.signals import raised_by_code
from mnistlab.stages import PIECE_HOOKS, PIECES
from mnistlab.types import Filled, Option
from mnistlab.words import plural


def assemble(config: RunConfig, objects: Iterable[object] = (), *, quiet: bool = False,
             trace: bool = False,
             use_device: Callable[[torch.device], None] = lambda device: None) -> Session:
    """Build every piece of the run ``config`` describes, checked, ready to train.

    Args:
        config: the run's settings.
        objects: plugins given as Python objects, registered after ``config.plugins``.
        quiet: leave out the plugins that only print.
        trace: print each hook call, and who answered it, to stderr.
        use_device: called with the run's device before the model is built (the
            determinism flags that device needs).
    """
    pm = get_plugin_manager(config.stage, config.plugins, config.blocked, objects, quiet=quiet)
    if trace:
        pieces.trace(pm)
    config = replace(config, options=resolve_options(pm, config.options))
    built: dict[str, Filled] = {}
    for piece in PIECES:
        if piece == "model":
            use_device(built["device"].value)
            # Seed right before the model so its initial weights depend only on the seed
            # and on the layers it creates, never on what the data piece drew.
            torch.manual_seed(config.seed)
        filled = (_device_setting(config) if piece == "device" else None) or pieces.fill(
            pm, piece, **_arguments(piece, config, built))
        built[piece] = replace(filled, value=_ACCEPT[piece](filled, built))

    data, device = built["data"].value, built["device"].value
    if config.bs > len(data.x_train):
        rows = len(data.x_train)
        raise MnistlabError(f"batch size {config.bs} is larger than the "
                            f"{plural(rows, 'training example')} of {data.name}; use --bs {rows} "
                            f"or less ({rows}: one batch of all)")
    loss = TrainingLoss(built["loss"].value)
    session = Session(
        config=config, data=data, device=device, model=built["model"].value, loss_func=loss,
        opt=built["update"].value, pieces=built, pm=pm,
        generator=torch.Generator().manual_seed(config.seed),
        books=Books(loss, built["loop"].who, built["update"].who, built["update"].value),
        # The checks' pass over the valid split: an iterator handed out again is used up.
        last_pass={id(data.x_valid): built["batches"].value},
    )
    check_fit(session)
    _note_passed(session)
    return session


def _arguments(piece: str, config: RunConfig, built: dict[str, Filled]) -> dict[str, Any]:
    """What a piece's hook is given: the config, and the pieces it is built from."""
    if piece == "update":
        return {"config": config, "model": built["model"].value}
    if piece == "batches":
        # The batches piece is asked again for every pass; this first answer, one pass over
        # the valid split with a generator of its own, is for the checks.
        x, y = built["data"].value.split("valid")
        return {"config": config, "x": x, "y": y, "batch_size": config.valid_bs,
                "shuffle": False, "generator": torch.Generator().manual_seed(config.seed),
                "device": built["device"].value}
    return {"config": config}


def _accept_data(filled: Filled, built: dict[str, Filled]) -> Any:
    data = check_data(filled)
    for split in ("train", "valid"):
        if len(data.split(split)[0]) == 0:
            raise MnistlabError(f"the {split} split of {data.name} is empty; give data with "
                                "examples in both splits")
    return data


def _accept_device(filled: Filled, built: dict[str, Filled]) -> Any:
    device = check_device(filled)
    missing = unavailable(device)
    if missing and filled.origin == "setting":
        raise MnistlabError(f"--device {filled.value}: {missing}")
    if missing:
        raise PluginError(f"{filled.who} returned {device} from make_device, but {missing}; "
                          "return torch.device('cpu') where there is none")
    return device


# Each piece's contract, checked as it enters the run; what comes back is the piece's value.
_ACCEPT: dict[str, Callable[[Filled, dict[str, Filled]], Any]] = {
    "data": _accept_data,
    "device": _accept_device,
    "model": lambda filled, built: _to_device(check_model(filled), built["device"].value),
    "loss": lambda filled, built: check_loss(filled),
    "update": lambda filled, built: check_update(filled, built["model"].value),
    "batches": lambda filled, built: filled.value,  # checked with the model, by check_fit
    "loop": lambda filled, built: check_loop(filled),
}


def _note_passed(session: Session) -> None:
    """Say so when a user's plugin passed on a piece that a built-in then filled."""
    for filled in session.pieces.values():
        users = [name for name in filled.passed if session.pm.origins[name] != "built-in"]
        if users:
            names = ", ".join(map(repr, users))
            hook = PIECE_HOOKS[filled.piece]
            print(f"note: {names} returned None from {hook}; {filled.who} fills the "
                  f"{filled.piece}", file=sys.stderr)


def declared_options(pm: PluginManager) -> dict[str, tuple[Option, str]]:
    """Every option the registered plugins declare, with the plugin that declares it."""
    declared: dict[str, tuple[Option, str]] = {}
    for impl in reversed(pm.hook.plugin_options.get_hookimpls()):
        try:
            options = impl.function()
        except BaseException as error:
            if not raised_by_code(error):  # Ctrl-C or kill
                raise
            raise plugin_failed(impl.plugin_name, "plugin_options", error) from error
        for option in options or ():
            if not isinstance(option, Option):
                raise PluginError(f"plugin {impl.plugin_name!r}: plugin_options returned "
                                  f"{option!r}; return a list of mnistlab.Option")
            if option.name in declared:
                raise PluginError(f"plugins {declared[option.name][1]!r} and "
                                  f"{impl.plugin_name!r} both declare option {option.name!r}; "
                                  "block one with --no-plugin")
            declared[option.name] = (option, impl.plugin_name)
    return declared


def resolve_options(pm: PluginManager, given: Mapping[str, Any]) -> dict[str, Any]:
    """Each declared option's value: the given one, checked, else its default."""
    declared = declared_options(pm)
    for name in given:
        if name not in declared:
            listed = (f"the plugins of this run declare {', '.join(sorted(declared))}"
                      if declared else "no plugin of this run declares any option")
            raise MnistlabError(f"unknown option {name!r}{closest(name, declared)}; {listed}")
    return {name: option.parse(given[name]) if name in given else option.default
            for name, (option, _) in declared.items()}


def _device_setting(config: RunConfig) -> Filled | None:
    """The ``--device`` setting, which takes the place of the device piece."""
    if config.device is None:
        return None
    try:
        device = torch.device(config.device)
    except RuntimeError:
        raise MnistlabError(f"unknown device {config.device!r}; use one of: "
                            f"{', '.join(available_devices())}") from None
    return Filled("device", device, "--device", "setting")


def unavailable(device: torch.device) -> str | None:
    """What this machine lacks to train on ``device`` (and what it has), or None."""
    if device.type == "cpu":
        return None
    backend = getattr(torch, device.type, None)
    count = backend.device_count() if callable(getattr(backend, "device_count", None)) else 0
    if count and (device.index or 0) < count:
        return None
    what = "is not available" if count == 0 else f"has only {count} device(s)"
    return f"{device.type} {what} on this machine; available: {', '.join(available_devices())}"


def available_devices() -> list[str]:
    """The device names this machine can train on: the CPU and each accelerator."""
    accelerator = torch.accelerator.current_accelerator() if hasattr(torch, "accelerator") else (
        torch.device("cuda") if torch.cuda.is_available() else None)
    if accelerator is None:
        return ["cpu"]
    count = getattr(torch, accelerator.type).device_count()
    return ["cpu", *(f"{accelerator.type}:{i}" for i in range(count))]


def _to_device(model: Any, device: torch.device) -> Any:
    if hasattr(model, "to"):
        return model.to(device)
    if device.type != "cpu":
        raise MnistlabError(f"this stage's model ({type(model).__name__}) has no .to() and "
                            "stays on the CPU; run it without --device or use a later stage")
    return model
