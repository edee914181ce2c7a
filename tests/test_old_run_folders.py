"""Run folders written before the run's record kept the lesson apart (mnistlab 0.1, stage fit,
one epoch, ``--quiet``) still resume, load and predict: ``tests/data/run-folder-0.1/``."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from click.testing import CliRunner

import mnistlab
from mnistlab import runner
from mnistlab.cli import cli
from mnistlab.runfolder import RunFolder

OLD = Path(__file__).parent / "data" / "run-folder-0.1"


def old_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "old"
    shutil.copytree(OLD, folder)
    return folder


def test_the_old_record_reads_back_as_todays_settings(tmp_path):
    record = RunFolder(old_folder(tmp_path)).read_record()
    assert "lesson" not in record and record["settings"]["out"]  # as 0.1 wrote it
    session, _ = runner.open_run(old_folder(tmp_path / "again"))
    config = session.config
    assert (config.stage, config.epochs, config.bs, config.valid_bs, config.lr) == (
        "fit", 1, 64, 128, 0.5)
    # --quiet left the printing observers out of that run; they are not part of the run.
    assert config.blocked == ()


def test_an_old_run_resumes_to_the_weights_of_an_uninterrupted_run(tmp_path, capsys):
    resumed = runner.resume(old_folder(tmp_path), epochs=2)
    assert "validation after training" in capsys.readouterr().out  # it prints, as asked now
    whole = mnistlab.run("fit", epochs=2, data="sample", quiet=True)
    # Bit for bit where the folder was written (torch 2.13 on an x86-64 CPU); another machine
    # rounds the first epoch, which the folder brings, with other kernels.
    for mine, theirs in zip(resumed.model.parameters(), whole.model.parameters(), strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-6)
    if torch.__version__.startswith("2.13.") and torch.backends.mkldnn.is_available():
        assert all(map(torch.equal, resumed.model.parameters(), whole.model.parameters()))


def test_an_old_run_loads_and_predicts(tmp_path):
    folder = old_folder(tmp_path)
    model = mnistlab.load(str(folder))
    saved = torch.load(folder / "model.pt", weights_only=True)
    assert all(torch.equal(saved[name], value) for name, value in model.state_dict().items())
    result = CliRunner().invoke(cli, ["predict", str(folder), "--n", "8"])
    assert result.exit_code == 0, result.output
    assert "accuracy: " in result.output and (folder / "predictions.png").is_file()
