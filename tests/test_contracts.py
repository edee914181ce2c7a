"""Every piece's contract is checked where it enters the run, naming the user's plugin.

Each test writes the mistake a learner makes, runs it through the command
line and expects exit status 2, one line, no traceback, and the plugin's name.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import mnistlab
from mnistlab import hookimpl
from mnistlab.cli import cli
from mnistlab.errors import MnistlabError


def plugin(folder: Path, body: str, name: str = "mine") -> str:
    path = folder / f"{name}.py"
    path.write_text("from mnistlab import hookimpl\n" + textwrap.dedent(body))
    return str(path)


def cli_run(*args: str, stage: str = "fit", epochs: str = "1"):
    return CliRunner().invoke(cli, ["run", "--stage", stage, "--epochs", epochs, "--data",
                                    "sample", "--no-save", *args])


def refused(*args: str, stage: str = "fit", epochs: str = "1") -> str:
    """The one error line of a run that must be refused."""
    result = cli_run(*args, stage=stage, epochs=epochs)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line[len("error: "):]


# --- the loop: the runner owns the epochs -----------------------------------

TUTORIAL_FIT = """
    def fit(session):
        model, loss_func, opt = session.model, session.loss_func, session.opt
        for epoch in range(session.config.epochs):
            model.train()
            for xb, yb in session.batches("train", shuffle=True):
                loss = loss_func(model(xb), yb)
                loss.backward()
                opt.step()
                opt.zero_grad()

    @hookimpl
    def make_loop():
        return fit
"""


def test_a_loop_with_its_own_epoch_loop_is_refused_before_training_twice(tmp_path):
    path = plugin(tmp_path, TUTORIAL_FIT)
    line = refused("--plugin", path, epochs="2")
    assert line == (f"plugin {path!r} (--plugin): the loop began a second pass over the "
                    "training split in epoch 1; the runner calls it once per epoch, so drop its "
                    "own `for epoch in ...`")


def test_a_generator_loop_is_refused_before_training(tmp_path):
    path = plugin(tmp_path, """
        from mnistlab.types import EpochResult

        def fit(session):
            for xb, yb in session.batches("train"):
                session.loss_func(session.model(xb), yb).backward()
            yield EpochResult(1, train_loss=0.0)

        @hookimpl
        def make_loop():
            return fit
    """)
    assert refused("--plugin", path) == (
        f"plugin {path!r} (--plugin): the loop fit() is a generator; the runner calls it once "
        "per epoch, so it trains one epoch and returns what it measured (a dict, or None) "
        "instead of yielding")


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


def test_an_epoch_written_the_tutorials_way_works_fully(tmp_path, sample_batches):
    """No session helpers beyond the batches and the loss, no return value: the runner
    still counts every step, times every epoch, tells the observers and resumes exactly."""
    path = plugin(tmp_path, """
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
    result = mnistlab.run("validation", epochs=2, data="sample", plugins=[path],
                          plugin_objects=(mine,), blocked=["console"])
    reference = mnistlab.run("validation", epochs=1, data="sample", plugin_objects=(builtin,),
                             blocked=["console"])
    batches = sample_batches.train
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
    mnistlab.run("validation", epochs=1, data="sample", plugins=[path], out=str(out),
                 blocked=["console"])
    resumed = mnistlab.runner.resume(out, epochs=2, plugins=[path], blocked=["console"])
    assert torch.equal(resumed.model.lin.weight, result.model.lin.weight)


def test_a_loop_that_ignores_the_loss_piece_is_refused(tmp_path):
    path = plugin(tmp_path, """
        import torch.nn.functional as F

        def one_epoch(session):
            for xb, yb in session.batches("train"):
                F.cross_entropy(session.model(xb), yb).backward()
                session.opt.step()
                session.opt.zero_grad()

        @hookimpl
        def make_loop():
            return one_epoch
    """)
    assert refused("--plugin", path) == (
        f"plugin {path!r} (--plugin): the loop took training batch 1 of epoch 1 without "
        "computing its loss with session.loss_func; use it, so the run can count and record "
        "the step")


def test_a_loop_that_trains_nothing_is_refused(tmp_path):
    path = plugin(tmp_path, """
        @hookimpl
        def make_loop():
            return lambda session: None
    """)
    assert refused("--plugin", path) == (
        f"plugin {path!r} (--plugin): the loop took no training batch in epoch 1; iterate "
        "session.batches('train') and compute each batch's loss with session.loss_func")


