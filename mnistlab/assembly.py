"""One way to build a run from its settings, used by run, resume, load and predict.

``assemble`` makes the plugin manager, settles the plugins' options, fills
the pieces in one direction (data -> device -> model -> loss -> update ->
loop), checks each where it enters, and finally passes one validation batch
through the model and the loss. What it returns is ready to train, resume or
predict with, and nothing has been written anywhere.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import torch

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
from mnistlab.errors import MnistlabError, PluginError, closest
from mnistlab.pieces import Filled, failed, fill
from mnistlab.plugin_manager import PluginManager, get_plugin_manager
from mnistlab.session import Session, TrainingLoss
from mnistlab.stages import PIECE_HOOKS, get_stage, hyper_of
from mnistlab.types import Option


def make_config(stage: str, **settings: Any) -> RunConfig:
    """A ``RunConfig`` for ``stage``: its default hyper-parameters, then ``settings``.

    Settings given as ``None`` keep the default, so CLI options map straight in.
    """
    get_stage(stage)
    unknown = set(settings) - set(RunConfig.__dataclass_fields__)
    if unknown:
        raise MnistlabError(f"unknown setting(s) {', '.join(sorted(unknown))} for mnistlab.run()")
    given = {key: _plain(value) for key, value in settings.items() if value is not None}
    for key in ("plugins", "blocked"):
        if key in given:
            # One name or path is a list of one, not a list of its characters.
            names = [given[key]] if isinstance(given[key], str) else given[key]
            given[key] = tuple(map(_plain, names))
    return RunConfig(stage=stage, **{**hyper_of(stage), **given})


def _plain(value: Any) -> Any:
    """A path, a torch.device or a numpy number as the value the command line would give."""
    if isinstance(value, os.PathLike | torch.device):
        return str(value)
    return value.item() if isinstance(value, np.generic) else value


def assemble(config: RunConfig, objects: Iterable[object] = (), *, trace: bool = False,
             use_device: Callable[[torch.device], None] = lambda device: None) -> Session:
    """Build every piece of the run ``config`` describes, checked, ready to train.

    Args:
        config: the run's settings.
        objects: plugins given as Python objects, registered after ``config.plugins``.
        trace: print each hook call, and who answered it, to stderr.
        use_device: called with the run's device once it is known, before the model is built
            (the ``use`` of ``mnistlab.determinism.reproducible``).
    """
    pm = get_plugin_manager(config.stage, config.plugins, config.blocked, objects)
    if trace:
        _trace_hook_calls(pm)
    config = replace(config, options=resolve_options(pm, config.options))

    data_piece = fill(pm, "data", config=config)
    data = check_data(data_piece)
    config = config.with_epochs_for(len(data.x_train))
    device = _device_setting(config) or fill(pm, "device", config=config)
    device = replace(device, value=check_device(device))
    missing = unavailable(device.value)
    if missing and device.origin == "setting":
        raise MnistlabError(f"--device {config.device}: {missing}")
    if missing:
        raise PluginError(f"{device.who} returned {device.value} from make_device, but "
                          f"{missing}; return torch.device('cpu') where there is none")
    use_device(device.value)
    # Seed right before the model so its initial weights depend only on the
    # seed and on the layers it creates, never on what the data piece drew.
    torch.manual_seed(config.seed)
    model = fill(pm, "model", config=config)
    model = replace(model, value=_to_device(check_model(model), device.value))
    loss = fill(pm, "loss", config=config)
    check_loss(loss)
    update = fill(pm, "update", config=config, model=model.value)
    check_update(update, model.value)
    loop = fill(pm, "loop", config=config)
    check_loop(loop)
    # The batches piece is asked again for every pass; this first answer, one
    # pass over the valid split with a generator of its own, is for the checks.
    x, y = data.split("valid")
    if len(x) == 0 or len(data.x_train) == 0:
        raise MnistlabError(f"the {'valid' if len(x) == 0 else 'train'} split of "
                            f"{data.name} is empty; give data with examples in both splits")
    batches = fill(pm, "batches", config=config, x=x, y=y, batch_size=config.valid_bs,
                   shuffle=False, generator=torch.Generator().manual_seed(config.seed),
                   device=device.value)

    session = Session(
        config=config, data=data, device=device.value, model=model.value,
        loss_func=TrainingLoss(loss.value), opt=update.value,
        pieces={f.piece: f for f in (data_piece, device, model, loss, update, batches, loop)},
        pm=pm,
        # Shuffling has its own generator, so its order does not depend on
        # how many random numbers the model drew.
        generator=torch.Generator().manual_seed(config.seed),
    )
    session.remember_pass(x, batches)
    check_fit(session)
    _note_passed(session)
    return session


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
        except Exception as error:
            raise failed(impl.plugin_name, "plugin_options", error) from error
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


def _trace_hook_calls(pm: PluginManager) -> None:
    """Print each hook call: for a piece, who answered; for an observer, who was called."""

    def say(line: str) -> None:
        print(f"[trace] {line}", file=sys.stderr)

    def before(hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        if impls:
            say(f"{hook_name}: {', '.join(impl.plugin_name for impl in reversed(impls))}")

    pm.trace = say
    pm.add_hookcall_monitoring(before, lambda *args: None)
