"""APGD-CE, L∞ (AutoAttack's first attack): the project's own implementation.

It follows the authors' algorithm (Croce & Hein 2020, https://arxiv.org/abs/2003.01690, and their code
https://github.com/fra31/auto-attack) as adv-lib implements it (https://github.com/jeromerony/adversarial-library,
0.2.8's ``adv_lib.attacks.apgd`` with ``loss_function="ce"``, ``norm=inf``), and gives the same images.
The project has its own code, not adv-lib's, because adv-lib depends on visdom, a source-only package
that a current pip cannot build without a build constraint (its setup imports ``pkg_resources``,
which setuptools 81 removed).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from advtransfer.attacks import ATTACKS
from advtransfer.attacks.base import check_number, check_seed, to_unit_scale
from advtransfer.attacks.logits import LogitsAttack, per_sample

MOMENTUM = 0.75  # weight of the new step against the last one (the paper's α)
RHO = 0.75  # a checkpoint halves the step unless the loss rose in more than this share of its steps


@ATTACKS.register("apgd")
class APGD(LogitsAttack):
    r"""
    APGD-CE in the paper 'Reliable evaluation of adversarial robustness with an ensemble of diverse
    parameter-free attacks' [https://arxiv.org/abs/2003.01690], as adv-lib's ``apgd`` with the
    cross-entropy loss: projected sign-gradient steps with momentum 0.75 inside the L∞ ball of radius
    ε, from a random point of the ball; the step size starts at 2ε and is halved, and the iterate
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
        check_seed("seed", seed)
        self.eps, self.max_iter, self.n_restarts, self.seed = eps, max_iter, n_restarts, seed

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return apgd(model, x, y, eps=to_unit_scale(self.eps), steps=self.max_iter, n_restarts=self.n_restarts)


def apgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int, n_restarts: int) -> torch.Tensor:
    """APGD-CE, L∞, untargeted: up to ``n_restarts`` runs, each on the samples no earlier run fooled.

    ``eps`` is on the [0, 1] scale; ``model`` returns logits; random starts from torch's generator.
    """
    adv = x.clone()
    found = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    radius = torch.full((len(x),), eps, device=x.device)
    for _ in range(n_restarts):
        if found.all():
            break
        todo = ~found
        adv[todo], found[todo] = apgd_run(model, x[todo], y[todo], radius[todo], steps)
    return adv


def apgd_run(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor,
             steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One run of APGD-CE (adv-lib's ``_apgd``): (the last adversarial iterate per sample, or the clean
    image; whether one was found). ``eps`` (N,) on the [0, 1] scale."""
    radius = per_sample(eps, x)
    lower, upper = (x - radius).clamp(0, 1), (x + radius).clamp(0, 1)
    # checkpoints: the first after 22% of the steps, then each 3% of the steps closer, down to 6%
    period, min_period, decrement = max(int(0.22 * steps), 1), max(int(0.06 * steps), 1), max(int(0.03 * steps), 1)

    def loss_and_gradient(x_adv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x_adv = x_adv.requires_grad_(True)
        logits = model(x_adv)
        loss = F.cross_entropy(logits, y, reduction="none")
        (grad,) = torch.autograd.grad(loss.sum(), x_adv)
        x_adv.detach_()
        return loss.detach(), grad, logits.argmax(dim=1) != y

    t = 2 * torch.rand_like(x) - 1  # random start: a random point of the ε-ball's surface
    x_adv = (x + t * per_sample(eps / t.flatten(1).norm(p=float("inf"), dim=1), x)).clamp(0, 1)
    x_best, x_best_adv = x_adv.clone(), x.clone()
    loss, grad, found = loss_and_gradient(x_adv)
    grad_best, loss_best = grad.clone(), loss.clone()
    losses = torch.zeros(steps, len(x), device=x.device)

    step_size = 2 * eps
    x_last = x_adv.clone()
    since_check, loss_best_at_check, first_check = 0, loss_best.clone(), True
    reduced = torch.zeros_like(found)
    for i in range(steps):
        with torch.no_grad():
            change, x_last = x_adv - x_last, x_adv
            a = MOMENTUM if i else 1.0
            z = torch.minimum(torch.maximum(x_adv.addcmul(per_sample(step_size, x), grad.sign()), lower), upper)
            x_adv = z.lerp_(x_adv, weight=1 - a).add_(change, alpha=1 - a)  # momentum
            x_adv = torch.minimum(torch.maximum(x_adv, lower), upper)

        loss, grad, is_adv = loss_and_gradient(x_adv)
        found |= is_adv
        x_best_adv[is_adv] = x_adv[is_adv]
        losses[i] = loss
        rose = loss > loss_best
        x_best[rose], grad_best[rose], loss_best[rose] = x_adv[rose], grad[rose], loss[rose]

        since_check += 1
        if since_check == period:  # a checkpoint
            # condition 2 of the paper: not reduced at the last checkpoint and no better loss since. Two
            # details of adv-lib 0.2.8, kept for the same images, differ from the authors' code: "reduced"
            # starts false (theirs: true), and the best loss at a checkpoint is kept as a reference to the
            # running best, not a copy, so from the second checkpoint on "no better loss" holds for every sample.
            no_gain = loss_best_at_check >= loss_best if first_check else torch.ones_like(reduced)
            reduced = oscillating(losses, i, period) | (~reduced & no_gain)
            first_check = False
            step_size[reduced] /= 2.0
            x_adv[reduced] = x_best[reduced]
            grad[reduced] = grad_best[reduced]
            period, since_check = max(period - decrement, min_period), 0
    return x_best_adv, found


def oscillating(losses: torch.Tensor, i: int, period: int) -> torch.Tensor:
    """Condition 1 of the paper: at step ``i``, the loss rose in at most ``RHO`` of the last ``period`` steps.

    As in adv-lib and the authors' code, the step before the first one of a run is ``losses[-1]`` (0 until
    the last step).
    """
    rises = torch.zeros_like(losses[0])
    for j in range(period):
        rises.add_(losses[i - j] > losses[i - j - 1])
    return rises <= period * RHO
