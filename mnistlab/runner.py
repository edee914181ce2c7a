"""Run a stage: the run protocol, owned by the kernel.

The runner counts the epochs, times them, calls the observers around each,
and lets the loop piece train one epoch at a time; the session counts the
steps inside. Stopping, divergence, checkpoints (through the run folder
observer) and resume hang off this one place, so a loop plugin holds the
lesson and nothing else.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mnistlab import runs
from mnistlab.assembly import assemble, make_config
from mnistlab.blame import plugin_failure
from mnistlab.config import RunConfig
from mnistlab.errors import MnistlabError, StopTraining
from mnistlab.metrics import evaluate
from mnistlab.plugin_manager import object_name
from mnistlab.session import Session, load_weights
from mnistlab.types import RunResult


def run(stage: str, *, plugin_objects: tuple[object, ...] = (), trace: bool = False,
        **settings: Any) -> RunResult:
    """Run one stage and return its result.

    Args:
        stage: a stage name from ``mnistlab stages``.
        plugin_objects: plugins given as objects (modules or instances), added
            after ``settings["plugins"]``; handy in a notebook.
        trace: print every hook call and who answered it, to stderr.
        **settings: any ``RunConfig`` field (``epochs``, ``bs``, ``lr``, ``seed``,
            ``data``, ``plugins``, ``options``, ...).
    """
    return train(assemble(make_config(stage, **settings), plugin_objects, trace=trace))


def resume(run_dir: str | Path, *, plugin_objects: tuple[object, ...] = (),
           trace: bool = False, **settings: Any) -> RunResult:
    """Continue the run saved in ``run_dir`` from its last complete epoch.

    The settings come from the folder's ``config.json``; ``settings`` may
    change a few (``epochs`` to train longer, ``blocked`` for observers).
    With the same settings, the final weights equal those of a run that was
    never interrupted.
    """
    given = {key: value for key, value in settings.items() if value is not None}
    config = recorded_config(run_dir, plugin_objects, out=str(run_dir), force=False, **given)
    checkpoint = runs.read_checkpoint(run_dir)
    session = assemble(config, plugin_objects, trace=trace)
    session.load_state_dict(checkpoint)
    return train(session)


def load(run_dir: str | Path, *, plugin_objects: tuple[object, ...] = ()) -> Any:
    """The trained model of a run folder, in eval mode.

    The run is assembled again from its ``config.json``, exactly as
    ``resume`` would, then the weights are read from ``model.pt`` with
    ``torch.load(..., weights_only=True)``.
    """
    return open_run(run_dir, plugin_objects).model


def open_run(run_dir: str | Path, plugin_objects: tuple[object, ...] = ()) -> Session:
    """The run of a folder, assembled again, holding its final weights in eval mode."""
    weights = runs.read_weights(run_dir)
    session = assemble(recorded_config(run_dir, plugin_objects, out=None), plugin_objects)
    try:
        load_weights(session.model, weights)
    except (RuntimeError, ValueError) as error:
        raise MnistlabError(f"{runs.MODEL} in {str(run_dir)!r} does not fit the model of stage "
                            f"{session.config.stage} ({' '.join(str(error).split())[:200]}); "
                            "the run folder is damaged") from None
    if hasattr(session.model, "eval"):
        session.model.eval()
    return session


def recorded_config(run_dir: str | Path, plugin_objects: tuple[object, ...],
                    **changes: Any) -> RunConfig:
    """The ``RunConfig`` recorded in a run folder, with ``changes`` applied.

    A piece filled by a plugin object cannot be rebuilt from the folder: it
    must be given again, or the run is refused.
    """
    record = runs.read_config(run_dir)
    given = {object_name(plugin) for plugin in plugin_objects}
    for piece, filled in record.get("pieces", {}).items():
        if filled["origin"] == "object" and filled["plugin"] not in given:
            raise MnistlabError(
                f"the {piece} of the run in {str(run_dir)!r} came from the plugin object "
                f"{filled['plugin']!r}, which a folder cannot rebuild; pass it again with "
                "plugin_objects=[...]")
    settings = dict(record["settings"])
    settings.pop("epochs_from_tutorial", None)
    return make_config(settings.pop("stage"), **{**settings, **changes})


def train(session: Session) -> RunResult:
    """Train the assembled run, then score the validation set.

    An exception from a plugin's code comes out as a ``PluginError`` naming
    the plugin and the hook; the original is chained to it.
    """
    try:
        return _train(session)
    except (MnistlabError, StopTraining):
        raise
    except Exception as error:
        failure = plugin_failure(session.pm, error)
        if failure is None:
            raise
        raise failure from error


def _train(session: Session) -> RunResult:
    config, hook, loop = session.config, session.hook, session.pieces["loop"].value
    hook.before_run(session=session)
    started = time.perf_counter()
    if not session.stopped:  # a resumed run that stopped early has nothing left to train
        try:
            for epoch in range(session.first_epoch, config.epochs + 1):
                session.start_epoch(epoch)
                hook.before_epoch(session=session, epoch=epoch)
                result = session.finish_epoch(loop(session))
                session.history.append(result)
                hook.after_epoch(session=session, result=result)
                if session.stopped:
                    break
        except StopTraining:  # session.stop() during an epoch: that epoch is not kept
            pass
    seconds = time.perf_counter() - started

    valid_loss, valid_acc = evaluate(session.model, session.pieces["loss"].value,
                                     session.batches("valid"))
    result = RunResult(stage=config.stage, config=config, data=session.data.name,
                       epochs=session.history, valid_loss=valid_loss, valid_acc=valid_acc,
                       steps=session.step, seconds=seconds, model=session.model)
    hook.after_run(session=session, result=result)
    return result
