"""How far two runs that should agree drift apart, read from the recorded runs
(``numbers.recorded()``): the same network pooled two ways, one process and two."""

from __future__ import annotations

import statistics
from typing import Any

from .numbers import recorded

KEYS = {"train_loss": "training loss", "valid_loss": "validation loss"}


def parting(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Where two runs' per-epoch losses first differ at all, and where they first differ as
    the runs print them (4 decimals)."""
    pairs = list(zip(a["epochs"], b["epochs"], strict=True))
    differ = [n for n, (x, y) in enumerate(pairs, 1) if any(x[k] != y[k] for k in KEYS)]
    shown = [n for n, (x, y) in enumerate(pairs, 1)
             if any(f"{x[k]:.4f}" != f"{y[k]:.4f}" for k in KEYS)]
    if not differ:
        return f"agree to the last bit in all {len(pairs)} epochs"
    first, x, y = differ[0], *pairs[differ[0] - 1]
    key = max(KEYS, key=lambda k: abs(x[k] - y[k]))
    said = (f"differ from epoch {first} on, at first by a relative "
            f"{abs(x[key] - y[key]) / abs(x[key]):.0e} ({KEYS[key]} "
            f"{x[key]:.9f} against {y[key]:.9f})")
    if shown:
        x, y = pairs[shown[0] - 1]
        said += (f"; training amplifies it, and the printed numbers part at epoch {shown[0]} ("
                 + ", ".join(f"{name} {x[k]:.4f} against {y[k]:.4f}" for k, name in KEYS.items()
                             if f"{x[k]:.4f}" != f"{y[k]:.4f}") + ")")
    return said


def pooling(first: str = "wrapped", second: str = "adaptive") -> str:
    """Seed 0 of two stages, epoch by epoch and at the end; their mean over every seed."""
    runs = recorded()["stages"]
    a, b = runs[first][0], runs[second][0]
    means = [statistics.mean(run["valid_acc"] for run in runs[name]) for name in (first, second)]
    return (f"With seed 0, `{first}` and `{second}` {parting(a, b)}. After {len(a['epochs'])} "
            f"epochs their validation accuracy is {a['valid_acc']:.4f} and "
            f"{b['valid_acc']:.4f}; over the {len(runs[first])} recorded seeds, "
            f"{means[0]:.4f} and {means[1]:.4f} on average.\n")


def processes(every: int = 5) -> str:
    """The validation loss of the distributed stage as one process and as N, for the first
    epochs and every ``every``-th, with their difference; then where they part and end."""
    record = recorded()
    one, many = record["stages"]["distributed"][0], record["processes"]
    nproc = many["nproc"]
    rows = [f"| epoch | 1 process | {nproc} processes | difference |", "|---:|---:|---:|---:|"]
    rows += [f"| {n} | {x['valid_loss']:.7f} | {y['valid_loss']:.7f} | "
             f"{y['valid_loss'] - x['valid_loss']:+.1e} |"
             for n, (x, y) in enumerate(zip(one["epochs"], many["epochs"], strict=True), 1)
             if n <= 3 or n % every == 0]
    return "\n".join(rows) + (
        f"\n\nThe validation loss after each epoch, seed 0, recorded by `{record['command']}`. "
        f"One process and {nproc} processes {parting(one, many)}. After the last epoch the "
        f"validation accuracy is {one['valid_acc']:.4f} for one process and "
        f"{many['valid_acc']:.4f} for {nproc}.\n")
