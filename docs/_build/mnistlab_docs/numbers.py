"""The tutorial's printed numbers beside ours, from the runs ``scripts/tables.py`` recorded.

A build reads ``docs/data/DATA.json`` and trains nothing for these tables: twenty seeds of
every stage take far longer than a build should. ``tests/test_tables.py`` trains one recorded
run again and wants the same numbers, so the file cannot drift from the code unnoticed."""

from __future__ import annotations

import functools
import io
import json
import statistics
from typing import Any

from mnistlab import stages

from .blocks import ROOT, inline_png
from .words import say

# What the tutorial printed at each step, on full MNIST (50,000 training digits, 2 epochs, no
# seed). Its first seven steps print the loss of the last training batch; from `validation`
# on, the validation loss after each epoch (the last is shown). `gpu` ran on a GPU.
TUTORIAL = {
    "scratch": 0.0824, "functional": 0.0824, "module": 0.0795, "linear": 0.0820,
    "optim": 0.0828, "dataset": 0.0823, "dataloader": 0.0807,
    "validation": 0.4185, "fit": 0.2856, "cnn": 0.2510, "sequential": 0.2353,
    "wrapped": 0.2866, "gpu": 0.1849,
}
LAST_BATCH = tuple(stages.STAGE_NAMES[:stages.STAGE_NAMES.index("validation")])


@functools.cache
def recorded(data: str = "sample") -> dict[str, Any]:
    """The file ``scripts/tables.py --data DATA`` wrote."""
    return json.loads((ROOT / "docs" / "data" / f"{data}.json").read_text("utf-8"))


def measure(stage: str, lang: str = "en") -> tuple[str, str]:
    """Which number of a run compares with the tutorial's, and its name on the page."""
    if stage in LAST_BATCH:
        return "last_batch_loss", say(lang, "last batch")
    return "valid_loss", say(lang, "last valid")


def final(run: dict[str, Any], key: str) -> float:
    return run["epochs"][-1][key] if key == "last_batch_loss" else run[key]


def spread(values: list[float], lang: str = "en") -> str:
    return say(lang, "spread", mean=statistics.mean(values), sd=statistics.stdev(values),
               low=min(values), high=max(values))


def numbers_table(stage: str, lang: str = "en") -> str:
    """The tutorial's number, ours with seed 0, and ours over every recorded seed."""
    record = recorded()
    runs, (key, name) = record["stages"][stage], measure(stage, lang)
    seeds = len(runs)
    rows = [say(lang, "numbers head", name=name), "|---|---:|---:|"]
    printed = TUTORIAL.get(stage)
    rows.append(say(lang, "tutorial row") + (say(lang, "not printed", printed=printed)
                                             if printed is not None else say(lang, "no step")))
    epochs = len(runs[0]["epochs"])
    rows.append(say(lang, "seed 0 row", epochs=epochs) + f"{final(runs[0], key):.4f} | "
                f"{runs[0]['valid_acc']:.4f} |")
    rows.append(say(lang, "seeds row", last=seeds - 1)
                + f"{spread([final(run, key) for run in runs], lang)} | "
                f"{spread([run['valid_acc'] for run in runs], lang)} |")
    return "\n".join(rows) + "\n\n" + say(
        lang, "recorded", command=record["command"], torch=record["versions"]["torch"],
        date=record["date"], epochs=epochs)


def seed_strip(names: tuple[str, ...] = ("fit", "cnn"), lang: str = "en") -> str:
    """One dot per recorded seed: each stage's final validation accuracy, a row per stage. The
    Chinese axis label goes under the picture: the build's fonts may lack Han characters."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 0.5 + 0.45 * len(names)), dpi=100, layout="constrained")
    axes = figure.subplots()
    for row, stage in enumerate(names):
        accuracies = [run["valid_acc"] for run in recorded()["stages"][stage]]
        axes.plot(accuracies, [row] * len(accuracies), "o", alpha=0.5, markersize=7)
    axes.set_yticks(range(len(names)), names)
    axes.set_ylim(-0.6, len(names) - 0.4)
    axis = say(lang, "strip axis", last=len(recorded()["seeds"]) - 1)
    axes.set_xlabel(axis if lang == "en" else "")
    axes.grid(axis="x", alpha=0.3)
    png = io.BytesIO()
    figure.savefig(png, format="png")
    return inline_png(png, alt=say(lang, "strip alt", names=say(lang, "and").join(names)),
                      css_class="seed-strip") + ("" if lang == "en" else f"\n{axis}\n")


def full_size_table(data: str, lang: str = "en") -> str:
    """Every stage on a full-size data set, as ``scripts/tables.py --data ...`` recorded it."""
    record = recorded(data)
    rows = [say(lang, "full head"), "|---|---:|---:|---:|---:|"]
    for stage, runs in record["stages"].items():
        run = runs[0]
        rows.append(f"| [{stage}](../stages/{stage}/) | {len(run['epochs'])} | {run['steps']:,} "
                    f"| {run['valid_loss']:.4f} | {run['valid_acc']:.4f} |")
    logistic, cnn = (record["stages"][stage][0]["valid_acc"] for stage in ("fit", "cnn"))
    sample = recorded()["stages"]
    return "\n".join(rows) + "\n\n" + say(
        lang, "full recorded", command=record["command"], torch=record["versions"]["torch"],
        date=record["date"], seed=record["seeds"][0], cnn=cnn, logistic=logistic,
        seeds=len(sample["cnn"]), a=mean_acc(sample["cnn"]), b=mean_acc(sample["fit"]))


def mean_acc(runs: list[dict[str, Any]]) -> float:
    return statistics.mean(run["valid_acc"] for run in runs)
