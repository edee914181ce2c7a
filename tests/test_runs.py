"""Every stage trains end to end on the embedded sample and really learns.

The floors were measured with seed 0 on the sample (4,000 train / 1,000
valid) and sit a few points below what was measured, so a real regression
(a broken update, shuffled labels, a dead model) fails while float noise
does not:

- logistic stages, 2 epochs: 0.880-0.892 measured, floor 0.85;
- CNN stages, 10 epochs: 0.875 measured, floor 0.80. The CNN's accuracy
  depends on the seed (0.62-0.91 across seeds 0-4 after 25 epochs, because
  a class whose ReLU output dies stays dead), so this floor holds for seed 0
  only; the docs show the spread.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import mnistlab
from mnistlab import runner
from mnistlab.errors import MnistlabError
from mnistlab.runfolder import RunFolder
from mnistlab.stages import STAGES, pieces_of

CNN_MODELS = {"cnn", "sequential_cnn", "adaptive_cnn"}


def is_cnn(stage: str) -> bool:
    return pieces_of(stage)["model"] in CNN_MODELS


@pytest.mark.slow  # trains every stage to a floor
@pytest.mark.parametrize("stage", [s.name for s in STAGES])
def test_every_stage_learns_the_sample(stage, sample_batches):
    epochs, floor = (10, 0.80) if is_cnn(stage) else (2, 0.85)
    result = mnistlab.run(stage, epochs=epochs, seed=0, data="sample", blocked=["console"])
    assert result.data == "sample"
    assert result.valid_acc > floor
    assert len(result.history) == epochs
    assert result.steps == epochs * sample_batches.train
    assert all(math.isfinite(row["train_loss"]) for row in result.history)
    assert callable(result.model)


def test_the_same_seed_gives_the_same_run_and_another_seed_does_not():
    def weights(seed):
        result = mnistlab.run("validation", epochs=1, seed=seed, data="sample", blocked=["console"])
        return torch.cat([p.detach().flatten() for p in result.model.parameters()])

    assert torch.equal(weights(3), weights(3))
    assert not torch.equal(weights(3), weights(4))


def test_unknown_settings_are_refused():
    with pytest.raises(MnistlabError, match="unknown setting"):
        mnistlab.run("fit", epoch=1)


@pytest.mark.parametrize(("setting", "message"), [
    ({"epochs": "2"}, "epochs must be a whole number, got '2' (str)"),
    ({"epochs": 1.5}, "epochs must be a whole number, got 1.5 (float)"),
    ({"bs": True}, "bs must be a whole number, got True (bool)"),
    ({"lr": "0.1"}, "lr must be a number, got '0.1' (str)"),
    ({"device": 0}, "device must be a device name such as 'cpu' or 'cuda:0', got 0 (int)"),
    ({"options": ["patience=3"]},
     "options must be a dict of option names to values, got ['patience=3'] (list)"),
    ({"deterministic": "no"}, "deterministic must be True or False, got 'no' (str)"),
])
def test_a_setting_of_the_wrong_type_is_one_line(setting, message):
    with pytest.raises(MnistlabError) as refused:
        mnistlab.run("fit", **{"epochs": 0, "data": "sample", **setting})
    assert str(refused.value) == message


def test_python_values_are_taken_as_the_command_line_gives_them(tmp_path):
    plugin = tmp_path / "quiet.py"
    plugin.write_text("from mnistlab import hookimpl\n\n@hookimpl\ndef before_run():\n"
                      "    pass\n")
    out = tmp_path / "run"  # a Path, numpy numbers, a torch.device, one plugin as a string
    result = mnistlab.run("fit", epochs=np.int64(1), lr=np.float32(0.5), data="sample",
                          device=torch.device("cpu"), plugins=plugin, blocked="console", out=out)
    assert (result.config.epochs, result.config.lr) == (1, 0.5)
    assert result.config.plugins == (str(plugin),) and result.config.blocked == ("console",)
    assert result.config.device == "cpu"
    assert RunFolder(out).holds_run()


def test_cuda_without_a_gpu_says_what_is_available():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(MnistlabError,
                       match="cuda is not available on this machine; available: cpu"):
        mnistlab.run("gpu", epochs=0, device="cuda", data="sample", blocked=["console"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_gpu_stage_trains_on_the_gpu():
    result = mnistlab.run("gpu", epochs=1, data="sample", blocked=["console"])
    assert next(result.model.parameters()).is_cuda
    assert result.valid_acc > 0.1


# --- deterministic kernels ---------------------------------------------------


def kernel_flags() -> tuple[bool, bool, bool, bool]:
    cudnn = torch.backends.cudnn
    return (torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            cudnn.deterministic, cudnn.benchmark)


class KernelFlagsSeen:
    """An observer that notes torch's determinism flags while the run trains."""

    def __init__(self) -> None:
        self.seen: list[tuple[bool, bool, bool, bool]] = []

    @mnistlab.hookimpl
    def after_epoch(self, session):
        self.seen.append(kernel_flags())


@pytest.fixture
def callers_flags():
    """Put back torch's determinism flags as they were, whatever the test set them to."""
    algorithms, warn_only, deterministic, benchmark = kernel_flags()
    yield
    torch.use_deterministic_algorithms(algorithms, warn_only=warn_only)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = benchmark


@pytest.mark.parametrize("deterministic", [True, False])
def test_a_run_trains_with_the_kernels_it_records_and_gives_the_callers_back(
        deterministic, callers_flags, tmp_path):
    # The caller's own flags, the opposite of the run's: a notebook's code, say.
    torch.use_deterministic_algorithms(not deterministic)
    torch.backends.cudnn.deterministic = not deterministic
    torch.backends.cudnn.benchmark = deterministic
    callers = kernel_flags()

    seen = KernelFlagsSeen()
    out = tmp_path / "run"
    mnistlab.run("fit", epochs=1, data="sample", deterministic=deterministic, out=str(out),
                 blocked=["console"], plugin_objects=(seen,))
    # The CPU has no nondeterministic kernel to avoid: the run leaves torch's flags alone.
    during = callers
    assert seen.seen == [during]
    assert kernel_flags() == callers

    # Resume trains with the recorded setting, not the caller's.
    assert RunFolder(out).read_record()["settings"]["deterministic"] is deterministic
    runner.resume(out, epochs=2, blocked=["console"], plugin_objects=(seen,))
    assert seen.seen == [during, during]
    assert kernel_flags() == callers
