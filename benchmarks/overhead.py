"""What does mnistlab's plugin kernel cost? Each stage against the same loop written plainly.

For every stage, this script trains the model twice on the same tensors, in one process:

* through mnistlab (``mnistlab.run``: pluggy, the runner, the ``Session``, the hooks), and
* "plain": the same model class, loss, update, batching and loop, called directly as
  straight-line tutorial code, with no plugin manager, no ``Session`` and no hooks.

Both time training only: from the first epoch to the end of the last one, per-epoch validation
included (the ``validation`` and ``fit`` loops validate every epoch); data loading, building the
plugin manager, creating the model and the final validation score excluded. For mnistlab this is
``RunResult.seconds``; the plain loop is timed around the same span with ``time.perf_counter``.
The plugin manager's cost per run is printed on its own line.

The two runs alternate (mnistlab then plain, then plain then mnistlab, ...) so that any drift of
the machine hits both, and the script reports the median of the per-pair ratios
``mnistlab seconds / plain seconds``: at least ``--repeats`` pairs, and more (up to
``--max-repeats``) until each side has trained ``--min-seconds`` in all, since a run on the
sample can last 20 ms. ``--noise`` adds the plain loop against itself, for the noise floor.
After every pair it checks that both runs produced exactly the same per-epoch numbers and the
same final weights: the comparison is of equal work.

The plain side is assembled from a table of plain pieces, one per plugin (``PLAIN_*`` below),
following the stage table's piece names (``mnistlab.stages.pieces_of``). The model classes, the
hand-written loss and the two small tutorial helpers (``ManualUpdate``, ``WrappedDataLoader``) come
from the plugin modules; the batching and the loops are written out here.

Run ``python benchmarks/overhead.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import optim
from torch.utils.data import DataLoader, TensorDataset

import mnistlab
from mnistlab import data as mnist_data
from mnistlab.config import make_config
from mnistlab.errors import MnistlabError
from mnistlab.hookspecs import hookimpl
from mnistlab.introspect import plugin_manager_for
from mnistlab.metrics import accuracy
from mnistlab.plugin_loading import builtin
from mnistlab.stages import STAGE_NAMES, get_stage, pieces_of
from mnistlab.types import EpochResult, Tensors

# The tutorial's two small helper classes, from their plugin modules (mnistlab.plugins.<name>).
ManualUpdate = builtin("manual_update").ManualUpdate
WrappedDataLoader = builtin("wrapped_loader").WrappedDataLoader
DeviceBatches = builtin("device_batches").DeviceBatches

TARGET = 1.03
# distributed runs fit's loop through DistributedDataParallel in a process group: with one
# process its plain counterpart would be the same DDP machinery, which is not the kernel's.
MEASURED = [name for name in STAGE_NAMES if name != "distributed"]


# --- The plain pieces: batches -------------------------------------------------------------
# Each returns an object that a loop walks once per epoch with ``for xb, yb in batches``.


class Sliced:
    """The tutorial's index slicing: batch ``i`` is rows ``i*bs`` up to ``i*bs + bs``."""

    def __init__(self, rows, n, bs, dev):
        self.rows, self.n, self.bs, self.dev = rows, n, bs, dev

    def __iter__(self):
        for i in range((self.n - 1) // self.bs + 1):
            xb, yb = self.rows(slice(i * self.bs, i * self.bs + self.bs))
            yield xb.to(self.dev), yb.to(self.dev)


def slicing(x, y, bs, shuffle, g, dev):
    return Sliced(lambda s: (x[s], y[s]), len(x), bs, dev)


def tensor_dataset(x, y, bs, shuffle, g, dev):
    return Sliced(TensorDataset(x, y).__getitem__, len(x), bs, dev)


def dataloader(x, y, bs, shuffle, g, dev):
    dl = DataLoader(TensorDataset(x, y), batch_size=bs, shuffle=shuffle, generator=g)
    return WrappedDataLoader(dl, lambda xb, yb: (xb.to(dev), yb.to(dev)))


def wrapped_loader(x, y, bs, shuffle, g, dev):
    dl = DataLoader(TensorDataset(x, y), batch_size=bs, shuffle=shuffle, generator=g)
    return WrappedDataLoader(dl, lambda xb, yb: (xb.view(-1, 1, 28, 28).to(dev), yb.to(dev)))


def device_batches(x, y, bs, shuffle, g, dev):
    plain = DeviceBatches()
    return Passes(lambda: plain.make_batches(x, y, bs, shuffle, g, dev))


class Passes:
    """Asks for a new pass at every ``for``, as mnistlab asks its batches piece each epoch."""

    def __init__(self, new_pass):
        self.new_pass = new_pass

    def __iter__(self):
        return iter(self.new_pass())


# --- The plain pieces: loops ---------------------------------------------------------------
# Each trains for ``epochs`` and returns what mnistlab's loop reports per epoch, so that the two
# runs can be compared number for number.


def train_loop(model, loss_func, opt, train_dl, valid_dl, epochs):
    history = []
    for epoch in range(1, epochs + 1):
        total_loss, count = 0.0, 0
        for xb, yb in train_dl:
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

            total_loss += loss.item() * len(xb)
            count += len(xb)
        with torch.no_grad():
            out = model(xb)
            history.append(EpochResult(epoch, train_loss=total_loss / count,
                                       last_batch_loss=loss_func(out, yb).item(),
                                       last_batch_acc=accuracy(out, yb).item()))
    return history


def validation_loop(model, loss_func, opt, train_dl, valid_dl, epochs):
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        total_loss, count = 0.0, 0
        for xb, yb in train_dl:
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

            total_loss += loss.item() * len(xb)
            count += len(xb)

        model.eval()
        valid_loss = valid_acc = 0.0
        n_batches = 0
        with torch.no_grad():
            for xb, yb in valid_dl:
                out = model(xb)
                valid_loss += loss_func(out, yb).item()
                valid_acc += accuracy(out, yb).item()
                n_batches += 1
        history.append(EpochResult(epoch, train_loss=total_loss / count,
                                   valid_loss=valid_loss / n_batches,
                                   valid_acc=valid_acc / n_batches))
    return history


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)

    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()

    return loss.item(), len(xb)


