"""What mnistlab's runner does around the pieces, written out as plain code for an export.

The runner's own code does more (observers, run folders, checks that name a
plugin); an exported script keeps what changes the numbers, in the runner's
order, so that it prints the same numbers:

- the shuffle has a generator of its own, seeded with the run's seed, and
  every pass over a split (validation too) asks the batches piece afresh with
  it: a ``DataLoader`` draws from it at the start of every pass;
- the global seed is set right before the model is built, so the first
  weights depend on the seed alone;
- each training step's loss is the last loss computed with gradients, taken
  as the loop moves on to the next batch; an epoch's training loss is their
  mean weighted by batch size, summed in step order;
- after training, the validation set is scored once, each batch weighted by
  its size (``evaluate``, copied from :mod:`mnistlab.metrics`).
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import Any

from mnistlab.determinism import CUBLAS_WORKSPACE
from mnistlab.stages import TUTORIAL_FUNCTIONS

IMPORTS = ["import gzip", "import json", "import math", "import pickle", "import time",
           "from pathlib import Path", "from types import SimpleNamespace", "import torch"]


@dataclass(frozen=True)
class Part:
    """One part of an exported stage: a script's ``# %%`` cell, a notebook's code cell.

    ``prose`` is what the part teaches (a plugin's docstring): comments in the
    script, a markdown cell before the code in a notebook.
    """

    title: str
    prose: str
    code: str


# The names the run's parts define: a plugin's part that defines one too is renamed.
DEFINES = ("Recorded", "Loader", "Session", "evaluate", *TUTORIAL_FUNCTIONS)


@dataclass(frozen=True)
class Plan:
    """What the run's parts need to know of the stage."""

    stage: str
    data: str  # the data's name, as the run's JSON gives it
    settings: dict[str, Any]  # the lesson's settings, written as constants
    calls: dict[str, str]  # piece -> how the run calls its hook
    to_device: bool  # whether the model has .to()
    flags: bool  # whether the device may be an accelerator (deterministic kernels)
    joins: bool  # whether the loop joins the processes torchrun starts
    functions: tuple[str, ...]  # those of the tutorial's it has at this step
    options: dict[str, Any]


def literal(value: Any) -> str:
    """``value`` as Python source, strings in double quotes as the plugins write them."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def head(plan: Plan, data_path: str, description: str) -> list[Part]:
    """The settings and the data, the parts before the pieces."""
    constants = "\n".join(f"{name} = {literal(value)}" for name, value in plan.settings.items())
    names = ", ".join(f"{name}={name}" for name in plan.settings)
    config = "\n".join(textwrap.wrap(
        f"config = SimpleNamespace(stage={literal(plan.stage)}, data={literal(plan.data)}, "
        f"{names}, options={literal(plan.options)})", 100, subsequent_indent=" " * 25,
        break_long_words=False, break_on_hyphens=False))
    settings = Part("Settings", "The lesson's settings, as `mnistlab export` was given them (the "
                    "stage's defaults otherwise); the hooks read them as `config`.",
                    f"{constants}\n{config}")
    data = Part("Data", "The tutorial's `mnist.pkl.gz` format: `((x_train, y_train), (x_valid, "
                "y_valid), (x_test, y_test))`, numpy arrays of images as rows of 784 floats in "
                f"[0, 1] and int64 labels. `mnistlab export` wrote this file: {description}. "
                "(A pickle runs what the file tells it to: load only files you trust.)",
                f"DATA = {data_path}\n"
                'with gzip.open(DATA, "rb") as f:\n'
                '    ((x_train, y_train), (x_valid, y_valid), _) = pickle.load(f, '
                'encoding="latin-1")\n'
                "x_train, y_train, x_valid, y_valid = map(torch.tensor, (x_train, y_train, "
                "x_valid, y_valid))")
    return [settings, data]


VIEW = '''\
class Recorded:
    """The loss as the loop calls it. It keeps the last loss computed with gradients: that is
    how the run learns each training step's loss without the loop reporting it."""

    def __init__(self, loss):
        self.loss, self.last = loss, None

    def __call__(self, *args, **kwargs):
        value = self.loss(*args, **kwargs)
        if torch.is_grad_enabled():
            self.last = value
        return value


class Loader:
    """One split, cut into batches by make_batches afresh for every pass (a new shuffle)."""

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size

    def one_pass(self, batch_size=None, shuffle=False):
        x, y, batch_size, device = self.x, self.y, batch_size or self.batch_size, dev
        return {batches}


class Session:
    """What the loop piece is handed as `session`: the pieces, a pass over a split at a time,
    and the run's books, which count each training step and its loss as the loop moves on."""

    def __init__(self, model, loss_func, opt, train_dl, valid_dl):
        self.model, self.loss_func, self.opt = model, Recorded(loss_func), opt
        self.loaders = {{"train": train_dl, "valid": valid_dl}}
        self.config, self.device = config, dev
        self.data = SimpleNamespace(x_train=x_train, y_train=y_train, x_valid=x_valid,
                                    y_valid=y_valid)
        self.step, self.history = 0, []

    def batches(self, split, batch_size=None, shuffle=False):
        batches = self.loaders[split].one_pass(batch_size, shuffle)
        return self.steps(batches) if split == "train" else batches

    def steps(self, batches):
        for xb, yb in batches:
            self.loss_func.last = None
            yield xb, yb
            loss = self.loss_func.last.item()
            if not math.isfinite(loss):
                raise SystemExit(f"the training loss became {{loss}} at step {{self.step + 1}}; "
                                 "try a smaller lr")
            self.step += 1
            self.loss_sum += loss * len(yb)
            self.examples += len(yb)

    def report_loss(self, loss):
        """For a loop that computes a batch's loss in parts: the whole batch's loss."""
        self.loss_func.last = loss
'''

EPOCHS = '''\
session = Session(model, loss_func, opt, train_dl, valid_dl)
loop = {make_loop}
for epoch in range(1, epochs + 1):
    session.loss_sum, session.examples = 0.0, 0
    epoch_started = time.perf_counter()
    measured = loop(session) or {{}}
    result = {{"epoch": epoch, "train_loss": session.loss_sum / session.examples,
              "valid_loss": None, "valid_acc": None, "last_batch_loss": None,
              "last_batch_acc": None}}
    result.update({{key: float(value) for key, value in measured.items()}})
    result["seconds"] = time.perf_counter() - epoch_started
    session.history.append(result)
    print(f"epoch {{epoch}}:", ", ".join(f"{{key.replace('_', ' ')}} {{value:.4f}}"
                                      for key, value in list(result.items())[1:-1]
                                      if value is not None))
'''

FLAGS = f'''\
# On an accelerator mnistlab asks torch for deterministic kernels (mnistlab/determinism.py),
# so that the same seed gives the same weights; on the CPU they would change nothing.
if dev.type != "cpu":
    if dev.type == "cuda" and deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", "{CUBLAS_WORKSPACE}")
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = False
'''

JOINS = '''\
if "LOCAL_RANK" in os.environ and torch.cuda.is_available():  # torchrun: a GPU per process
    torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
if int(os.environ.get("RANK", "0")) != 0:  # of N processes, only the first one prints
    sys.stdout = open(os.devnull, "w")
'''


def tail(plan: Plan, evaluate: str) -> list[Part]:
    """The loop's view, the tutorial's functions at this step, and the run."""
    calls = plan.calls
    view = Part("The loop's view", "What mnistlab hands the loop piece as `session`, cut down "
                "to what a loop uses, and the run's books; then `evaluate`, the score after "
                "training, copied from mnistlab.", VIEW.format(batches=calls["batches"]) +
                f"\n\n{evaluate}")
    model = f"{calls['model']}{'.to(dev)' * plan.to_device}"
    build = ("torch.manual_seed(seed)  # right before the model: its weights depend on the seed"
             f" alone\nmodel = {model}\nopt = {calls['update']}")
    epochs = EPOCHS.format(make_loop=calls["loop"])
    fit, get_model, get_data = (name in plan.functions for name in TUTORIAL_FUNCTIONS)
    functions, run = [], []
    if get_data:
        functions.append('def get_data(bs, valid_bs):\n    """The training and validation '
                         'batches."""\n    return Loader(x_train, y_train, bs), '
                         'Loader(x_valid, y_valid, valid_bs)')
        run.append("train_dl, valid_dl = get_data(bs, valid_bs)")
    else:
        run.append("train_dl = Loader(x_train, y_train, bs)\n"
                   "valid_dl = Loader(x_valid, y_valid, valid_bs)")
    if get_model:
        functions.append('def get_model():\n    """The model and its optimizer."""\n'
                         + textwrap.indent(build, "    ") + "\n    return model, opt")
        run.append(f"model, opt = get_model()\nloss_func = {calls['loss']}")
    else:
        run.append(f"{build}\nloss_func = {calls['loss']}")
    if fit:
        functions.append('def fit(epochs, model, loss_func, opt, train_dl, valid_dl):\n'
                         '    """Train for `epochs`: the loop piece trains one epoch, fit '
                         'counts them."""\n' + textwrap.indent(epochs, "    ")
                         + "    return session")
        run.append("started = time.perf_counter()\n"
                   "session = fit(epochs, model, loss_func, opt, train_dl, valid_dl)")
    else:
        run.append("started = time.perf_counter()\n" + epochs.rstrip())
    device = f"dev = {calls['device']}\n" + (FLAGS if plan.flags else "")
    run = [(JOINS if plan.joins else "") + device + "generator = torch.Generator()."
           "manual_seed(seed)  # the shuffle's own", *run, END]
    if plan.joins:
        run.append("if dist.is_initialized():\n    dist.destroy_process_group()")
    parts = [view]
    if functions:
        names = ", ".join(f"`{name}`" for name in reversed(plan.functions))
        parts.append(Part("The tutorial's functions", f"{names}, as the tutorial has them at "
                          "this step.", "\n\n\n".join(functions)))
    return [*parts, Part("The run", "The pieces built in the runner's order, the epochs "
                         "trained, the validation set scored; the last line is the JSON "
                         f"that `mnistlab run --stage {plan.stage} --json` prints.",
                         "\n\n".join(run))]


END = '''\
train_seconds = time.perf_counter() - started
valid_loss, valid_acc = evaluate(model, loss_func, valid_dl.one_pass())
print(f"validation after training: loss {valid_loss:.4f}, accuracy {valid_acc:.4f}")
print(json.dumps({"stage": config.stage, "data": config.data, "seed": seed, "epochs": epochs,
                  "steps": session.step, "history": session.history, "valid_loss": valid_loss,
                  "valid_acc": valid_acc, "train_seconds": train_seconds}))'''
