"""Deterministic kernels for a run, set only on a device that has nondeterministic ones."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch


@contextmanager
def reproducible(deterministic: bool) -> Iterator[Callable[[torch.device], None]]:
    """Yield ``use(device)``: the run calls it once its device is known, before the model.

    It sets torch's determinism flags (and ``CUBLAS_WORKSPACE_CONFIG``) only
    where that device needs them. On exit, every flag this block changed is
    put back as it was found: the flags are process-wide.
    """
    found: list[tuple[bool, bool, bool, bool]] = []
    cudnn = torch.backends.cudnn

    def use(device: torch.device) -> None:
        if device.type == "cpu":
            return
        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        found.append((torch.are_deterministic_algorithms_enabled(),
                      torch.is_deterministic_algorithms_warn_only_enabled(),
                      cudnn.deterministic, cudnn.benchmark))
        torch.use_deterministic_algorithms(deterministic, warn_only=True)
        cudnn.deterministic, cudnn.benchmark = deterministic, False

    try:
        yield use
    finally:
        for algorithms, warn_only, cudnn.deterministic, cudnn.benchmark in found:
            torch.use_deterministic_algorithms(algorithms, warn_only=warn_only)
