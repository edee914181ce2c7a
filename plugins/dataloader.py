"""Batches: a ``DataLoader`` hands out the batches.

Swaps ``tensor_dataset``. ``DataLoader(ds, batch_size=bs)`` does the index
arithmetic for us: ``for xb, yb in dl`` replaces the slicing loop. Asked to
shuffle, it draws a new order for every pass from the run's seeded
generator. Without shuffling the batches are exactly those of the previous
stage.
"""

from torch.utils.data import DataLoader, TensorDataset

from mnistlab.hookspecs import hookimpl


def on_device(dl, device):
    for xb, yb in dl:
        yield xb.to(device), yb.to(device)


@hookimpl
def make_batches(x, y, batch_size, shuffle, generator, device):
    dl = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle,
                    generator=generator)
    return on_device(dl, device)
