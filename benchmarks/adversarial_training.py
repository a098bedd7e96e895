"""Madry adversarial training (method §2.5) measurably resists PGD on real Fashion-MNIST.

Trains a small classifier twice on a subset of Fashion-MNIST, vanilla and ``adversarial_training``
(ε 0.1·255 = 25.5, step ε/4, 10 steps, random start: method §2's CIFAR-10 setting 8 / 2 / 10 scaled to
Fashion-MNIST), then attacks the first test images of each with PGD (no random start, method §2) at
the training ε and at the attack table's ε 76.5, and prints clean accuracy and PGD success rates.

    python benchmarks/adversarial_training.py --data ../shared/data/fashion-mnist
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch

from advtransfer.attacks import build_attack
from advtransfer.data import load_dataset, to_float
from advtransfer.jobs.train import train_to_files
from advtransfer.model_io import load_classifier
from advtransfer.recipe import TrainRecipe
from advtransfer.training import Training


def fashion_mnist(raw_dir: Path, root: Path, train: int, test: int):
    """Fashion-MNIST from the four official files in ``raw_dir`` (copied where torchvision looks)."""
    target = root / "FashionMNIST" / "raw"
    target.mkdir(parents=True, exist_ok=True)
    for f in raw_dir.glob("*-ubyte.gz"):
        shutil.copy(f, target / f.name)
    # download=True only unpacks: the archives are present with their checksums, no network is used
    return load_dataset("fashion_mnist", root, download=True, train_limit=train, test_limit=test)


def success_rate(model, x, y, eps: float, eps_step: float, max_iter: int) -> float:
    """Share of the images PGD makes the model misclassify (misclassified clean images count)."""
    attack = build_attack("pgd", model, eps=eps, eps_step=eps_step, max_iter=max_iter, random_start=False)
    adv = torch.cat([attack(xb, yb) for xb, yb in zip(x.split(500), y.split(500))])
    with torch.no_grad():
        return (model(adv).argmax(1) != y).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-mnist")
    parser.add_argument("--architecture", default="mlp")
    parser.add_argument("--train", type=int, default=5000, help="training images (the first ones)")
    parser.add_argument("--test", type=int, default=500, help="test images for accuracy and PGD")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--eps", type=float, default=25.5, help="AT's and PGD's ε, 0–255 scale")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    recipe = {"epochs": args.epochs, "batch_size": 64, "optimizer": "adam", "lr": 1e-3}
    defences = {
        "vanilla": {},
        "adversarial_training": {"eps": args.eps, "eps_step": args.eps / 4, "max_iter": 10, "random_start": True},
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        splits = fashion_mnist(args.data, tmp / "data", args.train, args.test)
        x, y = to_float(splits.test_x), splits.test_y
        print(f"Fashion-MNIST: {len(splits.train_y)} training images, {len(y)} test images; "
              f"{args.architecture}, {args.epochs} epochs, Adam 1e-3; AT {defences['adversarial_training']}")
        print(f"{'defence':22s} {'train s':>8s} {'clean acc':>9s} "
              f"{'PGD ε=%g (20 it)' % args.eps:>18s} {'PGD ε=76.5 (40 it)':>19s}")
        for defence, params in defences.items():
            start = time.perf_counter()
            out = tmp / defence
            training = Training(args.architecture, TrainRecipe.from_config(recipe), None, 0, defence, params, None)
            train_to_files(splits, training, out / "model.pt", out / "history.csv")
            seconds = time.perf_counter() - start
            model, _ = load_classifier(out / "model.pt")
            with torch.no_grad():
                accuracy = (model(x).argmax(1) == y).float().mean().item()
            at_eps = success_rate(model, x, y, args.eps, 2.55, 20)
            table_eps = success_rate(model, x, y, 76.5, 2.55, 40)
            print(f"{defence:22s} {seconds:8.1f} {accuracy:9.3f} {at_eps:18.3f} {table_eps:19.3f}")


if __name__ == "__main__":
    main()
