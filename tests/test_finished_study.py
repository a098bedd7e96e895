"""A finished small study (running.md, "Guarantees" and "Same inputs, same numbers"):

- run again from scratch in another folder, on the same machine, it gives byte-identical tables
  (timing columns aside) and models;
- whatever file of it is deleted, a plain ``snakemake`` makes it again, with what depends on it (each
  row of running.md's table of deletions, checked by a dry run);
- a Ctrl-C during a ``--forcerun attack`` re-run (Snakemake has removed the attack's old outputs)
  loses nothing: a plain ``snakemake`` makes the attack's files again.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from workflow_helpers import (
    SNAKEFILE,
    SNAKEMAKE,
    digits_config,
    planned_jobs,
    processes_in,
    snakemake,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.workflow

ATTACKS = {"n_attack": 20, "batch_size": 20, "run": ["fgm", "deepfool"],
           "params": {"fgm": {"eps": 76.5, "eps_step": 2.55}, "deepfool": {"max_iter": 50}}}
LOTS = {"n_lots": 2, "layers": {"mlp": ["logits"], "convnet": ["logits"]}, "techniques": ["FGS", "LOTS"],
        "modes": ["untargeted"], "limit": 256, "attack_layer": "logits", "visualise": 1}
TIMING_COLUMNS = {"seconds", "train_seconds"}  # wall times: they differ from run to run
TIMING_FILES = {"cost.csv"}  # the study's cost (its jobs' wall times); benchmarks/ and provenance.json too


def config(data_dir: Path) -> dict:
    """Digits (all 1,437 training images: the ConvNet then classifies every class), MLP and ConvNet,
    two excluded classes, vanilla and feature squeezing, FGM and DeepFool, LOTS on two origins."""
    study = digits_config(data_dir, architectures=("mlp", "convnet"), excluded=[0, 1], train_limit=None,
                          defences=["vanilla", "feature_squeezing"], attacks=ATTACKS, lots=LOTS)
    architectures = study["datasets"]["digits"]["architectures"]
    architectures["mlp"]["train"] = {"epochs": 2, "batch_size": 32, "optimizer": "adam", "lr": 1.0e-3}
    architectures["convnet"]["train"] = {"epochs": 4, "batch_size": 32, "optimizer": "adam", "lr": 3.0e-3}
    return study


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """The study, run to its end once (its data folder is shared with the other runs)."""
    root = tmp_path_factory.mktemp("study")
    configfile = write_config(root, config(root / "data"))
    (root / "first").mkdir()
    snakemake(root / "first", configfile)
    return root / "first", configfile


def copy_of(finished, dest: Path) -> Path:
    """A copy of the finished study (times kept: Snakemake sees it as finished)."""
    shutil.copytree(finished, dest, symlinks=True)
    return dest


def csv_files(workdir: Path) -> list[Path]:
    return sorted(p.relative_to(workdir) for p in (workdir / "results").rglob("*.csv")
                  if "benchmarks" not in p.parts and p.name not in TIMING_FILES)


def test_two_runs_from_scratch_give_the_same_tables_and_weights(finished, tmp_path):
    first, configfile = finished
    second = tmp_path / "second"
    second.mkdir()
    snakemake(second, configfile)
    tables = csv_files(first)
    assert tables == csv_files(second)
    assert len(tables) > 40 and any(p.name == "table3.csv" for p in tables)
    for path in tables:
        a, b = pd.read_csv(first / path), pd.read_csv(second / path)
        timing = sorted(TIMING_COLUMNS & set(a.columns))
        pd.testing.assert_frame_equal(a.drop(columns=timing), b.drop(columns=timing), check_exact=True, obj=str(path))
        if not timing:
            assert (first / path).read_bytes() == (second / path).read_bytes(), path
    models = sorted(p.relative_to(first) for p in (first / "results").rglob("model.pt"))
    assert len(models) == 2 * 2 * 3  # architectures × defences × (standard + 2 excluded classes)
    for path in models:
        ours = torch.load(first / path, weights_only=True)["state_dict"]
        theirs = torch.load(second / path, weights_only=True)["state_dict"]
        assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours), path
    arrays = sorted(p.relative_to(first) for p in (first / "results").rglob("*.npz"))
    for path in arrays:  # soft-labels, predictions, adversarial images
        with np.load(first / path) as a, np.load(second / path) as b:
            assert all(np.array_equal(a[k], b[k]) for k in a.files), path


MODEL = "digits/mlp/vanilla/seed0"
# The rules downstream of each kind of file (what a plain run runs again when one is made anew).
OF_THE_MODEL = {"soft_labels", "metrics", "attack", "predictions", "lots", "lots_baselines", "lots_figure"}
PER_CLASS = {"aggregate", "table2", "table1_figure", "defence_figures", "table3", "correlation_figures",
             "paper1_claims", "html_table1", "html_metrics_per_class", "html_table2", "html_table3"}
ATTACK_TABLES = {"attacks_per_class", "table3", "correlation_figures", "paper1_claims", "html_attacks_per_class",
                 "html_table3"}
COMPARISON = {"lots_comparison", "html_lots_comparison"}
TRAINING = {"accuracies", "html_accuracies", "training_curves"}
SUMMARY = {"study_summary"}  # the study's cost and provenance: after any job

# A finished file deleted → (its job, the rules a plain run then runs: that job and those downstream).
# running.md, "Guarantees", states each row.
DELETIONS = {
    "standard model": (f"results/models/{MODEL}/none/model.pt", "train",
                       {"train", "zero_shot_figures"} | OF_THE_MODEL | PER_CLASS | ATTACK_TABLES | COMPARISON
                       | TRAINING | SUMMARY),
    "standard history": (f"results/models/{MODEL}/none/history.csv", "train",
                         {"train", "zero_shot_figures"} | OF_THE_MODEL | PER_CLASS | ATTACK_TABLES | COMPARISON
                         | TRAINING | SUMMARY),
    "Raw Zero-Shot model": (f"results/models/{MODEL}/0/model.pt", "train",
                            {"train", "soft_labels", "metrics", "zero_shot_figures"} | PER_CLASS | TRAINING | SUMMARY),
    "soft-labels": (f"results/soft_labels/{MODEL}/0.npz", "soft_labels",
                    {"soft_labels", "metrics", "zero_shot_figures"} | PER_CLASS | SUMMARY),
    "per-class metrics": (f"results/metrics/{MODEL}/1.csv", "metrics", {"metrics"} | PER_CLASS | SUMMARY),
    "per-sample attack table": (f"results/attacks/{MODEL}/fgm.csv", "attack", {"attack"} | ATTACK_TABLES | SUMMARY),
    "per-sample attack images": (f"results/attacks/{MODEL}/fgm_images.npz", "attack",
                                 {"attack"} | ATTACK_TABLES | SUMMARY),
    "LOTS attempts": (f"results/lots/{MODEL}/logits.csv", "lots", {"lots"} | COMPARISON | SUMMARY),
    "predictions": (f"results/predictions/{MODEL}/none.npz", "predictions",
                    {"predictions", "lots", "lots_baselines"} | COMPARISON | SUMMARY),
    "Table 1": ("results/tables/table1.csv", "aggregate", PER_CLASS | SUMMARY),
    "Table 3": ("results/tables/table3.csv", "table3", {"table3", "correlation_figures", "paper1_claims",
                                                          "html_table3"} | SUMMARY),
}


@pytest.mark.parametrize("what", DELETIONS)
def test_a_deleted_file_is_made_again_by_a_plain_run(finished, tmp_path, what):
    path, rule, rules = DELETIONS[what]
    workdir = copy_of(finished[0], tmp_path / "study")
    assert planned_jobs(snakemake(workdir, finished[1], "-n").stdout) == []
    (workdir / path).unlink()
    jobs = planned_jobs(snakemake(workdir, finished[1], "-n").stdout)
    planned = {r for r, _ in jobs} - {"all"}
    assert planned == rules, f"{what}: {sorted(planned ^ rules)}"
    assert [r for r, _ in jobs].count(rule) == 1, f"{what}: {rule} runs more than once"


def running_attack(workdir: Path) -> bool:
    """An attack job of the study runs (its script is Snakemake's copy of attack.py)."""
    for pid in processes_in(workdir):
        try:
            if b"attack.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def test_a_ctrl_c_during_a_forced_rerun_loses_no_file(finished, tmp_path):
    """Snakemake removes a forced job's old outputs just before it runs it; interrupted, the job leaves
    none, and the tables made from them are complete: only the default target's per-sample files make
    a plain run make them again."""
    workdir = copy_of(finished[0], tmp_path / "study")
    attack_files = sorted(p.relative_to(finished[0]) for p in finished[0].glob("results/attacks/**/*") if p.is_file())
    run = subprocess.Popen([SNAKEMAKE, "--snakefile", str(SNAKEFILE), "--directory", str(workdir), "--configfile",
                            str(finished[1]), "--cores", "1", "--forcerun", "attack"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    assert wait_until(lambda: running_attack(workdir) or run.poll() is not None, 300), "no attack job started"
    time.sleep(0.5)
    os.killpg(run.pid, signal.SIGINT)  # Ctrl-C: the terminal signals Snakemake and its jobs
    run.wait(timeout=300)
    assert wait_until(lambda: not processes_in(workdir), 60)
    lost = [p for p in attack_files if not (workdir / p).exists()]
    assert lost and len(lost) < len(attack_files), lost  # the interrupted job's files, not the others'

    snakemake(workdir, finished[1], "--unlock")
    snakemake(workdir, finished[1])
    for path in lost:
        assert (workdir / path).exists(), path
        if path.suffix == ".csv":
            assert (workdir / path).read_bytes() == (finished[0] / path).read_bytes(), path
    assert planned_jobs(snakemake(workdir, finished[1], "-n").stdout) == []
