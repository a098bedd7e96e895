"""The workflow's own cost: a config's dry run, its jobs and Slurm submissions, and each rule's job against its floor.

Two parts (``--parts``):

dag
    Times ``snakemake -n`` of ``--config`` (default ``config/paper.yaml`` if present, else
    ``config/config.yaml``; ``config/config.yaml`` with ``--quick``) in an empty folder (every job to
    do), as a user would run it: twice with the default profile (a workstation; the first run also
    makes the config checks that need torch, once per config), then with the Slurm profile. Each
    with its wall time and its CPU time (user + system of Snakemake and the processes it starts: on a
    machine shared with other work, what the run costs rather than what it waited). Then builds the
    same DAG through Snakemake's API with the Slurm profile's ``group-components`` and counts
    submissions: a job outside any group is one, a group is one.
jobs
    Runs a small digits study (every rule of the default study: training, soft-labels, metrics,
    attacks, LOTS, the tables and the figures) one job at a time, then gives, per rule, the fastest
    job's wall time from its Snakemake ``benchmark:`` file, next to the floor measured in the same run:
    ``python -c "import torch"`` for every job, ``python -c "import lightning"`` for training. A job
    can do no better than its floor; the ratio says what the rest (the package's imports, reading the
    data, the work itself) adds.

    python benchmarks/workflow.py                       # both parts, config/paper.yaml's dry run
    python benchmarks/workflow.py --config config/fashion_mnist.yaml --parts dag
    python benchmarks/workflow.py --quick               # config/config.yaml's dry run, a smaller digits study

Writes ``benchmarks/results/workflow.json`` (``_common.write_results``).
"""

from __future__ import annotations

import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import yaml
from _common import ROOT, describe_data, parser, ratio, write_results

PARTS = ["dag", "jobs"]
PROFILE = ROOT / "workflow" / "profiles" / "slurm"
DEFAULT_PROFILE = ROOT / "workflow" / "profiles" / "default"
SNAKEFILE = ROOT / "workflow" / "Snakefile"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
PAPER, DEFAULT_CONFIG = ROOT / "config" / "paper.yaml", ROOT / "config" / "config.yaml"


