"""What a check found, and the one report the CLI, the Python API and the docs all show."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from mnistlab.exercises.mistakes import Mistake

PASSED, FAILING, NOT_DONE = "passed", "failing", "not done yet"


@dataclass(frozen=True)
class Parting:
    """The first training batch where the learner's loss parts from the reference's."""

    step: int
    where: str  # "epoch 1, batch 3"
    reference: float
    yours: float

    @property
    def difference(self) -> float:
        return abs(self.yours - self.reference)

    @property
    def relative(self) -> float:
        return self.difference / abs(self.reference) if self.reference else float("inf")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of ``mnistlab.check``: ``passed``, and the report as ``str(result)``.

    Attributes:
        stage: the exercise's stage.
        source: the learner's file (or module).
        status: "passed", "failing" or "not done yet".
        compared: how many training batches were compared.
        tolerance: the tolerance, in words.
        parting: the first batch where the losses part, if they do.
        parameter: the parameter that differs most there: (name, largest difference).
        problems: the other reasons the check failed, one line each.
        mistakes: the known mistakes recognised.
        finals: on success, (what, reference, yours) for the final numbers.
        notes: what the learner should know either way.
        solution: the reference solution's source, revealed on success.
        diff: the reference solution against the learner's file, on success.
        command: the command that checks it again.
    """

    stage: str
    source: str
    status: str
    compared: int = 0
    tolerance: str = ""
    parting: Parting | None = None
    parameter: tuple[str, float] | None = None
    problems: tuple[str, ...] = ()
    mistakes: tuple[Mistake, ...] = ()
    finals: tuple[tuple[str, float, float], ...] = ()
    notes: tuple[str, ...] = ()
    solution: str = field(default="", repr=False)
    diff: str = field(default="", repr=False)
    command: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __str__(self) -> str:
        return render(self)

    def _repr_html_(self) -> str:  # a notebook shows the report the command line prints
        return f"<pre>{html.escape(render(self))}</pre>"

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(render(self))  # type: ignore[attr-defined]


def render(result: CheckResult, reveal: bool = True) -> str:
    """The report: a title line, what parted, the known mistakes, and what to do next."""
    lines = [f"{result.source} against stage {result.stage}: {result.status}"]
    if result.status == NOT_DONE:
        lines += [*result.problems, f"fill in the TODOs, then run: {result.command}"]
        return "\n".join(lines) + "\n"
    if result.compared:
        batches = "batch" if result.compared == 1 else "batches"
        lines.append(f"compared {result.compared} training {batches} with the reference "
                     f"({result.tolerance})")
    if result.parting is not None:
        p = result.parting
        lines += [f"the losses part at {p.where} (batch {p.step} of the run):",
                  f"  reference {p.reference:.8g}   yours {p.yours:.8g}   "
                  f"difference {p.difference:.3g} (relative {p.relative:.3g})"]
    if result.parameter is not None:
        name, largest = result.parameter
        lines.append(f"the parameter that differs most there: {name}, by up to {largest:.3g}")
    lines += result.problems
    for mistake in result.mistakes:
        lines += [f"known mistake: {mistake.name}", f"  fix: {mistake.fix}"]
    lines += result.notes
    if result.passed:
        width = max(len(what) for what, _, _ in result.finals) if result.finals else 0
        lines.append(f"{'':{width}}   {'reference':>12}   {'yours':>12}")
        lines += [f"{what:{width}}   {theirs:>12.8g}   {yours:>12.8g}"
                  for what, theirs, yours in result.finals]
        if reveal and result.solution:
            lines += ["", "the reference solution:", "", result.solution.rstrip()]
            if result.diff:
                lines += ["", "its diff against yours:", "", result.diff.rstrip()]
            else:
                lines += ["", "yours is the same, line for line"]
    else:
        lines.append(f"hints, one at a time: {result.command} --hint")
    return "\n".join(lines) + "\n"
