"""What a job of each rule costs beside the floor of starting Python with torch (and Lightning).

    python benchmarks/job_overhead.py            # a small digits study in a temporary folder

Runs a small digits study (every rule of the default study: training, soft-labels, metrics,
attacks, LOTS, the tables and the figures) one job at a time, then prints, per rule, the fastest
job's wall time from its Snakemake ``benchmark:`` file, next to the floor measured in the same run:
``python -c "import torch"`` for every job, ``python -c "import lightning"`` for training. A job
can do no better than its floor; the ratio says what the rest (the package's imports, reading the
data, the work itself) adds.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
RECIPE = {"epochs": 1, "batch_size": 64, "optimizer": "adam", "lr": 1.0e-3}
CONFIG = {
    "data_dir": "data", "download": False, "seeds": [0], "figures": {"isomap_max_points": 50},
    "defence_params": {"label_smoothing": {"max_value": 0.9}},
    "datasets": {"digits": {
        "train_limit": 300, "test_limit": 100, "excluded_classes": [0, 1],
        "defences": ["vanilla", "label_smoothing"],
        "attacks": {"n_attack": 20, "run": ["fgm", "deepfool"],
                    "params": {"fgm": {"eps": 76.5, "eps_step": 2.55}, "deepfool": {"max_iter": 50}}},
        "lots": {"n_lots": 2, "layers": {"mlp": ["logits"]}, "techniques": ["FGS", "LOTS"],
                 "modes": ["untargeted"], "limit": 256, "visualise": 1},
        "architectures": {"mlp": {"train": RECIPE}},
    }},
}


def floor(module: str, repeats: int = 3) -> float:
    """Median wall time of ``python -c "import <module>"``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def job_seconds(workdir: Path) -> dict[str, float]:
    """Per rule, the fastest job's wall time (``s`` of its benchmark file)."""
    seconds: dict[str, list[float]] = {}
    folder = workdir / "results" / "benchmarks"
    for tsv in folder.rglob("*.tsv"):
        rule = tsv.relative_to(folder).parts[0].removesuffix(".tsv")  # <rule>.tsv or <rule>/<wildcards>.tsv
        seconds.setdefault(rule, []).append(float(pd.read_csv(tsv, sep="\t")["s"].iloc[0]))
    return {rule: min(values) for rule, values in sorted(seconds.items())}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "config.yaml").write_text(yaml.safe_dump(CONFIG))
        print("running a small digits study, one job at a time ...", flush=True)
        subprocess.run([SNAKEMAKE, "--snakefile", str(ROOT / "workflow" / "Snakefile"), "--directory", tmp,
                        "--configfile", str(workdir / "config.yaml"), "--cores", "1", "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        jobs = job_seconds(workdir)
    torch_floor, lightning_floor = floor("torch"), floor("lightning")
    print(f"floor: python -c 'import torch' {torch_floor:.2f} s, 'import lightning' {lightning_floor:.2f} s")
    print(f"{'rule':<22}{'job (s)':>9}{'floor (s)':>11}{'ratio':>8}")
    for rule, seconds in jobs.items():
        base = lightning_floor if rule == "train" else torch_floor
        print(f"{rule:<22}{seconds:>9.2f}{base:>11.2f}{seconds / base:>8.2f}")


if __name__ == "__main__":
    main()
