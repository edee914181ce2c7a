"""The exercise pages, made from the data `mnistlab exercise` and `mnistlab check` use."""

from __future__ import annotations

import textwrap

import mnistlab
from mnistlab import exercises

from .blocks import ROOT, fence
from .memo import kept_result

SOLUTIONS = ROOT / "examples" / "exercises"


def exercise_table() -> str:
    """One row per exercise, linking its page."""
    rows = [f"| {number} | [`{ex.stage}`]({ex.stage}/) | {ex.piece} | {ex.title} |"
            for number, ex in enumerate(exercises.exercises(), start=1)]
    return "\n".join(["| # | stage | you write the | task |", "|---|---|---|---|", *rows]) + "\n"


def exercise_page(stage: str) -> str:
    """The task, the stub, the check, its tolerance, the hints and a real failing report."""
    ex = exercises.get_exercise(stage)
    stub = f"my_{ex.plugin}.py"
    details = [f'??? tip "Hint {n}"\n\n' + textwrap.indent(hint, "    ") + "\n"
               for n, hint in enumerate(ex.hints, start=1)]
    tolerance = ex.tolerance
    compared = (f"{tolerance.epochs} epoch{'s' if tolerance.epochs != 1 else ''} and "
                f"{tolerance.batches} batches" if tolerance.epochs else
                f"the first {tolerance.batches} batches")
    rule = ("equal to the last bit" if tolerance.rtol == 0
            else f"within a relative {tolerance.rtol:g}")
    parts = [f"You write the **{ex.piece}** piece (hook `{ex.hook}`) of the stage "
             f"[`{stage}`](../../stages/{stage}/).\n", "## The task\n", ex.task + "\n",
             *(f"- {step}" for step in ex.steps), "", "## Start from the stub\n",
             fence(f"mnistlab exercise {stage} --out {stub}", "sh"),
             fence(exercises.stub_text(ex, stub), "python", title=stub),
             "## Check it\n", fence(f"mnistlab check {stub} --stage {stage}\n"
                                    f"mnistlab check {stub} --stage {stage} --watch   # on every "
                                    f"save\nmnistlab check {stub} --stage {stage} --hint    # one "
                                    "more hint each time", "sh"),
             f"The check compares {compared} of the stage's training on the embedded sample, "
             f"{rule}: {tolerance.why}\n", "## Hints\n", *details, failing_report(stage)]
    return "\n".join(parts)


@kept_result
def failing_report(stage: str) -> str:
    """The report of a wrong solution kept in the repository (the stub's when there is none)."""
    wrong = sorted((SOLUTIONS / stage).glob("wrong_*.py"))
    if wrong:
        path = wrong[0].relative_to(ROOT).as_posix()
        shown = fence(wrong[0].read_text("utf-8"), "python", title=path)
        intro = f"A wrong solution, `{path}`:\n\n{shown}\nand what the check says of it:\n"
        plugin: object = path
    else:
        ex = exercises.get_exercise(stage)
        path, intro = f"my_{ex.plugin}.py", "What the check says of the stub, unedited:\n"
        (ROOT / "build").mkdir(exist_ok=True)
        plugin = ROOT / "build" / path
        plugin.write_text(exercises.stub_text(ex, path), "utf-8")
    result = mnistlab.check(plugin, stage=stage, keep_progress=False)
    report = str(result).replace(str(plugin), path)
    return "## A failing report\n\n" + intro + "\n" + fence(
        report, title=f"mnistlab check {path} --stage {stage}", wrap=True)
