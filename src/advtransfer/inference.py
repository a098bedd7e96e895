"""Running trained classifiers: device choice and batched scores."""

from __future__ import annotations

import os

import torch


def best_device() -> torch.device:
    """The GPU this job was given (``CUDA_VISIBLE_DEVICES``) when there is one, else the CPU.

    A job given no GPU (``CUDA_VISIBLE_DEVICES`` empty, ``advtransfer.gpus``) does not even ask the
    CUDA driver (``torch.cuda.is_available`` would load and initialise it).
    """
    if os.environ.get("ADVTRANSFER_DEVICE"):
        return torch.device(os.environ["ADVTRANSFER_DEVICE"])
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        return torch.device("cpu")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.no_grad()
def scores_of(model: torch.nn.Module, loader, device: torch.device | None = None) -> torch.Tensor:
    """The model's class scores for every batch of ``loader`` ((images in [0, 1], labels) pairs), on the CPU."""
    device = device or best_device()
    model = model.to(device).eval()
    return torch.cat([model(x.to(device)).float().cpu() for x, _ in loader])
