"""Run a stage: a ``Run`` owns a run from its assembled pieces to its result.

The run counts the epochs, times them, calls the observers around each, and
lets the loop piece train one epoch at a time while its books count the steps
inside. Stopping, divergence and the run folder (checkpoints, metrics, the
final weights and pictures) hang off this one place, so a loop plugin holds
the lesson and nothing else. ``run``, ``resume``, ``load`` and
``open_run`` are the four ways in, and all four assemble a run the same way.
"""

from __future__ import annotations

import errno
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from mnistlab import arguments, launch
from mnistlab import record as records
from mnistlab.assembly import assemble
from mnistlab.checkpoint import load_state_dict, load_weights, state_dict, weights_of
from mnistlab.config import make_config
from mnistlab.determinism import reproducible
from mnistlab.errors import (
    Diverged,
    MnistlabError,
    OutputFailed,
    StopTraining,
    output_failed,
)
from mnistlab.introspect import declares
from mnistlab.metrics import final_scores, first_predictions
from mnistlab.pieces import blame
from mnistlab.plugin_loading import declared
from mnistlab.plugin_manager import object_name
from mnistlab.runfolder import CHECKPOINT, GRID_DIGITS, MODEL, RunFolder
from mnistlab.session import Session
from mnistlab.signals import raised_by_code, watched
from mnistlab.stages import STAGE_NAMES, hyper_of
from mnistlab.types import RunResult
from mnistlab.words import plural

# Layers that compute differently in training and in eval mode.
_MODE_LAYERS = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.modules.dropout._DropoutNd)


# What a resumed run may change: the rest is the folder's record.
RESUMABLE = ("epochs", "plugins", "blocked")


