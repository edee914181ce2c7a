"""Update: ``torch.optim.SGD`` replaces the hand-written update.

Swaps ``manual_update``. ``opt.step()`` and ``opt.zero_grad()`` do what the
hand-written loop did; momentum (0 until the CNN stages) remembers a running
average of past gradients to smooth the path.
"""

from torch import optim

from mnistlab.hookspecs import hookimpl


@hookimpl
def make_update(config, model):
    return optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
