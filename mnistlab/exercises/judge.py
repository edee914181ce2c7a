"""The check: the stage run with the learner's plugin, against the stage's own run.

Both runs take the same seed, the same data (the embedded sample) and, where
the learner's model has the reference's shapes, the same initial weights.
The reference is run once per process and kept; the learner's run stops at
the first loss that parts from it, or once the exercise's batches are
compared. A learner's error is the learner's: it is reported with the line of
their file, never as a traceback.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import os
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from mnistlab.errors import MnistlabError, one_line
from mnistlab.exercises.catalog import Exercise, get_exercise
from mnistlab.exercises.mistakes import diagnose, init_problems
from mnistlab.exercises.probe import Probe, Record, close
from mnistlab.exercises.report import FAILING, NOT_DONE, PASSED, CheckResult, Parting
from mnistlab.plugin_loading import instantiate
from mnistlab.runner import run
from mnistlab.sources import plugin_source

DATA = "sample"
# What the loop measures at an epoch's end is a mean the learner may sum in another order.
MEASURED_RTOL = 1e-6
# The learner's module, imported afresh for every check: what a message calls "your plugin".
LEARNER = "mnistlab_exercise"


def judge(plugin: str | Path | ModuleType, stage: str) -> CheckResult:
    """Check ``plugin`` (a file or a module) as the exercise of ``stage``."""
    exercise = get_exercise(stage)
    source = _source_name(plugin)
    command = f"mnistlab check {source} --stage {stage}"
    reference = reference_run(stage)
    try:
        module = plugin if isinstance(plugin, ModuleType) else _load(Path(plugin))
    except _LearnerError as error:
        return _failed_to_run(exercise, source, command, error.__cause__ or error, reference)
    probe = Probe(exercise.tolerance.epochs, exercise.tolerance.batches, reference,
                  exercise.tolerance.rtol)
    try:
        _run(exercise, (instantiate(module), probe))
    except MnistlabError as error:
        return _failed_to_run(exercise, source, command, error, reference, probe.record)
    return _compare(exercise, source, command, reference, probe.record, module)


@functools.cache
def reference_run(stage: str) -> Record:
    """The stage's own run, recorded; run once per process."""
    exercise = get_exercise(stage)
    probe = Probe(exercise.tolerance.epochs, exercise.tolerance.batches)
    _run(exercise, (probe,), blocked=())
    return probe.record


def _run(exercise: Exercise, objects: tuple[object, ...], blocked: tuple[str, ...] | None = None
         ) -> None:
    tolerance = exercise.tolerance
    epochs = tolerance.epochs + (1 if tolerance.batches else 0)
    run(exercise.stage, epochs=epochs, data=DATA, quiet=True, plugin_objects=objects,
        blocked=(exercise.plugin,) if blocked is None else blocked)


class _LearnerError(Exception):
    """The learner's file failed to import; the cause is the learner's own exception."""


