"""The shared base of paper 1's attacks (method §2.6): untargeted, batched, per-sample early stopping
(the minimal attacks; BIM and PGD by default take every step, paper 1's mode).

Conventions of every attack:
- ``attack(images, labels)`` takes float images in [0, 1], shape (N, C, H, W), and int labels (N,),
  and returns adversarial images of the same shape, in [0, 1], on the images' device.
- The model is run in evaluation mode (dropout off, batch-norm statistics fixed) and restored after.
- Success = the model's prediction differs from the true label.
- A sample the model already misclassifies counts as a success with zero perturbation: it is
  returned unchanged and never attacked.
- Per-sample early stopping (the minimal mode, ``early_stop``): once a sample succeeds it is no
  longer updated; the others go on. BIM and PGD run by default in paper 1's mode
  (``early_stop=False``, method §2.6): every sample, misclassified ones included, takes all
  ``max_iter`` steps and the final iterate is returned, as ART's BIM and PGD do; their minimal mode
  is ``early_stop=True``.
- Magnitudes (ε, step sizes) are given on the 0–255 pixel scale, as in method §2, and converted to
  the model's [0, 1] scale by ``to_unit_scale`` only.
"""

from __future__ import annotations

from numbers import Integral, Real

import torch
from torch import nn
from torch.nn import functional as F

from advtransfer.constants import LOGITS, MAX_SEED, NLL_FLOOR, PIXEL_MAX
from advtransfer.softlabels import soft_label


def to_unit_scale(value: float) -> float:
    """A magnitude on the 0–255 pixel scale → the model's [0, 1] input scale."""
    return value / PIXEL_MAX


def check_number(name: str, value, *, integer: bool = False, positive: bool = True) -> None:
    """``ValueError`` unless ``value`` is a (whole, if ``integer``) number > 0 (≥ 0 if not ``positive``)."""
    kind = Integral if integer else Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if value < 0 or (positive and value == 0) or value != value:
        raise ValueError(f"{name} must be {'> 0' if positive else '≥ 0'}, got {value!r}")


def check_seed(name: str, value) -> None:
    """``ValueError`` unless ``value`` is a seed: an integer 0 … ``MAX_SEED`` (2³² − 1)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or not 0 <= value <= MAX_SEED:
        raise ValueError(f"{name} must be an integer in 0 … {MAX_SEED}, got {value!r}")


def check_flag(name: str, value) -> None:
    """``ValueError`` unless ``value`` is True or False."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")


class Attack:
    """Base class: ``Attack(model)``; ``attack(images, labels) -> adversarial images``.

    Subclasses implement ``step`` (one iteration on the samples still classified correctly) and set
    ``max_iter``, or override ``forward`` for a different loop (FGM's grid search).
    """

    max_iter: int = 1
    early_stop: bool = True  # False: every sample takes all ``max_iter`` steps (BIM's, PGD's default, Madry's AT)

    def __init__(self, model: nn.Module):
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.output_kind = getattr(model, "output_kind", LOGITS)

    def __repr__(self) -> str:
        hidden = ("model", "output_kind", "generator")
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k not in hidden)
        return f"{type(self).__name__}({params})"

    # -- the public call ---------------------------------------------------------------------------

    def __call__(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x, y = self._check_inputs(images, labels)
        was_training = self.model.training
        self.model.eval()
        try:
            x_adv = x.clone()
            with torch.no_grad():
                todo = self.model(x).argmax(dim=1) == y  # misclassified: success, zero perturbation
            if not self.early_stop:
                todo = torch.ones_like(todo)
            if todo.any():
                with torch.enable_grad():
                    x_adv[todo] = self.forward(x[todo], y[todo]).detach()
        finally:
            self.model.train(was_training)
        return x_adv.to(images.device)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Iterate ``step`` up to ``max_iter`` times, each time only on the samples not yet fooled."""
        x_adv = self.start(x)
        todo = torch.arange(len(x), device=x.device)
        for _ in range(self.max_iter):
            x_next, fooled = self.step(x_adv[todo], x[todo], y[todo])
            if not self.early_stop:
                fooled = torch.zeros_like(fooled)
            todo, x_next = todo[~fooled], x_next[~fooled]
            x_adv[todo] = x_next
            if len(todo) == 0:
                break
        return x_adv

    def start(self, x: torch.Tensor) -> torch.Tensor:
        """The first iterate (the clean images; PGD may start at a random point)."""
        return x.clone()

    def step(self, x_adv: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One iteration: (next iterate, mask of the samples already fooled at ``x_adv``).

        The fooled samples' next iterate is discarded, so they keep ``x_adv``.
        """
        raise NotImplementedError

    # -- helpers for the subclasses ----------------------------------------------------------------

    def scores_and_gradient(self, x: torch.Tensor, objective) -> tuple[torch.Tensor, torch.Tensor]:
        """Class scores at ``x`` and ∂ Σ objective(scores) / ∂x: one forward, one backward."""
        x = x.detach().requires_grad_(True)
        scores = self.model(x)
        (grad,) = torch.autograd.grad(objective(scores).sum(), x)
        return scores.detach(), grad

    def loss(self, scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-sample cross-entropy of the soft-label (method §1) and the true label."""
        if self.output_kind == LOGITS:
            return F.cross_entropy(scores, y, reduction="none")
        p = soft_label(scores, self.output_kind).gather(1, y[:, None]).squeeze(1)
        return -torch.log(p.clamp_min(NLL_FLOOR))

    def _check_inputs(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not torch.is_tensor(images) or images.ndim != 4 or not images.is_floating_point():
            raise ValueError("images must be a float tensor (N, C, H, W) with values in [0, 1]")
        if images.numel() and (images.min() < 0 or images.max() > 1):
            raise ValueError(f"images must lie in [0, 1], got [{images.min():.3g}, {images.max():.3g}]")
        labels = torch.as_tensor(labels)
        if labels.shape != (len(images),) or labels.is_floating_point():
            raise ValueError(f"labels must be integers of shape ({len(images)},), got {tuple(labels.shape)}")
        device = next(self.model.parameters(), images).device
        return images.detach().to(device, torch.float32), labels.to(device, torch.long)
