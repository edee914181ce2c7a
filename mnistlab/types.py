"""The values that flow between pieces: data in, epoch results and a run result out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mnistlab.errors import MnistlabError

if TYPE_CHECKING:
    import torch

    from mnistlab.config import RunConfig


@dataclass(frozen=True)
class Filled:
    """A piece's value and the plugin that gave it.

    Attributes:
        piece: the piece's name (``"model"``, ``"loss"``, ...).
        value: what the plugin returned.
        plugin: the name of the plugin that returned it.
        origin: where that plugin came from (``"built-in"``, ``"--plugin"``, ...).
        passed: the plugins asked before it that returned ``None``.
    """

    piece: str
    value: Any
    plugin: str
    origin: str
    passed: tuple[str, ...] = ()

    @property
    def who(self) -> str:
        """``plugin 'NAME'`` (with its origin when it is not built in), for messages."""
        return f"plugin {self.plugin!r}" + ("" if self.origin == "built-in" else
                                             f" ({self.origin})")


@dataclass(frozen=True)
class Tensors:
    """The dataset as torch tensors, as the tutorial has it after ``map(torch.tensor, ...)``.

    Inputs are float32 rows of 784 pixels in [0, 1]; targets are int64 digits.
    ``num_classes`` declares how many classes there are (10 for MNIST and
    Fashion-MNIST): every target must lie in ``range(num_classes)``, and the
    training split must hold every class. Left as ``None``, the largest
    target plus one is taken.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor
    name: str = "custom"
    description: str = "custom tensors"
    checksum: str = ""
    num_classes: int | None = None

    @property
    def classes(self) -> int:
        """How many classes the model must score: the declared ones, else the largest target
        plus one."""
        if self.num_classes is not None:
            return self.num_classes
        return int(max(self.y_train.max(), self.y_valid.max())) + 1 if len(self.y_train) else 0

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(x, y)`` of the ``"train"`` or ``"valid"`` split."""
        if name == "train":
            return self.x_train, self.y_train
        if name == "valid":
            return self.x_valid, self.y_valid
        raise ValueError(f"unknown split {name!r}: use 'train' or 'valid'")


OptionValue = bool | int | float | str


@dataclass(frozen=True)
class Option:
    """A setting that a plugin declares with the ``plugin_options`` hook.

    The value's type is the default's: ``--set patience=3`` gives an ``int``
    when the default is one. ``check`` says whether a value is allowed, and
    ``help`` says which values are, since it is what a refused value is told.
    """

    name: str
    default: OptionValue
    help: str
    check: Callable[[Any], bool] | None = field(default=None, compare=False)

    def parse(self, value: Any) -> OptionValue:
        """``value`` (text from the command line, or a Python value) as this option's type."""
        kind = type(self.default)
        try:
            if isinstance(value, str) and kind is bool:
                parsed: Any = {"true": True, "1": True, "false": False, "0": False}[value.lower()]
            elif isinstance(value, str) or (kind is float and isinstance(value, int)):
                parsed = kind(value)
            else:
                parsed = value
        except (KeyError, ValueError):
            parsed = None
        if type(parsed) is not kind or (self.check is not None and not self.check(parsed)):
            raise MnistlabError(f"option {self.name}={value!r} is not allowed: {self.name} is "
                                f"{self.help}")
        return parsed


@dataclass(frozen=True)
class EpochResult:
    """What one epoch of training measured. ``None`` means "not measured by this loop".

    The runner fills in ``epoch``, ``train_loss`` (the mean of the epoch's
    training losses, each batch weighted by its size) and ``seconds``; the
    loop returns the others. ``last_batch_loss`` and ``last_batch_acc`` are
    what the tutorial's early steps print: the loss and accuracy on the last
    training batch, after the epoch's final update.
    """

    epoch: int
    train_loss: float
    valid_loss: float | None = None
    valid_acc: float | None = None
    last_batch_loss: float | None = None
    last_batch_acc: float | None = None
    seconds: float = 0.0


# What a loop may report besides the training loss.
MEASURED = ("valid_loss", "valid_acc", "last_batch_loss", "last_batch_acc")


@dataclass
class RunResult:
    """What ``mnistlab.run()`` returns: the history, final scores and the trained model."""

    stage: str
    config: RunConfig
    data: str
    epochs: list[EpochResult]
    valid_loss: float
    valid_acc: float
    steps: int
    seconds: float
    model: Any = field(repr=False)

    @property
    def history(self) -> list[dict[str, Any]]:
        """One dict per epoch, ready for ``pandas.DataFrame(result.history)``."""
        return [asdict(epoch) for epoch in self.epochs]

    def plot(self) -> Any:
        """The loss curves (and validation accuracy) as a matplotlib ``Figure``."""
        from mnistlab.plots import loss_curves

        return loss_curves({self.stage: self.history})

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: what ``mnistlab run --json`` prints."""
        return {
            "stage": self.stage,
            "data": self.data,
            "seed": self.config.seed,
            "epochs": self.config.epochs,
            "steps": self.steps,
            "history": self.history,
            "valid_loss": self.valid_loss,
            "valid_acc": self.valid_acc,
            "train_seconds": self.seconds,
        }
