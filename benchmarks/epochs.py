"""How long does one epoch of each stage take, and how much of it is cutting batches?

For every stage and device, this script trains one epoch on the same tensors (the sample's
training set tiled to ``--rows`` rows) through ``mnistlab.run`` and reports:

* the epoch's seconds (``EpochResult.seconds``: training, plus the per-epoch validation of the
  loops that validate);
* milliseconds per optimizer step (the epoch's seconds over its steps);
* the seconds one pass of the stage's batches piece takes on its own, with no model: what
  cutting the batches costs, and its share of the epoch.

The first run of each stage and device is a warm-up and is not reported. On a GPU every
measured span ends with ``torch.cuda.synchronize()``. Run ``python benchmarks/epochs.py --help``.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

import mnistlab
from mnistlab import data as mnist_data
from mnistlab.hookspecs import hookimpl
from mnistlab.stages import STAGE_NAMES
from mnistlab.types import Tensors


class GivenData:
    """A data plugin that hands every run the same tensors."""

    def __init__(self, tensors: Tensors) -> None:
        self.tensors = tensors

    @hookimpl
    def make_data(self):
        return self.tensors


def tiled_sample(rows: int) -> Tensors:
    sample = mnist_data.load("sample")
    reps = -(-rows // len(sample.x_train))
    x = torch.tensor(np.tile(sample.x_train, (reps, 1))[:rows])
    y = torch.tensor(np.tile(sample.y_train, reps)[:rows])
    return Tensors(x, y, torch.tensor(sample.x_valid), torch.tensor(sample.y_valid),
                   name=f"sample x{rows}")


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def epoch(stage: str, tensors: Tensors, device: str) -> tuple[float, int]:
    result = mnistlab.run(stage, epochs=1, device=device, quiet=True,
                          plugin_objects=(GivenData(tensors),))
    return result.epochs[-1].seconds, result.steps


class TimeBatching:
    """Times one shuffled pass of the run's batches piece over the training split, before
    the run trains (with ``session.cut``, which asks the piece as the loop's passes do)."""

    seconds = 0.0

    @hookimpl
    def before_run(self, session):
        x, y = session.data.split("train")
        sync(str(session.device))
        started = time.perf_counter()
        for _ in session.cut(x, y, session.config.bs, True, session.generator):
            pass
        sync(str(session.device))
        self.seconds = time.perf_counter() - started


def batching(stage: str, tensors: Tensors, device: str) -> float:
    """Seconds for one shuffled pass of the stage's batches piece over the training split."""
    timer = TimeBatching()
    mnistlab.run(stage, epochs=0, device=device, quiet=True,
                 plugin_objects=(GivenData(tensors), timer))
    return timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", nargs="+", default=list(STAGE_NAMES), metavar="STAGE")
    parser.add_argument("--devices", nargs="+", default=["cpu"], metavar="DEVICE",
                        help="cpu, cuda, ... (default: cpu)")
    parser.add_argument("--rows", type=int, default=50_000, help="training rows (default 50000)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tensors = tiled_sample(args.rows)
    cpu = platform.processor() or platform.machine()
    print(f"{args.rows:,} training rows, batch size 64, {args.threads} CPU threads, "
          f"torch {torch.__version__}, {cpu}"
          + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""))
    print("| stage | device | epoch s | ms per step | batching s | batching share |")
    print("|---|---|---:|---:|---:|---:|")
    for device in args.devices:
        for stage in args.stages:
            if device != "cpu" and stage in ("scratch", "functional", "module"):
                continue  # raw tensors and hand-made modules: see the stages' pages
            epoch(stage, tensors, device)  # warm-up
            seconds, steps = epoch(stage, tensors, device)
            cut = batching(stage, tensors, device)
            print(f"| {stage} | {device} | {seconds:.2f} | {1000 * seconds / steps:.2f} "
                  f"| {cut:.2f} | {cut / seconds:.0%} |", flush=True)
    # The distributed stage joined a process group of one in this process: leave it, as a
    # program that calls mnistlab.run() should.
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
