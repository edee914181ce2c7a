"""Every piece's contract is checked where it enters the run, naming the user's plugin.

Each test writes the mistake a learner makes, runs it through the command line and expects
exit status 2, one line, no traceback, and the plugin's name. The runs train on the tiny data
(``helpers.train_command``): every check here fails before, or within, the first epoch.
"""

from __future__ import annotations

import pytest
from helpers import TINY_BATCHES, invoke, quick_run, refused, train_command, write_plugin

from mnistlab.errors import MnistlabError, PluginError

# --- the loop: the runner owns the epochs -----------------------------------

TUTORIAL_FIT = """
    from mnistlab import hookimpl

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
    path = write_plugin(tmp_path, TUTORIAL_FIT)
    line = refused(*train_command("--plugin", path, epochs=2))
    assert line == (f"plugin {path!r} (--plugin): the loop began a second pass over the "
                    "training split in epoch 1; the runner calls it once per epoch, so drop its "
                    "own `for epoch in ...`")


def test_a_generator_loop_is_refused_before_training(tmp_path):
    path = write_plugin(tmp_path, """
        from mnistlab import hookimpl
        from mnistlab.types import EpochResult

        def fit(session):
            for xb, yb in session.batches("train"):
                session.loss_func(session.model(xb), yb).backward()
            yield EpochResult(1, train_loss=0.0)

        @hookimpl
        def make_loop():
            return fit
    """)
    assert refused(*train_command("--plugin", path)) == (
        f"plugin {path!r} (--plugin): the loop fit() is a generator; the runner calls it once "
        "per epoch, so it trains one epoch and returns what it measured (a dict, or None) "
        "instead of yielding")


def test_a_loop_that_ignores_the_loss_piece_is_refused(tmp_path):
    path = write_plugin(tmp_path, """
        import torch.nn.functional as F
        from mnistlab import hookimpl

        def one_epoch(session):
            for xb, yb in session.batches("train"):
                F.cross_entropy(session.model(xb), yb).backward()
                session.opt.step()
                session.opt.zero_grad()

        @hookimpl
        def make_loop():
            return one_epoch
    """)
    assert refused(*train_command("--plugin", path)) == (
        f"plugin {path!r} (--plugin): the loop took training batch 1 of epoch 1 without "
        "computing its loss with session.loss_func; use it, so the run can count and record "
        "the step")


def loop_with_batch(tmp_path, *extra: str, after: tuple[str, ...] = ()) -> str:
    """A loop plugin that trains each batch as fit's does, then runs ``extra`` lines; after the
    last batch, the ``after`` lines."""
    lines = "".join(f"\n                {line}" for line in extra)
    lines += "".join(f"\n            {line}" for line in after)
    return write_plugin(tmp_path, f"""
        import torch
        from mnistlab import hookimpl

        def one_epoch(session):
            for xb, yb in session.batches("train"):
                session.loss_func(session.model(xb), yb).backward()
                session.opt.step()
                session.opt.zero_grad(){lines}

        @hookimpl
        def make_loop():
            return one_epoch
    """)


def test_a_loop_that_steps_twice_per_batch_is_refused(tmp_path):
    path = loop_with_batch(tmp_path, "session.opt.step()")
    assert refused(*train_command("--plugin", path)) == (
        f"plugin {path!r} (--plugin): the loop called opt.step() 2 times for training batch 1 "
        "of epoch 1; call it once per batch")


def test_a_loop_that_reports_a_number_for_a_loss_is_refused(tmp_path):
    path = loop_with_batch(tmp_path, "session.report_loss(0)")
    assert refused(*train_command("--plugin", path)) == (
        f"plugin {path!r} (--plugin): session.report_loss got 0; give it the batch's loss, a "
        "tensor of one number")


def test_a_loop_that_changes_the_weights_by_hand_is_refused(tmp_path):
    # As a weight constraint after each step would: legitimate in an update plugin, not here.
    path = loop_with_batch(tmp_path, "with torch.no_grad():",
                           "    session.model.lin.weight.clamp_(-0.01, 0.01)")
    assert refused(*train_command("--plugin", path)) == (
        f"plugin {path!r} (--plugin): the loop changed the model's weights by hand in epoch 1, "
        "before training batch 2; only the update (plugin 'sgd' filled it) may change them: "
        "move that change into an update plugin (make_update)")


def test_a_loop_that_changes_the_weights_after_its_last_step_is_refused(tmp_path):
    path = loop_with_batch(tmp_path, after=("with torch.no_grad():",
                                            "    session.model.lin.bias.zero_()"))
    assert refused(*train_command("--plugin", path)) == (
        f"plugin {path!r} (--plugin): the loop changed the model's weights by hand in epoch 1, "
        "after its last training batch; only the update (plugin 'sgd' filled it) may change "
        "them: move that change into an update plugin (make_update)")


def test_a_loop_that_trains_nothing_is_refused(tmp_path):
    path = write_plugin(tmp_path, """
        from mnistlab import hookimpl

        @hookimpl
        def make_loop():
            return lambda session: None
    """)
    assert refused(*train_command("--plugin", path)) == (
        f"plugin {path!r} (--plugin): the loop took no training batch in epoch 1; iterate "
        "session.batches('train') and compute each batch's loss with session.loss_func")


def test_a_loop_returning_an_unknown_measurement_is_refused(tmp_path):
    path = write_plugin(tmp_path, """
        from mnistlab import hookimpl
        from mnistlab.plugins.fit_loop import fit_epoch

        @hookimpl
        def make_loop():
            return lambda session: {**fit_epoch(session), "val_loss": 1.0}
    """)
    assert refused(*train_command("--plugin", path)) == (
        f"plugin {path!r} (--plugin): the loop returned 'val_loss'; return None or a dict "
        "with any of valid_loss, valid_acc, last_batch_loss, last_batch_acc")


@pytest.mark.parametrize(("value", "shown"), [('"high"', "'high'"), ("[1.0, 2.0]", "[1.0, 2.0]")])
def test_a_loop_returning_a_measurement_that_is_no_number_is_refused(tmp_path, value, shown):
    path = write_plugin(tmp_path, f"""
        from mnistlab import hookimpl
        from mnistlab.plugins.fit_loop import fit_epoch

        @hookimpl
        def make_loop():
            return lambda session: {{**fit_epoch(session), "valid_acc": {value}}}
    """)
    assert refused(*train_command("--plugin", path)) == (
        f"plugin {path!r} (--plugin): the loop returned valid_acc={shown}; return each "
        "measurement as one number")


def test_a_loop_that_never_steps_the_optimizer_is_refused_after_its_first_epoch(tmp_path):
    path = write_plugin(tmp_path, """
        from mnistlab import hookimpl

        def fit_epoch(session):
            model, loss_func, opt = session.model, session.loss_func, session.opt
            for xb, yb in session.batches("train", shuffle=True):
                loss_func(model(xb), yb).backward()
                opt.zero_grad()

        @hookimpl
        def make_loop():
            return fit_epoch
    """)
    line = refused(*train_command("--plugin", path, epochs=3))
    assert line == (f"plugin {path!r} (--plugin): no weight changed in epoch 1, over "
                    f"{TINY_BATCHES.train} "
                    "training batches; call opt.step() after loss.backward(), and check that "
                    "the update moves the model's weights (plugin 'sgd' filled it)")


# --- pieces: instances, shapes, scalars ---------------------------------------

# The data is the sample's, so the messages name its sizes (4,000 train, 1,000 valid).
SAMPLE_AS = """
    import torch
    from mnistlab import data, hookimpl
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
    path = write_plugin(tmp_path, SAMPLE_AS.format(given))
    line = refused(*train_command("--plugin", path))
    assert line == f"plugin {path!r} (--plugin): the data from make_data is wrong: {message}"


