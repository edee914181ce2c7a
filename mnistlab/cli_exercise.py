"""The exercise commands: ``exercise`` lists the exercises or writes a stub, ``check`` checks
a learner's plugin against the stage's own (once, again on every save, with hints).
:mod:`mnistlab.cli` attaches them; torch is imported only once a check runs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from mnistlab.cli_options import UserError, stage_name


@click.command()
@click.argument("stage", required=False, callback=stage_name)
@click.option("--out", type=click.Path(dir_okay=False),
              help="Where to write the stub [default: my_PLUGIN.py].")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.option("--reset", is_flag=True, help="Forget your progress and the hints shown.")
def exercise(stage: str | None, out: str | None, force: bool, reset: bool) -> None:
    """List the exercises, or write the stub of STAGE's exercise.

    Each exercise asks for the plugin that its stage swaps in. The stub has
    the hook's signature, TODOs and the lesson as comments; `mnistlab check
    FILE --stage STAGE` checks it against the stage's own plugin.
    """
    from mnistlab.exercises import progress
    from mnistlab.exercises.api import write_stub
    from mnistlab.exercises.catalog import exercises, get_exercise

    if reset:
        if stage is not None or out is not None:
            raise UserError("--reset forgets all progress; give it alone")
        forgot = progress.reset()
        click.echo("progress forgotten" if forgot else "no progress to forget")
        return
    if stage is None:
        if out is not None or force:
            raise UserError("--out writes a stub: name the exercise's stage, for example "
                            "`mnistlab exercise functional --out mine.py`")
        rows = [(ex.stage, ex.piece, ex.title.replace("`", ""), progress.status(ex.stage))
                for ex in exercises()]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for number, row in enumerate(rows, start=1):
            click.echo(f"{number:>2}. " + "  ".join(f"{cell:{w}}" for cell, w in
                                                    zip(row[:3], widths, strict=True))
                       + f"  [{row[3]}]")
        click.echo("write one: mnistlab exercise STAGE --out FILE")
        return
    info = get_exercise(stage)
    path = write_stub(stage, out, force)
    click.echo(f"exercise {stage}: {info.title.replace('`', '')}\n")
    click.echo(f"{info.task.replace('`', '')}\n")
    click.echo(f"wrote the stub {path}; fill in its TODOs, then check it:\n")
    click.echo(f"  mnistlab check {path} --stage {stage}")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--stage", "-s", required=True, callback=stage_name,
              help="The exercise's stage (see `mnistlab exercise`).")
@click.option("--watch", is_flag=True, help="Check again every time FILE is saved (Ctrl-C "
                                            "stops).")
@click.option("--hint", is_flag=True, help="Show one more hint each time it is given.")
def check(file: str, stage: str, watch: bool, hint: bool) -> None:
    """Check FILE, your plugin, against the plugin STAGE swaps in.

    Runs STAGE on the embedded sample with your plugin in its own plugin's
    place, from the same seed and initial weights, and compares the two runs
    batch by batch. Exit status 0 when it passes, 1 when it does not.
    """
    from mnistlab.exercises.catalog import get_exercise

    get_exercise(stage)  # no exercise for this stage: one line, before any work
    if not Path(file).is_file():
        raise UserError(f"no file {file!r}; write one with `mnistlab exercise {stage} --out "
                        f"{file}`")
    passed = _check_once(file, stage, hint)
    if watch:
        passed = _watch(file, stage, hint)
    sys.exit(0 if passed else 1)


def _check_once(file: str, stage: str, hint: bool) -> bool:
    from mnistlab.exercises import progress
    from mnistlab.exercises.api import check as run_check
    from mnistlab.exercises.catalog import get_exercise

    started = time.perf_counter()
    result = run_check(file, stage)
    click.echo(str(result), nl=False)
    if hint and not result.passed:
        hints = get_exercise(stage).hints
        shown = progress.next_hint(stage, len(hints))
        for number, text in enumerate(hints[:shown], start=1):
            click.echo(f"hint {number} of {len(hints)}: {text.replace('`', '')}")
    click.echo(f"({time.perf_counter() - started:.1f} s)", err=True)
    return result.passed


def _watch(file: str, stage: str, hint: bool) -> bool:
    """Check again after every save until Ctrl-C; the last check's outcome."""
    path = Path(file)
    passed = False
    seen = _stamp(path)
    click.echo(f"watching {file}: save it to check again, Ctrl-C to stop", err=True)
    try:
        while True:
            time.sleep(0.2)
            stamp = _stamp(path)
            if stamp == seen or stamp is None:
                continue
            seen = stamp
            click.echo("")
            passed = _check_once(file, stage, hint)
    except KeyboardInterrupt:
        return passed


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
