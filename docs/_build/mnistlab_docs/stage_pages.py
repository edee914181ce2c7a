"""The stage pages and the stage table, made from the stage table and the stages' runs.

What they write under a lesson speaks of the model, the loss, the update, the batches and the
training loop, as the tutorial does; the kernel's own words stay on How it works."""

from __future__ import annotations

import statistics

from mnistlab import sources, stages

from .blocks import fence, inline_png, source_block
from .downloads import downloads
from .kept import command
from .numbers import numbers_table, recorded

# Every page trains the default: as many examples as the tutorial's 2 epochs of 50,000 digits,
# 25 epochs of the sample, so any two pages compare like with like.
CNN_STAGES = stages.STAGE_NAMES[stages.STAGE_NAMES.index("cnn"):]
# What a stage swaps, in the tutorial's words.
PART = {"data": "the data", "device": "the device", "model": "the model", "loss": "the loss",
        "update": "the update", "batches": "the batches", "loop": "the training loop"}


def stage_command(name: str) -> str:
    """What a stage page runs; seed 0 everywhere, so a preserving swap shows its parent's."""
    return f"mnistlab run --stage {name} --data sample"


def heavy_commands() -> list[str]:
    """Every page's run, started first in worker processes, the CNN stages' (longest) first."""
    return [*map(stage_command, CNN_STAGES),
            *(stage_command(name) for name in stages.STAGE_NAMES if name not in CNN_STAGES)]


def stage_page(name: str) -> str:
    """Everything a stage page shows below its prose: code, diff, run, numbers, verdict."""
    stage, run = stages.get_stage(name), command(stage_command(name))
    if stage.parent is None:
        parts = ["## The code\n\nThe first stage writes each part in a file of its own:\n"]
        parts += [f"### {PART[piece]}: `{plugin}`\n\n{source_block(plugin)}"
                  for piece, plugin in stages.FIRST_PIECES.items()]
    else:
        replaced, part = sources.replaced_plugin(name), PART[stage.swaps]
        parts = [f"## The code\n\nThis stage's new {part.removeprefix('the ')}, "
                 f"`{stage.plugin}`; everything else is [`{stage.parent}`](../{stage.parent}/)'s:"
                 "\n", source_block(stage.plugin),
                 f"## What changed\n\nThe diff from {part} of `{stage.parent}`, "
                 f"`plugins/{replaced}.py` (`mnistlab diff {name}` prints it too):\n",
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


def stage_count(base: str = "") -> str:
    """How many stages there are and which follow the tutorial, linked from ``base``."""
    names, last = stages.STAGE_NAMES, stages.STAGE_NAMES.index("gpu") + 1

    def link(name: str) -> str:
        return f"[`{name}`]({base}{name}/)"

    return (f"**{len(names)} stages**: stages 1 to {last} follow the tutorial, from "
            f"{link(names[0])} to {link('gpu')} (its step 12 is two stages here), and the "
            f"last {len(names) - last} go beyond it: {' and '.join(map(link, names[last:]))}.")


def stage_table() -> str:
    """The stage table, each stage linked to its page (for the stages index)."""
    rows = ["| # | stage | what it changes | its file | same numbers as the one before? "
            "| what the step does |", "|---|---|---|---|---|---|"]
    for number, stage in enumerate(stages.STAGES, start=1):
        # Plain names, not code: table columns are narrow and code would break mid-word.
        swap = ([PART[stage.swaps], stage.plugin, "yes" if stage.preserves else "**no**"]
                if stage.parent else ["—"] * 3)
        rows.append(f"| {number} | [{stage.name}]({stage.name}/) | {' | '.join(swap)} | "
                    f"{stage.title} |")
    return "\n".join(rows) + "\n"


def seed_verdict(first: str = "fit", second: str = "cnn") -> str:
    """Whether ``second`` ends with a better validation accuracy than ``first``, seed by seed."""
    a, b = ([run["valid_acc"] for run in recorded()["stages"][name]] for name in (first, second))
    wins, seeds = sum(y > x for x, y in zip(a, b, strict=True)), len(a)
    means = statistics.mean(a), statistics.mean(b)
    judged = (f"beats `{first}` with every one of the {seeds} recorded seeds" if wins == seeds
              else f"beats `{first}` on average, but with only {wins} of the {seeds} recorded "
              "seeds" if means[1] > means[0] else
              f"does not beat `{first}` on average: it ends above with {wins} of the {seeds} "
              "recorded seeds")
    return (f"On the sample, `{second}` {judged}. Its mean validation accuracy is "
            f"{means[1]:.4f} against {means[0]:.4f}. Over the seeds, `{first}` ends between "
            f"{min(a):.4f} and {max(a):.4f}, `{second}` between {min(b):.4f} and "
            f"{max(b):.4f}.\n")
