"""Observer: keep the run on disk, in a folder you can resume, compare and load.

Writes ``config.json`` (with a copy of each ``--plugin`` file) before the
first epoch; after each epoch, ``metrics.csv`` and a ``checkpoint.pt`` to
resume from; at the end, the final weights as ``model.pt`` and two plots.
Every file is written atomically. Only active when the run has an ``out``
folder, which the runner has locked and checked (the CLI always gives one).
Block it with ``--no-plugin run_folder``.
"""

from dataclasses import asdict
from pathlib import Path

from mnistlab import runs
from mnistlab.hookspecs import hookimpl
from mnistlab.metrics import first_predictions
from mnistlab.session import weights_of


@hookimpl
def before_run(session):
    out = session.config.out
    if out is None:
        return
    # Written on resume too: a longer --epochs is part of the record.
    runs.write_config(Path(out), session)
    if session.first_epoch == 1:
        runs.write_metrics(Path(out), [])


@hookimpl
def after_epoch(session):
    out = session.config.out
    if out is None:
        return
    # The checkpoint first: metrics.csv never lists an epoch that cannot be resumed.
    runs.save_torch(session.state_dict(), Path(out) / runs.CHECKPOINT)
    runs.write_metrics(Path(out), [asdict(epoch) for epoch in session.history])


@hookimpl
def after_run(session, result):
    out = session.config.out
    if out is None:
        return
    from mnistlab import plots  # matplotlib takes 0.3 s to import: only when a folder is kept

    folder = Path(out)
    runs.save_torch(weights_of(session.model), folder / runs.MODEL)
    plots.save_figure(plots.loss_curves({session.config.stage: result.history}),
                      folder / runs.LOSS_CURVES)
    images, labels, predictions = first_predictions(session, count=24)
    plots.save_figure(plots.digit_grid(images, labels, predictions), folder / runs.DIGITS)
