"""DeepFool, L2 (method §2.6)."""

from __future__ import annotations

import torch
from torch import nn

from advtransfer.attacks import ATTACKS
from advtransfer.attacks.base import Attack, check_number

TOL = 1e-7  # keeps the divisions finite, as ART's DeepFool does
PAST_BOUNDARY = 1e-4  # L2 on the [0, 1] scale; the authors' reference code adds it "for numerical stability"


@ATTACKS.register("deepfool")
class DeepFool(Attack):
    r"""
    DeepFool in the paper 'DeepFool: a simple and accurate method to fool deep neural networks'
    [https://arxiv.org/abs/1511.04599]. On the class scores fₖ (logits), each step linearises the
    model at the current iterate, picks the class l ≠ y whose linearised boundary is nearest,
    l = argmin |fₗ − f_y| / ‖wₗ‖₂ with wₗ = ∇fₗ − ∇f_y, and moves just past it:
    r = (|fₗ − f_y| / ‖wₗ‖₂ + 10⁻⁴) · wₗ / ‖wₗ‖₂; x ← clip_[0,1](x + (1 + overshoot)·r).
    The 10⁻⁴ (L2, [0, 1] scale) is from the authors' reference code (github.com/LTS4/DeepFool):
    without it an iterate lands on the boundary itself, and whether it counts as misclassified is
    float rounding (method §2's overshoot 1e-6 is below float32 resolution). A sample stops at the
    first iterate that is misclassified.

    Distance Measure : L2

    Arguments:
        model (nn.Module): model to attack; images in [0, 1] → class scores (logits).
        max_iter (int): maximum number of steps. (Default: 100)
        overshoot (float): relative overshoot of each step. (Default: 1e-6)
        nb_grads (int or None): number of candidate classes, the true class and the highest-scoring
            others at the current iterate (fewer gradients, as ART's ``nb_grads``); None: all
            classes. (Default: None)

    Shape: images (N, C, H, W), float in [0, 1]; labels (N,), the true classes; output like images.

    Examples::
        >>> attack = DeepFool(model, max_iter=100, overshoot=1e-6)
        >>> adv_images = attack(images, labels)
    """

    def __init__(self, model: nn.Module, max_iter: int = 100, overshoot: float = 1e-6, nb_grads: int | None = None):
        super().__init__(model)
        check_number("max_iter", max_iter, integer=True)
        check_number("overshoot", overshoot, positive=False)
        if nb_grads is not None:
            check_number("nb_grads", nb_grads, integer=True)
            if nb_grads < 2:
                raise ValueError(f"nb_grads must be ≥ 2 (the true class and one other), got {nb_grads}")
        self.max_iter, self.overshoot, self.nb_grads = max_iter, overshoot, nb_grads

    def candidate_classes(self, scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(b, k − 1) classes other than y: all of them, or the nb_grads − 1 highest-scoring ones."""
        others = scores.scatter(1, y[:, None], float("-inf"))
        k = scores.shape[1] if self.nb_grads is None else min(self.nb_grads, scores.shape[1])
        return others.topk(k - 1, dim=1).indices

    def step(self, x_adv: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_adv = x_adv.detach().requires_grad_(True)
        scores = self.model(x_adv)
        classes = self.candidate_classes(scores.detach(), y)
        f = scores.gather(1, classes) - scores.gather(1, y[:, None])  # fₗ − f_y, (b, k − 1)
        # one backward per candidate rank, over the whole batch: w[:, j] = ∇(f_{classes[:, j]} − f_y)
        w = torch.stack([
            torch.autograd.grad(f[:, j].sum(), x_adv, retain_graph=j < f.shape[1] - 1)[0]
            for j in range(f.shape[1])
        ], dim=1)
        distance = f.detach().abs() / (w.flatten(2).norm(dim=2) + TOL)  # to each linearised boundary
        l = distance.argmin(dim=1)  # noqa: E741 (the paper's name)
        rows = torch.arange(len(l), device=l.device)
        w_l = w[rows, l]
        length = distance[rows, l] + PAST_BOUNDARY
        r = (length / (w_l.flatten(1).norm(dim=1) + TOL))[:, None, None, None] * w_l
        x_next = (x_adv.detach() + (1 + self.overshoot) * r).clamp(0, 1)
        return x_next, scores.detach().argmax(dim=1) != y
