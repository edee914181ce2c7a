"""The stage pages and the stage table, made from the stage table and the stages' runs."""

from __future__ import annotations

import re
import textwrap

from mnistlab import sources, stages

from .blocks import fence, inline_png, source_block
from .downloads import downloads
from .kept import command

# The CNNs barely learn in the tutorial's 2 epochs of the sample, so their pages train the
# default: as many examples as the tutorial's 2 epochs of 50,000 (25 epochs of the sample).
CNN_STAGES = stages.STAGE_NAMES[stages.STAGE_NAMES.index("cnn"):]
SEEDS = range(5)  # the cnn page shows how much the seed matters over these


def stage_command(name: str, seed: int = 0) -> str:
    """What a stage page runs; seed 0 everywhere, so a preserving swap shows its parent's."""
    epochs = "" if name in CNN_STAGES else " --epochs 2"
    return f"mnistlab run --stage {name}{epochs} --data sample" + f" --seed {seed}" * bool(seed)


def heavy_commands() -> list[str]:
    """The site's long runs, started first: each CNN page's, and the cnn page's other seeds."""
    return [*map(stage_command, CNN_STAGES), *(stage_command("cnn", s) for s in SEEDS[1:])]


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
    parts += ["## Run it\n", run.block()]
    if name in CNN_STAGES:
        parts += ["Its loss curves, as the run drew them in its run folder:\n", inline_png(
            run.run_folder / "loss_curves.png", css_class="loss-curve",
            alt=f"loss curves of the {name} stage, seed 0")]
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


def seed_spread() -> str:
    """How much the seed matters: the final scores of ``cnn`` with each of :data:`SEEDS`."""
    scores = {seed: command(stage_command("cnn", seed)).scores for seed in SEEDS}
    rows = "".join(f"| {seed} | {s['loss']} | {s['accuracy']} |\n" for seed, s in scores.items())
    accuracies = sorted(float(s["accuracy"]) for s in scores.values())
    return (f"| seed | validation loss | validation accuracy |\n|---|---|---|\n{rows}\n"
            f"Validation accuracy ranges from **{accuracies[0]:.4f} to {accuracies[-1]:.4f}** "
            "on the same data, code and hyper-parameters: only the seed differs.\n")