def test_an_empty_split_is_one_line(tmp_path):
    plugin = write_plugin(tmp_path, """
        import torch
        from mnistlab import hookimpl
        from mnistlab.types import Tensors

        @hookimpl
        def make_data():
            x, y = torch.rand(100, 784), torch.randint(0, 10, (100,))
            return Tensors(x, y, x[:0], y[:0], name="tiny")
    """, name="empty")
    assert refused("run", "--stage", "fit", "--plugin", plugin, "--out",
                   str(tmp_path / "run")) == (
        "the valid split of tiny is empty; give data with examples in both splits")


@pytest.mark.parametrize(("body", "message"), [
    ("""
        from mnistlab import hookimpl
        from torch import nn
        @hookimpl
        def make_model():
            return nn.Sequential
     """, "returned the class Sequential from make_model, not an instance; return Sequential()"),
    ("""
        from mnistlab import hookimpl
        from torch import nn
        @hookimpl
        def make_loss():
            return nn.CrossEntropyLoss
     """, "returned the class CrossEntropyLoss from make_loss, not an instance; return "
          "CrossEntropyLoss()"),
    ("""
        from mnistlab import hookimpl
        from torch import optim
        @hookimpl
        def make_update(model):
            return optim.Adam
     """, "returned the class Adam from make_update, not an instance; return "
          "Adam(model.parameters(), lr=config.lr)"),
    ("""
        from mnistlab import hookimpl
        @hookimpl
        def make_update(model):
            return model
     """, "returned Mnist_Logistic from make_update, which has no step() method; return a "
          "torch.optim optimizer or an object with step() and zero_grad()"),
    ("""
        from mnistlab import hookimpl
        from torch import nn
        @hookimpl
        def make_model():
            return nn.Linear(784, 128)
     """, "the model returns (128, 128) for a batch of 128 inputs shaped (128, 784); the data "
          "has 10 classes, so it must return scores shaped (128, 10)"),
    ("""
        from mnistlab import hookimpl
        from torch import nn
        @hookimpl
        def make_model():
            return nn.Linear(784, 5)
     """, "the model returns (128, 5) for a batch of 128 inputs shaped (128, 784); the data has "
          "10 classes, so it must return scores shaped (128, 10)"),
    ("""
        from mnistlab import hookimpl
        from torch import nn
        @hookimpl
        def make_model():
            return nn.Sequential(nn.Conv2d(1, 10, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
     """, "the model fails on the inputs that plugin 'dataloader' hands out at this stage, "
          "shaped (128, 784): RuntimeError:"),
    ("""
        from mnistlab import hookimpl
        import torch.nn.functional as F
        @hookimpl
        def make_loss():
            return lambda scores, targets: F.cross_entropy(scores, targets, reduction="none")
     """, "the loss of a batch is shaped (128,), not a scalar tensor; reduce it to one number, "
          "for example with .mean()"),
    ("""
        from mnistlab import hookimpl
        @hookimpl
        def make_loss():
            return lambda scores, targets: 0.5
     """, "the loss of a batch is float, not a scalar tensor"),
    ("""
        from mnistlab import hookimpl
        import torch
        @hookimpl
        def make_device():
            return torch.device("cuda", 99)
     """, "returned cuda:99 from make_device, but cuda "),
    ("""
        from mnistlab import hookimpl
        from torch import nn, optim
        @hookimpl
        def make_update(config, model):
            return optim.SGD(nn.Linear(784, 10).parameters(), lr=config.lr)
     """, "the optimizer from make_update holds 2 of its 2 tensors outside the model, so "
          "training would not change the model; build it from the model that make_update is "
          "given: optim.SGD(model.parameters(), lr=config.lr)"),
    ("""
        from mnistlab import hookimpl
        from torch import nn
        @hookimpl
        def make_model():
            return nn.Linear(784, 10).requires_grad_(False)
     """, "the model's scores depend on no weight that requires grad, so training cannot "
          "change them; keep requires_grad on its weights"),
    ("""
        from mnistlab import hookimpl
        import torch
        import torch.nn.functional as F
        @hookimpl
        def make_loss():
            return lambda scores, targets: torch.tensor(F.cross_entropy(scores, targets).item())
     """, "the loss of a batch is cut off from the model's weights (no gradient reaches them); "
          "compute it from the scores with torch operations, without .item(), .detach() or "
          "torch.tensor()"),
    ("""
        from mnistlab import hookimpl
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
        from mnistlab import hookimpl
        @hookimpl
        def make_batches(x, y, batch_size):
            return ((x[i:i + batch_size],) for i in range(0, len(x), batch_size))
     """, "hands out a tuple of 1 (Tensor); each batch must be an (inputs, targets) pair of "
          "tensors"),
    ("""
        from mnistlab import hookimpl
        @hookimpl
        def make_batches(x, y, batch_size):
            return ((x[i:i + batch_size], y[:3]) for i in range(0, len(x), batch_size))
     """, "hands out 128 inputs with 3 targets; each batch must pair every input with its "
          "target"),
])
def test_a_broken_piece_is_refused_naming_the_users_plugin(tmp_path, body, message):
    path = write_plugin(tmp_path, body)
    line = refused(*train_command("--plugin", path))
    assert line.startswith(f"plugin {path!r} (--plugin)")
    assert message in line


