"""A run folder: everything a run keeps on disk, owned by one class.

A run folder holds::

    config.json      the settings, the versions, the data and its checksum, the plugins
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
import io
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mnistlab.atomic import atomic_write, write_text
from mnistlab.errors import MnistlabError

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
# How many validation digits the digit grid shows.
GRID_DIGITS = 24


class RunFolder:
    """One run's folder: naming, claiming, writing and reading back.

    ``made`` is true for a folder mnistlab named itself (``runs/STAGE-...``):
    a run that ends before its first epoch removes it, while a folder given
    with ``--out`` is the user's and keeps what it held.
    """

    def __init__(self, path: str | Path, *, made: bool = False) -> None:
        self.path = Path(path)
        self.made = made

    def __str__(self) -> str:
        return str(self.path)

    @classmethod
    def new(cls, stage: str, parent: str | Path = "runs") -> RunFolder:
        """A folder that mnistlab names ``runs/STAGE-YYYYmmdd-HHMMSS``; made when claimed."""
        return cls(Path(parent) / f"{stage}-{time.strftime('%Y%m%d-%H%M%S')}", made=True)

    def _make_new(self) -> None:
        """Make the named folder, as ``NAME-2``, ``NAME-3``, ... when it is taken.

        ``mkdir`` is atomic, so two runs started in the same second get two folders.
        """
        base = self.path
        base.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 1000):
            path = base if attempt == 1 else base.with_name(f"{base.name}-{attempt}")
            try:
                path.mkdir()
                self.path = path
                return
            except FileExistsError:
                continue
        raise MnistlabError(f"too many runs named {base}; choose a folder with --out")

    # --- claiming --------------------------------------------------------------------------

    @contextmanager
    def claim(self, *, force: bool, resuming: bool) -> Iterator[RunFolder]:
        """Hold the folder for one run: locked, checked, and never left with nothing.

        A new run refuses a folder that holds something else, or a finished run
        unless ``force``. With ``force`` the old run is set aside, not deleted,
        until the new one has a complete epoch: interrupted before that, the
        folder holds the old run again.
        """
        from filelock import FileLock, Timeout

        if self.made:
            self._make_new()
        folder = self.path
        if not str(folder).strip() or folder == Path("."):
            raise MnistlabError("the run folder path is empty or the current folder; name a "
                                "new folder with --out")
        if not resuming and folder.is_dir():
            self._refuse_foreign()  # before the lock file, which would litter a folder not ours
        try:
            folder.mkdir(parents=True, exist_ok=True)
            lock = FileLock(folder / LOCK, timeout=0)
            lock.acquire()
        except Timeout:
            raise MnistlabError(f"run folder {str(folder)!r} is in use by another mnistlab "
                                "run; wait for it to end, or choose another --out") from None
        except OSError as error:
            raise MnistlabError(f"cannot write the run folder {str(folder)!r} "
                                f"({error.strerror}); choose a writable place with --out"
                                ) from None
        try:
            self._settle_replaced()
            for stale in folder.glob(".*.tmp"):  # left by a process killed mid-write
                stale.unlink(missing_ok=True)
            if not resuming:
                self._make_room(force)
            yield self
        finally:
            self._settle_replaced()
            lock.release()
            if self.made and not self.holds_run():
                shutil.rmtree(folder, ignore_errors=True)

    def holds_run(self) -> bool:
        """Whether the folder holds a run worth keeping: one that finished at least one epoch."""
        return (self.path / CONFIG).is_file() and (
            (self.path / CHECKPOINT).is_file() or (self.path / MODEL).is_file())

    def _refuse_foreign(self) -> None:
        """Refuse a folder that holds something, but no mnistlab run."""
        if not (self.path / CONFIG).is_file() and any(
                entry.name not in (LOCK, REPLACED) for entry in self.path.iterdir()):
            raise MnistlabError(f"{str(self.path)!r} is not empty and holds no mnistlab run; "
                                "choose a new or empty folder with --out")

    def _make_room(self, force: bool) -> None:
        self._refuse_foreign()
        if self.holds_run():
            if not force:
                raise MnistlabError(
                    f"run folder {str(self.path)!r} already holds a run; pass --force to "
                    "overwrite it, --out to choose another, or --resume to continue it")
            aside = self.path / REPLACED
            aside.mkdir()
            for name in RUN_FILES:
                if (self.path / name).exists():
                    (self.path / name).rename(aside / name)
            return
        for name in RUN_FILES:  # a run that never finished an epoch: nothing to keep
            _remove(self.path / name)

    def _settle_replaced(self) -> None:
        """Drop the run that --force replaced once the new one has an epoch; else put it back."""
        aside = self.path / REPLACED
        if not aside.is_dir():
            return
        if not self.holds_run():
            for entry in aside.iterdir():
                _remove(self.path / entry.name)
                entry.rename(self.path / entry.name)
        shutil.rmtree(aside, ignore_errors=True)

    def interrupted(self) -> str:
        """What an interrupted run kept here, and the way on from there."""
        if self.holds_run():
            return (f"interrupted: {self} keeps every complete epoch; continue with "
                    f"`mnistlab run --resume {self}`")
        if not self.path.exists():
            return "interrupted before the first epoch ended: nothing to keep; run again"
        return f"interrupted before the first epoch ended: nothing to keep in {self}; run again"

    # --- writing ---------------------------------------------------------------------------

    def write_record(self, record: dict[str, Any]) -> None:
        """Write ``config.json``."""
        write_text(self.path / CONFIG, json.dumps(record, indent=2, default=str) + "\n")

    def copy_plugin(self, index: int, source: Path) -> tuple[str, bytes]:
        """Copy a ``--plugin`` file into ``plugins/``; return its place there and its bytes."""
        copy = Path(PLUGIN_COPIES) / f"{index}-{source.name}"
        (self.path / PLUGIN_COPIES).mkdir(exist_ok=True)
        text = source.read_bytes()
        with atomic_write(self.path / copy) as file:
            file.write(text)
        return copy.as_posix(), text

    def write_metrics(self, history: list[dict[str, Any]]) -> None:
        """Write ``metrics.csv`` with one row per epoch (empty cells: not measured)."""
        text = io.StringIO()
        writer = csv.DictWriter(text, METRIC_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
        write_text(self.path / METRICS, text.getvalue())

    def keep_epoch(self, state: dict[str, Any], history: list[dict[str, Any]]) -> None:
        """Keep a finished epoch: the checkpoint first, so that ``metrics.csv`` never lists
        an epoch that cannot be resumed."""
        save_torch(state, self.path / CHECKPOINT)
        self.write_metrics(history)

    def keep_result(self, weights: Any, curves: Any, digits: Any) -> None:
        """Keep the final weights and the two pictures (matplotlib figures)."""
        from mnistlab.plots import save_figure

        save_torch(weights, self.path / MODEL)
        save_figure(curves, self.path / LOSS_CURVES)
        save_figure(digits, self.path / DIGITS)

    # --- reading back ----------------------------------------------------------------------

    def _require(self, name: str) -> Path:
        path = self.path / name
        if not path.is_file():
            what = ("is not a run folder" if not (self.path / CONFIG).is_file()
                    else f"has no {name}")
            raise MnistlabError(f"{str(self.path)!r} {what}; give a folder written by "
                                "`mnistlab run`")
        return path

    def read_record(self) -> dict[str, Any]:
        """The run's ``config.json``, checked to have the shape a run writes."""
        path = self._require(CONFIG)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
            raise MnistlabError(f"{path} is not valid JSON ({type(error).__name__}); the run "
                                "folder is damaged") from None
        if not (isinstance(record, dict) and isinstance(record.get("stage"), str)
                and isinstance(record.get("settings"), dict)):
            raise MnistlabError(f"{path} lacks the run's stage or settings; the run folder is "
                                "damaged: run the stage again")
        return record

    def read_history(self) -> list[dict[str, Any]]:
        """The rows of ``metrics.csv`` as dicts of numbers (``None`` for empty cells)."""
        path = self._require(METRICS)
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

    def read_checkpoint(self) -> dict[str, Any]:
        """The last complete epoch's checkpoint, loaded with ``weights_only=True``."""
        return _read_torch(self._require(CHECKPOINT))

    def read_weights(self) -> Any:
        """The final weights in ``model.pt``, loaded with ``weights_only=True`` onto the CPU."""
        return _read_torch(self._require(MODEL), map_location="cpu")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


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


def _read_torch(path: Path, **options: Any) -> Any:
    """``torch.load`` with ``weights_only=True``; a damaged or foreign file is one line."""
    import torch

    try:
        return torch.load(path, weights_only=True, **options)
    except Exception as error:  # torch raises many kinds here; every one means "damaged"
        kind = type(error).__name__
        raise MnistlabError(f"{path} cannot be read as saved weights ({kind}); the run folder "
                            "is damaged: run the stage again") from None
