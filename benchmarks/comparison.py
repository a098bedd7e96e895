"""Paper 2's comparison (method §4.5) on the CPU, in one process: where a comparison job's time goes.

A Caffe LeNet (``lenet_caffe``) is trained for one epoch on the first ``--train`` real MNIST training
images (or ``--model`` loads a trained ``model.pt``). The first ``--origins`` correctly classified test
digits are attacked by FGS, FGV, HC and LOTS at conv1, conv2, ip1 and the logits, each with the line
search up to ``--limit``, under paper 2's criterion (untargeted: the class changes) and under the
targeted one. The script prints, per technique:

- the line search's attempts per CPU-second, the forward passes it makes against the fewest any
  line search must make (each attempt's ε, or its last ε when it fails), and its time against a bare
  batched forward loop over the same number of images (``torch.no_grad``, batches of 256);
- PASS's images per second, with one thread and with ``--threads`` threads;
- a comparison job's split: start-up (``import`` and loading the data and model, in a subprocess),
  the classifier's predictions on every training and test image (made once per classifier), the
  directions, the search and PASS;
- the forward rate in other precisions and memory layouts (bfloat16, channels-last) and whether the
  line search then gives the same ε, success and image for every attempt.

    python benchmarks/comparison.py [--mnist DIR] [--model model.pt] [--origins 100] [--threads 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch
from torch.nn import functional as F

from advtransfer.data import load_dataset
from advtransfer.lots import layers
from advtransfer.lots.comparison import origin_indices, target_indices, technique_attempts
from advtransfer.lots.direction import unit_linf
from advtransfer.lots.layers import predict
from advtransfer.lots.search import line_search, saturation_eps
from advtransfer.models import build_classifier
from advtransfer.pass_score import pass_scores

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"
DATA = ROOT / "benchmarks" / "out" / "data"
LAYERS = ["body.conv1", "body.conv2", "body.ip1", "logits"]
BATCH = 256


def cpu_timed(function):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def mnist_splits(mnist: Path, train: int | None):
    if not (DATA / "MNIST" / "raw").is_dir():
        shutil.copytree(mnist, DATA / "MNIST" / "raw")
    return load_dataset("mnist", DATA, train_limit=train)


def trained_lenet(splits):
    torch.manual_seed(0)
    model = build_classifier("lenet_caffe", 1, 28, 10, *splits.channel_stats())
    optimiser = torch.optim.Adam(model.parameters(), 1e-3)
    for x, y in splits.train_loader(None, batch_size=64):
        optimiser.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimiser.step()
    return model.eval()


@contextmanager
def counting_forwards(model):
    """Count the images of every forward pass made without gradients (the line search's)."""
    count = [0]

    def hook(module, inputs):
        if not torch.is_grad_enabled():
            count[0] += len(inputs[0])

    handle = model.register_forward_pre_hook(hook)
    try:
        yield count
    finally:
        handle.remove()


def bare_forward_loop(model, n_images: int, shape, memory_format=torch.contiguous_format, dtype=None):
    """CPU seconds of ``n_images`` forward passes in batches of 256 (random 0–255 images)."""
    x = torch.randint(0, 256, (BATCH, *shape), dtype=torch.uint8)
    start = time.process_time()
    with torch.no_grad():
        done = 0
        while done < n_images:
            batch = (x[: min(BATCH, n_images - done)].float() / 255).contiguous(memory_format=memory_format)
            if dtype is None:
                model(batch).argmax(1)
            else:
                with torch.autocast("cpu", dtype=dtype):
                    model(batch).argmax(1)
            done += len(batch)
    return time.process_time() - start


def fewest_forwards(origins, directions, result, limit) -> int:
    """The forward passes any line search must make: ε per success, the last ε tried per failure."""
    last = saturation_eps(origins.float(), unit_linf(directions.float())).clamp(max=limit)
    return int(torch.where(result.success, result.eps, last).sum())


def search_table(model, origins, labels, clean, targets, limit, fast):
    """Every technique and layer under both criteria: per row the timings; and the results."""
    rows, hits, results = [], [], []
    header = (f"{'technique':<16}{'criterion':<12}{'attempts':>9}{'success':>9}{'dir. s':>8}{'search s':>9}"
              f"{'att./CPU-s':>11}{'fwd/fewest':>11}{'× bare loop':>12}")
    print(header)
    layout = torch.channels_last if fast else torch.contiguous_format
    for technique, layer in [("FGS", "-"), ("FGV", "-"), ("HC", "-")] + [("LOTS", layer) for layer in LAYERS]:
        (rows_, target_class, directions), _, direction_cpu = cpu_timed(
            lambda: technique_attempts(model, technique, origins, labels, clean, targets, layer))
        for criterion in (["untargeted", "targeted"] if technique in ("HC", "LOTS") else ["untargeted"]):
            targeted = criterion == "targeted"
            classes = target_class if targeted else clean[rows_]
            with counting_forwards(model) as count:
                result, _, search_cpu = cpu_timed(
                    lambda: line_search(model, origins[rows_], directions, classes, targeted, limit))
            results.append(result)
            forwards = count[0]  # the search's first pass predicts every attempt's origin, then the ε tried
            bare_model = layers.channels_last(model, origins)[0]
            bare = bare_forward_loop(bare_model, forwards, origins.shape[1:], layout)
            fewest = fewest_forwards(origins[rows_], directions, result, limit) + len(rows_)
            row = {"layout": "channels_last" if fast else "nchw", "technique": technique, "layer": layer,
                   "criterion": criterion, "attempts": len(rows_),
                   "success_rate": float(result.success.float().mean()), "direction_cpu_s": direction_cpu,
                   "search_cpu_s": search_cpu, "forwards": forwards, "fewest_forwards": fewest,
                   "bare_loop_cpu_s": bare}
            rows.append(row)
            name = technique if layer == "-" else f"LOTS {layer.removeprefix('body.')}"
            print(f"{name:<16}{criterion:<12}{len(rows_):>9}{row['success_rate']:>9.3f}{direction_cpu:>8.2f}"
                  f"{search_cpu:>9.2f}{len(rows_) / (direction_cpu + search_cpu):>11.1f}"
                  f"{forwards / max(fewest, 1):>11.3f}{search_cpu / bare:>12.2f}")
            if not targeted:
                hits.append((origins[rows_][result.success], result.adversarials[result.success]))
    return rows, hits, results


def startup_seconds(mnist_dir: Path, model_path: Path) -> float:
    """Wall seconds of a job's start: Python, the imports, the data set and the model."""
    code = ("import time; t = time.perf_counter(); import torch; from advtransfer.data import load_dataset; "
            "from advtransfer.model_io import load_classifier; "
            "from advtransfer.lots.comparison import lots_comparison; "
            f"load_dataset('mnist', {str(DATA)!r}); load_classifier({str(model_path)!r}); "
            "print(time.perf_counter() - t)")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env={**os.environ,
                   "OMP_NUM_THREADS": "1"})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", type=Path, default=MNIST, help="folder with the four MNIST .gz files")
    parser.add_argument("--model", type=Path, help="a trained lenet_caffe model.pt (default: train one epoch)")
    parser.add_argument("--train", type=int, default=10_000, help="training images for the one-epoch LeNet")
    parser.add_argument("--origins", type=int, default=100)
    parser.add_argument("--limit", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2, help="PASS threads to compare with one")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out: dict = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                 "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"), "origins": args.origins,
                 "limit": args.limit}

    splits = mnist_splits(args.mnist, None)
    if args.model:
        from advtransfer.model_io import load_classifier

        model, model_path = load_classifier(args.model)[0], args.model
    else:
        small = mnist_splits(args.mnist, args.train)
        model = trained_lenet(small)
        model_path = DATA.parent / "lenet_one_epoch.pt"
        torch.save({"hparams": {"architecture": "lenet_caffe", "in_channels": 1, "image_size": 28, "num_classes": 10,
                                "mean": small.channel_stats()[0], "std": small.channel_stats()[1],
                                "defence": "vanilla", "defence_params": {}},
                    "state_dict": model.state_dict(), "meta": {}}, model_path)
    (predicted_train, predicted_test), _, predictions_cpu = cpu_timed(
        lambda: (predict(model, splits.train_x), predict(model, splits.test_x)))
    error = (predicted_test != splits.test_y).float().mean().item()
    print(f"lenet_caffe: test error {100 * error:.2f}%; predictions of {len(splits.train_y) + len(splits.test_y)} "
          f"images: {predictions_cpu:.1f} CPU-s (made once per classifier)")
    out["test_error"], out["predictions_cpu_s"] = error, predictions_cpu
    targets = splits.test_x[target_indices(predicted_test, splits.test_y, 10)]
    index = origin_indices(predicted_test, splits.test_y, args.origins)
    origins, labels = splits.test_x[index], splits.test_y[index]
    clean = predict(model, origins)

    print(f"\n{len(origins)} origins, limit {args.limit}, one thread; CPU seconds")
    results, rows, hits = {}, [], None
    for fast in (False, True):
        layers.CHANNELS_LAST = fast
        print(f"\nforward passes in the {'channels-last' if fast else 'usual (NCHW)'} layout:")
        layout_rows, hits, results[fast] = search_table(model, origins, labels, clean, targets, args.limit, fast)
        rows += layout_rows
    same = all(torch.equal(a.eps, b.eps) and torch.equal(a.success, b.success)
               and torch.equal(a.adversarials, b.adversarials) for a, b in zip(results[False], results[True]))
    n_attempts = sum(len(r.eps) for r in results[True])
    print(f"\nchannels-last against the usual layout: the same ε, success and image in all {n_attempts} attempts: "
          f"{same}")
    out["channels_last_same_results"], out["channels_last_attempts_compared"] = same, n_attempts
    out["search"] = rows

    originals = torch.cat([h[0] for h in hits])
    adversarials = torch.cat([h[1] for h in hits])
    scores1, pass_wall1, pass_cpu1 = cpu_timed(lambda: pass_scores(originals, adversarials, 1))
    scoresn, pass_walln, _ = cpu_timed(lambda: pass_scores(originals, adversarials, args.threads))
    assert (scores1 == scoresn).all(), "PASS must not depend on the number of threads"
    n = len(originals)
    print(f"\nPASS of {n} successful attempts: {n / pass_wall1:.0f} images/s with one thread, "
          f"{n / pass_walln:.0f} with {args.threads} threads ({pass_wall1 / pass_walln:.2f}×; the same scores)")
    out["pass"] = {"images": n, "one_thread_s": pass_wall1, "one_thread_cpu_s": pass_cpu1,
                   "threads": args.threads, "threads_s": pass_walln}
    pass_per_image = pass_cpu1 / n

    startup = startup_seconds(args.mnist, model_path)
    out["startup_s"] = startup

    def job(layout, criterion):
        chosen = [r for r in rows if r["layout"] == layout
                  and (r["criterion"] == criterion or r["technique"] in ("FGS", "FGV"))]
        split = {"directions": sum(r["direction_cpu_s"] for r in chosen),
                 "search": sum(r["search_cpu_s"] for r in chosen),
                 "pass": pass_per_image * sum(r["success_rate"] * r["attempts"] for r in chosen)}
        return sum(r["attempts"] for r in chosen), split

    print(f"\nA comparison job of {len(origins)} origins (FGS, FGV, HC, LOTS at 4 layers), one thread, CPU seconds:")
    summary = {}
    for name, layout, criterion in [("before: usual layout, targeted criterion", "nchw", "targeted"),
                                    ("paper 2's criterion, usual layout", "nchw", "untargeted"),
                                    ("after: paper 2's criterion, channels-last", "channels_last", "untargeted")]:
        attempts, split = job(layout, criterion)
        rate = attempts / sum(split.values())
        summary[name] = {"attempts": attempts, **split, "attempts_per_cpu_s": rate}
        print(f"  {name:<44} {attempts} attempts: directions {split['directions']:.1f}, search {split['search']:.1f}, "
              f"PASS {split['pass']:.1f}: {rate:.1f} attempts per CPU-second, PASS included")
    out["job"] = summary
    print(f"  start-up (Python, imports, MNIST, the model) {startup:.1f} s wall per job; before this version each "
          f"job also predicted the\n  training and test images twice ({2 * predictions_cpu:.1f} CPU-s), now one job "
          f"per classifier predicts them once ({predictions_cpu:.1f} CPU-s)")

    print("\nbfloat16 (LOTS at the logits, paper 2's criterion, channels-last):")
    rows_, target_class, directions = technique_attempts(model, "LOTS", origins, labels, clean, targets, "logits")
    reference = line_search(model, origins[rows_], directions, clean[rows_], False, args.limit)
    fast = layers.channels_last(model, origins)[0]
    forwards = 50 * BATCH
    base = bare_forward_loop(fast, forwards, origins.shape[1:], torch.channels_last)
    rate = base / bare_forward_loop(fast, forwards, origins.shape[1:], torch.channels_last, torch.bfloat16)
    layers.CHANNELS_LAST = False
    result = line_search(BFloat16(fast), origins[rows_], directions, clean[rows_], False, args.limit)
    layers.CHANNELS_LAST = True
    same = (torch.equal(result.eps, reference.eps) and torch.equal(result.success, reference.success)
            and torch.equal(result.adversarials, reference.adversarials))
    changed = int((result.eps != reference.eps).sum())
    print(f"  forward rate {rate:.2f}× float32; the same ε, success and images: {same} ({changed} of {len(rows_)} "
          f"ε changed){'' if same else ': not adopted'}")
    variants = {"bfloat16": {"forward_rate_vs_fp32": rate, "same_results": same, "eps_changed": changed,
                             "attempts": len(rows_)}}
    out["variants"] = variants
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
        print(f"\nwrote {args.json}")


class BFloat16(torch.nn.Module):
    """``model`` under bfloat16 autocast (for the check above only)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.model(x.contiguous(memory_format=torch.channels_last)).float()


if __name__ == "__main__":
    main()
