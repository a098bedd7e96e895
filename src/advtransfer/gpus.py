"""Which GPUs a job may use: a pool of lock files on a workstation, Slurm's choice on a cluster.

Snakemake counts GPUs (``--resources gpu=N``) but never says which device a job gets. ``claim``
takes free devices by holding an ``fcntl.flock`` on one lock file per device slot and sets
``CUDA_VISIBLE_DEVICES`` to them. The kernel drops the locks when the process ends, however it
ends (``kill -9`` included), so a dead job never keeps a device.

A GPU has one slot unless ``ADVTRANSFER_GPU_SLOTS`` says more: with 4, up to four jobs share each
GPU (small models that leave most of it idle), each still seeing exactly one device. Slot 0 of a
device is ``gpu-<id>.lock``, slot k > 0 ``gpu-<id>.slot<k>.lock``; jobs take the lowest free slot
number over all devices first, so that they spread over the GPUs before doubling up.

The pool is the GPUs ``nvidia-smi`` lists (or those ``CUDA_VISIBLE_DEVICES`` names, or the first
``ADVTRANSFER_GPUS`` of them); its lock files live in ``.snakemake/gpu-locks/`` of the working
directory (``ADVTRANSFER_GPU_LOCKS`` names another folder, e.g. one shared by several studies).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

LOCKS_ENV = "ADVTRANSFER_GPU_LOCKS"
COUNT_ENV = "ADVTRANSFER_GPUS"
SLOTS_ENV = "ADVTRANSFER_GPU_SLOTS"


def pool_devices() -> list[str]:
    """The GPU ids jobs share: ``CUDA_VISIBLE_DEVICES`` if set, else ``nvidia-smi``'s, cut to ``ADVTRANSFER_GPUS``."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        devices = [d.strip() for d in visible.split(",") if d.strip()]
    else:
        devices = _nvidia_smi_devices()
    count = os.environ.get(COUNT_ENV)
    if count:
        n = int(count)
        devices = (devices or [str(i) for i in range(n)])[:n]
    return devices


def _nvidia_smi_devices() -> list[str]:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def slots_per_gpu() -> int:
    """How many jobs may share one GPU: ``ADVTRANSFER_GPU_SLOTS``, 1 when unset."""
    value = os.environ.get(SLOTS_ENV) or "1"
    try:
        slots = int(value)
    except ValueError:
        slots = 0
    if slots < 1:
        raise ValueError(f"{SLOTS_ENV} must be a whole number ≥ 1 (jobs per GPU), got {value!r}")
    return slots


def lock_dir() -> Path:
    return Path(os.environ.get(LOCKS_ENV) or Path(".snakemake") / "gpu-locks").resolve()


@contextlib.contextmanager
def claim(n: int, devices: list[str], directory: str | Path, poll: float = 1.0, slots: int = 1):
    """Hold a free slot on each of ``n`` different devices of ``devices`` while the block runs; yields
    their ids.

    Each device has ``slots`` slots (jobs that may use it at once). Waits while fewer than ``n``
    devices have a free slot (other jobs, or another study sharing ``directory``).
    """
    if slots < 1:
        raise ValueError(f"slots per GPU must be ≥ 1, got {slots}")
    if n > len(devices):
        raise ValueError(f"a job wants {n} GPUs but only {len(devices)} are visible ({devices})")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    waited = False
    while True:
        held = _try_lock(n, devices, directory, slots)
        if held:
            break
        if not waited:
            print(f"waiting for {n} free GPU(s) of {devices}, {slots} job(s) per GPU (locks in {directory})",
                  file=sys.stderr, flush=True)
            waited = True
        time.sleep(poll * random.uniform(0.5, 1.5))
    try:
        yield [device for device, _ in held]
    finally:
        for _, f in held:
            f.close()  # closing the file releases its lock


def lock_file(directory: Path, device: str, slot: int = 0) -> Path:
    """The lock file of one slot of a device (slot 0: ``gpu-<id>.lock``, as with one slot per GPU)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", device)
    return Path(directory) / (f"gpu-{name}.lock" if slot == 0 else f"gpu-{name}.slot{slot}.lock")


def _try_lock(n: int, devices: list[str], directory: Path, slots: int = 1) -> list:
    held = []
    for slot in range(slots):  # slot 0 of every device first: jobs spread over the GPUs
        for device in devices:
            if any(d == device for d, _ in held):
                continue
            f = open(lock_file(directory, device, slot), "a")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                continue
            held.append((device, f))
            if len(held) == n:
                return held
    for _, f in held:
        f.close()
    return []


@contextlib.contextmanager
def job_devices(wanted: int):
    """Give a workflow job ``wanted`` GPUs through ``CUDA_VISIBLE_DEVICES`` while the block runs.

    Up to ``ADVTRANSFER_GPU_SLOTS`` jobs (default 1) share one GPU. Under Slurm (``SLURM_JOB_ID``)
    the devices are Slurm's and nothing changes; in a training
    process Lightning started for DDP (``LOCAL_RANK``) the parent holds them. Without GPUs this does
    nothing. A job that wants none does not see the GPUs at all.
    """
    if "SLURM_JOB_ID" in os.environ:
        if wanted:
            print(f"GPUs given by Slurm: CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')}",
                  file=sys.stderr, flush=True)
        yield
        return
    devices = pool_devices()
    if "LOCAL_RANK" in os.environ or not devices:
        yield
        return
    _check_cuda_not_initialised()
    if not wanted:
        with _visible(""):
            yield
        return
    slots = slots_per_gpu()
    with claim(wanted, devices, lock_dir(), slots=slots) as ids, _visible(",".join(ids)):
        shared = f", {slots} jobs per GPU" if slots > 1 else ""
        print(f"GPUs {ids} of the pool {devices}{shared}: CUDA_VISIBLE_DEVICES={','.join(ids)}",
              file=sys.stderr, flush=True)
        yield


def _check_cuda_not_initialised() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        raise RuntimeError("CUDA was initialised before the job's GPUs were chosen; CUDA_VISIBLE_DEVICES "
                           "would have no effect")


@contextlib.contextmanager
def hidden():
    """No GPU visible while the block runs: for work meant for the CPU in a process that may see GPUs
    (a training with ``accelerator="cpu"``). Where a GPU is visible, torch's optimisers (Adam, …)
    look up the current GPU stream at every step and so start CUDA: a context on the GPU, memory
    taken from whichever job holds it. Lightning counts devices through NVML, which reads
    ``CUDA_VISIBLE_DEVICES`` at each call, so this holds as long as CUDA has not started."""
    with _visible(""):
        yield


@contextlib.contextmanager
def _visible(value: str):
    saved = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = saved
