"""FGM, L∞, minimal (method §2.6)."""

from __future__ import annotations

import math

import torch
from torch import nn

from advtransfer.attacks import ATTACKS
from advtransfer.attacks.base import Attack, check_number, to_unit_scale


@ATTACKS.register("fgm")
class FGM(Attack):
    r"""
    FGM in the paper 'Explaining and Harnessing Adversarial Examples'
    [https://arxiv.org/abs/1412.6572], in its minimal form (method §2): per sample, the smallest ε on
    the grid eps_step, 2·eps_step, … ≤ eps for which x + ε·sign(∇ₓ loss(x, y)), clipped to [0, 1],
    is misclassified. The gradient is taken once, at the clean image. A sample that no ε on the grid
    fools is returned at the largest ε of the grid (as ART's ``minimal=True`` does).

    Distance Measure : Linf

    Arguments:
        model (nn.Module): model to attack; images in [0, 1] → class scores.
        eps (float): largest ε of the grid, 0–255 pixel scale. (Default: 8)
        eps_step (float): grid step, 0–255 pixel scale. (Default: 2)

    Shape: images (N, C, H, W), float in [0, 1]; labels (N,), the true classes; output like images.

    Examples::
        >>> attack = FGM(model, eps=8, eps_step=2)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model: nn.Module, eps: float = 8.0, eps_step: float = 2.0):
        super().__init__(model)
        check_number("eps", eps)
        check_number("eps_step", eps_step)
        if eps_step > eps:
            raise ValueError(f"eps_step ({eps_step}) must not exceed eps ({eps})")
        self.eps, self.eps_step = eps, eps_step

    @property
    def grid(self) -> list[float]:
        """The ε values tried, on the [0, 1] scale: k·eps_step for k = 1 … ⌊eps / eps_step⌋."""
        n = math.floor(self.eps / self.eps_step + 1e-9)
        return [to_unit_scale(k * self.eps_step) for k in range(1, n + 1)]

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        _, grad = self.scores_and_gradient(x, lambda scores: self.loss(scores, y))
        direction = grad.sign()
        x_adv = x.clone()
        todo = torch.arange(len(x), device=x.device)
        for eps in self.grid:
            candidate = (x[todo] + eps * direction[todo]).clamp(0, 1)
            x_adv[todo] = candidate
            with torch.no_grad():
                todo = todo[self.model(candidate).argmax(dim=1) == y[todo]]
            if len(todo) == 0:
                break
        return x_adv