class Run:
    """One run: an assembled session, trained epoch by epoch, kept in ``folder`` if any."""

    def __init__(self, session: Session, folder: RunFolder | None = None, *,
                 force: bool = False) -> None:
        self.session, self.folder, self.force = session, folder, force
        hook = session.hook
        if hook.after_batch.get_hookimpls():  # nobody listens: no call per step at all
            session.books.after_batch = lambda epoch, step, loss: hook.after_batch(
                session=session, epoch=epoch, step=step, loss=loss)

    def train(self) -> RunResult:
        """Train the remaining epochs, then score the validation set.

        An exception from a plugin's code comes out as a ``PluginError``
        naming the plugin and the hook; the original is chained to it.
        """
        self._check_processes()
        resuming = self.session.first_epoch > 1
        claimed = (self.folder.claim(force=self.force, resuming=resuming)
                   if self.folder is not None else nullcontext())
        try:
            with claimed:
                return self._train()
        except (MnistlabError, StopTraining):
            raise
        except BaseException as error:  # a plugin's sys.exit() is no success either
            if not raised_by_code(error):  # Ctrl-C or kill: the user stopped the run
                raise
            if output_failed(error):  # the terminal's doing, not the plugin that printed
                if error.errno == errno.EPIPE:  # a closed pipe: end quietly, as Unix tools do
                    raise
                raise OutputFailed(f"cannot write the run's output ({error.strerror}); free "
                                   "some space, or send the output elsewhere") from error
            if launch.lost_peer(error):
                raise MnistlabError("another process of this run was lost (it ended or was "
                                    "killed) while this one waited on it; the run stops here"
                                    ) from error
            failure = blame(self.session.pm, error)
            if failure is None and not isinstance(error, Exception):
                what = (f"called sys.exit({error.code!r})" if isinstance(error, SystemExit)
                        else "raised KeyboardInterrupt")
                raise MnistlabError(f"code {what} during the run; a plugin must raise an "
                                    "exception instead") from error
            if failure is None:
                raise
            raise failure from error

    def _check_processes(self) -> None:
        """Under torchrun, refuse a loop that does not declare that it joins the processes:
        each process would train the whole run alone."""
        loop = self.session.pieces["loop"]
        if launch.processes() == 1 or declared(self.session.pm.get_plugin(loop.plugin),
                                               "JOINS_PROCESSES"):
            return
        joining = [name for name in STAGE_NAMES if declares(name, "loop", "JOINS_PROCESSES")]
        raise MnistlabError(
            f"stage {self.session.config.stage}: torchrun started {launch.processes()} "
            f"processes, but its loop ({loop.who}) trains without joining them, so each would "
            "train the whole run alone; run it without torchrun, or use --stage "
            f"{' or '.join(joining)}, whose loop shares every batch among the processes")

    def _train(self) -> RunResult:
        session, folder = self.session, self.folder
        config, hook, books = session.config, session.hook, session.books
        loop = session.pieces["loop"].value
        if folder is not None:  # written on resume too: a longer --epochs is part of the record
            folder.write_record(records.make_record(session, folder))
            if session.first_epoch == 1:
                folder.write_metrics([])
        hook.before_run(session=session)
        started = time.perf_counter()
        try:
            for epoch in range(session.first_epoch, config.epochs + 1):
                if session.stopped:  # a resumed run that stopped early has nothing to train
                    break
                books.open_epoch(epoch, session.model)
                hook.before_epoch(session=session, epoch=epoch)
                result = books.close_epoch(session.model, loop(session))
                hook.after_epoch(session=session, result=result)
                if folder is not None:
                    folder.keep_epoch(state_dict(session), [asdict(e) for e in session.history])
        except StopTraining:  # session.stop() during an epoch: that epoch is not kept
            pass
        except Diverged as diverged:
            raise self._diverged(diverged) from None
        seconds = time.perf_counter() - started

        valid_loss, valid_acc = final_scores(session)
        result = RunResult(stage=config.stage, config=config, data=session.data.name,
                           epochs=session.history, valid_loss=valid_loss, valid_acc=valid_acc,
                           steps=session.step, seconds=seconds, model=session.model)
        hook.after_run(session=session, result=result)
        if folder is not None:
            self._keep_result(result)
        return result

    def _keep_result(self, result: RunResult) -> None:
        from mnistlab import plots  # matplotlib takes 0.3 s to import: only when a folder is kept

        images, labels, predictions = first_predictions(self.session, GRID_DIGITS)
        self.folder.keep_result(weights_of(self.session.model),
                                plots.loss_curves({result.stage: result.history}),
                                plots.digit_grid(images, labels, predictions), result)

    def _diverged(self, diverged: Diverged) -> MnistlabError:
        """The error for a training loss that became NaN or infinite: what to change."""
        config, history = self.session.config, self.session.history
        lr, usual = config.lr, hyper_of(config.stage)["lr"]
        advice = f"try --lr {lr / 10:g}" if lr <= usual else f"the tutorial uses --lr {usual:g}"
        kept = (f"; {self.folder} keeps epoch {history[-1].epoch}"
                if self.folder is not None and history else "")
        model = self.session.model
        layers = model.modules() if isinstance(model, torch.nn.Module) else ()
        resting = sorted({type(layer).__name__ for layer in layers
                          if isinstance(layer, _MODE_LAYERS) and not layer.training})
        if resting:  # a model that trains in eval mode: the rate is not what is wrong
            return MnistlabError(
                f"the training loss became {diverged.loss} in epoch {diverged.epoch}, batch "
                f"{diverged.batch}, with the model's {', '.join(resting)} layers in eval mode; "
                "call model.train() before the training batches (and model.eval() only for "
                f"validation){kept}")
        return MnistlabError(
            f"the training loss became {diverged.loss} in epoch {diverged.epoch}, batch "
            f"{diverged.batch}: learning rate {lr:g} is too large for this stage; "
            f"{advice}{kept}")


def run(stage: str, *, out: str | Path | RunFolder | None = None, force: bool = False,
        quiet: bool = False, trace: bool = False, plugin_objects: tuple[object, ...] = (),
        **settings: Any) -> RunResult:
    """Run one stage and return its result.

    Args:
        stage: a stage name from ``mnistlab stages``.
        out: the run folder to keep the run in (config, metrics, checkpoints,
            weights, pictures); none by default.
        force: replace the run that ``out`` already holds.
        quiet: leave out the plugins that only print (the report, the progress bar).
        trace: print every hook call and who answered it, to stderr.
        plugin_objects: plugins given as objects (modules or instances), added
            after ``settings["plugins"]``; handy in a notebook.
        **settings: the run's settings (``epochs``, ``bs``, ``lr``, ``seed``,
            ``data``, ``plugins``, ``options``, ...; see ``RunConfig``).
    """
    stage = arguments.text("stage", stage, "a stage name from `mnistlab stages`")
    plugin_objects = arguments.objects("plugin_objects", plugin_objects)
    force, quiet, trace = (arguments.flag(name, value) for name, value in
                           (("force", force), ("quiet", quiet), ("trace", trace)))
    config = make_config(stage, **settings)
    folder = (out if isinstance(out, RunFolder) or out is None
              else RunFolder(arguments.path("out", out)))
    with reproducible(config.deterministic) as use_device, watched():
        session = assemble(config, plugin_objects, quiet=quiet, trace=trace,
                           use_device=use_device)
        return Run(session, folder, force=force).train()