def _load(path: Path) -> ModuleType:
    """Import the learner's file afresh (``--watch`` imports it again after every save)."""
    if not path.is_file():
        raise MnistlabError(f"no file {str(path)!r}; write one with `mnistlab exercise STAGE "
                            "--out FILE`, or check the path")
    name = LEARNER
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise MnistlabError(f"{str(path)!r} is not a Python file; give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        code = compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        exec(code, module.__dict__)  # noqa: S102 - the learner's own file, as --plugin runs it
    except BaseException as error:
        del sys.modules[name]
        if isinstance(error, KeyboardInterrupt):
            raise
        raise _LearnerError() from error
    return module


def _source_name(plugin: Any) -> str:
    if isinstance(plugin, ModuleType):
        return getattr(plugin, "__file__", None) or plugin.__name__
    return str(plugin)


def _failed_to_run(exercise: Exercise, source: str, command: str, error: BaseException,
                   reference: Record, record: Record | None = None) -> CheckResult:
    """The learner's code raised (or broke a contract): say where, and what it looks like."""
    if _raised(error, NotImplementedError):
        return CheckResult(exercise.stage, source, NOT_DONE, command=command, problems=(
            "the stub still raises NotImplementedError, where its TODOs are"
            f"{_line(error, source)}",))
    mistakes = tuple(diagnose(record or Record(), reference, error))
    cause = _learners(error, source)
    what = (f"your plugin raised {one_line(cause)}{_line(cause, source)}" if cause is not None
            else re.sub(rf"plugin '{LEARNER}'( \(\w+\))?|'{LEARNER}'", "your plugin", str(error)))
    if str(error).startswith(f"no plugin provides the {exercise.piece}"):
        what = (f"your plugin returned None from {exercise.hook}; return the {exercise.piece} "
                "there")
    return CheckResult(exercise.stage, source, FAILING, command=command, problems=(what,),
                       mistakes=mistakes)


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def _raised(error: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(e, kind) for e in _chain(error))


def _learners(error: BaseException, source: str) -> BaseException | None:
    """The exception the learner's code raised, if any: one with a frame in their file."""
    for seen in reversed(_chain(error)):
        if _frames(seen, source) or isinstance(seen, SyntaxError):
            return seen
    return None


def _frames(error: BaseException, source: str) -> list[traceback.FrameSummary]:
    where = os.path.realpath(source)
    return [frame for frame in traceback.extract_tb(error.__traceback__)
            if os.path.realpath(frame.filename) == where]


def _line(error: BaseException, source: str) -> str:
    """`` at line N of FILE: the line`` for the innermost frame of ``error`` in ``source``."""
    for seen in reversed(_chain(error)):
        if isinstance(seen, SyntaxError) and seen.lineno:
            return f" at line {seen.lineno} of {source}: {(seen.text or '').strip()}"
        frames = _frames(seen, source)
        if frames:
            return f" at line {frames[-1].lineno} of {source}: {(frames[-1].line or '').strip()}"
    return ""


def _compare(exercise: Exercise, source: str, command: str, reference: Record, mine: Record,
             module: ModuleType) -> CheckResult:
    tolerance = exercise.tolerance
    rtol_words = ("equal to the last bit" if tolerance.rtol == 0
                  else f"losses within a relative {tolerance.rtol:g}")
    problems: list[str] = []
    notes: list[str] = []
    if not mine.copied:
        notes.append("note: your model's parameters differ in shape or order from the "
                     "reference's, so both started from their own initial weights")
    parting = parameter = None
    if mine.parted is not None:
        i = mine.parted - 1
        theirs = reference.losses[i] if i < len(reference.losses) else float("nan")
        where = "epoch {}, batch {}".format(*mine.where[i])
        if i < len(reference.where) and reference.where[i] != mine.where[i]:
            where += " (the reference's epoch {}, batch {})".format(*reference.where[i])
        parting = Parting(mine.parted, where, theirs, mine.losses[i])
        if i < len(reference.weights):
            parameter = _most_different(mine, reference, i)
    elif len(mine.losses) < len(reference.losses):
        problems.append(f"your run took {len(mine.losses)} training batches where the "
                        f"reference took {len(reference.losses)}")
    epochs = zip(mine.measured, reference.measured, strict=False)
    for epoch, (own, theirs) in enumerate(epochs, start=1):
        for key, value in theirs.items():
            if key not in own:
                problems.append(f"epoch {epoch}: your loop measured no {key}; return it")
            elif not close(own[key], value, max(tolerance.rtol, MEASURED_RTOL)):
                problems.append(f"epoch {epoch}: {key} is {own[key]:.8g}; the reference "
                                f"measures {value:.8g}")
    if mine.eval_mode and not reference.eval_mode:
        epoch, batch = mine.where[mine.eval_mode[0] - 1]
        problems.append(f"the model was in eval mode while it trained on epoch {epoch}, "
                        f"batch {batch}")
    if tolerance.init:
        problems += init_problems(mine, reference)
    mistakes = tuple(diagnose(mine, reference, None))
    failed = parting is not None or problems or mistakes
    compared = mine.parted or len(mine.losses)
    if failed:
        return CheckResult(exercise.stage, source, FAILING, compared, rtol_words, parting,
                           parameter, tuple(problems), mistakes, notes=tuple(notes),
                           command=command)
    solution = plugin_source(exercise.plugin)
    return CheckResult(exercise.stage, source, PASSED, compared, rtol_words,
                       finals=_finals(mine, reference), notes=tuple(notes), solution=solution,
                       diff=_diff(solution, module, exercise.plugin, source), command=command)


def _most_different(mine: Record, reference: Record, i: int) -> tuple[str, float] | None:
    pairs = [(name, float((own.float() - theirs.float()).abs().max()))
             for name, own, theirs in zip(mine.names, mine.weights[i], reference.weights[i],
                                          strict=False)
             if own.shape == theirs.shape]
    return max(pairs, key=lambda pair: pair[1]) if pairs else None


def _finals(mine: Record, reference: Record) -> tuple[tuple[str, float, float], ...]:
    finals = [("last training loss", reference.losses[-1], mine.losses[-1])]
    for key, value in (reference.measured[-1] if reference.measured else {}).items():
        finals.append((f"epoch {len(reference.measured)} {key}", value,
                       mine.measured[-1][key]))
    own = torch.cat([p.flatten().float() for p in mine.weights[-1]])
    theirs = torch.cat([p.flatten().float() for p in reference.weights[-1]])
    if own.shape == theirs.shape:
        finals.append(("largest weight difference", 0.0, float((own - theirs).abs().max())))
    return tuple(finals)


def _diff(solution: str, module: ModuleType, plugin: str, source: str) -> str:
    path = getattr(module, "__file__", None)
    if not path or not Path(path).is_file():
        return ""
    yours = Path(path).read_text(encoding="utf-8")
    return "".join(difflib.unified_diff(solution.splitlines(keepends=True),
                                        yours.splitlines(keepends=True),
                                        f"reference/{plugin}.py", source))
