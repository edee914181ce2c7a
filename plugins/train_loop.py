"""Loop: train, and nothing else.

For every batch: predict, measure the loss, let autograd compute the
gradients, update the weights and clear the gradients. After each epoch,
report what the tutorial prints: the loss and accuracy on the last batch.
There is no validation yet; the runner scores the validation set once,
after training.
"""

import torch

from mnistlab.hookspecs import hookimpl
from mnistlab.metrics import accuracy
from mnistlab.types import EpochResult


def fit(session):
    model, loss_func, opt = session.model, session.loss_func, session.opt
    for epoch in session.epochs():
        total_loss, count = 0.0, 0
        for xb, yb in session.batches("train", session.config.bs):
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

            batch_loss = loss.item()
            total_loss += batch_loss * len(xb)
            count += len(xb)
            session.after_batch(epoch, batch_loss)
        with torch.no_grad():
            out = model(xb)
            yield EpochResult(epoch, train_loss=total_loss / count,
                              last_batch_loss=loss_func(out, yb).item(),
                              last_batch_acc=accuracy(out, yb).item())


@hookimpl
def train(session):
    return fit(session)
