"""Deterministic kernels for a run, set only on the devices that have nondeterministic ones.

``torch.use_deterministic_algorithms`` imports ``torch._dynamo`` and ``torch._inductor`` the
first time it is called (about a second, as long as ``import torch`` itself), so calling it for
every run would nearly double the start-up of the tutorial's first stages, which build no
``torch.optim`` optimizer (building one imports ``torch._dynamo`` too). A run therefore sets the
flags once its device is known, and only when that device is an accelerator.

On the CPU the flag changes nothing that a run of mnistlab computes:

- the CPU kernels it switches are ``index_copy``, which no stage calls, and ``index_put`` and
  ``put_`` with ``accumulate=True``, the first of which is the backward of the hand-written
  loss's ``input[range(n), target]``. With the flag they add serially; without it they add in
  parallel only past 32,768 elements and with more than one thread (a batch holds 64 rows by
  default), and even then that backward adds to each place of its gradient once, so the order
  of the additions cannot change a sum;
- it fills the memory of ``torch.empty`` and friends with NaN, which matters only to code that
  reads memory before writing it; no piece of mnistlab does;
- its Inductor setting concerns ``torch.compile``, which no stage uses.

``tests/test_startup.py`` proves it: every stage but ``distributed`` trained on the CPU with two
threads, with torch's flag on and with it off, ends with the same weights bit for bit. Code that
wants the flag on the CPU anyway can call ``torch.use_deterministic_algorithms`` before the run:
on the CPU a run leaves the flags as the caller set them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

# cuBLAS's deterministic workspace, which torch asks for in deterministic mode on CUDA.
CUBLAS_WORKSPACE = ":4096:8"

KernelFlags = tuple[bool, bool, bool, bool]
"""torch's deterministic mode, its warn-only setting, cudnn.deterministic and cudnn.benchmark."""


def needs_kernel_flags(device: torch.device) -> bool:
    """Whether ``device`` has kernels whose results change with torch's determinism flags.

    Every accelerator does (CUDA, ROCm, Apple's MPS, Intel's XPU, ...); the CPU does not for
    what a run computes (see the module's docstring).
    """
    return device.type != "cpu"


def kernel_flags() -> KernelFlags:
    """torch's determinism flags as they stand now (reading them imports nothing)."""
    cudnn = torch.backends.cudnn
    return (torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            cudnn.deterministic, cudnn.benchmark)


def set_kernel_flags(flags: KernelFlags) -> None:
    algorithms, warn_only, cudnn_deterministic, cudnn_benchmark = flags
    torch.use_deterministic_algorithms(algorithms, warn_only=warn_only)
    torch.backends.cudnn.deterministic = cudnn_deterministic
    torch.backends.cudnn.benchmark = cudnn_benchmark


def flags_for_run(deterministic: bool) -> KernelFlags:
    """The flags a run trains with. An operation with no deterministic implementation warns
    instead of failing the lesson; cudnn never benchmarks, since its choice varies from run
    to run."""
    return (deterministic, True, deterministic, False)


def ask_cublas_for_a_deterministic_workspace(device: torch.device) -> None:
    """Set ``CUBLAS_WORKSPACE_CONFIG`` for a CUDA device, unless the user set it.

    cuBLAS reads it once, when it initialises (at the first matrix product on the device, after
    the model is built), so it is set before that and stays set: putting it back afterwards
    would not change the workspace cuBLAS already uses.
    """
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)


@contextmanager
def reproducible(deterministic: bool) -> Iterator[Callable[[torch.device], None]]:
    """Let torch pick deterministic kernels (or not) while a run assembles and trains.

    Yields ``use(device)``: the run calls it once its device is known (before the model is
    built); it sets torch's determinism flags (and ``CUBLAS_WORKSPACE_CONFIG``) only where that
    device needs them. On exit, every flag this block changed is put back as it was found (the
    flags are process-wide, and code that runs after ``mnistlab.run()`` in the same process
    keeps its own).
    """
    found: list[KernelFlags] = []  # the caller's flags, once ``use`` has changed them

    def use(device: torch.device) -> None:
        if not needs_kernel_flags(device):
            return
        if deterministic:
            ask_cublas_for_a_deterministic_workspace(device)
        if not found:
            found.append(kernel_flags())
        set_kernel_flags(flags_for_run(deterministic))

    try:
        yield use
    finally:
        if found:
            set_kernel_flags(found[0])
