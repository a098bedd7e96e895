"""Speed and success of the attacks: the project against ART, torchattacks and foolbox.

Trains a small classifier (the Caffe LeNet) briefly on real Fashion-MNIST, then attacks the same
test images (the first ones it classifies correctly, so that every library attacks every image) with
method §2.6's Fashion-MNIST parameters, in one batch, with each library's implementation: ART 1.20.1
(the reference code's library) and torchattacks when it can be imported (it has BIM, PGD and
DeepFool; install it apart, e.g.
``pip install --no-deps --target /tmp/torchattacks torchattacks==3.5.1`` and run with
``PYTHONPATH=/tmp/torchattacks``). The attacks beyond paper 1 (FMN, DDN, APGD-CE, the project's own
implementations) are set against the peers that have them: ART's and torchattacks' APGD, foolbox's DDN
and FMN (foolbox 3.3.4's L2 FMN never projects onto its ε-ball, so its L2 is not minimal). Prints images per
second, the speed-up over ART, torchattacks (TA) and foolbox (FB), success rates and the Mean L2
score (0–255 scale, successful images) side by side. Times are wall times; the JSON adds each run's CPU
time (the process's, all threads), which depends less on other work on the machine.

    python benchmarks/attacks.py                       # Fashion-MNIST of --data / $ADVTRANSFER_DATA / tests/data
    python benchmarks/attacks.py --quick               # every attack and peer on 20 images (about a minute)
    python benchmarks/attacks.py --data ../shared/data --images 500

Writes ``benchmarks/results/attacks.json`` (``_common.write_results``).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from _common import data_root, load, parser, set_threads, timed, write_results
from torch import nn
from torch.nn import functional as F

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
        "fmn_l2": {"max_iter": 100},
        "fmn_linf": {"max_iter": 100},
        "ddn": {"max_iter": 100},
        "apgd": {"eps": 76.5, "max_iter": 40},  # PGD's ε and steps
    },
    "cifar10": {
        "fgm": {"eps": 8.0, "eps_step": 2.0},
        "bim": {"eps": 8.0, "eps_step": 2.0, "max_iter": 10},
        "pgd": {"eps": 8.0, "eps_step": 2.0, "max_iter": 20},
        "deepfool": {"max_iter": 100, "overshoot": 1e-6},
        "newtonfool": {"max_iter": 100, "eta": 0.01},
        "fmn_l2": {"max_iter": 100},
        "fmn_linf": {"max_iter": 100},
        "ddn": {"max_iter": 100},
        "apgd": {"eps": 8.0, "max_iter": 20},
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
    from art.attacks.evasion import (
        AutoProjectedGradientDescent,
        BasicIterativeMethod,
        DeepFool,
        FastGradientMethod,
        NewtonFool,
        ProjectedGradientDescent,
    )
    from art.estimators.classification import PyTorchClassifier

    def wrap(net):
        return PyTorchClassifier(net, nn.CrossEntropyLoss(), input_shape=(1, 28, 28), nb_classes=10,
                                 clip_values=(0.0, 1.0))

    logits, softmax = wrap(model), wrap(nn.Sequential(model, nn.Softmax(dim=1)).eval())
    fgm, bim, pgd, apgd = PARAMS["fgm"], PARAMS["bim"], PARAMS["pgd"], PARAMS["apgd"]
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
        "apgd": AutoProjectedGradientDescent(logits, norm=np.inf, eps=to_unit_scale(apgd["eps"]),
                                             eps_step=2 * to_unit_scale(apgd["eps"]), max_iter=apgd["max_iter"],
                                             nb_random_init=1, batch_size=n, loss_type="cross_entropy", verbose=False),
    }


def torchattacks_attacks(model: nn.Module) -> dict:
    """torchattacks' versions where it has the attack; empty when it is not installed."""
    try:
        import torchattacks
    except ImportError:
        return {}
    bim, pgd, apgd = PARAMS["bim"], PARAMS["pgd"], PARAMS["apgd"]
    return {
        "bim": torchattacks.BIM(model, eps=to_unit_scale(bim["eps"]), alpha=to_unit_scale(bim["eps_step"]),
                                steps=bim["max_iter"]),
        "pgd": torchattacks.PGD(model, eps=to_unit_scale(pgd["eps"]), alpha=to_unit_scale(pgd["eps_step"]),
                                steps=pgd["max_iter"], random_start=False),
        "deepfool": torchattacks.DeepFool(model, steps=PARAMS["deepfool"]["max_iter"],
                                          overshoot=PARAMS["deepfool"]["overshoot"]),
        "apgd": torchattacks.APGD(model, norm="Linf", eps=to_unit_scale(apgd["eps"]), steps=apgd["max_iter"],
                                  n_restarts=1, loss="ce", seed=0),
    }


def foolbox_attacks(model: nn.Module) -> dict:
    """foolbox's DDN and FMN as functions (x, y) → adversarial images; empty when it is not installed."""
    try:
        import foolbox
    except ImportError:
        return {}
    fmodel = foolbox.PyTorchModel(model, bounds=(0, 1))

    def run(attack):
        return lambda x, y: attack(fmodel, x, y, epsilons=None)[1]

    return {
        "fmn_l2": run(foolbox.attacks.L2FMNAttack(steps=PARAMS["fmn_l2"]["max_iter"])),
        "fmn_linf": run(foolbox.attacks.LInfFMNAttack(steps=PARAMS["fmn_linf"]["max_iter"])),
        "ddn": run(foolbox.attacks.DDNAttack(steps=PARAMS["ddn"]["max_iter"])),
    }


