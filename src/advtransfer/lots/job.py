"""The LOTS stage of the workflow (method §4): one function per job.

Every job attacks a trained standard classifier on the first images of its dataset's test split
(paper 2's comparison: the first correctly classified ones); the target images are one per class,
the first correctly classified test image of each (``target_indices``). The classifier's predicted
class of every image is computed once per classifier (``predictions_job``) and read by the jobs
that choose origins and targets. The attempts are made in chunks of origins, each written to a
working folder beside the output, so that a killed job resumes after its last finished chunk (as
``finetuning.generate_examples`` does). Outputs are written atomically.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from advtransfer.catalog import TECHNIQUES
from advtransfer.files import atomic_path, discard_stale, file_digest, load_npz, save_npz
from advtransfer.io import write_table, wrote
from advtransfer.lots.comparison import ATTEMPT_COLUMNS, lots_comparison, origin_indices, target_indices
from advtransfer.lots.layers import OUTPUT, layer_features, predict

SPLITS = ("train", "test")
CSV_TYPES = {"eps": "Int64", "reached_target": "boolean"}  # the attempts' columns with missing values
CHUNK_ORIGINS = 500  # origins per chunk of attempts: 4,500 LOTS attempts per layer on 10 classes


def top_two(model: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The class with the highest score and the runner-up, for images on the 0–255 scale."""
    ranked = layer_features(model, OUTPUT, images).topk(2, dim=1).indices
    return ranked[:, 0], ranked[:, 1]


def _in_memory(data: dict, architecture: str):
    from advtransfer.data import for_architecture, load_dataset

    splits = for_architecture(load_dataset(**data), architecture)
    if not hasattr(splits, "test_x"):
        raise ValueError(f"LOTS needs a dataset held in memory; {data['name']} is read from image folders")
    return splits


def predictions_job(data: dict, model: str, out: str) -> None:
    """The classifier's predicted class of every training and test image (``train``, ``test``:
    int64 arrays in the order of the splits, in the classifier's numbering of the classes)."""
    from advtransfer.inference import best_device
    from advtransfer.model_io import load_classifier

    classifier, meta = load_classifier(model, best_device())
    splits = _in_memory(data, meta["architecture"])
    save_npz(out, **{name: predict(classifier, getattr(splits, f"{name}_x")).cpu().numpy()
                     for name in SPLITS})
    wrote(out, what=f"predictions of {len(splits.train_y)} training and {len(splits.test_y)} test images")


def read_predictions(path: str, split: str) -> torch.Tensor:
    """One split's predictions from a ``predictions_job`` file."""
    return torch.from_numpy(load_npz(path, [split])[split]).long()


def _load(data: dict, model_path: str, predictions: str | None = None):
    """The classifier on this job's device, the test images, their labels, the test split's
    predictions (read from ``predictions``, or computed) and the class targets."""
    from advtransfer.inference import best_device
    from advtransfer.model_io import load_classifier

    device = best_device()
    model, meta = load_classifier(model_path, device)
    splits = _in_memory(data, meta["architecture"])
    predicted = read_predictions(predictions, "test") if predictions else predict(model, splits.test_x)
    if len(predicted) != len(splits.test_y):
        raise ValueError(f"{predictions} holds {len(predicted)} test predictions, the test split "
                         f"{len(splits.test_y)} images: delete it and run the workflow again")
    targets = splits.test_x[target_indices(predicted, splits.test_y, splits.num_classes)]
    return (model, splits.test_x.to(device), splits.test_y.to(device), predicted, targets.to(device),
            splits.class_names)


def attempts_job(data: dict, model: str, keys: dict, techniques: list, layers: list, modes: list,
                 n_lots: int, limit: int, out: str, predictions: str | None = None, code: str | None = None,
                 chunk_size: int = CHUNK_ORIGINS) -> None:
    """Paper 2's attempts (``lots_comparison``) on the first ``n_lots`` correctly classified test
    images: one row per attempt, ``keys`` (dataset, architecture, defence, seed) first, ``origin`` the
    image's index in the test split. ``predictions``: the classifier's ``predictions_job`` file (None:
    predict the test split here).

    The origins go in chunks of ``chunk_size`` to ``<out>.chunks/``; a chunk already there is not
    made again when the folder's stamp (the parameters, the inputs' digests, the ``code`` version)
    matches this job's."""
    classifier, images, labels, predicted, targets, _ = _load(data, model, predictions)
    index = origin_indices(predicted, labels, n_lots)
    folder = Path(str(out) + ".chunks")
    discard_stale(folder, {"data": data, "keys": keys, "techniques": techniques, "layers": layers, "modes": modes,
                           "n_lots": n_lots, "limit": limit, "chunk_size": chunk_size, "code": code,
                           "model": file_digest(model), "predictions": file_digest(predictions)})
    chunks = list(index.split(chunk_size))
    paths = [folder / f"chunk_{i:06d}.csv" for i in range(len(chunks))]
    done = sum(p.exists() for p in paths)
    if done:
        print(f"resuming: {done} of {len(chunks)} chunks already made", file=sys.stderr, flush=True)
    start, made, attempted = time.perf_counter(), 0, 0
    for i, (chunk, path) in enumerate(zip(chunks, paths)):
        if path.exists():
            continue
        attempts = lots_comparison(classifier, images[chunk], labels[chunk], targets, layers, techniques, modes,
                                   limit)
        attempts["origin"] = chunk.cpu().numpy()[attempts["origin"].to_numpy(dtype=int)]
        with atomic_path(path) as tmp:
            attempts.to_csv(tmp, index=False)
        made, attempted = made + 1, attempted + len(attempts)
        rate = attempted / (time.perf_counter() - start)
        left = (len(chunks) - done - made) * len(attempts) / rate
        print(f"chunk {i + 1}/{len(chunks)}: {len(chunk)} origins, {len(attempts)} attempts, "
              f"{int(attempts['success'].sum())} successes; {rate:.1f} attempts/s, about {left / 60:.0f} min left",
              file=sys.stderr, flush=True)
    attempts = pd.concat([pd.read_csv(p, dtype=CSV_TYPES) for p in paths], ignore_index=True) if paths \
        else pd.DataFrame(columns=ATTEMPT_COLUMNS)
    # the rows in the order of one call on every origin: technique, layer, mode, then origin
    rank = {"technique": {t: i for i, t in enumerate(TECHNIQUES)}, "layer": {x: i for i, x in enumerate(layers)},
            "mode": {m: i for i, m in enumerate(modes)}}
    attempts = attempts.sort_values(list(rank), key=lambda c: c.map(rank[c.name]).fillna(-1),
                                    kind="stable").reset_index(drop=True)
    for i, (key, value) in enumerate(keys.items()):
        attempts.insert(i, key, value)
    write_table(attempts, out)
    shutil.rmtree(folder)
