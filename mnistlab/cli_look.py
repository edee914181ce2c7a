"""The commands that look at runs and digits: ``compare``, ``show`` and ``predict``.

:mod:`mnistlab.cli` attaches them to the main group. As everywhere in the CLI,
torch, matplotlib and the plots load inside the commands, so that ``mnistlab
--help`` answers at once. Problems the user can fix are raised as
``MnistlabError``, which the main group prints as one line.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mnistlab.errors import MnistlabError, closest
from mnistlab.stages import STAGE_NAMES
from mnistlab.words import plural

if TYPE_CHECKING:
    import numpy as np

DATA_HELP = ("sample, mnist, fashion-mnist, or a local file or folder "
             "[default: mnist if downloaded, else sample].")
DATA_DIR_HELP = "The dataset cache [default: $MNISTLAB_DATA or the user cache folder]."


@dataclass(frozen=True)
class Compared:
    """One run in ``compare``: where it came from, its history and its final scores.

    The final scores are the validation after training, which every run measures the
    same way, whatever its loop measured each epoch (the early stages' loops measure
    nothing on the valid split, ``fit()`` the loss alone). A run folder keeps them in
    ``scores.json``; a folder written before mnistlab kept them is scored here, from
    its final weights. A run that never finished has none: its scores are ``None``,
    and ``missing`` says why.
    """

    name: str
    stage: str
    history: list[dict[str, Any]]
    valid_loss: float | None
    valid_acc: float | None
    missing: str | None = None


@click.command()
@click.argument("runs", nargs=-1, required=True, metavar="STAGE_OR_RUN_DIR...")
@click.option("--epochs", type=click.IntRange(min=0),
              help="Epochs for the stages run here [default: as for `mnistlab run`].")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for the stages run here.")
@click.option("--data", help=f"Data for the stages run here: {DATA_HELP}")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Where to save the loss curves [default: runs/compare-YYYYmmdd-HHMMSS.png].")
def compare(runs: tuple[str, ...], epochs: int | None, seed: int, data: str | None,
            out: str | None) -> None:
    """Compare runs side by side: one table of final scores, one plot of loss curves.

    Each argument is a stage name, which is trained here with --epochs, --seed
    and --data, or a run folder written by `mnistlab run`, which is read as it
    is. A stage name wins over a folder of the same name: write ./fit for the
    folder.
    """
    from mnistlab import plots

    compared = _gather(runs, epochs=epochs, seed=seed, data=data)
    _print_table(compared)
    figure = plots.loss_curves({run.name: run.history for run in compared})
    path = plots.save_figure(figure, out or f"runs/compare-{time.strftime('%Y%m%d-%H%M%S')}.png")
    click.echo(f"loss curves: {path}")


def _gather(arguments: Sequence[str], **settings: Any) -> list[Compared]:
    """Check every argument, read the run folders, then train the stages.

    Folders are read before any stage trains, so a typo in the last argument
    fails at once rather than after minutes of training.
    """
    repeated = sorted({argument for argument in arguments if arguments.count(argument) > 1})
    if repeated:
        raise MnistlabError(f"{', '.join(map(repr, repeated))} given more than once; "
                            "name each stage or run folder once")
    folders = {argument: _read_folder(argument)
               for argument in arguments if _is_run_folder(argument)}
    return [folders.get(argument) or _train(argument, **settings) for argument in arguments]


def _is_run_folder(argument: str) -> bool:
    """Whether ``argument`` names a run folder rather than a stage; refuse anything else."""
    if argument in STAGE_NAMES:
        return False
    if Path(argument).is_dir():
        return True
    raise MnistlabError(f"{argument!r} is neither a stage nor a run folder"
                        f"{closest(argument, STAGE_NAMES)}; run `mnistlab stages` to list them")


def _read_folder(folder: str) -> Compared:
    from mnistlab.runfolder import MODEL, RunFolder

    run = RunFolder(folder)
    stage, history = run.read_record()["stage"], run.read_history()
    scores = run.read_scores()
    if scores is not None:
        return Compared(folder, stage, history, scores["valid_loss"], scores["valid_acc"])
    if not (run.path / MODEL).is_file():
        return Compared(folder, stage, history, None, None, "the run did not finish; "
                        f"`mnistlab run --resume {folder}` finishes it")
    return Compared(folder, stage, history, *_score_now(run))


def _score_now(run: Any) -> tuple[float | None, float | None, str | None]:
    """Score the final weights of a run that an older mnistlab kept without its scores."""
    from mnistlab.metrics import final_scores
    from mnistlab.runner import open_run

    try:
        session, _ = open_run(run)
    except MnistlabError as error:  # its --plugin files, its data: what `predict` needs too
        return None, None, f"cannot be scored here: {error}"
    return (*final_scores(session), None)


def _train(stage: str, *, epochs: int | None, seed: int, data: str | None) -> Compared:
    import mnistlab

    click.echo(f"training {stage} ...", err=True)
    result = mnistlab.run(stage, epochs=epochs, seed=seed, data=data, quiet=True)
    return Compared(stage, stage, result.history, result.valid_loss, result.valid_acc)


def _print_table(compared: Sequence[Compared]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="compare: final scores")
    table.add_column("name", style="bold", overflow="fold")
    table.add_column("stage")
    for column in ("epochs", "train loss", "valid loss", "valid acc", "s/epoch"):
        table.add_column(column, justify="right")
    for run in compared:
        last = run.history[-1] if run.history else {}
        seconds = [row["seconds"] for row in run.history if row.get("seconds") is not None]
        table.add_row(run.name, run.stage, str(len(run.history)),
                      _number(last.get("train_loss"), ".4f"), _number(run.valid_loss, ".4f"),
                      _number(run.valid_acc, ".1%"),
                      _number(sum(seconds) / len(seconds) if seconds else None, ".2f"))
    missing = [f"{run.name}: {run.missing}" for run in compared if run.missing]
    table.caption = "\n".join(["valid loss, valid acc: the validation after training",
                               *missing])
    console = Console()
    if not console.is_terminal:  # a pipe or a file: no wrapping, no truncated names
        console = Console(width=200)
    console.print(table)


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


@click.command()
@click.option("--index", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which training digit; with --grid, the first one.")
@click.option("--grid", type=click.IntRange(min=1), metavar="N",
              help="Save N digits in a grid, each titled with its label.")
@click.option("--data", help=DATA_HELP)
@click.option("--data-dir", type=click.Path(file_okay=False), help=DATA_DIR_HELP)
@click.option("--out", type=click.Path(dir_okay=False),
              help="Where to save it [default: a new file in the system's temporary folder].")
def show(index: int, grid: int | None, data: str | None, data_dir: str | None,
         out: str | None) -> None:
    """Save a training digit as a picture: the tutorial's first plot.

    By default x_train[0], its 28x28 gray pixels drawn 10 times larger. Prints
    where the picture is and the digit's label. Without --out the picture goes
    into the system's temporary folder, never into the current one.
    """
    from mnistlab import data as datasets
    from mnistlab import plots

    splits = datasets.load(data, data_dir)
    count = grid or 1
    _check_range(splits.x_train, f"{splits.name} train", index, count)
    images = splits.x_train[index:index + count]
    labels = [int(label) for label in splits.y_train[index:index + count]]
    if grid is None:
        path = plots.save_figure(plots.digit_image(images[0]),
                                 out or _temporary_png(f"digit-{index}"))
        click.echo(f"saved {path}")
        click.echo(f"label: {labels[0]}")
    else:
        path = plots.save_figure(plots.digit_grid(images, labels),
                                 out or _temporary_png(f"digits-{index}-{index + count - 1}"))
        click.echo(f"saved {path}")
        click.echo(f"labels: {' '.join(map(str, labels))}")


def _temporary_png(name: str) -> Path:
    """A new file ``mnistlab-NAME-XXXXXXXX.png`` in the system's temporary folder, made by
    ``mkstemp`` (so no other user can have put one there): a picture asked for only to be
    looked at lands where nothing of the user's is, and where the system clears it away."""
    import os
    import tempfile

    handle, path = tempfile.mkstemp(prefix=f"mnistlab-{name}-", suffix=".png")
    os.close(handle)
    return Path(path)


