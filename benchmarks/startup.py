"""How long mnistlab takes to start: a zero-epoch run against the plain tutorial code's start.

A run with ``epochs=0`` does everything but train: it imports torch and the plugins, loads the
embedded sample, builds the model (and the optimizer), checks that the pieces fit and scores the
untrained model once. Its time beyond the plain code's own start is what mnistlab adds:

- ``scratch`` (and every stage up to ``linear``) builds no ``torch.optim`` optimizer, so its
  plain start is ``import torch``;
- ``dataloader`` builds an ``SGD``, whose first parameter group imports ``torch._dynamo`` (about
  1.1 s, torch's own cost, paid by the tutorial's plain code too), so its plain start is
  ``import torch`` plus building an ``SGD``.

The target: each zero-epoch run from Python (``mnistlab.run(stage, epochs=0)``, which keeps no
run folder) within 0.3 s of its plain start. The command line is timed too: ``--no-save`` and,
with a run folder, the two pictures it draws (matplotlib, imported only then).

Each command runs in a fresh process, ``--repeats`` times (default 7), interleaved round by
round so that a busy machine slows all of them alike; the script prints medians::

    .venv/bin/python benchmarks/startup.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 0.3
# Each zero-epoch run from Python, and the plain start it is measured against.
RUNS = {"scratch": "import torch", "dataloader": "torch + SGD"}


def commands(work: Path) -> dict[str, list[str]]:
    python = sys.executable
    cli = [python, "-m", "mnistlab", "run", "--stage", "dataloader", "--epochs", "0",
           "--data", "sample"]
    found = {
        "import torch": [python, "-c", "import torch"],
        "torch + SGD": [python, "-c", "import torch; "
                        "torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)"],
        "mnistlab --help": [python, "-m", "mnistlab", "--help"],
    }
    for stage in RUNS:
        found[f"run {stage}"] = [python, "-c", "import mnistlab; mnistlab.run("
                                 f"{stage!r}, epochs=0, data='sample', quiet=True)"]
    found["cli, --no-save"] = [*cli, "--no-save"]
    found["cli, run folder"] = [*cli, "--force", "--out", str(work / "run")]
    return found


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs of each command [7]")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mnistlab-startup-") as folder:
        work = Path(folder)
        # A data folder of its own: nothing downloaded, so the run takes the sample. Bytecode
        # is cached as it is for any user (a machine set to never write it would compile
        # mnistlab's sources again in every process, and measure that instead).
        env = {**os.environ, "MNISTLAB_DATA": str(work / "data")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        todo = commands(work)
        for command in todo.values():  # once each, untimed: warm the file cache
            timed(command, env)
        seconds: dict[str, list[float]] = {name: [] for name in todo}
        for _ in range(args.repeats):
            for name, command in todo.items():
                seconds[name].append(timed(command, env))

    medians = {name: statistics.median(times) for name, times in seconds.items()}
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} cores; median of {args.repeats} fresh processes each")
    for name, median in medians.items():
        spread = f"{min(seconds[name]):.2f}-{max(seconds[name]):.2f}"
        print(f"{name:<16} {median:6.2f} s   (range {spread} s)")
    met = True
    for stage, plain in RUNS.items():
        beyond = medians[f"run {stage}"] - medians[plain]
        met &= beyond <= TARGET_S
        print(f"zero-epoch {stage} beyond `{plain}`: {beyond:+.2f} s "
              f"(target {TARGET_S} s: {'met' if beyond <= TARGET_S else 'not met'})")
    pictures = medians["cli, run folder"] - medians["cli, --no-save"]
    print(f"a run folder adds {pictures:+.2f} s: its files and two pictures (matplotlib)")
    return 0 if met else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
