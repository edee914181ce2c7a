"""Run folders: their files, atomic writes, --force, exact resume and clean interrupts."""

from __future__ import annotations

import csv
import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import mnistlab
from mnistlab import runner
from mnistlab.errors import MnistlabError
from mnistlab.runfolder import RunFolder


def quick_run(stage="fit", out=None, **settings):
    settings = {"epochs": 2, "data": "sample", "blocked": ["console"], **settings}
    return mnistlab.run(stage, out=None if out is None else str(out), **settings)


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_a_run_folder_holds_config_metrics_weights_checkpoint_and_plots(tmp_path):
    result = quick_run(out=tmp_path / "run")
    folder = tmp_path / "run"
    config = json.loads((folder / "config.json").read_text())
    assert config["stage"] == "fit"
    assert config["lesson"]["seed"] == 0 and config["lesson"]["epochs"] == 2
    assert config["versions"]["torch"] == torch.__version__
    assert config["data"]["name"] == "sample" and len(config["data"]["checksum"]) == 64
    assert ["sgd", "built-in", ["make_update"]] in config["plugins"]

    with (folder / "metrics.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["epoch", "train_loss", "valid_loss", "valid_acc", "seconds"]
    assert [int(row["epoch"]) for row in rows] == [1, 2]
    assert float(rows[-1]["valid_loss"]) == pytest.approx(result.history[-1]["valid_loss"])
    assert RunFolder(folder).read_history()[-1]["valid_loss"] == pytest.approx(result.valid_loss)

    weights = torch.load(folder / "model.pt", weights_only=True)
    assert torch.equal(weights["lin.weight"], result.model.lin.weight.detach())
    assert torch.load(folder / "checkpoint.pt", weights_only=True)["epoch"] == 2

    for name in ("loss_curves.png", "digits.png"):
        width, height = png_size(folder / name)
        assert width >= 300 and height >= 200
    assert not list(folder.glob(".*tmp"))


def test_load_rebuilds_the_trained_model(tmp_path):
    result = quick_run(out=tmp_path)
    model = mnistlab.load(tmp_path)
    x = torch.rand(5, 784)
    result.model.eval()
    assert torch.equal(model(x), result.model(x))


def test_an_existing_run_is_never_overwritten_without_force(tmp_path):
    quick_run(out=tmp_path, epochs=1)
    before = (tmp_path / "model.pt").read_bytes()
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(MnistlabError, match="already holds a run; pass --force"):
        quick_run(out=tmp_path, epochs=1, seed=1)
    assert (tmp_path / "model.pt").read_bytes() == before
    quick_run(out=tmp_path, epochs=1, seed=1, force=True)
    assert (tmp_path / "model.pt").read_bytes() != before
    assert (tmp_path / "notes.txt").read_text() == "mine"


def final_weights(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("stage", ["scratch", "fit",
                                   pytest.param("cnn", marks=pytest.mark.slow)])  # seconds
def test_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, stage, interrupt_mid_epoch):
    whole = quick_run(stage, out=tmp_path / "whole", epochs=3)
    with pytest.raises(KeyboardInterrupt):
        quick_run(stage, out=tmp_path / "cut", epochs=3, plugin_objects=(interrupt_mid_epoch(2),))
    assert RunFolder(tmp_path / "cut").read_checkpoint()["epoch"] == 1
    resumed = runner.resume(tmp_path / "cut", blocked=["console"])
    assert torch.equal(final_weights(resumed.model), final_weights(whole.model))
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    def losses(folder):
        return [(row["train_loss"], row["valid_loss"]) for row in RunFolder(folder).read_history()]

    assert losses(tmp_path / "cut") == losses(tmp_path / "whole")


@pytest.mark.slow  # starts mnistlab processes
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_epoch_leaves_only_complete_files_and_a_resumable_run(tmp_path, signum, code):
    folder = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "mnistlab", "run", "--stage", "cnn", "--epochs", "200",
         "--data", "sample", "--out", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while not (folder / "checkpoint.pt").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no epoch finished in time"
        time.sleep(0.05)
    time.sleep(0.3)  # well inside a later epoch
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == code
    assert "Traceback" not in stderr
    assert f"mnistlab run --resume {folder}" in stderr.strip().splitlines()[-1]
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    done = RunFolder(folder).read_checkpoint()["epoch"]
    assert [row["epoch"] for row in RunFolder(folder).read_history()] == list(range(1, done + 1))

    resumed = subprocess.run(
        [sys.executable, "-m", "mnistlab", "run", "--resume", str(folder), "--epochs",
         str(done + 1), "--json"],
        capture_output=True, text=True, env={**os.environ},
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout.splitlines()[-1])["history"][-1]["epoch"] == done + 1


@pytest.mark.slow  # starts mnistlab processes
def test_output_to_a_pipe_has_no_progress_bar_control_characters(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mnistlab", "run", "--stage", "dataloader", "--epochs", "2",
         "--data", "sample", "--out", str(tmp_path / "run")],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr and "\r" not in done.stdout + done.stderr
    epoch_lines = [line for line in done.stdout.splitlines() if line.split()[:1] in (["1"], ["2"])]
    assert len(epoch_lines) == 2
