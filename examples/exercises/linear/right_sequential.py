"""Right, written differently: nn.Sequential holds the one layer."""

from torch import nn

from mnistlab import hookimpl


@hookimpl
def make_model():
    return nn.Sequential(nn.Linear(784, 10))