def test_a_loop_returning_an_unknown_measurement_is_refused(tmp_path):
    path = plugin(tmp_path, """
        from mnistlab.plugins.fit_loop import fit_epoch

        @hookimpl
        def make_loop():
            return lambda session: {**fit_epoch(session), "val_loss": 1.0}
    """)
    assert refused("--plugin", path) == (
        f"plugin {path!r} (--plugin): the loop returned 'val_loss'; return None or a dict "
        "with any of valid_loss, valid_acc, last_batch_loss, last_batch_acc")


@pytest.mark.parametrize(("value", "shown"), [('"high"', "'high'"), ("[1.0, 2.0]", "[1.0, 2.0]")])
def test_a_loop_returning_a_measurement_that_is_no_number_is_refused(tmp_path, value, shown):
    path = plugin(tmp_path, f"""
        from mnistlab.plugins.fit_loop import fit_epoch

        @hookimpl
        def make_loop():
            return lambda session: {{**fit_epoch(session), "valid_acc": {value}}}
    """)
    assert refused("--plugin", path) == (
        f"plugin {path!r} (--plugin): the loop returned valid_acc={shown}; return each "
        "measurement as one number")


# --- pieces: instances, shapes, scalars ---------------------------------------


SAMPLE_AS = """
    import torch
    from mnistlab import data
    from mnistlab.types import Tensors

    @hookimpl
    def make_data():
        s = data.load("sample")
        x_train, y_train = torch.tensor(s.x_train), torch.tensor(s.y_train)
        x_valid, y_valid = torch.tensor(s.x_valid), torch.tensor(s.y_valid)
        return Tensors({})
"""


@pytest.mark.parametrize(("given", "message"), [
    ("x_train, y_train.float(), x_valid, y_valid",
     "y_train is torch.float32 shaped (4000,); the loss takes one int64 class per example: use "
     ".long()"),
    ("(x_train * 255).to(torch.uint8), y_train, x_valid, y_valid",
     "x_train holds torch.uint8 values, and the model computes with floats; use .float() (and "
     "divide 0-255 pixels by 255)"),
    ("s.x_train, s.y_train, s.x_valid, s.y_valid",
     "x_train is a numpy.ndarray, not a torch tensor; convert it with torch.tensor(...)"),
    ("x_train, y_train, x_valid, y_valid[:10]",
     "x_valid has 1000 examples but y_valid has 10 targets; give every example its target"),
    ("x_train, y_train, x_valid.view(-1, 28, 28), y_valid",
     "examples are shaped (784,) in x_train but (28, 28) in x_valid; give both splits one shape"),
])
def test_data_the_loss_or_the_model_cannot_take_is_blamed_on_the_data_plugin(tmp_path, given,
                                                                             message):
    path = plugin(tmp_path, SAMPLE_AS.format(given))
    line = refused("--plugin", path)
    assert line == f"plugin {path!r} (--plugin): the data from make_data is wrong: {message}"


