"""Observer: a progress bar for each epoch, in a terminal or a Jupyter notebook.

Shows the batches done, batches per second, the running training loss and
the time left. In a pipe or a CI log it draws nothing, so the console's one
line per epoch is all there is. It only shows the run, and says so with
``PRINTS_ONLY``: ``--quiet`` leaves it out. Block it with ``--no-plugin progress``.

A notebook's output is no terminal: escape codes would show as text there.
In a Jupyter kernel the bar is an HTML ``<progress>`` that IPython's
``display`` draws once and updates in place, at most ten times a second.

The bar is state, so the plugin is an object: ``make_plugin()`` gives each
run a fresh one, and nothing leaks from one run to the next. Without a
terminal or a notebook it returns ``None`` and the run has no per-batch
observer at all.
"""

import math
import sys
import time

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


class NotebookBar:
    def __init__(self):
        self.shown = None

    @hookimpl
    def before_epoch(self, session, epoch):
        from IPython.display import display

        self.epoch, self.done, self.updated = epoch, 0, 0.0
        self.total = math.ceil(len(session.data.x_train) / session.config.bs)
        if self.shown is None:  # one bar for the run, below what the run printed so far
            sys.stdout.flush()
            self.shown = display(self.bar("-"), raw=True, display_id=True)

    @hookimpl
    def after_batch(self, loss):
        self.done += 1
        if time.monotonic() - self.updated > 0.1 or self.done == self.total:
            self.updated = time.monotonic()
            self.shown.update(self.bar(f"{loss:.4f}"), raw=True)

    def bar(self, loss):
        text = f"epoch {self.epoch}  {self.done}/{self.total}  loss {loss}"
        return {"text/plain": text,
                "text/html": f'<progress value="{self.done}" max="{self.total}"></progress> '
                             f"<code>{text}</code>"}


def in_notebook():
    ipython = sys.modules.get("IPython")  # imported by every Jupyter kernel for Python
    return ipython is not None and hasattr(ipython.get_ipython(), "kernel")


def make_plugin():
    if in_notebook():
        return NotebookBar()
    return ProgressBar() if sys.stdout is not None and sys.stdout.isatty() else None
