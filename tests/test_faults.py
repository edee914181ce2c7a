"""Faults during a run: each gives one clear line, exit status 2, and loses nothing on disk."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mnistlab
from mnistlab.data import load
from mnistlab.errors import MnistlabError, PluginError
from mnistlab.runfolder import RunFolder


def mnistlab_cli(*args: str, cwd: Path, **popen: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mnistlab", *args], capture_output=True,
                          text=True, cwd=cwd, **popen)


def plugin(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


@pytest.mark.slow  # starts mnistlab processes
def test_an_exception_in_an_observer_names_plugin_and_hook_and_keeps_completed_epochs(tmp_path):
    path = plugin(tmp_path, "flaky", """
        from mnistlab import hookimpl

        @hookimpl
        def after_epoch(result):
            if result.epoch == 2:
                raise ZeroDivisionError("division by zero")
    """)
    out = tmp_path / "run"
    done = mnistlab_cli("run", "--stage", "fit", "--epochs", "3", "--data", "sample", "--out",
                        str(out), "--plugin", path, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"error: plugin {path!r} failed in hook after_epoch at line 7: ZeroDivisionError: "
        "division by zero; fix the plugin or block it with --no-plugin (--debug shows the "
        "traceback)"
    )
    assert [row["epoch"] for row in RunFolder(out).read_history()] == [1]
    assert RunFolder(out).read_checkpoint()["epoch"] == 1


def test_an_exception_in_a_plugins_model_names_the_plugin_and_its_hook(tmp_path):
    path = plugin(tmp_path, "badmodel", """
        from torch import nn
        from mnistlab import hookimpl

        class Broken(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(784, 10)

            def forward(self, xb):
                return self.lin(xb.view(-1, 28))

        @hookimpl
        def make_model():
            return Broken()
    """)
    with pytest.raises(PluginError, match=r"plugin .*badmodel.py' \(--plugin\): the model fails "
                                          r"on the inputs that plugin 'dataloader' hands out at "
                                          r"this stage, shaped \(128, 784\): RuntimeError"):
        mnistlab.run("fit", epochs=1, data="sample", plugins=[path], blocked=["console"])


@pytest.mark.slow  # starts mnistlab processes
def test_debug_shows_the_traceback(tmp_path):
    path = plugin(tmp_path, "flaky", """
        from mnistlab import hookimpl

        @hookimpl
        def before_run():
            raise ValueError("boom")
    """)
    done = mnistlab_cli("--debug", "run", "--stage", "fit", "--epochs", "1", "--data", "sample",
                        "--out", str(tmp_path / "run"), "--plugin", path, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" in done.stderr and "ValueError: boom" in done.stderr


def test_a_model_that_is_not_callable_is_refused(tmp_path):
    path = plugin(tmp_path, "notamodel", """
        from mnistlab import hookimpl

        @hookimpl
        def make_model():
            return "a string"
    """)
    with pytest.raises(MnistlabError, match=r"notamodel.py' \(--plugin\) returned str from "
                                            r"make_model, which is not callable"):
        mnistlab.run("fit", epochs=1, data="sample", plugins=[path], blocked=["console"])


@pytest.mark.slow  # starts mnistlab processes
def test_a_diverging_loss_names_epoch_and_batch_and_suggests_a_smaller_lr(tmp_path):
    done = mnistlab_cli("run", "--stage", "cnn", "--lr", "1e6", "--data", "sample", "--out",
                        str(tmp_path / "run"), cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: the training loss became ")
    assert "in epoch 1, batch " in line and "learning rate 1e+06 is too large" in line
    assert line.endswith("the tutorial uses --lr 0.1")


def test_a_loss_that_turns_nan_later_keeps_the_last_good_checkpoint(tmp_path, sample_batches):
    path = plugin(tmp_path, "nan_later", f"""
        import torch
        import torch.nn.functional as F
        from mnistlab import hookimpl

        calls = [0]

        def loss(scores, target):
            # Calls with gradients on: the runner's check before training, then each
            # training batch (validation runs without gradients).
            calls[0] += torch.is_grad_enabled()
            value = F.cross_entropy(scores, target)
            return value * float("nan") if calls[0] == {1 + sample_batches.train + 9} else value

        @hookimpl
        def make_loss():
            return loss
    """)
    out = tmp_path / "run"
    # The 9th training batch of epoch 2.
    with pytest.raises(MnistlabError,
                       match=rf"in epoch 2, batch 9: .*try --lr 0.05; {out} keeps epoch 1$"):
        mnistlab.run("fit", epochs=3, data="sample", plugins=[path], out=str(out),
                     blocked=["console"])
    assert RunFolder(out).read_checkpoint()["epoch"] == 1
    assert [row["epoch"] for row in RunFolder(out).read_history()] == [1]


@pytest.mark.slow  # starts mnistlab processes
def test_an_out_folder_that_cannot_be_made_is_named(tmp_path):
    (tmp_path / "a-file").write_text("")
    done = mnistlab_cli("run", "--stage", "fit", "--epochs", "1", "--data", "sample", "--out",
                        str(tmp_path / "a-file" / "run"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: cannot write the run folder '{tmp_path}/a-file/run'")
    assert "choose a writable place with --out" in done.stderr


def _small_disk() -> None:
    """Let the child write files of at most 20 kB, as a nearly full disk would."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write with EFBIG instead of dying
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


@pytest.mark.slow  # starts mnistlab processes
def test_a_full_disk_is_one_line_and_leaves_only_complete_files(tmp_path):
    load("sample")  # the data cache exists already; only the run folder is written
    out = tmp_path / "run"
    done = mnistlab_cli("run", "--stage", "fit", "--epochs", "2", "--data", "sample", "--out",
                        str(out), cwd=tmp_path, preexec_fn=_small_disk, env={**os.environ})
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot write {out}/checkpoint.pt (File too large)")
    assert sorted(p.name for p in out.iterdir()) == [".lock", "config.json", "metrics.csv"]
    assert RunFolder(out).read_history() == []
    assert RunFolder(out).read_record()["stage"] == "fit"
