"""Assemble a stage from its plugins and run it.

The runner owns the order (config -> data -> device -> model -> loss ->
update -> loop -> final score) and the seeding, so that a swap which keeps the
maths gives exactly the same numbers. Everything else is a plugin's job.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pluggy
import torch

from mnistlab import runs
from mnistlab.blame import plugin_failure
from mnistlab.config import RunConfig
from mnistlab.errors import MnistlabError, StopTraining, missing_piece
from mnistlab.introspect import describe
from mnistlab.metrics import evaluate
from mnistlab.plugin_manager import PluginManager, get_plugin_manager
from mnistlab.session import Session
from mnistlab.stages import get_stage, hyper_of
from mnistlab.types import RunResult


def make_config(stage: str, **settings: Any) -> RunConfig:
    """A ``RunConfig`` for ``stage``: its default hyper-parameters, then ``settings``.

    Settings given as ``None`` keep the default, so CLI options map straight in.
    """
    get_stage(stage)
    unknown = set(settings) - set(RunConfig.__dataclass_fields__)
    if unknown:
        raise MnistlabError(f"unknown setting(s) {', '.join(sorted(unknown))} for mnistlab.run()")
    given = {key: value for key, value in settings.items() if value is not None}
    for key in ("plugins", "blocked"):
        if key in given:
            given[key] = tuple(given[key])
    return RunConfig(stage=stage, **{**hyper_of(stage), **given})


def run(stage: str, *, plugin_objects: tuple[object, ...] = (), trace: bool = False,
        **settings: Any) -> RunResult:
    """Run one stage and return its result.

    Args:
        stage: a stage name from ``mnistlab stages``.
        plugin_objects: plugins given as objects (modules or instances), added
            after ``settings["plugins"]``; handy in a notebook.
        trace: print every hook call and who implements it, to stderr.
        **settings: any ``RunConfig`` field (``epochs``, ``bs``, ``lr``, ``seed``,
            ``data``, ``plugins``, ...).
    """
    config = make_config(stage, **settings)
    pm = get_plugin_manager(stage, [*config.plugins, *plugin_objects], config.blocked)
    if trace:
        _trace_hook_calls(pm)
    return run_with(pm, config)


def resume(run_dir: str | Path, *, trace: bool = False, **settings: Any) -> RunResult:
    """Continue the run saved in ``run_dir`` from its last complete epoch.

    The settings come from the folder's ``config.json``; ``settings`` may
    change a few (``epochs`` to train longer, ``blocked`` for observers).
    With the same settings, the final weights equal those of a run that was
    never interrupted.
    """
    saved = runs.read_config(run_dir)["settings"]
    checkpoint = runs.read_checkpoint(run_dir)
    given = {key: value for key, value in settings.items() if value is not None}
    stage = saved.pop("stage")
    saved.pop("epochs_from_tutorial", None)
    config = make_config(stage, **{**saved, **given, "out": str(run_dir), "force": False})
    pm = get_plugin_manager(stage, config.plugins, config.blocked)
    if trace:
        _trace_hook_calls(pm)
    return run_with(pm, config, checkpoint)


def run_with(pm: PluginManager, config: RunConfig,
             checkpoint: dict[str, Any] | None = None) -> RunResult:
    """Run ``config`` with the plugins already registered in ``pm``.

    With a ``checkpoint`` (from ``Session.state_dict()``), continue from it.
    An exception from a plugin's code comes out as a ``PluginError`` naming
    the plugin and the hook; the original is chained to it.
    """
    try:
        return _run(pm, config, checkpoint)
    except (MnistlabError, StopTraining):
        raise
    except Exception as error:
        failure = plugin_failure(pm, error)
        if failure is None:
            raise
        raise failure from error


def _run(pm: PluginManager, config: RunConfig,
         checkpoint: dict[str, Any] | None) -> RunResult:
    hook = pm.hook
    data = _piece(hook.make_data(config=config), "data", "make_data")
    config = config.with_epochs_for(len(data.x_train))
    device = _device(config) or _piece(hook.make_device(config=config), "device", "make_device")

    # Seed right before the model so its initial weights depend only on the
    # seed and on the layers it creates, never on what the data piece drew.
    torch.manual_seed(config.seed)
    model = _piece(hook.make_model(config=config), "model", "make_model")
    if not (callable(model) and callable(getattr(model, "parameters", None))):
        raise MnistlabError(
            f"the model from make_model ({type(model).__name__}) is not callable with a "
            "parameters() method; return an nn.Module"
        )
    model = _to_device(model, device)
    loss_func = _piece(hook.make_loss(config=config), "loss", "make_loss")
    opt = _piece(hook.make_update(config=config, model=model), "update", "make_update")
    for method in ("step", "zero_grad"):
        if not callable(getattr(opt, method, None)):
            raise MnistlabError(
                f"the update from make_update has no {method}() method; "
                "return a torch.optim optimizer or an object with step() and zero_grad()"
            )
    # Shuffling has its own generator, so its order does not depend on how
    # many random numbers the model drew.
    generator = torch.Generator().manual_seed(config.seed)
    session = Session(config=config, data=data, device=device, model=model,
                      loss_func=loss_func, opt=opt, hook=hook, generator=generator,
                      plugins=describe(pm))
    if checkpoint is not None:
        session.load_state_dict(checkpoint)

    hook.before_run(session=session)
    loop = _piece(hook.train(session=session), "loop", "train")
    started = time.perf_counter()
    try:
        for result in loop:
            result = replace(result, seconds=time.perf_counter() - session.epoch_started)
            if not math.isfinite(result.train_loss):
                raise session.diverged(result.epoch, result.train_loss)
            session.history.append(result)
            hook.after_epoch(session=session, result=result)
            if session.stopped:
                break
    except StopTraining:  # session.stop() during an epoch, seen at the next step
        pass
    seconds = time.perf_counter() - started

    valid_loss, valid_acc = evaluate(model, loss_func, session.batches("valid", config.valid_bs))
    result = RunResult(stage=config.stage, config=config, data=data.name, epochs=session.history,
                       valid_loss=valid_loss, valid_acc=valid_acc, steps=session.step,
                       seconds=seconds, model=model)
    hook.after_run(session=session, result=result)
    return result


def _piece(value: Any, piece: str, hook: str) -> Any:
    if value is None:
        raise missing_piece(piece, hook)
    return value


def _device(config: RunConfig) -> torch.device | None:
    """The ``--device`` override, checked against what this machine has."""
    if config.device is None:
        return None
    try:
        device = torch.device(config.device)
    except RuntimeError:
        raise MnistlabError(f"unknown device {config.device!r}; use cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise MnistlabError(f"--device {config.device}: CUDA is not available on this machine; "
                            f"available: {', '.join(available_devices())}")
    return device


def available_devices() -> list[str]:
    """The device names this machine can train on."""
    return ["cpu", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]


def _to_device(model: Any, device: torch.device) -> Any:
    if hasattr(model, "to"):
        return model.to(device)
    if device.type != "cpu":
        raise MnistlabError(f"this stage's model ({type(model).__name__}) has no .to() and "
                            "stays on the CPU; run it without --device or use a later stage")
    return model


def _trace_hook_calls(pm: pluggy.PluginManager) -> None:
    """Print each hook call and the plugins asked, in the order pluggy asks them."""

    def before(hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        if not impls:
            return
        asked = ", ".join(impl.plugin_name for impl in reversed(impls))
        print(f"[trace] {hook_name}: {asked}", file=sys.stderr)

    def after(outcome: Any, hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        result = outcome.get_result() if outcome.exception is None else None
        if impls and result is not None and not isinstance(result, list):
            print(f"[trace] {hook_name} -> {type(result).__name__}", file=sys.stderr)

    pm.add_hookcall_monitoring(before, after)
