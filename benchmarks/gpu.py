"""The study on one GPU: the project's training and attacks beside plain PyTorch and ART, shared GPUs, the grid's cost.

One process on the first GPU torch finds (it stops with a message when there is none), on
CIFAR-shaped random data (3 × 32 × 32, 10 classes) held on the GPU:

(a) one epoch (with its test pass) of the project's training (``train_classifier``, Lightning) of
    ResNet-32 and LeNet against a plain PyTorch loop with the same model, data on the GPU, precision
    and optimiser (``config/paper.yaml``'s CIFAR-10 recipes); the second epoch is timed;
(b) images/s of every registered attack and of the LOTS line search on 1,000 images of an untrained
    ResNet-32 whose own predictions serve as labels (every image starts correctly classified), with
    ``config/paper.yaml``'s CIFAR-10 parameters, against ART 1.20 on the same GPU where ART has the
    attack (ART's rate on ``--art-images`` images);
(c) total training throughput (images/s) of 1, 2, 4 and 8 concurrent LeNet training jobs on one GPU,
    each a process that takes its slot from the lock pool (``advtransfer.gpus``,
    ``ADVTRANSFER_GPU_SLOTS=8``), with the GPU's utilisation sampled by ``nvidia-smi``;
(d) the training step time of each CIFAR-10 architecture of ``config/paper.yaml`` (plain loop,
    extrapolated to an epoch of 50,000 images) and from it the GPU-hours of that preset's CIFAR-10
    training grid: training jobs × epochs counted from the config (``advtransfer.study``).

    python benchmarks/gpu.py --quick          # about 5 minutes on one H200
    python benchmarks/gpu.py --dry-run        # no GPU: the grid's jobs and epochs from the config
    python benchmarks/gpu.py --cpu-check      # no GPU: every part on the CPU at tiny sizes (checks the script)

``--dry-run`` prints (d)'s count of training jobs and epochs; ``--cpu-check`` runs every part on the
CPU with a few images so that the script itself is checked where there is no GPU (its figures mean
nothing).

Writes ``benchmarks/results/gpu.json`` (``_common.write_results``; not with ``--dry-run``). Its
``"quick"`` is true for a ``--cpu-check`` run, whose figures mean nothing; ``--quick`` here only
makes the sizes smaller (``parameters.smaller_sizes``), and its figures are real ones.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "config" / "paper.yaml"
EPOCH = 50_000  # CIFAR-10's training split
DEVICE = "cuda"  # "cpu" with --cpu-check: the script's own check at tiny sizes, no figures worth reading
CIFAR_TEST = 10_000

def defence_cost(defence: str, params: dict) -> float:
    """Cost of one epoch under ``defence`` relative to a vanilla epoch, for (d): adversarial training
    takes a step on the clean batch and one on its PGD examples (``max_iter`` more forward-backward
    passes), Gaussian augmentation doubles the training set. An estimate from the method, not a
    measurement."""
    if defence == "adversarial_training":
        return 2.0 + params.get("max_iter", 10)
    if defence == "gaussian_augmentation":
        return 2.0
    return 1.0


def training_grid(config: dict, dataset: str) -> dict[str, dict]:
    """Per architecture of ``dataset``: training jobs, epochs over all of them, and epochs weighted by
    ``defence_cost`` (vanilla-epoch equivalents)."""
    from advtransfer.study import Study

    study = Study.from_config(config)
    grid: dict[str, dict] = {}
    per_model = len(study.datasets[dataset].excluded_classes) + 1  # every C₋ᵢ and the standard classifier
    for d, architecture, defence in study.models:
        if d != dataset:
            continue
        epochs = int(study.datasets[d].architectures[architecture].recipe["epochs"])
        cost = defence_cost(defence, study.datasets[d].defence(architecture, defence).params)
        row = grid.setdefault(architecture, {"jobs": 0, "epochs": 0, "weighted_epochs": 0.0})
        row["jobs"] += per_model
        row["epochs"] += per_model * epochs
        row["weighted_epochs"] += per_model * epochs * cost
    return grid


def gpu_hours(grid: dict[str, dict], epoch_seconds: dict[str, float]) -> dict[str, float]:
    """GPU-hours per architecture: vanilla-epoch equivalents × measured seconds per epoch."""
    return {a: row["weighted_epochs"] * epoch_seconds[a] / 3600 for a, row in grid.items() if a in epoch_seconds}


def print_grid(config: dict, dataset: str, epoch_seconds: dict[str, float] | None = None) -> None:
    grid = training_grid(config, dataset)
    hours = gpu_hours(grid, epoch_seconds or {})
    print(f"{'architecture':<16}{'jobs':>6}{'epochs':>9}{'vanilla-epoch eq.':>19}"
          + (f"{'s/epoch':>10}{'GPU-hours':>11}" if epoch_seconds else ""))
    for a, row in grid.items():
        line = f"{a:<16}{row['jobs']:>6}{row['epochs']:>9}{row['weighted_epochs']:>19.0f}"
        if epoch_seconds:
            line += f"{epoch_seconds[a]:>10.2f}{hours[a]:>11.1f}" if a in hours else f"{'–':>10}{'–':>11}"
        print(line)
    total = {k: sum(r[k] for r in grid.values()) for k in ("jobs", "epochs", "weighted_epochs")}
    line = f"{'total':<16}{total['jobs']:>6}{total['epochs']:>9}{total['weighted_epochs']:>19.0f}"
    if epoch_seconds:
        line += f"{'':>10}{sum(hours.values()):>11.1f}"
    print(line)
    print("defence cost per epoch (vanilla = 1): adversarial_training 2 + PGD max_iter, "
          "gaussian_augmentation 2 (estimates from the method, not measured)")


# ---------------------------------------------------------------- data and models


def accelerator() -> str:
    return "gpu" if DEVICE == "cuda" else "cpu"


def synchronize() -> None:
    import torch

    if DEVICE == "cuda":
        torch.cuda.synchronize()


def random_splits(n_train: int, n_test: int, seed: int = 0):
    """CIFAR-shaped random uint8 images and labels (``ImageSplits``)."""
    import torch

    from advtransfer.data import ImageSplits

    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n_train + n_test, 3, 32, 32), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 10, (n_train + n_test,), generator=g)
    return ImageSplits(x[:n_train], y[:n_train], x[n_train:], y[n_train:], [str(k) for k in range(10)])


def optimiser(model, recipe: dict):
    import torch

    r = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.0, **recipe}
    if r["optimizer"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=r["lr"], momentum=r["momentum"],
                               nesterov=r["nesterov"] and r["momentum"] > 0, weight_decay=r["weight_decay"])
    return torch.optim.Adam(model.parameters(), lr=r["lr"], weight_decay=r["weight_decay"])


def step(model, opt, x, y, autocast) -> None:
    """One training step; CapsNet with its own loss (as ``ClassifierModule.classification_loss``)."""
    import torch
    from torch.nn import functional as F

    with torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=autocast):
        body = model.body
        if hasattr(body, "training_loss"):
            loss = body.training_loss(model.standardize(model.transforms(x)), y)
        else:
            loss = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


# ---------------------------------------------------------------- (a) project against a plain loop


def project_epoch(splits, architecture: str, recipe: dict, tmp: Path) -> float:
    """Seconds of the project's second epoch (its history's ``seconds``: training and test pass)."""
    import pandas as pd

    from advtransfer.jobs.train import train_to_files
    from advtransfer.recipe import TrainRecipe
    from advtransfer.training import Training

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no device banner between the rows
    out = tmp / f"project-{architecture}"
    recipe = {**recipe, "epochs": 2, "data_on_device": True}
    training = Training(architecture, TrainRecipe.from_config(recipe), None, 0, "vanilla", {}, None)
    train_to_files(splits, training, out / "model.pt", out / "history.csv", accelerator=accelerator())
    return float(pd.read_csv(out / "history.csv")["seconds"].iloc[-1])


def plain_epoch(splits, architecture: str, recipe: dict) -> float:
    """Seconds of the second epoch of a hand-written loop: same model, optimiser, precision, data on the GPU."""
    import torch

    from advtransfer.data import to_float
    from advtransfer.models import build_classifier

    torch.manual_seed(0)
    mean, std = splits.channel_stats()
    model = build_classifier(architecture, 3, 32, 10, mean, std).to(DEVICE)
    opt = optimiser(model, recipe)
    autocast = recipe.get("precision", "32-true").startswith("bf16")
    x, y = splits.train_x.to(DEVICE), splits.train_y.to(DEVICE)
    tx, ty = splits.test_x.to(DEVICE), splits.test_y.to(DEVICE)
    bs, test_bs = recipe.get("batch_size", 64), max(recipe.get("batch_size", 64), 256)
    seconds = []
    for _ in range(2):
        synchronize()
        start = time.perf_counter()
        model.train()
        for idx in torch.randperm(len(y), device=DEVICE).split(bs):
            step(model, opt, to_float(x[idx]), y[idx], autocast)
        model.eval()
        correct = torch.zeros((), device=DEVICE)
        with torch.no_grad(), torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=autocast):
            for i in range(0, len(ty), test_bs):
                correct += (model(to_float(tx[i:i + test_bs])).argmax(1) == ty[i:i + test_bs]).sum()
        correct.item()
        synchronize()
        seconds.append(time.perf_counter() - start)
    return seconds[-1]


def part_training(config: dict, args, tmp: Path) -> None:
    from advtransfer.study import Study

    print(f"\n(a) one epoch, project (Lightning) against a plain loop; {args.train_images} training and "
          f"{args.test_images} test images on the GPU")
    splits = random_splits(args.train_images, args.test_images)
    print(f"{'architecture':<14}{'precision':>11}{'project s':>11}{'plain s':>10}{'project/plain':>15}")
    rows = {}
    for architecture in ("resnet32", "lenet"):
        recipe = dict(Study.from_config(config).datasets["cifar10"].architectures[architecture].recipe)
        recipe["precision"] = args.precision
        project, plain = project_epoch(splits, architecture, recipe, tmp), plain_epoch(splits, architecture, recipe)
        print(f"{architecture:<14}{args.precision:>11}{project:>11.2f}{plain:>10.2f}{project / plain:>15.2f}",
              flush=True)
        rows[architecture] = {"precision": args.precision, "project_epoch_s": project, "plain_epoch_s": plain,
                              "project_over_plain": project / plain}
    return {"train_images": args.train_images, "test_images": args.test_images, "architectures": rows}


# ---------------------------------------------------------------- (b) attacks against ART


ATTACK_DEFAULTS = {  # the attacks config/paper.yaml does not run on CIFAR-10, with small CIFAR-10 settings
    "fmn_l2": {"max_iter": 100}, "fmn_linf": {"max_iter": 100}, "ddn": {"max_iter": 100},
    "apgd": {"eps": 8.0, "max_iter": 20}, "fgs": {"limit": 255}, "fgv": {"limit": 255}, "hc": {"limit": 255},
    "lots": {"limit": 255},
}


def attack_params(config: dict, name: str) -> dict:
    from advtransfer.study import Study

    return Study.from_config(config).datasets["cifar10"].attack_params(name) or dict(ATTACK_DEFAULTS.get(name, {}))


def art_attacks(model, params: dict, n: int) -> dict:
    """ART's versions (magnitudes on [0, 1]) on the GPU; NewtonFool on softmax scores."""
    import numpy as np
    from art.attacks.evasion import (
        AutoProjectedGradientDescent,
        BasicIterativeMethod,
        DeepFool,
        FastGradientMethod,
        NewtonFool,
        ProjectedGradientDescent,
    )
    from art.estimators.classification import PyTorchClassifier
    from torch import nn

    from advtransfer.attacks import to_unit_scale as u

    def wrap(net):
        return PyTorchClassifier(net, nn.CrossEntropyLoss(), input_shape=(3, 32, 32), nb_classes=10,
                                 clip_values=(0.0, 1.0), device_type=accelerator())

    logits, softmax = wrap(model), wrap(nn.Sequential(model, nn.Softmax(dim=1)).eval())
    fgm, bim, pgd, apgd = params["fgm"], params["bim"], params["pgd"], params["apgd"]
    return {
        "fgm": FastGradientMethod(logits, eps=u(fgm["eps"]) + 1e-7, eps_step=u(fgm["eps_step"]), minimal=True,
                                  batch_size=n),
        "bim": BasicIterativeMethod(logits, eps=u(bim["eps"]), eps_step=u(bim["eps_step"]), max_iter=bim["max_iter"],
                                    batch_size=n, verbose=False),
        "pgd": ProjectedGradientDescent(logits, norm=np.inf, eps=u(pgd["eps"]), eps_step=u(pgd["eps_step"]),
                                        max_iter=pgd["max_iter"], num_random_init=0, batch_size=n, verbose=False),
        "deepfool": DeepFool(logits, max_iter=params["deepfool"]["max_iter"], epsilon=params["deepfool"]["overshoot"],
                             batch_size=n, verbose=False),
        "newtonfool": NewtonFool(softmax, max_iter=params["newtonfool"]["max_iter"], eta=params["newtonfool"]["eta"],
                                 batch_size=n, verbose=False),
        "apgd": AutoProjectedGradientDescent(logits, norm=np.inf, eps=u(apgd["eps"]), eps_step=2 * u(apgd["eps"]),
                                             max_iter=apgd["max_iter"], nb_random_init=1, batch_size=n,
                                             loss_type="cross_entropy", verbose=False),
    }


