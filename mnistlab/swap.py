"""``--force`` as a transaction: a run folder holds the old run or the new one, never neither.

The new run writes into ``.mnistlab-new/`` inside the folder until its first
epoch is saved; only then is it swapped in, in steps that a kill at any point
leaves recoverable:

1. every file of the old run moves into ``.mnistlab-old-partial/``;
2. that folder is renamed ``.mnistlab-old/`` (one atomic step: the old run is out);
3. every file of the new run moves in from ``.mnistlab-new/``;
4. both folders are removed.

``settle`` finishes an interrupted swap, rolling forward (the new run's first
epoch is complete by then), or drops a new run that never got that far, so the
old run is usable as it was. Everything here moves or deletes only names that
mnistlab made, checked without following symbolic links.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

STAGED = ".mnistlab-new"
MOVING_OUT = ".mnistlab-old-partial"
MOVED_OUT = ".mnistlab-old"
# Every folder of the transaction: none of them is part of a run.
WORK = (STAGED, MOVING_OUT, MOVED_OUT)


def swap(folder: Path, run_files: tuple[str, ...]) -> None:
    """Put the run staged in ``folder/.mnistlab-new`` in place of the folder's run."""
    moving_out = folder / MOVING_OUT
    moving_out.mkdir(exist_ok=True)
    _finish(folder, run_files)


def settle(folder: Path, run_files: tuple[str, ...]) -> None:
    """Finish a swap that was interrupted, or drop a staged run that was never swapped in."""
    if _exists(folder / MOVING_OUT) or _exists(folder / MOVED_OUT):
        _finish(folder, run_files)
    elif _exists(folder / STAGED):
        remove(folder / STAGED)


def _finish(folder: Path, run_files: tuple[str, ...]) -> None:
    """Steps 1 to 4, each one safe to repeat after a kill."""
    moving_out, moved_out, staged = (folder / name for name in (MOVING_OUT, MOVED_OUT, STAGED))
    if _exists(moving_out):
        for name in run_files:
            if _exists(folder / name):
                os.rename(folder / name, moving_out / name)
        os.rename(moving_out, moved_out)
    if _exists(staged):
        for entry in sorted(staged.iterdir()):
            os.rename(entry, folder / entry.name)
        staged.rmdir()
    remove(moved_out)


def remove(path: Path) -> None:
    """Remove a file or folder that mnistlab made; a symbolic link is removed, never followed."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path)


def _exists(path: Path) -> bool:
    return os.path.lexists(path)
