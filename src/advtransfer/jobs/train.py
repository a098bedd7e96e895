"""The training stage (``workflow/rules/train.smk``, method §1–2): one job per classifier.

The job loads the dataset, trains (or resumes) with ``advtransfer.training.train_classifier`` in the
model's folder, and writes the model file (``model_io.save_classifier``: weights and what rebuilds
the classifier) and ``history.csv`` (the training's per-epoch rows as its CSV logger holds them:
``training.history``) atomically.
"""

from __future__ import annotations

import csv
from pathlib import Path

from advtransfer.files import atomic_path, file_digest
from advtransfer.io import wrote
from advtransfer.jobs import _inputs
from advtransfer.model_io import read_weights, save_classifier
from advtransfer.recipe import TrainRecipe
from advtransfer.training import HISTORY_COLUMNS, Training, TrainResult, train_classifier


def class_names(splits, excluded: int | None) -> list[str]:
    """The classifier's class names: the dataset's without ``excluded``."""
    names = list(getattr(splits, "class_names", [str(i) for i in range(splits.num_classes)]))
    return [n for i, n in enumerate(names) if i != excluded]


def write_history(rows: list[dict], path: str | Path) -> None:
    """A training's history (``training.HISTORY_COLUMNS``, one row per epoch) as CSV, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        if rows:
            writer = csv.DictWriter(f, fieldnames=HISTORY_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)


def train_to_files(splits, training: Training, model: str | Path, history: str | Path, *,
                   init_from: str | Path | None = None, examples: list[str] | None = None, code: str | None = None,
                   accelerator: str = "auto") -> TrainResult:
    """Train ``training`` on ``splits`` in ``model``'s folder (or resume it there), then write ``model``
    and ``history``, also when the checkpoint already holds every epoch. ``init_from``: the model
    file whose weights the training starts from; ``examples``: adversarial example files (a
    fine-tuning defence); making either anew, or a new ``code`` version, starts the training afresh."""
    stamp = {"init_from": file_digest(init_from), "examples": file_digest(*(examples or [])), "code": code}
    result = train_classifier(splits, training, Path(model).parent, stamp=stamp, accelerator=accelerator,
                              init_weights=read_weights(init_from) if init_from else None, examples=examples)
    if result.writes:
        save_classifier(result.module, model, excluded=training.excluded,
                        class_names=class_names(splits, training.excluded))
        write_history(result.history, history)
        wrote(model, history, what=f"{result.epochs} epochs, test accuracy {result.test_accuracy:.4f}")
    return result


def train_job(data: dict, architecture: str, excluded: int | None, recipe: dict, defence: str,
              defence_params: dict, seed: int, model: str, history: str, code: str | None = None,
              init_from: str | None = None, own_model: dict | None = None,
              examples: list[str] | None = None) -> TrainResult:
    """The workflow's ``train`` job: the rule's plain values (``study``, ``train_params``) to a
    ``Training``; load the dataset, train (or resume), write weights and history."""
    training = Training(architecture, TrainRecipe.from_config(recipe), excluded, int(seed), defence,
                        dict(defence_params), own_model)
    return train_to_files(_inputs.dataset(data, architecture), training, model, history, init_from=init_from,
                          examples=examples, code=code)