def part_attacks(config: dict, args) -> None:
    import torch

    from advtransfer import catalog
    from advtransfer.attacks import build_attack
    from advtransfer.models import build_classifier

    torch.manual_seed(0)
    model = build_classifier(args.attack_model, 3, 32, 10, [0.5] * 3, [0.25] * 3).to(DEVICE).eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (args.images, 3, 32, 32), generator=g, dtype=torch.uint8).float().div(255).to(DEVICE)
    with torch.no_grad():
        y = model(x).argmax(1)  # the model's own predictions: every image starts correctly classified
    params = {name: attack_params(config, name) for name in catalog.ATTACKS}
    try:
        art = art_attacks(model, params, args.art_images)
    except ImportError as err:
        art = {}
        print(f"ART is not importable ({err}): its column is left empty")
    print(f"\n(b) attacks on {len(y)} images of an untrained {args.attack_model} (labels: its predictions), one batch, "
          f"config/paper.yaml's CIFAR-10 parameters; ART on the first {args.art_images}")
    print(f"{'attack':<12}{'ours img/s':>11}{'ART img/s':>11}{'ours/ART':>10}{'success ours / ART':>21}  parameters")

    def timed(run):
        synchronize()
        start = time.perf_counter()
        adv = torch.as_tensor(run()).to(DEVICE)
        synchronize()
        return adv, time.perf_counter() - start

    def success(adv, labels):
        with torch.no_grad():
            return (model(adv).argmax(1) != labels).float().mean().item()

    rows = {}
    for name in catalog.ATTACKS:
        attack = build_attack(name, model, **params[name])
        if getattr(attack, "needs_targets", False):
            attack.targets = (x[:10] * 255).round()  # any images will do as targets for the timing
        attack(x[:8], y[:8])  # warm-up: kernels chosen and loaded outside the timing
        ours, t_ours = timed(lambda: attack(x, y))
        line = f"{name:<12}{len(y) / t_ours:>11.1f}"
        row = rows[name] = {"ours_images_per_s": len(y) / t_ours, "parameters": params[name]}
        if name in art:
            xa, ya = x[:args.art_images], y[:args.art_images]
            art[name].generate(xa[:8].cpu().numpy(), ya[:8].cpu().numpy())
            theirs, t_art = timed(lambda: art[name].generate(xa.cpu().numpy(), ya.cpu().numpy()))
            rate = len(ya) / t_art
            line += f"{rate:>11.1f}{len(y) / t_ours / rate:>10.1f}"
            line += f"{success(ours[:len(ya)], ya):>12.3f} / {success(theirs, ya):.3f}"
            row.update(art_images_per_s=rate, ours_over_art=len(y) / t_ours / rate,
                       success_ours=success(ours[:len(ya)], ya), success_art=success(theirs, ya))
        else:
            line += f"{'–':>11}{'–':>10}{success(ours, y):>12.3f} / –    "
            row["success_ours"] = success(ours, y)
        print(f"{line}  {params[name]}", flush=True)
    return {"model": args.attack_model, "images": len(y), "art_images": args.art_images, "attacks": rows}


