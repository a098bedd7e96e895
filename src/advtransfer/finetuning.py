"""Adversarial fine-tuning, stage 1 (paper 2, method §4.10): the adversarial examples of one technique
(FGS, FGV, HC, or LOTS at one layer) for the training split, made on the vanilla classifier.

The examples are the successful attempts of paper 2's comparison (``lots.comparison.technique_attempts``,
then ``lots.search.line_search``) with the training images as origins, under the comparison's success
criterion (paper 2's, "untargeted": the class changes; HC and LOTS still move towards their target).
They are written in chunks of origins, each chunk a file of its own in a working folder beside the
output, so that a killed job resumes after its last finished chunk; the chunks are then copied into
one file and the folder removed. Every file is written atomically; a chunk found damaged (cut short
by a full disk or a crash mid-copy, garbled) is deleted with a warning naming it and made again.

Example file (``.npz``, uncompressed): ``images`` uint8 (n, C, H, W), ``labels`` int64 (the origin's
class, as the classifier numbers them), ``origin`` int64 (index in the training split), ``target_class``
int64 (−1: none), ``eps`` int64 (the line search's ε) and ``reached_target`` bool (the example is
classified as its target class; false without a target).
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from advtransfer.files import discard_stale, load_npz, read_back, save_npz

CHUNK_ORIGINS = 1000  # origins per chunk: at most 9,000 attempts (HC, LOTS on 10 classes)
FIELDS = ("images", "labels", "origin", "target_class", "eps", "reached_target")
TARGETED = ("HC", "LOTS")  # the techniques with a target class; FGS and FGV are untargeted
MODES = ("untargeted", "targeted")  # the success criterion (method §4.5); paper 2's is untargeted


def chunk_path(folder: Path, index: int) -> Path:
    return folder / f"chunk_{index:06d}.npz"


def generate_examples(
    model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, technique: str, targets: torch.Tensor,
    out: str | Path, layer: str = "-", limit: int = 4096, origin_index: torch.Tensor | None = None,
    chunk_size: int = CHUNK_ORIGINS, job: dict | None = None, mode: str = "untargeted",
) -> int:
    """The adversarial examples of ``technique`` (at ``layer`` for LOTS) for the origins ``images``
    (uint8 (n, C, H, W), correctly classified) into ``out``; returns how many.

    FGS and FGV make one attempt per origin, HC and LOTS one towards every other class (LOTS:
    towards that class's image in ``targets``), all with the comparison's line search up to
    ``limit``. An attempt succeeds under ``mode`` (method §4.5): "untargeted", paper 2's, when the
    class differs from the origin's; "targeted" (HC and LOTS), when it is the target class. Every
    success is kept, labelled with its origin's class. Chunks of
    ``chunk_size`` origins go to ``<out>.chunks/``; a chunk already there is not made again when its
    stamp (``job``: the parameters, the model's digest, the code version) matches and it reads back
    whole (a damaged one is made again).
    """
    from advtransfer.lots.comparison import technique_attempts
    from advtransfer.lots.layers import predict
    from advtransfer.lots.search import line_search

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; known: {MODES}")
    targeted = mode == "targeted" and technique in TARGETED
    out = Path(out)
    folder = out.with_name(out.name + ".chunks")
    discard_stale(folder, {**(job or {}), "chunk_size": chunk_size})  # chunk i: the same origins
    if origin_index is None:
        origin_index = torch.arange(len(images))
    if not len(images):
        raise ValueError("no origins: the classifier classifies no training image correctly")
    device = next(model.parameters()).device
    n_chunks = math.ceil(len(images) / chunk_size)
    done = sum(chunk_path(folder, i).exists() and read_back(chunk_path(folder, i), fields=FIELDS, remake=True)
               is not None for i in range(n_chunks))  # a damaged chunk is deleted, to be made again
    if done:
        print(f"resuming: {done} of {n_chunks} chunks already made", file=sys.stderr, flush=True)
    start, made, attempted = time.perf_counter(), 0, 0
    for i in range(n_chunks):
        path = chunk_path(folder, i)
        if path.exists():
            continue
        rows = slice(i * chunk_size, (i + 1) * chunk_size)
        origins, origin_labels = images[rows].to(device), labels[rows].to(device)
        clean = predict(model, origins)
        attempt, target_class, directions = technique_attempts(model, technique, origins, origin_labels, clean,
                                                               targets.to(device), layer)
        classes = target_class if targeted else clean[attempt]
        result = line_search(model, origins[attempt], directions, classes, targeted, limit)
        hit = result.success
        reached = (result.predictions == target_class) & hit
        save_npz(path, images=result.adversarials[hit].cpu().numpy(),
                 labels=origin_labels[attempt[hit]].cpu().numpy().astype(np.int64),
                 origin=origin_index[rows].to(device)[attempt[hit]].cpu().numpy().astype(np.int64),
                 target_class=target_class[hit].cpu().numpy().astype(np.int64),
                 eps=result.eps[hit].cpu().numpy().astype(np.int64),
                 reached_target=reached[hit].cpu().numpy())
        made, attempted = made + 1, attempted + len(attempt)
        rate = attempted / (time.perf_counter() - start)
        left = (n_chunks - done - made) * len(attempt) / rate
        print(f"chunk {i + 1}/{n_chunks}: {int(hit.sum())} of {len(attempt)} attempts succeeded; "
              f"{rate:.0f} attempts/s, about {left / 60:.1f} min left", file=sys.stderr, flush=True)
    total = assemble(folder, n_chunks, out)
    shutil.rmtree(folder)
    return total


def assemble(folder: Path, n_chunks: int, out: Path) -> int:
    """The chunks into one file, each array allocated once at its full size (never held twice)."""
    sizes = [len(load_npz(chunk_path(folder, i), ["labels"])["labels"]) for i in range(n_chunks)]
    total = sum(sizes)
    first = load_npz(chunk_path(folder, 0), FIELDS)
    arrays = {k: np.empty((total, *first[k].shape[1:]), dtype=first[k].dtype) for k in FIELDS}
    offset = 0
    for i, size in enumerate(sizes):
        chunk = load_npz(chunk_path(folder, i), FIELDS)
        for k in FIELDS:
            arrays[k][offset:offset + size] = chunk[k]
        offset += size
    save_npz(out, **arrays)
    return total


def load_examples(paths: list[str | Path], clean: tuple[torch.Tensor, torch.Tensor] | None = None,
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (uint8) and labels of example files, after the ``clean`` images and labels if given,
    in one tensor each, allocated once."""
    sizes, shape = [], None
    for path in paths:
        labels = load_npz(path, ["labels"])["labels"]
        sizes.append(len(labels))
    shape = tuple(clean[0].shape[1:]) if clean is not None else None
    n_clean = len(clean[1]) if clean is not None else 0
    x = y = None
    offset = n_clean
    for path, size in zip(paths, sizes):
        f = load_npz(path, ["images", "labels"])
        if x is None:
            shape = shape or f["images"].shape[1:]
            x = torch.empty((n_clean + sum(sizes), *shape), dtype=torch.uint8)
            y = torch.empty(n_clean + sum(sizes), dtype=torch.long)
        x[offset:offset + size] = torch.from_numpy(f["images"])
        y[offset:offset + size] = torch.from_numpy(f["labels"])
        offset += size
    if x is None:  # no example files
        x = torch.empty((n_clean, *shape), dtype=torch.uint8)
        y = torch.empty(n_clean, dtype=torch.long)
    if clean is not None:
        x[:n_clean], y[:n_clean] = clean[0], clean[1]
    return x, y
