"""The wheel: plugins/ ships as mnistlab.plugins, and a fresh venv can run it."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel, and what building it printed."""
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(ROOT)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("mnistlab-*.whl")
    return path, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(built: tuple[Path, str]) -> Path:
    return built[0]


def test_the_wheel_builds_without_a_warning(built):
    # setuptools warns, at every install, of a folder of data it was not told to ship
    assert "Warning" not in built[1], built[1]


def test_the_wheel_holds_every_plugin_under_mnistlab_and_no_top_level_plugins(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert not [name for name in names if name.startswith("plugins/")]
    shipped = {name.removeprefix("mnistlab/plugins/") for name in names
               if name.startswith("mnistlab/plugins/")}
    plugins = ROOT / "plugins"
    assert shipped == {path.relative_to(plugins).as_posix() for path in
                       [*plugins.glob("*.py"), *plugins.glob("exercises/*.md")]}
    assert "mnistlab/hookspecs.py" in names and "mnistlab/data/idx.py" in names


def test_the_wheel_carries_the_embedded_sample_and_its_licence(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(name for name in names if name.startswith("mnistlab/data/mnist5k/"))
    assert shipped == [f"mnistlab/data/mnist5k/{name}" for name in (
        "README.md", "mnist5k-images-idx3-ubyte.gz", "mnist5k-labels-idx1-ubyte.gz")]
    metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: BSD-3-Clause AND CC-BY-SA-3.0" in text
    assert "mlxtend" not in text.split("Provides-Extra: sample-tools")[0]


def test_the_wheel_installs_and_runs_in_a_fresh_venv(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", str(wheel)], check=True)
    fresh_site = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    assert not (fresh_site / "plugins").exists()
    # Borrow this environment's dependencies (torch, pluggy, ...) without its
    # editable mnistlab: a path line in a .pth file adds the folder but does not
    # run the .pth files inside it, where the editable install hooks in.
    (fresh_site / "borrowed-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {**os.environ, "MNISTLAB_DATA": str(tmp_path / "data")}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(env_dir / "bin" / "mnistlab"), "run", "--stage", "sequential", "--epochs", "1",
         "--data", "sample", "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=env,
    )
    assert done.returncode == 0, done.stderr
    where = subprocess.check_output(  # where its import would come from, without importing it
        [str(python), "-c", "import importlib.util as u; print(u.find_spec('mnistlab.plugins.cnn')"
         ".origin)"], text=True, cwd=tmp_path, env=env).strip()
    assert Path(where).is_relative_to(fresh_site)
    # What the wheel carries besides code: the exercises' texts and the pages a notebook shows.
    listed = subprocess.run([str(env_dir / "bin" / "mnistlab"), "exercise"], capture_output=True,
                            text=True, cwd=tmp_path, env=env)
    assert listed.returncode == 0 and "functional" in listed.stdout, listed.stderr
    exported = subprocess.run([str(env_dir / "bin" / "mnistlab"), "export", "--stage", "fit",
                               "--format", "ipynb", "--epochs", "1", "--data", "sample", "--out",
                               str(tmp_path / "fit.ipynb")], capture_output=True, text=True,
                              cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
