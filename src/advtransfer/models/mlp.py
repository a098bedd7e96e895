"""MLP of paper 1 (method §2): flatten → 1024 → 1024 (each batch norm + ReLU) → N."""

from torch import nn

from advtransfer.models import ARCHITECTURES


@ARCHITECTURES.register("mlp")
def mlp(in_channels: int, image_size: int, num_classes: int, width: int = 1024) -> nn.Module:
    def block(n_in: int, n_out: int) -> list[nn.Module]:
        return [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU(inplace=True)]

    return nn.Sequential(
        nn.Flatten(),
        *block(in_channels * image_size * image_size, width),
        *block(width, width),
        nn.Linear(width, num_classes),
    )
