"""Observer: a progress bar for each epoch, when the output is a terminal.

Shows the batches done, batches per second, the running training loss and
the time left. In a pipe or a CI log it draws nothing, so the console's one
line per epoch is all there is. It only shows the run, and says so with
``PRINTS_ONLY``: ``--quiet`` leaves it out. Block it with ``--no-plugin progress``.

The bar is state, so the plugin is an object: ``make_plugin()`` gives each
run a fresh one, and nothing leaks from one run to the next. Without a
terminal it returns ``None`` and the run has no per-batch observer at all.
"""

import math
import sys

from mnistlab.hookspecs import hookimpl

PRINTS_ONLY = True


class ProgressBar:
    def __init__(self):
        self.progress = None

    @hookimpl
    def before_epoch(self, session, epoch):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        batches = math.ceil(len(session.data.x_train) / session.config.bs)
        self.progress = Progress(
            TextColumn(f"epoch {epoch}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} batch/s  loss {task.fields[loss]}"),
            TimeRemainingColumn(), transient=True,
        )
        self.progress.add_task("train", total=batches, loss="-", rate="-")
        self.progress.start()

    @hookimpl
    def after_batch(self, loss):
        if self.progress is None:
            return
        task = self.progress.tasks[0]
        rate = f"{task.speed:.0f}" if task.speed else "-"
        self.progress.update(task.id, advance=1, loss=f"{loss:.4f}", rate=rate)

    @hookimpl
    def after_epoch(self):
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def make_plugin():
    return ProgressBar() if sys.stdout is not None and sys.stdout.isatty() else None
