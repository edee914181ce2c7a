"""Loading plugins: from a file, a module or an installed package's entry point, and every
mistake in one (a file that is not there, a hook misspelt, a marker missing) named in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import mnistlab_process, quick_run, refused, tiny_data, train_command, write_plugin

from mnistlab.errors import PluginError
from mnistlab.plugin_manager import get_plugin_manager

# --- files and modules ----------------------------------------------------------------------


def test_a_plugin_module_by_name_overrides_the_builtin(tmp_path, monkeypatch):
    write_plugin(tmp_path, """
        import torch.nn.functional as F
        from mnistlab import hookimpl

        calls = []

        @hookimpl
        def make_loss():
            def loss(scores, target):
                calls.append(1)
                return F.cross_entropy(scores, target, label_smoothing=0.1)
            return loss
    """, name="tiny_loss")
    monkeypatch.syspath_prepend(str(tmp_path))
    quick_run(plugins=["tiny_loss"])
    import tiny_loss

    assert len(tiny_loss.calls) > 0


# --- mistakes -------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "message"), [
    ("@hookimpl\ndef make_modle():\n    pass\n",
     "implements unknown hook 'make_modle' (did you mean 'make_model'?)"),
    ("@hookimpl\ndef make_model(cfg):\n    pass\n",
     "hook make_model(cfg) asks for 'cfg', which make_model does not pass; use any of: config"),
    ("def broken(:\n", "has a syntax error on line 2"),
    ("raise RuntimeError('no GPU here')\n", "failed to import: RuntimeError: no GPU here"),
])
def test_plugin_mistakes_are_named_in_one_line(tmp_path, body, message):
    path = write_plugin(tmp_path, "from mnistlab import hookimpl\n" + body, name="bad")
    with pytest.raises(PluginError) as error:
        get_plugin_manager("fit", [path])
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_missing_plugin_file_is_named(tmp_path):
    with pytest.raises(PluginError, match="does not exist"):
        get_plugin_manager("fit", [str(tmp_path / "nope.py")])


def test_an_unknown_module_is_named():
    with pytest.raises(PluginError, match="no module named 'no_such_plugin_module'"):
        get_plugin_manager("fit", ["no_such_plugin_module"])


def test_blocking_an_unknown_plugin_suggests_the_closest():
    with pytest.raises(PluginError, match="did you mean 'sgd'"):
        get_plugin_manager("fit", blocked=["sdg"])


def test_a_hook_without_the_marker_is_refused(tmp_path):
    path = write_plugin(tmp_path, "def make_model():\n    return None\n", name="unmarked")
    assert refused(*train_command("--plugin", path)) == (
        f"plugin {path!r}: make_model is named like a hook but not marked as one; "
        "decorate it with @hookimpl (`from mnistlab import hookimpl`)")


def test_a_marker_of_another_project_is_refused(tmp_path):
    path = write_plugin(tmp_path, "import pluggy\nhookimpl = pluggy.HookimplMarker('myproject')\n\n"
                                  "@hookimpl\ndef make_model():\n    return None\n", name="foreign")
    assert refused(*train_command("--plugin", path)) == (
        f"plugin {path!r}: make_model is marked as a hook of project 'myproject', not "
        "mnistlab; use `from mnistlab import hookimpl`")


def test_a_class_of_hooks_never_instantiated_is_refused_with_the_fix(tmp_path):
    path = write_plugin(tmp_path, """
        from mnistlab import hookimpl

        class Recorder:
            @hookimpl
            def after_epoch(self, result):
                pass
    """)
    assert refused(*train_command("--plugin", path)) == (
        f"plugin {path!r} implements no hook; its hooks are methods of class Recorder: add "
        "`def make_plugin(): return Recorder()` to the module")


@pytest.mark.slow  # a real process: its exit status and stderr, as a shell sees them
def test_a_broken_plugin_exits_2_in_one_line_without_a_traceback(tmp_path):
    plugin = write_plugin(tmp_path, "raise ImportError('missing dependency')\n", name="broken")
    done = mnistlab_process("run", "--stage", "fit", "--plugin", plugin, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: plugin {plugin!r} failed to import: ImportError: missing dependency"
    ]


# --- installed packages (entry points) ------------------------------------------------------


def install_plugin_package(source: Path, target: Path, name: str, module: str) -> None:
    """Build and install a real one-module package registering ``name`` in the mnistlab group."""
    source.mkdir()
    (source / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=69"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "mnistlab-{name}"
        version = "1.0"

        [project.entry-points.mnistlab]
        {name} = "mnistlab_{name}"

        [tool.setuptools]
        py-modules = ["mnistlab_{name}"]
    """))
    write_plugin(source, module, name=f"mnistlab_{name}")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(source)],
        check=True,
    )


