"""A training recipe (method §2), checked without importing torch (the Snakefile checks recipes)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class TrainRecipe:
    """A training recipe of method §2.

    ``lr_steps`` lists ``[epoch, lr]`` pairs: the learning rate becomes ``lr`` from that epoch on
    (e.g. 0.1 → 0.01 @80 → 0.001 @150 is ``lr: 0.1, lr_steps: [[80, 0.01], [150, 0.001]]``).
    ``lr_exp_tau`` gives lr·exp(−epoch/τ) instead (CapsNet). ``devices`` > 1 trains with DDP on
    that many GPUs of one machine (one process each; ``batch_size`` is per device).
    """

    epochs: int
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 0.0
    lr_steps: list = field(default_factory=list)
    lr_exp_tau: float | None = None
    precision: str = "32-true"
    devices: int = 1
    channels_last: bool = False  # NHWC memory layout for convolutions (faster with bf16 on GPUs)
    data_on_device: bool = False  # keep an in-memory dataset on the GPU (one-GPU jobs)

    @classmethod
    def from_config(cls, cfg: dict) -> "TrainRecipe":
        known = {f.name for f in fields(cls)}
        unknown = set(cfg) - known
        if unknown:
            raise ValueError(f"unknown training keys {sorted(unknown)}; known: {sorted(known)}")
        recipe = cls(**cfg)
        if recipe.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {recipe.optimizer!r}")
        if recipe.epochs < 1 or recipe.batch_size < 1 or recipe.lr <= 0 or recipe.devices < 1:
            raise ValueError("epochs, batch_size and devices must be ≥ 1 and lr > 0")
        return recipe

    def lr_factor(self, epoch: int) -> float:
        """Multiplier of ``lr`` at ``epoch`` (0-based)."""
        if self.lr_exp_tau:
            return math.exp(-epoch / self.lr_exp_tau)
        lr = self.lr
        for start, value in sorted(self.lr_steps):
            if epoch >= start:
                lr = value
        return lr / self.lr
