"""Run folders: what a run leaves on disk, and how to read it back.

A run folder holds::

    config.json      every setting, the versions, the data and its checksum, the plugins
    metrics.csv      epoch, train_loss, valid_loss, valid_acc, seconds
    checkpoint.pt    the state after the last complete epoch, for --resume
    model.pt         the final weights (a state_dict)
    loss_curves.png  the loss curves
    digits.png       validation digits with their predicted labels, wrong ones in red
    plugins/         a copy of each --plugin file the run used, named in config.json

Every file is written atomically (see :mod:`mnistlab.atomic`), so an
interrupted run leaves only complete files behind. While a run writes, it
holds the folder's lock (``.lock``): a second run into the same folder is
refused, not mixed in. A folder is data: reading one never imports the
plugins it names, which must be passed again (and match their recorded hash).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
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
PLUGIN_COPIES = "plugins"
PREDICTIONS = "predictions.png"
RUN_FILES = (CONFIG, METRICS, CHECKPOINT, MODEL, LOSS_CURVES, DIGITS, PREDICTIONS, PLUGIN_COPIES)
LOCK = ".lock"
# Where --force keeps the run it replaces until the new one has a complete epoch.
REPLACED = ".replaced"
METRIC_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_acc", "seconds")


@contextmanager
def claim(folder: str | Path, *, force: bool, resuming: bool) -> Iterator[Path]:
    """Hold ``folder`` for one run: locked, checked, and never left with nothing.

    A new run refuses a folder that holds something else, or a finished run
    unless ``force``. With ``force`` the old run is set aside, not deleted,
    until the new one has a complete epoch: interrupted before that, the
    folder holds the old run again.
    """
    from filelock import FileLock, Timeout

    folder = Path(folder)
    if not str(folder).strip() or folder == Path("."):
        raise MnistlabError("the run folder path is empty or the current folder; name a new "
                            "folder with --out")
    if not resuming and folder.is_dir():
        _refuse_foreign(folder)  # before the lock file, which would litter a folder not ours
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(folder / LOCK, timeout=0)
        lock.acquire()
    except Timeout:
        raise MnistlabError(f"run folder {str(folder)!r} is in use by another mnistlab run; "
                            "wait for it to end, or choose another --out") from None
    except OSError as error:
        raise MnistlabError(f"cannot write the run folder {str(folder)!r} ({error.strerror}); "
                            "choose a writable place with --out") from None
    try:
        _settle_replaced(folder)
        for stale in folder.glob(".*.tmp"):  # left by a process killed mid-write
            stale.unlink(missing_ok=True)
        if not resuming:
            _make_room(folder, force)
        yield folder
    finally:
        _settle_replaced(folder)
        lock.release()


def holds_run(folder: Path) -> bool:
    """Whether ``folder`` holds a run worth keeping: one that finished at least one epoch."""
    return (folder / CONFIG).is_file() and (
        (folder / CHECKPOINT).is_file() or (folder / MODEL).is_file())


def _refuse_foreign(folder: Path) -> None:
    """Refuse a folder that holds something, but no mnistlab run."""
    if not (folder / CONFIG).is_file() and any(
            entry.name not in (LOCK, REPLACED) for entry in folder.iterdir()):
        raise MnistlabError(f"{str(folder)!r} is not empty and holds no mnistlab run; choose a "
                            "new or empty folder with --out")


def _make_room(folder: Path, force: bool) -> None:
    _refuse_foreign(folder)
    if holds_run(folder):
        if not force:
            raise MnistlabError(
                f"run folder {str(folder)!r} already holds a run; pass --force to overwrite it, "
                "--out to choose another, or --resume to continue it")
        aside = folder / REPLACED
        aside.mkdir()
        for name in RUN_FILES:
            if (folder / name).exists():
                (folder / name).rename(aside / name)
        return
    for name in RUN_FILES:  # a run that never finished an epoch: nothing to keep
        _remove(folder / name)


def _settle_replaced(folder: Path) -> None:
    """Drop the run that --force replaced once the new one has an epoch; else put it back."""
    aside = folder / REPLACED
    if not aside.is_dir():
        return
    if not holds_run(folder):
        for entry in aside.iterdir():
            _remove(folder / entry.name)
            entry.rename(folder / entry.name)
    shutil.rmtree(aside, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def copy_plugins(folder: Path, sources: dict[str, Path]) -> list[dict[str, str]]:
    """Copy each user plugin's source into ``folder/plugins``; return their records."""
    records = []
    for index, (spec, source) in enumerate(sources.items(), start=1):
        copy = Path(PLUGIN_COPIES) / f"{index}-{source.name}"
        (folder / PLUGIN_COPIES).mkdir(exist_ok=True)
        text = source.read_bytes()
        with atomic_write(folder / copy) as file:
            file.write(text)
        records.append({"spec": spec, "sha256": hashlib.sha256(text).hexdigest(),
                        "copy": copy.as_posix()})
    return records


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
        "user_plugins": copy_plugins(folder, session.pm.sources),
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
    """The run's ``config.json``, checked to have the shape a run writes."""
    path = _require(folder, CONFIG)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MnistlabError(f"{path} is not valid JSON ({error}); the run folder is damaged"
                            ) from None
    if not (isinstance(record, dict) and isinstance(record.get("stage"), str)
            and isinstance(record.get("settings"), dict)):
        raise MnistlabError(f"{path} lacks the run's stage or settings; the run folder is "
                            "damaged: run the stage again")
    return record


def read_history(folder: str | Path) -> list[dict[str, Any]]:
    """The rows of ``metrics.csv`` as dicts of numbers (``None`` for empty cells)."""
    path = _require(folder, METRICS)
    try:
        with path.open(newline="", encoding="utf-8") as file:
            return [
                {key: (None if value in ("", None) else int(value) if key == "epoch"
                       else float(value))
                 for key, value in row.items() if key in METRIC_COLUMNS}
                for row in csv.DictReader(file)
            ]
    except (ValueError, UnicodeDecodeError, csv.Error) as error:
        raise MnistlabError(f"{path} is not a metrics file ({error}); the run folder is "
                            "damaged") from None


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
