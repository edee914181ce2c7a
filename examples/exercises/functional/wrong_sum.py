"""Wrong: the loss of a batch summed over its examples instead of averaged."""

import torch.nn.functional as F

from mnistlab import hookimpl


@hookimpl
def make_loss():
    return lambda scores, target: F.cross_entropy(scores, target, reduction="sum")
