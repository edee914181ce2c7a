"""The Run: its epochs and the books that count their steps, the observers around them,
stopping early, a loss that diverges, a plugin that fails mid-run, and the seeds and kernels it
trains with."""

from __future__ import annotations

import pytest
import torch
from helpers import (
    EARLY_STOPPING,
    TINY_BATCHES,
    flat_weights,
    quick_run,
    refused,
    tiny_data,
    write_plugin,
)

import mnistlab
from mnistlab import hookimpl, runner
from mnistlab.errors import MnistlabError
from mnistlab.runfolder import RunFolder

# --- epochs, steps and the books ------------------------------------------------------------


class StepCounter:
    """Counts after_batch calls and epoch times, keeps every loss."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.epochs: list[tuple[int, float]] = []

    @hookimpl
    def after_batch(self, loss):
        self.losses.append(loss)

    @hookimpl
    def after_epoch(self, result):
        self.epochs.append((result.epoch, result.seconds))


@pytest.mark.usefixtures("blank_pictures")
def test_an_epoch_written_the_tutorials_way_works_fully(tmp_path):
    """No session helpers beyond the batches and the loss, no return value: the runner
    still counts every step, times every epoch, tells the observers and resumes exactly."""
    path = write_plugin(tmp_path, """
        from mnistlab import hookimpl

        def one_epoch(session):
            model, loss_func, opt = session.model, session.loss_func, session.opt
            model.train()
            for xb, yb in session.batches("train", shuffle=True):
                pred = model(xb)
                loss = loss_func(pred, yb)

                loss.backward()
                opt.step()
                opt.zero_grad()

        @hookimpl
        def make_loop():
            return one_epoch
    """)
    mine, builtin = StepCounter(), StepCounter()
    result = quick_run("validation", epochs=2, plugins=[path], plugin_objects=(mine,))
    reference = quick_run("validation", plugin_objects=(builtin,))
    batches = TINY_BATCHES.train
    assert result.steps == len(mine.losses) == 2 * batches
    # The same first epoch as the built-in loop, step for step (the built-in one then
    # validates, which draws from the shuffling generator, so epoch 2's order differs).
    assert mine.losses[:batches] == builtin.losses
    assert [epoch for epoch, _ in mine.epochs] == [1, 2]
    assert all(seconds > 0 for _, seconds in mine.epochs)
    assert result.epochs[0].train_loss == reference.epochs[0].train_loss
    assert result.epochs[-1].valid_loss is None  # it measured nothing else

    # Resume from epoch 1 ends on the same weights as the uninterrupted run.
    out = tmp_path / "run"
    quick_run("validation", plugins=[path], out=out)
    resumed = runner.resume(out, epochs=2, plugins=[path], blocked=["console"])
    assert torch.equal(resumed.model.lin.weight, result.model.lin.weight)


def test_the_result_plots_its_loss_curves():
    result = quick_run(epochs=2)
    figure = result.plot()
    assert type(figure).__name__ == "Figure"
    lines = [line for ax in figure.axes for line in ax.get_lines()]
    assert any(list(line.get_xdata()) == [1, 2] for line in lines)


# --- observers and stopping early -----------------------------------------------------------


def test_the_early_stopping_example_stops_when_validation_stops_improving(capsys):
    # On the sample at lr 5, where the validation loss jumps about from the first epochs on.
    result = mnistlab.run("fit", epochs=30, lr=5.0, data="sample", plugins=[EARLY_STOPPING])
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
    first, second = (quick_run(epochs=30, lr=5.0, plugins=[EARLY_STOPPING]) for _ in range(2))
    assert len(first.history) < 30  # it stopped early, so a shared object would stop sooner
    assert len(first.history) == len(second.history)


def test_stopping_from_after_batch_ends_the_run_cleanly():
    class StopAtStep:
        @hookimpl
        def after_batch(self, session, step):
            if step == TINY_BATCHES.train - 1:  # inside the first epoch
                session.stop("enough")

    result = quick_run("dataloader", epochs=3, plugin_objects=(StopAtStep(),))
    assert result.steps == TINY_BATCHES.train - 1 and result.history == []
    assert 0 < result.valid_acc <= 1


# --- divergence -----------------------------------------------------------------------------


def test_a_diverging_loss_names_epoch_and_batch_and_suggests_a_smaller_lr(tmp_path):
    # The cnn stage on the sample at lr 1e6 turns NaN within its first epoch.
    line = refused("run", "--stage", "cnn", "--lr", "1e6", "--data", "sample", "--out",
                   str(tmp_path / "run"))
    assert line.startswith("the training loss became ")
    assert "in epoch 1, batch " in line and "learning rate 1e+06 is too large" in line
    assert line.endswith("the tutorial uses --lr 0.1")


def test_a_loss_that_turns_nan_later_keeps_the_last_good_checkpoint(tmp_path):
    path = write_plugin(tmp_path, f"""
        import torch
        import torch.nn.functional as F
        from mnistlab import hookimpl

        calls = [0]

        def loss(scores, target):
            # Calls with gradients on: the runner's check before training, then each
            # training batch (validation runs without gradients).
            calls[0] += torch.is_grad_enabled()
            value = F.cross_entropy(scores, target)
            return value * float("nan") if calls[0] == {1 + TINY_BATCHES.train + 3} else value

        @hookimpl
        def make_loss():
            return loss
    """, name="nan_later")
    out = tmp_path / "run"
    # The 3rd training batch of epoch 2.
    with pytest.raises(MnistlabError,
                       match=rf"in epoch 2, batch 3: .*try --lr 0.05; {out} keeps epoch 1$"):
        quick_run(epochs=3, plugins=[path], out=out)
    assert RunFolder(out).read_checkpoint()["epoch"] == 1
    assert [row["epoch"] for row in RunFolder(out).read_history()] == [1]


# --- a plugin failing mid-run ---------------------------------------------------------------


def test_an_exception_in_an_observer_names_plugin_and_hook_and_keeps_completed_epochs(tmp_path):
    path = write_plugin(tmp_path, """
        from mnistlab import hookimpl

        @hookimpl
        def after_epoch(result):
            if result.epoch == 2:
                raise ZeroDivisionError("division by zero")
    """, name="flaky")
    out = tmp_path / "run"
    assert refused("run", "--stage", "fit", "--epochs", "3", "--data", tiny_data(), "--out",
                   str(out), "--plugin", path) == (
        f"plugin {path!r} failed in hook after_epoch at line 7: ZeroDivisionError: "
        "division by zero; fix the plugin or block it with --no-plugin (--debug shows the "
        "traceback)"
    )
    assert [row["epoch"] for row in RunFolder(out).read_history()] == [1]
    assert RunFolder(out).read_checkpoint()["epoch"] == 1


def test_a_plugin_calling_sys_exit_is_no_success(tmp_path):
    plugin = write_plugin(tmp_path, """
        import sys
        from mnistlab import hookimpl

        @hookimpl
        def after_epoch():
            sys.exit(0)
    """, name="quitter")
    line = refused("run", "--stage", "fit", "--data", tiny_data(), "--epochs", "2", "--plugin",
                   plugin, "--out", str(tmp_path / "run"))
    assert line.startswith(f"plugin {plugin!r} failed in hook after_epoch at line 7: "
                           "SystemExit: 0")


# --- seeds and kernels ----------------------------------------------------------------------


def test_the_same_seed_gives_the_same_run_and_another_seed_does_not():
    def weights(seed):
        return flat_weights(quick_run("validation", seed=seed).model)

    assert torch.equal(weights(3), weights(3))
    assert not torch.equal(weights(3), weights(4))


def kernel_flags() -> tuple[bool, bool, bool, bool]:
    cudnn = torch.backends.cudnn
    return (torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            cudnn.deterministic, cudnn.benchmark)


class KernelFlagsSeen:
    """An observer that notes torch's determinism flags while the run trains."""

    def __init__(self) -> None:
        self.seen: list[tuple[bool, bool, bool, bool]] = []

    @hookimpl
    def after_epoch(self, session):
        self.seen.append(kernel_flags())


