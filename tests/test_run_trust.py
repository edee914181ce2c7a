"""Run folders you can trust: no code runs from a folder, nothing is lost, resume is exact or
refuses, and every bad input is one line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import mnistlab
from mnistlab import runner, swap
from mnistlab.cli import cli
from mnistlab.errors import MnistlabError
from mnistlab.record import file_sha256, interrupted
from mnistlab.runfolder import RunFolder

ROOT = Path(__file__).resolve().parent.parent
EARLY_STOPPING = str(ROOT / "examples" / "early_stopping.py")


def quick_run(stage="fit", out=None, **settings):
    settings = {"epochs": 2, "data": "sample", "blocked": ["console"], **settings}
    return mnistlab.run(stage, out=None if out is None else str(out), **settings)


def refused(*args: str) -> str:
    """The one error line of a command that must be refused with exit status 2."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line[len("error: "):]


def write(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text))
    return str(path)


# --- no code runs from a folder ------------------------------------------------------------


@pytest.fixture
def evil(tmp_path: Path) -> tuple[Path, Path]:
    """A plugin file that leaves a marker when imported, and that marker's path."""
    marker = tmp_path / "it-ran"
    path = tmp_path / "evil.py"
    write(path, f"""
        from pathlib import Path
        Path({str(marker)!r}).write_text("code from a run folder ran")
    """)
    return path, marker


def edit_config_to_name(folder: Path, plugin: Path) -> None:
    record = json.loads((folder / "config.json").read_text())
    record["settings"]["plugins"] = [str(plugin)]
    record["user_plugins"] = [{"spec": str(plugin), "sha256": file_sha256(plugin),
                               "copy": "plugins/1-evil.py"}]
    (folder / "config.json").write_text(json.dumps(record))


def test_a_plugin_named_in_an_edited_config_never_runs(tmp_path, evil):
    path, marker = evil
    folder = tmp_path / "shared"
    quick_run(out=folder, epochs=1)
    edit_config_to_name(folder, path)
    message = (f"the run in {str(folder)!r} used the plugin {str(path)!r} (its copy is "
               "plugins/1-evil.py there); a run folder never runs code by itself: pass the "
               "file again with --plugin")
    with pytest.raises(MnistlabError) as error:
        mnistlab.load(str(folder))
    assert str(error.value) == message
    assert refused("predict", str(folder)) == message
    assert refused("run", "--resume", str(folder), "--epochs", "2") == message
    assert not marker.exists()


def test_a_run_keeps_a_copy_and_hash_of_each_plugin_and_wants_the_same_file_again(tmp_path):
    plugin = tmp_path / "adam.py"
    write(plugin, """
        from torch import optim
        from mnistlab import hookimpl

        @hookimpl
        def make_update(model):
            return optim.Adam(model.parameters(), lr=1e-3)
    """)
    folder = tmp_path / "run"
    quick_run(out=folder, epochs=1, plugins=[str(plugin)])
    record = json.loads((folder / "config.json").read_text())
    (entry,) = record["user_plugins"]
    assert entry == {"spec": str(plugin), "sha256": file_sha256(plugin),
                     "copy": "plugins/1-adam.py"}
    assert (folder / entry["copy"]).read_bytes() == plugin.read_bytes()

    assert isinstance(mnistlab.load(str(folder), plugins=[str(plugin)]), torch.nn.Module)
    predicted = CliRunner().invoke(cli, ["predict", str(folder), "--plugin", str(plugin),
                                         "--n", "4"])
    assert predicted.exit_code == 0, predicted.output
    plugin.write_text(plugin.read_text().replace("1e-3", "1e-2"))
    assert refused("predict", str(folder), "--plugin", str(plugin)).startswith(
        f"plugin {str(plugin)!r} differs from {str(plugin)!r}, which the run in "
        f"{str(folder)!r} used (sha256 {entry['sha256'][:12]}...")


