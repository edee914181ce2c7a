"""What does mnistlab's plugin kernel cost? Each stage against the tutorial's own code.

For every stage this script trains twice on the same tensors, in one process: through
``mnistlab.run`` (plugins, runner, session, hooks), and as plain tutorial code composed from the
pieces the stage table names, with no plugin manager, no session and no hooks. The plain code is
written once per distinct piece (a model, a loss, an update, a way to cut batches, a loop), so a
new stage needs no new plain program. After every pair it checks that both runs ended on the same
weights, the same per-epoch measurements and the same final validation loss: the ratio compares
equal work. ``tests/test_overhead_benchmark.py`` proves that for every stage on tiny data.

Both sides time training only, from the first epoch to the end of the last, per-epoch validation
included; loading the data, building the model and the final score are left out. Runs alternate
(mnistlab then plain, then plain then mnistlab) so that drift of the machine hits both sides, and
the report gives the median of the per-pair ratios mnistlab / plain. ``distributed`` is left out:
with one process its plain counterpart would be the same DistributedDataParallel machinery.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import statistics
import time
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

import mnistlab
from mnistlab.data import load
from mnistlab.stages import STAGE_NAMES, hyper_of, pieces_of
from mnistlab.types import Tensors

TARGET = 1.03
COVERED_STAGES = [name for name in STAGE_NAMES if name != "distributed"]
# What a loop may measure per epoch, besides the training loss that the kernel's books keep.
LOOP_MEASURES = ("valid_loss", "valid_acc", "last_batch_loss", "last_batch_acc")


# --- The tutorial's code, once per distinct piece ----------------------------------------------


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


def hand_written_loss(scores, target):
    return nll(log_softmax(scores), target)


def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


class RawTensorLogistic:
    """The scratch step's weights and bias: bare tensors that autograd tracks."""

    def __init__(self):
        self.weights = torch.randn(784, 10) / math.sqrt(784)
        self.weights.requires_grad_()
        self.bias = torch.zeros(10, requires_grad=True)

    def __call__(self, xb):
        return xb @ self.weights + self.bias

    def parameters(self):
        return [self.weights, self.bias]


class ParameterLogistic(nn.Module):
    """The tutorial's first ``Mnist_Logistic``: the same tensors, as ``nn.Parameter``."""

    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(784, 10) / math.sqrt(784))
        self.bias = nn.Parameter(torch.zeros(10))

    def forward(self, xb):
        return xb @ self.weights + self.bias


class LinearLogistic(nn.Module):
    """The tutorial's second ``Mnist_Logistic``: one ``nn.Linear``."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, xb):
        return self.lin(xb)


class Mnist_CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

    def forward(self, xb):
        xb = xb.view(-1, 1, 28, 28)
        xb = F.relu(self.conv1(xb))
        xb = F.relu(self.conv2(xb))
        xb = F.relu(self.conv3(xb))
        xb = F.avg_pool2d(xb, 4)
        return xb.view(-1, xb.size(1))


class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


def conv_layers():
    """Mnist_CNN's layers, created in the same order, so they start from the same weights."""
    return [nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1), nn.ReLU()]


def sequential_cnn():
    return nn.Sequential(Lambda(lambda x: x.view(-1, 1, 28, 28)), *conv_layers(),
                         nn.AvgPool2d(4), Lambda(lambda x: x.view(x.size(0), -1)))


def adaptive_cnn():
    return nn.Sequential(*conv_layers(), nn.AdaptiveAvgPool2d(1),
                         Lambda(lambda x: x.view(x.size(0), -1)))


class ManualUpdate:
    """The update written by hand, behind the two methods of an optimizer every loop calls."""

    def __init__(self, params, lr):
        self.params = list(params)
        self.lr = lr

    def step(self):
        with torch.no_grad():
            for p in self.params:
                p -= p.grad * self.lr

    def zero_grad(self):
        for p in self.params:
            p.grad.zero_()


