"""Batches: a ``DataLoader`` wrapped with a ``preprocess`` step.

Swaps ``dataloader``. The CNN wants images of shape ``(batch, 1, 28, 28)``,
not rows of 784 pixels. Until now the model reshaped its own input; here the
reshape moves into the data pipeline, so the model no longer has to know the
image size (the ``adaptive`` stage builds on that). ``preprocess`` is also
where each batch moves to the device.
"""

from torch.utils.data import DataLoader, TensorDataset

from mnistlab.hookspecs import hookimpl


class WrappedDataLoader:
    def __init__(self, dl, func):
        self.dl = dl
        self.func = func

    def __len__(self):
        return len(self.dl)

    def __iter__(self):
        for b in self.dl:
            yield self.func(*b)


def preprocess(x, y, device):
    return x.view(-1, 1, 28, 28).to(device), y.to(device)


@hookimpl
def make_batches(x, y, batch_size, shuffle, generator, device):
    dl = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle,
                    generator=generator)
    return WrappedDataLoader(dl, lambda xb, yb: preprocess(xb, yb, device))