# ---------------------------------------------------------------- (c) concurrent jobs through the pool


JOB = """
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, {bench!r})
import gpu
from gpu import random_splits
gpu.DEVICE = {device!r}
from advtransfer.gpus import job_devices
from advtransfer.jobs.train import train_to_files
from advtransfer.recipe import TrainRecipe
from advtransfer.training import Training

out = Path({out!r})
splits = random_splits({n}, 1000, seed={seed})
print("ready", flush=True)
while not (out.parent / "go").exists():
    time.sleep(0.01)
with job_devices(1):
    seen = os.environ["CUDA_VISIBLE_DEVICES"]
    start = time.time()
    training = Training("lenet", TrainRecipe.from_config({recipe!r}), None, 0, "vanilla", {{}}, None)
    train_to_files(splits, training, out / "model.pt", out / "history.csv", accelerator=gpu.accelerator())
    end = time.time()
print(json.dumps({{"start": start, "end": end, "images": {n} * {epochs}, "device": seen}}), flush=True)
"""


def sample_utilisation(device: str):
    """``nvidia-smi`` sampling the GPU's utilisation (%) every 200 ms; stop it and read with ``utilisation``."""
    try:
        return subprocess.Popen(["nvidia-smi", "-i", device, "--query-gpu=utilization.gpu",
                                 "--format=csv,noheader,nounits", "-lms", "200"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return None


def utilisation(sampler) -> dict:
    """The sampled utilisation: mean and max (%) and the number of samples (empty without samples)."""
    if sampler is None:
        return {}
    sampler.terminate()
    values = [float(v) for v in sampler.communicate()[0].split() if v.replace(".", "", 1).isdigit()]
    return {"mean": statistics.mean(values), "max": max(values), "samples": len(values)} if values else {}


def utilisation_text(used: dict) -> str:
    return f"{used['mean']:.0f}% (max {used['max']:.0f}%, {used['samples']} samples)" if used else "–"


def part_concurrent(config: dict, args, tmp: Path) -> None:
    from advtransfer import gpus
    from advtransfer.study import Study

    device = (gpus.pool_devices() or ["0"])[0]
    recipe = {**Study.from_config(config).datasets["cifar10"].architectures["lenet"].recipe, "epochs": args.job_epochs,
              "data_on_device": True}
    print(f"\n(c) concurrent LeNet training jobs on GPU {device} through the lock pool "
          f"({gpus.SLOTS_ENV}={max(args.jobs)}): {args.job_images} images × {args.job_epochs} epochs each")
    print("images/s: all jobs' images over the wall time from the first job's start of train_classifier "
          "(Lightning's setup included) to the last one's end")
    print(f"{'jobs':>5}{'images/s (all jobs)':>21}{'× one job':>11}  GPU utilisation")
    single, rows = None, {}
    for k in args.jobs:
        run = tmp / f"concurrent-{k}"
        run.mkdir()
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": device, gpus.SLOTS_ENV: str(max(args.jobs)),
               gpus.LOCKS_ENV: str(run / "locks"), "OMP_NUM_THREADS": "1"}
        env.pop("SLURM_JOB_ID", None)
        procs = []
        for i in range(k):
            code = JOB.format(bench=str(Path(__file__).resolve().parent), out=str(run / f"job{i}"), n=args.job_images,
                              seed=i, recipe=recipe, epochs=args.job_epochs, device=DEVICE)
            procs.append(subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, text=True, env=env))
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a training job failed to start: {p.communicate()}")
        sampler = sample_utilisation(device)
        (run / "go").touch()
        reports = []
        for p in procs:
            out, _ = p.communicate(timeout=600)
            if p.returncode:
                raise RuntimeError(f"a training job failed (exit {p.returncode})")
            reports.append(json.loads(out.splitlines()[-1]))
        used = utilisation(sampler)
        assert all(r["device"] == device for r in reports)
        rate = sum(r["images"] for r in reports) / (max(r["end"] for r in reports) - min(r["start"] for r in reports))
        single = single or rate
        print(f"{k:>5}{rate:>21.0f}{rate / single:>11.2f}  {utilisation_text(used)}", flush=True)
        rows[str(k)] = {"images_per_s": rate, "over_one_job": rate / single, "gpu_utilisation_percent": used}
    return {"device": device, "job_images": args.job_images, "job_epochs": args.job_epochs, "concurrent_jobs": rows}


