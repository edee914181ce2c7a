"""The learner's progress: each exercise's last status and the hints shown, in one JSON file.

It lives in the user's data folder (``platformdirs.user_data_dir("mnistlab")``), is
written atomically, and ``mnistlab exercise --reset`` removes it. A file that cannot be read
counts as no progress: it is the learner's record, never a reason to refuse a check.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import platformdirs

from mnistlab.atomic import write_text
from mnistlab.errors import MnistlabError

NOT_STARTED = "not started"


def progress_file() -> Path:
    """Where the progress is kept."""
    return Path(platformdirs.user_data_dir("mnistlab")) / "exercises.json"


def _read() -> dict[str, dict[str, Any]]:
    try:
        kept = json.loads(progress_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return kept if isinstance(kept, dict) else {}


def _write(kept: dict[str, dict[str, Any]]) -> None:
    """Keep ``kept``; a data folder that cannot be written loses the progress, not the check."""
    path = progress_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(kept, indent=1, sort_keys=True) + "\n")
    except OSError as error:
        print(f"note: cannot keep your progress in {path} ({error.strerror})", file=sys.stderr)


def status(stage: str) -> str:
    """``passed``, ``failing``, ``not done yet`` or ``not started``; passed, once, stays."""
    entry = _read().get(stage)
    return entry.get("status", NOT_STARTED) if isinstance(entry, dict) else NOT_STARTED


def record(stage: str, outcome: str) -> None:
    """Keep the outcome of a check of ``stage``'s exercise."""
    kept = _read()
    entry = kept.setdefault(stage, {})
    if entry.get("status") != "passed":
        entry["status"] = outcome
    _write(kept)


def next_hint(stage: str, hints: int) -> int:
    """How many of ``hints`` to show now: one more than last time, up to all of them."""
    kept = _read()
    entry = kept.setdefault(stage, {})
    shown = min(int(entry.get("hints", 0)) + 1, hints)
    entry["hints"] = shown
    _write(kept)
    return shown


def reset() -> bool:
    """Forget all progress; whether there was any."""
    path = progress_file()
    if not path.exists():
        return False
    try:
        path.unlink()
    except OSError as error:
        raise MnistlabError(f"cannot remove {path} ({error.strerror}); remove it by hand"
                            ) from None
    return True