def fit_loop(model, loss_func, opt, train_dl, valid_dl, epochs):
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        total_loss, count = 0.0, 0
        for xb, yb in train_dl:
            loss, n = loss_batch(model, loss_func, xb, yb, opt)
            total_loss += loss * n
            count += n

        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl],
                               strict=True)
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
        history.append(EpochResult(epoch, train_loss=total_loss / count,
                                   valid_loss=float(val_loss)))
    return history


# --- The table: plugin name -> its plain counterpart -------------------------------------------

PLAIN_DEVICES = {
    "cpu_device": lambda: torch.device("cpu"),
    "cuda_device": lambda: torch.device("cuda" if torch.cuda.is_available() else "cpu"),
}
PLAIN_MODELS = {
    "raw_logistic": builtin("raw_logistic").RawLogistic,
    "logistic_module": builtin("logistic_module").Mnist_Logistic,
    "linear_model": builtin("linear_model").Mnist_Logistic,
    "cnn": builtin("cnn").Mnist_CNN,
    "sequential_cnn": builtin("sequential_cnn").make_model,  # builds the nn.Sequential
    "adaptive_cnn": builtin("adaptive_cnn").make_model,
}
PLAIN_LOSSES = {"hand_loss": builtin("hand_loss").loss_func, "cross_entropy": F.cross_entropy}
PLAIN_UPDATES = {
    "manual_update": lambda model, lr, momentum: ManualUpdate(model.parameters(), lr),
    "sgd": lambda model, lr, momentum: optim.SGD(model.parameters(), lr=lr, momentum=momentum),
}
PLAIN_BATCHES = {
    "slicing": slicing,
    "tensor_dataset": tensor_dataset,
    "dataloader": dataloader,
    "wrapped_loader": wrapped_loader,
    "device_batches": device_batches,
}
# The loop, and whether it shuffles the training set.
PLAIN_LOOPS = {
    "train_loop": (train_loop, False),
    "validation_loop": (validation_loop, True),
    "fit_loop": (fit_loop, True),
}


class Plain(NamedTuple):
    """A stage written plainly: the plain piece for each of its plugins."""

    device: Any
    model: Any
    loss: Any
    update: Any
    batches: Any
    loop: Any
    shuffle: bool


def plain_stage(stage: str) -> Plain:
    tables = {"device": PLAIN_DEVICES, "model": PLAIN_MODELS, "loss": PLAIN_LOSSES,
              "update": PLAIN_UPDATES, "batches": PLAIN_BATCHES, "loop": PLAIN_LOOPS}
    plain = {}
    for piece, plugin in pieces_of(stage).items():
        if piece in tables:
            if plugin not in tables[piece]:
                raise SystemExit(f"stage {stage}: the {piece} plugin {plugin!r} has no plain "
                                 "counterpart in benchmarks/overhead.py; add one to its table")
            plain[piece] = tables[piece][plugin]
    plain["loop"], plain["shuffle"] = plain["loop"]
    return Plain(**plain)


