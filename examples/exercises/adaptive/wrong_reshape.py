"""Wrong: AdaptiveAvgPool2d(1) leaves (batch, 10, 1, 1), and nothing flattens it."""

from torch import nn

from mnistlab import hookimpl


@hookimpl
def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
    )