def score(model: nn.Module, x: torch.Tensor, y: torch.Tensor, adv: torch.Tensor) -> tuple[float, float]:
    """Success rate and Mean L2 (0–255 scale, successful samples)."""
    with torch.no_grad():
        fooled = model(adv).argmax(1) != y
    l2 = ((adv - x) * 255).flatten(1).norm(dim=1)
    return fooled.float().mean().item(), l2[fooled].mean().item() if fooled.any() else float("nan")


def main() -> None:
    parser_ = parser(__doc__.splitlines()[0], threads=1)
    parser_.add_argument("--images", type=int, default=200, help="test images, attacked in one batch")
    parser_.add_argument("--train", type=int, default=10_000, help="training images (the first ones)")
    parser_.add_argument("--epochs", type=int, default=2)
    parser_.add_argument("--attacks", nargs="+", default=list(PARAMS), choices=list(PARAMS))
    parser_.add_argument("--column", default="fashion_mnist", choices=list(COLUMNS),
                         help="which of method §2's parameter columns to use (default: the dataset's own)")
    args = parser_.parse_args()
    if args.quick:
        args.images, args.train, args.epochs = 20, 1000, 1
    PARAMS.update(COLUMNS[args.column])
    threads = set_threads(args)
    warnings.filterwarnings("ignore")

    splits = load("fashion_mnist", data_root(args.data), args.train, 2 * args.images)
    model = train(splits, args.epochs)
    x, y = to_float(splits.test_x), splits.test_y
    with torch.no_grad():
        right = model(x).argmax(1) == y
    accuracy = right.float().mean().item()
    x, y = x[right][:args.images], y[right][:args.images]
    print(f"Fashion-MNIST, lenet_caffe trained {args.epochs} epochs on {len(splits.train_y)} images (test accuracy "
          f"{accuracy:.3f}); the first {len(y)} correctly classified test images in one batch; "
          f"{threads} torch thread(s); method §2's {args.column} parameters")
    peers = {"ART": art_attacks(model, len(y)), "TA": torchattacks_attacks(model), "FB": foolbox_attacks(model)}
    if not peers["TA"]:
        print("torchattacks is not importable: its column is left empty")
    runs = {"ART": lambda a: a.generate(x.numpy(), y.numpy()), "TA": lambda a: a(x, y).detach(),
            "FB": lambda a: a(x, y)}

    header = f"{'attack':<11}{'ours img/s':>11}" + "".join(f"{p + ' img/s':>11}{'×' + p:>7}" for p in peers) \
        + f"{'  success ours / ART / TA / FB':>32}{'  Mean L2 ours / ART / TA / FB':>33}"
    print(header)
    results = {}
    for name in args.attacks:
        ours, t_ours, cpu_ours = timed(lambda: torch.as_tensor(build_attack(name, model, **PARAMS[name])(x, y)))
        rows, speeds = [score(model, x, y, ours)], ""
        entry = results[name] = {"ours": {"images_per_s": len(y) / t_ours, "cpu_s": cpu_ours,
                                          "success": rows[0][0], "mean_l2": rows[0][1]}}
        for peer, attacks in peers.items():
            if name in attacks:
                theirs, t_peer, cpu_peer = timed(lambda: torch.as_tensor(runs[peer](attacks[name])))
                rows.append(score(model, x, y, theirs))
                speeds += f"{len(y) / t_peer:>11.1f}{t_peer / t_ours:>7.1f}"
                entry[peer] = {"images_per_s": len(y) / t_peer, "cpu_s": cpu_peer, "ours_speedup": t_peer / t_ours,
                               "success": rows[-1][0], "mean_l2": rows[-1][1]}
            else:
                rows.append((float("nan"), float("nan")))
                speeds += f"{'–':>11}{'–':>7}"
        success = " / ".join("–" if np.isnan(r) else f"{r:.3f}" for r, _ in rows)
        l2 = " / ".join("–" if np.isnan(d) else f"{d:.1f}" for _, d in rows)
        print(f"{name:<11}{len(y) / t_ours:>11.1f}{speeds}{success:>32}{l2:>33}", flush=True)

    summary = {"ours_speedup": {f"{name}/{peer}": entry[peer]["ours_speedup"] for name, entry in results.items()
                                for peer in peers if peer in entry},
               "success_ours_minus_peer": {f"{name}/{peer}": entry["ours"]["success"] - entry[peer]["success"]
                                           for name, entry in results.items() for peer in peers if peer in entry},
               "mean_l2_ours_over_peer": {f"{name}/{peer}": entry["ours"]["mean_l2"] / entry[peer]["mean_l2"]
                                          for name, entry in results.items() for peer in peers if peer in entry}}
    write_results("attacks", {
        "summary": summary,
        "setup": {"model": "lenet_caffe", "train_images": len(splits.train_y), "epochs": args.epochs,
                  "test_accuracy": accuracy, "images": len(y), "parameters": {n: PARAMS[n] for n in args.attacks},
                  "peers": {"ART": True, "TA": bool(peers["TA"]), "FB": bool(peers["FB"])}},
        "attacks": results}, args)


if __name__ == "__main__":
    main()
