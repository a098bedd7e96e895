"""One shuffled epoch of in-memory MNIST-shaped data: the project's DataLoader against a hand-written loop.

The same work for each: 60,000 uint8 images of 1×28×28 (random pixels; MNIST's size, the largest of
the in-memory sets; ``--images`` to change) in shuffled batches of 64, each batch cut from the tensor
and turned into floats in [0, 1]. Compared:

- ``DataLoader``: the project's training loader (``tensor_loader(..., shuffle=True)``: a
  ``DistributedSampler``'s order cut into index tensors by a ``BatchSampler`` passed as the
  DataLoader's sampler, ``batch_size=None``, a dataset that returns a whole batch for the indices);
- hand-written: a permutation cut into slices, each indexing the tensor (what the project's former
  ``TensorLoader`` did);
- per-sample ``DataLoader``: ``TensorDataset`` with ``batch_size=64, shuffle=True`` (one Python call
  per image, then ``default_collate``), for scale.

The loaders take turns, one epoch each per round, so that other work on the machine slows them
alike; prints images/s of each (the median over ``--repeats`` rounds, after one warm-up round) and
the median of the rounds' ratios.

    python benchmarks/loaders.py
    python benchmarks/loaders.py --images 10000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from advtransfer.data import tensor_loader, to_float


def hand_written(x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int, epoch: int):
    """The reference: a seeded permutation, sliced into batches."""
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        yield to_float(x[idx]), y[idx]


def epoch_rate(batches) -> float:
    start = time.perf_counter()
    seen = sum(len(batch_y) for _, batch_y in batches)
    return seen / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=60_000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5, help="timed epochs per loader (one more warms up)")
    args = p.parse_args()
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (args.images, 1, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (args.images,), generator=g)
    b = args.batch_size

    loader = tensor_loader(x, y, b, shuffle=True, seed=0)

    def project(e):
        loader.sampler.set_epoch(e)
        return loader

    def per_sample(e):
        return DataLoader(TensorDataset(x, y), b, shuffle=True, generator=torch.Generator().manual_seed(e))

    loaders = {"DataLoader (batched fetch)": project, "hand-written": lambda e: hand_written(x, y, b, 0, e),
               "DataLoader (per sample)": per_sample}
    rounds = [{name: epoch_rate(epoch(r)) for name, epoch in loaders.items()} for r in range(args.repeats + 1)][1:]
    print(f"one shuffled epoch of {args.images} uint8 1×28×28 images in batches of {b}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats} rounds")
    for name in loaders:
        print(f"{name:28s} {statistics.median(r[name] for r in rounds):12,.0f} images/s")

    def ratio(a: str, b: str) -> float:
        return statistics.median(r[a] / r[b] for r in rounds)

    print(f"ratio hand-written / DataLoader (batched fetch):      "
          f"{ratio('hand-written', 'DataLoader (batched fetch)'):.2f}")
    print(f"ratio DataLoader (batched) / DataLoader (per sample): "
          f"{ratio('DataLoader (batched fetch)', 'DataLoader (per sample)'):.2f}")

if __name__ == "__main__":
    main()
