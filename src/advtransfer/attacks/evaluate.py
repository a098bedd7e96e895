"""Running an attack on a set of images and scoring it (method §2.6).

``run_attack`` gives one row per sample (``advtransfer.tables.attacks_per_class`` sums them up per
class for Table 3, method §3). Distances are on the 0–255 pixel scale, of the returned
adversarial image against the original float image.

A sample the model already misclassifies counts as a success with zero perturbation (the attacks
return it unchanged), so it enters the per-class Mean L2 score with distance 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from advtransfer.attacks.base import Attack
from advtransfer.catalog import SAMPLE_COLUMNS
from advtransfer.constants import PIXEL_MAX
from advtransfer.data import to_float


def _predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x).argmax(dim=1)


def run_attack(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, attack: Attack,
               batch_size: int, progress: bool = True, keep: list | None = None) -> pd.DataFrame:
    """Attack ``images`` (uint8 0–255, or float in [0, 1]; (n, C, H, W)) in batches, one row per sample.

    Columns: index (position in ``images``), true_label, clean_pred, adv_pred, success
    (adv_pred ≠ true_label), l2 and linf (‖x_adv − x‖ on the 0–255 scale). The model is evaluated
    in evaluation mode and left in the mode it came in. With a list ``keep``, the adversarial
    images are appended to it, batch by batch, as uint8 (rounded) on the CPU.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    images = torch.as_tensor(images)
    x_all = to_float(images) if images.dtype == torch.uint8 else images
    y_all = torch.as_tensor(labels, dtype=torch.long)
    device = next(model.parameters(), x_all).device
    was_training = model.training
    model.eval()
    parts = []
    try:
        for start in tqdm(range(0, len(x_all), batch_size), desc=type(attack).__name__, disable=not progress):
            x = x_all[start:start + batch_size].to(device, torch.float32)
            y = y_all[start:start + batch_size].to(device)
            x_adv = attack(x, y)
            if keep is not None:
                keep.append((x_adv * PIXEL_MAX).round().clamp(0, PIXEL_MAX).to(torch.uint8).cpu())
            delta = (x_adv - x).flatten(1) * PIXEL_MAX
            parts.append(torch.stack([
                y.double(), _predict(model, x).double(), _predict(model, x_adv).double(),
                delta.norm(dim=1).double(), delta.abs().amax(dim=1).double(),
            ], dim=1).cpu())
    finally:
        model.train(was_training)
    table = torch.cat(parts).numpy() if parts else np.zeros((0, 5))
    df = pd.DataFrame({
        "index": np.arange(len(table)),
        "true_label": table[:, 0].astype(np.int64),
        "clean_pred": table[:, 1].astype(np.int64),
        "adv_pred": table[:, 2].astype(np.int64),
        "l2": table[:, 3],
        "linf": table[:, 4],
    })
    df["success"] = df["adv_pred"] != df["true_label"]
    return df[SAMPLE_COLUMNS]
