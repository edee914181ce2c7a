"""Wrong: momentum 0.9 where the stage trains without momentum."""

from torch import optim

from mnistlab import hookimpl


@hookimpl
def make_update(config, model):
    return optim.SGD(model.parameters(), lr=config.lr, momentum=0.9)
