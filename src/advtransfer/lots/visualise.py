"""LOTS visualisation (method §4; paper 2 Figs 1 and 3).

For each origin x_o and chosen layer l: x_o⁺ and x_o⁻, which magnify and reduce f⁽ˡ⁾(x_o) along
η̂⁽ˡ⁾ = B_l(± f⁽ˡ⁾(x_o)), with their perturbations; optionally the targeted LOTS image towards a
target per layer (``visualisation_panels``; ``advtransfer.figures.lots_figure`` draws them). x_o^±
take ``steps`` step-and-adjust steps of 1/255 (our choice: the paper fixes no length); targeted
LOTS images are step-and-adjust LOTS run until the target is reached.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from advtransfer.lots.direction import visualisation_direction
from advtransfer.lots.layers import layer_features, predict
from advtransfer.lots.search import DEFAULT_MAX_STEPS, AttackResult, iterative_lots, step_and_adjust
from advtransfer.pass_score import pass_scores

VISUALISATION_STEPS = 64


def magnify_reduce(
    model: nn.Module, layer: str, origins: torch.Tensor, steps: int = VISUALISATION_STEPS,
) -> tuple[AttackResult, AttackResult]:
    """x_o⁺ and x_o⁻ at ``layer``: ``steps`` step-and-adjust steps along ±∇ₓ ½‖f⁽ˡ⁾(x)‖²."""
    def along(sign):
        return step_and_adjust(model, origins, lambda x, rows: visualisation_direction(model, layer, x, sign),
                               max_steps=steps)

    return along(1), along(-1)


def _captions(model, origins, adversarials, class_names) -> list[str]:
    predictions = predict(model, adversarials).tolist()
    difference = (adversarials.float() - origins.float()).flatten(1)
    scores = pass_scores(origins, adversarials)
    return [f"{class_names[p] if class_names else p} PASS {s:.2f}\nL2 {l2:.0f} L∞ {li:.0f}"
            for p, s, l2, li in zip(predictions, scores, difference.norm(dim=1).tolist(),
                                    difference.abs().amax(dim=1).tolist())]


def visualisation_panels(
    model: nn.Module, origins: torch.Tensor, layers: Sequence[str],
    targets: torch.Tensor | None = None, target_classes: torch.Tensor | None = None,
    steps: int = VISUALISATION_STEPS, max_steps: int = DEFAULT_MAX_STEPS,
    class_names: Sequence[str] | None = None,
) -> tuple[list[str], dict]:
    """x_o^± (and targeted LOTS images) per layer for a few origins (uint8 (n, C, H, W)).

    Returns the row kinds (x⁺, its perturbation, x⁻, its perturbation, and with ``targets`` (n, C,
    H, W) and ``target_classes`` (n,) the LOTS image towards target i and its perturbation) and
    ``panels[layer, kind]`` = (images, captions: predicted class, PASS, L2 and L∞ on the 0–255
    scale), for ``advtransfer.figures.lots_figure``.
    """
    with_targets = targets is not None
    if with_targets and (target_classes is None or len(targets) != len(origins)):
        raise ValueError("give one target image and one target class per origin")
    kinds = ["x⁺", "x⁺ − x", "x⁻", "x⁻ − x"] + (["LOTS", "LOTS − x"] if with_targets else [])
    panels: dict[tuple[str, str], tuple[torch.Tensor, list[str]]] = {}
    for layer in layers:
        plus, minus = magnify_reduce(model, layer, origins, steps)
        panels[layer, "x⁺"] = plus.adversarials, _captions(model, origins, plus.adversarials, class_names)
        panels[layer, "x⁻"] = minus.adversarials, _captions(model, origins, minus.adversarials, class_names)
        if with_targets:
            result = iterative_lots(model, layer, origins, layer_features(model, layer, targets),
                                    target_classes, max_steps)
            captions = _captions(model, origins, result.adversarials, class_names)
            captions = [c if ok else c + " (target missed)" for c, ok in zip(captions, result.success.tolist())]
            panels[layer, "LOTS"] = result.adversarials, captions
    return kinds, panels