def test_a_folder_that_names_plugins_without_their_hashes_is_refused(tmp_path, evil):
    path, marker = evil
    folder = tmp_path / "old"
    quick_run(out=folder, epochs=1)
    edit_config_to_name(folder, path)
    record = json.loads((folder / "config.json").read_text())
    del record["user_plugins"]  # as a run folder from before the hashes were kept
    (folder / "config.json").write_text(json.dumps(record))
    message = (f"the run in {str(folder)!r} used --plugin {path}, but its config.json keeps no "
               "hash to check a file against (an older mnistlab wrote it); start a new run "
               "with those plugins")
    assert refused("run", "--resume", str(folder), "--epochs", "2") == message
    assert refused("predict", str(folder), "--plugin", str(path)) == message
    assert not marker.exists()


# --- nothing is lost or mixed --------------------------------------------------------------


@pytest.mark.slow  # starts mnistlab processes
def test_two_runs_into_one_folder_at_once_never_mix(tmp_path):
    folder = tmp_path / "same"
    slow = write(tmp_path / "slow.py", """
        import time
        from mnistlab import hookimpl

        @hookimpl
        def after_epoch():
            time.sleep(2)  # keeps the folder busy while the second run starts
    """)
    command = [sys.executable, "-m", "mnistlab", "run", "--stage", "fit", "--epochs", "3",
               "--data", "sample", "--out", str(folder), "--quiet", "--plugin", slow, "--seed"]
    first = subprocess.Popen([*command, "1"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (folder / "config.json").exists():  # the first holds the folder
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    second = subprocess.run([*command, "2"], capture_output=True, text=True)
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert second.returncode == 2
    assert second.stderr.strip().splitlines() == [
        f"error: run folder {str(folder)!r} is in use by another mnistlab run; wait for it to "
        "end, or choose another --out"]
    record = json.loads((folder / "config.json").read_text())
    assert record["lesson"]["seed"] == 1
    assert RunFolder(folder).read_checkpoint()["epoch"] == 3


def test_default_run_folders_started_in_the_same_second_differ(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(time, "strftime", lambda pattern: "20260101-000000")
    names = []
    for _ in range(3):
        folder = RunFolder.new("fit")
        folder._make_new()
        names.append(folder.path.as_posix())
    assert names == ["runs/fit-20260101-000000", "runs/fit-20260101-000000-2",
                     "runs/fit-20260101-000000-3"]


@pytest.mark.parametrize("force", [False, True])
def test_a_folder_of_other_files_is_never_written_into(tmp_path, force):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "model.pt").write_bytes(b"my own weights")
    with pytest.raises(MnistlabError, match="is not empty and holds no mnistlab run; choose a "
                                            "new or empty folder with --out"):
        quick_run(out=folder, force=force)
    assert (folder / "model.pt").read_bytes() == b"my own weights"
    assert [path.name for path in folder.iterdir()] == ["model.pt"]  # not even a lock file


def test_an_empty_out_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert refused("run", "--stage", "fit", "--data", "sample", "--out", "") == (
        "the run folder path is empty or the current folder; name a new folder with --out")
    assert list(tmp_path.iterdir()) == []


def test_force_interrupted_before_an_epoch_keeps_the_old_run(tmp_path, interrupt_mid_epoch):
    folder = tmp_path / "run"
    quick_run(out=folder, epochs=1)
    before = {name: (folder / name).read_bytes() for name in ("config.json", "model.pt")}
    with pytest.raises(KeyboardInterrupt):
        quick_run(out=folder, epochs=2, seed=1, force=True,
                  plugin_objects=(interrupt_mid_epoch(1),))
    assert {name: (folder / name).read_bytes() for name in before} == before
    assert not (folder / swap.STAGED).exists()
    # Once the new run has an epoch, the old one is gone for good.
    with pytest.raises(KeyboardInterrupt):
        quick_run(out=folder, epochs=2, seed=1, force=True,
                  plugin_objects=(interrupt_mid_epoch(2),))
    assert json.loads((folder / "config.json").read_text())["lesson"]["seed"] == 1
    assert not (folder / "model.pt").exists() and RunFolder(folder).read_checkpoint()["epoch"] == 1


def test_stale_temporary_files_are_cleaned_on_resume(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder, epochs=1)
    stale = folder / ".mnistlab-checkpoint.pt.x1y2.tmp"
    stale.write_bytes(b"half")
    mine = folder / ".draft.tmp"  # a name mnistlab never makes is never deleted
    mine.write_bytes(b"my notes")
    (folder / "x.tmp").mkdir()
    runner.resume(folder, epochs=2, blocked=["console"])
    assert not stale.exists()
    assert mine.read_bytes() == b"my notes" and (folder / "x.tmp").is_dir()


def test_interrupted_before_the_first_epoch_leaves_no_dead_end(tmp_path, interrupt_mid_epoch):
    folder = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        quick_run(out=folder, epochs=2, plugin_objects=(interrupt_mid_epoch(1),))
    assert not RunFolder(folder).holds_run()
    assert interrupted(RunFolder(folder)) == (
        f"interrupted before the first epoch ended: nothing to keep in {folder}; run again")
    quick_run(out=folder, epochs=1)  # the same command again, without --force
    assert RunFolder(folder).read_checkpoint()["epoch"] == 1


FAILING_PLUGINS = {
    "refused": """
        from mnistlab import hookimpl

        @hookimpl
        def make_loss():
            return "not a loss"
    """,
    "interrupted": """
        from mnistlab import hookimpl

        @hookimpl
        def after_batch(step):
            if step == 3:
                raise KeyboardInterrupt
    """,
}


@pytest.mark.parametrize("failure", FAILING_PLUGINS)
def test_a_run_that_keeps_no_epoch_leaves_no_folder_of_its_own_naming(tmp_path, monkeypatch,
                                                                      failure):
    monkeypatch.chdir(tmp_path)
    plugin = write(tmp_path / "mine.py", FAILING_PLUGINS[failure])
    command = ["run", "--stage", "fit", "--epochs", "1", "--data", "sample", "--plugin", plugin]
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == (2 if failure == "refused" else 130), result.output
    if failure == "interrupted":
        assert result.stderr.strip() == ("interrupted before the first epoch ended: nothing to "
                                         "keep; run again")
    # runs/fit-... is made only when the run claims it, and taken back when it keeps no epoch
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []
    if failure == "interrupted":  # a folder given with --out is the user's, and stays
        CliRunner().invoke(cli, [*command, "--out", "mine"])
        assert (tmp_path / "mine").is_dir() and not RunFolder(tmp_path / "mine").holds_run()


# --- resume is exact or refuses ------------------------------------------------------------


def test_early_stopping_resumes_exactly_and_a_stopped_run_stays_stopped(tmp_path,
                                                                       interrupt_mid_epoch):
    # lr 5 makes the validation loss jump about, so early stopping ends the run early.
    settings = {"epochs": 30, "lr": 5.0, "plugins": [EARLY_STOPPING]}
    whole = quick_run(out=tmp_path / "whole", **settings)
    assert len(whole.epochs) < 30
    with pytest.raises(KeyboardInterrupt):
        quick_run(out=tmp_path / "cut", plugin_objects=(interrupt_mid_epoch(3),), **settings)
    resumed = runner.resume(tmp_path / "cut", plugins=[EARLY_STOPPING], blocked=["console"])
    assert [e.epoch for e in resumed.epochs] == [e.epoch for e in whole.epochs]
    for a, b in zip(resumed.model.parameters(), whole.model.parameters(), strict=True):
        assert torch.equal(a, b)

    again = runner.resume(tmp_path / "whole", plugins=[EARLY_STOPPING], blocked=["console"])
    assert again.steps == whole.steps and len(again.epochs) == len(whole.epochs)
    assert torch.equal(torch.load(tmp_path / "whole" / "model.pt")["lin.weight"],
                       whole.model.lin.weight)


def test_a_longer_resume_is_recorded(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder, epochs=1)
    runner.resume(folder, epochs=3, blocked=["console"])
    assert json.loads((folder / "config.json").read_text())["lesson"]["epochs"] == 3
    again = runner.resume(folder, blocked=["console"])
    assert [e.epoch for e in again.epochs] == [1, 2, 3]


def test_resume_prints_as_its_own_command_says_not_as_the_first_one_did(tmp_path):
    folder = str(tmp_path / "run")
    quiet = CliRunner().invoke(cli, ["run", "--stage", "fit", "--epochs", "1", "--data",
                                     "sample", "--out", folder, "--quiet"])
    assert quiet.exit_code == 0 and quiet.stdout == ""
    resumed = CliRunner().invoke(cli, ["run", "--resume", folder, "--epochs", "2"])
    assert resumed.exit_code == 0, resumed.output
    assert re.search(r"^    2 +\d", resumed.stdout, re.M)  # the epoch it trained, on screen
    finished = CliRunner().invoke(cli, ["run", "--resume", folder])
    assert "nothing to train: all 2 epochs are done (pass --epochs N to train longer)" in (
        finished.stdout)


def test_resume_refuses_fewer_epochs_than_it_has_trained(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder, epochs=2)
    before = (folder / "config.json").read_bytes()
    assert refused("run", "--resume", str(folder), "--epochs", "1") == (
        f"the run in {str(folder)!r} has trained 2 epochs; --epochs 1 would train none: pass "
        "more than 2 to train longer, or leave --epochs out")
    assert (folder / "config.json").read_bytes() == before  # the record still says 2


def test_resume_refuses_settings_it_cannot_honour(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder, epochs=1)
    assert refused("run", "--resume", str(folder), "--lr", "0.1", "--bs", "32") == (
        f"--resume continues {folder} with its recorded settings, which --lr, --bs would "
        "change; drop them, or start a new run with --out")


def test_resume_refuses_data_that_changed(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder, epochs=1)
    record = json.loads((folder / "config.json").read_text())
    record["data"]["checksum"] = "0" * 64
    (folder / "config.json").write_text(json.dumps(record))
    with pytest.raises(MnistlabError, match="differs from the data the run in .* trained on"):
        runner.resume(folder, epochs=2, blocked=["console"])


# --- damaged folders and bad inputs are one line -------------------------------------------


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 truncated", os.urandom(2048)])
@pytest.mark.parametrize("name", ["checkpoint.pt", "model.pt"])
def test_a_damaged_weights_file_is_one_line(tmp_path, name, damage):
    folder = tmp_path / "run"
    quick_run(out=folder, epochs=1)
    (folder / name).write_bytes(damage)
    command = ("run", "--resume", str(folder), "--epochs", "2") if name == "checkpoint.pt" else (
        "predict", str(folder))
    line = refused(*command)
    assert line == (f"{folder / name} cannot be read as saved weights (UnpicklingError); the "
                    "run folder is damaged: run the stage again") or "cannot be read" in line
    assert "weights_only=False" not in line


def test_a_checkpoint_of_another_stage_is_one_line(tmp_path):
    quick_run("cnn", out=tmp_path / "cnn", epochs=1)
    quick_run(out=tmp_path / "fit", epochs=1)
    shutil.copy(tmp_path / "cnn" / "checkpoint.pt", tmp_path / "fit" / "checkpoint.pt")
    assert refused("run", "--resume", str(tmp_path / "fit"), "--epochs", "2") == (
        f"checkpoint.pt in {str(tmp_path / 'fit')!r} does not fit this run of stage fit "
        "(RuntimeError); the run folder is damaged")


@pytest.mark.parametrize("edit", [
    lambda record: record.pop("settings"),
    lambda record: record["lesson"].update(bs="many"),
    lambda record: record.update(stage="nope"),
])
def test_an_edited_config_is_one_line(tmp_path, edit):
    folder = tmp_path / "run"
    quick_run(out=folder, epochs=1)
    record = json.loads((folder / "config.json").read_text())
    edit(record)
    (folder / "config.json").write_text(json.dumps(record))
    refused("predict", str(folder))


def test_compare_on_a_damaged_folder_is_one_line(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder, epochs=1)
    (folder / "metrics.csv").write_text("epoch,train_loss\n1,lots\n")
    assert "is not a metrics file" in refused("compare", str(folder))


@pytest.mark.parametrize(("args", "message"), [
    (("--seed", str(2**64)), f"seed must be in [0, 2**64), got {2**64}"),
    (("--device", "mps"), "--device mps: mps is not available on this machine; available: cpu"),
    (("--device", "xpu"), "--device xpu: xpu is not available on this machine; available: cpu"),
    (("--device", "cuda:7"), "--device cuda:7: cuda is not available on this machine"),
])
def test_impossible_settings_are_one_line(tmp_path, args, message):
    if torch.cuda.is_available() and "cuda" in args[-1]:
        message = "--device cuda:7: cuda has only"
    line = refused("run", "--stage", "gpu", "--data", "sample", "--epochs", "0", "--out",
                   str(tmp_path / "run"), *args)
    assert line.startswith(message)


def test_an_empty_split_is_one_line(tmp_path):
    plugin = write(tmp_path / "empty.py", """
        import torch
        from mnistlab import hookimpl
        from mnistlab.types import Tensors

        @hookimpl
        def make_data():
            x, y = torch.rand(100, 784), torch.randint(0, 10, (100,))
            return Tensors(x, y, x[:0], y[:0], name="tiny")
    """)
    assert refused("run", "--stage", "fit", "--plugin", plugin, "--out",
                   str(tmp_path / "run")) == (
        "the valid split of tiny is empty; give data with examples in both splits")


def test_a_plugin_calling_sys_exit_is_no_success(tmp_path):
    plugin = write(tmp_path / "quitter.py", """
        import sys
        from mnistlab import hookimpl

        @hookimpl
        def after_epoch():
            sys.exit(0)
    """)
    line = refused("run", "--stage", "fit", "--data", "sample", "--epochs", "2", "--plugin",
                   plugin, "--out", str(tmp_path / "run"))
    assert line.startswith(f"plugin {plugin!r} failed in hook after_epoch at line 7: "
                           "SystemExit: 0")


@pytest.mark.slow  # starts mnistlab processes
def test_a_closed_pipe_ends_quietly(tmp_path):
    done = subprocess.run(
        f"{sys.executable} -m mnistlab run --stage fit --data sample --epochs 3 "
        f"--out {tmp_path / 'run'} | head -1", shell=True, capture_output=True, text=True)
    assert done.stdout.startswith("data: ")
    assert done.stderr == ""


KILLER = """
    import os
    import signal

    from mnistlab import hookimpl

    # Armed only when asked, so that the resumed run (same file, same hash) lives.
    POINT = os.environ.get("KILL_POINT")
    real_fsync, real_replace = os.fsync, os.replace
    reached = {"before_fsync": 0, "before_replace": 0, "after_replace": 0}

    def arrive(point, name):
        if point == POINT and "checkpoint.pt" in name:
            reached[point] += 1
            if reached[point] == 2:  # during the second epoch's checkpoint
                os.kill(os.getpid(), signal.SIGKILL)

    def fsync(fd):
        arrive("before_fsync", os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def replace(source, target):
        arrive("before_replace", str(target))
        real_replace(source, target)
        arrive("after_replace", str(target))

    os.fsync, os.replace = fsync, replace

    @hookimpl
    def before_run():
        pass
"""


@pytest.mark.slow  # six mnistlab processes
@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
@pytest.mark.parametrize("point", ["before_fsync", "before_replace", "after_replace"])
def test_kill_9_at_each_point_of_a_checkpoint_write_resumes_exactly(tmp_path, point):
    killer = write(tmp_path / "killer.py", KILLER)
    command = [sys.executable, "-m", "mnistlab", "run", "--data", "sample", "--quiet",
               "--plugin", killer]
    whole = subprocess.run([*command, "--stage", "fit", "--epochs", "3", "--out",
                            str(tmp_path / "whole")], capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr
    folder = tmp_path / "killed"
    killed = subprocess.run([*command, "--stage", "fit", "--epochs", "3", "--out", str(folder)],
                            capture_output=True, text=True,
                            env={**os.environ, "KILL_POINT": point})
    assert killed.returncode == -9
    kept = RunFolder(folder).read_checkpoint()["epoch"]
    assert kept == (2 if point == "after_replace" else 1)
    # metrics.csv never lists an epoch that cannot be resumed.
    assert [row["epoch"] for row in RunFolder(folder).read_history()] == list(range(1, 2))
    resumed = subprocess.run([sys.executable, "-m", "mnistlab", "run", "--resume", str(folder),
                              "--plugin", killer, "--quiet"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert not list(folder.glob(".*.tmp"))
    final = torch.load(folder / "model.pt", weights_only=True)
    expected = torch.load(tmp_path / "whole" / "model.pt", weights_only=True)
    assert all(torch.equal(final[key], expected[key]) for key in expected)
    assert [row["epoch"] for row in RunFolder(folder).read_history()] == [1, 2, 3]


def test_compare_into_an_unwritable_place_is_one_line(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder, epochs=1)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = refused("compare", str(folder), "--out", str(blocker / "curves.png"))
    assert "a-file" in line and "Traceback" not in line
