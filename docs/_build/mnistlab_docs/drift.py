"""How far two runs that should agree drift apart, read from the recorded runs
(``numbers.recorded()``): the same network pooled two ways, one process and two."""

from __future__ import annotations

import statistics
from typing import Any

from .numbers import recorded
from .words import say

KEYS = ("train_loss", "valid_loss")


def parting(a: dict[str, Any], b: dict[str, Any], lang: str = "en") -> str:
    """Where two runs' per-epoch losses first differ at all, and where they first differ as
    the runs print them (4 decimals)."""
    pairs = list(zip(a["epochs"], b["epochs"], strict=True))
    differ = [n for n, (x, y) in enumerate(pairs, 1) if any(x[k] != y[k] for k in KEYS)]
    shown = [n for n, (x, y) in enumerate(pairs, 1)
             if any(f"{x[k]:.4f}" != f"{y[k]:.4f}" for k in KEYS)]
    if not differ:
        return say(lang, "agree", epochs=len(pairs))
    first, x, y = differ[0], *pairs[differ[0] - 1]
    key = max(KEYS, key=lambda k: abs(x[k] - y[k]))
    said = say(lang, "differ", first=first, rel=abs(x[key] - y[key]) / abs(x[key]),
               name=say(lang, key), x=x[key], y=y[key])
    if shown:
        x, y = pairs[shown[0] - 1]
        said += say(lang, "amplified", epoch=shown[0], pairs=say(lang, "comma").join(
            say(lang, "pair", name=say(lang, k), x=x[k], y=y[k]) for k in KEYS
            if f"{x[k]:.4f}" != f"{y[k]:.4f}"))
    return said


def pooling(first: str = "wrapped", second: str = "adaptive", lang: str = "en") -> str:
    """Seed 0 of two stages, epoch by epoch and at the end; their mean over every seed."""
    runs = recorded()["stages"]
    a, b = runs[first][0], runs[second][0]
    means = [statistics.mean(run["valid_acc"] for run in runs[name]) for name in (first, second)]
    return say(lang, "pooling", first=first, second=second, parting=parting(a, b, lang),
               epochs=len(a["epochs"]), a=a["valid_acc"], b=b["valid_acc"],
               seeds=len(runs[first]), ma=means[0], mb=means[1])


def processes(every: int = 5, lang: str = "en") -> str:
    """The validation loss of the distributed stage as one process and as N, for the first
    epochs and every ``every``-th, with their difference; then where they part and end."""
    record = recorded()
    one, many = record["stages"]["distributed"][0], record["processes"]
    nproc = many["nproc"]
    rows = [say(lang, "processes head", nproc=nproc), "|---:|---:|---:|---:|"]
    rows += [f"| {n} | {x['valid_loss']:.7f} | {y['valid_loss']:.7f} | "
             f"{y['valid_loss'] - x['valid_loss']:+.1e} |"
             for n, (x, y) in enumerate(zip(one["epochs"], many["epochs"], strict=True), 1)
             if n <= 3 or n % every == 0]
    return "\n".join(rows) + say(lang, "processes", command=record["command"], nproc=nproc,
                                 parting=parting(one, many, lang), a=one["valid_acc"],
                                 b=many["valid_acc"])
