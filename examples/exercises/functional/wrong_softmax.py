"""Wrong: a softmax before F.cross_entropy, which applies log_softmax itself."""

import torch.nn.functional as F

from mnistlab import hookimpl


def loss(scores, target):
    return F.cross_entropy(F.softmax(scores, dim=1), target)


@hookimpl
def make_loss():
    return loss
