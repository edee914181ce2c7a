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


def measure(stage: str) -> tuple[str, str]:
    """Which number of a run compares with the tutorial's, and its name on the page."""
    if stage in LAST_BATCH:
        return "last_batch_loss", "loss on the last training batch"
    return "valid_loss", "validation loss after the last epoch"


def final(run: dict[str, Any], key: str) -> float:
    return run["epochs"][-1][key] if key == "last_batch_loss" else run[key]


def spread(values: list[float]) -> str:
    return (f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f} "
            f"({min(values):.4f} to {max(values):.4f})")


def numbers_table(stage: str) -> str:
    """The tutorial's number, ours with seed 0, and ours over every recorded seed."""
    record = recorded()
    runs, (key, name) = record["stages"][stage], measure(stage)
    seeds = len(runs)
    rows = [f"| | {name} | validation accuracy |", "|---|---:|---:|"]
    printed = TUTORIAL.get(stage)
    rows.append("| the tutorial: full MNIST, 2 epochs, no seed | "
                + (f"{printed:.4f} | not printed |" if printed is not None
                   else "no such step | |"))
    epochs = len(runs[0]["epochs"])
    rows.append(f"| mnistlab: the sample, {epochs} epochs, seed 0 | {final(runs[0], key):.4f} | "
                f"{runs[0]['valid_acc']:.4f} |")
    rows.append(f"| mnistlab: seeds 0 to {seeds - 1}, mean ± sd (range) | "
                f"{spread([final(run, key) for run in runs])} | "
                f"{spread([run['valid_acc'] for run in runs])} |")
    return "\n".join(rows) + "\n\n" + (
        f"Recorded by `{record['command']}` with torch {record['versions']['torch']} on "
        f"{record['date']}. The two runs see about as many examples: {epochs} epochs of the "
        "sample's 4,000 digits, 2 of the tutorial's 50,000. Ours differ from the tutorial's "
        "because the data differ (12 times fewer digits to learn from, and a validation set "
        "of 1,000 instead of 10,000), and the tutorial's own numbers change from run to run: "
        "it sets no seed.\n")


def seed_strip(names: tuple[str, ...] = ("fit", "cnn")) -> str:
    """One dot per recorded seed: each stage's final validation accuracy, a row per stage."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 0.5 + 0.45 * len(names)), dpi=100, layout="constrained")
    axes = figure.subplots()
    for row, stage in enumerate(names):
        accuracies = [run["valid_acc"] for run in recorded()["stages"][stage]]
        axes.plot(accuracies, [row] * len(accuracies), "o", alpha=0.5, markersize=7)
    axes.set_yticks(range(len(names)), names)
    axes.set_ylim(-0.6, len(names) - 0.4)
    axes.set_xlabel(f"final validation accuracy, seeds 0 to {len(recorded()['seeds']) - 1}")
    axes.grid(axis="x", alpha=0.3)
    png = io.BytesIO()
    figure.savefig(png, format="png")
    return inline_png(png, alt=f"final validation accuracy of {' and '.join(names)} over "
                      "every recorded seed", css_class="seed-strip")


def full_size_table(data: str) -> str:
    """Every stage on a full-size data set, as ``scripts/tables.py --data ...`` recorded it."""
    record = recorded(data)
    rows = ["| stage | epochs | optimizer steps | validation loss | validation accuracy |",
            "|---|---:|---:|---:|---:|"]
    for stage, runs in record["stages"].items():
        run = runs[0]
        rows.append(f"| [{stage}](../stages/{stage}/) | {len(run['epochs'])} | {run['steps']:,} "
                    f"| {run['valid_loss']:.4f} | {run['valid_acc']:.4f} |")
    logistic, cnn = (record["stages"][stage][0]["valid_acc"] for stage in ("fit", "cnn"))
    sample = recorded()["stages"]
    return "\n".join(rows) + "\n\n" + (
        f"Recorded by `{record['command']}` with torch {record['versions']['torch']} on "
        f"{record['date']}, seed {record['seeds'][0]}. Here the CNN (`cnn`) ends at "
        f"{cnn:.4f} and the logistic model (`fit`) at {logistic:.4f}; on the sample, over "
        f"{len(sample['cnn'])} seeds, they average {mean_acc(sample['cnn']):.4f} and "
        f"{mean_acc(sample['fit']):.4f}.\n")


def mean_acc(runs: list[dict[str, Any]]) -> float:
    return statistics.mean(run["valid_acc"] for run in runs)
