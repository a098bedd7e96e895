"""Residual networks of paper 1 for CIFAR-10 (method §2): ResNet-32 and WideResNet 16-8.

Both are built like paper 1's reference code: a 3×3 conv, three stages of pre-activation basic
blocks (BN → ReLU → conv 3×3 → BN → ReLU → conv 3×3, He et al., "Identity Mappings in Deep Residual
Networks", 2016), the first block of a stage halving the resolution (from stage 2 on) with a 1×1
projection shortcut when the width or resolution changes, then BN → ReLU → global average pool →
dense N. Any input size and channel count works.
"""

from __future__ import annotations

import torch
from torch import nn

from advtransfer.models import ARCHITECTURES
from advtransfer.models.cifar import he_init, preact_head


class PreActBlock(nn.Module):
    """Pre-activation basic block; the shortcut is the identity or a 1×1 projection of the input."""

    def __init__(self, n_in: int, n_out: int, stride: int = 1):
        super().__init__()
        self.residual = nn.Sequential(
            nn.BatchNorm2d(n_in), nn.ReLU(inplace=True),
            nn.Conv2d(n_in, n_out, 3, stride, 1, bias=False),
            nn.BatchNorm2d(n_out), nn.ReLU(inplace=True),
            nn.Conv2d(n_out, n_out, 3, 1, 1, bias=False),
        )
        changes = stride != 1 or n_in != n_out
        self.shortcut = nn.Conv2d(n_in, n_out, 1, stride, bias=False) if changes else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


def preact_resnet(in_channels: int, num_classes: int, widths: tuple[int, int, int], blocks: int) -> nn.Module:
    """conv 3×3 16 → 3 stages of ``blocks`` pre-activation blocks of ``widths`` → BN-ReLU → GAP → N."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)]
    channels = 16
    for stage, width in enumerate(widths):
        for b in range(blocks):
            layers.append(PreActBlock(channels, width, stride=2 if stage > 0 and b == 0 else 1))
            channels = width
    return he_init(nn.Sequential(*layers, *preact_head(channels, num_classes)))


@ARCHITECTURES.register("resnet32")
def resnet32(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """ResNet-32 (He et al. 2016): 3 stages × 5 basic blocks of width 16, 32, 64 (≈ 0.46 M parameters)."""
    return preact_resnet(in_channels, num_classes, (16, 32, 64), blocks=5)


@ARCHITECTURES.register("wrn16_8")
def wrn16_8(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """WideResNet 16-8 (Zagoruyko & Komodakis 2016): depth 16 = 3 stages × 2 blocks, widths 16·8,
    32·8, 64·8, no dropout (≈ 11 M parameters)."""
    return preact_resnet(in_channels, num_classes, (16 * 8, 32 * 8, 64 * 8), blocks=(16 - 4) // 6)
