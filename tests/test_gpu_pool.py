"""The workstation GPU pool (advtransfer.gpus) with fake devices: one job per device, dead jobs free theirs."""

import fcntl
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
with claim({n}, {devices!r}, {directory!r}, poll=0.05) as ids:
    start = time.time()
    print("claimed", ",".join(ids), flush=True)
    time.sleep({seconds})
    print(",".join(ids), start, time.time(), flush=True)
"""


def hold(tmp_path, n=1, devices=("0", "1"), seconds=0.3, stderr=None):
    code = HOLD.format(n=n, devices=list(devices), directory=str(tmp_path / "locks"), seconds=seconds)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=stderr, text=True)


def is_locked(path):
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def test_concurrent_jobs_never_share_a_device(tmp_path):
    procs = [hold(tmp_path) for _ in range(6)]
    spans = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        device, start, end = out.splitlines()[-1].split()
        spans.append((device, float(start), float(end)))
    assert {d for d, _, _ in spans} == {"0", "1"}
    for i, (d1, s1, e1) in enumerate(spans):
        for d2, s2, e2 in spans[i + 1:]:
            if d1 == d2:
                assert e1 <= s2 or e2 <= s1, f"device {d1} held twice at once"
    assert len(spans) == 6  # every job ran, one after the other on its device


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
    code = ("import torch, lightning, advtransfer.training, advtransfer.data, advtransfer.zero_shot, "
            "advtransfer.jobs; print(torch.cuda.is_initialized())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
