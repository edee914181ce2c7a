"""The ``mnistlab`` command line.

Only click is imported at the top: torch and the plugins load inside the
commands that need them, so ``mnistlab --help`` answers at once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import click

from mnistlab._version import __version__
from mnistlab.cli_look import compare, predict, show
from mnistlab.errors import MnistlabError


class UserError(click.ClickException):
    """A ``MnistlabError`` shown as one line, with exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        from mnistlab.launch import rank

        where = f" (process {rank()})" if rank() else ""  # one of N processes: say which
        click.echo(f"error{where}: {self.format_message()}", err=True)


class Mnistlab(click.Group):
    """Turns every ``MnistlabError`` into one clear line (a traceback only with ``--debug``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MnistlabError as error:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            raise UserError(str(error)) from None


@click.group(cls=Mnistlab, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mnistlab")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Learn how PyTorch training code is put together, one swapped piece at a time.

    Each stage of the "What is torch.nn really?" tutorial is its previous
    stage with one plugin swapped. Start with `mnistlab stages`, then
    `mnistlab run --stage dataloader`.
    """
    ctx.ensure_object(dict)["debug"] = debug


def _stage_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from mnistlab.stages import get_stage

    if value is not None:
        try:
            get_stage(value)
        except MnistlabError as error:
            raise UserError(str(error)) from None
    return value


def _options(ctx: click.Context, param: click.Parameter,
             values: tuple[str, ...]) -> dict[str, str] | None:
    options = {}
    for text in values:
        name, equals, value = text.partition("=")
        if not (equals and name.strip()):
            raise UserError(f"--set {text!r}: write NAME=VALUE, for example --set patience=3")
        options[name.strip()] = value.strip()
    return options or None


@cli.command()
@click.option("--stage", "-s", callback=_stage_name,
              help="The stage to run (see `mnistlab stages`).")
@click.option("--epochs", type=click.IntRange(min=0),
              help="Epochs to train [default: as many examples as the tutorial sees: "
                   "2 on full MNIST, 25 on the sample].")
@click.option("--bs", type=click.IntRange(min=1), help="Batch size [default: 64].")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True),
              help="Learning rate [default: 0.5, or 0.1 from the cnn stage on].")
@click.option("--momentum", type=click.FloatRange(min=0, max=1, max_open=True),
              help="SGD momentum [default: 0, or 0.9 from the cnn stage on].")
@click.option("--seed", type=int, help="Seeds the model's weights and the shuffling [default: 0].")
@click.option("--device", help="cpu, cuda, cuda:N, mps or xpu [default: the stage's device "
                              "piece].")
@click.option("--deterministic/--nondeterministic", default=None,
              help="Deterministic kernels: the same seed gives the same weights on every "
                   "device [default: deterministic].")
@click.option("--data", help="sample, mnist, fashion-mnist, or a local file or folder "
                             "[default: mnist if downloaded, else sample].")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="The dataset cache [default: $MNISTLAB_DATA or the user cache folder].")
@click.option("--plugin", "-p", "plugins", multiple=True,
              help="A plugin: a .py file or an importable module. Repeatable.")
@click.option("--no-plugin", "blocked", multiple=True,
              help="Do not register the plugin of this name. Repeatable.")
@click.option("--set", "options", multiple=True, metavar="NAME=VALUE", callback=_options,
              help="Set an option that a plugin declares (see `mnistlab plugins`). Repeatable.")
@click.option("--out", type=click.Path(file_okay=False),
              help="The run folder: new, empty, or a run to replace with --force "
                   "[default: runs/STAGE-YYYYmmdd-HHMMSS].")
@click.option("--force", is_flag=True, help="Overwrite the run in --out if there is one.")
@click.option("--resume", type=click.Path(file_okay=False, exists=True),
              help="Continue the run in this folder from its last complete epoch (--epochs "
                   "may raise the count; pass its --plugin files again).")
@click.option("--nproc", type=click.IntRange(min=1),
              help="Train the distributed stage as N processes on this machine (through "
                   "torchrun).")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line of the results.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors (and --json).")
