"""Paper 2's techniques as attacks: FGS, FGV, HC and LOTS, each a direction and the line search.

Rozsa, Günther, Boult, 'Exploring LOTS in Deep Neural Networks' (method §4). Each attack computes
one direction per image, scales it to L∞ = 1 and searches the smallest integer ε (0–255 scale,
up to ``limit``) for which the rounded, clipped image leaves the true class (untargeted): the
shared ``advtransfer.lots.search.line_search``. The adversarial images have integer pixel values.
The directions are those of ``advtransfer.lots.direction``; the targeted attempts of paper 2's
comparison (``advtransfer.lots.comparison``) use the same functions.

- ``fgs``: sign of the loss gradient; ``fgv``: the loss gradient;
- ``hc``: hot/cold towards the runner-up class (raise its score, lower the true class's);
- ``lots``: LOTS at ``layer`` towards the target image of the runner-up class (``targets``: one
  image per class, ``advtransfer.lots.choose_targets``; the attack job gives them when it builds the
  attack, ``needs_targets``).

Arguments: model, limit (int): the largest ε tried (default 4096); ``lots`` also layer (str, default
"logits") and targets. Input: float images (N, C, H, W) in [0, 1] that are integer pixel values / 255.

Example::

    attack = build_attack("lots", model, targets=choose_targets(model, x_u8, y)[0], layer="body.2")
    x_adv = attack(x, y)
"""

from __future__ import annotations

import torch
from torch import nn

from advtransfer.attacks import ATTACKS
from advtransfer.attacks.base import Attack, check_number
from advtransfer.constants import PIXEL_MAX
from advtransfer.lots.direction import fgs_direction, fgv_direction, hot_cold_direction, lots_direction
from advtransfer.lots.layers import OUTPUT, LayerFeatures, layer_features
from advtransfer.lots.search import DEFAULT_LIMIT, line_search


class LineSearchAttack(Attack):
    """A direction per image (``direction``), then paper 2's untargeted line search."""

    def __init__(self, model: nn.Module, limit: int = DEFAULT_LIMIT):
        super().__init__(model)
        check_number("limit", limit, integer=True)
        self.limit = limit

    def direction(self, pixels: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        pixels = (x * PIXEL_MAX).round()
        result = line_search(self.model, pixels, self.direction(pixels, y), y, targeted=False, limit=self.limit)
        return result.adversarials.to(x.dtype) / PIXEL_MAX

    def runner_up(self, pixels: torch.Tensor) -> torch.Tensor:
        """The second-ranked class of each image."""
        return layer_features(self.model, OUTPUT, pixels).topk(2, dim=1).indices[:, 1]


@ATTACKS.register("fgs")
class FGS(LineSearchAttack):
    def direction(self, pixels, y):
        return fgs_direction(self.model, pixels, y)


@ATTACKS.register("fgv")
class FGV(LineSearchAttack):
    def direction(self, pixels, y):
        return fgv_direction(self.model, pixels, y)


@ATTACKS.register("hc")
class HC(LineSearchAttack):
    def direction(self, pixels, y):
        return hot_cold_direction(self.model, pixels, self.runner_up(pixels), y)


@ATTACKS.register("lots")
class LOTS(LineSearchAttack):
    """LOTS towards ``targets`` (one image per class, 0–255 scale: row k of class k), which the attack
    needs before it runs (``needs_targets``: the attack job builds it with them)."""

    needs_targets = True

    def __init__(self, model: nn.Module, layer: str = OUTPUT, limit: int = DEFAULT_LIMIT,
                 targets: torch.Tensor | None = None):
        super().__init__(model, limit)
        if not isinstance(layer, str) or not layer:
            raise ValueError(f"layer must be a layer name, got {layer!r}")
        LayerFeatures(model, layer)  # an unknown layer fails here, naming the known ones
        self.layer = layer
        self.targets = targets

    def direction(self, pixels, y):
        if self.targets is None:
            raise ValueError("lots: no target images (build the attack with targets, one per class)")
        features = layer_features(self.model, self.layer, self.targets.to(pixels.device))
        return lots_direction(self.model, self.layer, pixels, features[self.runner_up(pixels)])
