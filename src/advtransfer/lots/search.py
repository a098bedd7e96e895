"""The paper's line search and step-and-adjust LOTS (method §4), batched over many attempts.

Images are on the 0–255 scale, (B, C, H, W). Every adversarial image returned has integer pixels
in [0, 255] (uint8). ``classes[i]`` is the target class of attempt i (targeted) or the class it
must leave (untargeted: usually the origin's prediction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from advtransfer.constants import PIXEL_MAX
from advtransfer.lots.direction import lots_direction, unit_linf
from advtransfer.lots.layers import channels_last, predict

DEFAULT_LIMIT = 4096  # line search: the largest ε tried (method §4)
DEFAULT_MAX_STEPS = 1000  # step-and-adjust: the step limit (our choice)
FIRST_CHUNK = 8  # line search: ε values tried per open attempt in the first round


@dataclass
class AttackResult:
    """Per attempt: the adversarial image (uint8; where the attempt failed, the line search gives
    the rounded origin and step-and-adjust its last iterate), success, ``eps`` (line search: the
    smallest successful ε; step-and-adjust: the number of steps taken; 0 where it failed) and the
    class the model gives the adversarial image."""

    adversarials: torch.Tensor
    success: torch.Tensor
    eps: torch.Tensor
    predictions: torch.Tensor


def _reached(predictions: torch.Tensor, classes: torch.Tensor, targeted: bool) -> torch.Tensor:
    return predictions == classes if targeted else predictions != classes


def saturation_eps(origins: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Per attempt, the ε from which clip(round(x_o + ε·d)) stops changing: every pixel that
    moves is clipped at 0 or 255 (0 when no pixel can move; at most 2³¹ for tiny components).
    ``directions`` have L∞ = 1."""
    x, d = origins.float(), directions
    to_bound = torch.where(d > 0, (PIXEL_MAX - x) / d, torch.where(d < 0, x / -d, torch.zeros_like(x)))
    return to_bound.flatten(1).amax(1).ceil().clamp(max=2.0**31).long()


def line_search(
    model: nn.Module, origins: torch.Tensor, directions: torch.Tensor, classes: torch.Tensor,
    targeted: bool = True, limit: int = DEFAULT_LIMIT, images_per_round: int = 256,
) -> AttackResult:
    """The paper's LOTS line search (method §4), for any direction (LOTS, FGS, FGV, HC).

    Each direction is scaled to L∞ = 1; the result is the smallest integer ε = 1, 2, …, ``limit``
    for which clip(round(x_o + ε·η/‖η‖∞), 0, 255) is classified as ``classes[i]`` (targeted) or
    not as ``classes[i]`` (untargeted). The search goes on past ε = 255; it fails at ``limit``, or
    earlier once the image no longer changes (``saturation_eps``). Each round tests the next
    chunk of consecutive ε of every open attempt, about ``images_per_round`` images in all (at
    least one per attempt; a chunk starts at 8 and doubles while few attempts are open, so a lone
    attempt does not test far past its ε); an attempt that succeeded is not evaluated again.
    """
    if not (len(origins) == len(directions) == len(classes)):
        raise ValueError("origins, directions and classes differ in length")
    if limit < 1:
        raise ValueError(f"limit must be ≥ 1, got {limit}")
    x_o = origins.float()
    d = unit_linf(directions.float().to(x_o.device))
    classes = classes.to(x_o.device)
    model = channels_last(model, x_o)[0]  # converted once for all rounds (``predict``)
    adversarials = x_o.round().clamp(0, PIXEL_MAX).to(torch.uint8)
    success = torch.zeros(len(x_o), dtype=torch.bool, device=x_o.device)
    eps = torch.zeros(len(x_o), dtype=torch.long, device=x_o.device)
    predictions = predict(model, adversarials)
    last = saturation_eps(x_o, d).clamp(max=limit)
    open_ = torch.nonzero(last >= 1).flatten()
    start, chunk = 1, FIRST_CHUNK
    while len(open_):
        size = max(1, min(chunk, images_per_round // len(open_), int(last[open_].max()) - start + 1))
        steps = torch.arange(start, start + size, device=x_o.device, dtype=torch.float32)
        images = (x_o[open_, None] + steps.view(1, -1, 1, 1, 1) * d[open_, None]).round().clamp(0, PIXEL_MAX)
        p = predict(model, images.flatten(0, 1)).view(len(open_), size)
        hit = _reached(p, classes[open_, None], targeted)
        found = hit.any(1)
        first = hit.int().argmax(1)[found]
        rows = open_[found]
        success[rows] = True
        eps[rows] = steps[first].long()
        adversarials[rows] = images[found, first].to(torch.uint8)
        predictions[rows] = p[found, first]
        start, chunk = start + size, chunk * 2
        open_ = open_[~found]
        open_ = open_[last[open_] >= start]
    return AttackResult(adversarials, success, eps, predictions)


def step_and_adjust(
    model: nn.Module, origins: torch.Tensor, direction: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    classes: torch.Tensor | None = None, targeted: bool = True, max_steps: int = DEFAULT_MAX_STEPS,
    step: float = 1.0,
) -> AttackResult:
    """Iterative LOTS (method §4): x ← clip(x + step·η/‖η‖∞, 0, 255), the direction recomputed
    every step by ``direction(x, rows)`` for the float iterates x of the still-open attempts
    ``rows``; ``step`` = 1 on the 0–255 scale is the paper's 1/255 on [0, 1].

    An attempt stops once its iterate rounded to integer pixels is classified as ``classes[i]``
    (targeted) or not as ``classes[i]`` (untargeted), or after ``max_steps``. With
    ``classes=None`` every attempt takes all ``max_steps`` steps (visualisation) and counts as a
    success. The returned images are the rounded iterates.
    """
    x = origins.float().clone()
    n = len(x)
    success = torch.zeros(n, dtype=torch.bool, device=x.device)
    eps = torch.zeros(n, dtype=torch.long, device=x.device)
    open_ = torch.arange(n, device=x.device)
    for k in range(1, max_steps + 1):
        if not len(open_):
            break
        eta = unit_linf(direction(x[open_], open_).to(x.device))
        x[open_] = (x[open_] + step * eta).clamp(0, PIXEL_MAX)
        if classes is not None:
            p = predict(model, x[open_].round())
            found = _reached(p, classes.to(x.device)[open_], targeted)
            success[open_[found]] = True
            eps[open_[found]] = k
            open_ = open_[~found]
    if classes is None:
        success[:] = True
        eps[:] = max_steps
    adversarials = x.round().clamp(0, PIXEL_MAX).to(torch.uint8)
    return AttackResult(adversarials, success, eps, predict(model, adversarials))


def iterative_lots(
    model: nn.Module, layer: str, origins: torch.Tensor, target_features: torch.Tensor,
    target_classes: torch.Tensor, max_steps: int = DEFAULT_MAX_STEPS, step: float = 1.0,
    batch_size: int = 256,
) -> AttackResult:
    """Targeted step-and-adjust LOTS at ``layer`` (method §4): origin i moves towards
    ``target_features[i]`` = f⁽ˡ⁾(x_t) until it is classified as ``target_classes[i]``."""
    def direction(x, rows):
        return lots_direction(model, layer, x, target_features[rows.to(target_features.device)], batch_size)

    return step_and_adjust(model, origins, direction, target_classes, True, max_steps, step)
