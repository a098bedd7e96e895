"""Training as the workflow's training job does it (``advtransfer.jobs.train``), for the tests: a
classifier trained (or resumed) in a folder, its ``model.pt`` and ``history.csv`` written there."""

from __future__ import annotations

from pathlib import Path

from advtransfer.jobs.train import train_to_files
from advtransfer.recipe import TrainRecipe
from advtransfer.training import Training


def training(architecture: str, recipe: dict, excluded: int | None = None, seed: int = 0, defence: str = "vanilla",
             defence_params: dict | None = None, own_model: dict | None = None) -> Training:
    """A ``Training``; ``recipe`` may leave keys out (the schema's defaults)."""
    return Training(architecture, TrainRecipe.from_config(recipe), excluded, seed, defence, dict(defence_params or {}),
                    own_model)


def train(splits, architecture: str, excluded: int | None, recipe: dict, out: str | Path, *, accelerator="auto",
          code=None, init_from=None, examples=None, **options):
    """Train into ``out`` (``out/model.pt``, ``out/history.csv``); ``options``: ``training``'s."""
    out = Path(out)
    return train_to_files(splits, training(architecture, recipe, excluded, **options), out / "model.pt",
                          out / "history.csv", init_from=init_from, examples=examples, code=code,
                          accelerator=accelerator)
