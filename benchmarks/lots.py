"""LOTS line search (method §4): attempts per second, batched over all (origin, target) pairs against
one pair at a time, in one process.

A Caffe LeNet (``lenet_caffe``) is trained for one epoch on the first ``--train`` real MNIST
training images. Each of ``--origins`` test images is attacked towards the target of every other
class (the first correctly classified test image of that class) at ``--layer``: an attempt is the
LOTS direction plus the line search (``--mode`` targeted or untargeted, limit ``--limit``). Three
ways are timed:

- batched: ``lots_direction`` and ``line_search`` on all attempts at once;
- one pair at a time: the same two functions called once per attempt;
- one ε at a time: per attempt, ε = 1, 2, 3, … tested one image per forward pass (the plain
  reading of the paper), on the first ``--naive`` attempts.

All three must give the same ε for every attempt they share; the output checks it.

    python benchmarks/lots.py [--mnist DIR] [--origins 5] [--layer logits] [--mode targeted] [--threads 1]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from advtransfer.data import load_dataset
from advtransfer.lots import choose_targets, layer_features, line_search, lots_direction, predict, unit_linf
from advtransfer.lots.search import saturation_eps
from advtransfer.models import build_classifier

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"
DATA = ROOT / "benchmarks" / "out" / "data"


def trained_lenet(train: int, mnist: Path):
    if not (DATA / "MNIST" / "raw").is_dir():
        shutil.copytree(mnist, DATA / "MNIST" / "raw")
    splits = load_dataset("mnist", DATA, train_limit=train, test_limit=1000)
    torch.manual_seed(0)
    model = build_classifier("lenet_caffe", 1, 28, 10, *splits.channel_stats())
    optimiser = torch.optim.Adam(model.parameters(), 1e-3)
    for x, y in splits.train_loader(None, batch_size=32):
        optimiser.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimiser.step()
    return model.eval(), splits


def one_eps_at_a_time(model, origin, direction, cls, targeted, limit) -> int:
    """The smallest successful ε, one forward pass per ε (0 when the attempt fails)."""
    d = unit_linf(direction[None])
    last = min(limit, int(saturation_eps(origin[None], d)[0]))
    for eps in range(1, last + 1):
        image = (origin.float() + eps * d).round().clamp(0, 255)
        if (int(predict(model, image)[0]) == cls) == targeted:
            return eps
    return 0


def timed(function):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", type=Path, default=MNIST, help="folder with the four MNIST .gz files")
    parser.add_argument("--train", type=int, default=10_000, help="training images")
    parser.add_argument("--origins", type=int, default=5)
    parser.add_argument("--layer", default="logits")
    parser.add_argument("--mode", choices=["targeted", "untargeted"], default="targeted")
    parser.add_argument("--limit", type=int, default=4096)
    parser.add_argument("--naive", type=int, default=9, help="attempts timed one ε at a time")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    (model, splits), wall, _ = timed(lambda: trained_lenet(args.train, args.mnist))
    accuracy = (predict(model, splits.test_x) == splits.test_y).float().mean().item()
    print(f"lenet_caffe, one epoch on {args.train} MNIST images: {wall:.0f} s, test accuracy {accuracy:.3f}")
    targets, _ = choose_targets(model, splits.test_x, splits.test_y)
    origins, labels = splits.test_x[100:100 + args.origins], splits.test_y[100:100 + args.origins]
    pair_origin = torch.arange(len(origins)).repeat_interleave(10)
    pair_target = torch.arange(10).repeat(len(origins))
    keep = pair_target != labels[pair_origin]
    pair_origin, pair_target = pair_origin[keep], pair_target[keep]
    target_features = layer_features(model, args.layer, targets)[pair_target]
    n = len(pair_origin)
    targeted = args.mode == "targeted"
    classes = pair_target if targeted else predict(model, origins)[pair_origin]
    print(f"{n} {args.mode} attempts at layer {args.layer}, limit {args.limit}, {args.threads} CPU thread(s)\n")

    def batched():
        directions = lots_direction(model, args.layer, origins[pair_origin], target_features)
        return line_search(model, origins[pair_origin], directions, classes, targeted, args.limit)

    def per_pair():
        results = []
        for i in range(n):
            o, f, c = origins[pair_origin[i:i + 1]], target_features[i:i + 1], classes[i:i + 1]
            results.append(line_search(model, o, lots_direction(model, args.layer, o, f), c, targeted, args.limit))
        return torch.cat([r.eps for r in results])

    def naive():
        k = min(args.naive, n)
        directions = lots_direction(model, args.layer, origins[pair_origin[:k]], target_features[:k])
        return torch.tensor([one_eps_at_a_time(model, origins[pair_origin[i]], directions[i], int(classes[i]),
                                               targeted, args.limit) for i in range(k)])

    batch, batch_wall, batch_cpu = timed(batched)
    single_eps, single_wall, single_cpu = timed(per_pair)
    naive_eps, naive_wall, naive_cpu = timed(naive)
    k = len(naive_eps)
    print(f"success {batch.success.float().mean():.3f}; ε of the successes: median "
          f"{batch.eps[batch.success].float().median():.0f}, max {batch.eps[batch.success].max()}")
    print("wall time depends on what else runs on the machine; CPU time much less so")
    print(f"{'way':<22}{'attempts':>9}{'attempts/s (wall)':>19}{'attempts/s (CPU)':>18}")
    for name, m, wall, cpu in [("batched", n, batch_wall, batch_cpu),
                               ("one pair at a time", n, single_wall, single_cpu),
                               ("one ε at a time", k, naive_wall, naive_cpu)]:
        print(f"{name:<22}{m:>9}{m / wall:>19.1f}{m / cpu:>18.1f}")
    print(f"\nbatched / one pair at a time: {single_wall / batch_wall:.1f}× (wall), "
          f"{single_cpu / batch_cpu:.1f}× (CPU)")
    print(f"batched / one ε at a time:    {naive_wall / k / (batch_wall / n):.1f}× (wall), "
          f"{naive_cpu / k / (batch_cpu / n):.1f}× (CPU)")
    same = torch.equal(batch.eps, single_eps) and torch.equal(batch.eps[:k], naive_eps)
    print(f"same ε from all three: {same}")
    if not same:
        raise SystemExit("the three ways disagree")


if __name__ == "__main__":
    main()
