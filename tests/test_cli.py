"""The command line: every command's happy path and its one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from mnistlab import __version__
from mnistlab.cli import cli
from mnistlab.stages import STAGE_NAMES


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """`mnistlab run` writes runs/... into the working folder: keep it out of the repository."""
    monkeypatch.chdir(tmp_path)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_help_does_not_import_torch():
    code = ("import sys\nfrom mnistlab.cli import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\nprint('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


@pytest.mark.parametrize("command", [[], ["run"], ["stages"], ["diff"], ["plugins"], ["data"],
                                     ["data", "list"], ["data", "fetch"], ["compare"], ["show"],
                                     ["predict"]])
def test_every_command_has_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_version():
    assert __version__ in invoke("--version").output


def test_run_prints_the_data_then_one_line_per_epoch_then_json(sample_batches):
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
    result = invoke("run", "--stage", "scratch", "--epochs", "1", "--data", "sample")
    assert "last batch: loss" in result.output
    assert "validation after training: loss" in result.output


def test_the_default_epochs_match_the_tutorials_examples_and_say_so():
    # --bs 4000: one step an epoch, so 25 epochs take a moment.
    result = invoke("run", "--stage", "scratch", "--data", "sample", "--bs", "4000", "--quiet",
                    "--json", "--no-save")
    assert json.loads(result.output)["epochs"] == 25
    result = invoke("run", "--stage", "scratch", "--data", "sample", "--bs", "4000",
                    "--no-save")
    assert "25 epochs: as many examples as the tutorial's" in result.output


def test_quiet_prints_only_the_json():
    result = invoke("run", "--stage", "dataset", "--epochs", "1", "--data", "sample",
                    "--quiet", "--json")
    assert len(result.output.strip().splitlines()) == 1


def test_trace_names_each_hook_and_its_plugins():
    result = CliRunner().invoke(cli, ["run", "--stage", "optim", "--epochs", "0", "--data",
                                      "sample", "--trace"])
    assert "[trace] make_update: filled by sgd with a SGD" in result.stderr
    assert "[trace] before_run: console" in result.stderr


def test_an_unknown_stage_exits_2_and_suggests_the_closest():
    result = CliRunner().invoke(cli, ["run", "--stage", "dataloder"])
    assert result.exit_code == 2
    assert "did you mean 'dataloader'" in result.stderr


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--bs", "0", "0 is not in the range x>=1"),
    ("--epochs", "-1", "-1 is not in the range x>=0"),
    ("--lr", "abc", "'abc' is not a valid float"),
])
def test_bad_numbers_are_refused_with_the_valid_range(option, value, message):
    result = CliRunner().invoke(cli, ["run", "--stage", "fit", option, value])
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.slow  # starts mnistlab processes
def test_a_broken_plugin_exits_2_in_one_line_without_a_traceback(tmp_path):
    plugin = tmp_path / "broken.py"
    plugin.write_text("raise ImportError('missing dependency')\n")
    done = subprocess.run(
        [sys.executable, "-m", "mnistlab", "run", "--stage", "fit", "--plugin", str(plugin)],
        capture_output=True, text=True,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: plugin {str(plugin)!r} failed to import: ImportError: missing dependency"
    ]


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
    result = CliRunner().invoke(cli, ["diff", "scratch"])
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
