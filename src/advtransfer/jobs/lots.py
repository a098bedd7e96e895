"""The LOTS stage (``workflow/rules/lots.smk``, method §4): the classifiers' predictions, and the
attempts of paper 2's comparison (``advtransfer.lots.comparison``) on a standard classifier.

Every attempts job attacks the first correctly classified images of the test split (paper 2's
origins) towards one target image per class, the first correctly classified test image of each
(``_inputs.lots_inputs``). The classifier's predicted class of every image is computed once per
classifier (``predictions_job``) and read by the jobs that choose origins and targets. The attempts
are made in chunks of origins, each written to a working folder beside the output, so that a killed
job resumes after its last finished chunk (as ``finetuning.generate_examples`` does); a chunk is a
sealed CSV (``files.save_sealed_csv``), and one found cut short or garbled is made again. Outputs are
written atomically.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from advtransfer.catalog import TECHNIQUES
from advtransfer.files import discard_stale, file_digest, read_back, save_npz, save_sealed_csv
from advtransfer.io import write_table, wrote
from advtransfer.jobs import _inputs
from advtransfer.lots.comparison import ATTEMPT_COLUMNS, lots_comparison, origin_indices
from advtransfer.lots.layers import predict

CSV_TYPES = {"eps": "Int64", "reached_target": "boolean"}  # the attempts' columns with missing values
CHUNK_ORIGINS = 500  # origins per chunk of attempts: 4,500 LOTS attempts per layer on 10 classes


def predictions_job(data: dict, model: str, out: str) -> None:
    """The classifier's predicted class of every training and test image (``train``, ``test``:
    int64 arrays in the order of the splits, in the classifier's numbering of the classes)."""
    classifier, _, splits = _inputs.model_and_data(data, model, in_memory=True)
    save_npz(out, **{name: predict(classifier, getattr(splits, f"{name}_x")).cpu().numpy()
                     for name in _inputs.SPLITS})
    wrote(out, what=f"predictions of {len(splits.train_y)} training and {len(splits.test_y)} test images")


def attempts_job(data: dict, model: str, keys: dict, techniques: list, layers: list, modes: list,
                 n_lots: int, limit: int, out: str, predictions: str | None = None, code: str | None = None,
                 chunk_size: int = CHUNK_ORIGINS) -> None:
    """Paper 2's attempts (``lots_comparison``) on the first ``n_lots`` correctly classified test
    images: one row per attempt, ``keys`` (dataset, architecture, defence, seed) first, ``origin`` the
    image's index in the test split. ``predictions``: the classifier's ``predictions_job`` file (None:
    predict the test split here).

    The origins go in chunks of ``chunk_size`` to ``<out>.chunks/``; a chunk already there is not
    made again when the folder's stamp (the parameters, the inputs' digests, the ``code`` version)
    matches this job's and it reads back whole (a damaged one is made again)."""
    inputs = _inputs.lots_inputs(data, model, predictions)
    index = origin_indices(inputs.predicted, inputs.labels, n_lots)
    folder = Path(str(out) + ".chunks")
    discard_stale(folder, {"data": data, "keys": keys, "techniques": techniques, "layers": layers, "modes": modes,
                           "n_lots": n_lots, "limit": limit, "chunk_size": chunk_size, "code": code,
                           "model": file_digest(model), "predictions": file_digest(predictions)})
    chunks = list(index.split(chunk_size))
    paths = [folder / f"chunk_{i:06d}.csv" for i in range(len(chunks))]
    done = sum(p.exists() and read_back(p, sealed=True, dtype=CSV_TYPES, remake=True) is not None
               for p in paths)  # a damaged chunk is deleted, to be made again
    if done:
        print(f"resuming: {done} of {len(chunks)} chunks already made", file=sys.stderr, flush=True)
    start, made, attempted = time.perf_counter(), 0, 0
    for i, (chunk, path) in enumerate(zip(chunks, paths)):
        if path.exists():
            continue
        attempts = lots_comparison(inputs.model, inputs.images[chunk], inputs.labels[chunk], inputs.targets, layers,
                                   techniques, modes, limit)
        attempts["origin"] = chunk.cpu().numpy()[attempts["origin"].to_numpy(dtype=int)]
        save_sealed_csv(path, attempts)
        made, attempted = made + 1, attempted + len(attempts)
        rate = attempted / (time.perf_counter() - start)
        left = (len(chunks) - done - made) * len(attempts) / rate
        print(f"chunk {i + 1}/{len(chunks)}: {len(chunk)} origins, {len(attempts)} attempts, "
              f"{int(attempts['success'].sum())} successes; {rate:.1f} attempts/s, about {left / 60:.0f} min left",
              file=sys.stderr, flush=True)
    attempts = pd.concat([read_back(p, sealed=True, dtype=CSV_TYPES) for p in paths], ignore_index=True) if paths \
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
