"""Hostile or careless input gets one line naming the problem and the fix: data that lacks a
class, plugins that exit or declare defaults, the same plugin twice, a folder as a plugin, an
output that is closed or full, and an interrupted run's advice that must work as given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pluggy
import pytest
import torch
from click.testing import CliRunner
from helpers import interrupt_mid_epoch, tiny_data

import mnistlab
from mnistlab import hookimpl, launch, runner
from mnistlab.cli import cli
from mnistlab.errors import MnistlabError, PluginError
from mnistlab.plugin_manager import PASSES_DEFAULTS
from mnistlab.plugins import ddp_loop
from mnistlab.record import interrupted
from mnistlab.runfolder import RunFolder
from mnistlab.types import Tensors


def plugin_file(folder: Path, body: str, name: str = "mine") -> str:
    path = folder / f"{name}.py"
    path.write_text("import sys\n\nfrom mnistlab import hookimpl\n" + textwrap.dedent(body))
    return str(path)


def refused(*args: str) -> str:
    result = CliRunner().invoke(cli, ["run", "--stage", "fit", "--epochs", "1", "--data",
                                      "sample", "--no-save", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    return line.removeprefix("error: ")


class CutData:
    """Data from the sample with the training split cut down to ``keep`` rows."""

    def __init__(self, sample, keep, num_classes=10) -> None:
        self.sample, self.keep, self.num_classes = sample, keep, num_classes

    @hookimpl
    def make_data(self):
        s = self.sample
        x_train, y_train = torch.tensor(s.x_train), torch.tensor(s.y_train)
        return Tensors(x_train[self.keep], y_train[self.keep], torch.tensor(s.x_valid),
                       torch.tensor(s.y_valid), name="cut", num_classes=self.num_classes)


def test_data_that_lacks_a_class_is_refused_naming_the_data(sample):
    no_nines = torch.tensor(sample.y_train) != 9
    with pytest.raises(PluginError) as error:
        mnistlab.run("fit", epochs=1, quiet=True, plugin_objects=(CutData(sample, no_nines),))
    assert str(error.value) == (
        "plugin 'CutData' (object): the data from make_data is wrong: y_train holds no example "
        "of class 9 of the 10 that cut declares, so training could never learn it; give the "
        "training split examples of every class")


def test_labels_outside_the_declared_classes_are_refused(sample):
    with pytest.raises(PluginError, match="y_train holds the class 9, outside the classes 0 to "
                                          "8; give each example its class number, or declare "
                                          "num_classes to match"):
        mnistlab.run("fit", epochs=1, quiet=True,
                     plugin_objects=(CutData(sample, slice(None), num_classes=9),))


def test_a_plugin_that_exits_is_named_and_the_run_fails(tmp_path):
    path = plugin_file(tmp_path, """
        @hookimpl
        def make_loss():
            sys.exit(0)
    """)
    assert refused("--plugin", path) == (
        f"plugin {path!r} failed in hook make_loss: SystemExit: 0; fix the plugin or block it "
        "with --no-plugin (--debug shows the traceback)")


def test_a_plugin_that_exits_during_training_is_named(tmp_path):
    path = plugin_file(tmp_path, """
        @hookimpl
        def after_epoch():
            sys.exit(0)
    """)
    assert refused("--plugin", path).startswith(
        f"plugin {path!r} failed in hook after_epoch at line 7: SystemExit: 0")


def test_a_keyboard_interrupt_raised_by_a_plugin_is_its_failure_not_ctrl_c(tmp_path):
    path = plugin_file(tmp_path, """
        @hookimpl
        def after_batch():
            raise KeyboardInterrupt
    """)
    assert refused("--plugin", path).startswith(
        f"plugin {path!r} failed in hook after_batch at line 7: KeyboardInterrupt")
    building = plugin_file(tmp_path, """
        @hookimpl
        def make_loss():
            raise KeyboardInterrupt("no")
    """, name="building")
    with pytest.raises(PluginError, match=f"plugin {building!r} failed in hook make_loss: "
                                          "KeyboardInterrupt: no; fix the plugin"):
        mnistlab.run("fit", epochs=1, data="sample", quiet=True, plugins=[building])


def test_a_hook_argument_with_a_default_receives_the_value(tmp_path):
    path = plugin_file(tmp_path, """
        from torch import optim

        @hookimpl
        def make_update(model, config=None):
            return optim.SGD(model.parameters(), lr=config.lr / 5)
    """)
    result = CliRunner().invoke(cli, ["run", "--stage", "fit", "--epochs", "0", "--data",
                                      "sample", "--no-save", "--plugin", path])
    if not PASSES_DEFAULTS:  # an older pluggy than pyproject.toml asks for: refused, not None
        assert result.exit_code == 2 and result.stderr == (
            f"error: plugin {path!r}: hook make_update gives 'config' a default, which pluggy "
            f"{pluggy.__version__} never passes; remove the default, or install pluggy 1.7 or "
            "later\n")
        return
    assert result.exit_code == 0, result.output
    assert "update SGD(lr=0.1, momentum=0)" in result.output  # config was passed: 0.5 / 5


def test_a_pipe_given_as_a_plugin_or_as_data_is_named_for_what_it_is(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)  # opening it to read would wait for a writer forever
    assert refused("--plugin", str(pipe)) == (
        f"plugin file {str(pipe)!r} is not a regular file; check the path")
    result = CliRunner().invoke(cli, ["run", "--stage", "fit", "--no-save", "--data", str(pipe)])
    assert result.exit_code == 2 and result.stderr == (
        f"error: {pipe}: not a regular file or a folder; give a .pkl.gz or .pkl file in the "
        "tutorial's format, or a folder with the four IDX files\n")


def test_the_same_plugin_twice_and_a_folder_as_a_plugin_are_one_line(tmp_path):
    path = plugin_file(tmp_path, "@hookimpl\ndef before_run():\n    pass\n")
    assert refused("-p", path, "-p", path) == (
        f"--plugin {path!r} is given twice; give each plugin once")
    assert refused("-p", f"{tmp_path}/") == (
        f"plugin '{tmp_path}' is a folder; give a .py file, or the name of an installed module")


def test_the_advice_after_an_interrupt_names_the_runs_plugins(tmp_path):
    path = plugin_file(tmp_path, "@hookimpl\ndef before_run():\n    pass\n")
    folder = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        mnistlab.run("fit", epochs=2, data="sample", quiet=True, out=folder, plugins=[path],
                     plugin_objects=(interrupt_mid_epoch(2),))
    advice = interrupted(RunFolder(folder))
    assert advice == (f"interrupted: {folder} keeps every complete epoch; continue with "
                      f"`mnistlab run --resume {folder} --plugin {path}`")
    command = advice.split("`")[1].split()[2:]  # the command as given, less `mnistlab run`
    result = CliRunner().invoke(cli, ["run", *command, "--quiet"])
    assert result.exit_code == 0, result.output


def mnistlab_process(*args: str, cwd: Path, **options) -> subprocess.CompletedProcess:
    """``mnistlab run ARGS`` as a real process on the tiny data (where the numbers are not the
    point: what a process says and how it ends)."""
    return subprocess.run([sys.executable, "-m", "mnistlab", "run", "--data", tiny_data(),
                           *args], cwd=cwd, text=True, capture_output=True, **options)


@pytest.mark.slow  # mnistlab processes with their output closed, full or cut short
def test_a_closed_full_or_cut_output_is_quiet_or_one_line(tmp_path):
    tiny = tiny_data()  # and scratch, whose process starts fastest: the output is the point
    closed = subprocess.run(f"{sys.executable} -m mnistlab run --stage scratch --data {tiny} "
                            "--epochs 1 --no-save >&-", shell=True, cwd=tmp_path, text=True,
                            capture_output=False, stderr=subprocess.PIPE)
    assert closed.returncode == 0 and closed.stderr == ""
    with open(os.devnull if not Path("/dev/full").exists() else "/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "mnistlab", "run", "--stage", "scratch",
                               "--data", tiny, "--epochs", "1", "--no-save"], cwd=tmp_path,
                              stdout=full, stderr=subprocess.PIPE, text=True)
    if Path("/dev/full").exists():
        assert done.returncode == 2
        assert done.stderr == ("error: cannot write the run's output (No space left on "
                               "device); free some space, or send the output elsewhere\n")
    # On the sample, whose first epoch of fit lasts long enough that `head` has its line and
    # leaves before any epoch is kept: a run with a kept epoch keeps its folder, to resume.
    cut = subprocess.run(f"{sys.executable} -m mnistlab run --stage fit --data sample "
                         "--epochs 3 | head -1", shell=True, cwd=tmp_path, text=True,
                         capture_output=True)
    assert cut.stdout.startswith("data: ") and cut.stderr == ""
    assert not (tmp_path / "runs").exists()  # the folder it named, and runs/, taken back


@pytest.mark.parametrize(("call", "message"), [
    (lambda: mnistlab.run(123), "stage must be a stage name from `mnistlab stages` (a string), "
                                "got 123 (int)"),
    (lambda: mnistlab.run("fit", plugins=123), "plugins must be a list of names or paths, got "
                                               "123 (int)"),
    (lambda: mnistlab.run("fit", quiet="yes"), "quiet must be True or False, got 'yes' (str)"),
    (lambda: mnistlab.run("fit", plugin_objects="abc"),
     "plugin_objects must be a list of plugin objects (modules or instances), got 'abc' (str)"),
    (lambda: mnistlab.load(42), "run_dir must be a path (a string or a pathlib.Path), got 42 "
                                "(int)"),
    (lambda: mnistlab.load("x", plugins=5), "plugins must be a list of plugin paths or module "
                                            "names, got 5 (int)"),
])
def test_a_public_function_names_the_argument_of_the_wrong_type(call, message):
    with pytest.raises(TypeError) as error:
        call()
    assert str(error.value) == message and isinstance(error.value, MnistlabError)


@pytest.mark.parametrize(("field", "value", "why"), [
    ("epoch", -3, "field 'epoch' is -3, not a count"),
    ("step", 2**80, f"field 'step' is {2**80}, not a count"),
    ("history", [{"epoch": 1, "train_loss": "low"}], "field 'history' holds a damaged row for "
                                                     "epoch 1"),
    ("history", [], "field 'history' does not hold the 1 epoch saved"),
    ("stopped", 7, "field 'stopped' is 7, not a reason"),
])
def test_a_checkpoint_with_hostile_values_is_one_line_naming_the_field(tmp_path, field, value,
                                                                       why):
    folder = tmp_path / "run"
    mnistlab.run("fit", epochs=1, data="sample", quiet=True, out=folder)
    state = torch.load(folder / "checkpoint.pt", weights_only=True)
    state[field] = value
    torch.save(state, folder / "checkpoint.pt")
    with pytest.raises(MnistlabError) as error:
        runner.resume(folder, epochs=2, quiet=True)
    assert str(error.value) == (f"checkpoint.pt in {str(folder)!r} does not fit this run of "
                                f"stage fit ({why}); the run folder is damaged")


def test_a_batch_larger_than_the_data_is_one_line():
    assert refused("--bs", "100000") == (
        "batch size 100000 is larger than the 4000 training examples of sample; use --bs 4000 "
        "or less (4000: one batch of all)")


@pytest.mark.parametrize(("bs", "which"), [
    ("1", "each batch holds 1 row"),
    ("3", "the last batch of an epoch (4000 rows) holds 1 row"),
])
def test_batches_that_cannot_be_shared_among_processes_are_refused_before_any_starts(bs,
                                                                                     which):
    result = CliRunner().invoke(cli, ["run", "--stage", "distributed", "--data", "sample",
                                      "--nproc", "2", "--bs", bs])
    assert result.exit_code == 2
    assert result.stderr == (f"error: --bs {bs} cannot be shared among --nproc 2 processes: "
                             f"{which}, fewer than the processes; use a --bs of at least 2 "
                             "that leaves no last batch of fewer than 2 rows, or fewer "
                             "processes\n")


def test_a_model_trained_in_eval_mode_that_diverges_is_told_to_train(tmp_path):
    path = plugin_file(tmp_path, """
        from torch import nn

        @hookimpl
        def make_model():
            return nn.Sequential(nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(),
                                 nn.Linear(32, 10))

        @hookimpl
        def make_loop():
            def epoch(session):
                session.model.eval()  # the mistake: training in eval mode
                for xb, yb in session.batches("train"):
                    loss = session.loss_func(session.model(xb), yb)
                    (loss * float("inf")).backward()
                    session.opt.step()
                    session.opt.zero_grad()
            return epoch
    """)
    assert refused("--plugin", path) == (
        "the training loss became nan in epoch 1, batch 2, with the model's BatchNorm1d layers "
        "in eval mode; call model.train() before the training batches (and model.eval() only "
        "for validation)")


@pytest.mark.slow  # two training processes under torchrun, stopped by a signal
def test_a_signal_stops_every_process_of_a_distributed_run_with_one_line(tmp_path):
    started = subprocess.Popen(
        [sys.executable, "-m", "mnistlab", "run", "--stage", "distributed", "--data",
         tiny_data(), "--epochs", "5000", "--nproc", "2", "--out", "run"], cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in started.stdout:  # wait until the processes train
        if line.lstrip().startswith("2 "):
            break
    started.terminate()
    # Well before torchrun's own 30 s, after which it kills what did not end.
    out, err = started.communicate(timeout=20)
    assert started.returncode == 143
    assert err == ("interrupted: run keeps every complete epoch; continue with `mnistlab run "
                   "--resume run --nproc 2`\n")


def test_the_process_that_failed_is_blamed_not_one_torchrun_stopped_after_it(tmp_path):
    from torch.distributed.elastic.multiprocessing.errors import ProcessFailure

    def failure(rank, status):  # no error file: stamped now, in whole seconds, so all tie
        return ProcessFailure(rank, pid=1000 + rank, exitcode=status,
                              error_file=str(tmp_path / "none.json"))

    assert launch._cause({0: failure(0, 143), 1: failure(1, 3)}) == (1, 3)
    assert launch._cause({0: failure(0, -15), 1: failure(1, -9)}) == (1, -9)
    # A refusal says why itself; the process torchrun stopped after it is not to blame.
    assert launch._cause({0: failure(0, launch.REFUSED), 1: failure(1, -15)}) == (
        0, launch.REFUSED)
    assert launch._cause({0: failure(0, launch.REFUSED), 1: failure(1, 3)}) == (1, 3)


@pytest.mark.slow  # two processes under torchrun, each given other data
def test_processes_that_would_walk_different_batches_are_refused_together(tmp_path):
    plugin_file(tmp_path, """
        import os

        import torch

        from mnistlab import data
        from mnistlab.types import Tensors

        @hookimpl
        def make_data():
            s = data.load("sample")
            keep = 4000 if os.environ["RANK"] == "0" else 3968
            arrays = (s.x_train[:keep], s.y_train[:keep], s.x_valid, s.y_valid)
            return Tensors(*map(torch.tensor, arrays), name="uneven", num_classes=10)
    """, name="uneven")
    done = mnistlab_process("--stage", "distributed", "--epochs", "1", "--nproc", "2",
                            "--plugin", "uneven.py", "--no-save", cwd=tmp_path)
    refusal = ("the processes hold training sets or batch sizes of different sizes, so they "
               "would walk different batches; give every process the same data and --bs")
    # Both refuse; whichever ends first, torchrun stops the other. A refusal says why itself.
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] in (f"error: {refusal}", f"error (process 1): {refusal}")
    assert not lines[-1].endswith("torchrun stopped the others")


@pytest.mark.slow  # two processes under torchrun, one of which refuses mid-epoch
def test_a_refusal_on_one_process_reaches_every_process_at_once(tmp_path):
    plugin_file(tmp_path, """
        import os

        from mnistlab.errors import MnistlabError

        @hookimpl
        def after_batch(step):
            if os.environ.get("RANK") == "1" and step == 2:
                raise MnistlabError("rank 1 refuses")
    """, name="refuse")
    # The others wait on collectives that time out after a minute (plugins/ddp_loop.py): well
    # before that, torchrun sees the refused process end and stops them.
    done = mnistlab_process("--stage", "distributed", "--epochs", "2", "--nproc", "2",
                            "--plugin", "refuse.py", "--out", "run", cwd=tmp_path,
                            timeout=ddp_loop.TIMEOUT.total_seconds() * 0.75)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0] in (
        "error (process 1): rank 1 refuses",
        "error: another process of this run was lost (it ended or was killed) while this one "
        "waited on it; the run stops here")
    assert "error (process 1): rank 1 refuses" in done.stderr.splitlines()


@pytest.mark.parametrize(("edit", "why"), [
    (lambda record: record["lesson"].update(epochs=-3), "epochs must be 0 or more, got -3"),
    (lambda record: record["lesson"].update(bs=0), "bs must be at least 1, got 0"),
    (lambda record: record["lesson"].update(lr=float("inf")),
     "learning rate must be a positive number, got inf"),
])
def test_a_config_with_hostile_values_is_one_line_naming_the_file(tmp_path, edit, why):
    folder = tmp_path / "run"
    mnistlab.run("fit", epochs=1, data="sample", quiet=True, out=folder)
    record = json.loads((folder / "config.json").read_text())
    edit(record)
    (folder / "config.json").write_text(json.dumps(record))
    with pytest.raises(MnistlabError) as error:
        mnistlab.load(folder)
    assert str(error.value) == (f"config.json in {str(folder)!r} is damaged ({why}); run the "
                                "stage again")


@pytest.mark.parametrize(("row", "why"), [
    ("1,inf,,,0.5", "row 1, field train_loss is inf"),
    ("3,0.5,,,0.5", "row 1, field epoch is 3"),
    ("1,0.5,-1,,0.5", "row 1, field valid_loss is -1.0"),
])
def test_metrics_no_run_writes_are_one_line_naming_the_row(tmp_path, row, why):
    folder = tmp_path / "run"
    mnistlab.run("fit", epochs=1, data="sample", quiet=True, out=folder)
    path = folder / "metrics.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n" + row + "\n")
    result = CliRunner().invoke(cli, ["compare", str(folder)])
    assert result.exit_code == 2
    assert result.stderr == (f"error: {path}: {why}, which no run writes; the run folder is "
                             "damaged\n")
