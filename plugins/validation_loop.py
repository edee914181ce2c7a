"""Loop: shuffle the training set and measure the validation loss every epoch.

Swaps ``train_loop``. Three habits arrive together:

* the training batches come in a new random order each epoch
  (``shuffle=True``), so the model cannot learn the order;
* ``model.train()`` and ``model.eval()`` tell layers such as dropout and
  batch norm which mode they are in (ours have none, but the habit matters);
* validation runs under ``torch.no_grad()`` in batches twice as large, since
  no gradients need storing.

Like the tutorial, the validation loss is the mean of the batch means.
"""

import torch

from mnistlab.hookspecs import hookimpl
from mnistlab.metrics import accuracy


def train_epoch(session):
    model, loss_func, opt = session.model, session.loss_func, session.opt
    model.train()
    for xb, yb in session.batches("train", shuffle=True):
        pred = model(xb)
        loss = loss_func(pred, yb)

        loss.backward()
        opt.step()
        opt.zero_grad()

    model.eval()
    valid_loss = valid_acc = 0.0
    n_batches = 0
    with torch.no_grad():
        for xb, yb in session.batches("valid"):
            out = model(xb)
            valid_loss += loss_func(out, yb).item()
            valid_acc += accuracy(out, yb).item()
            n_batches += 1
    return {"valid_loss": valid_loss / n_batches, "valid_acc": valid_acc / n_batches}


@hookimpl
def make_loop():
    return train_epoch
