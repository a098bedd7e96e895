"""Dry-run time of a config, and how many jobs and Slurm submissions the whole study makes.

    python benchmarks/dag.py                        # config/paper.yaml if present, else config/config.yaml
    python benchmarks/dag.py config/fashion_mnist.yaml

Times ``snakemake -n`` in an empty folder (every job to do), as a user would run it: twice with
the default profile (a workstation; the first run also makes the config checks that need torch,
once per config), then with the Slurm profile. Each with its wall time and its CPU time (user +
system of Snakemake and the processes it starts: on a machine shared with other work, what the run
costs rather than what it waited). Then builds the same DAG through Snakemake's API with the profile's
``group-components`` and counts submissions: a job outside any group is one, a group is one.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "workflow" / "profiles" / "slurm"
DEFAULT_PROFILE = ROOT / "workflow" / "profiles" / "default"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def dry_run_seconds(configfile: Path, workdir: Path, profile: Path) -> tuple[float, float, int]:
    """Wall and CPU time of ``snakemake -n`` with ``profile``, and the number of jobs it lists."""
    cmd = [SNAKEMAKE, "-n", "--quiet", "rules", "--snakefile", str(ROOT / "workflow" / "Snakefile"), "--directory",
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
            snakefile=ROOT / "workflow" / "Snakefile", workdir=workdir)
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


def main() -> None:
    default = ROOT / "config" / "paper.yaml"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configfile", nargs="?", type=Path,
                        default=default if default.exists() else ROOT / "config" / "config.yaml")
    args = parser.parse_args()
    configfile = args.configfile.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {name: dry_run_seconds(configfile, Path(tmp), profile)
                for name, profile in (("first dry run, default profile", DEFAULT_PROFILE),
                                      ("second dry run, default profile", DEFAULT_PROFILE),
                                      ("dry run, Slurm profile", PROFILE))}
        jobs, kinds = submissions(configfile, Path(tmp))
    local = kinds.pop("all", 0)  # the target rule runs on the submitting machine
    print(f"config: {configfile.relative_to(ROOT) if configfile.is_relative_to(ROOT) else configfile}")
    for name, (seconds, cpu, n_jobs) in runs.items():
        print(f"{name} (snakemake -n): {seconds:.1f} s wall, {cpu:.1f} s CPU, {n_jobs} jobs")
    print("jobs per rule: " + ", ".join(f"{rule} {n}" for rule, n in sorted(jobs.items())))
    print(f"Slurm submissions: {sum(kinds.values())} (" + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
          + f"; {local} local target job)")


if __name__ == "__main__":
    main()