@pytest.fixture(scope="module")
def installed_plugins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site folder with a working entry-point plugin and a broken one."""
    root = tmp_path_factory.mktemp("entry-points")
    target = root / "site"
    install_plugin_package(root / "good", target, "halfbatch", """
        from mnistlab import hookimpl

        @hookimpl
        def before_run(session):
            print(f"halfbatch sees stage {session.config.stage}")
    """)
    install_plugin_package(root / "bad", target, "broken", """
        raise ImportError("needs a package that is not installed")
    """)
    return target


def mnistlab_with(site: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """``mnistlab ARGS`` in a process that finds the packages installed in ``site``."""
    environment = {**os.environ, "PYTHONPATH": str(site), **env}
    return subprocess.run([sys.executable, "-c", "from mnistlab.cli import main; main()", *args],
                          capture_output=True, text=True, env=environment, cwd=cwd)


def run_with(site: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """``mnistlab run`` of no epoch on the tiny data, with the packages installed in ``site``."""
    return mnistlab_with(site, "run", "--stage", "fit", "--epochs", "0", "--data", tiny_data(),
                         *args, cwd=cwd, **env)


@pytest.mark.slow  # starts mnistlab processes
def test_an_installed_entry_point_plugin_is_loaded(installed_plugins, tmp_path):
    listed = mnistlab_with(installed_plugins, "plugins", "--stage", "fit", cwd=tmp_path)
    assert listed.returncode == 0
    assert "halfbatch" in listed.stdout and "entry point" in listed.stdout
    ran = run_with(installed_plugins, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "halfbatch sees stage fit" in ran.stdout


@pytest.mark.slow  # starts mnistlab processes
def test_a_broken_installed_plugin_is_skipped_with_one_warning(installed_plugins, tmp_path):
    helped = mnistlab_with(installed_plugins, "--help", cwd=tmp_path)
    assert helped.returncode == 0 and helped.stderr == ""
    ran = run_with(installed_plugins, cwd=tmp_path)
    assert ran.returncode == 0
    assert ran.stderr.strip().splitlines() == [
        "warning: skipped installed plugin 'broken' (mnistlab_broken): ImportError: needs a "
        "package that is not installed; uninstall it or leave it out of MNISTLAB_LOAD_PLUGINS"
    ]


@pytest.mark.slow  # starts mnistlab processes
@pytest.mark.parametrize(("chosen", "loaded"), [("", []), ("halfbatch", ["halfbatch"])])
def test_mnistlab_load_plugins_chooses_which_installed_plugins_load(installed_plugins, tmp_path,
                                                                     chosen, loaded):
    listed = mnistlab_with(installed_plugins, "plugins", "--stage", "fit", cwd=tmp_path,
                           MNISTLAB_LOAD_PLUGINS=chosen)
    assert listed.returncode == 0 and listed.stderr == ""
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert [name for name in names if name in ("halfbatch", "broken")] == loaded


UPDATE_PLUGIN = """
    from torch import optim
    from mnistlab import hookimpl

    @hookimpl
    def make_update(model):
        return optim.{}(model.parameters(), lr=0.01)
"""


@pytest.fixture(scope="module")
def installed_updates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site folder with two installed packages that both fill the update piece."""
    root = tmp_path_factory.mktemp("entry-point-updates")
    target = root / "site"
    install_plugin_package(root / "adam", target, "adam", UPDATE_PLUGIN.replace("{}", "Adam"))
    install_plugin_package(root / "rmsprop", target, "rmsprop",
                           UPDATE_PLUGIN.replace("{}", "RMSprop"))
    return target


@pytest.mark.slow  # installs packages, starts mnistlab processes
def test_two_installed_plugins_claiming_one_piece_are_refused(installed_updates, tmp_path):
    ran = run_with(installed_updates, cwd=tmp_path)
    assert ran.returncode == 2
    assert ran.stderr.strip().splitlines() == [
        "error: installed plugins 'adam' and 'rmsprop' both provide the update (make_update) "
        "and nothing orders them; block one with --no-plugin, or name the ones to load in "
        "MNISTLAB_LOAD_PLUGINS"]


@pytest.mark.slow  # installs packages, starts mnistlab processes
def test_a_plugin_file_is_asked_before_an_installed_plugin(installed_updates, tmp_path):
    mine = write_plugin(tmp_path, UPDATE_PLUGIN.replace("{}", "Adagrad"))
    ran = run_with(installed_updates, "--plugin", mine, cwd=tmp_path,
                   MNISTLAB_LOAD_PLUGINS="adam")
    assert ran.returncode == 0, ran.stderr
    assert "update Adagrad(lr=0.01" in ran.stdout
    assert f"swapped in: update by {mine} (--plugin)" in ran.stdout
    assert "installed plugins in play: adam" in ran.stdout
    listed = mnistlab_with(installed_updates, "plugins", "--stage", "fit", "--plugin", mine,
                           cwd=tmp_path, MNISTLAB_LOAD_PLUGINS="adam")
    assert f"update   {mine} (--plugin)  shadows adam (entry point), sgd (built-in)" in (
        listed.stdout)


@pytest.mark.slow  # installs packages, starts mnistlab processes
def test_a_plugin_file_returning_none_passes_to_the_installed_plugin(installed_updates,
                                                                     tmp_path):
    passing = write_plugin(tmp_path, """
        from mnistlab import hookimpl

        @hookimpl
        def make_update():
            return None
    """, name="passing")
    ran = run_with(installed_updates, "--plugin", passing, cwd=tmp_path,
                   MNISTLAB_LOAD_PLUGINS="adam")
    assert ran.returncode == 0, ran.stderr
    assert "update Adam(lr=0.01" in ran.stdout
    assert ran.stderr.strip().splitlines() == [
        f"note: {passing!r} returned None from make_update; plugin 'adam' (entry point) "
        "fills the update"]
