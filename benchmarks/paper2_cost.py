"""What paper 2's full Table 1 (``config/paper2.yaml``) costs, from the jobs of two finished runs.

Reads Snakemake's benchmark files (each job's CPU seconds) and outputs of

- ``--lenet RUN``: a run of ``config/paper2.yaml`` for its Basic LeNet row (target
  ``results/report/paper2_lenet.html``): the Basic LeNet's training and its comparison, on all
  10,000 test digits or on a prefix of them (``n_lots`` lowered; the comparison's cost is then scaled
  per origin to the preset's ``n_lots``);
- ``--cpu RUN`` (optional): a run of a smaller preset of the whole table, ``--cpu-preset`` (default
  ``paper2_cpu.yaml``, 5% of the paper's size; ``paper2_small.yaml``, 2%): the adversarial example sets
  and the fine-tuning; without it those parts are not given,

and scales each kind of work to the full preset: example generation per origin (the paper: every
training digit), fine-tuning per iteration (20K FGS and FGV, 50K HC, 100K for each LOTS model), the
comparison per model (each fine-tuned model costs as the Basic LeNet: the same attempts), and the
Basic LeNet's training. CPU seconds of one thread are the measure (each job runs on one thread;
wall time depends on what else runs). Also the work in units a GPU run can be timed against
(attempts of the line search, PASS scores, optimiser steps of 64 images).

    python benchmarks/paper2_cost.py --lenet RUN [--cpu RUN [--cpu-preset paper2_small.yaml]]
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from _common import parser, write_results

EXAMPLE_SETS = ["fgs", "fgv", "hc", "lots_body.conv1", "lots_body.conv2", "lots_body.ip1", "lots_logits"]
ATTEMPTS_PER_ORIGIN = {"fgs": 1, "fgv": 1, "hc": 9}  # LOTS: 9 per layer (10 classes)


def cpu_seconds(path: Path) -> float:
    return float(pd.read_csv(path, sep="\t")["cpu_time"].iloc[0])


def preset(run: Path, name: str) -> dict:
    return yaml.safe_load((run / "config" / name).read_text())


def iterations(config: dict, defence: str) -> int:
    params = config["defence_params"]
    return int(params[defence].get("iterations", params["adversarial_finetuning"]["iterations"]))


def main() -> None:
    p = parser(__doc__.splitlines()[0], data=False)
    p.add_argument("--lenet", type=Path, required=True, help="a finished run of paper2.yaml's Basic LeNet row")
    p.add_argument("--cpu", type=Path, help="a finished run of a smaller preset of the table (examples, fine-tuning)")
    p.add_argument("--cpu-preset", default="paper2_cpu.yaml", help="the --cpu run's preset under config/")
    args = p.parse_args()
    full = preset(args.lenet, "paper2.yaml")
    bench = args.lenet / "results" / "benchmarks"

    # the comparison of one model (the Basic LeNet), per origin, scaled to the preset's n_lots
    n_full = int(full["datasets"]["mnist"]["lots"]["n_lots"])
    comparison, origins = {}, set()
    for kind in ("lots", "lots_baselines"):
        for tsv in sorted((bench / kind).rglob("*.tsv")):
            csv = args.lenet / "results" / "lots" / tsv.relative_to(bench / kind).with_suffix(".csv")
            table = pd.read_csv(csv, usecols=["origin", "success"])
            origins |= set(table["origin"])
            comparison[tsv.stem] = {"cpu_s": cpu_seconds(tsv), "attempts": len(table)}
    scale = n_full / len(origins)
    comparison_s = sum(c["cpu_s"] for c in comparison.values()) * scale
    comparison_attempts = round(sum(c["attempts"] for c in comparison.values()) * scale)
    vanilla_s = cpu_seconds(next((bench / "train").rglob("vanilla/seed0/none.tsv")))
    predictions_s = sum(cpu_seconds(t) for t in (bench / "predictions").rglob("*.tsv"))
    if args.cpu is None:
        hours = {"comparison_per_model": round(comparison_s / 3600, 2),
                 "basic_lenet_training": round(vanilla_s / 3600, 2)}
        rate = sum(c["attempts"] for c in comparison.values()) / sum(c["cpu_s"] for c in comparison.values())
        print(f"the Basic LeNet's comparison on {n_full} origins: {hours['comparison_per_model']} single-thread "
              f"CPU hours ({rate:.1f} attempts per CPU second, measured on {len(origins)} origins)")
        write_results("paper2_cost", {
            "summary": {"single_thread_cpu_hours": hours, "attempts_per_cpu_s": round(rate, 1),
                        "origins_measured": len(origins), "origins_full": n_full,
                        "work": {"comparison_attempts_per_model": comparison_attempts},
                        "not_measured": "examples and fine-tuning (a --cpu run of config/paper2_cpu.yaml)"},
            "measured": {"comparison_of_the_basic_lenet": comparison, "basic_lenet_training_cpu_s": vanilla_s,
                         "predictions_cpu_s": predictions_s},
            "runs": {"lenet": str(args.lenet), "lenet_commit": _commit(args.lenet)},
        }, args)
        return
    small = preset(args.cpu, args.cpu_preset)

    # example generation per origin and set, and fine-tuning per iteration, at the small size (mean over seeds)
    cbench = args.cpu / "results" / "benchmarks"
    n_train = int(small["datasets"]["mnist"]["lots"]["n_train"])
    examples = {}
    for name in EXAMPLE_SETS:
        times = [cpu_seconds(t) for t in (cbench / "adversarial_examples").rglob(f"{name}.tsv")]
        examples[name] = {"cpu_s_per_origin": float(np.mean(times)) / n_train, "seeds": len(times)}
    finetuning = {}
    for tsv in sorted((cbench / "train").rglob("none.tsv")):
        defence = tsv.parts[-3]
        if defence == "vanilla":
            continue
        finetuning.setdefault(defence, []).append(cpu_seconds(tsv) / iterations(small, defence))
    per_iteration = {d: float(np.mean(v)) for d, v in finetuning.items()}

    # the full preset
    n_origins = 60_000  # every training digit (the paper); the correctly classified ones are ~99%
    models = full["datasets"]["mnist"]["defences"]
    parts = {
        "examples": sum(e["cpu_s_per_origin"] * n_origins for e in examples.values()),
        "fine_tuning": sum(per_iteration[d] * iterations(full, d) for d in per_iteration),
        "comparison": comparison_s * len(models),
        "basic_lenet_training": vanilla_s,
        "predictions": predictions_s * len(models),
    }
    total = sum(parts.values())
    lots_layers = len(full["datasets"]["mnist"]["lots"]["layers"]["lenet_caffe"])
    work = {
        "example_attempts": n_origins * (sum(ATTEMPTS_PER_ORIGIN.values()) + 9 * lots_layers),
        "comparison_attempts": comparison_attempts * len(models),
        "fine_tuning_steps_of_64_images": sum(iterations(full, d) for d in per_iteration),
        "basic_lenet_steps_of_64_images": int(np.ceil(60_000 / 64)) * full["datasets"]["mnist"]["architectures"]
        ["lenet_caffe"]["train"]["epochs"],
    }
    hours = {k: round(v / 3600, 1) for k, v in parts.items()}
    summary = {"single_thread_cpu_hours": hours, "total_single_thread_cpu_hours": round(total / 3600, 1),
               "days_on_2_cores": round(total / 3600 / 2 / 24, 1), "work": work}
    print(f"paper2.yaml in single-thread CPU hours: {hours}; total {total / 3600:.0f} h, "
          f"{total / 3600 / 48:.1f} days on 2 cores")
    write_results("paper2_cost", {
        "summary": summary,
        "measured": {"comparison_of_the_basic_lenet": comparison, "origins_measured": len(origins),
                     "example_sets_per_origin": examples,
                     "fine_tuning_cpu_s_per_iteration": per_iteration, "basic_lenet_training_cpu_s": vanilla_s},
        "runs": {"lenet": str(args.lenet), "lenet_commit": _commit(args.lenet), "cpu": str(args.cpu),
                 "cpu_commit": _commit(args.cpu)},
    }, args)


def _commit(run: Path) -> str:
    head = (run / ".git" / "HEAD").read_text().strip()
    if head.startswith("ref:"):
        ref = run / ".git" / head.split(" ", 1)[1]
        if ref.exists():
            return ref.read_text().strip()
        packed = (run / ".git" / "packed-refs").read_text()
        return re.search(rf"^(\w+) {re.escape(head.split(' ', 1)[1])}$", packed, re.M).group(1)
    return head


if __name__ == "__main__":
    main()
