"""What the jobs read back survives what a crash or a full disk does to it (running.md, "Guarantees"):

- a chunk of paper 2's comparison (``<out>.chunks/chunk_*.csv``) cut short or garbled is made again;
- an ``adversarial_examples`` job killed by SIGKILL (a real kill of its process) goes on after its
  last finished chunk and writes the file of an uninterrupted run;
- attack, LOTS, predictions and example jobs refuse a model that is not finite and write nothing.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from advtransfer.data import load_dataset
from advtransfer.finetuning import FIELDS
from advtransfer.model_io import NonFiniteModelError
from training_helpers import train
from workflow_helpers import ROOT, wait_until

pytestmark = pytest.mark.usefixtures("one_thread")

RECIPE = {"epochs": 3, "batch_size": 32, "optimizer": "adam", "lr": 1.0e-3}
KEYS = {"dataset": "digits", "architecture": "mlp", "defence": "vanilla", "seed": 0}


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """A briefly trained MLP on the digits (offline): its data values (as a job gets them) and model file."""
    root = tmp_path_factory.mktemp("digits")
    data = {"name": "digits", "data_dir": str(root / "data"), "download": False}
    train(load_dataset(**data), "mlp", None, RECIPE, root / "mlp", accelerator="cpu")
    return data, root / "mlp" / "model.pt"


def damage(path: Path, how: str) -> None:
    """A file cut in half (a full disk, a crash mid-copy) or its bytes replaced by random ones."""
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2] if how == "cut" else np.random.default_rng(0).bytes(len(data)))


def attempts(data, model, out, **kwargs):
    from advtransfer.jobs.lots import attempts_job

    attempts_job(data, str(model), KEYS, ["FGS", "HC"], [], ["untargeted"], 8, 256, str(out), code="c",
                 chunk_size=3, **kwargs)


@pytest.mark.parametrize("how", ["cut", "garbled"])
def test_a_damaged_comparison_chunk_is_made_again(digits_model, tmp_path, monkeypatch, capsys, how):
    from advtransfer.jobs import lots as lots_job

    data, model = digits_model
    whole = tmp_path / "whole.csv"
    attempts(data, model, whole)

    comparison, calls = lots_job.lots_comparison, []

    def stopped_after_two_chunks(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt("stopped")
        calls.append(1)
        return comparison(*args, **kwargs)

    out = tmp_path / "baselines.csv"
    monkeypatch.setattr(lots_job, "lots_comparison", stopped_after_two_chunks)
    with pytest.raises(KeyboardInterrupt):
        attempts(data, model, out)
    monkeypatch.setattr(lots_job, "lots_comparison", comparison)
    chunk = tmp_path / "baselines.csv.chunks" / "chunk_000000.csv"
    assert chunk.exists() and not out.exists()
    damage(chunk, how)
    capsys.readouterr()
    attempts(data, model, out)
    assert out.read_bytes() == whole.read_bytes()
    assert f"warning: {chunk}" in capsys.readouterr().err


SLOW_GENERATION = """
import sys, time
from advtransfer.lots import search
line_search = search.line_search

def slow(*args, **kwargs):  # each chunk takes a while, so that the kill lands between chunks
    result = line_search(*args, **kwargs)
    time.sleep(float(sys.argv[1]))
    return result

search.line_search = slow
import torch
torch.set_num_threads(1)
from advtransfer.jobs.finetune import examples_job
examples_job({data!r}, {model!r}, None, "HC", "-", 256, 12, {out!r}, code="c", chunk_size=3)
"""


def generate(data, model, out: Path, pause: float) -> subprocess.Popen:
    """The example job in a process of its own (as the workflow runs it), its chunks ``pause`` s apart."""
    script = SLOW_GENERATION.format(data=data, model=str(model), out=str(out))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", script, str(pause)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def test_a_generation_killed_by_sigkill_goes_on_after_its_last_chunk(digits_model, tmp_path):
    data, model = digits_model
    whole = tmp_path / "whole.npz"
    assert generate(data, model, whole, 0).wait() == 0

    out = tmp_path / "hc.npz"
    chunks = tmp_path / "hc.npz.chunks"
    run = generate(data, model, out, 2.0)
    assert wait_until(lambda: (chunks / "chunk_000000.npz").exists() or run.poll() is not None, 120)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert run.returncode == -signal.SIGKILL, run.stderr.read()
    made = sorted(p.name for p in chunks.glob("chunk_*.npz"))
    assert made and "chunk_000003.npz" not in made and not out.exists()

    again = generate(data, model, out, 0)
    log = again.communicate()[1]
    assert again.returncode == 0, log
    assert f"resuming: {len(made)} of 4 chunks already made" in log
    with np.load(out) as a, np.load(whole) as b:
        assert all(np.array_equal(a[k], b[k]) for k in FIELDS)
    assert not chunks.exists()


@pytest.fixture
def nan_model(digits_model, tmp_path):
    _, model = digits_model
    payload = torch.load(model, weights_only=True)
    name = next(k for k, v in payload["state_dict"].items() if v.is_floating_point())
    payload["state_dict"][name] = torch.full_like(payload["state_dict"][name], float("nan"))
    bad = tmp_path / "model.pt"
    torch.save(payload, bad)
    return bad


def test_attack_lots_and_example_jobs_refuse_a_model_that_is_not_finite(digits_model, nan_model, tmp_path):
    from advtransfer.jobs.attack import attack_job
    from advtransfer.jobs.finetune import examples_job
    from advtransfer.jobs.lots import attempts_job, predictions_job

    data, _ = digits_model
    out = tmp_path / "out"
    jobs = {
        "attack": lambda: attack_job(data, str(nan_model), "fgm", {}, 10, 10, f"{out}.csv", f"{out}_images.npz"),
        "lots": lambda: attempts_job(data, str(nan_model), KEYS, ["LOTS"], ["logits"], ["untargeted"], 4, 64,
                                     f"{out}.csv"),
        "lots_baselines": lambda: attempts_job(data, str(nan_model), KEYS, ["FGS"], [], ["untargeted"], 4, 64,
                                               f"{out}.csv"),
        "predictions": lambda: predictions_job(data, str(nan_model), f"{out}.npz"),
        "adversarial_examples": lambda: examples_job(data, str(nan_model), None, "FGS", "-", 64, 4, f"{out}.npz"),
    }
    for name, job in jobs.items():
        with pytest.raises(NonFiniteModelError, match=str(nan_model)):
            job()
        assert not list(tmp_path.glob("out*")), name  # nothing written, no chunk folder either
