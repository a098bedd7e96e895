"""Saving and loading trained classifiers (method §2.4), without importing Lightning (inference jobs
stay light). Only the jobs use it (``advtransfer.jobs``)."""

from __future__ import annotations

from pathlib import Path

import torch

from advtransfer.defences import build_defence
from advtransfer.files import atomic_path, load_torch
from advtransfer.models import Classifier, build_classifier


def save_classifier(module, path: str | Path, **meta) -> None:
    """Weights plus everything needed to rebuild the classifier, written atomically.

    ``module`` is a ``training.ClassifierModule`` (its ``hparams`` and ``model``).
    """
    payload = {"hparams": dict(module.hparams), "state_dict": module.model.state_dict(), "meta": meta}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_classifier(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[Classifier, dict]:
    """The trained classifier (in eval mode) and its metadata (hparams + meta) from ``save_classifier``.

    Loads tensors and plain values only (``files.load_torch``), and refuses a model whose weights or
    outputs are not finite (a diverged training) with ``NonFiniteModelError``.
    """
    payload = load_torch(path, map_location)
    h = payload["hparams"]
    defence = build_defence(h["defence"], h["defence_params"])
    model = build_classifier(h["architecture"], h["in_channels"], h["image_size"], h["num_classes"],
                             h["mean"], h["std"], defence.input_transforms(), own_model=h.get("own_model"))
    model.load_state_dict(payload["state_dict"])
    model.eval()
    check_finite(model, h["in_channels"], h["image_size"], path)
    return model, {**h, **payload["meta"]}


def read_weights(path: str | Path) -> dict:
    """The weights (a state dict) of a classifier saved by ``save_classifier``: what a fine-tuning
    starts from (``training.ClassifierModule``'s ``init_weights``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"the classifier to start from, {path}, does not exist")
    return load_torch(path)["state_dict"]


class NonFiniteModelError(ValueError):
    """A trained model whose weights or outputs are NaN or infinite."""


def check_finite(model: Classifier, in_channels: int, image_size: int, path: str | Path) -> None:
    """Refuse ``model`` (read from ``path``) unless its weights, and its outputs on a grey image, are finite."""
    bad = [name for name, t in model.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise NonFiniteModelError(
            f"{path}: the model is not finite ({', '.join(bad[:3])} hold NaN or inf): its training diverged. "
            f"Retrain it with a lower learning rate; nothing was written.")
    device = next(model.parameters()).device
    with torch.no_grad():
        scores = model(torch.full((1, in_channels, image_size, image_size), 0.5, device=device))
    if not torch.isfinite(scores).all():
        raise NonFiniteModelError(
            f"{path}: the model is not finite: its outputs on a grey image hold NaN or inf, though its weights are "
            f"finite. Its forward gives them (an own model's code, or weights so large that the sums overflow): "
            f"check the model; nothing was written.")
