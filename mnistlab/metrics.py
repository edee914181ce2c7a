"""Accuracy, the final validation score and the model's predictions, the same for every stage."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    import numpy as np

    from mnistlab.session import Session


def accuracy(out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    """The fraction of rows whose highest score is the right digit (the tutorial's ``accuracy``)."""
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


def evaluate(
    model: Callable[[torch.Tensor], torch.Tensor],
    loss_func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
) -> tuple[float, float]:
    """Mean loss and accuracy over ``batches``, each batch weighted by its size.

    Runs without gradients and, for an ``nn.Module``, in eval mode (restored
    afterwards), so scoring never changes the model.
    """
    was_training = getattr(model, "training", False)
    if isinstance(model, torch.nn.Module):
        model.eval()
    total_loss = total_correct = 0.0
    count = 0
    with torch.no_grad():
        for xb, yb in batches:
            out = model(xb)
            total_loss += loss_func(out, yb).item() * len(yb)
            total_correct += (torch.argmax(out, dim=1) == yb).sum().item()
            count += len(yb)
    if isinstance(model, torch.nn.Module):
        model.train(was_training)
    if count == 0:
        return float("nan"), float("nan")
    return total_loss / count, total_correct / count


def final_scores(session: Session) -> tuple[float, float]:
    """The run's score: mean loss and accuracy of its model over the whole validation split,
    in the run's own batches, with the loss piece the run trained with."""
    return evaluate(session.model, session.loss_func.loss, session.batches("valid"))


def first_predictions(session: Session, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``count`` validation digits, their labels and the model's predicted digits.

    The inputs go through the run's own batches piece, so a model that takes
    images gets images; the digits come back as ``(count, 784)`` rows to draw.
    """
    xb, yb = next(iter(session.batches("valid", count)))
    with torch.no_grad():
        predictions = session.model(xb).argmax(dim=1)
    return session.data.x_valid[:count].numpy(), yb.cpu().numpy(), predictions.cpu().numpy()
