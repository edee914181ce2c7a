"""What the test files share: a quick run on tiny data, the command line's one-line error, the
plugin-file writer, and small readers of what a run leaves behind.

The tests folder has no ``__init__.py``, so pytest's default import mode puts it on ``sys.path``
and a test file writes ``from helpers import quick_run``, as it does ``from idx_server ...``.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import signal
import struct
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, NamedTuple

from click.testing import CliRunner, Result

import mnistlab
from mnistlab import hookimpl
from mnistlab.cli import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EARLY_STOPPING = str(EXAMPLES / "early_stopping.py")

# --- tiny data -----------------------------------------------------------------------------

TINY_TRAIN_ROWS = 256
TINY_VALID_ROWS = 128
"""The tiny data set: the first rows of each split of the embedded sample. At the default batch
sizes (64 and 128) an epoch is 4 training steps and 1 validation batch, so a run trains in
milliseconds. For the tests where the numbers are not the point: folders, errors, plumbing."""


class Batches(NamedTuple):
    """Batches in one epoch at the default batch sizes."""

    train: int
    valid: int


def default_batches(train_rows: int, valid_rows: int) -> Batches:
    """How many batches one epoch over that many rows takes at the default batch sizes."""
    from mnistlab.config import make_config

    defaults = make_config("fit", data="sample")
    return Batches(math.ceil(train_rows / defaults.bs), math.ceil(valid_rows / defaults.valid_bs))


TINY_BATCHES = default_batches(TINY_TRAIN_ROWS, TINY_VALID_ROWS)


def tiny_data() -> str:
    """The path of the tiny data set, a file in the tutorial's pickle format (``--data PATH``).

    Written on first use into this session's data folder (``MNISTLAB_DATA``, which conftest
    makes fresh for every session), so the command line, resume and a subprocess read it as
    any user's file.
    """
    path = Path(os.environ["MNISTLAB_DATA"]) / "tiny" / "mnist.pkl"
    if not path.exists():
        from mnistlab.data import load

        sample = load("sample")
        train = (sample.x_train[:TINY_TRAIN_ROWS], sample.y_train[:TINY_TRAIN_ROWS])
        valid = (sample.x_valid[:TINY_VALID_ROWS], sample.y_valid[:TINY_VALID_ROWS])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps((train, valid, valid), protocol=2))  # valid doubles as test
    return str(path)


def quick_run(stage: str = "fit", out: str | Path | None = None, **settings: Any) -> Any:
    """``mnistlab.run`` for one epoch on the tiny data, without the console; ``settings`` win."""
    settings = {"epochs": 1, "data": tiny_data(), "blocked": ["console"], **settings}
    return mnistlab.run(stage, out=None if out is None else str(out), **settings)


# --- the command line ----------------------------------------------------------------------


def invoke(*args: str) -> Result:
    """``mnistlab ARGS`` in this process; an exception the command does not handle is raised."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def refused(*args: str) -> str:
    """The one error line of ``mnistlab ARGS``, which must be refused with exit status 2."""
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line[len("error: "):]


def train_command(*args: str, stage: str = "fit", epochs: int = 1) -> list[str]:
    """``run`` on the tiny data keeping no run folder, then ``args``: for ``invoke``/``refused``."""
    return ["run", "--stage", stage, "--epochs", str(epochs), "--data", tiny_data(), "--no-save",
            *args]


def without_seconds(summary: dict) -> dict:
    """A run's JSON (``mnistlab run --json``'s last line) less its timings, which must be
    there, as seconds: the numbers two runs of the same code and data share."""
    summary = json.loads(json.dumps(summary))
    timings = [summary.pop("train_seconds")] + [epoch.pop("seconds")
                                                for epoch in summary["history"]]
    assert all(isinstance(seconds, float) and seconds >= 0 for seconds in timings)
    return summary


def mnistlab_process(*args: str, **run: Any) -> subprocess.CompletedProcess[str]:
    """``python -m mnistlab ARGS`` as a real process, its output captured as text."""
    return subprocess.run([sys.executable, "-m", "mnistlab", *args], capture_output=True,
                          text=True, **run)


# --- plugins -------------------------------------------------------------------------------


def write_plugin(folder: Path, body: str, name: str = "mine") -> str:
    """Write ``body`` (dedented) as the plugin file ``folder/NAME.py``; return its path."""
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


class InterruptAt:
    """A plugin object that presses Ctrl-C at training step ``step`` of epoch ``epoch``."""

    def __init__(self, epoch: int, step: int, steps_per_epoch: int) -> None:
        self.epoch, self.step, self.steps_per_epoch = epoch, step, steps_per_epoch

    @hookimpl
    def after_batch(self, epoch: int, step: int) -> None:
        if epoch == self.epoch and step % self.steps_per_epoch == self.step:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C itself: a KeyboardInterrupt is code's


def interrupt_mid_epoch(epoch: int, batches: Batches = TINY_BATCHES) -> InterruptAt:
    """A plugin object that presses Ctrl-C halfway through ``epoch`` of ``batches.train`` steps."""
    return InterruptAt(epoch, batches.train // 2, batches.train)


# --- what a run leaves behind --------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the PNG header, which must be a real PNG's."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR", f"{path} is no PNG"
    return struct.unpack(">II", header[16:24])


def flat_weights(model: Any) -> Any:
    """Every parameter of ``model`` in one flat tensor, to compare two models exactly."""
    import torch

    return torch.cat([p.detach().flatten() for p in model.parameters()])
