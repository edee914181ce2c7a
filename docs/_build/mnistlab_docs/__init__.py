"""The live parts of the docs pages, made through mnistlab's public API at build time: a
page's markdown-exec block imports them from ``blocks``, ``kept`` or ``stage_pages`` and
prints the Markdown they return."""

from mnistlab import sources, stages

from .blocks import function_source, source_block, toml_tables
from .kept import command

__all__ = ["cli_output", "function_source", "observer_sources", "run_block", "toml_tables"]


# What docs/how-it-works.md calls; its rewrite on the main branch calls none of these.
def cli_output(*args: str) -> str:
    return command(" ".join(("mnistlab", *args))).block()


def run_block(stage: str, epochs: int, trace: bool = False) -> str:
    return command(f"mnistlab run --stage {stage} --epochs {epochs} --data sample"
                   + " --trace" * trace).block()


def observer_sources() -> str:  # the built-in plugins that fill no piece of any stage
    pieces = {plugin for name in stages.STAGE_NAMES for plugin in stages.pieces_of(name).values()}
    folder = sources.plugin_path(stages.FIRST_PIECES["data"]).parent
    return "\n".join(f"### `{path.stem}`\n\n{source_block(path.stem)}"
                     for path in sorted(folder.glob("[!_]*.py")) if path.stem not in pieces)
