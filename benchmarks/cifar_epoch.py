"""One CIFAR-10 training epoch per architecture of method §2, timed on this machine's CPU.

Each architecture is built as deployed (standardisation + body, ``build_classifier``) and trained
with SGD (momentum 0.9, Nesterov) on batches of 64 real CIFAR-10 images, the recipes' batch size,
with cross-entropy or, for CapsNet, its own margin + reconstruction loss. After one warm-up step,
``--images`` images are timed and the time is extrapolated to an epoch of 50,000 images; the output
says so. All architectures run in one process, one after the other.

    python benchmarks/cifar_epoch.py [--data DIR] [--images 128] [--threads 1]

``--data`` is a data directory holding ``cifar10/{train,test}/<class>/*.jpg``; by default the JPEG
copy ``../shared/data/cifar10-jpeg-q75.tar.gz`` is unpacked once into ``benchmarks/out/data``.
"""

from __future__ import annotations

import argparse
import resource
import tarfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from advtransfer.data import ImageSplits, load_dataset
from advtransfer.models import build_classifier

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT.parent / "shared" / "data" / "cifar10-jpeg-q75.tar.gz"
DEFAULT_DATA = ROOT / "benchmarks" / "out" / "data"
ARCHITECTURES = ["lenet", "vgg16", "allconv", "nin", "resnet32", "wrn16_8", "densenet100_12", "capsnet"]
EPOCH = 50_000


def cifar10_jpeg(data_dir: Path, archive: Path = ARCHIVE) -> ImageSplits:
    """CIFAR-10 from ``data_dir/cifar10``, unpacking ``archive`` there first when it is missing."""
    if not (data_dir / "cifar10").is_dir():
        print(f"unpacking {archive} into {data_dir / 'cifar10'} ...", flush=True)
        with tarfile.open(archive) as tar:
            tar.extractall(data_dir / "cifar10", filter="data")
    return load_dataset("cifar10", data_dir, download=False)


def training_step(model, optimizer, x: torch.Tensor, y: torch.Tensor) -> float:
    optimizer.zero_grad(set_to_none=True)
    body = model.body
    if hasattr(body, "training_loss"):
        loss = body.training_loss(model.standardize(model.transforms(x)), y)
    else:
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def time_epoch(name: str, splits: ImageSplits, images: int, batch_size: int) -> tuple[float, float, int]:
    """(wall seconds per image, CPU seconds per image, parameters) of ``name`` on ``images`` images."""
    torch.manual_seed(0)
    mean, std = splits.channel_stats()
    model = build_classifier(name, 3, 32, 10, mean, std).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    batches = iter(splits.train_loader(None, batch_size, seed=0))
    training_step(model, optimizer, *next(batches))  # warm-up: allocations, kernel selection
    seen, start, cpu = 0, time.perf_counter(), time.process_time()
    while seen < images:
        x, y = next(batches)
        training_step(model, optimizer, x, y)
        seen += len(y)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall / seen, cpu / seen, sum(p.numel() for p in model.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=128, help="training images timed per architecture")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--architectures", nargs="+", default=ARCHITECTURES)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    start = time.perf_counter()
    splits = cifar10_jpeg(args.data)
    print(f"CIFAR-10 JPEG copy loaded in {time.perf_counter() - start:.1f} s: {len(splits.train_y)} train images")
    print(f"CPU threads: {args.threads}; batch {args.batch_size}; {args.images} timed images per architecture "
          f"(after one warm-up batch), extrapolated to an epoch of {EPOCH} images\n")
    print("wall time depends on what else runs on the machine; CPU time (all threads) much less so")
    print(f"{'architecture':<16}{'parameters':>12}{'images/s':>10}{'epoch wall':>14}{'epoch CPU':>14}"
          f"{'peak RSS so far':>17}")
    for name in args.architectures:
        wall, cpu, params = time_epoch(name, splits, args.images, args.batch_size)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"{name:<16}{params / 1e6:>10.2f} M{1 / wall:>10.1f}{wall * EPOCH / 60:>10.1f} min"
              f"{cpu * EPOCH / 60:>10.1f} min{rss:>14.1f} GB", flush=True)


if __name__ == "__main__":
    main()
