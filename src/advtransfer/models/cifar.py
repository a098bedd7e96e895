"""Plain CIFAR-10 architectures of paper 1 (method §2): LeNet, VGG-16, AllConv, NIN.

The layer choices follow paper 1's reference code (batch norm where it uses it, He-normal
initialisation). Every factory accepts any input channel count (thermometer encoding gives C × 16)
and N or N − 1 outputs. Shared pieces (``he_init``, ``require_size``, ``preact_head``) are used by the
residual, dense and capsule networks too.
"""

from __future__ import annotations

from torch import nn

from advtransfer.models import ARCHITECTURES
from advtransfer.models.convnet import conv_relu


def he_init(model: nn.Module) -> nn.Module:
    """He-normal weights (fan-in, ReLU gain) and zero biases for every conv and dense layer."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def require_size(name: str, image_size: int, minimum: int) -> None:
    if image_size < minimum:
        raise ValueError(f"{name} needs images of at least {minimum}×{minimum} pixels, got {image_size}")


def conv_bn_relu(n_in: int, n_out: int, kernel: int, stride: int = 1, padding: int | None = None) -> list[nn.Module]:
    """Conv ('same' padding unless given) → batch norm → ReLU."""
    pad = kernel // 2 if padding is None else padding
    return [nn.Conv2d(n_in, n_out, kernel, stride, pad, bias=False), nn.BatchNorm2d(n_out), nn.ReLU(inplace=True)]


def preact_head(channels: int, num_classes: int) -> list[nn.Module]:
    """The pre-activation networks' classifier: BN → ReLU → global average pool → dense N."""
    return [nn.BatchNorm2d(channels), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(channels, num_classes)]


def dense_bn_relu(n_in: int, n_out: int) -> list[nn.Module]:
    return [nn.Linear(n_in, n_out, bias=False), nn.BatchNorm1d(n_out), nn.ReLU(inplace=True)]


@ARCHITECTURES.register("lenet")
def lenet(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """LeNet-5 (LeCun et al. 1998) with batch norm: conv 6 (5×5) → pool → conv 16 (5×5) → pool →
    dense 120 → 84 → N. 'Valid' convolutions as in the paper, so images must be at least 16×16."""
    require_size("lenet", image_size, 16)
    side = ((image_size - 4) // 2 - 4) // 2
    return he_init(nn.Sequential(
        *conv_bn_relu(in_channels, 6, 5, padding=0), nn.MaxPool2d(2),
        *conv_bn_relu(6, 16, 5, padding=0), nn.MaxPool2d(2),
        nn.Flatten(),
        *dense_bn_relu(16 * side * side, 120),
        *dense_bn_relu(120, 84),
        nn.Linear(84, num_classes),
    ))


@ARCHITECTURES.register("vgg16")
def vgg16(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """VGG-16 (Simonyan & Zisserman 2015) for CIFAR: 13 conv 3×3 with batch norm in 5 stages
    (64, 128, 256, 512, 512; dropout .4 between convs of a stage) → global average pool → dense 512
    (batch norm, dropout .5) → N. Pooling rounds up, so images smaller than 32 stay valid."""
    layers: list[nn.Module] = []
    channels = in_channels
    for width, depth in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for i in range(depth):
            layers += conv_bn_relu(channels, width, 3)
            if i < depth - 1:
                layers.append(nn.Dropout(0.4))
            channels = width
        layers.append(nn.MaxPool2d(2, ceil_mode=True))
    return he_init(nn.Sequential(
        *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        *dense_bn_relu(512, 512), nn.Dropout(0.5), nn.Linear(512, num_classes),
    ))


def strided_conv_relu(n_in: int, n_out: int) -> list[nn.Module]:
    """3×3 conv with stride 2 → ReLU: All-CNN's replacement for max-pooling."""
    return [nn.Conv2d(n_in, n_out, 3, stride=2, padding=1), nn.ReLU(inplace=True)]


@ARCHITECTURES.register("allconv")
def allconv(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """All-CNN-C (Springenberg et al. 2015): 3×3 convs 96, 96, 96/2 → 192, 192, 192/2 → 192, 1×1 192,
    1×1 N → ReLU → global average pool; max-pooling replaced by stride-2 convs, no batch norm.
    As in paper 1's reference code, every conv is 'same'-padded and dropout (.2, .5, .5) follows the
    first conv and each strided conv."""
    return he_init(nn.Sequential(
        *conv_relu(in_channels, 96, 3), nn.Dropout(0.2),
        *conv_relu(96, 96, 3), *strided_conv_relu(96, 96), nn.Dropout(0.5),
        *conv_relu(96, 192, 3), *conv_relu(192, 192, 3), *strided_conv_relu(192, 192), nn.Dropout(0.5),
        *conv_relu(192, 192, 3), *conv_relu(192, 192, 1),
        *conv_relu(192, num_classes, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    ))


@ARCHITECTURES.register("nin")
def nin(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """Network in Network (Lin et al. 2014) for CIFAR with batch norm (as paper 1's reference code):
    three mlpconv blocks (5×5 192 → 1×1 160 → 1×1 96; 5×5 192 → 1×1 192 → 1×1 192; 3×3 192 → 1×1 192
    → 1×1 N), 3×3/2 max-pool and dropout .5 between them, global average pool of the N maps."""
    def pool_dropout() -> list[nn.Module]:
        return [nn.MaxPool2d(3, stride=2, padding=1), nn.Dropout(0.5)]

    return he_init(nn.Sequential(
        *conv_bn_relu(in_channels, 192, 5), *conv_bn_relu(192, 160, 1), *conv_bn_relu(160, 96, 1),
        *pool_dropout(),
        *conv_bn_relu(96, 192, 5), *conv_bn_relu(192, 192, 1), *conv_bn_relu(192, 192, 1),
        *pool_dropout(),
        *conv_bn_relu(192, 192, 3), *conv_bn_relu(192, 192, 1), *conv_bn_relu(192, num_classes, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    ))
