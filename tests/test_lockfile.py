"""The lock file of a run folder: exclusive, never waiting, and removed by its holder, with the
race that makes removing a lock file unsafe played out step by step, and then for real among
processes that take it in turn as fast as they can."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from mnistlab import lockfile
from mnistlab.lockfile import Busy, LockFile

pytestmark = pytest.mark.skipif(lockfile.fcntl is None, reason="flock: POSIX only")


def test_the_lock_excludes_a_second_holder_and_its_file_goes_with_it(tmp_path):
    path = tmp_path / ".lock"
    with LockFile(path):
        assert path.is_file()
        with pytest.raises(Busy):
            LockFile(path).acquire()
    assert not path.exists()
    with LockFile(path):  # free again, and made again
        assert path.is_file()
    assert list(tmp_path.iterdir()) == []


def test_a_file_left_by_a_killed_holder_is_taken_and_removed(tmp_path):
    path = tmp_path / ".lock"
    path.write_text("")  # what SIGKILL leaves: the file, and no lock on it
    with LockFile(path):
        pass
    assert not path.exists()


def test_a_lock_on_a_file_its_holder_removed_is_no_lock(tmp_path, monkeypatch):
    """B opens the lock file while A holds it. Before B's flock, A removes the file and lets go,
    and C creates a new one and locks it. B's flock on the removed file succeeds; B must see that
    the path names C's file now, try again, and find the lock held."""
    path = tmp_path / ".lock"
    a, b, c = LockFile(path), LockFile(path), LockFile(path)
    a.acquire()
    real_flock, played = lockfile.fcntl.flock, []

    def flock_after_a_and_c_had_their_turn(fd, operation):
        if not played:
            played.append(True)
            a.release()
            c.acquire()
        return real_flock(fd, operation)

    monkeypatch.setattr(lockfile.fcntl, "flock", flock_after_a_and_c_had_their_turn)
    with pytest.raises(Busy):
        b.acquire()
    assert played and c._fd is not None and path.is_file()
    c.release()
    assert not path.exists()


def test_a_link_in_place_of_the_lock_file_is_never_followed(tmp_path):
    target = tmp_path / "elsewhere"
    (tmp_path / ".lock").symlink_to(target)
    with pytest.raises(OSError):
        LockFile(tmp_path / ".lock").acquire()
    assert not target.exists()


TAKER = """
    import os, sys
    from mnistlab.lockfile import Busy, LockFile

    lock_path, inside, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    taken = 0
    while taken < count:
        lock = LockFile(lock_path)
        try:
            lock.acquire()
        except Busy:
            continue
        try:
            # Only one process at a time may be here: a second one finds the marker.
            os.close(os.open(inside, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            os.sched_yield()
            os.unlink(inside)
        finally:
            lock.release()
        taken += 1
"""


@pytest.mark.slow  # processes taking the lock in turn, as fast as they can
def test_processes_taking_the_lock_in_turn_are_never_inside_together(tmp_path):
    script = tmp_path / "taker.py"
    script.write_text(textwrap.dedent(TAKER))
    lock, inside = tmp_path / ".lock", tmp_path / "inside"
    takers = [subprocess.Popen([sys.executable, str(script), str(lock), str(inside), "1000"],
                               stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errors = [taker.communicate(timeout=300)[1] for taker in takers]
    assert [taker.returncode for taker in takers] == [0, 0, 0], errors
    assert not os.path.lexists(lock) and not inside.exists()
