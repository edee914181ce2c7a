"""Data: load the chosen dataset and turn its numpy arrays into tensors.

The tutorial unpickles ``mnist.pkl.gz`` into numpy arrays and then writes
``map(torch.tensor, ...)``. Here ``mnistlab.data.load`` finds the arrays (the
embedded sample, full MNIST from the cache, or a local file) and this plugin
does the same ``map``. Every dataset mnistlab reads has ten classes, and the
plugin says so, so that data missing a digit is caught before training.
"""

import torch

from mnistlab import data
from mnistlab.hookspecs import hookimpl
from mnistlab.types import Tensors


@hookimpl
def make_data(config):
    splits = data.load(config.data, config.data_dir)
    x_train, y_train, x_valid, y_valid = map(
        torch.tensor, (splits.x_train, splits.y_train, splits.x_valid, splits.y_valid)
    )
    return Tensors(x_train, y_train, x_valid, y_valid, name=splits.name,
                   description=splits.description, checksum=splits.checksum, num_classes=10)
