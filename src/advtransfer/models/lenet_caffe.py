"""The classic Caffe LeNet, paper 2's MNIST network (method §4).

conv 20 (5×5) → max-pool 2 → conv 50 (5×5) → max-pool 2 → fc 500 → ReLU → fc N, with Caffe's layer
names (conv1, pool1, conv2, pool2, ip1, ip2) so LOTS layers read as in the paper. Caffe's ReLU runs
in place on the ip1 blob, so paper 2's ip1 is after the ReLU: here ``ip1`` is the block (fc, relu),
and ``ip1.fc`` the output before the ReLU. No padding: any input size ≥ 16 works; the flat size
follows from the input size.
"""

from collections import OrderedDict

from torch import nn

from advtransfer.models import ARCHITECTURES


@ARCHITECTURES.register("lenet_caffe")
def lenet_caffe(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    if image_size < 16:
        raise ValueError(f"lenet_caffe needs images of at least 16×16 pixels, got {image_size}")
    side = ((image_size - 4) // 2 - 4) // 2
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(in_channels, 20, 5)),
        ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(20, 50, 5)),
        ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("ip1", nn.Sequential(OrderedDict([("fc", nn.Linear(50 * side * side, 500)), ("relu", nn.ReLU())]))),
        ("ip2", nn.Linear(500, num_classes)),
    ]))
