"""Training on the CPU: the project's Lightning epoch against a bare loop, the loaders, CIFAR-10 epochs, determinism.

Four parts (``--parts``), in one process:

lightning
    One epoch of the project's training (``ClassifierModule`` under a Lightning ``Trainer``, as the
    training job runs it) against a minimal hand-written PyTorch loop: same model (``build_classifier``),
    same in-memory data, batch size (64) and optimiser (SGD, momentum 0.9, Nesterov, lr 1e-3); both
    epochs include the pass over the test split that the project's training makes each epoch. For the
    MLP and the ConvNet on Fashion-MNIST and the Caffe LeNet (``lenet_caffe``) on MNIST. Seconds per
    epoch are the median of ``--epochs`` timed epochs after one warm-up epoch; the ratio project / plain
    is what Lightning adds. Each epoch is split into its training part and its test pass, and each is
    given per 10,000 images: a study's training cost is then epochs × (training images / 10,000 × the
    training figure + test images / 10,000 × the test figure).
loaders
    One shuffled epoch of in-memory MNIST-shaped data (``--loader-images`` uint8 images of 1×28×28, random
    pixels, batches of 64, each batch cut from the tensor and turned into floats): the project's
    training loader (``tensor_loader(..., shuffle=True)``: a ``DistributedSampler``'s order cut into index
    tensors by a ``BatchSampler`` passed as the DataLoader's sampler, a dataset that returns a whole batch
    for the indices) against a hand-written loop (a permutation cut into slices, what the project's former
    ``TensorLoader`` did) and, for scale, a per-sample ``DataLoader`` (``TensorDataset``, one Python call
    per image, then ``default_collate``). The loaders take turns, one epoch each per round, so that other
    work on the machine slows them alike; images/s are the median over ``--loader-repeats`` rounds after
    one warm-up round, the ratios the median of the rounds' ratios.
cifar
    One CIFAR-10 training epoch per architecture of method §2 on this CPU: each architecture built as
    deployed (standardisation + body) and trained with SGD (momentum 0.9, Nesterov) on batches of 64 real
    CIFAR-10 images, with cross-entropy or, for CapsNet, its own margin + reconstruction loss. After one
    warm-up step, ``--cifar-images`` images are timed and the time is extrapolated to an epoch of 50,000
    images. The batches are drawn at random (with replacement) from the training images, so that the
    shipped subset of 20 images serves as well as the full set: the cost of a step does not depend on
    which images it sees.
determinism
    The training cost of determinism: the same training (``--determinism-architecture`` on the first
    ``--determinism-train`` Fashion-MNIST images, ``--determinism-epochs`` epochs, the project's module and
    loaders) under Lightning's ``deterministic=True`` (``torch.use_deterministic_algorithms(True)``, the
    project's setting on the CPU: ``advtransfer.training.determinism``) and ``deterministic=False``
    (Lightning's default), two runs of each, taking turns; the ratio of their epoch times, and whether
    each pair of runs gave bit-identical weights.

    python benchmarks/training.py                    # all parts on the data of --data / $ADVTRANSFER_DATA / tests/data
    python benchmarks/training.py --quick            # every part at tiny sizes (about a minute)
    python benchmarks/training.py --parts lightning --data ../shared/data

Writes ``benchmarks/results/training.json`` (``_common.write_results``).
"""

from __future__ import annotations

import logging
import resource
import statistics
import time
import warnings

import lightning as L
import torch
from _common import Clock, data_root, load, parser, ratio, set_threads, write_results
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from advtransfer.data import tensor_loader, to_float
from advtransfer.models import build_classifier
from advtransfer.recipe import TrainRecipe
from advtransfer.training import ClassifierModule

PARTS = ["lightning", "loaders", "cifar", "determinism"]
CASES = [("fashion_mnist", "mlp"), ("fashion_mnist", "convnet"), ("mnist", "lenet_caffe")]
CIFAR_ARCHITECTURES = ["lenet", "vgg16", "allconv", "nin", "resnet32", "wrn16_8", "densenet100_12", "capsnet"]
CIFAR_EPOCH = 50_000
PER = 10_000  # images per reported unit of training cost
BATCH = 64
TEST_BATCH = 256


