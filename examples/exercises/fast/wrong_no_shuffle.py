"""Wrong: the batches are cut on the device, but always in order."""

from mnistlab import hookimpl


@hookimpl
def make_batches(x, y, batch_size, shuffle, generator, device):
    xd, yd = x.view(-1, 1, 28, 28).to(device), y.to(device)
    return ((xd[i:i + batch_size], yd[i:i + batch_size]) for i in range(0, len(xd), batch_size))
