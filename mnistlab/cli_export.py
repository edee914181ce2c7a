"""``mnistlab export``: a stage as one plain PyTorch script or notebook.

Only click is imported here: torch loads inside the command, so that
``mnistlab --help`` answers at once.
"""

from __future__ import annotations

from typing import Any

import click

from mnistlab.cli_options import UserError, settings_options, stage_name


@click.command()
@click.option("--stage", "-s", callback=stage_name,
              help="The stage to export (see `mnistlab stages`).")
@settings_options
@click.option("--format", "format_", type=click.Choice(["py", "ipynb"]),
              help="A script or a Jupyter notebook [default: the suffix of --out, else py].")
@click.option("--out", "-o", type=click.Path(),
              help="The file to write, or a folder to write STAGE.py (or STAGE.ipynb) in; its "
                   "data file goes beside it [default: print the script, with its data in "
                   "the data cache].")
@click.option("--force", is_flag=True, help="Replace the files that --out would write.")
def export(stage: str | None, format_: str | None, out: str | None, force: bool,
           **settings: Any) -> None:
    """Write a stage as the plain PyTorch program it stands for.

    The script (or notebook) holds the source of the stage's plugins and what
    mnistlab's runner does around them, imports nothing of mnistlab, and reads
    its data from a file in the tutorial's mnist.pkl.gz format. Run with
    python, its last line is the JSON of `mnistlab run --json` with the same
    settings: `mnistlab export --stage fit > fit.py && python fit.py`.
    """
    from mnistlab.exporter import export as export_stage

    if stage is None:
        raise UserError("missing --stage; run `mnistlab stages` to list them")
    made = export_stage(stage, out, format=format_, force=force, **settings)
    if made.path is None:
        click.echo(made.text, nl=False)
        click.echo(f"note: the {'script' if made.format == 'py' else 'notebook'} reads its data "
                   f"from {made.data_path}; --out FILE writes both side by side", err=True)
    else:
        click.echo(f"wrote {made.path}, and its data {made.data_path}")
