"""Defences (method §2.5): one interface, two kinds of parts.

A ``Defence`` contributes
- input transforms (``input_transforms``): ``nn.Module``s placed in front of the classifier at
  train and test time (see ``advtransfer.models.Classifier``): feature squeezing, spatial smoothing,
  thermometer encoding (``advtransfer.defences.transforms``);
- training-time changes (``advtransfer.defences.training_time``): ``prepare_training_set``
  (Gaussian augmentation doubles the set), ``training_loss`` (label smoothing, adversarial
  training), called by the training module each batch;
- ``prepare_model``: a hook run once on the freshly built classifier, before training; a defence
  that fine-tunes a trained classifier (LOTS adversarial training) sets ``init_from`` to the path of
  that classifier's weights (``advtransfer.training.save_classifier``) and starts from them.

``vanilla`` is the no-defence case. Register a defence with ``@DEFENCES.register("name")`` (and its
module in the table below) on a
class whose constructor takes the defence's config parameters as keyword arguments; a bad value
raises ``ValueError`` naming the defence and the parameter (``check_param``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from advtransfer import catalog
from advtransfer.registry import Registry

DEFENCES: Registry = Registry("defence", catalog.DEFENCES)


class Defence:
    """Base class: no input transform, the training set as it is, the architecture's own loss.

    ``automatic_optimization = False`` lets ``training_loss`` make its own optimiser steps (Lightning's
    manual optimisation, adversarial training's two steps per batch); it then also steps the
    learning-rate schedule (``step_schedule_at_epoch_end``) and returns the loss only for logging.
    """

    name = "vanilla"
    automatic_optimization = True
    init_from: str | Path | None = None

    def input_transforms(self) -> list[nn.Module]:
        return []

    def prepare_training_set(self, x: torch.Tensor, y: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The training images (0–255 scale) and labels the classifier trains on."""
        return x, y

    def training_loss(self, module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The loss of one training batch; ``module`` is the ``ClassifierModule``."""
        return module.classification_loss(x, y)

    def prepare_model(self, model: nn.Module) -> None:
        """Called once on the newly built classifier; loads ``init_from``'s weights when set."""
        if self.init_from is not None:
            load_initial_weights(model, self.init_from)


def load_initial_weights(model: nn.Module, path: str | Path) -> None:
    """Copy the weights of a classifier saved by ``save_classifier`` into ``model`` (same shapes)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"the classifier to start from, {path}, does not exist")
    from advtransfer.io import load_torch

    payload = load_torch(path)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"{path} does not fit the classifier being trained: {err}") from None


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
