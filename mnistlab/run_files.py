"""The formats of a run folder's files: ``metrics.csv``, ``scores.json`` and the torch files,
read back safely.

Torch files are written atomically and read with ``weights_only=True``, so a
checkpoint can hold tensors, numbers and containers but never code.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from mnistlab.atomic import atomic_write
from mnistlab.errors import MnistlabError

METRIC_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_acc", "seconds")


def metrics_csv(history: list[dict[str, Any]]) -> str:
    """``metrics.csv``: one row per epoch (empty cells: not measured)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, METRIC_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return text.getvalue()


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``metrics.csv`` as dicts of numbers (``None`` for empty cells).

    Epochs count 1, 2, 3, ... and every number is finite and not negative, as a run writes
    them; anything else is one line naming the row and the field.
    """
    try:
        with path.open(newline="", encoding="utf-8") as file:
            rows = [{key: (None if value in ("", None) else int(value) if key == "epoch"
                           else float(value))
                     for key, value in row.items() if key in METRIC_COLUMNS}
                    for row in csv.DictReader(file)]
    except (ValueError, UnicodeDecodeError, csv.Error) as error:
        raise MnistlabError(f"{path} is not a metrics file ({error}); the run folder is "
                            "damaged") from None
    for number, row in enumerate(rows, start=1):
        for key, value in row.items():
            wrong = (value != number if key == "epoch" else
                     value is not None and not (math.isfinite(value) and value >= 0))
            if wrong:
                raise MnistlabError(f"{path}: row {number}, field {key} is {value!r}, which no "
                                    "run writes; the run folder is damaged")
    return rows


# What scores.json holds: the validation after training, and what training took.
SCORES = ("valid_loss", "valid_acc", "steps", "train_seconds")


def read_json(path: Path) -> Any:
    """The JSON in ``path``; anything else is one line saying the folder is damaged."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise MnistlabError(f"{path} is not valid JSON ({type(error).__name__}); the run "
                            "folder is damaged") from None


def scores_json(result: Any) -> str:
    """``scores.json`` of a ``RunResult``."""
    scores = {"valid_loss": result.valid_loss, "valid_acc": result.valid_acc,
              "steps": result.steps, "train_seconds": result.seconds}
    return json.dumps(scores, indent=2) + "\n"


def read_scores(path: Path) -> dict[str, float]:
    """``scores.json``, checked to hold a number for each of :data:`SCORES`."""
    scores = read_json(path)
    if not (isinstance(scores, dict) and all(
            type(scores.get(key)) in (int, float) for key in SCORES)):
        raise MnistlabError(f"{path} lacks the run's final scores; the run folder is damaged")
    return {key: scores[key] for key in SCORES}


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


def load_torch(path: Path, **options: Any) -> Any:
    """``torch.load`` with ``weights_only=True``; a damaged or foreign file is one line."""
    import torch

    try:
        return torch.load(path, weights_only=True, **options)
    except Exception as error:  # torch raises many kinds here; every one means "damaged"
        kind = type(error).__name__
        raise MnistlabError(f"{path} cannot be read as saved weights ({kind}); the run folder "
                            "is damaged: run the stage again") from None
