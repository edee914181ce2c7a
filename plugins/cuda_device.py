"""Device: use the GPU when there is one.

Swaps ``cpu_device``. The tutorial's last step picks CUDA if it is available::

    dev = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")

then moves the model there once (``model.to(dev)``, done by the runner) and
each batch as it is loaded (done by the batches piece, which receives
``device``). ``torch.accelerator`` asks the same question of any
accelerator torch knows (CUDA, Apple's MPS, Intel's XPU), so this plugin uses
it where torch has it. On a machine without one this is the CPU again, and
the numbers are exactly those of the previous stage.
"""

import torch

from mnistlab.hookspecs import hookimpl


@hookimpl
def make_device():
    if hasattr(torch, "accelerator"):
        return torch.accelerator.current_accelerator() or torch.device("cpu")
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
