"""Defences (method §2.5): one interface, two kinds of parts.

A ``Defence`` contributes
- input transforms (``input_transforms``): ``nn.Module``s placed in front of the classifier at
  train and test time (see ``advtransfer.models.Classifier``): feature squeezing, spatial smoothing,
  thermometer encoding (``advtransfer.defences.transforms``);
- training-time changes (``advtransfer.defences.training_time``), which the training module
  (``advtransfer.training.ClassifierModule``, the owner of the optimisation) asks for:
  ``prepare_training_set`` (Gaussian augmentation doubles the set), ``training_batches`` (the batches
  of one training batch, one optimiser step each: adversarial training adds its PGD examples) and
  ``training_loss`` (label smoothing), each batch;
- ``prepare``: one hook, run by the training module when training starts, with the classifier, the
  study's seed and the number of batches per epoch (e.g. a check of a layer name, the seed of a
  random start). A defence that fine-tunes a trained classifier (``advtransfer.study``,
  ``FINE_TUNED``) gets its weights from the training job; one that trains on stored adversarial
  examples takes their files as the constructor argument ``examples`` (``takes_examples``).

``vanilla`` is the no-defence case. Register a defence with ``@DEFENCES.register("name")`` (and its
module in ``advtransfer.catalog.DEFENCES``) on a class whose constructor takes the defence's config
parameters as keyword arguments; a bad value raises ``ValueError`` naming the defence and the
parameter (``check_param``).
"""

from __future__ import annotations

import torch
from torch import nn

from advtransfer import catalog
from advtransfer.registry import Registry

DEFENCES: Registry = Registry("defence", catalog.DEFENCES)


class Defence:
    """Base class: no input transform, the training set as it is, one optimiser step per training
    batch on the architecture's own loss."""

    name = "vanilla"
    iterations: int | None = None  # a fine-tuning of this many batches, in ``epochs`` epochs (method §4.10)
    epochs: int | None = None  # None: the recipe's
    takes_examples = False  # the constructor takes ``examples``: adversarial example files (method §4.10)

    def input_transforms(self) -> list[nn.Module]:
        return []

    def prepare(self, model: nn.Module, *, seed: int, batches_per_epoch: float) -> None:
        """Called once when training starts (a resumed one too), before the first batch: the classifier,
        the study's seed and the number of training batches per epoch (``inf`` for an unsized loader)."""

    def prepare_training_set(self, x: torch.Tensor, y: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The training images (0–255 scale) and labels the classifier trains on."""
        return x, y

    def training_batches(self, module, x: torch.Tensor, y: torch.Tensor):
        """The batches of one training batch, one optimiser step each (a generator: the training module
        takes the next batch after the previous step)."""
        yield x, y

    def training_loss(self, module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The loss of one batch; ``module`` is the ``ClassifierModule``."""
        return module.classification_loss(x, y)


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


def build_defence(name: str, params: dict | None = None, examples: list[str] | None = None) -> Defence:
    """Instantiate a registered defence with its config parameters (``ValueError`` if unknown or bad);
    ``examples``: the adversarial example files of a defence that ``takes_examples``."""
    if name not in DEFENCES:
        raise ValueError(f"unknown defence {name!r}; known: {', '.join(DEFENCES.names())}")
    cls = DEFENCES.get(name)  # imports the defence's module
    if examples and not cls.takes_examples:
        raise ValueError(f"defence {name!r} takes no adversarial example files")
    try:
        return cls(**(params or {}), **({"examples": list(examples or ())} if cls.takes_examples else {}))
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
