"""Right, written differently: the update as sub_ with alpha, the gradients set to None."""

import torch

from mnistlab import hookimpl


class ByHand:
    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr

    def step(self):
        with torch.no_grad():
            for p in self.params:
                p.sub_(p.grad, alpha=self.lr)

    def zero_grad(self):
        for p in self.params:
            p.grad = None


@hookimpl
def make_update(config, model):
    return ByHand(model.parameters(), config.lr)
