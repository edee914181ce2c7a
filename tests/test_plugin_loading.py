"""Loading plugins: from a file, a module or an installed package's entry point, and every
mistake in one (a file that is not there, a hook misspelt, a marker missing) named in one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import Result
from helpers import (
    invoke,
    mnistlab_process,
    quick_run,
    refused,
    tiny_data,
    train_command,
    write_plugin,
)

from mnistlab import hookimpl
from mnistlab.errors import PluginError
from mnistlab.plugin_manager import (
    PluginManager,
    _check_installed_claims,
    get_plugin_manager,
    register,
)

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
#
# Each fixture builds and installs real packages into a folder of their own (the slow part);
# each test then runs mnistlab in this process with that folder on sys.path, where
# importlib.metadata finds their entry points as it finds any installed package's.


def plugin_package(source: Path, name: str, module: str) -> Path:
    """A one-module package in ``source`` that registers ``name`` in the mnistlab group."""
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
    return source


def install(target: Path, *packages: Path) -> Path:
    """Build and install ``packages`` into the folder ``target``, with one pip; return it."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), *map(str, packages)],
        check=True,
    )
    return target


@pytest.fixture(scope="module")
def installed_plugins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site folder with a working entry-point plugin and a broken one."""
    root = tmp_path_factory.mktemp("entry-points")
    good = plugin_package(root / "good", "halfbatch", """
        from mnistlab import hookimpl

        @hookimpl
        def before_run(session):
            print(f"halfbatch sees stage {session.config.stage}")
    """)
    bad = plugin_package(root / "bad", "broken", """
        raise ImportError("needs a package that is not installed")
    """)
    return install(root / "site", good, bad)


@pytest.fixture
def mnistlab_with(monkeypatch: pytest.MonkeyPatch):
    """``mnistlab_with(site, *args, **env)``: ``mnistlab ARGS`` in this process, with the
    packages installed in ``site`` and the environment variables ``env``."""

    def command(site: Path, *args: str, **env: str) -> Result:
        monkeypatch.syspath_prepend(str(site))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return invoke(*args)

    return command


def run_of_no_epoch(*args: str) -> list[str]:
    """``run`` of no epoch on the tiny data, then ``args``."""
    return ["run", "--stage", "fit", "--epochs", "0", "--data", tiny_data(), "--no-save", *args]


@pytest.mark.slow  # builds and installs packages
def test_an_installed_entry_point_plugin_is_loaded(installed_plugins, mnistlab_with):
    listed = mnistlab_with(installed_plugins, "plugins", "--stage", "fit")
    assert listed.exit_code == 0
    assert "halfbatch" in listed.stdout and "entry point" in listed.stdout
    ran = mnistlab_with(installed_plugins, *run_of_no_epoch())
    assert ran.exit_code == 0, ran.stderr
    assert "halfbatch sees stage fit" in ran.stdout


@pytest.mark.slow  # builds and installs packages
def test_a_broken_installed_plugin_is_skipped_with_one_warning(installed_plugins, mnistlab_with):
    helped = mnistlab_with(installed_plugins, "--help")
    assert helped.exit_code == 0 and helped.stderr == ""
    ran = mnistlab_with(installed_plugins, *run_of_no_epoch())
    assert ran.exit_code == 0
    assert ran.stderr.strip().splitlines() == [
        "warning: skipped installed plugin 'broken' (mnistlab_broken): ImportError: needs a "
        "package that is not installed; uninstall it or leave it out of MNISTLAB_LOAD_PLUGINS"
    ]


@pytest.mark.slow  # builds and installs packages
@pytest.mark.parametrize(("chosen", "loaded"), [("", []), ("halfbatch", ["halfbatch"])])
def test_mnistlab_load_plugins_chooses_which_installed_plugins_load(installed_plugins,
                                                                     mnistlab_with, chosen,
                                                                     loaded):
    listed = mnistlab_with(installed_plugins, "plugins", "--stage", "fit",
                           MNISTLAB_LOAD_PLUGINS=chosen)
    assert listed.exit_code == 0 and listed.stderr == ""
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
    return install(root / "site",
                   plugin_package(root / "adam", "adam", UPDATE_PLUGIN.replace("{}", "Adam")),
                   plugin_package(root / "rmsprop", "rmsprop",
                                  UPDATE_PLUGIN.replace("{}", "RMSprop")))


@pytest.mark.slow  # builds and installs packages
def test_two_installed_plugins_claiming_one_piece_are_refused(installed_updates, mnistlab_with):
    ran = mnistlab_with(installed_updates, *run_of_no_epoch())
    assert ran.exit_code == 2
    assert ran.stderr.strip().splitlines() == [
        "error: installed plugins 'adam' and 'rmsprop' both provide the update (make_update) "
        "and nothing orders them; block one with --no-plugin, or name the ones to load in "
        "MNISTLAB_LOAD_PLUGINS"]


class Update:
    """An installed package's plugin that fills the update piece."""

    @hookimpl
    def make_update(self, model):
        return None


def test_three_installed_plugins_claiming_one_piece_are_named_in_one_sentence():
    pm = PluginManager()
    for name in ("rmsprop", "adam", "adagrad"):
        register(pm, Update(), name, "entry point")
    with pytest.raises(PluginError, match="^installed plugins 'adagrad', 'adam' and 'rmsprop' "
                                          "all provide the update"):
        _check_installed_claims(pm)


@pytest.mark.slow  # builds and installs packages
def test_a_plugin_file_is_asked_before_an_installed_plugin(installed_updates, mnistlab_with,
                                                           tmp_path):
    mine = write_plugin(tmp_path, UPDATE_PLUGIN.replace("{}", "Adagrad"))
    ran = mnistlab_with(installed_updates, *run_of_no_epoch("--plugin", mine),
                        MNISTLAB_LOAD_PLUGINS="adam")
    assert ran.exit_code == 0, ran.stderr
    assert "update Adagrad(lr=0.01" in ran.stdout
    assert f"swapped in: update by {mine} (--plugin)" in ran.stdout
    assert "installed plugins in play: adam" in ran.stdout
    listed = mnistlab_with(installed_updates, "plugins", "--stage", "fit", "--plugin", mine,
                           MNISTLAB_LOAD_PLUGINS="adam")
    assert f"update   {mine} (--plugin)  shadows adam (entry point), sgd (built-in)" in (
        listed.stdout)


@pytest.mark.slow  # builds and installs packages
def test_a_plugin_file_returning_none_passes_to_the_installed_plugin(installed_updates,
                                                                     mnistlab_with, tmp_path):
    passing = write_plugin(tmp_path, """
        from mnistlab import hookimpl

        @hookimpl
        def make_update():
            return None
    """, name="passing")
    ran = mnistlab_with(installed_updates, *run_of_no_epoch("--plugin", passing),
                        MNISTLAB_LOAD_PLUGINS="adam")
    assert ran.exit_code == 0, ran.stderr
    assert "update Adam(lr=0.01" in ran.stdout
    assert ran.stderr.strip().splitlines() == [
        f"note: {passing!r} returned None from make_update; plugin 'adam' (entry point) "
        "fills the update"]