class IndexSlices:
    """Batch ``i`` is rows ``i*bs`` up to ``i*bs + bs`` of whatever ``rows`` slices."""

    def __init__(self, rows, n, bs, dev):
        self.rows, self.n, self.bs, self.dev = rows, n, bs, dev

    def __iter__(self):
        for i in range((self.n - 1) // self.bs + 1):
            xb, yb = self.rows(slice(i * self.bs, i * self.bs + self.bs))
            yield xb.to(self.dev), yb.to(self.dev)


def index_slices(x, y, bs, shuffle, generator, dev):
    return IndexSlices(lambda rows: (x[rows], y[rows]), len(x), bs, dev)


def dataset_slices(x, y, bs, shuffle, generator, dev):
    train_ds = TensorDataset(x, y)
    return IndexSlices(train_ds.__getitem__, len(train_ds), bs, dev)


class WrappedDataLoader:
    def __init__(self, dl, func):
        self.dl = dl
        self.func = func

    def __len__(self):
        return len(self.dl)

    def __iter__(self):
        for b in self.dl:
            yield self.func(*b)


def data_loader(x, y, bs, shuffle, generator, dev, preprocess=lambda xb: xb):
    # Every pass draws from the one generator that the kernel's session hands to every pass,
    # validation too: a DataLoader draws a number at the start of each pass, so the next
    # epoch's order depends on it.
    dl = DataLoader(TensorDataset(x, y), batch_size=bs, shuffle=shuffle, generator=generator)
    return WrappedDataLoader(dl, lambda xb, yb: (preprocess(xb).to(dev), yb.to(dev)))


def wrapped_loader(x, y, bs, shuffle, generator, dev):
    return data_loader(x, y, bs, shuffle, generator, dev,
                       preprocess=lambda xb: xb.view(-1, 1, 28, 28))


class DeviceBatches:
    """The ``fast`` stage (not in the tutorial): images moved to the device once, cut there.

    Each pass draws from the generator what a DataLoader draws: one number (its workers' seed);
    when shuffling, the order, then one more permutation as its sampler finds the pass over.
    """

    def __init__(self, x, y, bs, shuffle, generator, dev):
        self.x, self.y = x.view(-1, 1, 28, 28).to(dev), y.to(dev)
        self.bs, self.shuffle, self.generator, self.dev = bs, shuffle, generator, dev

    def __iter__(self):
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        if not self.shuffle:
            for i in range(0, len(self.x), self.bs):
                yield self.x[i : i + self.bs], self.y[i : i + self.bs]
            return
        order = torch.randperm(len(self.x), generator=self.generator).to(self.dev)
        torch.randperm(len(self.x), generator=self.generator)
        for idx in order.split(self.bs):
            yield self.x[idx], self.y[idx]


def train_only(epochs, model, loss_func, opt, train_dl, valid_dl):
    """The first seven steps; each epoch ends with the last batch's loss and accuracy."""
    measured = []
    for _epoch in range(epochs):
        for xb, yb in train_dl:
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

        with torch.no_grad():
            out = model(xb)
            measured.append({"last_batch_loss": loss_func(out, yb).item(),
                             "last_batch_acc": accuracy(out, yb).item()})
    return measured


def train_and_validate(epochs, model, loss_func, opt, train_dl, valid_dl):
    """The validation step: the mean of the validation batches' losses and accuracies."""
    measured = []
    for _epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

        model.eval()
        valid_loss = valid_acc = 0.0
        n_batches = 0
        with torch.no_grad():
            for xb, yb in valid_dl:
                out = model(xb)
                valid_loss += loss_func(out, yb).item()
                valid_acc += accuracy(out, yb).item()
                n_batches += 1
        measured.append({"valid_loss": valid_loss / n_batches, "valid_acc": valid_acc / n_batches})
    return measured


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)

    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()

    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    """The fit step's ``fit()``: the validation loss now weights each batch by its size."""
    measured = []
    for _epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)

        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl],
                               strict=True)
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
        measured.append({"valid_loss": val_loss})
    return measured


