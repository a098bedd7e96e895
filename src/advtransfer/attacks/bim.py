"""BIM, L∞ (method §2.6)."""

from __future__ import annotations

import torch
from torch import nn

from advtransfer.attacks import ATTACKS
from advtransfer.attacks.base import Attack, check_flag, check_number, to_unit_scale


@ATTACKS.register("bim")
class BIM(Attack):
    r"""
    BIM in the paper 'Adversarial examples in the physical world'
    [https://arxiv.org/abs/1607.02533]: from the clean image, ``max_iter`` steps
    x ← clip_[0,1](Π_ε(x + eps_step·sign(∇ₓ loss(x, y)))), Π_ε the projection on the L∞ ball of
    radius ε around the clean image. Paper 1's mode (the default, ``early_stop=False``, as ART runs
    it, method §2.6): every sample takes all ``max_iter`` steps and the final iterate is returned.
    Minimal mode (``early_stop=True``): a sample stops at its first misclassified iterate.

    Distance Measure : Linf

    Arguments:
        model (nn.Module): model to attack; images in [0, 1] → class scores.
        eps (float): maximum perturbation, 0–255 pixel scale. (Default: 8)
        eps_step (float): step size, 0–255 pixel scale. (Default: 2)
        max_iter (int): number of steps. (Default: 10)
        early_stop (bool): False: paper 1's mode, every sample takes all ``max_iter`` steps.
            True: minimal mode, each sample stops at its first misclassified iterate (an already
            misclassified sample is returned unchanged). (Default: False)

    Shape: images (N, C, H, W), float in [0, 1]; labels (N,), the true classes; output like images.

    Examples::
        >>> attack = BIM(model, eps=8, eps_step=2, max_iter=10)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model: nn.Module, eps: float = 8.0, eps_step: float = 2.0, max_iter: int = 10,
                 early_stop: bool = False):
        super().__init__(model)
        check_flag("early_stop", early_stop)
        self.early_stop = early_stop
        check_number("eps", eps)
        check_number("eps_step", eps_step)
        check_number("max_iter", max_iter, integer=True)
        self.eps, self.eps_step, self.max_iter = eps, eps_step, max_iter

    def step(self, x_adv: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores, grad = self.scores_and_gradient(x_adv, lambda s: self.loss(s, y))
        eps = to_unit_scale(self.eps)
        x_next = x_adv + to_unit_scale(self.eps_step) * grad.sign()
        x_next = torch.min(torch.max(x_next, x - eps), x + eps).clamp(0, 1)
        return x_next, scores.argmax(dim=1) != y
