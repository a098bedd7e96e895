"""A training job killed mid-way resumes from its last checkpoint when the workflow is run again: a
plain ``snakemake`` (after ``--unlock``), whose ``rerun-incomplete`` comes from the workflow's default
profile, which Snakemake applies by itself also when it runs with ``--snakefile <repo>/workflow/Snakefile
--directory <elsewhere>`` (it looks for ``profiles/default`` beside the Snakefile)."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from advtransfer.training import epochs_done
from workflow_helpers import SNAKEFILE, SNAKEMAKE, digits_config, processes_in, snakemake, wait_until, write_config

pytestmark = pytest.mark.workflow

EPOCHS = 12
MODEL = "results/models/digits/mlp/vanilla/seed0/none"


def first_epoch_saved(checkpoint: Path) -> bool:
    try:
        return checkpoint.exists() and epochs_done(checkpoint) >= 1
    except Exception:  # being replaced at this moment
        return False


def test_killed_training_resumes_from_its_last_epoch(tmp_path):
    workdir = tmp_path.resolve()
    config = digits_config(workdir / "data", excluded=[0], recipe={"epochs": EPOCHS, "batch_size": 16},
                           train_limit=None, test_limit=None)
    configfile = write_config(workdir, config)
    target = f"{MODEL}/model.pt"
    cmd = [SNAKEMAKE, "--snakefile", str(SNAKEFILE), "--directory", str(workdir),
           "--configfile", str(configfile), "--cores", "1", target]
    run = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoint = workdir / MODEL / "checkpoints/last.ckpt"
    deadline = time.monotonic() + 300
    while not first_epoch_saved(checkpoint):
        assert run.poll() is None, "snakemake ended before the first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint after 300 s"
        time.sleep(0.1)
    os.killpg(run.pid, signal.SIGKILL)  # snakemake and its job, as a crash or a cluster's kill would
    run.wait()
    assert wait_until(lambda: not processes_in(workdir), 60), "the training job survived the kill"
    killed_at = epochs_done(checkpoint)
    assert killed_at < EPOCHS and not (workdir / target).exists()

    snakemake(workdir, configfile, "--unlock")
    # Snakemake marked the killed job's outputs incomplete. A job killed between writing its outputs
    # (the training writes model.pt, then history.csv) leaves one behind: a stand-in for it.
    assert list((workdir / ".snakemake" / "incomplete").iterdir())
    (workdir / target).write_bytes(b"written by the killed job")
    without_profile = snakemake(workdir, configfile, "--workflow-profile", "none", "-n", target, check=False)
    assert without_profile.returncode != 0 and "--rerun-incomplete" in without_profile.stdout + without_profile.stderr
    run = snakemake(workdir, configfile, target)  # no flag: the profile's rerun-incomplete
    profile = SNAKEFILE.parent / "profiles" / "default"
    assert f"Using workflow specific profile {profile} for setting default command line arguments" in \
        " ".join((run.stdout + run.stderr).split())

    log = (workdir / "logs/train/digits/mlp/vanilla/seed0/none.log").read_text()
    resumed = re.findall(r"resuming from \S+ \(epoch (\d+) done\)", log)
    assert resumed == [str(killed_at)]
    after = log.split("resuming from", 1)[1]
    assert re.findall(r"^epoch (\d+)/", after, re.M) == [str(e) for e in range(killed_at + 1, EPOCHS + 1)]
    history = pd.read_csv(workdir / MODEL / "history.csv")
    assert list(history["epoch"]) == list(range(1, EPOCHS + 1))
    assert epochs_done(checkpoint) == EPOCHS

    # The same job without the interruption: the same epochs, the same weights.
    (workdir / "uninterrupted").mkdir()
    snakemake(workdir / "uninterrupted", configfile, target)
    reference = pd.read_csv(workdir / "uninterrupted" / MODEL / "history.csv")
    columns = ["epoch", "train_loss", "test_accuracy", "lr"]
    pd.testing.assert_frame_equal(history[columns], reference[columns])
    weights = torch.load(workdir / target, weights_only=True)["state_dict"]
    expected = torch.load(workdir / "uninterrupted" / target, weights_only=True)["state_dict"]
    assert all(torch.equal(weights[k], expected[k]) for k in expected)
