"""Each piece's contract, checked where the piece enters the run.

A broken contract found here is one line naming the plugin that filled the
piece and the fix. Found later, it would be a traceback from deep inside the
loop, blaming the built-in loop that tripped over it.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import torch

from mnistlab.errors import PluginError, one_line
from mnistlab.stages import PIECE_HOOKS
from mnistlab.types import Filled, Tensors
from mnistlab.words import plural

if TYPE_CHECKING:
    from mnistlab.session import Session


# How each piece's constructor is called, for the fix when a class comes back.
_CALL = {"model": "{}()", "loss": "{}()", "update": "{}(model.parameters(), lr=config.lr)"}


def require_instance(filled: Filled) -> None:
    """Refuse a class where an instance belongs: ``return Model`` for ``return Model()``."""
    if inspect.isclass(filled.value):
        name = filled.value.__name__
        fix = _CALL.get(filled.piece, "{}(...)").format(name)
        raise PluginError(f"{filled.who} returned the class {name} from "
                          f"{PIECE_HOOKS[filled.piece]}, not an instance; return {fix}")


def check_data(filled: Filled) -> Tensors:
    data = filled.value
    if not isinstance(data, Tensors):
        raise PluginError(f"{filled.who} returned {type(data).__name__} from make_data; "
                          "return mnistlab.types.Tensors(x_train, y_train, x_valid, y_valid)")
    problem = _split_problem(data, "train") or _split_problem(data, "valid")
    if problem is None and data.x_train.shape[1:] != data.x_valid.shape[1:]:
        problem = (f"examples are shaped {tuple(data.x_train.shape[1:])} in x_train but "
                   f"{tuple(data.x_valid.shape[1:])} in x_valid; give both splits one shape")
    if problem is None:
        problem = _class_problem(data)
    if problem:
        raise PluginError(f"{filled.who}: the data from make_data is wrong: {problem}")
    return data


def _class_problem(data: Tensors) -> str | None:
    """Targets outside the classes, or a class with no training example, or None."""
    declared = data.num_classes
    if declared is not None and (isinstance(declared, bool) or not isinstance(declared, int)
                                 or declared < 2):
        return f"num_classes is {declared!r}; declare the number of classes, 2 or more"
    for split in ("train", "valid"):
        y = data.split(split)[1]
        if len(y) and (y.min() < 0 or (declared is not None and y.max() >= declared)):
            wrong = int(y.min()) if y.min() < 0 else int(y.max())
            allowed = f"0 to {declared - 1}" if declared is not None else "0 or more"
            return (f"y_{split} holds the class {wrong}, outside the classes {allowed}; "
                    "give each example its class number" + (
                        "" if declared is None else ", or declare num_classes to match"))
    if declared is not None and len(data.y_train):
        missing = sorted(set(range(declared)) - set(data.y_train.unique().tolist()))
        if missing:
            return (f"y_train holds no example of class {', '.join(map(str, missing))} of the "
                    f"{declared} that {data.name} declares, so training could never learn it; "
                    "give the training split examples of every class")
    return None


def _split_problem(data: Tensors, split: str) -> str | None:
    """What is wrong with one split for the loss and the model, or None."""
    x, y = data.split(split)
    for name, tensor in ((f"x_{split}", x), (f"y_{split}", y)):
        if not isinstance(tensor, torch.Tensor):
            kind = type(tensor)
            where = "" if kind.__module__ == "builtins" else kind.__module__.split(".")[0] + "."
            return (f"{name} is a {where}{kind.__name__}, not a torch tensor; convert it with "
                    "torch.tensor(...)")
    if not x.is_floating_point():
        return (f"x_{split} holds {x.dtype} values, and the model computes with floats; use "
                ".float() (and divide 0-255 pixels by 255)")
    if y.dtype != torch.int64 or y.dim() != 1:
        return (f"y_{split} is {y.dtype} shaped {tuple(y.shape)}; the loss takes one int64 "
                "class per example: use .long()")
    if len(x) != len(y):
        return (f"x_{split} has {plural(len(x), 'example')} but y_{split} has "
                f"{plural(len(y), 'target')}; give every example its target")
    return None


def check_device(filled: Filled) -> torch.device:
    try:
        return torch.device(filled.value)
    except (RuntimeError, TypeError):
        raise PluginError(f"{filled.who} returned {filled.value!r} from make_device; "
                          "return a torch.device such as torch.device('cpu')") from None


def check_model(filled: Filled) -> Any:
    require_instance(filled)
    model = filled.value
    if not (callable(model) and callable(getattr(model, "parameters", None))):
        raise PluginError(f"{filled.who} returned {type(model).__name__} from make_model, which "
                          "is not callable with a parameters() method; return an nn.Module")
    return model


def check_loss(filled: Filled) -> Any:
    require_instance(filled)
    if not callable(filled.value):
        raise PluginError(f"{filled.who} returned {type(filled.value).__name__} from make_loss, "
                          "which is not callable; return a function loss(scores, targets)")
    return filled.value


def check_update(filled: Filled, model: Any) -> Any:
    require_instance(filled)
    for method in ("step", "zero_grad"):
        if not callable(getattr(filled.value, method, None)):
            raise PluginError(
                f"{filled.who} returned {type(filled.value).__name__} from make_update, which "
                f"has no {method}() method; return a torch.optim optimizer or an object with "
                "step() and zero_grad()")
    # An optimizer steps the tensors it holds: any that are not the model's would train
    # something else, silently. (An update written by hand holds no param_groups.)
    held = [p for group in getattr(filled.value, "param_groups", ()) for p in group["params"]]
    models = {id(p) for p in model.parameters()}
    foreign = sum(id(p) not in models for p in held)
    if foreign:
        raise PluginError(
            f"{filled.who}: the optimizer from make_update holds {foreign} of its {len(held)} "
            "tensors outside the model, so training would not change the model; build it from "
            "the model that make_update is given: optim.SGD(model.parameters(), lr=config.lr)")
    return filled.value


def check_loop(filled: Filled) -> Any:
    loop = filled.value
    if inspect.isgeneratorfunction(loop):
        raise PluginError(f"{filled.who}: the loop {loop.__name__}() is a generator; the runner "
                          "calls it once per epoch, so it trains one epoch and returns what it "
                          "measured (a dict, or None) instead of yielding")
    if not callable(loop) or inspect.isclass(loop):
        raise PluginError(f"{filled.who} returned {type(loop).__name__} from make_loop; return "
                          "a function loop(session) that trains one epoch")
    return loop


def check_fit(session: Session) -> None:
    """Pass one validation batch through the model and the loss, before any training.

    The batch is cut with a generator of its own and the model runs in eval
    mode, with torch's random state put back afterwards and no backward pass:
    the check changes nothing that the run will compute. Gradients are on, so
    it also sees whether the loss reaches any weight that training can change.
    """
    batches, model, loss = (session.pieces[p] for p in ("batches", "model", "loss"))
    xb, yb = first_batch(session, batches)
    shape = tuple(xb.shape)
    training = getattr(model.value, "training", None)
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        if training is not None:
            model.value.eval()
        try:
            scores = model.value(xb)
        except Exception as error:
            raise PluginError(
                f"{model.who}: the model fails on the inputs that {batches.who} hands out at "
                f"this stage, shaped {shape}: {one_line(error)}; make the model take that "
                "shape, or swap the batches piece") from error
        finally:
            if training is not None:
                model.value.train(training)
        wanted = (len(xb), session.data.classes)
        if not isinstance(scores, torch.Tensor) or tuple(scores.shape) != wanted:
            got = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(
                scores).__name__
            raise PluginError(
                f"{model.who}: the model returns {got} for a batch of "
                f"{plural(len(xb), 'input')} shaped {shape}; the data has "
                f"{plural(wanted[1], 'class', 'classes')}, so it must return scores shaped "
                f"{wanted}")
        try:
            value = loss.value(scores, yb)
        except Exception as error:
            raise PluginError(f"{loss.who}: the loss fails on scores shaped {wanted} and "
                              f"targets shaped {tuple(yb.shape)}: {one_line(error)}") from error
    if not isinstance(value, torch.Tensor) or value.dim() != 0:
        got = f"shaped {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(
            value).__name__
        raise PluginError(f"{loss.who}: the loss of a batch is {got}, not a scalar tensor; "
                          "reduce it to one number, for example with .mean()")
    if not scores.requires_grad:
        raise PluginError(f"{model.who}: the model's scores depend on no weight that "
                          "requires grad, so training cannot change them; keep requires_grad "
                          "on its weights (nn.Module layers and nn.Parameter have it)")
    if not value.requires_grad:
        raise PluginError(f"{loss.who}: the loss of a batch is cut off from the model's "
                          "weights (no gradient reaches them); compute it from the scores with "
                          "torch operations, without .item(), .detach() or torch.tensor()")


def first_batch(session: Session, batches: Filled) -> tuple[torch.Tensor, torch.Tensor]:
    """The first batch ``batches`` hands out, checked to be an ``(inputs, targets)`` pair."""
    try:
        batch = next(iter(batches.value))
    except StopIteration:
        raise PluginError(f"{batches.who} hands out no batch for the valid split") from None
    except Exception as error:
        raise PluginError(f"{batches.who}: cutting the valid split fails: "
                          f"{one_line(error)}") from error
    if not (isinstance(batch, tuple | list) and len(batch) == 2
            and all(isinstance(t, torch.Tensor) for t in batch)):
        raise PluginError(f"{batches.who} hands out {_describe(batch)}; each batch must be an "
                          "(inputs, targets) pair of tensors")
    xb, yb = batch
    if len(xb) != len(yb):
        raise PluginError(f"{batches.who} hands out {plural(len(xb), 'input')} with "
                          f"{plural(len(yb), 'target')}; each batch must pair every input with "
                          "its target")
    if xb.device.type != session.device.type:
        raise PluginError(f"{batches.who} hands out batches on {xb.device}, but the run's "
                          f"device is {session.device}; move them with .to(device)")
    return xb, yb


def _describe(batch: Any) -> str:
    if isinstance(batch, tuple | list):
        kinds = ", ".join(type(item).__name__ for item in batch)
        return f"a {type(batch).__name__} of {len(batch)} ({kinds})"
    return f"a {type(batch).__name__}"

