"""Run a stage: the run protocol, owned by the kernel.

The runner counts the epochs, times them, calls the observers around each,
and lets the loop piece train one epoch at a time; the session counts the
steps inside. Stopping, divergence, checkpoints (through the run folder
observer) and resume hang off this one place, so a loop plugin holds the
lesson and nothing else.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from mnistlab import runs
from mnistlab.assembly import assemble, make_config
from mnistlab.blame import plugin_failure
from mnistlab.config import RunConfig
from mnistlab.determinism import reproducible
from mnistlab.errors import MnistlabError, StopTraining
from mnistlab.metrics import evaluate
from mnistlab.plugin_manager import PRINTING, object_name
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
            ``data``, ``plugins``, ``options``, ...). Paths, numpy numbers and a
            ``torch.device`` are taken as the values the command line would give,
            and one plugin as a string is a list of one; a value of another type
            is refused.
    """
    config = make_config(stage, **settings)
    with reproducible(config.deterministic) as use_device:
        return train(assemble(config, plugin_objects, trace=trace, use_device=use_device))


def resume(run_dir: str | Path, *, plugins: tuple[str, ...] = (),
           plugin_objects: tuple[object, ...] = (), trace: bool = False, write: bool = True,
           **settings: Any) -> RunResult:
    """Continue the run saved in ``run_dir`` from its last complete epoch.

    The settings come from the folder's ``config.json``; ``epochs`` may be
    raised to train longer and ``blocked`` may leave out observers. How the
    first command printed (the console and progress observers it blocked,
    with ``--quiet`` say) is not part of the run: only ``blocked`` decides
    that now. The run's ``--plugin`` files are never imported from the
    folder: pass them again in ``plugins``. With the same settings, the final
    weights equal those of a run that was never interrupted. ``write=False``
    leaves the folder as it is (the other processes of a distributed run read
    it; rank 0 writes).
    """
    given = {key: value for key, value in settings.items() if value is not None}
    record = runs.read_config(run_dir)
    kept = [name for name in record["settings"].get("blocked") or () if name not in PRINTING]
    given["blocked"] = tuple(dict.fromkeys([*kept, *given.get("blocked", ())]))
    checkpoint = runs.read_checkpoint(run_dir)
    config = recorded_config(run_dir, record, plugins, plugin_objects,
                             out=str(run_dir) if write else None, force=False, **given)
    with reproducible(config.deterministic) as use_device:
        session = assemble(config, plugin_objects, trace=trace, use_device=use_device)
        if data_changed(record, session):
            raise MnistlabError(f"the data {session.data.name!r} differs from the data the run "
                                f"in {str(run_dir)!r} trained on (checksums differ); resume "
                                "needs the same data")
        try:
            session.load_state_dict(checkpoint)
        except (RuntimeError, KeyError, TypeError, ValueError) as error:
            raise MnistlabError(f"{runs.CHECKPOINT} in {str(run_dir)!r} does not fit this run "
                                f"of stage {config.stage} ({type(error).__name__}); the run "
                                "folder is damaged") from None
        done = session.first_epoch - 1
        if config.epochs < done:  # only a smaller --epochs than recorded can get here
            raise MnistlabError(f"the run in {str(run_dir)!r} has trained {done} epochs; "
                                f"--epochs {config.epochs} would train none: pass more than "
                                f"{done} to train longer, or leave --epochs out")
        return train(session)



def load(run_dir: str | Path, *, plugins: tuple[str, ...] = (),
         plugin_objects: tuple[object, ...] = ()) -> Any:
    """The trained model of a run folder, in eval mode.

    The run is assembled again from its ``config.json``, exactly as
    ``resume`` would, then the weights are read from ``model.pt`` with
    ``torch.load(..., weights_only=True)``. No code named in the folder runs:
    the run's ``--plugin`` files must be passed again in ``plugins``.
    """
    return open_run(run_dir, plugins, plugin_objects)[0].model


def open_run(run_dir: str | Path, plugins: tuple[str, ...] = (),
             plugin_objects: tuple[object, ...] = ()) -> tuple[Session, dict[str, Any]]:
    """The run of a folder, assembled again with its final weights in eval mode; its record."""
    record = runs.read_config(run_dir)
    weights = runs.read_weights(run_dir)
    config = recorded_config(run_dir, record, plugins, plugin_objects, out=None)
    session = assemble(config, plugin_objects)
    try:
        load_weights(session.model, weights)
    except (RuntimeError, ValueError, TypeError) as error:
        raise MnistlabError(f"{runs.MODEL} in {str(run_dir)!r} does not fit the model of stage "
                            f"{session.config.stage} ({type(error).__name__}); the run folder "
                            "is damaged") from None
    if hasattr(session.model, "eval"):
        session.model.eval()
    return session, record


