"""The shared base of FMN, DDN and APGD-CE: attacks written as a function of a model that returns logits.

``Attack.__call__`` already runs the model in evaluation mode and passes only the samples it
classifies correctly; ``LogitsAttack`` adds what these functions expect and what the project promises:
- Their losses (the logit difference, cross-entropy) take logits. A model whose scores are not logits
  (CapsNet's capsule lengths) is shown the log of its soft-label (method §1) instead: the same
  prediction, and cross-entropy on it is the project's ``Attack.loss``.
- Their random draws (APGD's random start, DDN's direction for a zero gradient) come from torch's
  generator seeded with ``seed``, the global random state being restored after, so the same attack on
  the same batch gives the same images.
- The returned images are clamped to [0, 1] (x + δ, rounded in floating point, can leave it by an ulp).
"""

from __future__ import annotations

import torch
from torch import nn

from advtransfer.attacks.base import Attack
from advtransfer.constants import LOGITS, NLL_FLOOR
from advtransfer.softlabels import soft_label


class AsLogits(nn.Module):
    """``model`` with scores to be read as logits: its log soft-labels unless they are logits."""

    def __init__(self, model: nn.Module, output_kind: str):
        super().__init__()
        self.model, self.output_kind = model, output_kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.model(x)
        if self.output_kind == LOGITS:
            return scores
        return soft_label(scores, self.output_kind).clamp_min(NLL_FLOOR).log()


class LogitsAttack(Attack):
    """An attack whose ``run(model, x, y)`` is one function of a logits model on correctly classified samples."""

    seed: int = 0

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        device = x.device
        cuda = []
        if device.type == "cuda":
            cuda = [device.index if device.index is not None else torch.cuda.current_device()]
        with torch.random.fork_rng(devices=cuda):
            torch.random.default_generator.manual_seed(self.seed)
            for index in cuda:
                torch.cuda.default_generators[index].manual_seed(self.seed)
            x_adv = self.run(AsLogits(self.model, self.output_kind), x, y)
        return x_adv.detach().clamp(0, 1)

    def run(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def per_sample(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A per-sample tensor (N,) viewed to broadcast against a batch ``like`` (N, C, H, W)."""
    return t.view(-1, *[1] * (like.ndim - 1))
