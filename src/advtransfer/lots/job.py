"""The LOTS stage of the workflow (method §4): one function per job.

Every job attacks a trained standard classifier on the first images of its dataset's test split
(paper 2's comparison: the first correctly classified ones); the target images are one per class,
the first correctly classified test image of each (``choose_targets``). Outputs are written
atomically.
"""

from __future__ import annotations

import torch
from torch import nn

from advtransfer.io import write_table
from advtransfer.lots.comparison import choose_targets, correct_origins, lots_comparison
from advtransfer.lots.layers import OUTPUT, layer_features

KEYS = ["dataset", "architecture", "defence", "seed"]


def top_two(model: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The class with the highest score and the runner-up, for images on the 0–255 scale."""
    ranked = layer_features(model, OUTPUT, images).topk(2, dim=1).indices
    return ranked[:, 0], ranked[:, 1]


def _load(data: dict, model_path: str):
    """The classifier on this job's device, the test images, their labels and the class targets."""
    from advtransfer.data import for_architecture, load_dataset
    from advtransfer.inference import best_device
    from advtransfer.model_io import load_classifier

    device = best_device()
    model, meta = load_classifier(model_path, device)
    splits = for_architecture(load_dataset(**data), meta["architecture"])
    if not hasattr(splits, "test_x"):
        raise ValueError(f"LOTS needs a dataset held in memory; {data['name']} is read from image folders")
    targets, _ = choose_targets(model, splits.test_x, splits.test_y, splits.num_classes)
    return model, splits.test_x.to(device), splits.test_y.to(device), targets.to(device), splits.class_names


def attempts_job(data: dict, model: str, keys: dict, techniques: list, layers: list, modes: list,
                 n_lots: int, limit: int, out: str) -> None:
    """Paper 2's attempts (``lots_comparison``) on the first ``n_lots`` correctly classified test
    images: one row per attempt, ``keys`` (dataset, architecture, defence, seed) first, ``origin`` the
    image's index in the test split."""
    classifier, images, labels, targets, _ = _load(data, model)
    index = correct_origins(classifier, images, labels, n_lots)
    attempts = lots_comparison(classifier, images[index], labels[index], targets, layers, techniques, modes, limit)
    attempts["origin"] = index.cpu().numpy()[attempts["origin"].to_numpy(dtype=int)]
    for i, (key, value) in enumerate(keys.items()):
        attempts.insert(i, key, value)
    write_table(attempts, out)
