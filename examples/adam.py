"""Use Adam instead of SGD: a complete mnistlab plugin.

    mnistlab run --stage fit --plugin examples/adam.py
"""

from torch import optim

from mnistlab import hookimpl


@hookimpl
def make_update(model):
    return optim.Adam(model.parameters(), lr=1e-3)
