"""The commands that pages show, run through mnistlab's command line and kept between builds.

Each runs in a folder of its own, holding the files the page gives it and the repository files
it names (``examples/adam.py``) as a clone would, kept in build/docs-runs/ under a hash of
the command, those files and the code, for later builds of the same code to reuse."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import multiprocessing
import os
import re
import shlex
import shutil
import sys
import tempfile
import textwrap
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pluggy
import torch

from mnistlab.cli import cli

from .blocks import ROOT, fence

KEPT = ROOT / "build" / "docs-runs"
SCORES = re.compile(r"after training: loss (?P<loss>[\d.]+), accuracy (?P<accuracy>[\d.]+)")
# One thread: on a busy 2-core machine, one per core makes a CNN epoch 5-30 s instead of 0.6 s.
torch.set_num_threads(1)
_started: dict[str, Future] = {}  # commands running in worker processes
_pool: ProcessPoolExecutor | None = None


class Kept(NamedTuple):
    """A command run for a page."""

    command: str
    folder: Path  # where it ran
    output: str  # stdout and stderr, in the order written

    def block(self, lines: tuple[str, ...] = ()) -> str:
        """The output titled with the command; with ``lines``, those starting so, and notes."""
        shown = [line for line in self.output.splitlines()
                 if not lines or line.startswith(("note:", *lines))]
        return fence("\n".join(shown), title=self.command, wrap=True)

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
    if not (folder / "output.txt").is_file():  # the folder appears whole, in one rename
        started = _started.pop(line, None)
        started.result() if started else _run(line, files, folder)
    return Kept(line, folder, (folder / "output.txt").read_text("utf-8"))


def _files_and_folder(line: str, files: dict[str, str]) -> tuple[dict[str, str], Path]:
    files = {**{word: (ROOT / word).read_text("utf-8") for word in shlex.split(line)
                if (ROOT / word).is_file()},
             **{name: textwrap.dedent(text).lstrip() for name, text in files.items()}}
    key = json.dumps([fingerprint(), line, files]).encode()
    return files, KEPT / hashlib.sha256(key).hexdigest()[:32]


def _run(line: str, files: dict[str, str], folder: Path) -> None:
    KEPT.mkdir(parents=True, exist_ok=True)
    work, here = Path(tempfile.mkdtemp(dir=KEPT)), os.getcwd()  # made beside, then renamed
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
    with contextlib.suppress(OSError):  # the whole folder at once: builds see all of it or none
        work.rename(folder)
    shutil.rmtree(work, ignore_errors=True)  # there when a build beside this one kept it first


@functools.cache
def fingerprint() -> str:
    """What the output depends on: mnistlab, plugins, examples, this file, Python, torch, pluggy."""
    digest = hashlib.sha256(f"{sys.version} {torch.__version__} {pluggy.__version__}".encode()
                            + Path(__file__).read_bytes())
    for path in sorted(path for folder in ("mnistlab", "plugins", "examples")
                       for path in (ROOT / folder).rglob("*")
                       if path.is_file() and "__pycache__" not in path.parts):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def prefetch(lines: list[str], workers: int = 2) -> None:
    """Start the commands no build kept yet (they take no files) in worker processes, to run
    while the other pages render; spawned, since forking after torch's threads can hang."""
    global _pool
    todo = [line for line in lines if not (_files_and_folder(line, {})[1] / "output.txt").is_file()]
    if todo and _pool is None:
        _pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        _started.update({line: _pool.submit(command, line) for line in todo})


def reset() -> None:
    """Stop this build's workers and forget the code (``mkdocs serve`` builds again)."""
    global _pool
    fingerprint.cache_clear()
    _started.clear()
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
    _pool = None
