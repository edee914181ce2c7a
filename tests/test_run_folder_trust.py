"""A run folder is a closed world: mnistlab touches only names it made, never follows a
symbolic link in it, and ``--force`` replaces a run as one transaction that a kill at any
moment leaves with the old run or the new one, usable."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import interrupt_mid_epoch, tiny_data

import mnistlab
from mnistlab import runner, swap
from mnistlab.cli import cli
from mnistlab.errors import MnistlabError
from mnistlab.runfolder import RunFolder


def quick_run(out: Path, **settings):
    return mnistlab.run("fit", **{"epochs": 1, "data": "sample", "quiet": True, "out": out,
                                  **settings})


def outside_file(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "keep.txt"
    secret.parent.mkdir()
    secret.write_text("not mnistlab's")
    return secret


@pytest.mark.parametrize("name", [".replaced", ".mnistlab-new", "plugins", "model.pt", ".lock"])
def test_a_symbolic_link_in_a_run_folder_is_refused_and_never_followed(tmp_path, name):
    folder = tmp_path / "run"
    quick_run(folder)
    secret = outside_file(tmp_path)
    link = folder / name
    if link.exists():
        os.rename(link, tmp_path / "moved-away")
    link.symlink_to(secret.parent if name != "model.pt" else secret)
    for attempt in (lambda: quick_run(folder, force=True),
                    lambda: runner.resume(folder, epochs=2, quiet=True)):
        with pytest.raises(MnistlabError, match=f"{name} is a symbolic link, which mnistlab "
                                                "never makes in a run folder"):
            attempt()
    assert secret.read_text() == "not mnistlab's"
    assert sorted(p.name for p in secret.parent.iterdir()) == ["keep.txt"]
    assert link.is_symlink()  # not ours to remove either


def test_a_symbolic_link_is_not_read_back(tmp_path):
    folder = tmp_path / "run"
    quick_run(folder)
    (folder / "metrics.csv").unlink()
    (folder / "metrics.csv").symlink_to(outside_file(tmp_path))
    with pytest.raises(MnistlabError, match="metrics.csv is a symbolic link"):
        RunFolder(folder).read_history()


def test_force_interrupted_before_its_first_epoch_leaves_the_old_run_usable_at_once(
        tmp_path):
    folder = tmp_path / "run"
    quick_run(folder)
    with pytest.raises(KeyboardInterrupt):
        quick_run(folder, epochs=2, seed=1, force=True, plugin_objects=(interrupt_mid_epoch(1),))
    # No command has run since: the old run is whole, and nothing of the new one is left.
    assert sorted(p.name for p in folder.iterdir() if p.name != ".lock") == [
        "checkpoint.pt", "config.json", "digits.png", "loss_curves.png", "metrics.csv",
        "model.pt", "scores.json"]
    result = CliRunner().invoke(cli, ["predict", str(folder), "--n", "4"])
    assert result.exit_code == 0, result.output
    assert runner.resume(folder, epochs=2, quiet=True).epochs[-1].epoch == 2


KILL_AT_RENAME = """
    import os
    import signal

    from mnistlab import hookimpl

    AT = int(os.environ.get("KILL_AT_RENAME", "0"))
    real_rename, count = os.rename, [0]

    def rename(source, target):
        if ".mnistlab-" in f"{source} {target}":  # a step of the --force swap
            count[0] += 1
            if count[0] == AT:
                os.kill(os.getpid(), signal.SIGKILL)
        real_rename(source, target)

    if AT:  # armed only in the process asked to die: runs in the tests' own process stay whole
        os.rename = rename

    @hookimpl
    def before_run():
        pass
"""


@pytest.mark.slow  # a killed mnistlab process per point of the swap
# The first move out of the old run, the rename that takes it out whole, and the last move in.
@pytest.mark.parametrize("at", [1, 7, 10])
def test_force_killed_at_any_step_of_the_swap_leaves_one_whole_run(tmp_path, at):
    killer = tmp_path / "killer.py"
    killer.write_text(textwrap.dedent(KILL_AT_RENAME))
    folder = tmp_path / "run"
    # scratch: a stage with no optimizer, so the process starts without importing torch._dynamo
    settings = dict(data=tiny_data(), quiet=True, plugins=[str(killer)], out=folder)
    mnistlab.run("scratch", epochs=1, **settings)
    killed = subprocess.run([sys.executable, "-m", "mnistlab", "run", "--stage", "scratch",
                             "--data", tiny_data(), "--quiet", "--plugin", str(killer), "--out",
                             str(folder), "--epochs", "2", "--seed", "1", "--force"],
                            env={**os.environ, "KILL_AT_RENAME": str(at)})
    assert killed.returncode == -9
    # The next command puts things right, whatever it is: here, a reader.
    run = RunFolder(folder)
    seed = run.read_record()["lesson"]["seed"]
    assert not any(os.path.lexists(folder / name) for name in swap.WORK)
    if seed == 0:  # the old run, whole
        assert run.read_checkpoint()["epoch"] == 1 and (folder / "model.pt").is_file()
    else:  # the new run, its first epoch saved, and nothing of the old one
        assert run.read_checkpoint()["epoch"] == 1 and not (folder / "model.pt").exists()
    runner.resume(folder, epochs=2, quiet=True, plugins=(str(killer),))
    assert run.read_checkpoint()["epoch"] == 2
