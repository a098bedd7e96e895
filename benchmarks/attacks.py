"""Speed and success of paper 1's attacks (method §2): the project against ART and torchattacks.

Trains a small classifier (the Caffe LeNet) briefly on real Fashion-MNIST, then attacks the same
test images (the first ones it classifies correctly, so that every library attacks every image) with
method §2.6's Fashion-MNIST parameters, in one batch, with each library's implementation: ART 1.20.1
(the reference code's library) and torchattacks when it can be imported (it has BIM, PGD and
DeepFool; install it apart, e.g.
``pip install --no-deps --target /tmp/torchattacks torchattacks==3.5.1`` and run with
``PYTHONPATH=/tmp/torchattacks``). Prints images per second, the speed-up over ART and over
torchattacks (TA), success rates and the Mean L2 score (0–255 scale, successful images) side by side.

    python benchmarks/attacks.py --data ../shared/data/fashion-mnist
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from adversarial_training import fashion_mnist  # the sibling benchmark's loader from the raw files
from advtransfer.attacks import build_attack, to_unit_scale
from advtransfer.data import to_float
from advtransfer.models import build_classifier

# method §2's two columns of attack parameters
COLUMNS = {
    "fashion_mnist": {
        "fgm": {"eps": 76.5, "eps_step": 2.55},
        "bim": {"eps": 76.5, "eps_step": 2.55, "max_iter": 80},
        "pgd": {"eps": 76.5, "eps_step": 2.55, "max_iter": 40},
        "deepfool": {"max_iter": 100, "overshoot": 1e-6},
        "newtonfool": {"max_iter": 100, "eta": 0.375},
    },
    "cifar10": {
        "fgm": {"eps": 8.0, "eps_step": 2.0},
        "bim": {"eps": 8.0, "eps_step": 2.0, "max_iter": 10},
        "pgd": {"eps": 8.0, "eps_step": 2.0, "max_iter": 20},
        "deepfool": {"max_iter": 100, "overshoot": 1e-6},
        "newtonfool": {"max_iter": 100, "eta": 0.01},
    },
}
PARAMS = dict(COLUMNS["fashion_mnist"])


def train(splits, epochs: int) -> nn.Module:
    torch.manual_seed(0)
    mean, std = splits.channel_stats()
    model = build_classifier("lenet_caffe", 1, 28, 10, mean, std)
    optimiser = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(epochs):
        for x, y in splits.train_loader(None, batch_size=64):
            optimiser.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimiser.step()
    return model.eval()


def art_attacks(model: nn.Module, n: int) -> dict:
    """ART's attacks with the same parameters (magnitudes on [0, 1]); NewtonFool on softmax scores."""
    from art.attacks.evasion import (BasicIterativeMethod, DeepFool, FastGradientMethod, NewtonFool,
                                     ProjectedGradientDescent)
    from art.estimators.classification import PyTorchClassifier

    def wrap(net):
        return PyTorchClassifier(net, nn.CrossEntropyLoss(), input_shape=(1, 28, 28), nb_classes=10,
                                 clip_values=(0.0, 1.0))

    logits, softmax = wrap(model), wrap(nn.Sequential(model, nn.Softmax(dim=1)).eval())
    fgm, bim, pgd = PARAMS["fgm"], PARAMS["bim"], PARAMS["pgd"]
    return {
        "fgm": FastGradientMethod(logits, eps=to_unit_scale(fgm["eps"]) + 1e-7, eps_step=to_unit_scale(fgm["eps_step"]),
                                  minimal=True, batch_size=n),
        "bim": BasicIterativeMethod(logits, eps=to_unit_scale(bim["eps"]), eps_step=to_unit_scale(bim["eps_step"]),
                                    max_iter=bim["max_iter"], batch_size=n, verbose=False),
        "pgd": ProjectedGradientDescent(logits, norm=np.inf, eps=to_unit_scale(pgd["eps"]),
                                        eps_step=to_unit_scale(pgd["eps_step"]), max_iter=pgd["max_iter"],
                                        num_random_init=0, batch_size=n, verbose=False),
        "deepfool": DeepFool(logits, max_iter=PARAMS["deepfool"]["max_iter"],
                             epsilon=PARAMS["deepfool"]["overshoot"], batch_size=n, verbose=False),
        "newtonfool": NewtonFool(softmax, max_iter=PARAMS["newtonfool"]["max_iter"], eta=PARAMS["newtonfool"]["eta"],
                                 batch_size=n, verbose=False),
    }


