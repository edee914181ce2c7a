"""A run folder on disk: what it holds, how it is named and claimed (the lock, a folder that
is not a run's, --force, an interrupted run), writes that survive a signal, kill -9 and a full
disk, and damaged files read back as one line.

The runs train on the tiny data and draw blank pictures (``blank_pictures``): what is tested
here is the folder, not the numbers or the pictures in it.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import (
    interrupt_mid_epoch,
    invoke,
    mnistlab_process,
    png_size,
    quick_run,
    refused,
    tiny_data,
    write_plugin,
)

from mnistlab import runner, swap
from mnistlab.errors import MnistlabError
from mnistlab.lockfile import LockFile
from mnistlab.record import interrupted
from mnistlab.runfolder import RunFolder

pytestmark = pytest.mark.usefixtures("blank_pictures")

# --- what a run folder holds ----------------------------------------------------------------


def test_a_run_folder_holds_config_metrics_weights_checkpoint_and_plots(tmp_path):
    folder = tmp_path / "run"
    result = quick_run(out=folder, epochs=2)
    config = json.loads((folder / "config.json").read_text())
    assert config["stage"] == "fit"
    assert config["lesson"]["seed"] == 0 and config["lesson"]["epochs"] == 2
    assert config["versions"]["torch"] == torch.__version__
    assert config["data"]["name"] == tiny_data() and len(config["data"]["checksum"]) == 64
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
    scores = json.loads((folder / "scores.json").read_text())  # the validation after training
    assert scores == {"valid_loss": result.valid_loss, "valid_acc": result.valid_acc,
                      "steps": result.steps, "train_seconds": result.seconds}
    assert RunFolder(folder).read_scores() == scores

    for name in ("loss_curves.png", "digits.png"):  # test_look.py looks at what they show
        png_size(folder / name)
    assert not list(folder.glob(".*tmp"))


# --- naming and claiming --------------------------------------------------------------------


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


FAILING_PLUGINS = {
    "refused": """
        from mnistlab import hookimpl

        @hookimpl
        def make_loss():
            return "not a loss"
    """,
    "interrupted": """
        import signal

        from mnistlab import hookimpl

        @hookimpl
        def after_batch(step):
            if step == 3:
                signal.raise_signal(signal.SIGINT)  # Ctrl-C
    """,
}


@pytest.mark.parametrize("failure", FAILING_PLUGINS)
def test_a_run_that_keeps_no_epoch_leaves_no_folder_of_its_own_naming(tmp_path, monkeypatch,
                                                                      failure):
    monkeypatch.chdir(tmp_path)
    plugin = write_plugin(tmp_path, FAILING_PLUGINS[failure])
    command = ["run", "--stage", "fit", "--epochs", "1", "--data", tiny_data(), "--plugin",
               plugin]
    result = invoke(*command)
    assert result.exit_code == (2 if failure == "refused" else 130), result.output
    if failure == "interrupted":
        assert result.stderr.strip() == ("interrupted before the first epoch ended: nothing to "
                                         "keep; run again")
    # runs/fit-... is made only when the run claims it, and taken back when it keeps no epoch
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []
    if failure == "interrupted":  # a folder given with --out is the user's, and stays
        invoke(*command, "--out", "mine")
        assert (tmp_path / "mine").is_dir() and not RunFolder(tmp_path / "mine").holds_run()


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
    assert refused("run", "--stage", "fit", "--data", tiny_data(), "--out", "") == (
        "the run folder path is empty or the current folder; name a new folder with --out")
    assert list(tmp_path.iterdir()) == []


def test_an_out_folder_that_cannot_be_made_is_named(tmp_path):
    (tmp_path / "a-file").write_text("")
    line = refused("run", "--stage", "fit", "--epochs", "1", "--data", tiny_data(), "--out",
                   str(tmp_path / "a-file" / "run"))
    assert line.startswith(f"cannot write the run folder '{tmp_path}/a-file/run'")
    assert "choose a writable place with --out" in line


@pytest.mark.slow  # a second mnistlab process holds the folder while this one tries it
def test_two_runs_into_one_folder_at_once_never_mix(tmp_path):
    folder, release = tmp_path / "same", tmp_path / "release"
    hold = write_plugin(tmp_path, f"""
        import time
        from pathlib import Path
        from mnistlab import hookimpl

        @hookimpl
        def after_epoch():
            # Keeps the folder busy until the second run has tried it (a minute at most).
            deadline = time.monotonic() + 60
            while not Path({str(release)!r}).exists() and time.monotonic() < deadline:
                time.sleep(0.01)
    """, name="hold")
    command = ["run", "--stage", "scratch", "--epochs", "3", "--data", tiny_data(), "--out",
               str(folder), "--quiet", "--plugin", hold, "--seed"]
    first = subprocess.Popen([sys.executable, "-m", "mnistlab", *command, "1"],
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (folder / "config.json").exists():  # the first holds the folder
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    second = refused(*command, "2")  # in this process: the lock is the other process's
    release.touch()
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert second == (f"run folder {str(folder)!r} is in use by another mnistlab run; wait for "
                      "it to end, or choose another --out")
    record = json.loads((folder / "config.json").read_text())
    assert record["lesson"]["seed"] == 1
    assert RunFolder(folder).read_checkpoint()["epoch"] == 3


def test_no_lock_file_is_left_when_a_run_ends_however_it_ends(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder)  # finished
    assert not (folder / ".lock").exists()
    with pytest.raises(MnistlabError, match="already holds a run"):  # refused
        quick_run(out=folder)
    assert not (folder / ".lock").exists()
    with pytest.raises(KeyboardInterrupt):  # interrupted
        quick_run(out=folder, epochs=2, force=True, plugin_objects=(interrupt_mid_epoch(2),))
    assert not (folder / ".lock").exists()
    plugin = write_plugin(tmp_path, FAILING_PLUGINS["refused"])  # failed
    with pytest.raises(MnistlabError):
        quick_run(out=tmp_path / "other", plugins=[plugin])
    assert not (tmp_path / "other" / ".lock").exists()


def test_a_lock_file_left_by_a_killed_run_goes_with_the_next_command(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder)
    (folder / ".lock").write_text("")  # SIGKILL leaves the file; the kernel drops the lock
    assert RunFolder(folder).read_history()  # a reader puts the folder right
    assert not (folder / ".lock").exists()


def test_a_held_lock_keeps_a_run_out_and_its_file_stays_until_let_go(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder)
    with LockFile(folder / ".lock"):  # another process's run, as far as this one can tell
        with pytest.raises(MnistlabError, match="is in use by another mnistlab run"):
            quick_run(out=folder, force=True)
        assert (folder / ".lock").is_file()
    assert not (folder / ".lock").exists()


# --- --force, and runs interrupted ----------------------------------------------------------


def test_an_existing_run_is_never_overwritten_without_force(tmp_path):
    quick_run(out=tmp_path)
    before = (tmp_path / "model.pt").read_bytes()
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(MnistlabError, match="already holds a run; pass --force"):
        quick_run(out=tmp_path, seed=1)
    assert (tmp_path / "model.pt").read_bytes() == before
    quick_run(out=tmp_path, seed=1, force=True)
    assert (tmp_path / "model.pt").read_bytes() != before
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_force_interrupted_before_an_epoch_keeps_the_old_run(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder)
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


def test_interrupted_before_the_first_epoch_leaves_no_dead_end(tmp_path):
    folder = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        quick_run(out=folder, epochs=2, plugin_objects=(interrupt_mid_epoch(1),))
    assert not RunFolder(folder).holds_run()
    assert interrupted(RunFolder(folder)) == (
        f"interrupted before the first epoch ended: nothing to keep in {folder}; run again")
    quick_run(out=folder)  # the same command again, without --force
    assert RunFolder(folder).read_checkpoint()["epoch"] == 1


def test_stale_temporary_files_are_cleaned_on_resume(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder)
    stale = folder / ".mnistlab-checkpoint.pt.x1y2.tmp"
    stale.write_bytes(b"half")
    mine = folder / ".draft.tmp"  # a name mnistlab never makes is never deleted
    mine.write_bytes(b"my notes")
    (folder / "x.tmp").mkdir()
    runner.resume(folder, epochs=2, blocked=["console"])
    assert not stale.exists()
    assert mine.read_bytes() == b"my notes" and (folder / "x.tmp").is_dir()


def _take_ctrl_c() -> None:
    """Let the child turn SIGINT into KeyboardInterrupt, as Python does when SIGINT is not
    ignored at its start; a shell ignores it in a job started in the background."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow  # a real process, and a real signal sent to it
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_epoch_leaves_only_complete_files_and_a_resumable_run(tmp_path, signum, code):
    # On the sample, where a cnn epoch lasts long enough for the signal to land inside one.
    folder = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "mnistlab", "run", "--stage", "cnn", "--epochs", "200",
         "--data", "sample", "--out", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_take_ctrl_c,
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

    resumed = invoke("run", "--resume", str(folder), "--epochs", str(done + 1), "--json")
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads(resumed.stdout.splitlines()[-1])["history"][-1]["epoch"] == done + 1