# ---------------------------------------------------------------- (d) epoch time per architecture, grid cost


def part_grid(config: dict, args) -> None:
    import torch

    from advtransfer.models import build_classifier
    from advtransfer.study import Study

    cifar10 = Study.from_config(config).datasets["cifar10"]
    architectures = list(cifar10.architectures)
    print(f"\n(d) training step time per CIFAR-10 architecture of {args.config} (plain loop, data on the GPU, "
          f"the recipe's batch size, precision {args.precision}; {args.steps} steps timed after "
          f"{args.warmup} warm-up steps, extrapolated to {EPOCH} images)")
    seconds = {}
    for architecture in architectures:
        recipe = cifar10.architectures[architecture].recipe
        bs = recipe.get("batch_size", 64)
        torch.manual_seed(0)
        model = build_classifier(architecture, 3, 32, 10, [0.5] * 3, [0.25] * 3).to(DEVICE).train()
        opt = optimiser(model, recipe)
        x = torch.rand(bs, 3, 32, 32, device=DEVICE)
        y = torch.randint(0, 10, (bs,), device=DEVICE)
        autocast = args.precision.startswith("bf16")
        for _ in range(args.warmup):
            step(model, opt, x, y, autocast)
        synchronize()
        start = time.perf_counter()
        for _ in range(args.steps):
            step(model, opt, x, y, autocast)
        synchronize()
        seconds[architecture] = (time.perf_counter() - start) / args.steps * EPOCH / bs
        del model, opt
        torch.cuda.empty_cache()
    print("(the project's overhead per epoch over a plain loop is (a)'s ratio; the test pass is not counted)")
    print_grid(config, "cifar10", seconds)
    grid = training_grid(config, "cifar10")
    hours = gpu_hours(grid, seconds)
    return {"config": args.config.resolve(), "precision": args.precision, "steps": args.steps, "warmup": args.warmup,
            "epoch_s": seconds, "grid": grid, "gpu_hours": hours, "gpu_hours_total": sum(hours.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=PAPER)
    parser.add_argument("--parts", nargs="+", default=["a", "b", "c", "d"], choices=["a", "b", "c", "d"])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: the whole run in about 5 minutes")
    parser.add_argument("--dry-run", action="store_true", help="no GPU: print the grid's jobs and epochs and stop")
    parser.add_argument("--cpu-check", action="store_true",
                        help="no GPU: every part on the CPU at tiny sizes, to check the script (figures meaningless)")
    parser.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed"])
    parser.add_argument("--train-images", type=int, default=EPOCH, help="(a) training images")
    parser.add_argument("--test-images", type=int, default=CIFAR_TEST, help="(a) test images")
    parser.add_argument("--images", type=int, default=1000, help="(b) images attacked, one batch")
    parser.add_argument("--art-images", type=int, default=1000, help="(b) images ART attacks")
    parser.add_argument("--attack-model", default="resnet32", help="(b) the attacked architecture (untrained)")
    parser.add_argument("--job-images", type=int, default=EPOCH, help="(c) training images per job")
    parser.add_argument("--job-epochs", type=int, default=2, help="(c) epochs per job")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4, 8], help="(c) concurrent jobs, in turn")
    parser.add_argument("--steps", type=int, default=50, help="(d) timed steps per architecture")
    parser.add_argument("--warmup", type=int, default=10, help="(d) warm-up steps per architecture")
    args = parser.parse_args()
    started = {"wall": time.perf_counter(), "loadavg": os.getloadavg()}  # the provenance's start
    if args.quick:
        args.train_images, args.test_images = 20_000, 5_000
        args.art_images, args.steps = 200, 30
    from advtransfer.schema import validated

    config = validated(yaml.safe_load(args.config.read_text()))
    if args.dry_run:
        print(f"{args.config}: the CIFAR-10 training grid (no GPU needed)")
        print_grid(config, "cifar10")
        return

    import torch

    global DEVICE
    if args.cpu_check:
        DEVICE = "cpu"
        args.train_images, args.test_images, args.images, args.art_images = 256, 128, 16, 8
        args.job_images, args.job_epochs, args.steps, args.warmup, args.jobs = 256, 1, 1, 1, [1, 2]
        args.attack_model = "lenet"
        print("--cpu-check: every part on the CPU at tiny sizes; the figures mean nothing")
    elif not torch.cuda.is_available():
        sys.exit("benchmarks/gpu.py needs a CUDA GPU and torch sees none (torch.cuda.is_available() is False); "
                 "--dry-run prints the grid without one")
    else:
        print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}; {args.config}")
    torch.backends.cudnn.benchmark = False  # torch's default, which the project's training keeps
    start = time.perf_counter()
    names = {"a": "training", "b": "attacks", "c": "concurrent_jobs", "d": "grid"}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        parts = {"a": lambda: part_training(config, args, Path(tmp)), "b": lambda: part_attacks(config, args),
                 "c": lambda: part_concurrent(config, args, Path(tmp)), "d": lambda: part_grid(config, args)}
        for part in sorted(args.parts):
            results[names[part]] = parts[part]()
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    write_json(args, results, started)


def write_json(args, results: dict, started: dict) -> None:
    """``benchmarks/results/gpu.json`` through the benchmarks' helper (imported here: the tests load this file
    on its own, without the benchmarks folder on the path)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _common

    _common.STARTED.update(started)

    summary = {}
    if "training" in results:
        summary["project_over_plain"] = {a: r["project_over_plain"]
                                         for a, r in results["training"]["architectures"].items()}
    if "attacks" in results:
        summary["ours_over_art"] = {a: r["ours_over_art"] for a, r in results["attacks"]["attacks"].items()
                                    if "ours_over_art" in r}
    if "concurrent_jobs" in results:
        summary["throughput_over_one_job"] = {k: r["over_one_job"]
                                              for k, r in results["concurrent_jobs"]["concurrent_jobs"].items()}
    if "grid" in results:
        summary["gpu_hours_total"] = results["grid"]["gpu_hours_total"]
    params = {("smaller_sizes" if k == "quick" else k): v for k, v in vars(args).items()}
    params["quick"] = args.cpu_check  # a CPU check's figures mean nothing
    _common.write_results("gpu", {"summary": summary, "device": DEVICE, **results}, params)


if __name__ == "__main__":
    main()
