"""PGD, L∞ (method §2.6; also the inner attack of Madry adversarial training)."""

from __future__ import annotations

import torch
from torch import nn

from advtransfer.attacks import ATTACKS
from advtransfer.attacks.base import check_flag, check_seed, to_unit_scale
from advtransfer.attacks.bim import BIM


@ATTACKS.register("pgd")
class PGD(BIM):
    r"""
    PGD in the paper 'Towards Deep Learning Models Resistant to Adversarial Attacks'
    [https://arxiv.org/abs/1706.06083]: BIM's projected sign-gradient steps, optionally from a
    random point of the L∞ ball (uniform noise in [−ε, ε], clipped to [0, 1]). method §2 uses no random
    start. In paper 1's mode (the default, ``early_stop=False``) every sample takes all ``max_iter``
    steps; in minimal mode (``early_stop=True``) a sample stops at its first misclassified iterate
    (the random start included).

    Arguments: those of ``BIM`` (``max_iter`` defaults to 20 here), and
        random_start (bool): start from a random point of the ε-ball. (Default: False)
        seed (int): seed of the random start's generator; a new attack with the same seed draws
            the same noise for the same sequence of calls. (Default: 0)

    Examples::
        >>> attack = PGD(model, eps=8, eps_step=2, max_iter=20, random_start=False)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model: nn.Module, eps: float = 8.0, eps_step: float = 2.0, max_iter: int = 20,
                 random_start: bool = False, seed: int = 0, early_stop: bool = False):
        super().__init__(model, eps=eps, eps_step=eps_step, max_iter=max_iter, early_stop=early_stop)
        check_flag("random_start", random_start)
        check_seed("seed", seed)
        self.random_start, self.seed = random_start, seed
        self.generator = torch.Generator().manual_seed(seed)

    def start(self, x: torch.Tensor) -> torch.Tensor:
        if not self.random_start:
            return x.clone()
        eps = to_unit_scale(self.eps)
        noise = torch.rand(x.shape, generator=self.generator).mul_(2 * eps).sub_(eps)  # CPU: same on any device
        return (x + noise.to(x.device)).clamp(0, 1)
