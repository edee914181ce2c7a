"""Model: logistic regression from raw tensors, before ``nn.Module``.

The weights are a plain tensor drawn with Xavier initialisation (divide by
the square root of the number of inputs) and the bias starts at zero. Both
ask autograd to track them with ``requires_grad``. The model returns raw
class scores; the loss piece turns them into probabilities.

``parameters()`` is written by hand here: it is what ``nn.Module`` will give
us for free in the ``module`` stage.
"""

import math

import torch

from mnistlab.hookspecs import hookimpl


class RawLogistic:
    def __init__(self):
        self.weights = torch.randn(784, 10) / math.sqrt(784)
        self.weights.requires_grad_()
        self.bias = torch.zeros(10, requires_grad=True)

    def __call__(self, xb):
        return xb @ self.weights + self.bias

    def parameters(self):
        return [self.weights, self.bias]


@hookimpl
def make_model():
    return RawLogistic()
