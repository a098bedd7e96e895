"""A training recipe (method §2.2), checked without importing torch (the Snakefile checks recipes).

Its defaults live in the config's schema (``workflow/schemas/config.schema.yaml``, ``$defs.recipe``)
and nowhere else: the workflow's recipes arrive complete (the Snakefile validates the config, which
fills them in); a recipe given in part from Python (a test, a benchmark) gets the schema's defaults
through the same validator (``schema_defaults``, ``advtransfer.schema``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class TrainRecipe:
    """A training recipe of method §2.2 (every field is a key of the config's ``train`` section).

    ``lr_steps`` lists ``[epoch, lr]`` pairs: the learning rate becomes ``lr`` from that epoch on
    (e.g. 0.1 → 0.01 @80 → 0.001 @150 is ``lr: 0.1, lr_steps: [[80, 0.01], [150, 0.001]]``).
    ``lr_exp_tau`` gives lr·exp(−epoch/τ) instead (CapsNet). ``devices`` > 1 trains with DDP on
    that many GPUs of one machine (one process each; ``batch_size`` is per device).
    ``channels_last``: NHWC memory layout for convolutions (faster with bf16 on GPUs);
    ``data_on_device``: keep an in-memory dataset on the GPU (one-GPU jobs).
    """

    epochs: int
    batch_size: int
    optimizer: str
    lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    lr_steps: list
    lr_exp_tau: float | None
    precision: str
    devices: int
    channels_last: bool
    data_on_device: bool

    @classmethod
    def from_config(cls, cfg: dict) -> "TrainRecipe":
        """The recipe of a config's ``train`` section; keys it leaves out take the schema's defaults."""
        known = {f.name for f in fields(cls)}
        unknown = set(cfg) - known
        if unknown:
            raise ValueError(f"unknown training keys {sorted(unknown)}; known: {sorted(known)}")
        if known - set(cfg):
            cfg = {**schema_defaults(), **cfg}
        recipe = cls(**cfg)
        if recipe.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {recipe.optimizer!r}")
        if recipe.epochs < 1 or recipe.batch_size < 1 or recipe.lr <= 0 or recipe.devices < 1:
            raise ValueError("epochs, batch_size and devices must be ≥ 1 and lr > 0")
        return recipe

    def as_config(self) -> dict:
        """The recipe as plain values (a ``train`` section): what checkpoints and model files keep."""
        return asdict(self)

    def lr_factor(self, epoch: int) -> float:
        """Multiplier of ``lr`` at ``epoch`` (0-based)."""
        return lr_factor(epoch, self.lr, self.lr_steps, self.lr_exp_tau)


def lr_factor(epoch: int, lr: float, lr_steps: list, lr_exp_tau: float | None) -> float:
    """Multiplier of ``lr`` at ``epoch`` (0-based) under ``lr_steps`` or ``lr_exp_tau`` (``TrainRecipe``)."""
    if lr_exp_tau:
        return math.exp(-epoch / lr_exp_tau)
    value = lr
    for start, step_lr in sorted(lr_steps):
        if epoch >= start:
            value = step_lr
    return value / lr


def schema_defaults() -> dict:
    """The schema's default of every recipe key but ``epochs`` (which has none)."""
    from advtransfer.schema import ANY, defaults

    train = defaults()["datasets"][ANY]["architectures"][ANY]["train"]
    return {k: v for k, v in train.items() if k != "epochs"}
