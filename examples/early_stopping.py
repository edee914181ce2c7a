"""Stop training once the validation loss stops improving: an observer plugin.

    mnistlab run --stage fit --epochs 30 --plugin examples/early_stopping.py --set patience=3

It keeps state (the best loss so far), so it is a class, and ``make_plugin()``
gives every run a fresh one. Its ``state_dict()`` and ``load_state_dict()``
put that state in each checkpoint, so a resumed run stops exactly where an
uninterrupted one would. It only observes: the stage's pieces are untouched.
"""

import math

from mnistlab import Option, hookimpl


class EarlyStopping:
    def __init__(self):
        self.best = math.inf
        self.waited = 0

    @hookimpl
    def plugin_options(self):
        return [Option("patience", 2, "how many epochs without a better validation loss to "
                                      "wait, at least 1", check=lambda n: n >= 1)]

    @hookimpl
    def after_epoch(self, session, result):
        if result.valid_loss is None:  # a loop that does not validate each epoch
            return
        if result.valid_loss < self.best:
            self.best, self.waited = result.valid_loss, 0
            return
        self.waited += 1
        patience = session.config.options["patience"]
        if self.waited >= patience:
            epochs = "1 epoch" if patience == 1 else f"{patience} epochs"
            session.stop(f"no better validation loss for {epochs} (best {self.best:.4f})")

    def state_dict(self):
        return {"best": self.best, "waited": self.waited}

    def load_state_dict(self, state):
        self.best, self.waited = state["best"], state["waited"]


def make_plugin():
    return EarlyStopping()
