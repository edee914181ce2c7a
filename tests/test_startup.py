"""A run pays only for what its stage uses: no torch._dynamo where no optimizer is built, no
matplotlib where no picture is drawn, and determinism flags only where a device needs them.
(How long a start takes is measured by benchmarks/startup.py, never by a test.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

import mnistlab

REPORT = """
import json, sys
import mnistlab
mnistlab.run({stage!r}, epochs=0, data="sample", quiet=True)
print(json.dumps({{name: name in sys.modules
                  for name in ("torch._dynamo", "torch._inductor", "matplotlib")}}))
"""


def imported_by_a_run(stage: str) -> dict[str, bool]:
    done = subprocess.run([sys.executable, "-c", REPORT.format(stage=stage)], text=True,
                          capture_output=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.slow  # two fresh Python processes
def test_a_zero_epoch_run_imports_only_what_its_stage_uses():
    # scratch builds no optimizer and keeps no folder: neither torch's compiler nor matplotlib.
    assert imported_by_a_run("scratch") == {
        "torch._dynamo": False, "torch._inductor": False, "matplotlib": False}
    # An SGD's first parameter group imports torch._dynamo: torch's cost, not mnistlab's.
    assert imported_by_a_run("dataloader")["matplotlib"] is False


class FirstRows:
    """The sample's first 640 training digits: a CNN epoch in a fraction of a second."""

    @mnistlab.hookimpl
    def make_data(self):
        from mnistlab.data import load
        from mnistlab.types import Tensors

        s = load("sample")
        arrays = (s.x_train[:640], s.y_train[:640], s.x_valid, s.y_valid)
        return Tensors(*map(torch.tensor, arrays), name="first rows", num_classes=10)


def test_on_the_cpu_torchs_determinism_flags_change_no_weight():
    """The run leaves the flags alone on the CPU; this shows that setting them, as it does on
    a GPU, would train the very same weights (the CNN: convolutions, pooling, momentum)."""

    def weights(flags: bool) -> list[torch.Tensor]:
        found = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(flags)
        try:
            run = mnistlab.run("cnn", epochs=1, quiet=True, plugin_objects=(FirstRows(),))
        finally:
            torch.use_deterministic_algorithms(found)
        return list(run.model.parameters())

    assert all(map(torch.equal, weights(True), weights(False)))