def _check_range(images: np.ndarray, what: str, start: int, count: int) -> None:
    """Refuse digits past the end, which numpy slicing would silently drop."""
    total = len(images)
    if start + count > total:
        wanted = (f"digit {start} does" if count == 1
                  else f"digits {start}..{start + count - 1} do")
        raise MnistlabError(f"{wanted} not exist: there {'is' if total == 1 else 'are'} "
                            f"{plural(total, f'{what} digit', spec=',')} (0..{total - 1})")


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--n", "count", type=click.IntRange(min=1), default=16, show_default=True,
              help="How many validation digits to predict, from the first.")
@click.option("--plugin", "-p", "plugins", multiple=True,
              help="A --plugin file the run used; a run folder never imports one by itself.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Where to save the grid [default: RUN_DIR/predictions.png].")
def predict(run_dir: str, count: int, plugins: tuple[str, ...], out: str | None) -> None:
    """Predict validation digits with a run's trained model.

    Prints each digit's index, true label and prediction, then the accuracy on
    them, and saves them in a grid with the wrong predictions in red. The run
    is assembled again from its config.json, so the digits come from the data
    it trained on, shaped by its own batches piece.
    """
    from mnistlab import plots
    from mnistlab.metrics import first_predictions
    from mnistlab.record import data_changed
    from mnistlab.runfolder import PREDICTIONS, RunFolder
    from mnistlab.runner import open_run

    folder = RunFolder(run_dir)
    session, record = open_run(folder, plugins)
    if data_changed(record, session):
        click.echo(f"warning: {session.data.name} differs from the data this run trained on "
                   "(checksums differ); the predictions are on the data as it is now", err=True)
    _check_range(session.data.x_valid, f"{session.data.name} valid", 0, count)
    images, labels, predictions = first_predictions(session, count)
    click.echo(f"{'index':>5}  {'true':>4}  {'predicted':>9}")
    for index, (label, prediction) in enumerate(zip(labels, predictions, strict=True)):
        mark = "" if label == prediction else "  wrong"
        click.echo(f"{index:>5}  {label:>4}  {prediction:>9}{mark}")
    correct = int((labels == predictions).sum())
    click.echo(f"accuracy: {correct}/{count} ({correct / count:.1%})")
    figure = plots.digit_grid(images, labels, predictions)
    path = plots.save_figure(figure, out or folder.path / PREDICTIONS)
    click.echo(f"saved {path}")
