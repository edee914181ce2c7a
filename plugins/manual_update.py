"""Update: plain gradient descent, by hand.

After ``loss.backward()`` every parameter holds its gradient in ``.grad``.
``step`` moves each parameter a little against it, inside ``torch.no_grad()``
so that the update itself is not recorded for the next backward pass.
``zero_grad`` clears the gradients, because PyTorch adds new ones to old.
This is the interface every ``torch.optim`` optimizer has, which the next
swap uses.
"""

import torch

from mnistlab.hookspecs import hookimpl


class ManualUpdate:
    def __init__(self, params, lr):
        self.params = list(params)
        self.lr = lr

    def step(self):
        with torch.no_grad():
            for p in self.params:
                p -= p.grad * self.lr

    def zero_grad(self):
        for p in self.params:
            p.grad.zero_()


@hookimpl
def make_update(config, model):
    return ManualUpdate(model.parameters(), config.lr)
