"""The workstation GPU pool (advtransfer.gpus) with fake devices: one job per device (or per slot of
a device), dead jobs free theirs; jobs without a GPU never start CUDA."""

import collections
import fcntl
import json
import os
import signal
import subprocess
import sys
from types import SimpleNamespace

import pytest

from advtransfer import gpus
from advtransfer.jobs import job

HOLD = """
import sys, time
from advtransfer.gpus import claim
with claim({n}, {devices!r}, {directory!r}, poll=0.05, slots={slots}) as ids:
    start = time.time()
    print("claimed", ",".join(ids), flush=True)
    time.sleep({seconds})
    print(",".join(ids), start, time.time(), flush=True)
"""


def hold(tmp_path, n=1, devices=("0", "1"), seconds=0.3, slots=1, stderr=None):
    code = HOLD.format(n=n, devices=list(devices), directory=str(tmp_path / "locks"), seconds=seconds, slots=slots)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=stderr, text=True)


def is_locked(path):
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def spans_of(procs):
    """(device, start, end) of each finished holder."""
    spans = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        device, start, end = out.splitlines()[-1].split()
        spans.append((device, float(start), float(end)))
    return spans


def most_at_once(spans, device):
    """The largest number of holders of ``device`` at one moment."""
    mine = [(s, e) for d, s, e in spans if d == device]
    return max(sum(s <= t < e for s, e in mine) for t, _ in mine)


def test_concurrent_jobs_never_share_a_device(tmp_path):
    spans = spans_of([hold(tmp_path) for _ in range(6)])
    assert {d for d, _, _ in spans} == {"0", "1"}
    for i, (d1, s1, e1) in enumerate(spans):
        for d2, s2, e2 in spans[i + 1:]:
            if d1 == d2:
                assert e1 <= s2 or e2 <= s1, f"device {d1} held twice at once"
    assert len(spans) == 6  # every job ran, one after the other on its device


def test_with_slots_no_device_has_more_jobs_than_slots(tmp_path):
    spans = spans_of([hold(tmp_path, slots=2, seconds=0.4) for _ in range(8)])
    assert all("," not in d for d, _, _ in spans)  # one device per job
    assert {d for d, _, _ in spans} == {"0", "1"}
    assert all(most_at_once(spans, d) <= 2 for d in ("0", "1")) and len(spans) == 8


def test_two_gpus_two_slots_take_four_jobs_and_a_killed_one_frees_its_slot(tmp_path):
    holders = [hold(tmp_path, slots=2, seconds=600) for _ in range(4)]
    try:
        claimed = [h.stdout.readline().split() for h in holders]
        assert all(c[0] == "claimed" and "," not in c[1] for c in claimed)  # each sees one device
        assert collections.Counter(c[1] for c in claimed) == {"0": 2, "1": 2}
        waiter = hold(tmp_path, slots=2, seconds=0, stderr=subprocess.PIPE)
        assert "waiting for 1 free GPU(s)" in waiter.stderr.readline()  # a fifth job waits
        assert waiter.poll() is None
        os.kill(holders[2].pid, signal.SIGKILL)
        holders[2].wait()
        out, _ = waiter.communicate(timeout=30)
        assert out.splitlines()[0] == f"claimed {claimed[2][1]}"  # the killed job's device
    finally:
        for h in holders:
            h.kill()
            h.wait()


def test_a_killed_holder_frees_its_device(tmp_path):
    holder = hold(tmp_path, n=2, seconds=600)
    assert holder.stdout.readline().split() == ["claimed", "0,1"]
    lock = tmp_path / "locks" / "gpu-0.lock"
    assert is_locked(lock)
    waiter = hold(tmp_path, n=1, seconds=0, stderr=subprocess.PIPE)
    assert waiter.stderr.readline().startswith("waiting for 1 free GPU(s)")  # both devices are taken
    assert waiter.poll() is None
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    out, _ = waiter.communicate(timeout=30)
    assert out.splitlines()[0] in ("claimed 0", "claimed 1")
    assert not is_locked(lock)


