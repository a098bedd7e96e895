"""Training-time defences of method §2.5: label smoothing, adversarial training, Gaussian augmentation."""

from __future__ import annotations

import torch

from advtransfer.constants import LOGITS, NLL_FLOOR, PIXEL_MAX
from advtransfer.defences import DEFENCES, Defence, check_param, is_int, is_number
from advtransfer.softlabels import soft_label


def smoothed_targets(y: torch.Tensor, num_classes: int, max_value: float = 0.9) -> torch.Tensor:
    """Soft targets: ``max_value`` on the true class, (1 − max_value)/(K − 1) on each other class.

    (torch's ``cross_entropy(label_smoothing=ε)`` gives the others ε/K instead: not the same.)
    """
    rest = (1.0 - max_value) / (num_classes - 1)
    targets = torch.full((len(y), num_classes), rest, device=y.device)
    return targets.scatter_(1, y[:, None], max_value)


@DEFENCES.register("label_smoothing")
class LabelSmoothing(Defence):
    """LS of method §2.5 (ART's ``LabelSmoothing``): cross-entropy against ``smoothed_targets``.

    Default: the true class 0.9, the other K − 1 classes share 0.1. A classifier whose scores are
    not logits (capsule lengths) uses the log of its soft-label (``advtransfer.softlabels``).
    """

    name = "label_smoothing"

    def __init__(self, max_value: float = 0.9):
        check_param(self.name, "max_value", max_value, is_number(max_value) and 0 < max_value <= 1,
                    "a number in (0, 1]")
        self.max_value = max_value

    def training_loss(self, module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        scores = module(x)
        kind = getattr(module.model, "output_kind", LOGITS)
        if kind == LOGITS:
            log_p = torch.log_softmax(scores, dim=1)
        else:
            log_p = torch.log(soft_label(scores, kind).clamp_min(NLL_FLOOR))
        targets = smoothed_targets(y, scores.shape[1], self.max_value)
        return -(targets * log_p).sum(dim=1).mean()


@DEFENCES.register("gaussian_augmentation")
class GaussianAugmentation(Defence):
    """G Aug of method §2.5 (ART's ``GaussianAugmentation``): the training set doubled with noisy copies.

    The copies are x + N(0, σ²) on the 0–255 scale (σ/255 on the classifier's [0, 1] scale), drawn
    once per training job from ``seed`` and clipped to [0, 255]. They are kept as float32, not
    rounded to uint8: rounding noise of σ = 1 would set most pixels back to their clean value.
    """

    name = "gaussian_augmentation"

    def __init__(self, sigma: float = 1.0):
        check_param(self.name, "sigma", sigma, is_number(sigma) and sigma >= 0, "a number ≥ 0")
        self.sigma = sigma

    def prepare_training_set(self, x: torch.Tensor, y: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        generator = torch.Generator().manual_seed(seed)
        clean = x.float()
        noise = torch.randn(clean.shape, generator=generator).mul_(self.sigma)
        noisy = (clean + noise.to(clean.device)).clamp_(0, PIXEL_MAX)
        return torch.cat([clean, noisy]), torch.cat([y, y])


@DEFENCES.register("adversarial_training")
class AdversarialTraining(Defence):
    """AT of method §2.5 (Madry et al. 2018): each batch, an optimiser step on the clean batch, then one
    on its PGD examples.

    PGD (``advtransfer.attacks``, L∞, magnitudes on the 0–255 scale): ``eps`` 8, ``eps_step`` 2,
    ``max_iter`` 10, random start; for Fashion-MNIST scale ε to its attack table (e.g. 0.1·255).
    The examples are made with the model in evaluation mode (the attack's convention), then the
    model trains on them. PGD runs with ``early_stop=False``: every example, misclassified or not,
    takes all ``max_iter`` steps, as in Madry et al. The training module makes one optimiser step on
    each of the two batches ``training_batches`` yields; the random start is seeded from the study's
    seed (``prepare``).
    """

    name = "adversarial_training"

    def __init__(self, eps: float = 8.0, eps_step: float = 2.0, max_iter: int = 10, random_start: bool = True):
        check_param(self.name, "eps", eps, is_number(eps) and eps > 0, "a number > 0")
        check_param(self.name, "eps_step", eps_step, is_number(eps_step) and eps_step > 0, "a number > 0")
        check_param(self.name, "max_iter", max_iter, is_int(max_iter) and max_iter >= 1, "an integer ≥ 1")
        check_param(self.name, "random_start", random_start, isinstance(random_start, bool), "true or false")
        self.eps, self.eps_step, self.max_iter, self.random_start = eps, eps_step, max_iter, random_start
        self.seed = 0
        self._attack = None

    def prepare(self, model, *, seed: int, batches_per_epoch: float) -> None:
        self.seed = seed  # seeds PGD's random start

    def attack(self, model):
        """The PGD attack on ``model`` (built once per model, so its random start keeps drawing)."""
        if self._attack is None or self._attack.model is not model:
            from advtransfer.attacks.pgd import PGD

            self._attack = PGD(model, eps=self.eps, eps_step=self.eps_step, max_iter=self.max_iter,
                               random_start=self.random_start, seed=self.seed,
                               early_stop=False)  # Madry: every example takes all steps
        return self._attack

    def training_batches(self, module, x: torch.Tensor, y: torch.Tensor):
        """The clean batch, then its PGD examples (made after the clean step, with the updated model)."""
        yield x, y
        yield self.attack(module.model)(x, y), y  # made after the clean step, with the updated model
