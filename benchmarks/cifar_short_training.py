"""LeNet and ResNet-32 learn real CIFAR-10 (method §2): a short training far above chance (10%).

Trains both with the project's training job (``advtransfer.training.train_classifier``: Lightning,
the method §2 optimiser settings, batch 64) on the JPEG copy of CIFAR-10 for a few minutes of CPU
time, then prints the accuracy on the first test images (all classes: chance is 10%).

    python benchmarks/cifar_short_training.py [--data DIR] [--threads 1]

LeNet trains 3 epochs on all 50,000 training images; ResNet-32, much slower on a CPU, 2 epochs on
the first 5,000. ``--data`` as in ``cifar_epoch.py``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from cifar_epoch import DEFAULT_DATA, cifar10_jpeg

from advtransfer.jobs.train import train_to_files
from advtransfer.recipe import TrainRecipe
from advtransfer.training import Training

RUNS = {
    # method §2 recipes, shortened: LeNet SGD 0.01, wd 1e-4; ResNet-32 SGD 0.1, wd 1e-4
    "lenet": dict(train=50_000, recipe=dict(epochs=3, lr=0.01, weight_decay=1e-4)),
    "resnet32": dict(train=5_000, recipe=dict(epochs=2, lr=0.1, weight_decay=1e-4)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--test", type=int, default=2_000, help="test images to evaluate on")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    splits = cifar10_jpeg(args.data)

    results = []
    for name, run in RUNS.items():
        subset = splits.limit(run["train"], args.test)
        recipe = {"batch_size": 64, **run["recipe"]}
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            training = Training(name, TrainRecipe.from_config(recipe), None, 0, "vanilla", {}, None)
            result = train_to_files(subset, training, Path(out) / "model.pt", Path(out) / "history.csv",
                                    accelerator="cpu")
        minutes = (time.perf_counter() - start) / 60
        results.append((name, run["train"], recipe["epochs"], result.test_accuracy, minutes))

    print(f"\n{'architecture':<14}{'train images':>14}{'epochs':>8}{'test accuracy':>16}{'minutes':>10}")
    for name, n, epochs, accuracy, minutes in results:
        print(f"{name:<14}{n:>14}{epochs:>8}{accuracy:>15.1%}{minutes:>10.1f}")
    print(f"(first {args.test} test images, all 10 classes: chance is 10%)")


if __name__ == "__main__":
    main()