def accelerator_or_cpu():
    """The gpu step's ``dev``, asked of any accelerator torch knows, as the stage asks it."""
    if hasattr(torch, "accelerator"):
        return torch.accelerator.current_accelerator() or torch.device("cpu")
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


# Each stage's plugins, by name, and the plain code that does what each does. A device builds a
# torch.device; a model, its model; an update takes (model, lr, momentum); batches take (x, y, bs,
# shuffle, generator, dev) and give an object walked once per epoch; a loop trains all epochs.
PLAIN_PIECES = {
    "cpu_device": lambda: torch.device("cpu"),
    "cuda_device": accelerator_or_cpu,
    "raw_logistic": RawTensorLogistic,
    "logistic_module": ParameterLogistic,
    "linear_model": LinearLogistic,
    "cnn": Mnist_CNN,
    "sequential_cnn": sequential_cnn,
    "adaptive_cnn": adaptive_cnn,
    "hand_loss": hand_written_loss,
    "cross_entropy": F.cross_entropy,
    "manual_update": lambda model, lr, momentum: ManualUpdate(model.parameters(), lr),
    "sgd": lambda model, lr, momentum: optim.SGD(model.parameters(), lr=lr, momentum=momentum),
    "slicing": index_slices,
    "tensor_dataset": dataset_slices,
    "dataloader": data_loader,
    "wrapped_loader": wrapped_loader,
    "device_batches": DeviceBatches,
    "train_loop": train_only,
    "validation_loop": train_and_validate,
    "fit_loop": fit,
}
SHUFFLING_LOOPS = (train_and_validate, fit)


# --- The two sides ------------------------------------------------------------------------------


class Ending(NamedTuple):
    """How a run ended, as the two sides are compared, and how long it trained."""

    seconds: float
    weights: list[torch.Tensor]
    measured: list[dict[str, float]]  # per epoch, what the loop measured
    valid_loss: float


def plain_pieces(stage: str) -> dict:
    """The plain code for each piece of ``stage`` but its data, which both sides are given."""
    plugins = {piece: name for piece, name in pieces_of(stage).items() if piece != "data"}
    missing = [name for name in plugins.values() if name not in PLAIN_PIECES]
    if missing:
        raise SystemExit(f"stage {stage}: no plain code for {', '.join(missing)}; add it to "
                         "PLAIN_PIECES in benchmarks/overhead.py")
    return {piece: PLAIN_PIECES[name] for piece, name in plugins.items()}