# --- atomic writes: kill -9 and a full disk -------------------------------------------------

KILLER = """
    import os
    import signal

    from mnistlab import hookimpl

    # Armed only when asked: the resumed run loads the same file (same hash) and must live.
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

    if POINT:
        os.fsync, os.replace = fsync, replace

    @hookimpl
    def before_run():
        pass
"""


@pytest.fixture(scope="module")
def uninterrupted_weights() -> dict[str, torch.Tensor]:
    """The final weights of three epochs of fit on the tiny data, never interrupted."""
    model = quick_run(epochs=3).model
    return {key: value.detach() for key, value in model.state_dict().items()}


@pytest.mark.slow  # kills a real process with SIGKILL at three points
@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
@pytest.mark.parametrize("point", ["before_fsync", "before_replace", "after_replace"])
def test_kill_9_at_each_point_of_a_checkpoint_write_resumes_exactly(tmp_path, point,
                                                                    uninterrupted_weights):
    killer = write_plugin(tmp_path, KILLER, name="killer")
    folder = tmp_path / "killed"
    killed = mnistlab_process("run", "--data", tiny_data(), "--quiet", "--plugin", killer,
                              "--stage", "fit", "--epochs", "3", "--out", str(folder),
                              env={**os.environ, "KILL_POINT": point})
    assert killed.returncode == -9
    kept = RunFolder(folder).read_checkpoint()["epoch"]
    assert kept == (2 if point == "after_replace" else 1)
    # metrics.csv never lists an epoch that cannot be resumed.
    assert [row["epoch"] for row in RunFolder(folder).read_history()] == list(range(1, 2))
    resumed = invoke("run", "--resume", str(folder), "--plugin", killer, "--quiet")
    assert resumed.exit_code == 0, resumed.stderr
    assert not list(folder.glob(".*.tmp"))
    final = torch.load(folder / "model.pt", weights_only=True)
    assert all(torch.equal(final[key], uninterrupted_weights[key])
               for key in uninterrupted_weights)
    assert [row["epoch"] for row in RunFolder(folder).read_history()] == [1, 2, 3]


