"""The commands that describe the lessons and the data: ``stages``, ``diff``, ``plugins``
and ``data``. :mod:`mnistlab.cli` attaches them to the main group; each imports what it needs
inside, so that ``mnistlab --help`` answers at once."""

from __future__ import annotations

import sys

import click

from mnistlab.cli_options import stage_name

# The lesson's settings a stage sets (epochs depend on the data, the seed on the learner).
LESSON_SHOWN = ("lr", "momentum", "bs", "valid_bs")


@click.command()
@click.option("--pieces", is_flag=True, help="Show the plugin of every piece of every stage.")
def stages(pieces: bool) -> None:
    """List the stages: what each one swaps and sets (* marks what it changes).

    Each stage is its parent with one piece swapped; the stage table also
    sets the default lr and momentum, which the CNN stages change. Validation
    takes batches twice as large as training (valid_bs, the tutorial's bs * 2).
    """
    from rich.console import Console
    from rich.table import Table

    from mnistlab.config import make_config
    from mnistlab.sources import hyper_changes
    from mnistlab.stages import PIECES, STAGES, pieces_of

    def mark(text: str, changed: bool) -> str:
        return f"[bold]*{text}[/bold]" if changed else text

    # No outer border: two columns fewer, so the table fits a narrow terminal.
    if pieces:
        table = Table(title="every piece of every stage (* the one it swaps)", show_edge=False)
        columns = ["stage", *PIECES]
    else:
        table = Table(title="stages: each is its parent with one piece swapped (* what changes)",
                      show_edge=False)
        columns = ["#", "stage", "swaps", "plugin", *LESSON_SHOWN, "same numbers?"]
    for column in columns:
        table.add_column(column, style="bold" if column == "stage" else None)
    for number, stage in enumerate(STAGES, start=1):
        if pieces:
            filled = pieces_of(stage.name)
            table.add_row(stage.name, *(mark(filled[p], p == stage.swaps) for p in PIECES))
            continue
        lesson = make_config(stage.name, data="sample").lesson
        changed = hyper_changes(stage.name)
        same = "-" if stage.parent is None else ("yes" if stage.preserves else "no")
        table.add_row(str(number), stage.name, stage.swaps or "-",
                      mark(stage.plugin, True) if stage.plugin else "-",
                      *(mark(f"{lesson[name]:g}", name in changed) for name in LESSON_SHOWN),
                      same)
    console = Console()
    if not console.is_terminal:  # a pipe or a file: no wrapping, no truncated names
        console = Console(width=200)
    console.print(table)


@click.command()
@click.argument("stage", callback=stage_name)
def diff(stage: str) -> None:
    """Show what a stage changes: the code it swaps in, as a diff, and its new settings.

    The diff compares code only; the new plugin's docstring, which says what
    it does and why, follows it as prose.
    """
    import textwrap

    from mnistlab.config import stage_defaults
    from mnistlab.sources import plugin_docstring, settings_diff, stage_diff
    from mnistlab.stages import get_stage

    click.echo(stage_diff(stage), nl=False)
    changed = settings_diff(stage)
    click.echo(changed, nl=False)
    if not changed:
        same = ", ".join(f"{name} {value:g}" for name, value in stage_defaults(stage).items())
        click.echo(f"\nsettings, as its parent's: {same}")
    plugin = get_stage(stage).plugin
    click.echo(f"\nplugins/{plugin}.py, in its own words:\n")
    click.echo(textwrap.indent(plugin_docstring(plugin), "    "))


@click.command()
@click.option("--stage", "-s", callback=stage_name,
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


@click.group()
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