def test_a_cnn_fed_rows_says_which_shape_the_batches_piece_hands_out(tmp_path):
    path = write_plugin(tmp_path, """
        from mnistlab import hookimpl
        from mnistlab.plugins import adaptive_cnn

        @hookimpl
        def make_model():
            return adaptive_cnn.make_model()
    """)
    line = refused(*train_command("--plugin", path, stage="cnn"))
    assert line.startswith(f"plugin {path!r} (--plugin): the model fails on the inputs that "
                           "plugin 'dataloader' hands out at this stage, shaped (128, 784)")


def test_an_exception_in_a_plugins_model_names_the_plugin_and_its_hook(tmp_path):
    path = write_plugin(tmp_path, """
        from torch import nn
        from mnistlab import hookimpl

        class Broken(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(784, 10)

            def forward(self, xb):
                return self.lin(xb.view(-1, 28))

        @hookimpl
        def make_model():
            return Broken()
    """, name="badmodel")
    with pytest.raises(PluginError, match=r"plugin .*badmodel.py' \(--plugin\): the model fails "
                                          r"on the inputs that plugin 'dataloader' hands out at "
                                          r"this stage, shaped \(128, 784\): RuntimeError"):
        quick_run(plugins=[path])


def test_a_model_that_is_not_callable_is_refused(tmp_path):
    path = write_plugin(tmp_path, """
        from mnistlab import hookimpl

        @hookimpl
        def make_model():
            return "a string"
    """, name="notamodel")
    with pytest.raises(MnistlabError, match=r"notamodel.py' \(--plugin\) returned str from "
                                            r"make_model, which is not callable"):
        quick_run(plugins=[path])


def test_an_update_without_step_is_refused(tmp_path):
    path = write_plugin(tmp_path, """
        from mnistlab import hookimpl

        @hookimpl
        def make_update():
            return object()
    """, name="nostep")
    with pytest.raises(MnistlabError, match=r"has no step\(\) method"):
        quick_run(plugins=[path])


def test_an_optimizer_of_part_of_the_model_is_fine(tmp_path):
    # Training only the last layer is a choice, not a mistake: every tensor it holds is
    # the model's.
    path = write_plugin(tmp_path, """
        from torch import optim
        from mnistlab import hookimpl

        @hookimpl
        def make_update(config, model):
            return optim.SGD([model.lin.bias], lr=config.lr)
    """)
    result = invoke(*train_command("--plugin", path))
    assert result.exit_code == 0, result.output
