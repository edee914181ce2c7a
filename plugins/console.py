"""Observer: print the run as it goes, one line per epoch.

The early stages' loop also reports what the tutorial prints after each epoch,
the loss and accuracy of the last training batch alone; the line shows that
accuracy as a count of the batch's digits, since it says little about the model.

It only shows the run, and says so with ``PRINTS_ONLY``: ``--quiet`` leaves
it out. Block it with ``--no-plugin console`` or replace it with your own
``after_epoch``.
"""

from mnistlab.config import TUTORIAL_EPOCHS, tutorial_epochs
from mnistlab.hookspecs import hookimpl
from mnistlab.introspect import describe, describe_update
from mnistlab.words import plural

PRINTS_ONLY = True


def _number(value, digits=4):
    return "-" if value is None else f"{value:.{digits}f}"


@hookimpl
def before_run(session):
    config = session.config
    print(f"data: {session.data.description}")
    print(f"stage {config.stage}: {plural(config.epochs, 'epoch')}, bs {config.bs} (valid "
          f"{config.valid_bs}), seed {config.seed}, device {session.device}, update "
          f"{describe_update(session.opt)}")
    swapped = [f"{piece} by {filled.plugin} ({filled.origin})"
               for piece, filled in session.pieces.items()
               if filled.origin in ("--plugin", "entry point", "object")]
    if swapped:
        print(f"swapped in: {', '.join(swapped)}")
    installed = [name for name, origin, _ in describe(session.pm) if origin == "entry point"]
    if installed:
        print(f"installed plugins in play: {', '.join(installed)}")
    if not config.deterministic:
        print("nondeterministic kernels: faster on a GPU, but the same seed may not give the "
              "same weights")
    if config.options:
        print(f"options: {', '.join(f'{k}={v}' for k, v in config.options.items())}")
    if config.epochs == tutorial_epochs(config.data) != TUTORIAL_EPOCHS:
        print(f"{plural(config.epochs, 'epoch')}: as many examples as the tutorial's 2 epochs "
              "over 50,000 images (pass --epochs to choose)")
    if session.first_epoch > config.epochs:  # a finished run, resumed
        print(f"nothing to train: the run's {plural(config.epochs, 'epoch')} "
              f"{'is' if config.epochs == 1 else 'are'} done (pass --epochs N to train longer)")
    else:
        print(f"{'epoch':>5}  {'train loss':>10}  {'valid loss':>10}  {'valid acc':>9}  "
              f"{'seconds':>7}")


def _last_batch_rows(session):
    """How many digits the epoch's last batch holds: those left after the full batches."""
    rows, bs = len(session.data.x_train), session.config.bs
    return rows % bs or bs


@hookimpl
def after_epoch(session, result):
    line = (f"{result.epoch:>5}  {result.train_loss:>10.4f}  {_number(result.valid_loss):>10}  "
            f"{_number(result.valid_acc):>9}  {result.seconds:>7.2f}")
    if result.last_batch_loss is not None:
        # What the tutorial prints, on one small batch: a count, so that nobody reads it as the
        # model's accuracy (the validation after training is that).
        rows = _last_batch_rows(session)
        right = round(result.last_batch_acc * rows)
        line += (f"  last batch of {plural(rows, 'digit')}: {right} right, "
                 f"loss {result.last_batch_loss:.4f}")
    print(line)


@hookimpl
def after_run(session, result):
    if session.stopped:
        print(f"stopped early: {session.stopped}")
    print(f"validation after training: loss {result.valid_loss:.4f}, accuracy "
          f"{result.valid_acc:.4f} ({plural(result.steps, 'step')}, {result.seconds:.1f} s)")
