"""Run folders: what a run leaves on disk, and how to read it back.

A run folder holds::

    config.json      every setting, the versions, the data and its checksum, the plugins
    metrics.csv      epoch, train_loss, valid_loss, valid_acc, seconds
    checkpoint.pt    the state after the last complete epoch, for --resume
    model.pt         the final weights (a state_dict)
    loss_curves.png  the loss curves
    digits.png       validation digits with their predicted labels, wrong ones in red

Every file is written atomically (see :mod:`mnistlab.atomic`), so an
interrupted run leaves only complete files behind.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mnistlab.atomic import atomic_write, write_text
from mnistlab.errors import MnistlabError

if TYPE_CHECKING:
    from mnistlab.session import Session

CONFIG = "config.json"
METRICS = "metrics.csv"
CHECKPOINT = "checkpoint.pt"
MODEL = "model.pt"
LOSS_CURVES = "loss_curves.png"
DIGITS = "digits.png"
RUN_FILES = (CONFIG, METRICS, CHECKPOINT, MODEL, LOSS_CURVES, DIGITS)
METRIC_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_acc", "seconds")


def prepare(folder: str | Path, force: bool) -> Path:
    """Create the run folder; refuse to overwrite an earlier run unless ``force``.

    With ``force``, only the files a run writes are removed, never anything else.
    """
    folder = Path(folder)
    if (folder / CONFIG).exists():
        if not force:
            raise MnistlabError(
                f"run folder {str(folder)!r} already holds a run; pass --force to overwrite it, "
                "--out to choose another, or --resume to continue it"
            )
        for name in RUN_FILES:
            (folder / name).unlink(missing_ok=True)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".mnistlab-write-test"
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise MnistlabError(f"cannot write the run folder {str(folder)!r} ({error.strerror}); "
                            "choose a writable place with --out") from None
    return folder


def write_config(folder: Path, session: Session) -> None:
    """Write ``config.json``: enough to repeat or resume the run, and who filled each piece."""
    import torch

    from mnistlab import __version__
    from mnistlab.introspect import describe, describe_update

    data = session.data
    record = {
        "stage": session.config.stage,
        "settings": asdict(session.config),
        "versions": {"mnistlab": __version__, "torch": torch.__version__},
        "data": {"name": data.name, "description": data.description, "checksum": data.checksum},
        "pieces": {piece: {"plugin": filled.plugin, "origin": filled.origin}
                   for piece, filled in session.pieces.items()},
        "update": describe_update(session.opt),
        "plugins": describe(session.pm),
        "device": str(session.device),
    }
    write_text(folder / CONFIG, json.dumps(record, indent=2, default=str) + "\n")


def write_metrics(folder: Path, history: list[dict[str, Any]]) -> None:
    """Write ``metrics.csv`` with one row per epoch (empty cells: not measured)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, METRIC_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_text(folder / METRICS, text.getvalue())


def save_torch(obj: Any, path: Path) -> None:
    """``torch.save`` atomically.

    The bytes are made in memory first: torch reports a failed write to a file
    as an opaque ``RuntimeError``, a plain write says what went wrong.
    """
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_write(path) as file:
        file.write(buffer.getbuffer())


def _require(folder: str | Path, name: str) -> Path:
    path = Path(folder) / name
    if not path.is_file():
        what = "is not a run folder" if not (Path(folder) / CONFIG).is_file() else f"has no {name}"
        raise MnistlabError(f"{str(folder)!r} {what}; give a folder written by `mnistlab run`")
    return path


def read_config(folder: str | Path) -> dict[str, Any]:
    """The run's ``config.json``."""
    path = _require(folder, CONFIG)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise MnistlabError(f"{path} is not valid JSON ({error}); the run folder is damaged"
                            ) from None


def read_history(folder: str | Path) -> list[dict[str, Any]]:
    """The rows of ``metrics.csv`` as dicts of numbers (``None`` for empty cells)."""
    path = _require(folder, METRICS)
    with path.open(newline="", encoding="utf-8") as file:
        return [
            {key: (None if value == "" else int(value) if key == "epoch" else float(value))
             for key, value in row.items()}
            for row in csv.DictReader(file)
        ]


def read_checkpoint(folder: str | Path) -> dict[str, Any]:
    """The last complete epoch's checkpoint, loaded with ``weights_only=True``."""
    return _read_torch(_require(folder, CHECKPOINT))


def read_weights(folder: str | Path) -> Any:
    """The final weights in ``model.pt``, loaded with ``weights_only=True`` onto the CPU."""
    return _read_torch(_require(folder, MODEL), map_location="cpu")


def _read_torch(path: Path, **options: Any) -> Any:
    """``torch.load`` with ``weights_only=True``; a damaged or foreign file is one line."""
    import torch

    try:
        return torch.load(path, weights_only=True, **options)
    except Exception as error:  # torch raises many kinds here; every one means "damaged"
        kind = type(error).__name__
        raise MnistlabError(f"{path} cannot be read as saved weights ({kind}); the run folder "
                            "is damaged: run the stage again") from None