# ---------------------------------------------------------------- dag: dry runs and submissions


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def dry_run_seconds(configfile: Path, workdir: Path, profile: Path) -> tuple[float, float, int]:
    """Wall and CPU time of ``snakemake -n`` with ``profile``, and the number of jobs it lists."""
    cmd = [SNAKEMAKE, "-n", "--quiet", "rules", "--snakefile", str(SNAKEFILE), "--directory",
           str(workdir), "--configfile", str(configfile), "--workflow-profile", str(profile)]
    start, cpu = time.perf_counter(), children_cpu()
    run = subprocess.run(cmd, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, children_cpu() - cpu
    if run.returncode != 0:
        sys.exit(run.stdout + run.stderr)
    total = re.search(r"^total\s+(\d+)", run.stdout, re.M)
    return seconds, cpu, int(total.group(1)) if total else 0


def submissions(configfile: Path, workdir: Path) -> tuple[Counter, Counter]:
    """Jobs per rule, and submissions per kind (a rule's name, or ``group``) with the profile's grouping."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        GroupSettings,
        OutputSettings,
        Quietness,
        ResourceSettings,
    )

    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    components = dict(item.rsplit("=", 1) for item in profile.get("group-components", []))
    group_settings = GroupSettings(group_components={name: int(n) for name, n in components.items()})
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[configfile]),
            snakefile=SNAKEFILE, workdir=workdir)
        workflow_api.dag(DAGSettings()).execute_workflow(executor="dryrun", group_settings=group_settings)
        dag = workflow_api._workflow.dag
        jobs = Counter(job.rule.name for job in dag.needrun_jobs(exclude_finished=False))
        kinds = Counter()
        seen = set()
        for job in dag.needrun_jobs(exclude_finished=False):
            group = dag.get_job_group(job)
            if group is None:
                kinds[job.rule.name] += 1
            elif group not in seen:
                seen.add(group)
                kinds["group"] += 1
    return jobs, kinds


def part_dag(configfile: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        runs = {name: dry_run_seconds(configfile, Path(tmp), profile)
                for name, profile in (("first_dry_run_default_profile", DEFAULT_PROFILE),
                                      ("second_dry_run_default_profile", DEFAULT_PROFILE),
                                      ("dry_run_slurm_profile", PROFILE))}
        jobs, kinds = submissions(configfile, Path(tmp))
    local = kinds.pop("all", 0)  # the target rule runs on the submitting machine
    print(f"\n(dag) config: {describe_data(configfile)}")
    for name, (seconds, cpu, n_jobs) in runs.items():
        print(f"  {name.replace('_', ' ')} (snakemake -n): {seconds:.1f} s wall, {cpu:.1f} s CPU, {n_jobs} jobs")
    print("  jobs per rule: " + ", ".join(f"{rule} {n}" for rule, n in sorted(jobs.items())))
    print(f"  Slurm submissions: {sum(kinds.values())} (" + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
          + f"; {local} local target job)")
    return {"config": describe_data(configfile),
            "dry_runs": {name: {"wall_s": s, "cpu_s": c, "jobs": n} for name, (s, c, n) in runs.items()},
            "jobs": sum(jobs.values()), "jobs_per_rule": dict(sorted(jobs.items())),
            "slurm_submissions": sum(kinds.values()), "submissions_per_kind": dict(sorted(kinds.items())),
            "local_target_jobs": local}


# ---------------------------------------------------------------- jobs: each rule's fastest job against its floor


def study_config(quick: bool) -> dict:
    """A small digits study with every rule of the default study (smaller still with ``--quick``)."""
    recipe = {"epochs": 1, "batch_size": 64, "optimizer": "adam", "lr": 1.0e-3}
    n_attack, n_lots, train, test = (5, 1, 150, 50) if quick else (20, 2, 300, 100)
    excluded = [0] if quick else [0, 1]
    return {
        "data_dir": "data", "download": False, "seeds": [0], "figures": {"isomap_max_points": 50},
        "defence_params": {"label_smoothing": {"max_value": 0.9}},
        "datasets": {"digits": {
            "train_limit": train, "test_limit": test, "excluded_classes": excluded,
            "defences": ["vanilla", "label_smoothing"],
            "attacks": {"n_attack": n_attack, "run": ["fgm", "deepfool"],
                        "params": {"fgm": {"eps": 76.5, "eps_step": 2.55}, "deepfool": {"max_iter": 50}}},
            "lots": {"n_lots": n_lots, "layers": {"mlp": ["logits"]}, "techniques": ["FGS", "LOTS"],
                     "modes": ["untargeted"], "limit": 256, "visualise": 1},
            "architectures": {"mlp": {"train": recipe}},
        }},
    }


def floor(module: str, repeats: int) -> float:
    """Median wall time of ``python -c "import <module>"``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def job_seconds(workdir: Path) -> dict[str, tuple[float, int]]:
    """Per rule, the fastest job's wall time (``s`` of its benchmark file) and the rule's number of jobs."""
    seconds: dict[str, list[float]] = {}
    folder = workdir / "results" / "benchmarks"
    for tsv in folder.rglob("*.tsv"):
        rule = tsv.relative_to(folder).parts[0].removesuffix(".tsv")  # <rule>.tsv or <rule>/<wildcards>.tsv
        seconds.setdefault(rule, []).append(float(pd.read_csv(tsv, sep="\t")["s"].iloc[0]))
    return {rule: (min(values), len(values)) for rule, values in sorted(seconds.items())}


def part_jobs(quick: bool) -> dict:
    config = study_config(quick)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        print("\n(jobs) running a small digits study, one job at a time ...", flush=True)
        start = time.perf_counter()
        run = subprocess.run([SNAKEMAKE, "--snakefile", str(SNAKEFILE), "--directory", tmp,
                              "--configfile", str(workdir / "config.yaml"), "--cores", "1", "--quiet"],
                             capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"the digits study failed:\n{run.stdout[-3000:]}\n{run.stderr[-6000:]}")
        study_s = time.perf_counter() - start
        jobs = job_seconds(workdir)
    repeats = 1 if quick else 3
    torch_floor, lightning_floor = floor("torch", repeats), floor("lightning", repeats)
    print(f"  the study: {sum(n for _, n in jobs.values())} jobs in {study_s:.0f} s")
    print(f"  floor: python -c 'import torch' {torch_floor:.2f} s, 'import lightning' {lightning_floor:.2f} s")
    print(f"  {'rule':<22}{'jobs':>5}{'fastest (s)':>13}{'floor (s)':>11}{'ratio':>8}")
    rules = {}
    for rule, (seconds, n) in jobs.items():
        base = lightning_floor if rule == "train" else torch_floor
        rules[rule] = {"jobs": n, "fastest_job_s": seconds, "floor": "lightning" if rule == "train" else "torch",
                       "over_floor": ratio(seconds, base)}
        print(f"  {rule:<22}{n:>5}{seconds:>13.2f}{base:>11.2f}{seconds / base:>8.2f}")
    return {"study": config["datasets"]["digits"] | {"architectures": ["mlp"]}, "study_wall_s": study_s,
            "floor_import_torch_s": torch_floor, "floor_import_lightning_s": lightning_floor,
            "floor_repeats": repeats, "rules": rules}


def main() -> None:
    p = parser(__doc__.split("\n")[0], data=False, with_threads=False)
    p.add_argument("--config", type=Path, default=None,
                   help="(dag) the config (default config/paper.yaml if present, else config/config.yaml)")
    p.add_argument("--parts", nargs="+", default=PARTS, choices=PARTS)
    args = p.parse_args()
    if args.config is None:
        args.config = PAPER if PAPER.exists() and not args.quick else DEFAULT_CONFIG
    args.config = args.config.resolve()
    results = {}
    if "dag" in args.parts:
        results["dag"] = part_dag(args.config)
    if "jobs" in args.parts:
        results["jobs"] = part_jobs(args.quick)
    summary = {}
    if "dag" in results:
        d = results["dag"]
        summary["dry_run_wall_s"] = {name: run["wall_s"] for name, run in d["dry_runs"].items()}
        summary.update(jobs=d["jobs"], slurm_submissions=d["slurm_submissions"])
    if "jobs" in results:
        summary["job_over_floor"] = {rule: r["over_floor"] for rule, r in results["jobs"]["rules"].items()}
    write_results("workflow", {"summary": summary, **results}, args)


if __name__ == "__main__":
    main()
