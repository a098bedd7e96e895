"""APGD-CE, L∞ (AutoAttack's first attack; adv-lib's implementation)."""

from __future__ import annotations

import torch
from torch import nn

from advtransfer.attacks import ATTACKS
from advtransfer.attacks.base import check_number, to_unit_scale
from advtransfer.attacks.library import LibraryAttack


@ATTACKS.register("apgd")
class APGD(LibraryAttack):
    r"""
    APGD-CE in the paper 'Reliable evaluation of adversarial robustness with an ensemble of diverse
    parameter-free attacks' [https://arxiv.org/abs/2003.01690], adv-lib's ``apgd`` with the
    cross-entropy loss: projected sign-gradient steps with momentum inside the L∞ ball of radius ε,
    from a random point of the ball; the step size starts at 2ε and is halved, and the iterate
    sent back to the best point so far, at checkpoints where the loss stopped increasing. A sample
    not fooled after ``max_iter`` steps is restarted from a new random point, up to ``n_restarts``
    runs in all. Returns, per sample, the last adversarial iterate of its run (the clean image if
    none was adversarial).

    Distance Measure : Linf

    Arguments:
        model (nn.Module): model to attack; images in [0, 1] → class scores.
        eps (float): maximum perturbation, 0–255 pixel scale. (Default: 8)
        max_iter (int): number of steps per run. (Default: 100)
        n_restarts (int): number of runs (random starts). (Default: 1)
        seed (int): seed of the random starts; the same attack on the same batch gives the same
            images. (Default: 0)

    Shape: images (N, C, H, W), float in [0, 1]; labels (N,), the true classes; output like images.

    Examples::
        >>> attack = APGD(model, eps=8, max_iter=100)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model: nn.Module, eps: float = 8.0, max_iter: int = 100, n_restarts: int = 1, seed: int = 0):
        super().__init__(model)
        check_number("eps", eps)
        check_number("max_iter", max_iter, integer=True)
        check_number("n_restarts", n_restarts, integer=True)
        check_number("seed", seed, integer=True, positive=False)
        self.eps, self.max_iter, self.n_restarts, self.seed = eps, max_iter, n_restarts, seed

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        from adv_lib.attacks import apgd

        return apgd(model, x, y, eps=to_unit_scale(self.eps), norm=float("inf"), n_iter=self.max_iter,
                    n_restarts=self.n_restarts, loss_function="ce")
