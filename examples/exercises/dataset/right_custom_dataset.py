"""Right, written differently: a Dataset class of one's own, walked by index ranges."""

from torch.utils.data import Dataset

from mnistlab import hookimpl


class Digits(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def batches(ds, bs, device):
    for start in range(0, len(ds), bs):
        xb, yb = ds[start:start + bs]
        yield xb.to(device), yb.to(device)


@hookimpl
def make_batches(x, y, batch_size, device):
    return batches(Digits(x, y), batch_size, device)
