"""The command line: every command's happy path, its output, and its one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import invoke, mnistlab_process, refused, tiny_data, write_plugin

from mnistlab import __version__
from mnistlab.stages import STAGE_NAMES

# `mnistlab run` keeps each run in runs/STAGE-...: its pictures are not the point here.
pytestmark = pytest.mark.usefixtures("blank_pictures")


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """`mnistlab run` writes runs/... into the working folder: keep it out of the repository."""
    monkeypatch.chdir(tmp_path)


def test_help_does_not_import_torch():
    code = ("import sys\nfrom mnistlab.cli import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\nprint('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


@pytest.mark.parametrize("command", [[], ["run"], ["stages"], ["diff"], ["plugins"], ["data"],
                                     ["data", "list"], ["data", "fetch"], ["compare"], ["show"],
                                     ["predict"], ["export"]])
def test_every_command_has_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_version():
    assert __version__ in invoke("--version").output


# --- run ------------------------------------------------------------------------------------


def test_run_prints_the_data_then_one_line_per_epoch_then_json(sample_batches):
    # On the sample, whose accuracy after two epochs the JSON must show.
    result = invoke("run", "--stage", "fit", "--epochs", "2", "--data", "sample", "--json",
                    "--no-save")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("data: sample")
    summary = json.loads(lines[-1])
    assert summary["stage"] == "fit" and summary["data"] == "sample" and summary["seed"] == 0
    assert summary["epochs"] == 2 and summary["steps"] == 2 * sample_batches.train
    assert [row["epoch"] for row in summary["history"]] == [1, 2]
    assert 0.8 < summary["valid_acc"] <= 1
    assert summary["train_seconds"] > 0
    epoch_lines = [line for line in lines if line.split()[:1] in (["1"], ["2"])]
    assert len(epoch_lines) == 2


def test_early_stages_print_the_tutorials_last_batch_numbers_and_a_labelled_validation():
    result = invoke("run", "--stage", "scratch", "--epochs", "1", "--data", tiny_data())
    assert "last batch: loss" in result.output
    assert "validation after training: loss" in result.output


def test_the_default_epochs_match_the_tutorials_examples_and_say_so():
    # The default depends on the data only; one batch per epoch keeps the 25 epochs short.
    result = invoke("run", "--stage", "scratch", "--data", "sample", "--bs", "4000", "--json",
                    "--no-save")
    assert json.loads(result.output.splitlines()[-1])["epochs"] == 25
    assert "25 epochs: as many examples as the tutorial's" in result.output


def test_quiet_prints_only_the_json():
    result = invoke("run", "--stage", "dataset", "--epochs", "1", "--data", tiny_data(),
                    "--quiet", "--json")
    assert len(result.output.strip().splitlines()) == 1


def test_an_unknown_stage_exits_2_and_suggests_the_closest():
    result = invoke("run", "--stage", "dataloder")
    assert result.exit_code == 2
    assert "did you mean 'dataloader'" in result.stderr


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--bs", "0", "0 is not in the range x>=1"),
    ("--epochs", "-1", "-1 is not in the range x>=0"),
    ("--lr", "abc", "'abc' is not a valid float"),
])
def test_bad_numbers_are_refused_with_the_valid_range(option, value, message):
    result = invoke("run", "--stage", "fit", option, value)
    assert result.exit_code == 2
    assert message in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    path = write_plugin(tmp_path, """
        from mnistlab import hookimpl

        @hookimpl
        def before_run():
            raise ValueError("boom")
    """, name="flaky")
    line = refused("run", "--stage", "fit", "--epochs", "1", "--data", tiny_data(), "--out",
                   str(tmp_path / "run"), "--plugin", path)
    assert "ValueError: boom" in line  # one line without --debug
    done = invoke("--debug", "run", "--stage", "fit", "--epochs", "1", "--data", tiny_data(),
                  "--out", str(tmp_path / "debugged"), "--plugin", path)
    assert done.exit_code == 2
    assert "Traceback" in done.stderr and "ValueError: boom" in done.stderr


@pytest.mark.slow  # a real process writing into a real pipe, which is no terminal
def test_output_to_a_pipe_has_no_progress_bar_control_characters(tmp_path):
    done = mnistlab_process("run", "--stage", "dataloader", "--epochs", "2", "--data",
                            tiny_data(), "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr and "\r" not in done.stdout + done.stderr
    epoch_lines = [line for line in done.stdout.splitlines() if line.split()[:1] in (["1"], ["2"])]
    assert len(epoch_lines) == 2


@pytest.mark.slow  # a real process whose pipe the reader closes
def test_a_closed_pipe_ends_quietly(tmp_path):
    done = subprocess.run(
        f"{sys.executable} -m mnistlab run --stage fit --data {tiny_data()} --epochs 3 "
        f"--out {tmp_path / 'run'} | head -1", shell=True, capture_output=True, text=True)
    assert done.stdout.startswith("data: ")
    assert done.stderr == ""


# --- stages, diff, plugins, data ------------------------------------------------------------


def test_stages_lists_every_stage_and_marks_the_swap():
    result = invoke("stages")
    for name in STAGE_NAMES:
        assert name in result.output
    assert "*cross_entropy" in result.output and "*wrapped_loader" in result.output


def test_diff_shows_what_a_stage_swaps():
    result = invoke("diff", "cnn")
    assert result.output.startswith("--- plugins/linear_model.py\n+++ plugins/cnn.py\n")
    added = "+        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)"
    assert added in result.output


def test_diff_of_the_first_stage_explains_why_there_is_none():
    result = invoke("diff", "scratch")
    assert result.exit_code == 2
    assert "first stage" in result.stderr


def test_plugins_lists_builtins_and_their_hooks():
    result = invoke("plugins", "--stage", "fit")
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "make_update" in rows["sgd"] and "built-in" in rows["sgd"]
    assert "slicing" not in rows
    assert "slicing" in invoke("plugins").output


def test_data_list_shows_the_sample_and_the_downloadable_sets(tmp_path):
    result = invoke("data", "list", "--data-dir", str(tmp_path))
    assert result.exit_code == 0
    assert "sample" in result.output
    assert "mnist" in result.output and "not downloaded" in result.output
