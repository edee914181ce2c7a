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
from .words import part, say, stage_words

# Every page trains the default: as many examples as the tutorial's 2 epochs of 50,000 digits,
# 25 epochs of the sample, so any two pages compare like with like.
CNN_STAGES = stages.STAGE_NAMES[stages.STAGE_NAMES.index("cnn"):]


def stage_command(name: str) -> str:
    """What a stage page runs; seed 0 everywhere, so a preserving swap shows its parent's."""
    return f"mnistlab run --stage {name} --data sample"


def heavy_commands() -> list[str]:
    """Every page's run, started first in worker processes: the CNN stages' (longest) first, each
    kind in the order mkdocs renders the pages (by path), since a page that needs a run no worker
    has taken yet runs it itself."""
    return [*map(stage_command, sorted(CNN_STAGES)),
            *(stage_command(name) for name in sorted(stages.STAGE_NAMES)
              if name not in CNN_STAGES)]


def stage_page(name: str, lang: str = "en") -> str:
    """Everything a stage page shows below its prose: code, diff, run, numbers, verdict."""
    stage, run = stages.get_stage(name), command(stage_command(name))
    if stage.parent is None:
        parts = [say(lang, "first code")]
        parts += [f"### {part(lang, piece)}{': ' if lang == 'en' else '：'}`{plugin}`\n\n"
                  f"{source_block(plugin)}" for piece, plugin in stages.FIRST_PIECES.items()]
    else:
        replaced, swapped = sources.replaced_plugin(name), part(lang, stage.swaps)
        parts = [say(lang, "code", part=swapped.removeprefix("the "), plugin=stage.plugin,
                     parent=stage.parent), source_block(stage.plugin),
                 say(lang, "changed", part=swapped, parent=stage.parent, replaced=replaced,
                     name=name),
                 fence(sources.stage_diff(name) + sources.settings_diff(name), "diff",
                       f"plugins/{replaced}.py → plugins/{stage.plugin}.py", searched=False)]
    parts += [say(lang, "run it"), run.block(), say(lang, "curves"), inline_png(
                  run.run_folder / "loss_curves.png", css_class="loss-curve",
                  alt=say(lang, "curves alt", name=name)),
              say(lang, "numbers"), numbers_table(name, lang)]
    return "\n".join([*parts, verdict(name, lang), downloads(name, run.command, lang)])


def verdict(name: str, lang: str = "en") -> str:
    """Does the swap keep the numbers, why, and the test that checks it."""
    stage = stages.get_stage(name)
    if stage.parent is None:
        return say(lang, "no parent")
    kind = ("preserving_swap_gives_the_same" if stage.preserves
            else "changing_swap_really_changes_the")
    return say(lang, "verdict", parent=stage.parent, answer=say(
        lang, "yes" if stage.preserves else "no"), why=stage_words(lang, name)[1],
        test=f"tests/test_equivalence.py::test_a_{kind}_losses[{stage.parent}->{name}]")


def stage_count(base: str = "", lang: str = "en") -> str:
    """How many stages there are and which follow the tutorial, linked from ``base``."""
    names, last = stages.STAGE_NAMES, stages.STAGE_NAMES.index("gpu") + 1

    def link(name: str) -> str:
        return f"[`{name}`]({base}{name}/)"

    return say(lang, "count", count=len(names), last=last, first=link(names[0]),
               gpu=link("gpu"), beyond=len(names) - last,
               links=say(lang, "and").join(map(link, names[last:])))


def stage_table(lang: str = "en") -> str:
    """The stage table, each stage linked to its page (for the stages index)."""
    rows = [say(lang, "table head"), "|---|---|---|---|---|---|"]
    for number, stage in enumerate(stages.STAGES, start=1):
        # Plain names, not code: table columns are narrow and code would break mid-word.
        swap = ([part(lang, stage.swaps), stage.plugin,
                 say(lang, "table yes" if stage.preserves else "table no")]
                if stage.parent else ["—"] * 3)
        rows.append(f"| {number} | [{stage.name}]({stage.name}/) | {' | '.join(swap)} | "
                    f"{stage_words(lang, stage.name)[0]} |")
    return "\n".join(rows) + "\n"


def seed_verdict(first: str = "fit", second: str = "cnn", lang: str = "en") -> str:
    """Whether ``second`` ends with a better validation accuracy than ``first``, seed by seed."""
    a, b = ([run["valid_acc"] for run in recorded()["stages"][name]] for name in (first, second))
    wins, seeds = sum(y > x for x, y in zip(a, b, strict=True)), len(a)
    means = statistics.mean(a), statistics.mean(b)
    judged = say(lang, "wins all" if wins == seeds else "wins mean" if means[1] > means[0]
                 else "loses", first=first, wins=wins, seeds=seeds)
    return say(lang, "seeds", first=first, second=second, judged=judged, a=means[0], b=means[1],
               a0=min(a), a1=max(a), b0=min(b), b1=max(b))
