"""ConvNet of paper 1 (method §2).

2 × conv 32 (5×5) → max-pool → dropout .25 → 2 × conv 64 (3×3) → max-pool → dropout .25 →
global average pool → dense 256 → dropout .5 → N. 'Same' padding keeps any input size ≥ 4 valid.
"""

from torch import nn

from advtransfer.models import ARCHITECTURES


def conv_relu(n_in: int, n_out: int, kernel: int) -> list[nn.Module]:
    return [nn.Conv2d(n_in, n_out, kernel, padding=kernel // 2), nn.ReLU(inplace=True)]


@ARCHITECTURES.register("convnet")
def convnet(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    return nn.Sequential(
        *conv_relu(in_channels, 32, 5),
        *conv_relu(32, 32, 5),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        *conv_relu(32, 64, 3),
        *conv_relu(64, 64, 3),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 256),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(256, num_classes),
    )
