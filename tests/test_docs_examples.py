"""The plugins the docs' guide builds, in examples/, really work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import mnistlab
from mnistlab.cli import cli
from mnistlab.errors import MnistlabError
from mnistlab.hookspecs import hookimpl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PLUGIN = str(EXAMPLES / "label_smoothing.py")


class LossRecorder:
    """An observer that keeps every training loss."""

    def __init__(self):
        self.losses = []

    @hookimpl
    def after_batch(self, loss):
        self.losses.append(loss)


def losses(plugins=(), **settings):
    recorder = LossRecorder()
    result = mnistlab.run("fit", epochs=1, data="sample", blocked=["console"],
                          plugins=list(plugins), plugin_objects=(recorder,), **settings)
    return np.array(recorder.losses), result


def test_smoothing_zero_gives_exactly_the_stage_numbers():
    plain, plain_result = losses()
    zero, zero_result = losses([PLUGIN], options={"smoothing": 0.0})
    np.testing.assert_array_equal(zero, plain)
    assert zero_result.valid_acc == plain_result.valid_acc


def test_the_plugin_smooths_the_loss_by_its_default_and_records_it():
    smoothed, result = losses([PLUGIN])
    plain, _ = losses()
    # The first loss is computed from the same weights and batch: only the loss differs.
    assert smoothed[0] != plain[0]
    assert not np.allclose(smoothed, plain)
    assert result.valid_acc > 0.8  # it still learns
    assert result.config.options == {"smoothing": 0.1}


def test_the_option_is_set_from_the_command_line(tmp_path):
    ran = CliRunner().invoke(cli, ["run", "--stage", "fit", "--epochs", "1", "--data", "sample",
                                   "--plugin", PLUGIN, "--set", "smoothing=0.2",
                                   "--out", str(tmp_path / "run")])
    assert ran.exit_code == 0, ran.stderr
    assert "options: smoothing=0.2" in ran.stdout
    assert f"swapped in: loss by {PLUGIN} (--plugin)" in ran.stdout
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["settings"]["options"] == {"smoothing": 0.2}
    assert record["pieces"]["loss"] == {"plugin": PLUGIN, "origin": "--plugin"}


@pytest.mark.parametrize(("value", "message"), [
    ("x", "option smoothing='x' is not allowed: smoothing is the share of the target spread "
          "over all ten digits, at least 0 and below 1"),
    ("1", "option smoothing='1' is not allowed"),
    (-0.1, "option smoothing=-0.1 is not allowed"),
])
def test_a_bad_option_is_one_clear_error(value, message):
    with pytest.raises(MnistlabError) as error:
        losses([PLUGIN], options={"smoothing": value})
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_an_unknown_option_names_the_declared_ones():
    with pytest.raises(MnistlabError, match=r"unknown option 'smothing' \(did you mean "
                                            r"'smoothing'\?\); the plugins of this run declare "
                                            r"smoothing"):
        losses([PLUGIN], options={"smothing": 0.2})
    with pytest.raises(MnistlabError, match="no plugin of this run declares any option"):
        losses(options={"smoothing": 0.2})
