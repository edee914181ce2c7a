"""How long mnistlab takes to start: a zero-epoch run against ``python -c "import torch"``.

A run with ``--epochs 0`` does everything but train: it starts Python, imports torch and the
plugins, loads the embedded sample, builds the model and the optimizer, scores the untrained
model once on the validation digits, and writes its run folder with both plots. Its time beyond
importing torch is what mnistlab itself adds to every command that runs a stage.

Each command runs in a fresh process, ``--repeats`` times (default 5), the commands interleaved
round by round so that a busy machine slows all of them alike; the script prints the median
wall time of each, then splits the run's time beyond ``import torch`` into its parts:

- ``import torch``: the floor, what any PyTorch script pays;
- ``torch + SGD``: importing torch and building one ``torch.optim.SGD``, which imports
  ``torch._dynamo`` on first use (torch's own cost, paid by the tutorial's plain code too);
- ``mnistlab --help``: the command line, which must not import torch;
- ``run, no folder``: the zero-epoch run with ``--no-plugin run_folder``, so no files and
  no plots;
- ``zero-epoch run``: ``mnistlab run --stage dataloader --epochs 0 --data sample --out DIR``.

The target is a zero-epoch run within 0.5 s of ``import torch``. Run it with the Python of the
environment to measure::

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

TARGET_S = 0.5


def commands(work: Path) -> dict[str, list[str]]:
    python = sys.executable
    run = [python, "-m", "mnistlab", "run", "--stage", "dataloader", "--epochs", "0",
           "--data", "sample", "--force", "--out", str(work / "run")]
    return {
        "import torch": [python, "-c", "import torch"],
        "torch + SGD": [python, "-c", "import torch; "
                        "torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)"],
        "mnistlab --help": [python, "-m", "mnistlab", "--help"],
        "run, no folder": [*run, "--no-plugin", "run_folder"],
        "zero-epoch run": run,
    }


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each command [5]")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mnistlab-startup-") as folder:
        work = Path(folder)
        # A data folder of its own: nothing downloaded, so the run takes the sample.
        env = {**os.environ, "MNISTLAB_DATA": str(work / "data")}
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
    run, torch_only = medians["zero-epoch run"], medians["import torch"]
    beyond = run - torch_only
    print(f"zero-epoch run beyond import torch: {beyond:+.2f} s "
          f"(target {TARGET_S} s: {'met' if beyond <= TARGET_S else 'not met'}), of which")
    optimizer = medians["torch + SGD"] - torch_only
    folder = run - medians["run, no folder"]
    print(f"  {optimizer:+.2f} s  torch's first optimizer (torch._dynamo)")
    print(f"  {folder:+.2f} s  the run folder: plots (matplotlib) and files")
    print(f"  {beyond - optimizer - folder:+.2f} s  the rest: mnistlab's imports, the sample, "
          "the model, one validation pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
