"""Observers: early stopping from the plugin guide, and the result's plot."""

from __future__ import annotations

from pathlib import Path

import mnistlab
from mnistlab import hookimpl

EXAMPLE = str(Path(__file__).resolve().parent.parent / "examples" / "early_stopping.py")


def test_the_early_stopping_example_stops_when_validation_stops_improving(capsys):
    # lr 5 makes the validation loss jump about from the first epochs on.
    result = mnistlab.run("fit", epochs=30, lr=5.0, data="sample", plugins=[EXAMPLE])
    assert len(result.history) < 30
    losses = [row["valid_loss"] for row in result.history]
    best = losses.index(min(losses))
    assert len(losses) - 1 - best == 2  # exactly `patience` epochs without a better loss
    printed = capsys.readouterr().out
    assert "stopped early: no better validation loss for 2 epochs" in printed
    # Every observer saw the last epoch: the console printed its line too.
    assert f"\n{len(losses):>5}  " in printed
    assert 0 < result.valid_acc <= 1


def test_each_run_gets_a_fresh_early_stopping_object():
    first = mnistlab.run("fit", epochs=30, lr=5.0, data="sample", plugins=[EXAMPLE],
                         blocked=["console"])
    second = mnistlab.run("fit", epochs=30, lr=5.0, data="sample", plugins=[EXAMPLE],
                          blocked=["console"])
    assert len(first.history) == len(second.history)


def test_stopping_from_after_batch_ends_the_run_cleanly():
    class StopAtStep:
        @hookimpl
        def after_batch(self, session, step):
            if step == 10:
                session.stop("enough")

    result = mnistlab.run("dataloader", epochs=3, data="sample", blocked=["console"],
                          plugin_objects=(StopAtStep(),))
    assert result.steps == 10 and result.history == []
    assert 0 < result.valid_acc <= 1


def test_the_result_plots_its_loss_curves():
    result = mnistlab.run("fit", epochs=2, data="sample", blocked=["console"])
    figure = result.plot()
    assert type(figure).__name__ == "Figure"
    lines = [line for ax in figure.axes for line in ax.get_lines()]
    assert any(list(line.get_xdata()) == [1, 2] for line in lines)
