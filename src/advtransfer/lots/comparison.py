"""Paper 2's comparison of FGS, FGV, HC and LOTS, each with the same line search (method §4).

``lots_comparison`` runs every attempt and returns one row per attempt
(``advtransfer.tables.lots_comparison_table`` summarises them per technique, layer and mode).
Dataset, architecture and defence columns are the caller's to add.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from advtransfer.catalog import TECHNIQUES
from advtransfer.constants import NO_LAYER
from advtransfer.lots.direction import fgs_direction, fgv_direction, hot_cold_direction, lots_direction
from advtransfer.lots.layers import OUTPUT, LayerFeatures, layer_features, predict
from advtransfer.lots.search import DEFAULT_LIMIT, line_search
from advtransfer.pass_score import pass_scores

# The success criterion of an attempt (method §4.5): "untargeted" (paper 2's: the class of the rounded,
# clipped image differs from the origin's) or "targeted" (it is the attempt's target class). HC and
# LOTS move towards their target in both; the criterion only says when the line search stops.
MODES = ("untargeted", "targeted")
NO_TARGET = -1  # the target class of FGS and FGV, which have no target
ATTEMPT_COLUMNS = ["origin", "origin_label", "target_class", "layer", "technique", "mode", "success", "eps",
                   "adversarial_class", "reached_target", "l2", "linf", "pass_score"]


def target_indices(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Paper 2's targets (method §4): per class k, the index of the first image of class k that is
    correctly classified (``predictions`` == ``labels``)."""
    correct = predictions.cpu() == labels.cpu()
    indices = []
    for k in range(num_classes):
        hits = torch.nonzero(correct & (labels.cpu() == k)).flatten()
        if not len(hits):
            raise ValueError(f"no correctly classified image of class {k} to serve as its target")
        indices.append(int(hits[0]))
    return torch.tensor(indices)


def origin_indices(predictions: torch.Tensor, labels: torch.Tensor, n: int) -> torch.Tensor:
    """Paper 2's origins (method §4; it attacks only correctly classified images): the indices of the
    first ``n`` correctly classified images (fewer if fewer are correct)."""
    return torch.nonzero(predictions.cpu() == labels.cpu()).flatten()[:n]


