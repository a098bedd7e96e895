"""Saving and loading trained classifiers, without importing Lightning (inference jobs stay light)."""

from __future__ import annotations

from pathlib import Path

import torch

from advtransfer.defences import build_defence
from advtransfer.io import atomic_path
from advtransfer.models import Classifier, build_classifier


def save_classifier(module, path: str | Path, **meta) -> None:
    """Weights plus everything needed to rebuild the classifier, written atomically.

    ``module`` is a ``training.ClassifierModule`` (its ``hparams`` and ``model``).
    """
    payload = {"hparams": dict(module.hparams), "state_dict": module.model.state_dict(), "meta": meta}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_classifier(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[Classifier, dict]:
    """The trained classifier (in eval mode) and its metadata (hparams + meta) from ``save_classifier``."""
    payload = torch.load(path, map_location=map_location, weights_only=False)
    h = payload["hparams"]
    defence = build_defence(h["defence"], h["defence_params"])
    model = build_classifier(h["architecture"], h["in_channels"], h["image_size"], h["num_classes"],
                             h["mean"], h["std"], defence.input_transforms())
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model, {**h, **payload["meta"]}
