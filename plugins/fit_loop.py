"""Loop: the tutorial's ``loss_batch()`` and ``fit()``.

Swaps ``validation_loop``. ``loss_batch`` computes one batch's loss and,
when given an optimizer, also takes a training step; it returns the loss and
the batch size. Training is exactly the previous stage's. Validation now
weights each batch by its size, so a short last batch no longer counts as
much as a full one: ``evaluate`` returns that weighted loss, and the
accuracy measured the same way.
"""

from mnistlab.hookspecs import hookimpl
from mnistlab.metrics import evaluate
from mnistlab.types import EpochResult


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)

    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()

    return loss.item(), len(xb)


def fit(session):
    model, loss_func, opt = session.model, session.loss_func, session.opt
    for epoch in session.epochs():
        model.train()
        total_loss, count = 0.0, 0
        for xb, yb in session.batches("train", session.config.bs, shuffle=True):
            loss, n = loss_batch(model, loss_func, xb, yb, opt)
            total_loss += loss * n
            count += n
            session.after_batch(epoch, loss)

        valid_loss, valid_acc = evaluate(
            model, loss_func, session.batches("valid", session.config.valid_bs)
        )
        yield EpochResult(epoch, train_loss=total_loss / count,
                          valid_loss=valid_loss, valid_acc=valid_acc)


@hookimpl
def train(session):
    return fit(session)
