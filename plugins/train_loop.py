"""Loop: train, and nothing else.

For every batch: predict, measure the loss, let autograd compute the
gradients, update the weights and clear the gradients. That is one epoch:
the runner calls the loop once per epoch, and counts the steps and keeps
each batch's loss as the loop moves on. At the end the loop reports what
the tutorial prints: the loss and accuracy on the last batch. There is no
validation yet; the runner scores the validation set once, after training.
"""

import torch

from mnistlab.hookspecs import hookimpl
from mnistlab.metrics import accuracy


def train_epoch(session):
    model, loss_func, opt = session.model, session.loss_func, session.opt
    for xb, yb in session.batches("train"):
        pred = model(xb)
        loss = loss_func(pred, yb)

        loss.backward()
        opt.step()
        opt.zero_grad()

    with torch.no_grad():
        out = model(xb)
        return {"last_batch_loss": loss_func(out, yb).item(),
                "last_batch_acc": accuracy(out, yb).item()}


@hookimpl
def make_loop():
    return train_epoch