def data_changed(record: dict[str, Any], session: Session) -> bool:
    """Whether the run's data differs from the data its folder recorded (by checksum)."""
    recorded = record.get("data", {}).get("checksum")
    return bool(recorded) and recorded != session.data.checksum


def recorded_config(run_dir: str | Path, record: dict[str, Any], plugins: tuple[str, ...],
                    plugin_objects: tuple[object, ...], **changes: Any) -> RunConfig:
    """The ``RunConfig`` recorded in a run folder (its ``config.json``, read as ``record``),
    with ``changes`` applied.

    Nothing the folder names is imported: its ``--plugin`` files must be
    given again in ``plugins`` and match the recorded hashes, and a piece
    filled by a plugin object must be given again in ``plugin_objects``.
    """
    given = {object_name(plugin) for plugin in plugin_objects}
    try:
        for piece, filled in record.get("pieces", {}).items():
            if filled["origin"] == "object" and filled["plugin"] not in given:
                raise MnistlabError(
                    f"the {piece} of the run in {str(run_dir)!r} came from the plugin object "
                    f"{filled['plugin']!r}, which a folder cannot rebuild; pass it again with "
                    "plugin_objects=[...]")
        settings = dict(record["settings"])
        settings.pop("epochs_from_tutorial", None)
        settings["plugins"] = match_plugins(run_dir, record, plugins)
        return make_config(settings.pop("stage"), **{**settings, **changes})
    except (KeyError, TypeError, AttributeError) as error:
        raise MnistlabError(f"{runs.CONFIG} in {str(run_dir)!r} is damaged "
                            f"({type(error).__name__}: {error}); run the stage again") from None


def match_plugins(run_dir: str | Path, record: dict[str, Any],
                  plugins: tuple[str, ...]) -> tuple[str, ...]:
    """The given ``--plugin`` values, in the run's order, each matching a recorded hash."""
    from mnistlab.plugin_loading import source_file

    named = record["settings"].get("plugins") or []
    if named and "user_plugins" not in record:  # written before runs kept their plugins' hashes
        raise MnistlabError(
            f"the run in {str(run_dir)!r} used --plugin {', '.join(map(str, named))}, but its "
            f"{runs.CONFIG} keeps no hash to check a file against (an older mnistlab wrote "
            "it); start a new run with those plugins")
    recorded = record.get("user_plugins", [])
    given = {runs.file_sha256(source_file(spec)): spec for spec in plugins}
    wanted = {entry["sha256"] for entry in recorded}
    unknown = [spec for digest, spec in given.items() if digest not in wanted]
    for entry in recorded:
        if entry["sha256"] in given:
            continue
        if unknown:
            raise MnistlabError(
                f"plugin {unknown[0]!r} differs from {entry['spec']!r}, which the run in "
                f"{str(run_dir)!r} used (sha256 {entry['sha256'][:12]}...; its copy is "
                f"{entry['copy']} there); pass the same file")
        raise MnistlabError(
            f"the run in {str(run_dir)!r} used the plugin {entry['spec']!r} (its copy is "
            f"{entry['copy']} there); a run folder never runs code by itself: pass the file "
            "again with --plugin")
    if unknown:
        raise MnistlabError(f"plugin {unknown[0]!r} was not part of the run in {str(run_dir)!r}; "
                            "leave it out, or start a new run")
    return tuple(given[entry["sha256"]] for entry in recorded)


def train(session: Session) -> RunResult:
    """Train the assembled run, then score the validation set.

    An exception from a plugin's code comes out as a ``PluginError`` naming
    the plugin and the hook; the original is chained to it.
    """
    out = session.config.out
    folder = (runs.claim(out, force=session.config.force, resuming=session.first_epoch > 1)
              if out is not None else nullcontext())
    try:
        with folder:
            return _train(session)
    except (MnistlabError, StopTraining, KeyboardInterrupt):
        raise
    except (Exception, SystemExit) as error:  # a plugin's sys.exit() is no success either
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