def run_plain(stage: str, tensors: Tensors, epochs: int, seed: int):
    """Train ``stage`` plainly; return (training seconds, per-epoch results, model)."""
    p = plain_stage(stage)
    config = make_config(stage, epochs=epochs, seed=seed)  # for lr, momentum, bs and valid_bs
    dev = p.device()
    torch.manual_seed(seed)
    model = p.model()
    if hasattr(model, "to"):
        model = model.to(dev)
    opt = p.update(model, config.lr, config.momentum)
    # One generator for the shuffles, seeded as the runner seeds it. mnistlab hands it to the
    # validation batches too, and a DataLoader draws from it for every pass, so share it here.
    g = torch.Generator().manual_seed(seed)

    started = time.perf_counter()
    train_dl = p.batches(tensors.x_train, tensors.y_train, config.bs, p.shuffle, g, dev)
    valid_dl = p.batches(tensors.x_valid, tensors.y_valid, config.valid_bs, False, g, dev)
    history = p.loop(model, p.loss, opt, train_dl, valid_dl, epochs)
    return time.perf_counter() - started, history, model


# --- mnistlab, on the same tensors -----------------------------------------------------------


class GivenData:
    """A data plugin that hands mnistlab the very tensors the plain loops train on."""

    def __init__(self, tensors: Tensors):
        self.tensors = tensors

    @hookimpl
    def make_data(self):
        return self.tensors


def run_mnistlab(stage: str, tensors: Tensors, epochs: int, seed: int):
    """Train ``stage`` through mnistlab; return (training seconds, per-epoch results, model)."""
    # quiet: the observers that print (a line per epoch, a progress bar) have no counterpart
    # in the plain loop, so they sit out.
    result = mnistlab.run(stage, epochs=epochs, seed=seed, quiet=True,
                          plugin_objects=(GivenData(tensors),))
    history = [replace(epoch, seconds=0.0) for epoch in result.epochs]
    return result.seconds, history, result.model


def check_same(stage: str, ours, plain) -> None:
    """Fail loudly unless both runs computed exactly the same numbers."""
    _, ours_history, ours_model = ours
    _, plain_history, plain_model = plain
    if ours_history != plain_history:
        raise SystemExit(f"{stage}: mnistlab and the plain loop disagree:\n"
                         f"  mnistlab {ours_history}\n  plain    {plain_history}")
    for a, b in zip(ours_model.parameters(), plain_model.parameters(), strict=True):
        if not torch.equal(a, b):
            raise SystemExit(f"{stage}: mnistlab and the plain loop end with different weights")


# --- Measuring -------------------------------------------------------------------------------


def tensors_with(rows: int) -> Tensors:
    """The sample, its training set tiled (or cut) to ``rows`` rows; validation as is."""
    sample = mnist_data.load("sample")
    reps = -(-rows // len(sample.x_train))
    x_train = np.tile(sample.x_train, (reps, 1))[:rows]
    y_train = np.tile(sample.y_train, reps)[:rows]
    x_train, y_train, x_valid, y_valid = map(
        torch.tensor, (x_train, y_train, sample.x_valid, sample.y_valid))
    return Tensors(x_train, y_train, x_valid, y_valid, name=f"sample x{rows}",
                   description=f"the sample's training set tiled to {rows} rows")


def timed(run, stage, tensors, epochs, seed):
    gc.collect()
    return run(stage, tensors, epochs, seed)


def run_plain_again(stage: str, tensors: Tensors, epochs: int, seed: int):
    """The plain loop once more: timed against ``run_plain``, it shows the machine's noise."""
    return run_plain(stage, tensors, epochs, seed)


def measure(stage: str, tensors: Tensors, args: argparse.Namespace, warmup: Tensors) -> dict:
    """Time interleaved pairs of runs of ``stage``; return the medians and the number of pairs.

    At least ``--repeats`` pairs; more, up to ``--max-repeats``, until each side has trained for
    ``--min-seconds`` in all, so that runs of a few milliseconds still give a stable median.
    With ``--noise``, each pair gets a third run, the plain loop again; the order alternates
    between mnistlab, plain, plain again and its reverse, so that the first plain run always sits
    in the middle and both ratios to it are measured alike.
    """
    # One untimed pair first, on the sample: library warm-up, kernel caches, imports.
    check_same(stage, timed(run_mnistlab, stage, warmup, 1, args.seed),
               timed(run_plain, stage, warmup, 1, args.seed))
    sides = [run_mnistlab, run_plain, run_plain_again] if args.noise else [run_mnistlab, run_plain]
    seconds = {run: [] for run in sides}
    while len(seconds[run_plain]) < args.repeats or (
            min(map(sum, seconds.values())) < args.min_seconds
            and len(seconds[run_plain]) < args.max_repeats):
        # Alternate the order, so that drift of the machine hits every side alike.
        order = sides if len(seconds[run_plain]) % 2 == 0 else sides[::-1]
        runs = {run: timed(run, stage, tensors, args.epochs, args.seed) for run in order}
        check_same(stage, runs[run_mnistlab], runs[run_plain])
        for run, (spent, _, _) in runs.items():
            seconds[run].append(spent)

    def median_ratio(run):
        pairs = zip(seconds[run], seconds[run_plain], strict=True)
        return statistics.median([a / b for a, b in pairs])

    result = {"ours": statistics.median(seconds[run_mnistlab]),
              "plain": statistics.median(seconds[run_plain]),
              "ratio": median_ratio(run_mnistlab), "pairs": len(seconds[run_plain])}
    if args.noise:
        result["noise"] = median_ratio(run_plain_again)
    print(f"  {stage:<11} {len(tensors.x_train):>6} rows, {result['pairs']} pairs: median ratio "
          f"{result['ratio']:.3f}" + (f", plain/plain {result['noise']:.3f}" if args.noise else ""),
          file=sys.stderr, flush=True)
    return result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads; "
            f"torch {torch.__version__}, Python {platform.python_version()}, "
            f"mnistlab {mnistlab.__version__}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", nargs="+", default=list(MEASURED), metavar="STAGE",
                        help="stages to measure, space- or comma-separated (default: all but "
                             "distributed)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed pairs per stage and size, at least (default: 5)")
    parser.add_argument("--min-seconds", type=float, default=3.0,
                        help="add pairs until each side has trained this long in all "
                             "(default: 3)")
    parser.add_argument("--max-repeats", type=int, default=100,
                        help="but never more pairs than this (default: 100)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run (default: 1)")
    parser.add_argument("--rows", type=int, nargs="+", default=[4000, 50_000], metavar="N",
                        help="training rows: the sample's 4,000, tiled to more "
                             "(default: 4000 50000)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch.set_num_threads (default: 1, the least noisy; the overhead "
                             "is Python's, on one thread either way)")
    parser.add_argument("--noise", action="store_true",
                        help="also time the plain loop against itself, a third run per pair: "
                             "the plain / plain column is what the machine's noise alone gives")
    parser.add_argument("--seed", type=int, default=0, help="seed of both runs (default: 0)")
    args = parser.parse_args(argv)
    args.stages = [name for item in args.stages for name in item.split(",") if name]
    for name in args.stages:
        try:
            get_stage(name)
        except MnistlabError as error:
            parser.error(str(error))
    if min(args.repeats, args.epochs, args.threads, *args.rows) < 1:
        parser.error("--repeats, --epochs, --threads and --rows must be at least 1")
    args.max_repeats = max(args.max_repeats, args.repeats)
    return args


