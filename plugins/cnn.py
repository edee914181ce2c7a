"""Model: a convolutional network of three layers.

Swaps ``linear_model``. Each ``Conv2d`` with ``stride=2`` halves the image
(28 -> 14 -> 7 -> 4) while the channels go 1 -> 16 -> 16 -> 10; average
pooling over the last 4x4 map leaves one score per digit. The input rows are
viewed as 28x28 single-channel images first. From this stage on, SGD uses
lr 0.1 and momentum 0.9 (the stage table sets them).

The final ReLU comes before the pooling, as in the tutorial, so the ten
scores can never be negative and a class whose channel dies stays dead: the
reason why this model's accuracy varies so much from seed to seed.
"""

import torch.nn.functional as F
from torch import nn

from mnistlab.hookspecs import hookimpl


class Mnist_CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

    def forward(self, xb):
        xb = xb.view(-1, 1, 28, 28)
        xb = F.relu(self.conv1(xb))
        xb = F.relu(self.conv2(xb))
        xb = F.relu(self.conv3(xb))
        xb = F.avg_pool2d(xb, 4)
        return xb.view(-1, xb.size(1))


@hookimpl
def make_model():
    return Mnist_CNN()
