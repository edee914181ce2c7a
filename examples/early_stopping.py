"""Stop training once the validation loss stops improving: an observer plugin.

    mnistlab run --stage fit --epochs 30 --plugin examples/early_stopping.py

It keeps state (the best loss so far), so it is a class, and ``make_plugin()``
gives every run a fresh one. It only observes: the stage's pieces are untouched.
"""

import math

from mnistlab import hookimpl


class EarlyStopping:
    def __init__(self, patience):
        self.patience = patience
        self.best = math.inf
        self.waited = 0

    @hookimpl
    def after_epoch(self, session, result):
        if result.valid_loss is None:  # a loop that does not validate each epoch
            return
        if result.valid_loss < self.best:
            self.best, self.waited = result.valid_loss, 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            session.stop(f"no better validation loss for {self.patience} epochs "
                         f"(best {self.best:.4f})")


def make_plugin():
    return EarlyStopping(patience=2)