# ---------------------------------------------------------------- lightning: the project's epoch against a bare loop


class EpochTimer(L.Callback):
    """Per epoch: seconds of the training part and of the test pass (validation runs before the epoch ends)."""

    def __init__(self):
        self.train: list[float] = []
        self.test: list[float] = []

    def on_train_epoch_start(self, trainer, module):
        self._start = time.perf_counter()

    def on_validation_epoch_start(self, trainer, module):
        if not trainer.sanity_checking:
            self._test = time.perf_counter()
            self.train.append(self._test - self._start)

    def on_validation_epoch_end(self, trainer, module):
        if not trainer.sanity_checking:
            self.test.append(time.perf_counter() - self._test)


def trainer(epochs: int, callbacks, deterministic: bool = False) -> L.Trainer:
    return L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False, callbacks=callbacks,
                     enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                     num_sanity_val_steps=0, deterministic=deterministic)


def project_epochs(splits, architecture: str, recipe: dict, epochs: int) -> EpochTimer:
    mean, std = splits.channel_stats()
    module = ClassifierModule(architecture, splits.in_channels, splits.image_size, splits.num_classes, mean, std,
                              TrainRecipe.from_config(recipe))
    timer = EpochTimer()
    trainer(epochs, [timer]).fit(module, splits.train_loader(None, recipe["batch_size"]),
                                 splits.test_loader(None, TEST_BATCH))
    return timer


