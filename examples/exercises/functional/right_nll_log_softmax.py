"""Right, written differently: log-softmax and NLL as two calls."""

import torch.nn.functional as F

from mnistlab import hookimpl


def loss(scores, target):
    return F.nll_loss(F.log_softmax(scores, -1), target)


@hookimpl
def make_loss():
    return loss
