"""What the command line and notebooks call: check a plugin, write a stub, list the exercises."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import ModuleType

from mnistlab import arguments
from mnistlab.atomic import write_text
from mnistlab.errors import ArgumentError, MnistlabError
from mnistlab.exercises import progress
from mnistlab.exercises.catalog import Exercise, get_exercise
from mnistlab.exercises.report import CheckResult
from mnistlab.sources import plugin_docstring


def check(plugin: str | Path | ModuleType, stage: str, *,
          keep_progress: bool = True) -> CheckResult:
    """Check a learner's plugin (a ``.py`` path or a module) as the exercise of ``stage``.

    The stage runs on the embedded sample with the learner's plugin in place of
    its own, from the same seed and (where the shapes allow) the same initial
    weights as the stage's own run, and the two are compared batch by batch.
    ``str(result)`` is the report ``mnistlab check`` prints, and a notebook
    shows the same. ``keep_progress=False`` leaves the learner's progress alone.
    """
    from mnistlab.exercises.judge import judge  # imports torch

    stage = arguments.text("stage", stage, "a stage name from `mnistlab exercise`")
    if not isinstance(plugin, str | Path | ModuleType):
        raise ArgumentError(f"plugin must be a .py path or a module, not "
                            f"{type(plugin).__name__}")
    result = judge(plugin, stage)
    if keep_progress:
        progress.record(stage, result.status)
    return result


def stub_text(exercise: Exercise, path: str | Path = "FILE") -> str:
    """The stub a learner starts from: the task and the lesson as comments, then the code."""
    def comment(text: str) -> list[str]:
        return [f"# {line}".rstrip() for paragraph in text.split("\n\n")
                for line in [*textwrap.wrap(" ".join(paragraph.split()), 92), ""]]

    lesson = plugin_docstring(exercise.plugin)
    lines = [f"# Exercise {exercise.stage}: {exercise.title.replace('`', '')}", "#",
             *comment(exercise.task), "# The lesson:", "#", *comment(lesson),
             "# TODO:", *(line for step in exercise.steps for line in textwrap.wrap(
                 step, 92, initial_indent="#   - ", subsequent_indent="#     ")), "#",
             f"# Check it: mnistlab check {path} --stage {exercise.stage}", "# (--hint for a hint, "
             "--watch to check again on every save)", "", exercise.stub.rstrip()]
    return "\n".join(lines).replace("`", "") + "\n"


def write_stub(stage: str, out: str | Path | None = None, force: bool = False) -> Path:
    """Write the stub of ``stage``'s exercise to ``out`` (default ``my_PLUGIN.py``)."""
    exercise = get_exercise(stage)
    path = Path(out) if out is not None else Path(f"my_{exercise.plugin}.py")
    if path.suffix != ".py":
        raise MnistlabError(f"--out {str(path)!r}: give a .py file name")
    if path.is_dir():
        raise MnistlabError(f"--out {str(path)!r} is a folder; give a .py file name")
    if path.exists() and not force:
        raise MnistlabError(f"{str(path)!r} exists; check it with `mnistlab check {path} "
                            f"--stage {stage}`, or pass --force to start again from the stub")
    if not path.parent.is_dir():
        raise MnistlabError(f"--out {str(path)!r}: the folder {str(path.parent)!r} does "
                            "not exist")
    write_text(path, stub_text(exercise, path))
    return path
