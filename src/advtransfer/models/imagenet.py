"""Sub-ImageNet architectures of paper 1 (method §2): InceptionV3 and ResNet-50.

torchvision's models, trained from scratch (``weights=None``): global average pool → dense N.
InceptionV3 (Szegedy et al., "Rethinking the Inception Architecture", 2016) without the auxiliary
classifier, inputs 299×299 (at least 75×75); ResNet-50 (He et al. 2016), inputs 224×224. The first
convolution is rebuilt for an input channel count other than 3 (thermometer encoding), initialised
as torchvision initialises it. ``INPUT_SIZES`` gives the input size each expects; the Sub-ImageNet
source resizes its images to it (see ``advtransfer.data.subimagenet``).
"""

from __future__ import annotations

from torch import nn

from advtransfer.models import ARCHITECTURES
from advtransfer.models.cifar import require_size

INPUT_SIZES = {"inception_v3": 299, "resnet50": 224}


@ARCHITECTURES.register("resnet50")
def resnet50(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    from torchvision import models  # imported here: torchvision takes seconds to import

    model = models.resnet50(weights=None, num_classes=num_classes)
    if in_channels != 3:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    return model


@ARCHITECTURES.register("inception_v3")
def inception_v3(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    from torchvision import models

    require_size("inception_v3", image_size, 75)
    model = models.inception_v3(weights=None, num_classes=num_classes, aux_logits=False,
                                transform_input=False, init_weights=True)
    if in_channels != 3:
        conv = nn.Conv2d(in_channels, 32, kernel_size=3, stride=2, bias=False)
        nn.init.trunc_normal_(conv.weight, mean=0.0, std=0.1, a=-2, b=2)
        model.Conv2d_1a_3x3.conv = conv
    return model
