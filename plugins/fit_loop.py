"""Loop: the tutorial's ``loss_batch()`` and ``fit()``.

Swaps ``validation_loop``. ``loss_batch`` computes one batch's loss and,
when given an optimizer, also takes a training step; it returns the loss and
the batch size. Training calls it with the optimizer, validation without
one, so both passes share one function. Training is exactly the previous
stage's. Validation now weights each batch by its size, so a short last
batch no longer counts as much as a full one.

The tutorial's ``fit()`` also holds ``for epoch in range(epochs)``; here
the runner owns the epochs, so ``fit_epoch`` is the body of that loop.
Like the tutorial, it measures the validation loss only: the runner scores
the accuracy once, after training.
"""

import numpy as np
import torch

from mnistlab.hookspecs import hookimpl


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)

    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()

    return loss.item(), len(xb)


def fit_epoch(session):
    model, loss_func, opt = session.model, session.loss_func, session.opt
    model.train()
    for xb, yb in session.batches("train", shuffle=True):
        loss_batch(model, loss_func, xb, yb, opt)

    model.eval()
    with torch.no_grad():
        losses, nums = zip(
            *[loss_batch(model, loss_func, xb, yb) for xb, yb in session.batches("valid")]
        )
    val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
    return {"valid_loss": val_loss}


@hookimpl
def make_loop():
    return fit_epoch
