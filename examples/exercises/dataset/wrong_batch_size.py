"""Wrong: n // bs batches, so the last, shorter batch is dropped."""

from torch.utils.data import TensorDataset

from mnistlab import hookimpl


def slices(train_ds, bs, device):
    for i in range(len(train_ds) // bs):
        xb, yb = train_ds[i * bs : i * bs + bs]
        yield xb.to(device), yb.to(device)


@hookimpl
def make_batches(x, y, batch_size, device):
    return slices(TensorDataset(x, y), batch_size, device)