def _small_disk() -> None:
    """Let the child write files of at most 20 kB, as a nearly full disk would."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write with EFBIG instead of dying
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


@pytest.mark.slow  # limits the file size of a real process
def test_a_full_disk_is_one_line_and_leaves_only_complete_files(tmp_path):
    data = tiny_data()  # the data exists already; only the run folder is written
    out = tmp_path / "run"
    done = mnistlab_process("run", "--stage", "scratch", "--epochs", "2", "--data", data, "--out",
                            str(out), cwd=tmp_path, preexec_fn=_small_disk, env={**os.environ})
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot write {out}/checkpoint.pt (File too large)")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "metrics.csv"]
    assert RunFolder(out).read_history() == []
    assert RunFolder(out).read_record()["stage"] == "scratch"


# --- damaged files are one line -------------------------------------------------------------


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 truncated", os.urandom(2048)])
@pytest.mark.parametrize("name", ["checkpoint.pt", "model.pt"])
def test_a_damaged_weights_file_is_one_line(tmp_path, name, damage):
    folder = tmp_path / "run"
    quick_run(out=folder)
    (folder / name).write_bytes(damage)
    command = ("run", "--resume", str(folder), "--epochs", "2") if name == "checkpoint.pt" else (
        "predict", str(folder))
    line = refused(*command)
    assert line == (f"{folder / name} cannot be read as saved weights (UnpicklingError); the "
                    "run folder is damaged: run the stage again") or "cannot be read" in line
    assert "weights_only=False" not in line


@pytest.mark.parametrize("edit", [
    lambda record: record.pop("settings"),
    lambda record: record["lesson"].update(bs="many"),
    lambda record: record.update(stage="nope"),
])
def test_an_edited_config_is_one_line(tmp_path, edit):
    folder = tmp_path / "run"
    quick_run(out=folder)
    record = json.loads((folder / "config.json").read_text())
    edit(record)
    (folder / "config.json").write_text(json.dumps(record))
    refused("predict", str(folder))


def test_compare_on_a_damaged_folder_is_one_line(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder)
    (folder / "metrics.csv").write_text("epoch,train_loss\n1,lots\n")
    assert "is not a metrics file" in refused("compare", str(folder))
