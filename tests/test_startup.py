"""What a run imports and which determinism flags it sets, so that it starts as fast as the
tutorial's own code; and the proof that leaving the flags alone on the CPU changes no number.

How fast a run starts is measured by ``benchmarks/startup.py``, never here: these tests check
the causes (a module imported, a flag set), which a busy machine cannot blur.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

import mnistlab
from mnistlab.determinism import CUBLAS_WORKSPACE, kernel_flags, reproducible, set_kernel_flags
from mnistlab.stages import STAGE_NAMES, pieces_of

# The stages whose plain tutorial code imports torch and builds no torch.optim optimizer.
STAGES_WITHOUT_OPTIMIZER = [name for name in STAGE_NAMES if pieces_of(name)["update"] != "sgd"]

# torch.use_deterministic_algorithms imports these (over a second); matplotlib takes 0.3 s.
HEAVY_MODULES = ("torch._dynamo", "torch._inductor", "matplotlib")

# One process, the distributed stage's loop (fit's, through DistributedDataParallel), would
# need a process group; it computes with the kernels of the stages before it.
CPU_STAGES = [name for name in STAGE_NAMES if name != "distributed"]
# The stages whose kernels differ most (the hand-written loss's index_put, nn.Linear, the CNN)
# run in the fast tier; every CPU stage runs in the full one.
REPRESENTATIVE = ("scratch", "linear", "cnn")
EVERY_CPU_STAGE = [pytest.param(name, marks=[] if name in REPRESENTATIVE else pytest.mark.slow)
                   for name in CPU_STAGES]


@pytest.fixture(scope="module")
def imported_by_zero_epoch_runs() -> list[str]:
    """The heavy modules present after zero-epoch runs (no run folder) of every stage without
    an optimizer, in one fresh process."""
    code = (
        "import json, sys, mnistlab\n"
        f"for stage in {STAGES_WITHOUT_OPTIMIZER!r}:\n"
        "    mnistlab.run(stage, epochs=0, data='sample', quiet=True)\n"
        f"print(json.dumps([name for name in {HEAVY_MODULES!r} if name in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_stages_without_an_optimizer_are_the_first_four():
    assert STAGES_WITHOUT_OPTIMIZER == ["scratch", "functional", "module", "linear"]


def test_a_zero_epoch_run_without_an_optimizer_does_not_import_torch_dynamo(
        imported_by_zero_epoch_runs):
    assert "torch._dynamo" not in imported_by_zero_epoch_runs
    assert "torch._inductor" not in imported_by_zero_epoch_runs


def test_a_run_without_a_folder_does_not_import_matplotlib(imported_by_zero_epoch_runs):
    assert "matplotlib" not in imported_by_zero_epoch_runs


# --- determinism flags ---------------------------------------------------------


@pytest.fixture
def callers_flags():
    """Put back torch's determinism flags as they were, whatever the test set them to."""
    found = kernel_flags()
    yield found
    set_kernel_flags(found)


@pytest.fixture
def no_cublas_setting(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)


@pytest.mark.parametrize("deterministic", [True, False])
def test_on_the_cpu_the_flags_and_the_environment_stay_as_they_were(
        deterministic, callers_flags, no_cublas_setting):
    with reproducible(deterministic) as use:
        use(torch.device("cpu"))
        assert kernel_flags() == callers_flags
    assert kernel_flags() == callers_flags
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ


@pytest.mark.parametrize("deterministic", [True, False])
@pytest.mark.parametrize("device", ["cuda", "mps", "xpu"])
def test_on_an_accelerator_the_run_sets_the_flags_and_puts_the_callers_back(
        device, deterministic, callers_flags):
    # The caller's own flags, the opposite of the run's: a notebook's code, say. A
    # torch.device names an accelerator without needing one, and setting the flags needs none.
    callers = (not deterministic, False, not deterministic, deterministic)
    set_kernel_flags(callers)
    with reproducible(deterministic) as use:
        use(torch.device(device))
        # warn-only: an operation with no deterministic kernel warns; cudnn never benchmarks.
        assert kernel_flags() == (deterministic, True, deterministic, False)
    assert kernel_flags() == callers


def test_the_flags_are_put_back_when_the_run_fails(callers_flags):
    with pytest.raises(KeyboardInterrupt), reproducible(True) as use:
        use(torch.device("cuda"))
        raise KeyboardInterrupt
    assert kernel_flags() == callers_flags


def test_a_deterministic_run_on_cuda_asks_cublas_for_a_deterministic_workspace(
        callers_flags, no_cublas_setting):
    with reproducible(True) as use:
        use(torch.device("cuda"))
    # cuBLAS read it when it initialised: it stays, as the workspace cuBLAS uses.
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == CUBLAS_WORKSPACE


@pytest.mark.parametrize(("deterministic", "device"), [(False, "cuda"), (True, "mps")])
def test_cublas_is_left_alone_where_it_does_not_matter(
        deterministic, device, callers_flags, no_cublas_setting):
    with reproducible(deterministic) as use:
        use(torch.device(device))
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ


def test_a_users_cublas_setting_is_kept(callers_flags, monkeypatch):
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    with reproducible(True) as use:
        use(torch.device("cuda"))
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


# --- the CPU computes the same numbers either way ------------------------------


@pytest.fixture
def two_threads():
    """Two torch threads: torch's CPU kernels that the flag changes differ only when they
    run in parallel."""
    found = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(found)


class StopAfterSteps:
    """An observer that ends training after ``steps`` optimizer steps: every kernel of a stage
    has run by then (the final score runs the validation pass), at a fraction of an epoch's
    cost."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    @mnistlab.hookimpl
    def after_batch(self, session, step):
        if step >= self.steps:
            session.stop(f"{self.steps} steps are enough to compare")


def final_weights(stage: str, **settings) -> list[torch.Tensor]:
    result = mnistlab.run(stage, epochs=1, data="sample", device="cpu", quiet=True,
                          plugin_objects=(StopAfterSteps(10),), **settings)
    assert result.steps == 10
    return [parameter.detach() for parameter in result.model.parameters()]


def assert_bit_identical(weights: list[torch.Tensor], others: list[torch.Tensor]) -> None:
    assert len(weights) == len(others) > 0
    for weight, other in zip(weights, others, strict=True):
        assert torch.equal(weight, other)


@pytest.mark.parametrize("stage", ["scratch", "cnn"])
def test_a_cpu_run_ends_with_the_same_weights_deterministic_or_not(stage, two_threads):
    assert_bit_identical(final_weights(stage, deterministic=True),
                         final_weights(stage, deterministic=False))


@pytest.mark.parametrize("stage", EVERY_CPU_STAGE)
def test_torchs_deterministic_mode_changes_no_weight_a_cpu_stage_computes(
        stage, two_threads, callers_flags):
    """The reason a run leaves the flags alone on the CPU.

    On the CPU a run keeps the caller's flags, so the caller can train with torch's
    deterministic mode on (not warn-only: an operation without a deterministic kernel would
    fail, and with it fills uninitialised memory with NaN) and off, and compare.
    """
    set_kernel_flags((True, False, True, False))
    with_flag = final_weights(stage)
    set_kernel_flags((False, False, False, False))
    without_flag = final_weights(stage)
    assert_bit_identical(with_flag, without_flag)
