"""Adversarial fine-tuning, stage 1 (``workflow/rules/finetuning.smk``, paper 2, method §4.10): the
adversarial examples of one technique for the training split, made on the vanilla classifier
(``advtransfer.finetuning.generate_examples``). Stage 2, the fine-tuning, is a training job
(``advtransfer.jobs.train``) with a fine-tuning defence.
"""

from __future__ import annotations

import sys

from advtransfer.constants import NO_LAYER
from advtransfer.data import without_class
from advtransfer.files import file_digest
from advtransfer.finetuning import CHUNK_ORIGINS, generate_examples
from advtransfer.io import wrote
from advtransfer.jobs import _inputs
from advtransfer.lots.comparison import origin_indices


def examples_job(data: dict, model: str, excluded: int | None, technique: str, layer: str, limit: int,
                 n_train: int | None, out: str, code: str | None = None, mode: str = "untargeted",
                 predictions: str | None = None, chunk_size: int = CHUNK_ORIGINS) -> int:
    """The workflow's ``adversarial_examples`` job: the examples of ``technique`` (at ``layer``) for
    the first ``n_train`` correctly classified training images (None: all) of the classifier
    ``model``, successes under ``mode``; the targets are the first correctly classified training
    image of each class. ``predictions``: the classifier's predictions file (``jobs.lots.predictions_job``;
    None: predict the training split here); ``chunk_size``: origins per chunk (``generate_examples``)."""
    classifier, meta, splits = _inputs.model_and_data(data, model, in_memory=True)
    predicted = _inputs.predictions(classifier, splits, "train", predictions)
    rows, y = without_class(splits.train_y, excluded)
    x, predicted = splits.train_x[rows], predicted[rows]
    targets = _inputs.class_targets(x, y, predicted, meta["num_classes"])
    index = origin_indices(predicted, y, n_train or len(y))
    print(f"{len(index)} correctly classified training images as origins", file=sys.stderr, flush=True)
    job = {"data": data, "excluded": excluded, "technique": technique, "layer": layer, "limit": limit,
           "n_train": n_train, "mode": mode, "model": file_digest(model), "code": code}
    total = generate_examples(classifier, x[index], y[index], technique, targets, out, layer, limit,
                              origin_index=index, chunk_size=chunk_size, job=job, mode=mode)
    wrote(out, what=f"{total} {technique}{'' if layer == NO_LAYER else ' ' + layer} examples of {len(index)} origins")
    return total
