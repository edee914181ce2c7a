"""Times the pages show, measured on the machine that builds the site.

Each is measured once per version of the code (``memo.kept_result``) and shown the same in
both languages: a build of unchanged code, or of the other language, reads the kept one."""

from __future__ import annotations

import time

from .memo import kept_result


@kept_result
def batch_cutting() -> list[tuple[str, float, float]]:
    """One shuffled pass over 50,000 training rows (the sample, tiled), cutting the batches and
    nothing else, by the gpu stage's pieces and the fast stage's: the best of three passes, and
    that per batch: ``(pieces, seconds, microseconds per batch)``."""
    import numpy as np
    import torch

    from mnistlab import data
    from mnistlab.plugins import device_batches, wrapped_loader

    sample = data.load("sample")
    x = torch.tensor(np.tile(sample.x_train, (13, 1))[:50_000])
    y = torch.tensor(np.tile(sample.y_train, 13)[:50_000])
    cpu = torch.device("cpu")
    pieces = {"wrapped_loader (gpu stage)": wrapped_loader.make_batches,
              "device_batches (fast stage)": device_batches.DeviceBatches().make_batches}
    rows = []
    for name, make_batches in pieces.items():
        best, count = float("inf"), 0
        for _ in range(3):
            started = time.perf_counter()
            count = sum(1 for _ in make_batches(x, y, 64, True, torch.Generator().manual_seed(0),
                                                cpu))
            best = min(best, time.perf_counter() - started)
        rows.append((name, best, 1e6 * best / count))
    return rows
