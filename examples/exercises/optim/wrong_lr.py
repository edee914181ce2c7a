"""Wrong: a learning rate of its own, not the stage's config.lr."""

from torch import optim

from mnistlab import hookimpl


@hookimpl
def make_update(config, model):
    return optim.SGD(model.parameters(), lr=0.1)