def test_a_job_wanting_more_gpus_than_visible_fails(tmp_path):
    with pytest.raises(ValueError, match="wants 3 GPUs"):
        with gpus.claim(3, ["0", "1"], tmp_path):
            pass


def fake_job(tmp_path, gpu):
    return SimpleNamespace(log=[str(tmp_path / "job.log")], resources={"gpu": gpu})


@pytest.fixture
def two_fake_gpus(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,7")
    monkeypatch.setenv(gpus.LOCKS_ENV, str(tmp_path / "locks"))


def test_job_sets_cuda_visible_devices_from_the_pool(tmp_path, two_fake_gpus):
    with gpus.claim(1, ["4", "7"], tmp_path / "locks") as taken:  # another job holds device 4
        with job(fake_job(tmp_path, 1)):
            given = os.environ["CUDA_VISIBLE_DEVICES"]
    assert taken == ["4"] and given == "7"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "4,7"  # restored afterwards


def test_job_takes_a_slot_when_gpus_are_shared(tmp_path, two_fake_gpus, monkeypatch):
    monkeypatch.setenv(gpus.SLOTS_ENV, "2")
    locks = tmp_path / "locks"
    with gpus.claim(1, ["4", "7"], locks, slots=2) as a, gpus.claim(1, ["4", "7"], locks, slots=2) as b, \
            gpus.claim(1, ["4", "7"], locks, slots=2) as c:  # three of the four slots are taken
        with job(fake_job(tmp_path, 1)):
            given = os.environ["CUDA_VISIBLE_DEVICES"]
    assert (a, b, c, given) == (["4"], ["7"], ["4"], "7")  # slot 0 of each GPU first, then slot 1
    assert sorted(p.name for p in locks.iterdir()) == ["gpu-4.lock", "gpu-4.slot1.lock", "gpu-7.lock",
                                                        "gpu-7.slot1.lock"]


@pytest.mark.parametrize("bad", ["0", "-1", "four"])
def test_bad_slot_settings_are_refused(monkeypatch, bad):
    monkeypatch.setenv(gpus.SLOTS_ENV, bad)
    with pytest.raises(ValueError, match=gpus.SLOTS_ENV):
        gpus.slots_per_gpu()
    monkeypatch.delenv(gpus.SLOTS_ENV)
    assert gpus.slots_per_gpu() == 1


def test_job_without_gpu_sees_none(tmp_path, two_fake_gpus):
    with job(fake_job(tmp_path, 0)):
        assert os.environ["CUDA_VISIBLE_DEVICES"] == ""


def test_under_slurm_the_devices_are_left_alone(tmp_path, two_fake_gpus, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    with job(fake_job(tmp_path, 1)):
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "4,7"
    assert not (tmp_path / "locks").exists()


def test_pool_size_override(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3,5")
    monkeypatch.setenv(gpus.COUNT_ENV, "2")
    assert gpus.pool_devices() == ["2", "3"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setattr(gpus, "_nvidia_smi_devices", lambda: [])
    assert gpus.pool_devices() == ["0", "1"]
    monkeypatch.delenv(gpus.COUNT_ENV)
    assert gpus.pool_devices() == []  # no GPU: every job runs on the CPU


def test_importing_the_training_stack_leaves_cuda_uninitialised():
    """CUDA starts lazily: a job may still choose its devices after these imports."""
    code = ("import torch, lightning, advtransfer.training, advtransfer.data, advtransfer.jobs.zero_shot, "
            "advtransfer.jobs.train, advtransfer.jobs; print(torch.cuda.is_initialized())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# Runs jobs in a fresh process on a simulated one-GPU machine and records every call that starts
# CUDA: torch.cuda._lazy_init (any tensor, stream or generator on a GPU goes through it) and the
# driver query behind torch.cuda.is_available (cudaGetDeviceCount loads and initialises the driver,
# which then keeps the devices it saw). The simulated machine answers as a real one does: NVML counts
# the devices of CUDA_VISIBLE_DEVICES at each call, the driver once, at its first query.
NO_CUDA_PROBE = """
import json, os, sys
from pathlib import Path
from types import SimpleNamespace
import torch

calls, driver = [], []
def visible():
    return 0 if os.environ.get("CUDA_VISIBLE_DEVICES") == "" else 1
def driver_count():
    calls.append("_cuda_getDeviceCount")
    driver.append(driver[0] if driver else visible())
    return driver[-1]
def lazy_init():
    calls.append("_lazy_init")
    raise RuntimeError("CUDA started")
torch.cuda._device_count_nvml = visible
torch._C._cuda_getDeviceCount = driver_count
torch.cuda._lazy_init = lazy_init

from advtransfer.jobs import job
from advtransfer.jobs.attack import attack_job
from advtransfer.jobs.lots import attempts_job
from advtransfer.jobs.train import train_to_files
from advtransfer.jobs.zero_shot import soft_labels_job
from advtransfer.data import load_dataset
from advtransfer.recipe import TrainRecipe
from advtransfer.training import Training

tmp = Path(sys.argv[1])
data = {"name": "digits", "data_dir": str(tmp / "data"), "download": False, "train_limit": None,
        "test_limit": 120, "options": {}}
splits = load_dataset(**data)
recipe = {"epochs": 3, "batch_size": 32, "optimizer": "adam", "lr": 3e-3, "data_on_device": True}
report = {}

# A training on the CPU where a GPU is visible: it must leave CUDA alone.
for name, excluded in (("standard", None), ("zero_shot", 0)):
    out = tmp / name
    training = Training("mlp", TrainRecipe.from_config(recipe), excluded, 0, "vanilla", {}, None)
    train_to_files(splits, training, out / "model.pt", out / "history.csv", accelerator="cpu")
report["training"] = {"calls": sorted(set(calls)), "initialised": torch.cuda.is_initialized()}

# Inference jobs given no GPU by the pool (a job with the resource gpu=0), in a process without
# Lightning (which sets PYTORCH_NVML_BASED_CUDA_CHECK).
calls.clear()
os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
os.environ.update(CUDA_VISIBLE_DEVICES="0", ADVTRANSFER_GPU_LOCKS=str(tmp / "locks"))
smk = SimpleNamespace(log=[str(tmp / "job.log")], resources={"gpu": 0}, threads=1)
with job(smk):
    seen = os.environ["CUDA_VISIBLE_DEVICES"]
    model = str(tmp / "standard" / "model.pt")
    soft_labels_job(data, str(tmp / "zero_shot" / "model.pt"), model, 0, str(tmp / "soft.npz"))
    for attack, params in (("pgd", {"eps": 76.5, "eps_step": 25.5, "max_iter": 3}), ("lots", {"limit": 64})):
        attack_job(data, model, attack, params, 20, 20, str(tmp / f"{attack}.csv"), str(tmp / f"{attack}.npz"))
    attempts_job(data, model, {"dataset": "digits"}, ["LOTS"], ["logits"], ["untargeted"], 3, 64,
                 str(tmp / "attempts.csv"))
report["inference"] = {"calls": sorted(set(calls)), "initialised": torch.cuda.is_initialized(), "seen": seen}
print(json.dumps(report))
"""


def test_cpu_jobs_never_start_cuda(tmp_path):
    """A training with accelerator "cpu" (data_on_device asked for, a GPU visible) starts no CUDA;
    soft-label, attack and LOTS jobs given no GPU do not even query the driver."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    env.pop("SLURM_JOB_ID", None)
    run = subprocess.run([sys.executable, "-c", NO_CUDA_PROBE, str(tmp_path)], capture_output=True, text=True,
                         env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.splitlines()[-1])
    training, inference = report["training"], report["inference"]
    assert training == {"calls": [], "initialised": False}, training
    assert inference == {"calls": [], "initialised": False, "seen": ""}, inference
