"""The ``mnistlab`` command line.

Only click is imported at the top: torch and the plugins load inside the
commands that need them, so ``mnistlab --help`` answers at once.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import traceback
from typing import Any

import click

from mnistlab import launch, signals
from mnistlab._version import __version__
from mnistlab.cli_exercise import check, exercise
from mnistlab.cli_export import export
from mnistlab.cli_info import data, diff, plugins, stages
from mnistlab.cli_look import compare, predict, show
from mnistlab.cli_options import UserError, settings_options, stage_name
from mnistlab.errors import MnistlabError
from mnistlab.stages import DEFAULT_STAGE

DEBUG_HELP = "Show Python tracebacks for errors (before or after the command's name)."


def _remember_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:  # anywhere on the line: the main group reads it when an error comes out
        ctx.find_root().ensure_object(dict)["debug"] = True


def _with_global_options(command: click.Command) -> click.Command:
    """Let ``command`` (and a group's commands) take ``--debug`` too, after its own name."""
    if not any(param.name == "debug" for param in command.params):
        command.params.append(click.Option(["--debug"], is_flag=True, expose_value=False,
                                           callback=_remember_debug, help=DEBUG_HELP))
    for sub in getattr(command, "commands", {}).values():
        _with_global_options(sub)
    return command


class Mnistlab(click.Group):
    """Turns every ``MnistlabError`` into one clear line (a traceback only with ``--debug``).

    Every command added to it takes the global ``--debug`` too, so that it may come before
    the command's name or after it (``mnistlab run --stage fit --debug``).
    """

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        super().add_command(_with_global_options(cmd), name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as stop:  # before a command could stop cleanly: no noise
            raise click.exceptions.Exit(getattr(stop, "status", 130)) from None
        except MnistlabError as error:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            raise UserError(str(error)) from None


@click.group(cls=Mnistlab, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mnistlab")
@click.option("--debug", is_flag=True, expose_value=False, callback=_remember_debug,
              help=DEBUG_HELP)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Learn how PyTorch training code is put together, one swapped piece at a time.

    Each stage of the "What is torch.nn really?" tutorial is its previous
    stage with one plugin swapped. Start with `mnistlab stages`, then
    `mnistlab run --stage NAME` with one of its names.
    """
    ctx.ensure_object(dict).setdefault("debug", False)


@cli.command()
@click.option("--stage", "-s", callback=stage_name,
              help=f"The stage to run (see `mnistlab stages`) [default: {DEFAULT_STAGE}].")
@settings_options
@click.option("--out", type=click.Path(file_okay=False),
              help="The run folder: new, empty, or a run to replace with --force "
                   "[default: runs/STAGE-YYYYmmdd-HHMMSS].")
@click.option("--force", is_flag=True, help="Overwrite the run in --out if there is one.")
@click.option("--no-save", is_flag=True, help="Keep no run folder: train and print only.")
@click.option("--resume", type=click.Path(file_okay=False, exists=True),
              help="Continue the run in this folder from its last complete epoch (--epochs "
                   "may raise the count; pass its --plugin files again).")
@click.option("--nproc", type=click.IntRange(min=1),
              help="Train as N processes on this machine (through torchrun): a stage whose "
                   "loop joins them, see `mnistlab stages`.")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line of the results.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors (and --json).")
@click.option("--trace", is_flag=True, help="Print every hook call to stderr.")
def run(stage: str | None, resume: str | None, out: str | None, force: bool, no_save: bool,
        nproc: int | None, as_json: bool, quiet: bool, trace: bool, **settings: Any) -> None:
    """Run one stage (without --stage, the default one): train, then score the validation set.

    Writes a run folder (config, metrics, checkpoints, final weights, plots).
    Ctrl-C stops after saving nothing half-written; --resume continues.
    """
    from mnistlab import runner
    from mnistlab.record import interrupted
    from mnistlab.runfolder import RunFolder

    if nproc is not None and not launch.under_torchrun():
        _check_launchable(RunFolder(resume).read_record()["stage"] if resume else stage,
                          nproc, settings)
        sys.exit(launch.launch(nproc, _without_nproc(sys.argv[1:])))
    if resume and (stage is not None or out is not None):
        raise UserError(f"--resume takes the stage and the folder from {resume}; drop "
                        f"{'--stage' if stage is not None else '--out'}")
    if resume and force:
        raise UserError("--force replaces a run and --resume continues one; drop --force")
    writer = launch.rank() == 0  # of N processes, only rank 0 prints and writes
    quiet = quiet or not writer
    if no_save and (out is not None or resume):
        raise UserError("--no-save keeps no run folder; drop it, or drop "
                        f"{'--out' if out is not None else '--resume'}")
    if not resume and stage is None:
        stage = DEFAULT_STAGE
        if not quiet:
            click.echo(f"no --stage given: training the {stage} stage (`mnistlab stages` lists "
                       "them all)")
    folder = (RunFolder(resume) if resume else None if no_save or not writer
              else RunFolder(out) if out is not None else RunFolder.new(stage))
    try:
        if resume:
            result = runner.resume(folder, quiet=quiet, trace=trace, write=writer, **settings)
        else:
            result = runner.run(stage, out=folder, force=force, quiet=quiet, trace=trace,
                                **settings)
    except KeyboardInterrupt as stop:
        if folder is not None and writer:
            click.echo(interrupted(folder), err=True)
        sys.exit(getattr(stop, "status", 130))
    finally:  # stopped or refused too: a group left to exit's teardown can abort the process
        launch.leave_process_group()
    if not quiet and folder is not None:
        click.echo(f"run folder: {folder}")
    if as_json and writer:
        click.echo(json.dumps(result.summary()))


def _check_launchable(stage: str | None, nproc: int, settings: dict[str, Any]) -> None:
    """``--nproc`` launches a stage whose loop joins the processes, with batches that can be
    shared among them; refuse anything else before any process starts."""
    from mnistlab.config import make_config
    from mnistlab.data import SAMPLE, SAMPLE_TRAIN_ROWS
    from mnistlab.introspect import declares
    from mnistlab.stages import STAGE_NAMES

    if stage is None or not declares(stage, "loop", "JOINS_PROCESSES"):
        joining = " or ".join(name for name in STAGE_NAMES
                              if declares(name, "loop", "JOINS_PROCESSES"))
        raise UserError(f"--nproc trains the {joining} stage, not {stage or 'no stage'}; use "
                        f"--stage {joining}")
    config = make_config(stage, **{key: settings[key] for key in ("bs", "data", "data_dir")})
    rows = SAMPLE_TRAIN_ROWS if config.data == SAMPLE else None  # others: checked on start
    problem = launch.split_problem(rows, config.bs, nproc)
    if problem:
        raise UserError(problem)


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


for command in (stages, diff, plugins, data, compare, show, predict, export, exercise, check):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    # `kill` (SIGTERM) stops a run the way Ctrl-C does: cleanly, with a way to resume. A closed
    # pipe (`mnistlab ... | head -1`) raises BrokenPipeError where the run writes, so the run
    # ends as after any error, taking back a folder it made; click then exits quietly.
    if launch.under_torchrun():  # one of N processes torchrun started: its LOCAL_RANK's GPU
        launch.take_local_gpu()
    code: Any = 0
    # Past this block a signal has nothing left to stop cleanly: it ends the process as usual.
    with signals.watched(sigterm=True):
        try:
            cli(prog_name="mnistlab")
        except SystemExit as done:
            code = done.code
            if launch.under_torchrun():  # while `done` still holds the stopped run's frames
                _end_torchrun_process(_flush_output(code))
    sys.exit(_flush_output(code))


def _end_torchrun_process(code: Any) -> None:
    """End one of torchrun's processes now, skipping the teardown of what its run made.

    A run that stopped early leaves torch.distributed's objects in the frames its
    exception holds. Freeing them waits for collectives another process will never
    join (until torchrun kills the process, 30 s later), and the interpreter's exit
    may find a joinable thread and abort (status -6). Both come after the process
    said why it stopped, and everything the run keeps is written and closed by now.
    """
    if code is not None and not isinstance(code, int):  # sys.exit("message") prints it
        click.echo(code, err=True)
        code = 1
    sys.stderr.flush()
    os._exit(code or 0)


def _flush_output(code: Any) -> Any:
    """Write what is still buffered; a full disk or a closed pipe is one line, not a trace."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as error:
        # Nothing more can reach that output: point it at /dev/null, so the interpreter's
        # own flush at exit has nothing left to complain about.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if error.errno != errno.EPIPE and code in (0, None):  # else it is said already
            click.echo(f"error: cannot write the output ({error.strerror}); free some space or "
                       "write it elsewhere", err=True)
        return code or 1
    return code