def choose_targets(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One target image per class (method §4): the first correctly classified image of each class.

    ``images``: (n, C, H, W) on the 0–255 scale (e.g. the test split). Returns the targets
    (num_classes, C, H, W), row k of class k, and their indices in ``images``.
    """
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    index = target_indices(predict(model, images), labels, num_classes)
    return images[index.to(images.device)], index


def correct_origins(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, n: int) -> torch.Tensor:
    """Indices of the first ``n`` images (0–255 scale) that ``model`` classifies correctly: paper 2's
    origins (method §4; it attacks only correctly classified images). Fewer if fewer are correct."""
    return origin_indices(predict(model, images), labels, n)


def _attempt_pairs(origin_labels: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(origin index, target class) for every origin and every class other than its label."""
    origin, target = torch.meshgrid(torch.arange(len(origin_labels)), torch.arange(num_classes), indexing="ij")
    keep = target != origin_labels.cpu()[:, None]
    return origin[keep], target[keep]


def technique_attempts(
    model: nn.Module, technique: str, origins: torch.Tensor, origin_labels: torch.Tensor, clean: torch.Tensor,
    targets: torch.Tensor, layer: str = NO_LAYER, batch_size: int = 256,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The attempts of one technique (method §4.5): (origin rows, target classes, directions).

    FGS and FGV: one attempt per origin without a target (−1); HC and LOTS (at ``layer``): one per
    origin and class other than its label, towards that class (LOTS: towards its image in
    ``targets``, one image per class). ``clean``: the origins' predictions (HC's cold class). Each
    direction is then searched with ``line_search``, the same for every technique.
    """
    device = origins.device
    if technique in ("FGS", "FGV"):
        rows = torch.arange(len(origins), device=device)
        direction = fgs_direction if technique == "FGS" else fgv_direction
        return rows, torch.full_like(rows, NO_TARGET), direction(model, origins, origin_labels, batch_size)
    rows, target_class = (t.to(device) for t in _attempt_pairs(origin_labels, len(targets)))
    if technique == "HC":
        return rows, target_class, hot_cold_direction(model, origins[rows], target_class, clean[rows], batch_size)
    if technique == "LOTS":
        target_features = layer_features(model, layer, targets, batch_size)[target_class]
        return rows, target_class, lots_direction(model, layer, origins[rows], target_features, batch_size)
    raise ValueError(f"unknown technique {technique!r}; known: {TECHNIQUES}")


def lots_comparison(
    model: nn.Module, origins: torch.Tensor, origin_labels: torch.Tensor, targets: torch.Tensor,
    layers: Sequence[str] = (OUTPUT,), techniques: Sequence[str] = TECHNIQUES,
    modes: Sequence[str] = ("untargeted",), limit: int = DEFAULT_LIMIT, batch_size: int = 256,
) -> pd.DataFrame:
    """Run paper 2's comparison and return one row per attempt.

    ``origins``: uint8 (n, C, H, W); ``origin_labels``: (n,); ``targets``: one image per class
    (K, C, H, W), row k of class k (``choose_targets``). HC and LOTS attack each origin towards
    every class other than its label, LOTS at each of ``layers``, in each of ``modes``; FGS and FGV
    have no target and make one untargeted attempt per origin whatever the ``modes``. The mode is the
    success criterion: untargeted (paper 2's, method §4.5), the class differs from the origin's
    prediction; targeted, it is the target class. HC and LOTS move towards their target in both.

    Columns: origin (index), origin_label, target_class (−1 for FGS/FGV), layer ("-" for
    FGS/FGV/HC), technique, mode, success, eps, adversarial_class, reached_target (the adversarial
    image is classified as the target class; missing for FGS/FGV, false where the attempt failed),
    and, on the 0–255 scale, l2, linf, with pass_score (NaN where the attempt failed; eps is missing
    there).
    """
    unknown = (set(techniques) - set(TECHNIQUES)) | (set(modes) - set(MODES))
    if unknown:
        raise ValueError(f"unknown techniques or modes {sorted(unknown)}; known: {TECHNIQUES}, {MODES}")
    for layer in layers:
        LayerFeatures(model, layer)  # an unknown layer fails before any work
    origin_labels = origin_labels.to(origins.device)
    clean = predict(model, origins)
    frames = []
    for technique in [t for t in TECHNIQUES if t in techniques]:
        for layer in (layers if technique == "LOTS" else [NO_LAYER]):
            rows, target_class, directions = technique_attempts(model, technique, origins, origin_labels, clean,
                                                                targets, layer, batch_size)
            for mode in (modes if technique in ("HC", "LOTS") else ["untargeted"]):
                classes = target_class if mode == "targeted" else clean[rows]
                result = line_search(model, origins[rows], directions, classes, mode == "targeted", limit)
                frames.append(_attempt_frame(origins, origin_labels, rows, target_class, layer, technique, mode,
                                             result))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ATTEMPT_COLUMNS)


def _attempt_frame(origins, origin_labels, rows, target_class, layer, technique, mode, result) -> pd.DataFrame:
    """One row per attempt of one line search."""
    x = origins[rows].float()
    difference = (result.adversarials.float() - x).flatten(1)
    success = result.success.cpu().numpy()
    fill = lambda values: np.where(success, values, np.nan)  # noqa: E731
    scores = np.full(len(rows), np.nan)
    if success.any():
        hit = torch.from_numpy(success).to(x.device)
        scores[success] = pass_scores(origins[rows][hit], result.adversarials[hit], torch.get_num_threads())
    targets = target_class.cpu().numpy()
    reached = success & (result.predictions.cpu().numpy() == targets)
    return pd.DataFrame({
        "origin": rows.cpu().numpy(),
        "origin_label": origin_labels[rows].cpu().numpy(),
        "target_class": targets,
        "layer": layer,
        "technique": technique,
        "mode": mode,
        "success": success,
        "eps": pd.array([int(e) if ok else pd.NA for e, ok in zip(result.eps.tolist(), success)], dtype="Int64"),
        "adversarial_class": result.predictions.cpu().numpy(),
        "reached_target": pd.array([None if t == NO_TARGET else bool(r) for t, r in zip(targets, reached)],
                                   dtype="boolean"),
        "l2": fill(difference.norm(dim=1).cpu().numpy()),
        "linf": fill(difference.abs().amax(dim=1).cpu().numpy()),
        "pass_score": scores,
    })
