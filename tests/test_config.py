"""A run's settings: unknown names, wrong types and impossible values are one line; Python
values are taken as the command line gives them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import quick_run, refused, tiny_data, write_plugin

import mnistlab
from mnistlab.errors import MnistlabError
from mnistlab.runfolder import RunFolder


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
    with pytest.raises(MnistlabError) as refused_setting:
        mnistlab.run("fit", **{"epochs": 0, "data": "sample", **setting})
    assert str(refused_setting.value) == message


@pytest.mark.usefixtures("blank_pictures")
def test_python_values_are_taken_as_the_command_line_gives_them(tmp_path):
    plugin = Path(write_plugin(tmp_path, """
        from mnistlab import hookimpl

        @hookimpl
        def before_run():
            pass
    """, name="quiet"))
    out = tmp_path / "run"  # Paths, numpy numbers, a torch.device, one plugin not in a list
    result = mnistlab.run("fit", epochs=np.int64(1), lr=np.float32(0.5), data=tiny_data(),
                          device=torch.device("cpu"), plugins=plugin, blocked="console", out=out)
    assert (result.config.epochs, result.config.lr) == (1, 0.5)
    assert result.config.plugins == (str(plugin),) and result.config.blocked == ("console",)
    assert result.config.device == "cpu"
    assert RunFolder(out).holds_run()


@pytest.mark.parametrize(("args", "message"), [
    (("--seed", str(2**64)), f"seed must be in [0, 2**64), got {2**64}"),
    (("--device", "mps"), "--device mps: mps is not available on this machine; available: cpu"),
    (("--device", "xpu"), "--device xpu: xpu is not available on this machine; available: cpu"),
    (("--device", "cuda:7"), "--device cuda:7: cuda is not available on this machine"),
])
def test_impossible_settings_are_one_line(tmp_path, args, message):
    if torch.cuda.is_available() and "cuda" in args[-1]:
        message = "--device cuda:7: cuda has only"
    line = refused("run", "--stage", "gpu", "--data", tiny_data(), "--epochs", "0", "--out",
                   str(tmp_path / "run"), *args)
    assert line.startswith(message)


def test_cuda_without_a_gpu_says_what_is_available():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(MnistlabError,
                       match="cuda is not available on this machine; available: cpu"):
        quick_run("gpu", epochs=0, device="cuda")
