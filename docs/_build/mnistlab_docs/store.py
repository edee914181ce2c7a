"""build/docs-runs/: what the builds run and compute for the pages, kept between builds under
a hash of the code (``fingerprint``), and made once even by two builds at once: the English
build and the Chinese one that scripts/build_docs.py starts beside it (``made_once``)."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pluggy
import torch

from .blocks import ROOT

KEPT = ROOT / "build" / "docs-runs"


@functools.cache
def fingerprint() -> str:
    """What a kept entry depends on: mnistlab, plugins, examples, how a command runs (kept.py),
    Python, torch, pluggy."""
    digest = hashlib.sha256(f"{sys.version} {torch.__version__} {pluggy.__version__}".encode()
                            + Path(__file__).with_name("kept.py").read_bytes())
    for path in sorted(path for folder in ("mnistlab", "plugins", "examples")
                       for path in (ROOT / folder).rglob("*")
                       if path.is_file() and "__pycache__" not in path.parts):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def made_once(path: Path, make: Callable[[], None]) -> None:
    """``make()``, which makes ``path`` in KEPT, unless it is there. Two builds at once never
    make the same one: the second to need it waits until the first has made it, then reads it."""
    KEPT.mkdir(parents=True, exist_ok=True)
    entry = path.relative_to(KEPT).parts[0]  # a command's folder HASH/, or a result's HASH.json
    with open(KEPT / f"{entry.partition('.')[0]}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, by a crash too
        if not path.exists():
            make()


def wait_until_made(path: Path) -> None:
    """Wait, asleep, until another build has made ``path``. A build whose parent (the script
    that started both builds) is gone stops waiting."""
    parent = os.getppid()
    while not path.exists():
        if os.getppid() != parent:
            raise RuntimeError(f"the build that was to make {path} has ended")
        time.sleep(0.2)
