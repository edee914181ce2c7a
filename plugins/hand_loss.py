"""Loss: log-softmax and negative log-likelihood, written by hand.

The model gives ten raw scores per image. ``log_softmax`` turns them into
log-probabilities; the negative log-likelihood picks the log-probability of
the right digit in each row and averages them, negated, so that a confident
right answer costs almost nothing.
"""

from mnistlab.hookspecs import hookimpl


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


def loss_func(scores, target):
    return nll(log_softmax(scores), target)


@hookimpl
def make_loss():
    return loss_func
