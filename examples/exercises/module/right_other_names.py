"""Right, written differently: other attribute names, and F.linear for the product."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from mnistlab import hookimpl


class Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(784, 10) / math.sqrt(784))
        self.b = nn.Parameter(torch.zeros(10))

    def forward(self, images):
        return F.linear(images, self.w.t(), self.b)


@hookimpl
def make_model():
    return Logistic()
