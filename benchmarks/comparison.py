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
  line search then gives the same ε, success and image for every attempt;
- batching: LOTS attempts per second (direction and line search) batched over all (origin, target)
  pairs against one pair at a time, and against one ε per forward pass (ε = 1, 2, 3, … tested one
  image per forward pass, the plain reading of the paper, on the first ``--naive`` attempts), for
  ``--batching-origins`` test images (from the 101st) each attacked towards every other class (the first
  correctly classified test image of that class) at ``--batching-layer``, ``--batching-mode`` criterion.
  All three must give the same ε for every attempt they share; the script stops if they do not.

MNIST comes from ``--data`` / ``$ADVTRANSFER_DATA`` / the subsets in ``tests/data`` (``_common``).
Search and PASS run with ``--threads`` torch threads (default one, as a comparison job's share of a machine).

    python benchmarks/comparison.py [--data DIR] [--model model.pt] [--origins 100] [--pass-threads 2]
    python benchmarks/comparison.py --quick            # every part on 3 origins (about a minute)

Writes ``benchmarks/results/comparison.json`` (``_common.write_results``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch
from _common import WORK, data_root, load, parser, prepare, ratio, set_threads, write_results
from _common import timed as cpu_timed
from torch.nn import functional as F

from advtransfer.lots import layers
from advtransfer.lots.comparison import choose_targets, origin_indices, target_indices, technique_attempts
from advtransfer.lots.direction import lots_direction, unit_linf
from advtransfer.lots.layers import layer_features, predict
from advtransfer.lots.search import line_search, saturation_eps
from advtransfer.models import build_classifier
from advtransfer.pass_score import pass_scores

LAYERS = ["body.conv1", "body.conv2", "body.ip1", "logits"]
BATCH = 256


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


def startup_seconds(data_dir: Path, model_path: Path) -> float:
    """Wall seconds of a job's start: Python, the imports, the data set and the model."""
    code = ("import time; t = time.perf_counter(); import torch; from advtransfer.data import load_dataset; "
            "from advtransfer.model_io import load_classifier; "
            "from advtransfer.lots.comparison import lots_comparison; "
            f"load_dataset('mnist', {str(data_dir)!r}, download=False); load_classifier({str(model_path)!r}); "
            "print(time.perf_counter() - t)")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env={**os.environ,
                   "OMP_NUM_THREADS": "1"})
    return time.perf_counter() - start


def main() -> None:
    p = parser(__doc__.split("\n")[0], threads=1)
    p.add_argument("--model", type=Path, help="a trained lenet_caffe model.pt (default: train one epoch)")
    p.add_argument("--train", type=int, default=10_000, help="training images for the one-epoch LeNet")
    p.add_argument("--origins", type=int, default=100)
    p.add_argument("--limit", type=int, default=4096)
    p.add_argument("--pass-threads", type=int, default=2, help="PASS threads to compare with one")
    p.add_argument("--bf16-batches", type=int, default=50, help="batches of 256 timed per precision")
    p.add_argument("--batching-origins", type=int, default=5, help="(batching) origins, each towards 9 targets")
    p.add_argument("--batching-layer", default="logits", help="(batching) the LOTS layer")
    p.add_argument("--batching-mode", choices=["targeted", "untargeted"], default="targeted")
    p.add_argument("--naive", type=int, default=9, help="(batching) attempts timed one ε at a time")
    args = p.parse_args()
    if args.quick:
        args.train, args.origins, args.bf16_batches, args.batching_origins, args.naive = 1000, 3, 4, 2, 3
    threads = set_threads(args)
    root = data_root(args.data)
    out: dict = {"origins": args.origins, "limit": args.limit}

    splits = load("mnist", root)
    if args.model:
        from advtransfer.model_io import load_classifier

        model, model_path = load_classifier(args.model)[0], args.model
    else:
        small = load("mnist", root, args.train)
        model = trained_lenet(small)
        model_path = WORK / "lenet_one_epoch.pt"
        torch.save({"hparams": {"architecture": "lenet_caffe", "in_channels": 1, "image_size": 28, "num_classes": 10,
                                "mean": small.channel_stats()[0], "std": small.channel_stats()[1],
                                "defence": "vanilla", "defence_params": {}},
                    "state_dict": model.state_dict(), "meta": {}}, model_path)
    (predicted_train, predicted_test), _, predictions_cpu = cpu_timed(
        lambda: (predict(model, splits.train_x), predict(model, splits.test_x)))
    error = (predicted_test != splits.test_y).float().mean().item()
    print(f"lenet_caffe: test error {100 * error:.2f}%; predictions of {len(splits.train_y) + len(splits.test_y)} "
          f"images: {predictions_cpu:.1f} CPU-s (made once per classifier)")
    out["train_images"], out["test_images"] = len(splits.train_y), len(splits.test_y)
    out["test_error"], out["predictions_cpu_s"] = error, predictions_cpu
    targets = splits.test_x[target_indices(predicted_test, splits.test_y, 10)]
    index = origin_indices(predicted_test, splits.test_y, args.origins)
    origins, labels = splits.test_x[index], splits.test_y[index]
    clean = predict(model, origins)

    print(f"\n{len(origins)} origins, limit {args.limit}, {threads} thread(s); CPU seconds")
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
    scoresn, pass_walln, _ = cpu_timed(lambda: pass_scores(originals, adversarials, args.pass_threads))
    assert (scores1 == scoresn).all(), "PASS must not depend on the number of threads"
    n = len(originals)
    print(f"\nPASS of {n} successful attempts: {n / pass_wall1:.0f} images/s with one thread, "
          f"{n / pass_walln:.0f} with {args.pass_threads} threads ({pass_wall1 / pass_walln:.2f}×; the same scores)")
    out["pass"] = {"images": n, "one_thread_s": pass_wall1, "one_thread_cpu_s": pass_cpu1,
                   "threads": args.pass_threads, "threads_s": pass_walln,
                   "threads_speedup": ratio(pass_wall1, pass_walln)}
    pass_per_image = pass_cpu1 / n

    startup = startup_seconds(prepare("mnist", root), model_path)
    out["startup_s"] = startup

    def job(layout, criterion):
        chosen = [r for r in rows if r["layout"] == layout
                  and (r["criterion"] == criterion or r["technique"] in ("FGS", "FGV"))]
        split = {"directions": sum(r["direction_cpu_s"] for r in chosen),
                 "search": sum(r["search_cpu_s"] for r in chosen),
                 "pass": pass_per_image * sum(r["success_rate"] * r["attempts"] for r in chosen)}
        return sum(r["attempts"] for r in chosen), split

    print(f"\nA comparison job of {len(origins)} origins (FGS, FGV, HC, LOTS at 4 layers), {threads} thread(s), "
          "CPU seconds:")
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
    forwards = args.bf16_batches * BATCH
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
    out["batching"] = batching(model, splits, args)

    def search_cpu(layout):
        return sum(r["search_cpu_s"] for r in rows if r["layout"] == layout)

    out["summary"] = {
        "search_over_bare_loop": {row_name(r):
                                  r["search_cpu_s"] / r["bare_loop_cpu_s"] for r in rows
                                  if r["layout"] == "channels_last"},
        "forwards_over_fewest": {row_name(r):
                                 r["forwards"] / max(r["fewest_forwards"], 1) for r in rows
                                 if r["layout"] == "channels_last"},
        "search_cpu_nchw_over_channels_last": ratio(search_cpu("nchw"), search_cpu("channels_last")),
        "channels_last_same_results": out["channels_last_same_results"],
        "bfloat16_forward_rate_vs_fp32": rate, "bfloat16_same_results": same,
        "pass_threads_speedup": out["pass"]["threads_speedup"],
        "job_attempts_per_cpu_s": {name: row["attempts_per_cpu_s"] for name, row in summary.items()},
        "batched_over_one_pair_cpu": out["batching"]["batched_over_one_pair_cpu"],
        "batched_over_one_eps_cpu": out["batching"]["batched_over_one_eps_cpu"],
    }
    write_results("comparison", out, args)


def row_name(row: dict) -> str:
    layer = "" if row["layer"] == "-" else " " + row["layer"].removeprefix("body.")
    return f"{row['technique']}{layer} {row['criterion']}"


# ---------------------------------------------------------------- batching: all pairs at once, one pair, one ε


def one_eps_at_a_time(model, origin, direction, cls, targeted, limit) -> int:
    """The smallest successful ε, one forward pass per ε (0 when the attempt fails)."""
    d = unit_linf(direction[None])
    last = min(limit, int(saturation_eps(origin[None], d)[0]))
    for eps in range(1, last + 1):
        image = (origin.float() + eps * d).round().clamp(0, 255)
        if (int(predict(model, image)[0]) == cls) == targeted:
            return eps
    return 0


def batching(model, splits, args) -> dict:
    """LOTS attempts batched over all pairs, one pair at a time and one ε at a time: rates, same ε."""
    layers.CHANNELS_LAST = True  # the package's default, as a comparison job runs
    targets, _ = choose_targets(model, splits.test_x, splits.test_y)
    origins = splits.test_x[100:100 + args.batching_origins]
    labels = splits.test_y[100:100 + args.batching_origins]
    pair_origin = torch.arange(len(origins)).repeat_interleave(10)
    pair_target = torch.arange(10).repeat(len(origins))
    keep = pair_target != labels[pair_origin]
    pair_origin, pair_target = pair_origin[keep], pair_target[keep]
    layer, limit, targeted = args.batching_layer, args.limit, args.batching_mode == "targeted"
    target_features = layer_features(model, layer, targets)[pair_target]
    n = len(pair_origin)
    classes = pair_target if targeted else predict(model, origins)[pair_origin]

    def batched():
        directions = lots_direction(model, layer, origins[pair_origin], target_features)
        return line_search(model, origins[pair_origin], directions, classes, targeted, limit)

    def per_pair():
        results = []
        for i in range(n):
            o, f, c = origins[pair_origin[i:i + 1]], target_features[i:i + 1], classes[i:i + 1]
            results.append(line_search(model, o, lots_direction(model, layer, o, f), c, targeted, limit))
        return torch.cat([r.eps for r in results])

    def naive():
        k = min(args.naive, n)
        directions = lots_direction(model, layer, origins[pair_origin[:k]], target_features[:k])
        return torch.tensor([one_eps_at_a_time(model, origins[pair_origin[i]], directions[i], int(classes[i]),
                                               targeted, limit) for i in range(k)])

    batch, batch_wall, batch_cpu = cpu_timed(batched)
    single_eps, single_wall, single_cpu = cpu_timed(per_pair)
    naive_eps, naive_wall, naive_cpu = cpu_timed(naive)
    k = len(naive_eps)
    same = torch.equal(batch.eps, single_eps) and torch.equal(batch.eps[:k], naive_eps)
    print(f"\nbatching: {n} {args.batching_mode} LOTS attempts at layer {layer}, limit {limit}; success "
          f"{batch.success.float().mean():.3f}")
    print(f"{'way':<22}{'attempts':>9}{'attempts/s (wall)':>19}{'attempts/s (CPU)':>18}")
    ways = {"batched": (n, batch_wall, batch_cpu), "one_pair_at_a_time": (n, single_wall, single_cpu),
            "one_eps_at_a_time": (k, naive_wall, naive_cpu)}
    for name, (m, wall, cpu) in ways.items():
        print(f"{name.replace('_', ' '):<22}{m:>9}{m / wall:>19.1f}{m / cpu:>18.1f}")
    out = {"attempts": n, "layer": layer, "mode": args.batching_mode,
           "success_rate": float(batch.success.float().mean()),
           "ways": {name: {"attempts": m, "wall_s": wall, "cpu_s": cpu, "attempts_per_wall_s": m / wall,
                           "attempts_per_cpu_s": m / cpu} for name, (m, wall, cpu) in ways.items()},
           "batched_over_one_pair_wall": single_wall / batch_wall, "batched_over_one_pair_cpu": single_cpu / batch_cpu,
           "batched_over_one_eps_wall": naive_wall / k / (batch_wall / n),
           "batched_over_one_eps_cpu": naive_cpu / k / (batch_cpu / n), "same_eps": same}
    print(f"batched / one pair at a time: {out['batched_over_one_pair_wall']:.1f}× (wall), "
          f"{out['batched_over_one_pair_cpu']:.1f}× (CPU)")
    print(f"batched / one ε at a time:    {out['batched_over_one_eps_wall']:.1f}× (wall), "
          f"{out['batched_over_one_eps_cpu']:.1f}× (CPU)")
    print(f"same ε from all three: {same}")
    if not same:
        raise SystemExit("the three ways disagree")
    return out



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
