"""Defences (method §2.5): one interface, two kinds of parts.

A ``Defence`` contributes
- input transforms (``input_transforms``): ``nn.Module``s placed in front of the classifier at
  train and test time (see ``advtransfer.models.Classifier``): feature squeezing, spatial smoothing,
  thermometer encoding (``advtransfer.defences.transforms``);
- training-time changes (``advtransfer.defences.training_time``): ``prepare_training_set``
  (Gaussian augmentation doubles the set), ``training_loss`` (label smoothing, adversarial
  training), called by the training module each batch;
- ``prepare_model``: a hook run once on the freshly built classifier, before training (e.g. a
  check of a layer name). A defence that fine-tunes a trained classifier (``advtransfer.study.
  FINE_TUNED``) gets it from the workflow: the training job starts from its weights (``init_from``).

``vanilla`` is the no-defence case. Register a defence with ``@DEFENCES.register("name")`` (and its
module in the table below) on a
class whose constructor takes the defence's config parameters as keyword arguments; a bad value
raises ``ValueError`` naming the defence and the parameter (``check_param``).
"""

from __future__ import annotations

import torch
from torch import nn

from advtransfer import catalog
from advtransfer.registry import Registry

DEFENCES: Registry = Registry("defence", catalog.DEFENCES)


class Defence:
    """Base class: no input transform, the training set as it is, the architecture's own loss.

    A defence with ``steps_per_batch`` > 1 makes several optimiser steps per training batch: the
    training step takes one on each batch ``training_batches`` yields (adversarial training: the
    clean batch, then its PGD examples made after the first step).
    """

    name = "vanilla"
    steps_per_batch = 1
    iterations: int | None = None  # a fine-tuning of this many batches, in ``epochs`` epochs (method §4.10)
    epochs: int | None = None  # None: the recipe's

    def use_examples(self, paths: list[str]) -> None:
        """Adversarial example files (the workflow's inputs) to train on; only a fine-tuning defence takes them."""
        raise ValueError(f"defence {self.name!r} takes no adversarial example files")

    def input_transforms(self) -> list[nn.Module]:
        return []

    def prepare_training_set(self, x: torch.Tensor, y: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The training images (0–255 scale) and labels the classifier trains on."""
        return x, y

    def training_loss(self, module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The loss of one training batch; ``module`` is the ``ClassifierModule``."""
        return module.classification_loss(x, y)

    def training_batches(self, module, x: torch.Tensor, y: torch.Tensor):
        """The batches of one training batch's optimiser steps (``steps_per_batch`` > 1 only)."""
        yield x, y

    def prepare_model(self, model: nn.Module) -> None:
        """Called once on the newly built classifier."""


def check_param(defence: str, param: str, value, ok: bool, requirement: str) -> None:
    """``ValueError`` naming the defence and parameter unless ``ok``."""
    if not ok:
        raise ValueError(f"defence {defence!r}: {param} must be {requirement}, got {value!r}")


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


@DEFENCES.register("vanilla")
class Vanilla(Defence):
    pass


def build_defence(name: str, params: dict | None = None) -> Defence:
    """Instantiate a registered defence with its config parameters (``ValueError`` if unknown or bad)."""
    if name not in DEFENCES:
        raise ValueError(f"unknown defence {name!r}; known: {', '.join(DEFENCES.names())}")
    cls = DEFENCES.get(name)  # imports the defence's module
    try:
        return cls(**(params or {}))
    except TypeError as err:
        raise ValueError(f"defence {name!r}: bad parameters {params!r} ({err})") from None


# The classes, imported on first use: a job imports only the defence it trains or loads.
_CLASSES = {"AdversarialTraining": "training_time", "GaussianAugmentation": "training_time",
            "LabelSmoothing": "training_time", "smoothed_targets": "training_time",
            "FeatureSqueezing": "transforms", "SpatialSmoothing": "transforms", "ThermometerEncoding": "transforms"}


def __getattr__(name: str):
    if name in _CLASSES:
        import importlib

        return getattr(importlib.import_module(f"advtransfer.defences.{_CLASSES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
