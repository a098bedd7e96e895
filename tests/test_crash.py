"""A study killed with SIGKILL again and again finishes with the numbers of an uninterrupted run.

A small digits study (training, soft-labels, metrics, attacks, LOTS, the tables and figures) is
killed, Snakemake and its jobs at once, at moments spread over its run: inside training (after an
epoch, and in a later training job), soft-labels, metrics, attacks, LOTS and the aggregating jobs.
After each kill it runs again with a plain ``snakemake`` (after ``snakemake --unlock``: Snakemake's
lock outlives a hard kill). Its tables must equal those of an uninterrupted run, number for number,
and its models weight for weight (running.md, "Guarantees").
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from advtransfer.training import epochs_done
from workflow_helpers import SNAKEFILE, SNAKEMAKE, digits_config, processes_in, wait_until, write_config

pytestmark = pytest.mark.workflow

TABLES = ["metrics_per_class.csv", "table1.csv", "attacks_per_class.csv", "table3.csv", "lots_comparison.csv"]
ATTACKS = {"n_attack": 20, "batch_size": 20, "run": ["fgm", "deepfool"],
           "params": {"fgm": {"eps": 76.5, "eps_step": 2.55}, "deepfool": {"max_iter": 50}}}
LOTS = {"n_lots": 2, "layers": {"mlp": ["logits"]}, "techniques": ["FGS", "LOTS"], "modes": ["untargeted"],
        "limit": 256, "attack_layer": "logits", "visualise": 1}


def running_scripts(workdir: Path) -> set[str]:
    """The workflow scripts (``train``, ``attack``, …) whose jobs run in ``workdir`` now."""
    names = set()
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or Path(os.readlink(proc / "cwd")) != workdir:
                continue
            for arg in (proc / "cmdline").read_bytes().split(b"\0"):
                if b".snakemake/scripts/tmp" in arg:
                    names.add(arg.decode().rsplit("/", 1)[-1].split(".", 1)[1].removesuffix(".py"))
        except OSError:
            continue
    return names


def trained_epochs(workdir: Path) -> int:
    most = 0
    for ckpt in workdir.glob("results/models/**/checkpoints/last.ckpt"):
        try:
            most = max(most, epochs_done(ckpt))
        except Exception:  # being replaced at this moment
            pass
    return most


def finished_models(workdir: Path) -> int:
    return len(list(workdir.glob("results/models/**/model.pt")))


# Kill moments: (name, stage, condition on the work folder and the running scripts), tried in order.
MOMENTS = [
    ("first training, after an epoch", "train", lambda w, s: "train" in s and trained_epochs(w) >= 1),
    ("a later training job", "train", lambda w, s: "train" in s and finished_models(w) >= 1),
    ("soft-labels", "soft_labels", lambda w, s: "soft_labels" in s),
    ("attacks", "attack", lambda w, s: "attack" in s),
    ("LOTS attempts", "lots", lambda w, s: "lots_attempts" in s),
    ("metrics", "metrics", lambda w, s: "metrics" in s),
    ("Table 1", "aggregate", lambda w, s: "aggregate" in s),
    ("figures", "aggregate", lambda w, s: bool({"zero_shot_figures", "correlation_figures", "lots_figure"} & s)),
    ("Table 3", "aggregate", lambda w, s: "table3" in s or "attacks_per_class" in s),
    ("LOTS comparison", "aggregate", lambda w, s: "lots_comparison" in s),
]


def command(workdir: Path, configfile: Path, *args: str) -> list[str]:
    return [SNAKEMAKE, "--snakefile", str(SNAKEFILE), "--directory", str(workdir), "--configfile", str(configfile),
            *args]


def run_and_kill(workdir: Path, configfile: Path, remaining: list) -> str | None:
    """Run the study; kill it at the first of the ``remaining`` moments that comes. The moment's
    name, or None when the run finished first."""
    log = open(workdir.parent / f"{workdir.name}.log", "a")
    run = subprocess.Popen(command(workdir, configfile), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 600
    while run.poll() is None:
        assert time.monotonic() < deadline, "the study took more than 10 minutes"
        scripts = running_scripts(workdir)
        for moment in remaining:
            if moment[2](workdir, scripts):
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
                assert wait_until(lambda: not processes_in(workdir), 60), f"a job survived the kill at {moment[0]}"
                remaining.remove(moment)
                log.close()
                return moment[0]
        time.sleep(0.05)
    log.close()
    assert run.returncode == 0, "the study failed:\n" + (workdir.parent / f"{workdir.name}.log").read_text()[-5000:]
    return None


def test_a_study_killed_at_many_moments_ends_as_an_uninterrupted_one(tmp_path):
    config = digits_config(tmp_path / "data", excluded=[0, 1], recipe={"epochs": 3, "batch_size": 16},
                           attacks=ATTACKS, lots=LOTS)
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    for workdir in (reference, crashed):
        workdir.mkdir()
    configfile = write_config(tmp_path, config)

    subprocess.run(command(reference, configfile), check=True, capture_output=True)

    remaining, kills = list(MOMENTS), []
    while True:
        moment = run_and_kill(crashed, configfile, remaining)
        if moment is None:
            break
        kills.append(moment)
        subprocess.run(command(crashed, configfile, "--unlock"), check=True, capture_output=True)

    stages = {stage for name, stage, _ in MOMENTS if name in kills}
    assert len(kills) >= 8, f"killed only at {kills}"
    assert {"train", "soft_labels", "attack", "lots", "aggregate"} <= stages, kills

    for table in TABLES:
        pd.testing.assert_frame_equal(pd.read_csv(crashed / "results/tables" / table),
                                      pd.read_csv(reference / "results/tables" / table), check_exact=True)
    models = sorted(p.relative_to(reference) for p in reference.glob("results/models/**/model.pt"))
    assert len(models) == 1 + len(config["datasets"]["digits"]["excluded_classes"])  # one architecture
    for path in models:
        ours = torch.load(crashed / path, weights_only=True)["state_dict"]
        theirs = torch.load(reference / path, weights_only=True)["state_dict"]
        assert all(torch.equal(ours[k], theirs[k]) for k in theirs), path
    # Nothing left to do: a further run plans no job.
    dry = subprocess.run(command(crashed, configfile, "-n"), capture_output=True, text=True, check=True)
    assert "Nothing to be done" in dry.stdout + dry.stderr
