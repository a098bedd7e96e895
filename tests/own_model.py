"""A model of one's own, outside the package: the tests give it to the workflow by import path
(``model: "own_model.py:TinyNet"``), as README "Your own models and data" shows."""

from torch import nn


class TinyNet(nn.Module):
    """A small convolutional network for any image size: ``num_classes`` scores per image."""

    def __init__(self, num_classes: int, input_shape: tuple[int, int, int], width: int = 8, hidden: int = 32):
        super().__init__()
        channels = input_shape[0]
        self.conv = nn.Conv2d(channels, width, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.hidden = nn.Linear(width * 16, hidden)
        self.relu2 = nn.ReLU()
        self.out = nn.Linear(hidden, num_classes)

    def forward(self, x):
        return self.out(self.relu2(self.hidden(self.pool(self.relu1(self.conv(x))).flatten(1))))


def one_output(num_classes: int, input_shape: tuple[int, int, int], **kwargs) -> nn.Module:
    """A factory whose model ignores ``num_classes`` (a config error)."""
    return TinyNet(1, input_shape, **kwargs)


class NaNNet(nn.Module):
    """A model whose scores are NaN from the start (a bug in its forward), whatever its weights."""

    def __init__(self, num_classes: int, input_shape: tuple[int, int, int]):
        super().__init__()
        self.out = nn.Linear(input_shape[0] * input_shape[1] * input_shape[2], num_classes)

    def forward(self, x):
        return self.out(x.flatten(1)) * float("nan")

