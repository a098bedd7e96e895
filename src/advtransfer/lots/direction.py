"""Perturbation directions of paper 2 (method §4): LOTS, FGS, FGV, hot/cold, and the visualisation.

Every function takes images (B, C, H, W) on the 0–255 pixel scale (uint8, or floats such as an
iterate of step-and-adjust LOTS) and returns one direction per image, (B, C, H, W) float, on the
images' device: the gradient with respect to the 0–255 image. The line search and step-and-adjust
LOTS scale it to L∞ = 1, so only its direction matters. The model runs in eval mode, in batches of
``batch_size``; every sample's direction depends on that sample alone.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from advtransfer.constants import LOGITS, NLL_FLOOR, PIXEL_MAX
from advtransfer.lots.layers import OUTPUT, LayerFeatures, eval_mode, model_device
from advtransfer.softlabels import soft_label

# objective(scores, features, rows) -> one value per sample; ``rows`` (on the model's device) index
# the batch's samples in the whole input.
Objective = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def input_gradient(
    model: nn.Module, images: torch.Tensor, objective: Objective, layer: str = OUTPUT, batch_size: int = 256,
) -> torch.Tensor:
    """∇ₓ objective(f(x), f⁽ˡ⁾(x)) of each image x on the 0–255 scale."""
    features = LayerFeatures(model, layer)
    device = model_device(model)
    gradients = []
    with eval_mode(model), torch.enable_grad():
        for rows in torch.arange(len(images), device=device).split(batch_size):
            x = images[rows.to(images.device)].to(device).float().requires_grad_(True)
            scores, f = features(x / PIXEL_MAX)
            value = objective(scores, f, rows).sum()
            gradients.append(torch.autograd.grad(value, x)[0].to(images.device))
    if not gradients:
        return torch.zeros(images.shape, device=images.device)
    return torch.cat(gradients)


def lots_direction(
    model: nn.Module, layer: str, origins: torch.Tensor, target_features: torch.Tensor, batch_size: int = 256,
) -> torch.Tensor:
    """η⁽ˡ⁾ = −∇ₓ ½‖f⁽ˡ⁾(x_t) − f⁽ˡ⁾(x)‖² at x = x_o, i.e. B_l(f⁽ˡ⁾(x_t) − f⁽ˡ⁾(x_o)) (method §4).

    ``target_features[i]`` is f⁽ˡ⁾(x_t) of the target of origin i (``layer_features``).
    """
    if len(target_features) != len(origins):
        raise ValueError(f"{len(origins)} origins but {len(target_features)} target features")
    targets = target_features.to(model_device(model))

    def objective(scores, f, rows):
        return -0.5 * (targets[rows] - f).flatten(1).pow(2).sum(1)

    return input_gradient(model, origins, objective, layer, batch_size)


def visualisation_direction(
    model: nn.Module, layer: str, origins: torch.Tensor, sign: int = 1, batch_size: int = 256,
) -> torch.Tensor:
    """η̂⁽ˡ⁾ = B_l(± f⁽ˡ⁾(x_o)) = ±∇ₓ ½‖f⁽ˡ⁾(x)‖²: magnifies (+1) or reduces (−1) f⁽ˡ⁾(x_o) (method §4)."""
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 or -1, got {sign}")
    return input_gradient(model, origins, lambda s, f, rows: sign * 0.5 * f.flatten(1).pow(2).sum(1),
                          layer, batch_size)


def classification_loss(scores: torch.Tensor, labels: torch.Tensor, output_kind: str = LOGITS) -> torch.Tensor:
    """Per-sample cross-entropy −log p(label | x) of the soft-label (method §1.3: capsule lengths
    divided by their sum)."""
    if output_kind == LOGITS:
        return F.cross_entropy(scores, labels, reduction="none")
    p = soft_label(scores, output_kind)
    return -p.gather(1, labels[:, None]).squeeze(1).clamp_min(NLL_FLOOR).log()


def loss_gradient(model: nn.Module, origins: torch.Tensor, labels: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """∇ₓ of the classification loss of each origin for its label."""
    kind = getattr(model, "output_kind", LOGITS)
    labels = labels.to(model_device(model))
    return input_gradient(model, origins, lambda s, f, rows: classification_loss(s, labels[rows], kind),
                          OUTPUT, batch_size)


def fgs_direction(model: nn.Module, origins: torch.Tensor, labels: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """FGS, fast gradient sign: sign(∇ₓ loss(x_o, label)) (method §4)."""
    return loss_gradient(model, origins, labels, batch_size).sign()


def fgv_direction(model: nn.Module, origins: torch.Tensor, labels: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """FGV, fast gradient value: ∇ₓ loss(x_o, label) scaled to L∞ = 1 (method §4)."""
    return unit_linf(loss_gradient(model, origins, labels, batch_size))


def hot_cold_direction(
    model: nn.Module, origins: torch.Tensor, target_classes: torch.Tensor, origin_classes: torch.Tensor,
    batch_size: int = 256,
) -> torch.Tensor:
    """HC, hot/cold: ∇ₓ (f_t(x) − f_o(x)) at x_o, raising the target's (hot) score and lowering
    the origin's predicted (cold) score; one direction per target class (method §4)."""

    device = model_device(model)
    hot, cold = target_classes.to(device), origin_classes.to(device)

    def objective(scores, f, rows):
        return scores.gather(1, hot[rows, None]).squeeze(1) - scores.gather(1, cold[rows, None]).squeeze(1)

    return input_gradient(model, origins, objective, OUTPUT, batch_size)


def unit_linf(directions: torch.Tensor) -> torch.Tensor:
    """Each direction divided by its L∞ norm (a zero direction stays zero)."""
    norm = directions.flatten(1).abs().amax(1).clamp_min(torch.finfo(directions.dtype).tiny)
    return directions / norm.view(-1, *[1] * (directions.ndim - 1))
