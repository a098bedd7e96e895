"""Defences (SPEC §2 defence table): one interface, two kinds of parts.

A ``Defence`` contributes
- input transforms (``input_transforms``): ``nn.Module``s placed in front of the classifier at
  train and test time (see ``advtransfer.models.Classifier``);
- training-time changes: ``prepare_training_set`` (e.g. Gaussian augmentation doubling the set),
  ``training_loss`` (e.g. label smoothing, adversarial training) called by the training module.

``vanilla`` is the no-defence case. Register a defence with ``@DEFENCES.register("name")`` on a
class whose constructor takes the defence's config parameters as keyword arguments.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from advtransfer.registry import Registry

DEFENCES: Registry = Registry("defence")


class Defence:
    """Base class: no input transform, the training set as it is, plain cross-entropy."""

    name = "vanilla"

    def input_transforms(self) -> list[nn.Module]:
        return []

    def prepare_training_set(self, x: torch.Tensor, y: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The uint8 training images and labels the classifier trains on."""
        return x, y

    def training_loss(self, module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The loss of one training batch; ``module`` is the ``ClassifierModule``."""
        return module.criterion(module(x), y)


@DEFENCES.register("vanilla")
class Vanilla(Defence):
    pass


def build_defence(name: str, params: dict | None = None) -> Defence:
    """Instantiate a registered defence with its config parameters."""
    cls = DEFENCES.get(name)
    try:
        return cls(**(params or {}))
    except TypeError as err:
        raise ValueError(f"defence {name!r}: bad parameters {params!r} ({err})") from None


def cross_entropy(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(scores, y)
