"""The distributed stage: N processes on torch.distributed end where one process ends.

Two processes (gloo, on the CPU) each train on half of every global batch. Their per-step
losses and final weights must match one process's within float rounding: the only difference
is the order in which the two halves' losses and gradients are summed. Measured over two epochs
on the sample: at most 2.1e-7 relative per step and 5.7e-7 absolute on a weight; the test trains
two epochs of the tiny data (1.0e-7 and 6.3e-8 there, measured) and allows 1e-5 relative and
1e-5 absolute, about fifty times the sample's. The distributed page shows the drift over longer
runs.

The tests that start processes through torchrun are in the slow tier; the refusals and the
process group of one run in this process.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import (
    TINY_BATCHES,
    invoke,
    mnistlab_process,
    quick_run,
    refused,
    tiny_data,
    without_seconds,
)

from mnistlab import runfolder
from mnistlab.errors import MnistlabError
from mnistlab.runfolder import RunFolder

STEPS = """
    import os
    from mnistlab import Option, hookimpl

    @hookimpl
    def plugin_options():
        return [Option("steps_file", "", "a file to append each step's training loss to")]

    @hookimpl
    def after_batch(session, loss):
        if os.environ.get("RANK", "0") == "0":
            with open(session.config.options["steps_file"], "a") as file:
                file.write(f"{loss!r}\\n")
"""


def mnistlab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``mnistlab run ARGS`` as a real process, on the tiny data unless it resumes."""
    data_option = () if "--resume" in args else ("--data", tiny_data())
    return mnistlab_process("run", *data_option, *args, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def one_and_two(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The distributed stage for two epochs, as one process (this one) and as two."""
    folder = tmp_path_factory.mktemp("distributed")
    steps = folder / "steps.py"
    steps.write_text(textwrap.dedent(STEPS))
    quick_run("distributed", epochs=2, out=folder / "one", plugins=[str(steps)],
              options={"steps_file": str(folder / "one.txt")})
    two = mnistlab("--stage", "distributed", "--epochs", "2", "--out", "two", "--plugin",
                   "steps.py", "--set", "steps_file=two.txt", "--nproc", "2", "--json",
                   cwd=folder)
    assert two.returncode == 0, two.stderr
    (folder / "two.stdout").write_text(two.stdout)
    return folder


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / "model.pt", weights_only=True)


@pytest.mark.slow  # two torchrun processes and their launcher
def test_two_processes_end_where_one_ends(one_and_two):
    one, two = (np.loadtxt(one_and_two / f"{name}.txt") for name in ("one", "two"))
    assert len(one) == len(two) == 2 * TINY_BATCHES.train
    np.testing.assert_allclose(two, one, rtol=1e-5, atol=0)
    a, b = weights(one_and_two / "one"), weights(one_and_two / "two")
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-5)


@pytest.mark.slow  # two torchrun processes and their launcher
def test_only_rank_0_prints_and_writes_one_complete_run_folder(one_and_two):
    printed = (one_and_two / "two.stdout").read_text()
    assert printed.count("validation after training") == 1
    folder = one_and_two / "two"
    assert {"config.json", "metrics.csv", "checkpoint.pt", "model.pt", "digits.png"} <= {
        path.name for path in folder.iterdir()}
    assert [row["epoch"] for row in RunFolder(folder).read_history()] == [1, 2]
    record = json.loads((folder / "config.json").read_text())
    assert record["pieces"]["loop"] == {"plugin": "ddp_loop", "origin": "built-in"}


DIE_IN_EPOCH_2 = f"""
    import os
    from mnistlab import hookimpl

    @hookimpl
    def after_batch(session, step):  # in the run's first launch, not when it is resumed
        if os.environ.get("RANK") == "1" and session.first_epoch == 1 and step == {
            TINY_BATCHES.train + 2}:
            os._exit(3)
"""


@pytest.mark.slow  # two runs of two torchrun processes: one loses a process, one resumes it
def test_a_lost_process_stops_every_process_and_the_run_resumes_exactly(one_and_two, tmp_path):
    (tmp_path / "die.py").write_text(textwrap.dedent(DIE_IN_EPOCH_2))
    died = mnistlab("--stage", "distributed", "--epochs", "3", "--out", "run", "--nproc", "2",
                    "--plugin", "die.py", cwd=tmp_path)
    assert died.returncode == 3
    said_by_process_0, said_by_launcher = died.stderr.splitlines()
    # Process 0 either waits on the lost one first or is stopped by torchrun first: both true,
    # and neither blames the loop.
    assert said_by_process_0 in (
        "error: another process of this run was lost (it ended or was killed) while this one "
        "waited on it; the run stops here",
        "interrupted: run keeps every complete epoch; continue with `mnistlab run --resume run "
        "--plugin die.py --nproc 2`")
    assert said_by_launcher == (
        "error: process 1 of 2 failed (exit status 3); torchrun stopped the others")
    assert RunFolder(tmp_path / "run").read_checkpoint()["epoch"] == 1
    resumed = mnistlab("--resume", "run", "--epochs", "2", "--nproc", "2", "--plugin", "die.py",
                       cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    a, b = weights(one_and_two / "two"), weights(tmp_path / "run")
    assert all(torch.equal(a[key], b[key]) for key in a)  # as if never cut


@pytest.mark.slow  # the exported script under torchrun: two processes and their launcher
def test_the_exported_script_under_torchrun_prints_what_run_nproc_prints(one_and_two, tmp_path):
    # The two-process run of `one_and_two`, as a plain script: each process trains on 32 rows
    # of every 64-row batch, and the first prints the results.
    assert invoke("export", "--stage", "distributed", "--epochs", "2", "--data", tiny_data(),
                  "--out", str(tmp_path)).exit_code == 0
    script = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
              "2", "distributed.py"]
    done = subprocess.run(script, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.count('{"stage"') == 1
    ran = (one_and_two / "two.stdout").read_text().splitlines()[-1]
    assert without_seconds(json.loads(done.stdout.splitlines()[-1])) == without_seconds(
        json.loads(ran))


def test_nproc_is_for_the_distributed_stage(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # refused before anything is written, whatever happens
    assert refused("run", "--stage", "fit", "--nproc", "2", "--data", tiny_data()) == (
        "--nproc trains the distributed stage, not fit; use --stage distributed")


def test_a_one_process_stage_under_torchrun_is_refused_before_it_trains(monkeypatch, tmp_path):
    # What torchrun tells each of its processes; the fit stage's loop never joins them.
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    out = tmp_path / "run"
    with pytest.raises(MnistlabError) as refusal:
        quick_run(out=out)
    assert str(refusal.value) == (
        "stage fit: torchrun started 2 processes, but its loop (plugin 'fit_loop') trains "
        "without joining them, so each would train the whole run alone; run it without "
        "torchrun, or use --stage distributed, whose loop shares every batch among the "
        "processes")
    assert not (out / runfolder.CHECKPOINT).exists()


@pytest.mark.usefixtures("blank_pictures")
def test_a_run_under_torchrun_leaves_its_process_group_before_it_exits(monkeypatch, tmp_path):
    # What torchrun tells a single process: the run joins a real group of one through the
    # environment, on a free port of 127.0.0.1.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1",
                        "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}.items():
        monkeypatch.setenv(name, value)
    try:
        result = invoke("run", "--stage", "distributed", "--epochs", "1", "--data",
                        tiny_data(), "--out", str(tmp_path / "run"))
        assert result.exit_code == 0, result.output
        assert not torch.distributed.is_initialized()
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
