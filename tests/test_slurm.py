"""The study through workflow/profiles/slurm on a real one-node Slurm cluster equals a local run."""

import os
from pathlib import Path

import pandas as pd
import pytest

from slurm_cluster import Cluster, alive, why_unavailable
from workflow_helpers import ROOT, digits_config, snakemake, write_config

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

PROFILE = ROOT / "workflow" / "profiles" / "slurm"
# What a cluster without accounting needs besides the profile (README, "Running at scale").
NO_ACCOUNTING = ["--slurm-status-command", "squeue", "--slurm-no-account"]
# For the test: fail at once, look at finished jobs every few seconds, keep the Slurm logs.
QUICK = ["--retries", "0", "--slurm-init-seconds-before-status-checks", "2", "--slurm-keep-successful-logs"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = why_unavailable()
    if reason:
        pytest.skip(reason)
    # Slurm refuses socket paths over 108 characters: keep the cluster's folder short.
    c = Cluster(tmp_path_factory.mktemp("slurm", numbered=True))
    pids = []
    with pytest.MonkeyPatch.context() as mp:
        for name, value in c.env.items():
            mp.setenv(name, value)
        try:
            c.start()
            pids = c.pids()
            yield c
        finally:
            c.stop()
    assert pids and not any(alive(pid) for pid in pids), "a Slurm or munge daemon is still running"
    assert not _job_steps(c.conf), "a slurmstepd of the test cluster is still running"


def _job_steps(conf: Path) -> list[int]:
    steps = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().startswith(b"slurmstepd") \
                    and f"SLURM_CONF={conf}".encode() in (proc / "environ").read_bytes() and alive(int(proc.name)):
                steps.append(int(proc.name))
        except OSError:
            continue
    return steps


def run_study(workdir: Path, *args: str) -> pd.DataFrame:
    workdir.mkdir()
    configfile = write_config(workdir, digits_config(workdir / "data", recipe={"epochs": 2}))
    snakemake(workdir, configfile, *args)
    return pd.read_csv(workdir / "results/tables/metrics_per_class.csv")


def test_slurm_run_equals_local_run(cluster, tmp_path):
    local = run_study(tmp_path / "local")
    on_slurm = run_study(tmp_path / "slurm", "--workflow-profile", str(PROFILE), *NO_ACCOUNTING, *QUICK)

    # Same seed, same data, same CPU: training is deterministic and the numbers are identical here;
    # the tolerance allows only for another thread count inside a Slurm job on other machines.
    pd.testing.assert_frame_equal(on_slurm, local, check_exact=False, rtol=1e-6)
    assert len(local) == 2 and set(local["excluded_class"]) == {0, 1}

    # Every job ran as a Slurm job; one model's soft-labels and metrics went as one submission.
    logs = tmp_path / "slurm" / ".snakemake" / "slurm_logs"
    submitted = {p.relative_to(logs).parts[0] for p in logs.rglob("*.log")}
    assert {"rule_train", "rule_aggregate", "rule_zero_shot_figures"} <= submitted
    groups = [p for p in logs.rglob("*.log") if p.relative_to(logs).parts[0].startswith("group_")]
    assert len(groups) == 1, sorted(str(p.relative_to(logs)) for p in logs.rglob("*.log"))
    assert not any(p.relative_to(logs).parts[0] in ("rule_soft_labels", "rule_metrics") for p in logs.rglob("*.log"))
    assert len(list((logs / "rule_train").rglob("*.log"))) == 3  # the standard classifier and C₋₀, C₋₁

    # The training job saw the GPU Slurm gave it (a stand-in device here) and left the choice to Slurm.
    train_log = (tmp_path / "slurm" / "logs/train/digits/mlp/vanilla/seed0/none.log").read_text()
    assert "GPUs given by Slurm" in train_log
    assert not (tmp_path / "slurm" / ".snakemake" / "gpu-locks").exists()
    assert os.environ["SLURM_CONF"] == str(cluster.conf)
