"""The Makefile's promise to a new user: `make run` installs what a run needs and no more, and
the targets that need the extras install them. Read from `make -n` (what make would do), for
a virtual environment that does not exist yet, so nothing is installed here."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from helpers import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def planned(target: str, tmp_path) -> list[str]:
    """The commands ``make TARGET`` would run from a fresh clone (no virtual environment)."""
    done = subprocess.run(["make", "-n", "-C", str(ROOT), target, f"VENV={tmp_path / 'venv'}"],
                          capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if not line.startswith("make")]


def installs(commands: list[str]) -> list[str]:
    return [line.split("install --quiet ", 1)[1] for line in commands if " pip install " in line]


def test_make_run_installs_torch_and_mnistlab_without_extras(tmp_path):
    commands = planned("run", tmp_path)
    assert installs(commands) == ["--upgrade pip", '"torch==2.13.0"', "-e ."]
    assert commands[-1].endswith("/bin/mnistlab run")  # the default stage


@pytest.mark.parametrize("target", ["test", "test-fast", "lint", "docs", "install"])
def test_the_targets_that_need_the_extras_install_them_after_torch(target, tmp_path):
    found = installs(planned(target, tmp_path))
    assert found[:3] == ["--upgrade pip", '"torch==2.13.0"', "-e ."]
    assert '-e ".[dev,docs,browser]"' in found