def plain_epochs(splits, architecture: str, recipe: dict, epochs: int) -> EpochTimer:
    """The same epochs by hand: shuffled slices, SGD, then the test pass."""
    mean, std = splits.channel_stats()
    model = build_classifier(architecture, splits.in_channels, splits.image_size, splits.num_classes, mean, std)
    opt = torch.optim.SGD(model.parameters(), lr=recipe["lr"], momentum=0.9, nesterov=True)
    x, y, tx, ty = splits.train_x, splits.train_y, splits.test_x, splits.test_y
    timer = EpochTimer()
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        for idx in torch.randperm(len(y)).split(recipe["batch_size"]):
            loss = F.cross_entropy(model(to_float(x[idx])), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        test = time.perf_counter()
        model.eval()
        with torch.no_grad():
            correct = sum((model(to_float(tx[i:i + TEST_BATCH])).argmax(1) == ty[i:i + TEST_BATCH]).sum().item()
                          for i in range(0, len(ty), TEST_BATCH))
        assert 0 <= correct <= len(ty)  # the test pass the project's epoch makes too
        timer.train.append(test - start)
        timer.test.append(time.perf_counter() - test)
    return timer


def part_lightning(args, root) -> dict:
    n = args.epochs + 1
    recipe = {"epochs": n, "batch_size": BATCH, "optimizer": "sgd", "lr": 1.0e-3}
    print(f"\n(lightning) one epoch, project (Lightning) against a plain loop; batch {BATCH}, SGD; median of "
          f"{args.epochs} timed epoch(s) after one warm-up epoch; s/10k: seconds per 10,000 images")
    print(f"{'dataset / architecture':<28}{'train':>7}{'test':>6}{'project s':>11}{'plain s':>9}"
          f"{'project/plain':>15}{'train s/10k':>13}{'test s/10k':>12}")
    rows = {}
    for dataset, architecture in CASES:
        splits = load(dataset, root, args.train_limit, args.test_limit)
        torch.manual_seed(0)
        project = project_epochs(splits, architecture, recipe, n)
        torch.manual_seed(0)
        plain = plain_epochs(splits, architecture, recipe, n)

        def median(values):
            return statistics.median(values[1:])

        p_train, p_test, b_train, b_test = median(project.train), median(project.test), median(plain.train), \
            median(plain.test)
        p_epoch = median([a + b for a, b in zip(project.train, project.test)])
        b_epoch = median([a + b for a, b in zip(plain.train, plain.test)])
        n_train, n_test = len(splits.train_y), len(splits.test_y)
        row = {"train_images": n_train, "test_images": n_test,
               "project_epoch_s": p_epoch, "plain_epoch_s": b_epoch, "project_over_plain": ratio(p_epoch, b_epoch),
               "project_train_s": p_train, "project_test_s": p_test, "plain_train_s": b_train, "plain_test_s": b_test,
               "project_train_s_per_10k": p_train * PER / n_train, "project_test_s_per_10k": p_test * PER / n_test,
               "plain_train_s_per_10k": b_train * PER / n_train, "plain_test_s_per_10k": b_test * PER / n_test}
        rows[f"{dataset}/{architecture}"] = row
        print(f"{dataset + ' / ' + architecture:<28}{n_train:>7}{n_test:>6}{p_epoch:>11.2f}{b_epoch:>9.2f}"
              f"{row['project_over_plain']:>15.3f}{row['project_train_s_per_10k']:>13.2f}"
              f"{row['project_test_s_per_10k']:>12.2f}", flush=True)
    return rows


# ---------------------------------------------------------------- loaders: DataLoader against hand-written slicing


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


def part_loaders(args) -> dict:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (args.loader_images, 1, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (args.loader_images,), generator=g)
    loader = tensor_loader(x, y, BATCH, shuffle=True, seed=0)

    def project(e):
        loader.sampler.set_epoch(e)
        return loader

    def per_sample(e):
        return DataLoader(TensorDataset(x, y), BATCH, shuffle=True, generator=torch.Generator().manual_seed(e))

    loaders = {"dataloader_batched": project, "hand_written": lambda e: hand_written(x, y, BATCH, 0, e),
               "dataloader_per_sample": per_sample}
    rounds = [{name: epoch_rate(epoch(r)) for name, epoch in loaders.items()}
              for r in range(args.loader_repeats + 1)][1:]
    print(f"\n(loaders) one shuffled epoch of {args.loader_images} uint8 1×28×28 images in batches of {BATCH}, "
          f"median of {args.loader_repeats} round(s) after a warm-up round")
    rates = {name: statistics.median(r[name] for r in rounds) for name in loaders}
    for name, rate in rates.items():
        print(f"  {name:<24}{rate:>12,.0f} images/s")

    def median_ratio(a: str, b: str) -> float:
        return statistics.median(r[a] / r[b] for r in rounds)

    out = {"images": args.loader_images, "images_per_s": rates,
           "hand_written_over_dataloader": median_ratio("hand_written", "dataloader_batched"),
           "dataloader_batched_over_per_sample": median_ratio("dataloader_batched", "dataloader_per_sample")}
    print(f"  hand-written / DataLoader (batched fetch):      {out['hand_written_over_dataloader']:.2f}")
    print(f"  DataLoader (batched) / DataLoader (per sample): {out['dataloader_batched_over_per_sample']:.2f}")
    return out


# ---------------------------------------------------------------- cifar: one epoch per architecture


def training_step(model, optimizer, x: torch.Tensor, y: torch.Tensor) -> float:
    optimizer.zero_grad(set_to_none=True)
    body = model.body
    if hasattr(body, "training_loss"):  # CapsNet: margin + reconstruction loss
        loss = body.training_loss(model.standardize(model.transforms(x)), y)
    else:
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def cifar_epoch(name: str, splits, images: int, batch_size: int) -> dict:
    """Wall and CPU seconds per image of ``name``'s training steps on ``images`` images, and its parameters."""
    torch.manual_seed(0)
    mean, std = splits.channel_stats()
    model = build_classifier(name, 3, 32, 10, mean, std).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    g = torch.Generator().manual_seed(0)

    def batch():
        idx = torch.randint(0, len(splits.train_y), (batch_size,), generator=g)
        return to_float(splits.train_x[idx]), splits.train_y[idx]

    training_step(model, optimizer, *batch())  # warm-up: allocations, kernel selection
    seen = 0
    with Clock() as clock:
        while seen < images:
            x, y = batch()
            training_step(model, optimizer, x, y)
            seen += len(y)
    return {"parameters_M": sum(p.numel() for p in model.parameters()) / 1e6, "images_timed": seen,
            "images_per_s": seen / clock.wall, "epoch_wall_min": clock.wall / seen * CIFAR_EPOCH / 60,
            "epoch_cpu_min": clock.cpu / seen * CIFAR_EPOCH / 60,
            "peak_rss_gb_so_far": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def part_cifar(args, root) -> dict:
    with Clock() as clock:
        splits = load("cifar10", root)
    print(f"\n(cifar) CIFAR-10 ({len(splits.train_y)} training images, loaded in {clock.wall:.1f} s); batch "
          f"{args.cifar_batch}; {args.cifar_images} timed images per architecture after one warm-up batch, "
          f"extrapolated to an epoch of {CIFAR_EPOCH} images. Wall time depends on what else runs on the "
          "machine; CPU time (all threads) much less so")
    print(f"{'architecture':<16}{'parameters':>12}{'images/s':>10}{'epoch wall':>14}{'epoch CPU':>14}"
          f"{'peak RSS so far':>17}")
    rows = {}
    for name in args.cifar_architectures:
        row = rows[name] = cifar_epoch(name, splits, args.cifar_images, args.cifar_batch)
        print(f"{name:<16}{row['parameters_M']:>10.2f} M{row['images_per_s']:>10.1f}{row['epoch_wall_min']:>10.1f} min"
              f"{row['epoch_cpu_min']:>10.1f} min{row['peak_rss_gb_so_far']:>14.1f} GB", flush=True)
    return {"train_images_available": len(splits.train_y), "batch_size": args.cifar_batch, "epoch_images": CIFAR_EPOCH,
            "architectures": rows}


# ---------------------------------------------------------------- determinism: its cost, and whether it is needed


def deterministic_run(splits, architecture: str, epochs: int, deterministic: bool):
    """Epoch times and final weights of one seeded training under ``deterministic``."""
    L.seed_everything(0, workers=True, verbose=False)
    recipe = {"epochs": epochs, "batch_size": BATCH, "optimizer": "sgd", "lr": 1.0e-2}
    mean, std = splits.channel_stats()
    module = ClassifierModule(architecture, splits.in_channels, splits.image_size, splits.num_classes, mean, std,
                              TrainRecipe.from_config(recipe))
    timer = EpochTimer()
    try:
        trainer(epochs, [timer], deterministic).fit(module, splits.train_loader(None, BATCH, seed=0),
                                                    splits.test_loader(None, TEST_BATCH))
    finally:
        torch.use_deterministic_algorithms(False)  # Lightning leaves the global switch on
    seconds = [a + b for a, b in zip(timer.train, timer.test)]
    return seconds, {k: v.detach().clone() for k, v in module.model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def part_determinism(args, root) -> dict:
    splits = load("fashion_mnist", root, args.determinism_train, args.test_limit)
    architecture, epochs = args.determinism_architecture, args.determinism_epochs
    runs: dict[bool, list] = {False: [], True: []}
    for _ in range(2):  # taking turns: other work on the machine slows both alike
        for mode in (False, True):
            runs[mode].append(deterministic_run(splits, architecture, epochs, mode))

    def epoch_s(mode: bool) -> float:  # each run's first epoch warms up when there are more
        return statistics.median(s for seconds, _ in runs[mode] for s in (seconds[1:] or seconds))

    out = {"architecture": architecture, "train_images": len(splits.train_y), "test_images": len(splits.test_y),
           "epochs": epochs, "epoch_s_deterministic": epoch_s(True), "epoch_s_default": epoch_s(False),
           "deterministic_over_default": ratio(epoch_s(True), epoch_s(False)),
           "bit_identical_runs_deterministic": same_weights(runs[True][0][1], runs[True][1][1]),
           "bit_identical_runs_default": same_weights(runs[False][0][1], runs[False][1][1]),
           "deterministic_equals_default": same_weights(runs[True][0][1], runs[False][0][1])}
    print(f"\n(determinism) {architecture} on {out['train_images']} Fashion-MNIST images, {epochs} epoch(s), two runs "
          "per setting taking turns (Lightning's deterministic=True against False)")
    print(f"  epoch s: deterministic {out['epoch_s_deterministic']:.2f}, default {out['epoch_s_default']:.2f}; "
          f"ratio {out['deterministic_over_default']:.3f}")
    print(f"  bit-identical weights across the two runs: deterministic {out['bit_identical_runs_deterministic']}, "
          f"default {out['bit_identical_runs_default']}; "
          f"deterministic = default: {out['deterministic_equals_default']}")
    return out


def main() -> None:
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--parts", nargs="+", default=PARTS, choices=PARTS)
    p.add_argument("--epochs", type=int, default=3, help="(lightning) timed epochs (one more warms up)")
    p.add_argument("--train-limit", type=int, default=None, help="(lightning) first training images (default all)")
    p.add_argument("--test-limit", type=int, default=None, help="(lightning, determinism) first test images")
    p.add_argument("--loader-images", type=int, default=60_000, help="(loaders) images per epoch")
    p.add_argument("--loader-repeats", type=int, default=5, help="(loaders) timed rounds (one more warms up)")
    p.add_argument("--cifar-images", type=int, default=128, help="(cifar) timed training images per architecture")
    p.add_argument("--cifar-batch", type=int, default=BATCH, help="(cifar) batch size")
    p.add_argument("--cifar-architectures", nargs="+", default=CIFAR_ARCHITECTURES)
    p.add_argument("--determinism-architecture", default="convnet")
    p.add_argument("--determinism-train", type=int, default=10_000, help="(determinism) first training images")
    p.add_argument("--determinism-epochs", type=int, default=2)
    args = p.parse_args()
    if args.quick:
        args.epochs, args.train_limit, args.test_limit = 1, 512, 256
        args.loader_images, args.loader_repeats = 5_000, 3
        args.cifar_images, args.cifar_batch = 4, 4
        args.determinism_train, args.determinism_epochs = 256, 1
    threads = set_threads(args)
    root = data_root(args.data)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    print(f"data: {root}; {threads} torch thread(s)" + ("; --quick: tiny sizes, figures mean little" * args.quick))

    results = {}
    if "lightning" in args.parts:
        results["lightning"] = part_lightning(args, root)
    if "loaders" in args.parts:
        results["loaders"] = part_loaders(args)
    if "cifar" in args.parts:
        results["cifar"] = part_cifar(args, root)
    if "determinism" in args.parts:
        results["determinism"] = part_determinism(args, root)
    summary = {}
    if "lightning" in results:
        summary["project_over_plain"] = {k: r["project_over_plain"] for k, r in results["lightning"].items()}
        summary["project_train_s_per_10k"] = {k: r["project_train_s_per_10k"] for k, r in results["lightning"].items()}
    if "loaders" in results:
        summary["hand_written_over_dataloader"] = results["loaders"]["hand_written_over_dataloader"]
    if "cifar" in results:
        summary["cifar_epoch_wall_min"] = {k: r["epoch_wall_min"] for k, r in results["cifar"]["architectures"].items()}
    if "determinism" in results:
        d = results["determinism"]
        summary["deterministic_over_default"] = d["deterministic_over_default"]
        summary["bit_identical_runs"] = {"deterministic": d["bit_identical_runs_deterministic"],
                                         "default": d["bit_identical_runs_default"]}
    write_results("training", {"summary": summary, **results}, args)


if __name__ == "__main__":
    main()