@pytest.mark.parametrize(("body", "message"), [
    ("""
        from torch import nn
        @hookimpl
        def make_model():
            return nn.Sequential
     """, "returned the class Sequential from make_model, not an instance; return Sequential()"),
    ("""
        from torch import nn
        @hookimpl
        def make_loss():
            return nn.CrossEntropyLoss
     """, "returned the class CrossEntropyLoss from make_loss, not an instance; return "
          "CrossEntropyLoss()"),
    ("""
        from torch import optim
        @hookimpl
        def make_update(model):
            return optim.Adam
     """, "returned the class Adam from make_update, not an instance; return "
          "Adam(model.parameters(), lr=config.lr)"),
    ("""
        @hookimpl
        def make_update(model):
            return model
     """, "returned Mnist_Logistic from make_update, which has no step() method; return a "
          "torch.optim optimizer or an object with step() and zero_grad()"),
    ("""
        from torch import nn
        @hookimpl
        def make_model():
            return nn.Linear(784, 128)
     """, "the model returns (128, 128) for a batch of 128 inputs shaped (128, 784); the data "
          "has 10 classes, so it must return scores shaped (128, 10)"),
    ("""
        from torch import nn
        @hookimpl
        def make_model():
            return nn.Linear(784, 5)
     """, "the model returns (128, 5) for a batch of 128 inputs shaped (128, 784); the data has "
          "10 classes, so it must return scores shaped (128, 10)"),
    ("""
        from torch import nn
        @hookimpl
        def make_model():
            return nn.Sequential(nn.Conv2d(1, 10, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
     """, "the model fails on the inputs that plugin 'dataloader' hands out at this stage, "
          "shaped (128, 784): RuntimeError:"),
    ("""
        import torch.nn.functional as F
        @hookimpl
        def make_loss():
            return lambda scores, targets: F.cross_entropy(scores, targets, reduction="none")
     """, "the loss of a batch is shaped (128,), not a scalar tensor; reduce it to one number, "
          "for example with .mean()"),
    ("""
        @hookimpl
        def make_loss():
            return lambda scores, targets: 0.5
     """, "the loss of a batch is float, not a scalar tensor"),
    ("""
        import torch
        @hookimpl
        def make_device():
            return torch.device("cuda", 99)
     """, "returned cuda:99 from make_device, but cuda "),
    ("""
        from torch import nn, optim
        @hookimpl
        def make_update(config, model):
            return optim.SGD(nn.Linear(784, 10).parameters(), lr=config.lr)
     """, "the optimizer from make_update holds 2 of its 2 tensors outside the model, so "
          "training would not change the model; build it from the model that make_update is "
          "given: optim.SGD(model.parameters(), lr=config.lr)"),
    ("""
        from torch import nn
        @hookimpl
        def make_model():
            return nn.Linear(784, 10).requires_grad_(False)
     """, "the model's scores depend on no weight that requires grad, so training cannot "
          "change them; keep requires_grad on its weights"),
    ("""
        import torch
        import torch.nn.functional as F
        @hookimpl
        def make_loss():
            return lambda scores, targets: torch.tensor(F.cross_entropy(scores, targets).item())
     """, "the loss of a batch is cut off from the model's weights (no gradient reaches them); "
          "compute it from the scores with torch operations, without .item(), .detach() or "
          "torch.tensor()"),
    ("""
        cache = {}

        @hookimpl
        def make_batches(x, y, batch_size):
            if id(x) not in cache:  # one generator per split, kept: used up after one pass
                cache[id(x)] = ((x[i:i + batch_size], y[i:i + batch_size])
                                for i in range(0, len(x), batch_size))
            return cache[id(x)]
     """, "handed out the same iterator as for the last pass over these examples, used up by "
          "then; return a new one (a generator expression, a DataLoader) on every call"),
    ("""
        @hookimpl
        def make_batches(x, y, batch_size):
            return ((x[i:i + batch_size],) for i in range(0, len(x), batch_size))
     """, "hands out a tuple of 1 (Tensor); each batch must be an (inputs, targets) pair of "
          "tensors"),
    ("""
        @hookimpl
        def make_batches(x, y, batch_size):
            return ((x[i:i + batch_size], y[:3]) for i in range(0, len(x), batch_size))
     """, "hands out 128 inputs with 3 targets; each batch must pair every input with its "
          "target"),
])
def test_a_broken_piece_is_refused_naming_the_users_plugin(tmp_path, body, message):
    path = plugin(tmp_path, body)
    line = refused("--plugin", path)
    assert line.startswith(f"plugin {path!r} (--plugin)")
    assert message in line


def test_a_cnn_fed_rows_says_which_shape_the_batches_piece_hands_out(tmp_path):
    path = plugin(tmp_path, """
        from mnistlab.plugins import adaptive_cnn

        @hookimpl
        def make_model():
            return adaptive_cnn.make_model()
    """)
    line = refused("--plugin", path, stage="cnn")
    assert line.startswith(f"plugin {path!r} (--plugin): the model fails on the inputs that "
                           "plugin 'dataloader' hands out at this stage, shaped (128, 784)")


# --- nothing a user wrote is ignored without a word ---------------------------


def test_a_hook_without_the_marker_is_refused(tmp_path):
    path = tmp_path / "unmarked.py"
    path.write_text("def make_model():\n    return None\n")
    assert refused("--plugin", str(path)) == (
        f"plugin {str(path)!r}: make_model is named like a hook but not marked as one; "
        "decorate it with @hookimpl (`from mnistlab import hookimpl`)")


def test_a_marker_of_another_project_is_refused(tmp_path):
    path = tmp_path / "foreign.py"
    path.write_text("import pluggy\nhookimpl = pluggy.HookimplMarker('myproject')\n\n"
                    "@hookimpl\ndef make_model():\n    return None\n")
    assert refused("--plugin", str(path)) == (
        f"plugin {str(path)!r}: make_model is marked as a hook of project 'myproject', not "
        "mnistlab; use `from mnistlab import hookimpl`")


