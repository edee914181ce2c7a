"""A run folder: everything a run keeps on disk, owned by one class.

A run folder holds::

    config.json      the settings, the versions, the data and its checksum, the plugins
    metrics.csv      epoch, train_loss, valid_loss, valid_acc, seconds
    checkpoint.pt    the state after the last complete epoch, for --resume
    model.pt         the final weights (a state_dict)
    scores.json      the validation loss and accuracy after training, its steps and seconds
    loss_curves.png  the loss curves
    digits.png       validation digits with their predicted labels, wrong ones in red
    plugins/         a copy of each --plugin file the run used, named in config.json

Every file is written atomically (:mod:`mnistlab.atomic`), so an interrupted
run leaves only complete files. While a run writes, it holds the folder's lock
(``.lock``, removed when the run ends, see :mod:`mnistlab.lockfile`): a second run
into it is refused, not mixed in. A folder is data:
reading one never imports the plugins it names, never follows a symbolic link,
and touches only names that mnistlab made.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mnistlab import run_files, swap
from mnistlab.atomic import atomic_write, is_temporary, write_text
from mnistlab.errors import MnistlabError
from mnistlab.lockfile import Busy, LockFile

CONFIG = "config.json"
METRICS = "metrics.csv"
CHECKPOINT = "checkpoint.pt"
MODEL = "model.pt"
SCORES = "scores.json"
LOSS_CURVES = "loss_curves.png"
DIGITS = "digits.png"
PLUGIN_COPIES = "plugins"
PREDICTIONS = "predictions.png"
RUN_FILES = (CONFIG, METRICS, CHECKPOINT, MODEL, SCORES, LOSS_CURVES, DIGITS, PREDICTIONS,
             PLUGIN_COPIES)
LOCK = ".lock"
# Where mnistlab 0.1 kept the run that --force replaced (see mnistlab.swap for today's way).
LEGACY_REPLACED = ".replaced"
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
        self.replacing = False  # a --force run, written aside until its first epoch
        self.made_parent = self.read_settled = False

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
        if not base.parent.exists():  # runs/ itself: taken back too if no run is kept in it
            base.parent.mkdir(parents=True)
            self.made_parent = True
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
        unless ``force``. With ``force`` the new run is written aside and swapped
        in once its first epoch is saved (:mod:`mnistlab.swap`): until then, and
        whenever it is interrupted, the folder holds the old run, usable.
        """
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
            self._refuse_links()
            lock = LockFile(folder / LOCK)
            lock.acquire()
        except Busy:
            raise MnistlabError(f"run folder {str(folder)!r} is in use by another mnistlab "
                                "run; wait for it to end, or choose another --out") from None
        except OSError as error:
            raise MnistlabError(f"cannot write the run folder {str(folder)!r} "
                                f"({error.strerror}); choose a writable place with --out"
                                ) from None
        try:
            self._settle()
            if not resuming:
                self._make_room(force)
            yield self
        finally:
            if self.replacing:  # interrupted before its first epoch: the old run stays
                swap.remove(folder / swap.STAGED)
                self.replacing = False
            lock.release()
            if self.made and not self.holds_run():
                shutil.rmtree(folder, ignore_errors=True)
                if self.made_parent and not any(folder.parent.iterdir()):
                    folder.parent.rmdir()

    def holds_run(self) -> bool:
        """Whether the folder holds a run worth keeping: one that finished at least one epoch."""
        return _is_file(self.path / CONFIG) and (
            _is_file(self.path / CHECKPOINT) or _is_file(self.path / MODEL))

    def _refuse_foreign(self) -> None:
        """Refuse a folder that holds something, but no mnistlab run."""
        if not _is_file(self.path / CONFIG) and any(
                entry.name not in (LOCK, *swap.WORK) for entry in self.path.iterdir()):
            raise MnistlabError(f"{str(self.path)!r} is not empty and holds no mnistlab run; "
                                "choose a new or empty folder with --out")

    def _refuse_links(self) -> None:
        """Refuse a link where mnistlab keeps a file: following it would leave the folder."""
        for name in (*RUN_FILES, LOCK, LEGACY_REPLACED, *swap.WORK):
            if (self.path / name).is_symlink():
                raise MnistlabError(f"{self.path / name} is a symbolic link, which mnistlab "
                                    "never makes in a run folder; remove it, or choose "
                                    "another --out")

    def _settle(self) -> None:
        """Put the folder right after a process that was killed while it wrote."""
        swap.settle(self.path, RUN_FILES)
        legacy = self.path / LEGACY_REPLACED  # what mnistlab 0.1 set aside for --force
        if legacy.is_dir() and not legacy.is_symlink():
            if not self.holds_run():
                for entry in legacy.iterdir():
                    if entry.name in RUN_FILES:
                        swap.remove(self.path / entry.name)
                        os.rename(entry, self.path / entry.name)
            shutil.rmtree(legacy)
        for entry in self.path.iterdir():  # left by a process killed mid-write
            if is_temporary(entry):
                entry.unlink(missing_ok=True)

    def _make_room(self, force: bool) -> None:
        self._refuse_foreign()
        if self.holds_run():
            if not force:
                raise MnistlabError(
                    f"run folder {str(self.path)!r} already holds a run; pass --force to "
                    "overwrite it, --out to choose another, or --resume to continue it")
            (self.path / swap.STAGED).mkdir()
            self.replacing = True
            return
        for name in RUN_FILES:  # a run that never finished an epoch: nothing to keep
            swap.remove(self.path / name)

    def settled(self) -> RunFolder:
        """Put right what a killed process left, unless a run holds the folder; for readers."""
        if self.read_settled or not self.path.is_dir():  # once per reader: one lock, one scan
            return self
        self.read_settled = True
        try:
            self._refuse_links()
            with LockFile(self.path / LOCK):
                self._settle()
        except (Busy, OSError, MnistlabError):  # a run writes, or the folder is read-only,
            pass  # or holds a link that a run will refuse: read it as it is
        return self

    # --- writing ---------------------------------------------------------------------------

    def _target(self, name: str | Path) -> Path:
        """Where a file of the run goes: aside while it replaces a run (``--force``)."""
        return (self.path / swap.STAGED if self.replacing else self.path) / name

    def _commit(self) -> None:
        """Swap a replacing run in, once it has a complete epoch (or its final weights)."""
        if self.replacing:
            swap.swap(self.path, RUN_FILES)
            self.replacing = False

    def write_record(self, record: dict[str, Any]) -> None:
        """Write ``config.json``."""
        write_text(self._target(CONFIG), json.dumps(record, indent=2, default=str) + "\n")

    def copy_plugin(self, index: int, source: Path) -> tuple[str, bytes]:
        """Copy a ``--plugin`` file into ``plugins/``; return its place there and its bytes."""
        copy = Path(PLUGIN_COPIES) / f"{index}-{source.name}"
        self._target(PLUGIN_COPIES).mkdir(exist_ok=True)
        text = source.read_bytes()
        with atomic_write(self._target(copy)) as file:
            file.write(text)
        return copy.as_posix(), text

    def write_metrics(self, history: list[dict[str, Any]]) -> None:
        """Write ``metrics.csv`` with one row per epoch (empty cells: not measured)."""
        write_text(self._target(METRICS), run_files.metrics_csv(history))

    def keep_epoch(self, state: dict[str, Any], history: list[dict[str, Any]]) -> None:
        """Keep a finished epoch: the checkpoint first, so that ``metrics.csv`` never lists
        an epoch that cannot be resumed."""
        run_files.save_torch(state, self._target(CHECKPOINT))
        self.write_metrics(history)
        self._commit()

    def keep_result(self, weights: Any, curves: Any, digits: Any, result: Any) -> None:
        """Keep the final weights and scores (of a ``RunResult``), and the two pictures."""
        from mnistlab.plots import save_figure

        run_files.save_torch(weights, self._target(MODEL))
        write_text(self._target(SCORES), run_files.scores_json(result))
        self._commit()
        save_figure(curves, self.path / LOSS_CURVES)
        save_figure(digits, self.path / DIGITS)

    # --- reading back ----------------------------------------------------------------------

    def _require(self, name: str) -> Path:
        path = self.settled().path / name
        if path.is_symlink():
            raise MnistlabError(f"{path} is a symbolic link, which mnistlab never makes in a "
                                "run folder; it is not read")
        if not path.is_file():
            what = ("is not a run folder" if not (self.path / CONFIG).is_file()
                    else f"has no {name}")
            raise MnistlabError(f"{str(self.path)!r} {what}; give a folder written by "
                                "`mnistlab run`")
        return path

    def read_record(self) -> dict[str, Any]:
        """The run's ``config.json``, checked to have the shape a run writes."""
        path = self._require(CONFIG)
        record = run_files.read_json(path)
        if not (isinstance(record, dict) and isinstance(record.get("stage"), str)
                and isinstance(record.get("settings"), dict)):
            raise MnistlabError(f"{path} lacks the run's stage or settings; the run folder is "
                                "damaged: run the stage again")
        return record

    def read_history(self) -> list[dict[str, Any]]:
        """The rows of ``metrics.csv`` as dicts of numbers (``None`` for empty cells)."""
        return run_files.read_metrics(self._require(METRICS))

    def read_scores(self) -> dict[str, float] | None:
        """The final scores in ``scores.json``; ``None`` when the run never finished (or an
        older mnistlab, which kept no scores, wrote it)."""
        if not os.path.lexists(self.settled().path / SCORES):
            return None
        return run_files.read_scores(self._require(SCORES))

    def read_checkpoint(self) -> dict[str, Any]:
        """The last complete epoch's checkpoint, loaded with ``weights_only=True``."""
        return run_files.load_torch(self._require(CHECKPOINT))

    def read_weights(self) -> Any:
        """The final weights in ``model.pt``, loaded with ``weights_only=True`` onto the CPU."""
        return run_files.load_torch(self._require(MODEL), map_location="cpu")


def _is_file(path: Path) -> bool:
    """A regular file, not a symbolic link to one."""
    return path.is_file() and not path.is_symlink()