@contextmanager
def deterministic_kernels():
    """torch's deterministic kernels, as every ``mnistlab.run`` trains with; put back after."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS starts
    cudnn = torch.backends.cudnn
    found = (torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(), cudnn.deterministic,
             cudnn.benchmark)
    torch.use_deterministic_algorithms(True, warn_only=True)
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        enabled, warn_only, cudnn.deterministic, cudnn.benchmark = found
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


def train_plainly(stage: str, data: Tensors, epochs: int, seed: int, bs: int) -> Ending:
    """Train ``stage`` as the plain tutorial code its pieces name, seeded as the kernel seeds."""
    plain = plain_pieces(stage)
    hyper = hyper_of(stage)
    dev = plain["device"]()
    with deterministic_kernels():
        torch.manual_seed(seed)  # right before the model, so only the model draws from it
        model = plain["model"]()
        if isinstance(model, nn.Module):  # the scratch step's tensors stay on the CPU
            model.to(dev)
        opt = plain["update"](model, hyper["lr"], hyper["momentum"])
        # Shuffling has a generator of its own, as in the kernel's session.
        generator = torch.Generator().manual_seed(seed)

        started = time.perf_counter()
        shuffle = plain["loop"] in SHUFFLING_LOOPS
        train_dl = plain["batches"](data.x_train, data.y_train, bs, shuffle, generator, dev)
        valid_dl = plain["batches"](data.x_valid, data.y_valid, bs * 2, False, generator, dev)
        measured = plain["loop"](epochs, model, plain["loss"], opt, train_dl, valid_dl)
        seconds = time.perf_counter() - started
        return Ending(seconds, list(model.parameters()), measured,
                      valid_loss_by_example(model, plain["loss"], valid_dl))


def valid_loss_by_example(model, loss_func, valid_dl) -> float:
    """The validation loss a run reports at its end: every batch weighted by its size."""
    total_loss, count = 0.0, 0
    with torch.no_grad():
        for xb, yb in valid_dl:
            total_loss += loss_func(model(xb), yb).item() * len(yb)
            count += len(yb)
    return total_loss / count


class GivenTensors:
    """A data plugin: the run trains on these tensors (plugin objects are asked first)."""

    def __init__(self, tensors: Tensors):
        self.tensors = tensors

    @mnistlab.hookimpl
    def make_data(self, config):
        return self.tensors


def train_with_mnistlab(stage: str, data: Tensors, epochs: int, seed: int, bs: int) -> Ending:
    """Train ``stage`` through the kernel, with its plugins, on ``data``."""
    result = mnistlab.run(stage, epochs=epochs, seed=seed, bs=bs, quiet=True,
                          plugin_objects=[GivenTensors(data)])
    measured = [{key: value for key, value in epoch.items()
                 if key in LOOP_MEASURES and value is not None} for epoch in result.history]
    return Ending(result.seconds, list(result.model.parameters()), measured, result.valid_loss)


def differences(kernel: Ending, plain: Ending) -> list[str]:
    """What the two runs ended on differently; nothing when they did equal work."""
    found = []
    if len(kernel.weights) != len(plain.weights) or not all(
            map(torch.equal, kernel.weights, plain.weights)):
        found.append("the final weights")
    if kernel.measured != plain.measured:
        found.append(f"the per-epoch measurements ({kernel.measured} against {plain.measured})")
    if kernel.valid_loss != plain.valid_loss:
        found.append(f"the final validation loss ({kernel.valid_loss} against {plain.valid_loss})")
    return found


# --- Measuring ----------------------------------------------------------------------------------

TRAINERS = {"mnistlab": train_with_mnistlab, "plain": train_plainly,
            "plain again": train_plainly}  # the plain code against itself: the noise floor


def sample_tensors(train_rows: int, valid_rows: int = 1000) -> Tensors:
    """The embedded sample, its training set tiled (or cut) to ``train_rows`` rows."""
    sample = load("sample")
    x_train, y_train = (np.resize(array, (train_rows, *array.shape[1:]))
                        for array in (sample.x_train, sample.y_train))
    x_train, y_train, x_valid, y_valid = map(
        torch.tensor, (x_train, y_train, sample.x_valid[:valid_rows], sample.y_valid[:valid_rows]))
    return Tensors(x_train, y_train, x_valid, y_valid, name=f"sample x{train_rows}")


def run_round(stage: str, data: Tensors, args: argparse.Namespace,
              sides: list[str]) -> dict[str, float]:
    """Train ``stage`` once per side, in the order given; stop unless they did equal work."""
    endings = {}
    for side in sides:
        gc.collect()
        endings[side] = TRAINERS[side](stage, data, args.epochs, args.seed, args.bs)
    found = differences(endings["mnistlab"], endings["plain"])
    if found:
        raise SystemExit(f"{stage}: mnistlab and the plain code differ in {'; '.join(found)}")
    return {side: ending.seconds for side, ending in endings.items()}


def time_rounds(stage: str, data: Tensors, args: argparse.Namespace) -> dict[str, list[float]]:
    """Each side's training seconds over interleaved rounds.

    At least ``--repeats`` rounds, and more (up to ``--max-repeats``) until each side has trained
    ``--min-seconds`` in all, since a run on the sample can last 20 ms.
    """
    sides = list(TRAINERS) if args.noise else ["mnistlab", "plain"]
    seconds = {side: [] for side in sides}
    rounds = 0
    while rounds < args.repeats or (rounds < args.max_repeats
                                    and min(map(sum, seconds.values())) < args.min_seconds):
        order = sides[::-1] if rounds % 2 else sides  # so that drift hits every side alike
        for side, spent in run_round(stage, data, args, order).items():
            seconds[side].append(spent)
        rounds += 1
    return seconds


def median_ratio(seconds: dict[str, list[float]], side: str) -> float:
    return statistics.median(a / b for a, b in zip(seconds[side], seconds["plain"], strict=True))


def machine() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":")[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.machine()
    return (f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch thread(s); "
            f"torch {torch.__version__}, Python {platform.python_version()}, "
            f"mnistlab {mnistlab.__version__}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--stages", nargs="+", default=COVERED_STAGES, metavar="STAGE",
        help="stages to measure, space- or comma-separated (default: every stage but "
             "distributed, which this benchmark leaves out)")
    add("--rows", type=int, nargs="+", default=[4000, 50_000], metavar="N",
        help="training rows: the sample's 4,000, tiled to more (default: 4000 50000)")
    add("--repeats", type=int, default=5, help="rounds per stage and size, at least (default: 5)")
    add("--min-seconds", type=float, default=3.0,
        help="add rounds until each side has trained this long in all (default: 3)")
    add("--max-repeats", type=int, default=100, help="but no more rounds (default: 100)")
    add("--epochs", type=int, default=1, help="epochs per run (default: 1)")
    add("--bs", type=int, default=64, help="batch size; validation takes twice (default: 64)")
    add("--seed", type=int, default=0, help="seed of both sides (default: 0)")
    add("--threads", type=int, default=1,
        help="torch threads (default: 1, the least noisy; the kernel's cost is on one thread)")
    add("--noise", action="store_true",
        help="also time the plain code against itself: what the machine's noise alone gives")
    args = parser.parse_args(argv)
    args.stages = [name for item in args.stages for name in item.split(",") if name]
    unknown = [name for name in args.stages if name not in COVERED_STAGES]
    if unknown:
        parser.error(f"{', '.join(unknown)}: not a stage this benchmark measures; choose from "
                     f"{', '.join(COVERED_STAGES)}")
    if min(args.repeats, args.epochs, args.bs, args.threads, *args.rows) < 1:
        parser.error("--repeats, --epochs, --bs, --threads and --rows must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    print(f"{args.epochs} epoch(s) per run, bs {args.bs}, seed {args.seed}; timed: training "
          "only, per-epoch validation included\n")
    noise = " plain / plain |" if args.noise else ""
    print(f"| stage | rows | mnistlab s | plain s | median ratio |{noise} rounds |")
    print("|---|---:|---:|---:|---:|" + "---:|" * (2 if args.noise else 1), flush=True)
    warmup, over = sample_tensors(4000), []
    for rows in args.rows:
        data = sample_tensors(rows)
        for stage in args.stages:
            run_round(stage, warmup, args, ["mnistlab", "plain"])  # imports, caches: untimed
            seconds = time_rounds(stage, data, args)
            ratio = median_ratio(seconds, "mnistlab")
            if ratio > TARGET:
                over.append(f"{stage} ({rows:,} rows)")
            noise = f" {median_ratio(seconds, 'plain again'):.3f} |" if args.noise else ""
            print(f"| {stage} | {rows:,} | {statistics.median(seconds['mnistlab']):.3f} | "
                  f"{statistics.median(seconds['plain']):.3f} | {ratio:.3f}"
                  f"{' ⚠' if ratio > TARGET else ''} |{noise} {len(seconds['plain'])} |",
                  flush=True)
    print(f"\n⚠ median ratio over {TARGET}: {', '.join(over)}" if over
          else f"\nevery median ratio ≤ {TARGET}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