def test_a_class_of_hooks_never_instantiated_is_refused_with_the_fix(tmp_path):
    path = plugin(tmp_path, """
        class Recorder:
            @hookimpl
            def after_epoch(self, result):
                pass
    """)
    assert refused("--plugin", path) == (
        f"plugin {path!r} implements no hook; its hooks are methods of class Recorder: add "
        "`def make_plugin(): return Recorder()` to the module")


def test_a_piece_hook_returning_none_says_who_filled_the_piece(tmp_path):
    path = plugin(tmp_path, """
        from torch import nn

        @hookimpl
        def make_model():
            model = nn.Linear(784, 10)  # forgot to return it
    """)
    result = cli_run("--plugin", path, stage="linear")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines() == [
        f"note: {path!r} returned None from make_model; plugin 'linear_model' fills the model"]


def test_trace_shows_who_answered_each_piece(tmp_path):
    path = plugin(tmp_path, """
        @hookimpl
        def make_loss():
            return None
    """)
    result = cli_run("--plugin", path, "--trace", epochs="0")
    assert result.exit_code == 0, result.output
    assert (f"[trace] make_loss: passed by {path} (None)\n"
            "[trace] make_loss: filled by cross_entropy with function cross_entropy\n"
            ) in result.stderr
    assert "[trace] make_update: filled by sgd with a SGD" in result.stderr


# --- the header and config.json tell the truth --------------------------------


def test_the_header_shows_the_optimizer_really_built_and_who_filled_it(tmp_path):
    path = plugin(tmp_path, """
        from torch import optim

        @hookimpl
        def make_update(model):
            return optim.Adam(model.parameters(), lr=1e-3)
    """)
    result = cli_run("--plugin", path, epochs="0")
    assert result.exit_code == 0, result.output
    assert "update Adam(lr=0.001, betas=(0.9, 0.999))" in result.stdout
    assert f"swapped in: update by {path} (--plugin)" in result.stdout
    assert "lr 0.5" not in result.stdout


class Recorder:
    @hookimpl
    def after_epoch(self, result):
        pass


class SmallModel:
    """A plugin object that fills the model piece."""

    @hookimpl
    def make_model(self):
        return torch.nn.Linear(784, 10)


def test_plugin_objects_are_recorded_and_a_folder_needs_the_ones_that_fill_pieces(tmp_path):
    out = tmp_path / "run"
    mnistlab.run("fit", epochs=1, data="sample", out=str(out), blocked=["console"],
                 plugin_objects=(Recorder(), SmallModel()))
    import json

    record = json.loads((out / "config.json").read_text())
    assert record["pieces"]["model"] == {"plugin": "SmallModel", "origin": "object"}
    assert ["Recorder", "object", ["after_epoch"]] in record["plugins"]
    with pytest.raises(MnistlabError, match=r"the model of the run in .* came from the plugin "
                                            r"object 'SmallModel', which a folder cannot "
                                            r"rebuild; pass it again"):
        mnistlab.load(str(out))
    model = mnistlab.load(str(out), plugin_objects=(SmallModel(),))
    assert isinstance(model, torch.nn.Linear)


def test_an_optimizer_of_part_of_the_model_is_fine(tmp_path):
    # Training only the last layer is a choice, not a mistake: every tensor it holds is
    # the model's.
    path = plugin(tmp_path, """
        from torch import optim

        @hookimpl
        def make_update(config, model):
            return optim.SGD([model.lin.bias], lr=config.lr)
    """)
    result = cli_run("--plugin", path)
    assert result.exit_code == 0, result.output


def test_a_loop_that_never_steps_the_optimizer_is_refused_after_its_first_epoch(
        tmp_path, sample_batches):
    path = plugin(tmp_path, """
        def fit_epoch(session):
            model, loss_func, opt = session.model, session.loss_func, session.opt
            for xb, yb in session.batches("train", shuffle=True):
                loss_func(model(xb), yb).backward()
                opt.zero_grad()

        @hookimpl
        def make_loop():
            return fit_epoch
    """)
    line = refused("--plugin", path, epochs="3")
    assert line == (f"plugin {path!r} (--plugin): no weight changed in epoch 1, over "
                    f"{sample_batches.train} "
                    "training batches; call opt.step() after loss.backward(), and check that "
                    "the update moves the model's weights (plugin 'sgd' filled it)")
