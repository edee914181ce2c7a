"""fetch() against mirrors that misbehave on purpose, served by a real HTTP server on 127.0.0.1.

Each fault is first shown to send fetch on to the next mirror, then to fail cleanly when it is
the only mirror: one line, and the cache left as it was.
"""

import hashlib
import logging
import multiprocessing
import subprocess
import sys
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pooch
import pytest
from idx_server import (
    PINNED_MD5,
    TINY_SIZES,
    MirrorServer,
    files_under,
    refused_mirror,
    snapshot,
    tiny_files,
    tiny_source,
)

from mnistlab.data import DataError, fetch

FILES = tiny_files()
TIMEOUT = 0.5
"""The fetch timeout for stalls: short, so that a stall costs half a second per file."""
DEADLINE = 0.5
"""The fetch deadline for trickles: each file's download from one mirror stops after that."""
IMAGES_SIZE = TINY_SIZES["train-images-idx3-ubyte"]
TRY_AGAIN = "; try again later, or use --data sample or --data PATH"


@pytest.fixture(scope="module")
def server():
    with MirrorServer(FILES) as running:
        running.SLOW_S = 0.5  # holds the lock long enough for the two-process test
        yield running


def assert_only_the_lock_left(data_dir: Path) -> None:
    """What a failed first fetch of ``tiny`` may leave: its empty lock file, nothing else."""
    assert sorted(snapshot(data_dir)) == ["tiny.lock"]
    assert (data_dir / "tiny.lock").stat().st_size == 0


# Each fault on the first mirror: fetch moves on, and keeps only the good files.


@pytest.mark.parametrize("fault", ["missing", "broken", "truncated", "html", "corrupt"])
def test_a_faulty_first_mirror_is_skipped_for_the_next(server, tmp_path, fault):
    before = server.hits.copy()

    folder = fetch(tiny_source(server.mirrors(fault, "ok")), tmp_path, progress=False)

    assert files_under(folder) == FILES  # good bytes only: no partial or temporary file left
    assert server.hits - before == {
        **{f"/{fault}/{name}": 1 for name in FILES},
        **{f"/ok/{name}": 1 for name in FILES},
    }


def test_a_refused_connection_is_skipped_for_the_next_mirror(server, tmp_path):
    folder = fetch(tiny_source((refused_mirror(), server.mirror("ok"))), tmp_path, progress=False)

    assert files_under(folder) == FILES


@pytest.mark.slow  # waits out one timeout per file by design
def test_a_stalled_mirror_costs_one_timeout_per_file(server, tmp_path):
    start = time.monotonic()

    before = server.hits.copy()

    folder = fetch(tiny_source(server.mirrors("stall", "ok")), tmp_path, timeout=TIMEOUT)

    # Four files, half a second each; without the timeout a single file takes STALL_S.
    assert time.monotonic() - start < server.STALL_S
    assert files_under(folder) == FILES
    assert server.hits - before == {
        **{f"/stall/{name}": 1 for name in FILES},
        **{f"/ok/{name}": 1 for name in FILES},
    }


# Each fault on the only mirror: one line saying what went wrong, and nothing kept.


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("broken", "HTTP 500 Internal Server Error"),
        ("truncated", "connection closed before the end of the file"),
        ("html", "wrong md5, download discarded"),
        ("corrupt", "wrong md5, download discarded"),
        ("stall", f"nothing received for {TIMEOUT:g} s"),
        ("endless", f"more than {IMAGES_SIZE:,} bytes, download stopped"),
        ("huge", f"more than {IMAGES_SIZE:,} bytes, download stopped"),
        ("trickle", f"not complete after {DEADLINE:g} s, download stopped"),
    ],
)
def test_a_fault_on_every_mirror_is_one_line_and_keeps_nothing(server, tmp_path, fault, reason):
    mirror = server.mirror(fault)
    start = time.monotonic()

    with pytest.raises(DataError) as raised:
        fetch(tiny_source((mirror,)), tmp_path, False, timeout=TIMEOUT, deadline=DEADLINE)

    assert str(raised.value) == (
        f"could not download tiny: every mirror failed "
        f"(last: {mirror}train-images-idx3-ubyte: {reason}){TRY_AGAIN}"
    )
    assert time.monotonic() - start < server.STALL_S
    assert_only_the_lock_left(tmp_path)


def test_offline_says_no_mirror_could_be_reached_in_one_line(tmp_path):
    first, last = refused_mirror(), refused_mirror()

    with pytest.raises(DataError) as raised:
        fetch(tiny_source((first, last)), tmp_path, progress=False)

    assert str(raised.value) == (
        "could not download tiny: no mirror could be reached "
        f"(last: {last}train-images-idx3-ubyte: connection refused); "
        "check your connection, or use --data sample or --data PATH"
    )
    assert_only_the_lock_left(tmp_path)


ALL_FAULTS = ("missing", "broken", "truncated", "html", "corrupt", "stall")


# Mirrors that never stop sending: cut off at the file's size, or at the deadline.


@pytest.mark.parametrize("fault", ["endless", "huge"])
def test_a_mirror_sending_more_than_the_file_holds_is_stopped_for_the_next(
    server, tmp_path, fault
):
    before = server.hits.copy()
    start = time.monotonic()

    folder = fetch(tiny_source(server.mirrors(fault, "ok")), tmp_path, progress=False)

    # Uncut, each endless answer would last SEND_LIMIT_S and then fail its md5.
    assert time.monotonic() - start < 5
    assert files_under(folder) == FILES
    assert server.hits - before == {
        **{f"/{fault}/{name}": 1 for name in FILES},
        **{f"/ok/{name}": 1 for name in FILES},
    }