@click.option("--trace", is_flag=True, help="Print every hook call to stderr.")
def run(stage: str | None, resume: str | None, out: str | None, nproc: int | None,
        as_json: bool, quiet: bool, trace: bool, blocked: tuple[str, ...],
        **settings: Any) -> None:
    """Run one stage: train, then score the validation set.

    Writes a run folder (config, metrics, checkpoints, final weights, plots).
    Ctrl-C stops after saving nothing half-written; --resume continues.
    """
    from mnistlab import launch, runner
    from mnistlab.plugin_manager import PRINTING

    if nproc is not None and not launch.under_torchrun():
        if stage not in (None, "distributed"):
            raise UserError(f"--nproc trains the distributed stage, not {stage}; use "
                            "--stage distributed")
        sys.exit(launch.launch(nproc, _without_nproc(sys.argv[1:])))
    writer = launch.rank() == 0  # of N processes, only rank 0 prints and writes
    if quiet or not writer:
        blocked = (*blocked, *PRINTING)
    made = None  # the run folder this command names and makes itself, if it does
    if resume:
        if stage is not None:
            raise UserError("--resume takes the stage from the run folder; drop --stage")
        fixed = [f"--{name.replace('_', '-')}" for name, value in settings.items()
                 if value not in (None, False) and name not in ("epochs", "plugins")]
        if fixed:
            raise UserError(f"--resume continues {resume} with its recorded settings, which "
                            f"{', '.join(fixed)} would change; drop them, or start a new run "
                            "with --out")
        out = resume
    elif stage is None:
        raise UserError("missing --stage; run `mnistlab stages` to list them")
    elif "run_folder" in blocked or not writer:
        out = None
    elif out is None:
        out = made = new_run_folder(stage)
    try:
        if resume:
            result = runner.resume(resume, trace=trace, blocked=blocked, write=writer,
                                   epochs=settings["epochs"], plugins=settings["plugins"])
        else:
            result = runner.run(stage, trace=trace, blocked=blocked, out=out, **settings)
    except BaseException as stop:
        _drop_if_empty(made)
        if not isinstance(stop, KeyboardInterrupt):
            raise
        if writer:
            click.echo(_interrupted(out), err=True)
        sys.exit(143 if isinstance(stop, Terminated) else 130)
    launch.leave_process_group()
    if not quiet and out is not None:
        click.echo(f"run folder: {out}")
    if as_json and writer:
        click.echo(json.dumps(result.summary()))


def _without_nproc(arguments: list[str]) -> list[str]:
    """The command line again, less ``--nproc N``: what each of the N processes runs."""
    kept, skip = [], False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == "--nproc":
            skip = True
        elif not argument.startswith("--nproc="):
            kept.append(argument)
    return kept


def new_run_folder(stage: str) -> str:
    """A new folder ``runs/STAGE-YYYYmmdd-HHMMSS``, with ``-2``, ``-3``, ... when taken.

    ``mkdir`` is atomic, so two runs started in the same second get two folders.
    """
    from pathlib import Path

    base = f"runs/{stage}-{time.strftime('%Y%m%d-%H%M%S')}"
    Path("runs").mkdir(exist_ok=True)
    for attempt in range(1, 1000):
        name = base if attempt == 1 else f"{base}-{attempt}"
        try:
            Path(name).mkdir()
            return name
        except FileExistsError:
            continue
    raise MnistlabError(f"too many runs named {base}; choose a folder with --out")


def _drop_if_empty(made: str | None) -> None:
    """Remove the run folder this command made if the run ended before keeping an epoch.

    Only a folder the command named itself (``runs/STAGE-...``): a folder given
    with ``--out`` is the user's, and keeps what it held.
    """
    from mnistlab import runs

    if made is not None and not runs.holds_run(Path(made)):
        shutil.rmtree(made, ignore_errors=True)


def _interrupted(out: str | None) -> str:
    """What an interrupted run kept, and the way on from there."""
    from mnistlab import runs

    if out is None:
        return "interrupted"
    if runs.holds_run(Path(out)):
        return (f"interrupted: {out} keeps every complete epoch; continue with "
                f"`mnistlab run --resume {out}`")
    if not Path(out).exists():
        return "interrupted before the first epoch ended: nothing to keep; run again"
    return f"interrupted before the first epoch ended: nothing to keep in {out}; run again"


@cli.command()
@click.option("--pieces", is_flag=True, help="Show the plugin of every piece of every stage.")
def stages(pieces: bool) -> None:
    """List the stages: what each one swaps and sets (* marks what it changes).

    Each stage is its parent with one piece swapped; the stage table also
    sets the default lr and momentum, which the CNN stages change.
    """
    from rich.console import Console
    from rich.table import Table

    from mnistlab.sources import hyper_changes
    from mnistlab.stages import PIECES, STAGES, hyper_of, pieces_of

    def mark(text: str, changed: bool) -> str:
        return f"[bold]*{text}[/bold]" if changed else text

    # No outer border: two columns fewer, so the table fits a narrow terminal.
    if pieces:
        table = Table(title="every piece of every stage (* the one it swaps)", show_edge=False)
        columns = ["stage", *PIECES]
    else:
        table = Table(title="stages: each is its parent with one piece swapped (* what changes)",
                      show_edge=False)
        columns = ["#", "stage", "swaps", "plugin", "lr", "momentum", "same numbers?"]
    for column in columns:
        table.add_column(column, style="bold" if column == "stage" else None)
    for number, stage in enumerate(STAGES, start=1):
        if pieces:
            filled = pieces_of(stage.name)
            table.add_row(stage.name, *(mark(filled[p], p == stage.swaps) for p in PIECES))
            continue
        hyper, changed = hyper_of(stage.name), hyper_changes(stage.name)
        same = "-" if stage.parent is None else ("yes" if stage.preserves else "no")
        table.add_row(str(number), stage.name, stage.swaps or "-",
                      mark(stage.plugin, True) if stage.plugin else "-",
                      *(mark(f"{hyper[name]:g}", name in changed) for name in ("lr", "momentum")),
                      same)
    console = Console()
    if not console.is_terminal:  # a pipe or a file: no wrapping, no truncated names
        console = Console(width=200)
    console.print(table)


