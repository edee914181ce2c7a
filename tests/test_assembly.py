"""Who fills each piece: the plugin order, a plugin passing with None, a blocked piece, and how
a run says who answered (the header, the note, the trace)."""

from __future__ import annotations

import pytest
import torch
from helpers import EXAMPLES, invoke, quick_run, train_command, write_plugin

from mnistlab.errors import PluginError
from mnistlab.plugin_manager import get_plugin_manager

ADAM = str(EXAMPLES / "adam.py")


def test_the_readme_plugin_replaces_sgd_with_adam():
    # On the sample: the README promises that Adam at lr 1e-3 learns it within one epoch.
    result = quick_run(data="sample", plugins=[ADAM])
    assert isinstance(result.model, torch.nn.Module)
    assert result.valid_acc > 0.8
    pm = get_plugin_manager("fit", [ADAM])
    asked_first = pm.hook.make_update.get_hookimpls()[-1]
    assert asked_first.plugin_name.endswith("adam.py")


def test_of_two_plugin_files_for_one_piece_the_last_given_is_asked_first(tmp_path):
    body = """
        from torch import optim
        from mnistlab import hookimpl

        @hookimpl
        def make_update(model):
            return optim.{}(model.parameters(), lr=0.01)
    """
    one = write_plugin(tmp_path, body.replace("{}", "Adam"), name="one")
    two = write_plugin(tmp_path, body.replace("{}", "RMSprop"), name="two")
    result = quick_run(epochs=0, plugins=[one, two])
    assert type(result.model).__name__ == "Mnist_Logistic"
    pm = get_plugin_manager("fit", [one, two])
    asked = [impl.plugin_name for impl in reversed(pm.hook.make_update.get_hookimpls())]
    assert asked == [two, one, "sgd"]


def test_a_plugin_returning_none_falls_back_to_the_builtin(tmp_path):
    path = write_plugin(tmp_path, """
        from mnistlab import hookimpl

        @hookimpl
        def make_model(config):
            return None
    """, name="maybe")
    result = quick_run(stage="linear", plugins=[path])
    assert type(result.model).__name__ == "Mnist_Logistic"


def test_a_piece_hook_returning_none_says_who_filled_the_piece(tmp_path):
    path = write_plugin(tmp_path, """
        from torch import nn
        from mnistlab import hookimpl

        @hookimpl
        def make_model():
            model = nn.Linear(784, 10)  # forgot to return it
    """)
    result = invoke(*train_command("--plugin", path, stage="linear"))
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines() == [
        f"note: {path!r} returned None from make_model; plugin 'linear_model' fills the model"]


def test_blocking_a_piece_without_a_replacement_says_which_piece_is_missing():
    with pytest.raises(PluginError, match=r"no plugin provides the update \(make_update"):
        quick_run(blocked=["console", "sgd"])


def test_the_header_shows_the_optimizer_really_built_and_who_filled_it(tmp_path):
    path = write_plugin(tmp_path, """
        from torch import optim
        from mnistlab import hookimpl

        @hookimpl
        def make_update(model):
            return optim.Adam(model.parameters(), lr=1e-3)
    """)
    result = invoke(*train_command("--plugin", path, epochs=0))
    assert result.exit_code == 0, result.output
    assert "update Adam(lr=0.001, betas=(0.9, 0.999))" in result.stdout
    assert f"swapped in: update by {path} (--plugin)" in result.stdout
    assert "lr 0.5" not in result.stdout


# --- the trace ----------------------------------------------------------------


def test_trace_shows_who_answered_each_piece(tmp_path):
    path = write_plugin(tmp_path, """
        from mnistlab import hookimpl

        @hookimpl
        def make_loss():
            return None
    """)
    result = invoke(*train_command("--plugin", path, "--trace", epochs=0))
    assert result.exit_code == 0, result.output
    assert (f"[trace] make_loss: passed by {path} (None)\n"
            "[trace] make_loss: filled by cross_entropy with function cross_entropy\n"
            ) in result.stderr
    assert "[trace] make_update: filled by sgd with a SGD" in result.stderr


def test_trace_names_each_hook_and_its_plugins():
    result = invoke(*train_command("--trace", stage="optim", epochs=0))
    assert "[trace] make_update: filled by sgd with a SGD" in result.stderr
    assert "[trace] before_run: console" in result.stderr