def test_a_file_of_unknown_size_is_stopped_at_the_largest_size_the_reader_takes(
    server, tmp_path, monkeypatch
):
    # The real bound is 256 MiB; a smaller one keeps the test fast.
    monkeypatch.setattr(sys.modules["mnistlab.data.fetch"], "MAX_BYTES", 100_000)
    source = tiny_source(server.mirrors("endless"), sizes={})

    with pytest.raises(DataError, match=r"endless/train-images-idx3-ubyte: more than 100,000"):
        fetch(source, tmp_path, progress=False)

    assert_only_the_lock_left(tmp_path)


@pytest.mark.slow  # waits out one deadline per file by design
def test_a_trickling_mirror_costs_one_deadline_per_file(server, tmp_path):
    before = server.hits.copy()
    start = time.monotonic()

    # A trickle is never quiet for the read timeout: only the deadline stops it.
    folder = fetch(
        tiny_source(server.mirrors("trickle", "ok")), tmp_path, timeout=5, deadline=DEADLINE
    )

    # Four files, half a second each; uncut, each trickle would last SEND_LIMIT_S (10 s).
    assert time.monotonic() - start < 4 * DEADLINE + 5
    assert files_under(folder) == FILES
    assert server.hits - before == {
        **{f"/trickle/{name}": 1 for name in FILES},
        **{f"/ok/{name}": 1 for name in FILES},
    }


def test_a_failed_fetch_leaves_an_earlier_download_as_it_was(server, tmp_path):
    folder = fetch(tiny_source(server.mirrors("ok")), tmp_path, progress=False)
    failing = tiny_source((*server.mirrors(*ALL_FAULTS), refused_mirror()))
    complete = snapshot(tmp_path)
    hits = server.hits.copy()

    # Complete and good: nothing to download, so the failing mirrors are not even asked.
    assert fetch(failing, tmp_path, progress=False, timeout=TIMEOUT) == folder
    assert server.hits == hits
    assert snapshot(tmp_path) == complete

    # One file missing and one damaged: every mirror is tried for the first, and all fail.
    (folder / "train-images-idx3-ubyte").unlink()
    (folder / "train-labels-idx1-ubyte").write_bytes(b"damaged")
    partial = snapshot(tmp_path)

    with pytest.raises(DataError, match="every mirror failed"):
        fetch(failing, tmp_path, progress=False, timeout=TIMEOUT)

    assert snapshot(tmp_path) == partial  # nothing deleted, replaced or touched; no temp files
    assert all(server.hits[f"/{fault}/train-images-idx3-ubyte"] >= 1 for fault in ALL_FAULTS)


# Two processes at once.


def fetch_in_process(mirror: str, data_dir: str, start: Barrier) -> None:
    start.wait(timeout=120)  # both fetch at the same moment, once both have imported
    fetch(tiny_source((mirror,)), data_dir, progress=False)


@pytest.mark.slow  # starts two Python processes
def test_two_processes_fetching_at_once_end_with_one_good_copy(server, tmp_path):
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    # The slow mirror makes each file take SLOW_S, so the first process still holds the lock
    # when the second asks for it.
    args = (server.mirror("slow"), str(tmp_path), start)
    processes = [context.Process(target=fetch_in_process, args=args) for _ in range(2)]
    before = server.hits.copy()

    try:
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()

    assert [process.exitcode for process in processes] == [0, 0]
    assert {
        name: hashlib.md5(body).hexdigest() for name, body in files_under(tmp_path / "tiny").items()
    } == PINNED_MD5  # every file, each with its md5, and no other file (temporary, partial)
    assert server.hits - before == {f"/slow/{name}": 1 for name in FILES}


# What a user sees.


def test_pooch_says_nothing_unless_progress_is_on(server, tmp_path):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    pooch.get_logger().addHandler(handler)
    try:
        fetch(tiny_source(server.mirrors("missing", "ok"), name="quiet"), tmp_path, progress=False)
        quiet = list(records)
        fetch(tiny_source(server.mirrors("ok"), name="talkative"), tmp_path, progress=True)
    finally:
        pooch.get_logger().removeHandler(handler)

    assert quiet == []
    assert any("Downloading data from" in record.getMessage() for record in records)


CLI = """
import sys
from idx_server import tiny_source
from mnistlab.cli import cli
from mnistlab.data import DATASETS

DATASETS["mnist"] = tiny_source(tuple(sys.argv[2:]), name="mnist")
cli.main(["data", "fetch", "mnist", "--data-dir", sys.argv[1]], prog_name="mnistlab")
"""
"""``mnistlab data fetch mnist`` in a process of its own, with mnist's mirrors replaced."""


def run_cli(data_dir: Path, *mirrors: str) -> subprocess.CompletedProcess[str]:
    tests = str(Path(__file__).parent)
    return subprocess.run(
        [sys.executable, "-c", CLI, str(data_dir), *mirrors],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tests,
    )


def test_cli_fetch_prints_one_line_on_stdout_and_nothing_on_stderr(server, tmp_path):
    result = run_cli(tmp_path, *server.mirrors("missing", "ok"))

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"mnist is in {tmp_path / 'mnist'}\n"


def test_cli_fetch_offline_is_one_line_on_stderr_and_exit_status_2(tmp_path):
    mirror = refused_mirror()

    result = run_cli(tmp_path, mirror)

    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "error: could not download mnist: no mirror could be reached "
        f"(last: {mirror}train-images-idx3-ubyte: connection refused); "
        "check your connection, or use --data sample or --data PATH\n"
    )


def test_a_data_folder_that_cannot_be_written_is_one_line(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(DataError, match=r"^cannot write to the data folder .*not-a-folder/cache"):
        fetch(tiny_source((refused_mirror(),), "tiny"), blocker / "cache", progress=False)