def resume(folder: str | Path | RunFolder, *, plugins: tuple[str, ...] = (),
           plugin_objects: tuple[object, ...] = (), quiet: bool = False, trace: bool = False,
           write: bool = True, **settings: Any) -> RunResult:
    """Continue the run kept in ``folder`` from its last complete epoch.

    The settings come from the folder's ``config.json``; ``epochs`` may be
    raised to train longer and ``blocked`` may leave out observers. The
    run's ``--plugin`` files are never imported from the folder: pass them
    again in ``plugins``. With the same settings, the final weights equal
    those of a run that was never interrupted. ``write=False`` leaves the
    folder as it is (the other processes of a run of N processes read it).
    """
    folder, plugins, plugin_objects = _opened(folder, plugins, plugin_objects)
    quiet, trace, write = (arguments.flag(name, value) for name, value in
                           (("quiet", quiet), ("trace", trace), ("write", write)))
    # Only what was given: None, False and () are what a command passes for "not given"
    # (compared by identity, since 0 == False and --seed 0 is a value).
    given = {key: value for key, value in settings.items()
             if not (value is None or value is False or value == ())}
    fixed = [f"--{key.replace('_', '-')}" for key in given if key not in RESUMABLE]
    if fixed:
        raise MnistlabError(f"--resume continues {folder} with its recorded settings, which "
                            f"{', '.join(fixed)} would change; drop them, or start a new run "
                            "with --out")
    record = folder.read_record()
    checkpoint = folder.read_checkpoint()
    config = records.recorded_config(folder, record, plugins,
                                     set(map(object_name, plugin_objects)), **given)
    with reproducible(config.deterministic) as use_device, watched():
        session = assemble(config, plugin_objects, quiet=quiet, trace=trace,
                           use_device=use_device)
        if records.data_changed(record, session):
            raise MnistlabError(f"the data {session.data.name!r} differs from the data the run "
                                f"in {str(folder)!r} trained on (checksums differ); resume "
                                "needs the same data")
        try:
            load_state_dict(session, checkpoint)
        except (RuntimeError, KeyError, TypeError, ValueError) as error:
            why = str(error) if isinstance(error, ValueError) else type(error).__name__
            raise MnistlabError(f"{CHECKPOINT} in {str(folder)!r} does not fit this run of "
                                f"stage {config.stage} ({why}); the run folder is damaged"
                                ) from None
        done = session.first_epoch - 1
        if config.epochs < done:  # only a smaller --epochs than recorded can get here
            raise MnistlabError(f"the run in {str(folder)!r} has trained {plural(done, 'epoch')}; "
                                f"--epochs {config.epochs} would train none: pass more than "
                                f"{done} to train longer, or leave --epochs out")
        return Run(session, folder if write else None).train()


def load(folder: str | Path | RunFolder, *, plugins: tuple[str, ...] = (),
         plugin_objects: tuple[object, ...] = ()) -> Any:
    """The trained model of a run folder, in eval mode (see :func:`open_run`)."""
    return open_run(folder, plugins, plugin_objects)[0].model


def open_run(folder: str | Path | RunFolder, plugins: tuple[str, ...] = (),
             plugin_objects: tuple[object, ...] = ()) -> tuple[Session, dict[str, Any]]:
    """The run of a folder, assembled again with its final weights in eval mode; its record.

    The run is assembled from its ``config.json``, exactly as ``resume`` would,
    then the weights are read from ``model.pt`` with ``weights_only=True``.
    """
    folder, plugins, plugin_objects = _opened(folder, plugins, plugin_objects)
    record = folder.read_record()
    weights = folder.read_weights()
    config = records.recorded_config(folder, record, plugins,
                                     set(map(object_name, plugin_objects)))
    session = assemble(config, plugin_objects, quiet=True)
    try:
        load_weights(session.model, weights)
    except (RuntimeError, ValueError, TypeError) as error:
        raise MnistlabError(f"{MODEL} in {str(folder)!r} does not fit the model of stage "
                            f"{config.stage} ({type(error).__name__}); the run folder is "
                            "damaged") from None
    if hasattr(session.model, "eval"):
        session.model.eval()
    return session, record


def _opened(folder: Any, plugins: Any, plugin_objects: Any
            ) -> tuple[RunFolder, tuple[str, ...], tuple[object, ...]]:
    """The arguments every reader of a run folder takes, checked."""
    if not isinstance(folder, RunFolder):
        folder = RunFolder(arguments.path("run_dir", folder))
    return (folder, arguments.specs("plugins", plugins),
            arguments.objects("plugin_objects", plugin_objects))
