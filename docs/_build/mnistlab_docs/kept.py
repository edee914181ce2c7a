"""The commands that pages show, run through mnistlab's command line and kept between builds:
each in a folder of its own, with the files the page gives it and the repository files it names
(``examples/adam.py``) as a clone would, in build/docs-runs/ (store.py) under a hash of the
command, those files and the code. Of two builds at once, the first to need a command runs it."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import multiprocessing
import os
import re
import shlex
import tempfile
import textwrap
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

import torch

from mnistlab.cli import cli

from . import store
from .blocks import ROOT, fence

SCORES = re.compile(r"after training: loss (?P<loss>[\d.]+), accuracy (?P<accuracy>[\d.]+)")
# One thread: on a busy 2-core machine, one per core makes a CNN epoch 5-30 s instead of 0.6 s.
torch.set_num_threads(1)
_started: dict[str, Future] = {}  # commands running in worker processes
_pool: ProcessPoolExecutor | None = None
_beside: set[str] = set()  # commands the build beside this one runs: waited for, not run


class Kept(NamedTuple):
    """A command run for a page."""

    command: str
    folder: Path  # where it ran
    output: str  # stdout and stderr, in the order written

    def block(self, lines: tuple[str, ...] = ()) -> str:
        """The output titled with the command; with ``lines``, those starting so, and notes."""
        shown = [line for line in self.output.splitlines()
                 if not lines or line.startswith(("note:", *lines))]
        return fence("\n".join(shown), title=self.command, wrap=True,
                     searched=not SCORES.search(self.output))  # a training run's numbers

    @property
    def run_folder(self) -> Path:
        return next((self.folder / "runs").iterdir())  # runs/STAGE-YYYYmmdd-HHMMSS

    @property
    def scores(self) -> dict[str, str]:  # what `mnistlab run` printed last: loss, accuracy
        return SCORES.search(self.output).groupdict()


def command(line: str, files: dict[str, str] | None = None) -> Kept:
    """Run ``line`` (``mnistlab ...``) with ``files`` (name -> text) in its folder, or take
    what an earlier build kept. A refusal (``error: ...``) is output; a crash stops the build."""
    files, folder = _files_and_folder(line, files or {})
    output = folder / "output.txt"  # there once the folder is: it appears whole, in one rename
    if not output.is_file():
        started = _started.pop(line, None)
        if started and not started.cancel():  # a worker took it (else it runs here, below)
            started.result()
        elif line in _beside:
            store.wait_until_made(output)
        else:
            store.made_once(output, lambda: _run(line, files, folder))
    return Kept(line, folder, output.read_text("utf-8"))


def _files_and_folder(line: str, files: dict[str, str]) -> tuple[dict[str, str], Path]:
    files = {**{word: (ROOT / word).read_text("utf-8") for word in shlex.split(line)
                if (ROOT / word).is_file()},
             **{name: textwrap.dedent(text).lstrip() for name, text in files.items()}}
    key = json.dumps([store.fingerprint(), line, files]).encode()
    return files, store.KEPT / hashlib.sha256(key).hexdigest()[:32]


def _run(line: str, files: dict[str, str], folder: Path) -> None:
    work, here = Path(tempfile.mkdtemp(dir=store.KEPT)), os.getcwd()  # made beside, then renamed
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text, "utf-8")
    printed = io.StringIO()  # one unbuffered stream: lines keep the order they were written in
    try:
        os.chdir(work)  # where its relative paths lead: runs/, --plugin files
        with (contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed),
              contextlib.suppress(SystemExit)):  # click's standalone mode always exits
            cli.main(shlex.split(line)[1:], prog_name="mnistlab")
    finally:
        os.chdir(here)
    (work / "output.txt").write_text(printed.getvalue(), "utf-8")
    work.rename(folder)  # the whole folder at once: a build reading it sees all of it or none


def prefetch(lines: list[str], workers: int = 2) -> None:
    """Start the commands no build kept yet (they take no files) in worker processes, to run
    while the other pages render: copies of this process (forked), with what runs import, unless
    it runs other threads (``mkdocs serve`` rebuilds in one), which can deadlock a copy."""
    global _pool
    todo = [line for line in lines if not (_files_and_folder(line, {})[1] / "output.txt").is_file()]
    if todo and _pool is None:  # imported once for all: a run's pictures, its optimizer's dynamo
        import matplotlib.backends.backend_agg  # noqa: F401
        import torch._dynamo  # noqa: F401
        start = "fork" if threading.active_count() == 1 else "spawn"
        _pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(start))
        _started.update({line: _pool.submit(command, line) for line in todo})


def run_beside(lines: list[str]) -> None:
    """Wait for the commands of ``lines`` rather than run them: the English build, which
    scripts/build_docs.py starts beside this one, runs them; two training would slow both."""
    _beside.update(lines)


def reset() -> None:
    """Stop this build's workers and forget the code (``mkdocs serve`` builds again)."""
    global _pool
    store.fingerprint.cache_clear()
    _started.clear()
    _beside.clear()
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
    _pool = None
