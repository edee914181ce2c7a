"""mnistlab: the "What is torch.nn really?" tutorial as a kernel of swappable plugins.

``import mnistlab`` is cheap: torch is imported only when a run starts, so the
command line answers ``--help`` at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mnistlab._version import __version__
from mnistlab.hookspecs import hookimpl, hookspec
from mnistlab.types import Option

if TYPE_CHECKING:
    from pathlib import Path

    from mnistlab.exercises.report import CheckResult
    from mnistlab.exporter import Exported
    from mnistlab.types import RunResult

__all__ = ["Option", "__version__", "check", "export", "hookimpl", "hookspec", "load", "run"]


def run(stage: str, **settings: Any) -> RunResult:
    """Run a stage and return its result (history, final scores, trained model).

    Example:
        >>> result = mnistlab.run("cnn", epochs=1, plugins=["my_adam.py"])
        >>> result.valid_acc, result.history[-1]

    Settings are those of ``mnistlab run``: the lesson's ``lr``, ``momentum``,
    ``bs``, ``valid_bs``, ``epochs`` and ``seed``; what the run is built from,
    ``device``, ``data``, ``data_dir``, ``plugins`` (paths or module names),
    ``blocked``, ``options`` (the plugins' own settings, by name) and
    ``deterministic``; and how it is run: ``out`` (a run folder to keep it
    in; none by default), ``force``, ``quiet``, ``trace`` and
    ``plugin_objects`` (plugins as Python objects).
    """
    from mnistlab.runner import run as run_stage

    return run_stage(stage, **settings)


def load(run_dir: str, *, plugins: tuple[str, ...] = (),
         plugin_objects: tuple[object, ...] = ()) -> Any:
    """The trained model saved in a run folder, in eval mode.

    The run is assembled again from its ``config.json`` (its stage, plugins
    and options, and its data, against which the model is checked); the
    weights are read with ``torch.load(..., weights_only=True)``. No code that
    the folder names runs: a run's ``--plugin`` files must be passed again in
    ``plugins`` (and match the hashes recorded), and pieces that came from
    plugin objects need them again in ``plugin_objects``.
    """
    from mnistlab.runner import load as load_run

    return load_run(run_dir, plugins=plugins, plugin_objects=plugin_objects)


def export(stage: str, out: str | Path | None = None, **settings: Any) -> Exported:
    """Write a stage as the plain PyTorch script (or notebook) it stands for.

    Example:
        >>> mnistlab.export("fit", "fit.py", epochs=2)  # then: python fit.py

    The script imports nothing of mnistlab and reads its data from a file in
    the tutorial's ``mnist.pkl.gz`` format, written beside it; its last line
    is the JSON of ``mnistlab run --json`` with the same settings. ``out`` is
    the file (or a folder for ``STAGE.py``); ``format="ipynb"`` writes a
    notebook; ``force=True`` replaces existing files; the other settings are
    those of :func:`run`. Without ``out`` nothing is written beside you: the
    data goes to the data cache and ``.text`` holds the script.
    """
    from mnistlab.exporter import export as export_stage

    return export_stage(stage, out, **settings)


def check(plugin: Any, *, stage: str, keep_progress: bool = True) -> CheckResult:
    """Check your plugin (a ``.py`` path or a module) as the exercise of ``stage``.

    Example:
        >>> result = mnistlab.check("my_cross_entropy.py", stage="functional")
        >>> result.passed, print(result)

    The result's report, ``str(result)``, is what ``mnistlab check`` prints; a
    notebook shows the same. See ``mnistlab exercise`` for the exercises.
    """
    from mnistlab.exercises.api import check as check_plugin

    return check_plugin(plugin, stage, keep_progress=keep_progress)
