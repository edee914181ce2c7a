"""Label smoothing: a loss plugin that stays out of the way until it is asked for.

    MNISTLAB_SMOOTHING=0.1 mnistlab run --stage fit --plugin examples/label_smoothing.py

Plain cross-entropy keeps rewarding the model for pushing the right digit's
score higher, however sure it already is. Label smoothing aims for ``1 - s``
on the right digit and shares ``s`` evenly over all ten, so a confident model
stops being paid for ever larger scores. ``F.cross_entropy`` has it built in.

The amount comes from ``$MNISTLAB_SMOOTHING``. When it is unset or 0,
``make_loss`` returns ``None`` and pluggy asks the next plugin: the stage's
own loss answers, as if this plugin were not there. That is what lets a
plugin be installed for good (through an entry point) and switched on by a
setting. A bad setting raises ``MnistlabError``, which the command line
prints as one line, as it does its own errors.

The docs' plugin guide builds this file step by step, and
``tests/test_docs_examples.py`` runs it.
"""

import functools
import os

import torch.nn.functional as F

from mnistlab import hookimpl
from mnistlab.errors import MnistlabError

ENV_VAR = "MNISTLAB_SMOOTHING"


def smoothing():
    """The amount of smoothing asked for in ``$MNISTLAB_SMOOTHING``; 0 when unset."""
    text = os.environ.get(ENV_VAR, "").strip() or "0"
    try:
        amount = float(text)
    except ValueError:
        raise MnistlabError(f"{ENV_VAR}={text!r} is not a number; use e.g. 0.1") from None
    if not 0 <= amount < 1:
        raise MnistlabError(f"{ENV_VAR}={text!r} must be at least 0 and below 1; use e.g. 0.1")
    return amount


@hookimpl
def make_loss():
    amount = smoothing()
    if amount == 0:
        return None  # not asked for: the next plugin, the stage's own loss, answers
    return functools.partial(F.cross_entropy, label_smoothing=amount)


@hookimpl
def before_run(session):
    amount = smoothing()
    if amount:
        print(f"label smoothing {amount}: the loss aims for {1 - amount + amount / 10:.2f} "
              "on the right digit")
