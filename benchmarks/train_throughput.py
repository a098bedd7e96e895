"""One epoch of the project's training (Lightning) against a minimal hand-written PyTorch loop.

Same model (``build_classifier``), same in-memory data, same batch size and optimiser; both epochs
include the pass over the test split that the project's training does each epoch. Prints seconds per
epoch (the median of the timed epochs, after one warm-up epoch) and the ratio project / plain.

    python benchmarks/train_throughput.py                        # Fashion-MNIST from ../shared/data
    python benchmarks/train_throughput.py --dataset digits --epochs 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from torch.nn import functional as F

from advtransfer.data import load_dataset, to_float
from advtransfer.models import build_classifier
from advtransfer.recipe import TrainRecipe
from advtransfer.training import ClassifierModule

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


class EpochTimer(L.Callback):
    def __init__(self):
        self.times: list[float] = []

    def on_train_epoch_start(self, trainer, module):
        self._t = time.perf_counter()

    def on_validation_epoch_end(self, trainer, module):
        if not trainer.sanity_checking:
            self.times.append(time.perf_counter() - self._t)


def project_epochs(splits, arch, recipe, epochs):
    mean, std = splits.channel_stats()
    module = ClassifierModule(arch, splits.in_channels, splits.image_size, splits.num_classes, mean, std,
                              TrainRecipe.from_config(recipe))
    timer = EpochTimer()
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False, callbacks=[timer],
                        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                        num_sanity_val_steps=0)
    trainer.fit(module, splits.train_loader(None, recipe["batch_size"]), splits.test_loader(None, 256))
    return timer.times


def plain_epochs(splits, arch, recipe, epochs):
    mean, std = splits.channel_stats()
    model = build_classifier(arch, splits.in_channels, splits.image_size, splits.num_classes, mean, std)
    opt = torch.optim.SGD(model.parameters(), lr=recipe["lr"], momentum=0.9, nesterov=True)
    x, y, tx, ty = splits.train_x, splits.train_y, splits.test_x, splits.test_y
    bs = recipe["batch_size"]
    times = []
    for _ in range(epochs):
        t = time.perf_counter()
        model.train()
        for idx in torch.randperm(len(y)).split(bs):
            loss = F.cross_entropy(model(to_float(x[idx])), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            correct = sum((model(to_float(tx[i:i + 256])).argmax(1) == ty[i:i + 256]).sum().item()
                          for i in range(0, len(ty), 256))
        assert 0 <= correct <= len(ty)  # the test pass the project's epoch makes too
        times.append(time.perf_counter() - t)
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--architecture", default="mlp")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs (one more is run as warm-up)")
    p.add_argument("--train-limit", type=int, default=None)
    args = p.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        if args.dataset == "fashion_mnist":
            raw = data_dir / "FashionMNIST" / "raw"
            raw.mkdir(parents=True)
            for f in (SHARED / "fashion-mnist").iterdir():
                (raw / f.name).symlink_to(f)
        splits = load_dataset(args.dataset, data_dir, download=False, train_limit=args.train_limit)
        recipe = {"epochs": args.epochs + 1, "batch_size": 64, "optimizer": "sgd", "lr": 1.0e-3}
        n = args.epochs + 1
        project = statistics.median(project_epochs(splits, args.architecture, recipe, n)[1:])
        plain = statistics.median(plain_epochs(splits, args.architecture, recipe, n)[1:])
    print(f"{args.dataset} / {args.architecture}: {len(splits.train_y)} training images, batch 64, "
          f"{torch.get_num_threads()} threads")
    print(f"project (Lightning) epoch: {project:.2f} s")
    print(f"plain PyTorch loop epoch:  {plain:.2f} s")
    print(f"ratio project / plain:     {project / plain:.3f}")


if __name__ == "__main__":
    main()
