"""LOTS visualisation (method §4; paper 2 Figs 1 and 3).

For each origin x_o and chosen layer l: x_o⁺ and x_o⁻, which magnify and reduce f⁽ˡ⁾(x_o) along
η̂⁽ˡ⁾ = B_l(± f⁽ˡ⁾(x_o)), with their perturbations; optionally the targeted LOTS image towards a
target per layer. Every image is captioned with its predicted class, PASS, L2 and L∞ (0–255
scale), every perturbation with its colour range (0–255 scale), every row with its kind. x_o^± take ``steps`` step-and-adjust steps of 1/255 (our choice: the paper fixes no
length); targeted LOTS images are step-and-adjust LOTS run until the target is reached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
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


def _blank(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)


def _show(ax, image: np.ndarray, caption: str, perturbation: bool = False) -> None:
    """One panel: an image (C, H, W) on the 0–255 scale, or a perturbation (centred colour map,
    its range in the caption)."""
    _blank(ax)
    if perturbation:
        bound = max(float(np.abs(image).max()), 1.0)
        caption = f"colours ±{bound:.0f} (0–255 scale)"
        if image.shape[0] == 1:
            ax.imshow(image[0], cmap="seismic", vmin=-bound, vmax=bound)
        else:
            ax.imshow(np.transpose(image / (2 * bound) + 0.5, (1, 2, 0)).clip(0, 1))
    elif image.shape[0] == 1:
        ax.imshow(image[0], cmap="gray", vmin=0, vmax=255)
    else:
        ax.imshow(np.transpose(image, (1, 2, 0)).astype(np.uint8))
    ax.set_xlabel(caption, fontsize=6)


def _captions(model, origins, adversarials, class_names) -> list[str]:
    predictions = predict(model, adversarials).tolist()
    difference = (adversarials.float() - origins.float()).flatten(1)
    scores = pass_scores(origins, adversarials)
    return [f"{class_names[p] if class_names else p} PASS {s:.2f}\nL2 {l2:.0f} L∞ {li:.0f} (0–255)"
            for p, s, l2, li in zip(predictions, scores, difference.norm(dim=1).tolist(),
                                    difference.abs().amax(dim=1).tolist())]


def lots_figure(
    model: nn.Module, origins: torch.Tensor, layers: Sequence[str],
    targets: torch.Tensor | None = None, target_classes: torch.Tensor | None = None,
    steps: int = VISUALISATION_STEPS, max_steps: int = DEFAULT_MAX_STEPS,
    class_names: Sequence[str] | None = None, path: str | Path | None = None,
) -> Figure:
    """Figure of x_o^± (and targeted LOTS images) per layer for a few origins (uint8 (n, C, H, W)).

    Columns: the origin, then one per layer. Rows per origin: x_o⁺, its perturbation, x_o⁻, its
    perturbation, and with ``targets`` (n, C, H, W) and ``target_classes`` (n,) the LOTS image
    towards target i and its perturbation. Saves a PNG to ``path`` if given; returns the Figure.
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
    origin_classes = predict(model, origins).tolist()
    rows, columns = len(origins) * len(kinds), 1 + len(layers)
    figure = Figure(figsize=(1.5 * columns, 1.6 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    for i in range(len(origins)):
        x = origins[i].float().cpu().numpy()
        for k, kind in enumerate(kinds):
            r = i * len(kinds) + k
            if k == 0:
                name = class_names[origin_classes[i]] if class_names else origin_classes[i]
                _show(axes[r, 0], x, f"origin: {name}")
            else:
                _blank(axes[r, 0])
            axes[r, 0].set_ylabel(kind, fontsize=7)
            for c, layer in enumerate(layers, start=1):
                images, captions = panels[layer, kind.split(" ")[0]]
                image = images[i].float().cpu().numpy()
                if "−" in kind:
                    _show(axes[r, c], image - x, "", perturbation=True)
                else:
                    _show(axes[r, c], image, captions[i])
                if r == 0:
                    axes[r, c].set_title(layer, fontsize=7)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=150)
    return figure


def figure_job(data: dict, model: str, layers: list, n: int, out: str) -> None:
    """Paper 2 Figs 1, 3 (``lots_figure``) for the first ``n`` test images; the targeted LOTS image of
    each goes towards the target image of its runner-up class."""
    from advtransfer.figures import save
    from advtransfer.lots.job import _load, top_two

    classifier, images, _, targets, class_names = _load(data, model)
    _, runner_up = top_two(classifier, images[:n])
    save(lots_figure(classifier, images[:n], layers, targets[runner_up], runner_up, class_names=class_names), out)
