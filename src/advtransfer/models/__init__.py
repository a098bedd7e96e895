"""Architectures (method §2) and the deployed classifier that wraps them.

Every classifier in the project maps float images in [0, 1], shape (B, C, H, W), to class scores.
``Classifier`` = input-transform defences → per-channel standardisation → architecture body, so
attacks and LOTS always see the whole model as deployed and work on the [0, 1] pixel scale.

Register a new architecture with ``@ARCHITECTURES.register("name")`` (and its module in the table
below, so that it is imported when first used) on a factory
``f(in_channels, image_size, num_classes) -> nn.Module``. A body whose outputs are not logits
(CapsNet's capsule lengths) sets the attribute ``output_kind = "lengths"``; see
``advtransfer.softlabels``. An architecture given in the config by import path (``model``,
``model_kwargs``: ``advtransfer.own``) is built by ``advtransfer.models.own``.
"""

from __future__ import annotations

import importlib
from typing import Callable, Sequence

import torch
from torch import nn

from advtransfer import catalog
from advtransfer.constants import LOGITS
from advtransfer.own import MODEL_MODULE
from advtransfer.registry import Registry

ArchitectureFactory = Callable[[int, int, int], nn.Module]
ARCHITECTURES: Registry[ArchitectureFactory] = Registry("architecture", catalog.ARCHITECTURES)


class Standardize(nn.Module):
    """Per-channel standardisation (x − mean) / std, as paper 1's reference code does."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class Classifier(nn.Module):
    """The classifier as deployed: ``body(standardize(transforms(x)))`` on inputs in [0, 1].

    ``transforms`` are input-transform defences (feature squeezing, spatial smoothing, thermometer
    encoding). A transform may define ``out_channels(c) -> int`` (thermometer encoding multiplies
    the channels) and ``standardize = False`` when its output should not be standardised.
    """

    def __init__(self, body: nn.Module, standardize: nn.Module, transforms: Sequence[nn.Module] = ()):
        super().__init__()
        self.transforms = nn.Sequential(*transforms)
        self.standardize = standardize
        self.body = body

    @property
    def output_kind(self) -> str:
        return getattr(self.body, "output_kind", LOGITS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.standardize(self.transforms(x)))


def build_classifier(
    architecture: str,
    in_channels: int,
    image_size: int,
    num_classes: int,
    mean: Sequence[float],
    std: Sequence[float],
    transforms: Sequence[nn.Module] = (),
    own_model: dict | None = None,
) -> Classifier:
    """Build ``architecture`` for ``num_classes`` outputs behind ``transforms`` and standardisation;
    ``own_model`` ({"model", "model_kwargs"}) builds an own model instead of a registered one."""
    channels = in_channels
    standardize: nn.Module = Standardize(mean, std)
    for t in transforms:
        if hasattr(t, "out_channels"):
            channels = t.out_channels(channels)
        if getattr(t, "standardize", True) is False:
            standardize = nn.Identity()
    if channels != in_channels and not isinstance(standardize, nn.Identity):
        raise ValueError("a transform that changes the channel count must set standardize = False")
    if own_model is not None:  # imported by name: only own models' jobs count it (advtransfer.code)
        body = importlib.import_module(MODEL_MODULE).build_own(own_model, channels, image_size, num_classes)
    else:
        body = ARCHITECTURES.get(architecture)(channels, image_size, num_classes)
    return Classifier(body, standardize, transforms)
