"""DDN, decoupled direction and norm, L2: the project's own implementation.

It follows the authors' algorithm (Rony et al. 2019, https://arxiv.org/abs/1811.09600) as adv-lib, the
first author's library, implements it (https://github.com/jeromerony/adversarial-library, 0.2.8's
``adv_lib.attacks.ddn``), and gives the same images. The project has its own code, not adv-lib's,
because adv-lib depends on visdom, a source-only package that a current pip cannot build without a
build constraint (its setup imports ``pkg_resources``, which setuptools 81 removed).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from advtransfer.attacks import ATTACKS
from advtransfer.attacks.base import check_flag, check_number, to_unit_scale
from advtransfer.attacks.logits import LogitsAttack, per_sample
from advtransfer.constants import PIXEL_MAX


@ATTACKS.register("ddn")
class DDN(LogitsAttack):
    r"""
    DDN in the paper 'Decoupling Direction and Norm for Efficient Gradient-Based L2 Adversarial
    Attacks and Defenses' [https://arxiv.org/abs/1811.09600], as adv-lib's ``ddn``: ``max_iter`` steps
    along the normalised gradient of the cross-entropy (step length on a cosine schedule from 1 to
    0.01), each followed by rescaling the perturbation to the L2 norm ε, with ε shrunk by a factor
    (1 − γ) while the iterate is adversarial and grown by (1 + γ) while it is not. Returns, per
    sample, the smallest adversarial iterate seen (the clean image if none was).

    Distance Measure : L2

    Arguments:
        model (nn.Module): model to attack; images in [0, 1] → class scores.
        max_iter (int): number of steps. (Default: 100)
        gamma (float): relative change of ε per step, in (0, 1). (Default: 0.05)
        init_norm (float): the first ε, L2 on the 0–255 pixel scale (adv-lib's 1 on [0, 1]). (Default: 255)
        quantize (bool): round every iterate to the 256 pixel levels, so that the adversarial image
            stays adversarial when saved as 8-bit. (Default: True)

    Shape: images (N, C, H, W), float in [0, 1]; labels (N,), the true classes; output like images.

    Examples::
        >>> attack = DDN(model, max_iter=100, gamma=0.05)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model: nn.Module, max_iter: int = 100, gamma: float = 0.05, init_norm: float = float(PIXEL_MAX),
                 quantize: bool = True):
        super().__init__(model)
        check_number("max_iter", max_iter, integer=True)
        check_number("gamma", gamma)
        if gamma >= 1:
            raise ValueError(f"gamma must be < 1, got {gamma!r}")
        check_number("init_norm", init_norm)
        check_flag("quantize", quantize)
        self.max_iter, self.gamma, self.init_norm, self.quantize = max_iter, gamma, init_norm, quantize

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ddn(model, x, y, steps=self.max_iter, gamma=self.gamma, init_norm=to_unit_scale(self.init_norm),
                   levels=256 if self.quantize else None)


def ddn(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, gamma: float, init_norm: float,
        levels: int | None) -> torch.Tensor:
    """DDN's loop (untargeted), as adv-lib's ``ddn``: ``init_norm`` on the [0, 1] scale; ``model``
    returns logits; ``levels``: round every iterate to that many grey levels (None: no rounding). A zero
    gradient is replaced by a random direction (torch's generator)."""
    delta = torch.zeros_like(x, requires_grad=True)
    eps = torch.full((len(x),), init_norm, device=x.device, dtype=torch.float)
    worst_norm = torch.maximum(x, 1 - x).flatten(1).norm(dim=1)
    best_norm, best_adv = worst_norm.clone(), x.clone()
    for i in range(steps):
        size = delta.detach().flatten(1).norm(dim=1)
        logits = model(x + delta)
        loss = F.cross_entropy(logits, y, reduction="none")
        is_adv = logits.argmax(dim=1) != y
        better = is_adv & (size < best_norm)
        best_norm = torch.where(better, size, best_norm)
        best_adv = torch.where(per_sample(better, x), (x + delta).detach(), best_adv)

        (grad,) = torch.autograd.grad(loss.sum(), delta)
        grad_norm = grad.flatten(1).norm(dim=1)
        direction = grad / per_sample(grad_norm, x)
        if (zero := grad_norm < 1e-12).any():  # no gradient: a random direction
            direction[zero] = torch.randn_like(direction[zero])
        alpha = 0.01 + (1 - 0.01) * (1 + math.cos(math.pi * i / steps)) / 2

        eps = torch.where(is_adv, (1 - gamma) * eps, (1 + gamma) * eps)
        eps = torch.minimum(eps, worst_norm)
        with torch.no_grad():
            step = torch.add(delta, direction, alpha=alpha)
            step = step * per_sample(eps / step.flatten(1).norm(dim=1), x)  # onto the sphere of radius ε,
            adv = (x + step).clamp(0, 1)  # into the box,
            if levels is not None:  # onto the grey levels
                adv = adv.mul(levels - 1).round().div(levels - 1)
            delta.copy_(adv - x)
    return best_adv
