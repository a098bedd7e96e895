"""DenseNet for CIFAR-10 (Huang et al., "Densely Connected Convolutional Networks", 2017; method §2).

``densenet100_12`` is the plain DenseNet of depth 100 and growth rate 12 of the paper's Table 2
(≈ 7.0 M parameters): a 3×3 conv with 16 maps, three dense blocks of (100 − 4) / 3 = 32 layers
BN → ReLU → conv 3×3 (12 maps), each layer's output concatenated to its input, transitions BN →
ReLU → conv 1×1 (same width) → 2×2 average pool, then BN → ReLU → global average pool → dense N.

``densenet_bc100_12`` is the DenseNet-BC variant that paper 1's reference code trains (≈ 0.8 M
parameters): bottleneck layers (BN → ReLU → conv 1×1 to 4·12 maps before the 3×3 conv), 16 layers
per block, 2·12 initial maps and transitions that halve the width.

The naive concatenation keeps every layer's input for the backward pass: DenseNet-100-12 needs
about 7 GB of activations for a training batch of 64 CIFAR images.
"""

from __future__ import annotations

import torch
from torch import nn

from advtransfer.models import ARCHITECTURES
from advtransfer.models.cifar import he_init, preact_head


def bn_relu_conv(n_in: int, n_out: int, kernel: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(n_in), nn.ReLU(inplace=True),
            nn.Conv2d(n_in, n_out, kernel, padding=kernel // 2, bias=False)]


class DenseLayer(nn.Module):
    """Appends ``growth`` new maps to its input: x → [x, H(x)]."""

    def __init__(self, n_in: int, growth: int, bottleneck: bool):
        super().__init__()
        if bottleneck:
            self.h = nn.Sequential(*bn_relu_conv(n_in, 4 * growth, 1), *bn_relu_conv(4 * growth, growth, 3))
        else:
            self.h = nn.Sequential(*bn_relu_conv(n_in, growth, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.h(x)], dim=1)


def densenet(in_channels: int, num_classes: int, depth: int, growth: int, bottleneck: bool,
             compression: float) -> nn.Module:
    """A three-block CIFAR DenseNet of ``depth`` layers (Huang et al. 2017, §3–4)."""
    per_block = (depth - 4) // (6 if bottleneck else 3)
    channels = 2 * growth if bottleneck else 16
    layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)]
    for block in range(3):
        for _ in range(per_block):
            layers.append(DenseLayer(channels, growth, bottleneck))
            channels += growth
        if block < 2:
            out = int(channels * compression)
            layers += bn_relu_conv(channels, out, 1) + [nn.AvgPool2d(2, ceil_mode=True)]
            channels = out
    return he_init(nn.Sequential(*layers, *preact_head(channels, num_classes)))


@ARCHITECTURES.register("densenet100_12")
def densenet100_12(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """DenseNet (L = 100, k = 12), no bottleneck, no compression: ≈ 7.0 M parameters."""
    return densenet(in_channels, num_classes, depth=100, growth=12, bottleneck=False, compression=1.0)


@ARCHITECTURES.register("densenet_bc100_12")
def densenet_bc100_12(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """DenseNet-BC (L = 100, k = 12), bottleneck and compression 0.5: ≈ 0.8 M parameters."""
    return densenet(in_channels, num_classes, depth=100, growth=12, bottleneck=True, compression=0.5)
