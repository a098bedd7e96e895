"""NewtonFool, L2 (method §2.6)."""

from __future__ import annotations

import torch
from torch import nn

from advtransfer.attacks import ATTACKS
from advtransfer.attacks.base import Attack, check_number
from advtransfer.softlabels import soft_label

TOL = 1e-7  # floor of ‖∇F‖², as ART's NewtonFool


@ATTACKS.register("newtonfool")
class NewtonFool(Attack):
    r"""
    NewtonFool in the paper 'Objective Metrics and Gradient Descent Algorithms for Adversarial
    Examples in Machine Learning' (Jang, Wu, Jha, ACSAC 2017) [https://doi.org/10.1145/3134600.3134635].
    On the soft-label F = p_y of the true class (softmax of the logits, method §1), Newton steps drive
    F towards 1/K (K classes): δ = min(η·‖x₀‖₂·‖∇F‖₂, F − 1/K), x ← clip_[0,1](x − δ·∇F / ‖∇F‖₂²).
    A sample stops at the first iterate that is misclassified.

    Distance Measure : L2

    Arguments:
        model (nn.Module): model to attack; images in [0, 1] → class scores.
        max_iter (int): maximum number of steps. (Default: 100)
        eta (float): η, bounds each step relative to ‖x₀‖₂ (scale-free). (Default: 0.01)

    Shape: images (N, C, H, W), float in [0, 1]; labels (N,), the true classes; output like images.

    Examples::
        >>> attack = NewtonFool(model, max_iter=100, eta=0.01)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model: nn.Module, max_iter: int = 100, eta: float = 0.01):
        super().__init__(model)
        check_number("max_iter", max_iter, integer=True)
        check_number("eta", eta)
        self.max_iter, self.eta = max_iter, eta

    def probability_of_label(self, scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return soft_label(scores, self.output_kind).gather(1, y[:, None]).squeeze(1)

    def step(self, x_adv: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores, grad = self.scores_and_gradient(x_adv, lambda s: self.probability_of_label(s, y))
        p_y = self.probability_of_label(scores, y)
        grad_norm = grad.flatten(1).norm(dim=1)
        delta = torch.minimum(self.eta * x.flatten(1).norm(dim=1) * grad_norm, p_y - 1 / scores.shape[1])
        d = -(delta / grad_norm.square().clamp_min(TOL))[:, None, None, None] * grad
        return (x_adv + d).clamp(0, 1), scores.argmax(dim=1) != y
