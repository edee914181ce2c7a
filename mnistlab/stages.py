"""The stage table: each tutorial step as "its parent with one piece swapped".

This table is data, not code paths. The first stage names a plugin for every
piece; every later stage names its parent, the one piece it swaps and the
plugin that fills it. ``tests/test_stages.py`` proves that each stage differs
from its parent in exactly one piece.

The tutorial's step 12 changes two pieces at once (the reshape moves into a
wrapped DataLoader, and ``AdaptiveAvgPool2d`` replaces ``AvgPool2d``), so it
is two stages here: ``wrapped`` and ``adaptive``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mnistlab.errors import MnistlabError, closest

# The pieces of a stage, in the order the runner builds them.
PIECES = ("data", "device", "model", "loss", "update", "batches", "loop")

# The hook that fills each piece.
PIECE_HOOKS = {
    "data": "make_data",
    "device": "make_device",
    "model": "make_model",
    "loss": "make_loss",
    "update": "make_update",
    "batches": "make_batches",
    "loop": "make_loop",
}

# The built-in observers every run registers, after the pieces: the report, one line per
# epoch, and the progress bar. Both declare PRINTS_ONLY, so --quiet leaves them out.
OBSERVERS = ("console", "progress")

# Hyper-parameters of the tutorial: lr 0.5 for the logistic steps, and
# lr 0.1 with momentum 0.9 from the CNN step on.
LOGISTIC = {"lr": 0.5, "momentum": 0.0}
CNN = {"lr": 0.1, "momentum": 0.9}


@dataclass(frozen=True)
class Stage:
    """One step of the tutorial.

    Attributes:
        name: the stage's name on the command line.
        parent: the stage it is built from (``None`` for the first).
        swaps: the piece it swaps (``None`` for the first).
        plugin: the plugin that fills the swapped piece.
        preserves: whether the swap keeps the numbers (same seed, same
            per-batch losses) or changes behaviour on purpose.
        title: what the step does, in a few words.
        why: one line on what the swap preserves or changes, and why.
        hyper: the default hyper-parameters from this stage on.
    """

    name: str
    parent: str | None
    swaps: str | None
    plugin: str | None
    preserves: bool
    title: str
    why: str
    hyper: dict[str, float] = field(default_factory=dict)


FIRST_PIECES = {
    "data": "datasets",
    "device": "cpu_device",
    "model": "raw_logistic",
    "loss": "hand_loss",
    "update": "manual_update",
    "batches": "slicing",
    "loop": "train_loop",
}

STAGES: tuple[Stage, ...] = (
    Stage("scratch", None, None, None, True,
          "logistic regression from raw tensors",
          "the starting point: hand-written model, loss, update and batching",
          LOGISTIC),
    Stage("functional", "scratch", "loss", "cross_entropy", True,
          "F.cross_entropy replaces the hand-written loss",
          "same maths (log-softmax then NLL), fused in one function"),
    Stage("module", "functional", "model", "logistic_module", True,
          "nn.Module and nn.Parameter hold the weights",
          "same weights, drawn in the same order: only where they live changes"),
    Stage("linear", "module", "model", "linear_model", False,
          "nn.Linear replaces the hand-made weights",
          "changes behaviour: nn.Linear initialises its weights differently"),
    Stage("optim", "linear", "update", "sgd", True,
          "torch.optim.SGD replaces the manual update",
          "plain SGD is exactly p -= lr * p.grad"),
    Stage("dataset", "optim", "batches", "tensor_dataset", True,
          "TensorDataset slices inputs and targets together",
          "same slices, taken from one object"),
    Stage("dataloader", "dataset", "batches", "dataloader", True,
          "DataLoader hands out the batches",
          "same batches in the same order"),
    Stage("validation", "dataloader", "loop", "validation_loop", False,
          "shuffle the training set and measure validation loss every epoch",
          "changes behaviour: shuffling gives each epoch a new batch order"),
    Stage("fit", "validation", "loop", "fit_loop", True,
          "fit() and loss_batch() wrap the loop",
          "same training; the validation mean is now weighted by batch size"),
    Stage("cnn", "fit", "model", "cnn", False,
          "a three-layer convolutional network",
          "changes behaviour: a new model, trained with lr 0.1 and momentum 0.9",
          CNN),
    Stage("sequential", "cnn", "model", "sequential_cnn", True,
          "the same CNN as nn.Sequential",
          "same layers created in the same order, so the same weights"),
    Stage("wrapped", "sequential", "batches", "wrapped_loader", True,
          "the reshape moves out of the model into a wrapped DataLoader",
          "same batches, reshaped before the model instead of inside it"),
    Stage("adaptive", "wrapped", "model", "adaptive_cnn", True,
          "AdaptiveAvgPool2d: the model no longer fixes the image size",
          "equal to AvgPool2d(4) on a 4x4 map, up to float rounding; the data readers and "
          "the run folder's digit grid still take 28x28 images"),
    Stage("gpu", "adaptive", "device", "cuda_device", True,
          "train on the GPU when there is one",
          "same numbers on a CPU-only machine; on a GPU, float rounding differs"),
    Stage("fast", "gpu", "batches", "device_batches", True,
          "batches cut on the device, with no per-example collate",
          "same batches in the same order, from tensors moved to the device once"),
    Stage("distributed", "fast", "loop", "ddp_loop", True,
          "N processes share every batch with DistributedDataParallel",
          "one process trains as fit_loop does; N end where one does, up to float rounding"),
)

STAGE_NAMES = tuple(stage.name for stage in STAGES)

# The stage `mnistlab run` trains when no --stage is given (and so `make run`): the tutorial's
# loop as most PyTorch code is written, nn.Linear fed by a DataLoader and updated by
# torch.optim, the last stage before validation changes what the loop does.
DEFAULT_STAGE = "dataloader"
_BY_NAME = {stage.name: stage for stage in STAGES}


def get_stage(name: str) -> Stage:
    """Return the stage called ``name``, or raise an error suggesting the closest name."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise MnistlabError(
            f"unknown stage {name!r}{closest(name, STAGE_NAMES)}; "
            f"run `mnistlab stages` to list them"
        ) from None


def pieces_of(name: str) -> dict[str, str]:
    """Return which plugin fills each piece of a stage, walking up its parents."""
    stage = get_stage(name)
    if stage.parent is None:
        return dict(FIRST_PIECES)
    pieces = pieces_of(stage.parent)
    pieces[stage.swaps] = stage.plugin
    return pieces


def hyper_of(name: str) -> dict[str, float]:
    """Return the stage's default hyper-parameters, inherited from its parents."""
    stage = get_stage(name)
    inherited = hyper_of(stage.parent) if stage.parent else {}
    return {**inherited, **stage.hyper}
