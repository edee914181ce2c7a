"""Right, written differently: other names, nn.AvgPool2d and flatten."""

import torch.nn.functional as F
from torch import nn

from mnistlab import hookimpl


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 16, 3, stride=2, padding=1)
        self.b = nn.Conv2d(16, 16, 3, stride=2, padding=1)
        self.c = nn.Conv2d(16, 10, 3, stride=2, padding=1)
        self.pool = nn.AvgPool2d(4)

    def forward(self, x):
        x = x.reshape(len(x), 1, 28, 28)
        for conv in (self.a, self.b, self.c):
            x = F.relu(conv(x))
        return self.pool(x).flatten(1)


@hookimpl
def make_model():
    return Net()
