"""The command line: every command's happy path, its output, and its one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from helpers import invoke, mnistlab_process, refused, tiny_data, write_plugin

from mnistlab import __version__
from mnistlab.stages import DEFAULT_STAGE, STAGE_NAMES
from mnistlab.words import plural

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
    # 256 training rows in batches of 100: the last batch holds 56.
    result = invoke("run", "--stage", "scratch", "--epochs", "1", "--bs", "100", "--data",
                    tiny_data(), "--no-save", "--json")
    found = re.search(r"  last batch of 56 digits: (\d+) right, loss ([\d.]+)$", result.output,
                      re.M)
    assert found, result.output
    last = json.loads(result.output.splitlines()[-1])["history"][-1]
    assert int(found[1]) == round(last["last_batch_acc"] * 56)
    assert float(found[2]) == pytest.approx(last["last_batch_loss"], abs=1e-4)
    assert "validation after training: loss" in result.output


def test_the_default_epochs_match_the_tutorials_examples_and_say_so():
    # The default depends on the data only; one batch per epoch keeps the 25 epochs short.
    result = invoke("run", "--stage", "scratch", "--data", "sample", "--bs", "4000", "--json",
                    "--no-save")
    assert json.loads(result.output.splitlines()[-1])["epochs"] == 25
    assert "25 epochs: as many examples as the tutorial's" in result.output


def test_run_without_a_stage_trains_the_default_stage_and_says_so_in_one_line():
    result = invoke("run", "--epochs", "1", "--data", tiny_data(), "--no-save", "--json")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (f"no --stage given: training the {DEFAULT_STAGE} stage "
                        "(`mnistlab stages` lists them all)")
    assert lines[1].startswith("data: ")
    assert json.loads(lines[-1])["stage"] == DEFAULT_STAGE
    quiet = invoke("run", "--epochs", "1", "--data", tiny_data(), "--no-save", "--quiet")
    assert quiet.exit_code == 0 and quiet.output == ""
    assert f"[default: {DEFAULT_STAGE}]" in invoke("run", "--help").output


# "1 epochs", "1 steps": a one, then a plural noun (not a noun ending in ss, like "class").
ONE_THEN_PLURAL = re.compile(r"(?<![\d.,])\b1 [a-z]*[a-rt-z]s\b")


def test_counts_of_one_are_singular(tmp_path):
    # One epoch of one step: the whole tiny training split in one batch.
    command = ["run", "--stage", "scratch", "--epochs", "1", "--bs", "256", "--data", tiny_data()]
    done = invoke(*command, "--out", str(tmp_path / "run"))
    assert "stage scratch: 1 epoch, bs 256" in done.output and "(1 step, " in done.output
    resumed = invoke("run", "--resume", str(tmp_path / "run"))
    assert "nothing to train: the run's 1 epoch is done" in resumed.output
    refused_lines = [refused("run", "--resume", str(tmp_path / "run"), "--epochs", "0"),
                     refused("show", "--data", "sample", "--index", "4000")]
    assert "has trained 1 epoch;" in refused_lines[0]
    assert refused_lines[1].startswith("digit 4000 does not exist: there are 4,000 sample train")
    for output in (done.output, resumed.output, *refused_lines):
        assert ONE_THEN_PLURAL.findall(output) == [], output
    assert ONE_THEN_PLURAL.findall("1 epochs, 1 steps, 1 class, 0.1 s, 21 epochs") == [
        "1 epochs", "1 steps"]


@pytest.mark.parametrize(("count", "words"), [(0, "0 epochs"), (1, "1 epoch"), (2, "2 epochs")])
def test_plural_agrees_with_the_count(count, words):
    assert plural(count, "epoch") == words
    assert plural(count * 2000, "process", "processes", spec=",") == (
        "0 processes", "2,000 processes", "4,000 processes")[count]


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
    command = ["run", "--stage", "fit", "--epochs", "1", "--data", tiny_data(), "--plugin", path]
    for where, args in (("before", ["--debug", *command]), ("after", [*command, "--debug"])):
        done = invoke(*args, "--out", str(tmp_path / where))
        assert done.exit_code == 2
        assert "Traceback" in done.stderr and "ValueError: boom" in done.stderr


def test_debug_is_taken_after_any_command_and_its_help_says_so(tmp_path):
    # `data list` is a command of a group: it takes --debug as well.
    assert invoke("data", "list", "--data-dir", str(tmp_path), "--debug").exit_code == 0
    done = invoke("diff", "scratch", "--debug")  # a MnistlabError: the first stage swaps nothing
    assert done.exit_code == 2 and "Traceback" in done.stderr
    for command in ([], ["run"], ["data", "fetch"], ["show"]):
        words = " ".join(invoke(*command, "--help").output.split())  # as click wraps them
        assert "--debug Show Python tracebacks for errors (before or after the command's name)" \
            in words


@pytest.mark.slow  # a real process writing into a real pipe, which is no terminal
def test_output_to_a_pipe_has_no_progress_bar_control_characters(tmp_path):
    done = mnistlab_process("run", "--stage", "scratch", "--epochs", "2", "--data",
                            tiny_data(), "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr and "\r" not in done.stdout + done.stderr
    epoch_lines = [line for line in done.stdout.splitlines() if line.split()[:1] in (["1"], ["2"])]
    assert len(epoch_lines) == 2


@pytest.mark.slow  # a real process whose pipe the reader closes
def test_a_closed_pipe_ends_quietly(tmp_path):
    done = subprocess.run(
        f"{sys.executable} -m mnistlab run --stage scratch --data {tiny_data()} --epochs 300 "
        f"--out {tmp_path / 'run'} | head -1", shell=True, capture_output=True, text=True)
    # Epochs enough that the run still prints when `head` has its line and leaves.
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