@cli.command()
@click.argument("stage", callback=_stage_name)
def diff(stage: str) -> None:
    """Show what a stage changes: the code it swaps in, as a diff, and its new settings.

    The diff compares code only; the new plugin's docstring, which says what
    it does and why, follows it as prose.
    """
    import textwrap

    from mnistlab.sources import plugin_docstring, settings_diff, stage_diff
    from mnistlab.stages import get_stage

    click.echo(stage_diff(stage), nl=False)
    click.echo(settings_diff(stage), nl=False)
    plugin = get_stage(stage).plugin
    click.echo(f"\nplugins/{plugin}.py, in its own words:\n")
    click.echo(textwrap.indent(plugin_docstring(plugin), "    "))


@cli.command()
@click.option("--stage", "-s", callback=_stage_name,
              help="List what a run of this stage registers [default: every built-in plugin].")
@click.option("--plugin", "-p", "plugins", multiple=True, help="Add a plugin, as for `run`.")
def plugins(stage: str | None, plugins: tuple[str, ...]) -> None:
    """List the registered plugins, who fills each piece, and the options they declare.

    For each piece the plugins are listed in the order they are asked: the
    first fills it unless it returns None; the others are shadowed by it.
    """
    from mnistlab.assembly import declared_options
    from mnistlab.introspect import asking_order, describe, plugin_manager_for

    pm = plugin_manager_for(stage, plugins)
    rows = describe(pm)
    width = max((len(name) for name, _, _ in rows), default=0)
    for name, origin, hooks in rows:
        click.echo(f"{name:<{width}}  {origin:<12} {', '.join(hooks)}")
    if stage is None and not plugins:
        return
    click.echo("\npieces (asked in this order; the first answer fills the piece):")
    for piece, asked in asking_order(pm).items():
        first, *shadowed = [f"{name} ({origin})" for name, origin in asked] or ["none"]
        rest = f"  shadows {', '.join(shadowed)}" if shadowed else ""
        click.echo(f"  {piece:<8} {first}{rest}")
    options = declared_options(pm)
    if options:
        click.echo("\noptions (set with --set NAME=VALUE):")
        for name, (option, plugin) in options.items():
            click.echo(f"  {name}={option.default!r} ({plugin}): {option.help}")


@cli.group()
def data() -> None:
    """List and download datasets."""


@data.command("list")
@click.option("--data-dir", type=click.Path(file_okay=False), help="The dataset cache.")
def data_list(data_dir: str | None) -> None:
    """Show the datasets mnistlab knows and which are in the cache."""
    from mnistlab import data as datasets

    folder = datasets.resolve_data_dir(data_dir)
    click.echo(f"cache: {folder}")
    click.echo(f"{'sample':<14} always available (embedded, no download)")
    for name, source in datasets.DATASETS.items():
        state = "downloaded" if datasets.is_cached(name, folder) else "not downloaded"
        click.echo(f"{name:<14} {state:<15} {source.description}")


@data.command("fetch")
@click.argument("name")
@click.option("--data-dir", type=click.Path(file_okay=False), help="The dataset cache.")
def data_fetch(name: str, data_dir: str | None) -> None:
    """Download a dataset into the cache (checksums verified)."""
    from mnistlab import data as datasets

    folder = datasets.fetch(name, data_dir, progress=sys.stderr.isatty())
    click.echo(f"{name} is in {folder}")


cli.add_command(compare)
cli.add_command(show)
cli.add_command(predict)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C but reported with its own exit status (143)."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


def main() -> None:
    """Console-script entry point."""
    # `kill` (SIGTERM) stops a run the way Ctrl-C does: cleanly, with a way to resume.
    signal.signal(signal.SIGTERM, _terminate)
    # A closed pipe (`mnistlab ... | head -1`) ends the process quietly, as it does any Unix
    # tool; every file mnistlab writes is atomic, so none is left half-written.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if "RANK" in os.environ:  # one of N processes torchrun started: the GPU of its LOCAL_RANK
        from mnistlab.launch import take_local_gpu

        take_local_gpu()
    try:
        cli(prog_name="mnistlab")
    finally:
        # Past this point a SIGTERM has nothing left to stop cleanly: let it end the process.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
