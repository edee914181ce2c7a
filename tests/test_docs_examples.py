"""The plugin the docs' guide builds, examples/label_smoothing.py, really works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mnistlab
from mnistlab.errors import MnistlabError
from mnistlab.hookspecs import hookimpl

PLUGIN = str(Path(__file__).resolve().parent.parent / "examples" / "label_smoothing.py")


class LossRecorder:
    """An observer that keeps every training loss."""

    def __init__(self):
        self.losses = []

    @hookimpl
    def after_batch(self, loss):
        self.losses.append(loss)


def losses(plugins=()):
    recorder = LossRecorder()
    result = mnistlab.run("fit", epochs=1, data="sample", blocked=["console"],
                          plugins=list(plugins), plugin_objects=(recorder,))
    return np.array(recorder.losses), result


def test_without_the_setting_the_plugin_passes_and_the_numbers_do_not_change(monkeypatch):
    monkeypatch.delenv("MNISTLAB_SMOOTHING", raising=False)
    plain, plain_result = losses()
    passed, passed_result = losses([PLUGIN])
    np.testing.assert_array_equal(passed, plain)
    assert passed_result.valid_acc == plain_result.valid_acc


def test_with_the_setting_the_plugin_smooths_the_loss(monkeypatch, capsys):
    monkeypatch.setenv("MNISTLAB_SMOOTHING", "0.1")
    smoothed, result = losses([PLUGIN])
    monkeypatch.delenv("MNISTLAB_SMOOTHING")
    plain, _ = losses()
    # The first loss is computed from the same weights and batch: only the loss differs.
    assert smoothed[0] != plain[0]
    assert not np.allclose(smoothed, plain)
    assert result.valid_acc > 0.8  # it still learns
    printed = capsys.readouterr().out
    assert "label smoothing 0.1: the loss aims for 0.91 on the right digit" in printed


@pytest.mark.parametrize("value", ["x", "1", "-0.1"])
def test_a_bad_setting_is_one_clear_error(monkeypatch, value):
    monkeypatch.setenv("MNISTLAB_SMOOTHING", value)
    with pytest.raises(MnistlabError, match="MNISTLAB_SMOOTHING") as error:
        losses([PLUGIN])
    assert "\n" not in str(error.value)
