"""The stage pages and the stage table, made from the stage table and the stages' runs."""

from __future__ import annotations

import re
import textwrap

from mnistlab import sources, stages

from .blocks import fence, inline_png, source_block
from .downloads import downloads
from .kept import command
from .numbers import numbers_table, recorded

# Every page trains the default: as many examples as the tutorial's 2 epochs of 50,000 digits,
# 25 epochs of the sample, so any two pages compare like with like.
CNN_STAGES = stages.STAGE_NAMES[stages.STAGE_NAMES.index("cnn"):]


def stage_command(name: str) -> str:
    """What a stage page runs; seed 0 everywhere, so a preserving swap shows its parent's."""
    return f"mnistlab run --stage {name} --data sample"


def heavy_commands() -> list[str]:
    """Every page's run, started first in worker processes, the CNN stages' (longest) first."""
    return [*map(stage_command, CNN_STAGES),
            *(stage_command(name) for name in stages.STAGE_NAMES if name not in CNN_STAGES)]


def stage_page(name: str) -> str:
    """Everything a stage page shows below its prose: plugin, diff, run, verdict."""
    stage, run = stages.get_stage(name), command(stage_command(name))
    if stage.parent is None:
        parts = ["## The plugins\n\nThe first stage names a plugin for every piece:\n"]
        parts += [f"### {piece}: `{plugin}`\n\n{source_block(plugin)}"
                  for piece, plugin in stages.FIRST_PIECES.items()]
    else:
        replaced = sources.replaced_plugin(name)
        parts = [f"## The plugin\n\n`{stage.plugin}` fills the **{stage.swaps}** piece (hook "
                 f"`{stages.PIECE_HOOKS[stage.swaps]}`):\n", source_block(stage.plugin),
                 f'## What changed\n\n!!! quote "plugins/{stage.plugin}.py, in its own words"\n',
                 textwrap.indent(re.sub(r"``(.+?)``", r"`\1`",  # its ``literals`` as `code`
                                        sources.plugin_docstring(stage.plugin)), "    ") + "\n",
                 f"Its diff from `plugins/{replaced}.py`, the {stage.swaps} of [`{stage.parent}`]"
                 f"(../{stage.parent}/) (`mnistlab diff {name}` adds the docstring):\n",
                 fence(sources.stage_diff(name) + sources.settings_diff(name), "diff",
                       f"plugins/{replaced}.py → plugins/{stage.plugin}.py")]
    parts += ["## Run it\n", run.block(),
              "Its loss curves, as the run drew them in its run folder:\n", inline_png(
                  run.run_folder / "loss_curves.png", css_class="loss-curve",
                  alt=f"loss curves of the {name} stage, seed 0"),
              "## The tutorial's numbers and ours\n", numbers_table(name)]
    return "\n".join([*parts, verdict(name), downloads(name, run.command)])


def verdict(name: str) -> str:
    """Does the swap keep the numbers, why, and the test that checks it."""
    stage = stages.get_stage(name)
    if stage.parent is None:
        return "**Same numbers as its parent?** The first stage has no parent.\n"
    kind = ("preserving_swap_gives_the_same" if stage.preserves
            else "changing_swap_really_changes_the")
    answer = "Yes" if stage.preserves else "No, on purpose"
    return (f"**Same numbers as `{stage.parent}`?** {answer}: "
            f"{stage.why.removeprefix('changes behaviour: ')}. Checked by "
            f"`tests/test_equivalence.py::test_a_{kind}_losses[{stage.parent}->{name}]`.\n")


def stage_table() -> str:
    """The stage table, each stage linked to its page (for the stages index)."""
    rows = ["| # | stage | swaps | plugin | same numbers as its parent? | what changes |",
            "|---|---|---|---|---|---|"]
    for number, stage in enumerate(stages.STAGES, start=1):
        # Plain names, not code: table columns are narrow and code would break mid-word.
        swap = ([stage.swaps, stage.plugin, "yes" if stage.preserves else "**no**"]
                if stage.parent else ["—"] * 3)
        rows.append(f"| {number} | [{stage.name}]({stage.name}/) | {' | '.join(swap)} | "
                    f"{stage.title} |")
    return "\n".join(rows) + "\n"


def seed_spread(stage: str = "cnn") -> str:
    """How much the seed matters: the final scores of ``stage`` with every recorded seed."""
    runs = recorded()["stages"][stage]
    rows = "".join(f"| {run['seed']} | {run['valid_loss']:.4f} | {run['valid_acc']:.4f} |\n"
                   for run in runs)
    accuracies = sorted(run["valid_acc"] for run in runs)
    return (f"| seed | validation loss | validation accuracy |\n|---|---|---|\n{rows}\n"
            f"Validation accuracy ranges from **{accuracies[0]:.4f} to {accuracies[-1]:.4f}** "
            "on the same data, code and hyper-parameters: only the seed differs.\n")
