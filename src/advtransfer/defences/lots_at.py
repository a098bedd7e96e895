"""LOTS adversarial training (method §4): fine-tune a trained classifier on LOTS examples of its
training set, mixed with the clean images."""

from __future__ import annotations

import math

import torch

from advtransfer.constants import PIXEL_MAX
from advtransfer.defences import DEFENCES, Defence, check_param, is_int
from advtransfer.lots.direction import lots_direction
from advtransfer.lots.layers import OUTPUT, LayerFeatures, layer_features
from advtransfer.lots.search import line_search


def next_other(labels: torch.Tensor) -> torch.Tensor:
    """For each sample, the index of the next sample (cyclically) with another label; −1 if none."""
    n = len(labels)
    if n < 2:
        return torch.full((n,), -1, dtype=torch.long, device=labels.device)
    candidates = (torch.arange(n, device=labels.device)[:, None] + torch.arange(1, n, device=labels.device)) % n
    other = labels[candidates] != labels[:, None]
    index = candidates.gather(1, other.int().argmax(1, keepdim=True)).squeeze(1)
    return torch.where(other.any(1), index, -1)


@DEFENCES.register("lots_at")
class LotsAdversarialTraining(Defence):
    """LOTS-AT: fine-tunes a trained classifier for the recipe's epochs.

    The workflow's training job starts from the vanilla classifier of the same dataset, architecture
    and excluded class (``advtransfer.study.FINE_TUNED``, ``train_classifier(init_from=...)``).
    Each training batch of B images gains targeted LOTS examples (the paper's
    line search up to ε = ``limit``) at ``layer`` of its first k = min(B, ⌈n_examples / batches per
    epoch⌉) images, so that at least ``n_examples`` training images per epoch get one. The target
    of an origin is the next image of the (shuffled) batch with another label (our choice: the
    targets vary like the batches); the example keeps the origin's label, and a failed attempt
    leaves the origin unchanged. The examples are made with the current model in evaluation mode;
    one optimiser step then trains on the clean batch and the examples together.

    Defaults: ``n_examples`` 1000, ``layer`` "logits" (``advtransfer.lots.layer_names`` lists the
    others), ``limit`` 255 (our choice, below the comparison's 4096: an example that needs a step
    beyond the whole pixel range teaches little, and failed attempts cost a search up to ``limit``).
    """

    name = "lots_at"

    def __init__(self, n_examples: int = 1000, layer: str = OUTPUT, limit: int = PIXEL_MAX):
        check_param(self.name, "n_examples", n_examples, is_int(n_examples) and n_examples >= 1, "an integer ≥ 1")
        check_param(self.name, "layer", layer, isinstance(layer, str) and bool(layer), "a layer name")
        check_param(self.name, "limit", limit, is_int(limit) and limit >= 1, "an integer ≥ 1")
        self.n_examples, self.layer, self.limit = n_examples, layer, limit
        self.batches_per_epoch = math.inf  # until ``prepare``: every image of a batch gets an example

    def prepare(self, model, *, seed: int, batches_per_epoch: float) -> None:
        try:
            LayerFeatures(model, self.layer)
        except ValueError as err:
            raise ValueError(f"defence {self.name!r}: layer: {err}") from None
        self.batches_per_epoch = batches_per_epoch

    def lots_examples(self, model, x: torch.Tensor, y: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """LOTS examples (uint8, 0–255) of the first ``count`` images of a batch ``x`` (floats in
        [0, 1]) that have a target in the batch, and their labels."""
        partner = next_other(y)[:count]
        rows = torch.nonzero(partner >= 0).flatten()
        pixels = (x * PIXEL_MAX).round()
        origins, targets = pixels[rows], pixels[partner[rows]]
        directions = lots_direction(model, self.layer, origins, layer_features(model, self.layer, targets))
        result = line_search(model, origins, directions, y[partner[rows]], targeted=True, limit=self.limit)
        return result.adversarials, y[rows]

    def training_loss(self, module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        batches = self.batches_per_epoch
        count = len(y) if not math.isfinite(batches) else min(len(y), math.ceil(self.n_examples / max(1, batches)))
        adversarials, labels = self.lots_examples(module.model, x, y, count)
        mixed = torch.cat([x, adversarials.to(x.dtype) / PIXEL_MAX])
        return module.classification_loss(mixed, torch.cat([y, labels]))