@pytest.fixture
def callers_flags():
    """Put back torch's determinism flags as they were, whatever the test set them to."""
    algorithms, warn_only, deterministic, benchmark = kernel_flags()
    yield
    torch.use_deterministic_algorithms(algorithms, warn_only=warn_only)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = benchmark


@pytest.mark.usefixtures("blank_pictures")
@pytest.mark.parametrize("deterministic", [True, False])
def test_a_run_trains_with_the_kernels_it_records_and_gives_the_callers_back(
        deterministic, callers_flags, tmp_path):
    # The caller's own flags, the opposite of the run's: a notebook's code, say.
    torch.use_deterministic_algorithms(not deterministic)
    torch.backends.cudnn.deterministic = not deterministic
    torch.backends.cudnn.benchmark = deterministic
    callers = kernel_flags()

    seen = KernelFlagsSeen()
    out = tmp_path / "run"
    quick_run(deterministic=deterministic, out=out, plugin_objects=(seen,))
    # The CPU has no nondeterministic kernel to avoid: the run leaves torch's flags alone.
    during = callers
    assert seen.seen == [during]
    assert kernel_flags() == callers

    # Resume trains with the recorded setting, not the caller's.
    assert RunFolder(out).read_record()["settings"]["deterministic"] is deterministic
    runner.resume(out, epochs=2, blocked=["console"], plugin_objects=(seen,))
    assert seen.seen == [during, during]
    assert kernel_flags() == callers
