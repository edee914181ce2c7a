"""Wrong: the training batches are not shuffled."""

import torch

from mnistlab import hookimpl
from mnistlab.metrics import accuracy


def train_epoch(session):
    model, loss_func, opt = session.model, session.loss_func, session.opt
    model.train()
    for xb, yb in session.batches("train"):
        loss = loss_func(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()

    model.eval()
    valid_loss = valid_acc = 0.0
    n = 0
    with torch.no_grad():
        for xb, yb in session.batches("valid"):
            out = model(xb)
            valid_loss += loss_func(out, yb).item()
            valid_acc += accuracy(out, yb).item()
            n += 1
    return {"valid_loss": valid_loss / n, "valid_acc": valid_acc / n}


@hookimpl
def make_loop():
    return train_epoch
