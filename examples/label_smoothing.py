"""Label smoothing: a loss plugin with a setting of its own.

    mnistlab run --stage fit --plugin examples/label_smoothing.py --set smoothing=0.1

Plain cross-entropy keeps rewarding the model for pushing the right digit's
score higher, however sure it already is. Label smoothing aims for ``1 - s``
on the right digit and shares ``s`` evenly over all ten, so a confident model
stops being paid for ever larger scores. ``F.cross_entropy`` has it built in.

The amount ``s`` is an option the plugin declares: the command line sets it
with ``--set smoothing=0.2``, Python with ``options={"smoothing": 0.2}``, and
the run records it in ``config.json``, so a resumed run smooths the same.
mnistlab checks every value against the option before the run starts.

The docs' plugin guide builds this file step by step, and
``tests/test_docs_examples.py`` runs it.
"""

import functools

import torch.nn.functional as F

from mnistlab import Option, hookimpl


@hookimpl
def plugin_options():
    return [Option("smoothing", 0.1, "the share of the target spread over all ten digits, "
                                     "at least 0 and below 1", check=lambda s: 0 <= s < 1)]


@hookimpl
def make_loss(config):
    return functools.partial(F.cross_entropy, label_smoothing=config.options["smoothing"])