def setup_ms(stage: str, tensors: Tensors) -> float:
    """Best time to build a run's plugin manager: per-run work outside the timed span."""
    def build():
        plugin_manager_for(stage)

    build()
    best = float("inf")
    for _ in range(20):
        started = time.perf_counter()
        build()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def load_average() -> str:
    try:
        return " / ".join(f"{load:.1f}" for load in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    # Both sides with the kernels a run uses by default (mnistlab.run sets them for its own run
    # only); on a GPU, two equal runs could otherwise differ in the last bit.
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    print(f"machine: {machine()}")
    print(f"{args.epochs} epoch(s) per run; {args.repeats} to {args.max_repeats} interleaved pairs "
          f"per stage and size (until each side has trained {args.min_seconds:g} s); "
          f"seed {args.seed}")
    print("timed: training only, per-epoch validation included; data loading, the plugin "
          "manager, model creation and the final score excluded")
    print(f"load average (1/5/15 min) at start: {load_average()}\n", flush=True)

    started = time.perf_counter()
    warmup = tensors_with(4000)
    rows = []
    for n in args.rows:
        tensors = tensors_with(n)
        for stage in args.stages:
            rows.append((stage, n, measure(stage, tensors, args, warmup)))

    noise = " plain / plain |" if args.noise else ""
    print(f"| stage | rows | mnistlab s | plain s | median ratio |{noise} pairs |")
    print("|---|---:|---:|---:|---:|" + ("---:|" if args.noise else "") + "---:|")
    for stage, n, m in rows:
        mark = f"**{m['ratio']:.3f}** ⚠" if m["ratio"] > TARGET else f"{m['ratio']:.3f}"
        noise = f" {m['noise']:.3f} |" if args.noise else ""
        print(f"| {stage} | {n:,} | {m['ours']:.3f} | {m['plain']:.3f} | {mark} |{noise} "
              f"{m['pairs']} |")
    over = [f"{stage} ({n:,} rows)" for stage, n, m in rows if m["ratio"] > TARGET]
    print(f"\n⚠ median ratio over {TARGET}: {', '.join(over)}" if over
          else f"\nevery median ratio ≤ {TARGET}")
    print(f"not in the ratios: each mnistlab.run() first builds its plugin manager, "
          f"{setup_ms(args.stages[0], warmup):.1f} ms ({args.stages[0]}, best of 20)")
    print(f"mnistlab s, plain s: medians over the pairs; total time "
          f"{time.perf_counter() - started:.0f} s; load average at end: {load_average()}")


if __name__ == "__main__":
    main()
