"""What pages compute from the code alone (a stage's exported files, an exercise's failing
report, the kernel's call path, what a code example printed), kept between builds beside the
commands' runs (store.py) and shared by the two languages' builds: each is computed once per
version of the code."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mnistlab.atomic import atomic_write

from . import store


def _path(*key: Any) -> Path:
    digest = hashlib.sha256(json.dumps([store.fingerprint(), *key]).encode()).hexdigest()
    return store.KEPT / digest[:32]


def _write(path: Path, content: bytes) -> None:
    with atomic_write(path) as file:  # whole or not at all, for a build that reads it meanwhile
        file.write(content)


def kept_result(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, whose arguments and result are JSON (tuples come back as lists), called
    once per version of the code and of its own source."""
    source = inspect.getsource(function)

    @functools.wraps(function)
    def keeping(*args: Any, **kwargs: Any) -> Any:
        path = _path(source, args, kwargs).with_suffix(".json")
        if not path.is_file():  # the other language's build may be making it: wait for it
            store.made_once(path, lambda: _write(path, json.dumps(function(*args, **kwargs))
                                                .encode()))
        return json.loads(path.read_bytes())
    return keeping


@kept_result
def printed_by(source: str) -> str:
    """What running ``source`` printed, stdout and stderr in the order written."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        exec(compile(source, "<docs example>", "exec"), {"__name__": "__docs_example__"})
    return printed.getvalue()


def keep_bytes(name: str, content: bytes) -> None:
    """Keep a file that many results name (a data file every stage's export reads)."""
    path = _path("bytes", name)
    if not path.is_file():
        store.made_once(path, lambda: _write(path, content))


def kept_bytes(name: str) -> bytes:
    return _path("bytes", name).read_bytes()
