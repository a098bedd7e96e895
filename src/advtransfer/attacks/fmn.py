"""FMN, the fast minimum-norm attack, in L2 and L∞: the project's own implementation.

It follows the authors' algorithm (Pintor et al. 2021, https://arxiv.org/abs/2102.12827, and their
code https://github.com/maurapintor/Fast-Minimum-Norm-FMN-Attack) as adv-lib implements it
(Rony, https://github.com/jeromerony/adversarial-library, 0.2.8's ``adv_lib.attacks.fmn``): L∞ gives
the same images as adv-lib's; L2 differs from it on purpose (it clips before projecting, see ``FMN``).
The project has its own code, not adv-lib's, because adv-lib depends on visdom, a source-only
package that a current pip cannot build without a build constraint (its setup imports
``pkg_resources``, which setuptools 81 removed).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from advtransfer.attacks import ATTACKS
from advtransfer.attacks.base import check_number, to_unit_scale
from advtransfer.attacks.logits import LogitsAttack, per_sample
from advtransfer.constants import PIXEL_MAX


class FMN(LogitsAttack):
    r"""
    FMN in the paper 'Fast Minimum-norm Adversarial Attacks through Adaptive Norm Constraints'
    [https://arxiv.org/abs/2102.12827], as adv-lib's ``fmn``: from the clean image, ``max_iter`` steps
    along the normalised gradient of the logit difference f_y − maxₗ≠y fₗ, each followed by a projection
    on the norm ball of radius ε, and ε adapted every step: shrunk by a factor (1 − γ) while the
    iterate is adversarial, grown by (1 + γ) while it is not, or, before the first success, set to
    the linearised distance to the boundary. Step size and γ decay on a cosine schedule (to 1/100 of
    ``step_size`` and to 0.001). Returns, per sample, the smallest adversarial iterate seen (the clean
    image if none was).

    L∞ is adv-lib's ``fmn`` step for step (the same images). L2 is the same loop (``fmn`` below) with
    one change: each step is clipped to the image's [0, 1] box *before* it is scaled onto the ε-ball,
    not after. Scaling towards the clean image stays in the box, so the iterate's norm is ε (or less:
    a step already inside the ball is kept, where adv-lib scales it up to ε). adv-lib (like the
    authors' code) clips after the projection, which shortens the step; before the first success,
    where ε is set to the iterate's norm plus the linearised distance to the boundary, that
    shortening can equal the distance, and the iterate then stays short of the boundary for good
    (on images with saturated pixels, such as digits and Fashion-MNIST, about one image in five).

    Distance Measure : L2 (``fmn_l2``) or Linf (``fmn_linf``)

    Arguments:
        model (nn.Module): model to attack; images in [0, 1] → class scores.
        max_iter (int): number of steps. (Default: 100)
        step_size (float): initial L2 length of a gradient step, 0–255 pixel scale (adv-lib's
            α_init = 1 on [0, 1]). (Default: 255)
        gamma (float): initial relative change of ε per step, in (0, 1). (Default: 0.05)

    Shape: images (N, C, H, W), float in [0, 1]; labels (N,), the true classes; output like images.

    Examples::
        >>> attack = FMNL2(model, max_iter=100)
        >>> adv_images = attack(images, labels)
    """

    norm: float = 2

    def __init__(self, model: nn.Module, max_iter: int = 100, step_size: float = float(PIXEL_MAX), gamma: float = 0.05):
        super().__init__(model)
        check_number("max_iter", max_iter, integer=True)
        check_number("step_size", step_size)
        check_number("gamma", gamma)
        if gamma >= 1:
            raise ValueError(f"gamma must be < 1, got {gamma!r}")
        self.max_iter, self.step_size, self.gamma = max_iter, step_size, gamma

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return fmn(model, x, y, norm=self.norm, steps=self.max_iter, step_size=to_unit_scale(self.step_size),
                   gamma=self.gamma)


@ATTACKS.register("fmn_l2")
class FMNL2(FMN):
    """FMN minimising the L2 norm of the perturbation; see ``FMN``."""

    norm = 2


@ATTACKS.register("fmn_linf")
class FMNLinf(FMN):
    """FMN minimising the L∞ norm of the perturbation; see ``FMN``.

    Examples::
        >>> attack = FMNLinf(model, max_iter=100)
        >>> adv_images = attack(images, labels)
    """

    norm = float("inf")


def difference_of_logits(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """f_y − maxₗ≠y fₗ per sample: > 0 while the label ``y`` is the prediction."""
    others = logits.scatter(1, y[:, None], float("-inf"))
    return logits.gather(1, y[:, None]).squeeze(1) - others.amax(dim=1)


def fmn(model: nn.Module, x: torch.Tensor, y: torch.Tensor, norm: float, steps: int, step_size: float,
        gamma: float) -> torch.Tensor:
    """FMN's loop minimising the L2 (``norm=2``) or L∞ norm: untargeted, from the clean image (adv-lib's
    warm start, with its mid-point search, is not used).

    adv-lib's ``fmn`` for L∞; for L2, the clip to [0, 1] comes before the projection (see ``FMN``).
    ``step_size`` is on the [0, 1] scale; ``model`` returns logits. Both norms take a step along the
    gradient normalised to unit L2 norm (as adv-lib and the authors' code do) and measure the
    linearised distance to the boundary, |loss| / ‖∇‖, in the dual norm (L2 for L2, L1 for L∞).
    L∞ projects onto the ε-ball and then clips to the box, in adv-lib's order: both are clamps of each
    pixel to an interval, and the two intervals contain 0, so either order gives the same iterate up
    to rounding (the L2 reason for clipping first does not arise).
    """
    if norm not in (2, float("inf")):
        raise ValueError(f"norm must be 2 or inf, got {norm!r}")
    dual = 2 if norm == 2 else 1
    final_step, final_gamma = step_size / 100, 0.001
    delta = torch.zeros_like(x, requires_grad=True)
    eps = torch.full((len(x),), float("inf"), device=x.device)
    worst_norm = torch.maximum(x, 1 - x).flatten(1).norm(p=norm, dim=1)
    best_norm, best_adv = worst_norm.clone(), x.clone()
    found = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    for i in range(steps):
        cosine = (1 + math.cos(math.pi * i / steps)) / 2
        alpha = final_step + (step_size - final_step) * cosine
        gam = final_gamma + (gamma - final_gamma) * cosine

        size = delta.detach().flatten(1).norm(p=norm, dim=1)
        logits = model(x + delta)
        loss = -difference_of_logits(logits, y)  # < 0 while the label holds
        (grad,) = torch.autograd.grad(loss.sum(), delta)
        is_adv = logits.argmax(dim=1) != y
        better = is_adv & (size < best_norm)
        found |= is_adv
        best_norm = torch.where(better, size, best_norm)
        best_adv = torch.where(per_sample(better, x), (x + delta).detach(), best_adv)

        to_boundary = loss.detach().abs() / grad.flatten(1).norm(p=dual, dim=1).clamp_min(1e-12)
        eps = torch.where(is_adv, torch.minimum(eps * (1 - gam), best_norm),
                          torch.where(found, eps * (1 + gam), size + to_boundary))
        eps = torch.minimum(eps, worst_norm)

        with torch.no_grad():
            grad_norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
            step = torch.addcdiv(delta, grad, per_sample(grad_norm, x), value=alpha)
            if norm == 2:
                step = (x + step).clamp(0, 1) - x  # into the box first,
                scale = (eps / step.flatten(1).norm(dim=1).clamp_min(1e-12)).clamp(max=1)
                delta.copy_(step * per_sample(scale, x))  # then onto the ε-ball: still in the box
            else:
                radius = per_sample(eps, x)
                step = torch.clamp(step, -radius, radius)  # onto the ε-ball,
                delta.copy_((x + step).clamp(0, 1) - x)  # then into the box
    return best_adv