def torchattacks_attacks(model: nn.Module) -> dict:
    """torchattacks' versions where it has the attack; empty when it is not installed."""
    try:
        import torchattacks
    except ImportError:
        return {}
    bim, pgd = PARAMS["bim"], PARAMS["pgd"]
    return {
        "bim": torchattacks.BIM(model, eps=to_unit_scale(bim["eps"]), alpha=to_unit_scale(bim["eps_step"]),
                                steps=bim["max_iter"]),
        "pgd": torchattacks.PGD(model, eps=to_unit_scale(pgd["eps"]), alpha=to_unit_scale(pgd["eps_step"]),
                                steps=pgd["max_iter"], random_start=False),
        "deepfool": torchattacks.DeepFool(model, steps=PARAMS["deepfool"]["max_iter"],
                                          overshoot=PARAMS["deepfool"]["overshoot"]),
    }


def timed(run) -> tuple[torch.Tensor, float]:
    start = time.perf_counter()
    adv = torch.as_tensor(run())
    return adv, time.perf_counter() - start


def score(model: nn.Module, x: torch.Tensor, y: torch.Tensor, adv: torch.Tensor) -> tuple[float, float]:
    """Success rate and Mean L2 (0–255 scale, successful samples)."""
    with torch.no_grad():
        fooled = model(adv).argmax(1) != y
    l2 = ((adv - x) * 255).flatten(1).norm(dim=1)
    return fooled.float().mean().item(), l2[fooled].mean().item() if fooled.any() else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-mnist")
    parser.add_argument("--images", type=int, default=200, help="test images, attacked in one batch")
    parser.add_argument("--train", type=int, default=10_000, help="training images (the first ones)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--attacks", nargs="+", default=list(PARAMS), choices=list(PARAMS))
    parser.add_argument("--column", default="fashion_mnist", choices=list(COLUMNS),
                        help="which of method §2's parameter columns to use (default: the dataset's own)")
    args = parser.parse_args()
    PARAMS.update(COLUMNS[args.column])
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")

    with tempfile.TemporaryDirectory() as tmp:
        splits = fashion_mnist(args.data, Path(tmp), args.train, 2 * args.images)
    model = train(splits, args.epochs)
    x, y = to_float(splits.test_x), splits.test_y
    with torch.no_grad():
        right = model(x).argmax(1) == y
    x, y = x[right][:args.images], y[right][:args.images]
    print(f"Fashion-MNIST, lenet_caffe trained {args.epochs} epochs on {args.train} images (test accuracy "
          f"{right.float().mean():.3f}); the first {len(y)} correctly classified test images in one batch; "
          f"{args.threads} torch thread(s); method §2's {args.column} parameters")
    art = art_attacks(model, len(y))
    other = torchattacks_attacks(model)
    if not other:
        print("torchattacks is not importable: its column is left empty")

    header = f"{'attack':<11}{'ours img/s':>11}{'ART img/s':>11}{'×ART':>7}{'TA img/s':>10}{'×TA':>7}" \
             f"{'  success ours / ART / TA':>27}{'  Mean L2 ours / ART / TA':>28}"
    print(header)
    for name in args.attacks:
        ours, t_ours = timed(lambda: build_attack(name, model, **PARAMS[name])(x, y))
        theirs, t_art = timed(lambda: art[name].generate(x.numpy(), y.numpy()))
        rows = [score(model, x, y, ours), score(model, x, y, theirs)]
        speeds = [len(y) / t_ours, len(y) / t_art]
        if name in other:
            ta, t_ta = timed(lambda: other[name](x, y).detach())
            rows.append(score(model, x, y, ta))
            ta_speed = f"{len(y) / t_ta:>10.1f}{t_ta / t_ours:>7.1f}"
        else:
            rows.append((float("nan"), float("nan")))
            ta_speed = f"{'–':>10}{'–':>7}"
        success = " / ".join("–" if np.isnan(r) else f"{r:.3f}" for r, _ in rows)
        l2 = " / ".join("–" if np.isnan(d) else f"{d:.1f}" for _, d in rows)
        print(f"{name:<11}{speeds[0]:>11.1f}{speeds[1]:>11.1f}{t_art / t_ours:>7.1f}{ta_speed}"
              f"{success:>27}{l2:>28}")


if __name__ == "__main__":
    main()
