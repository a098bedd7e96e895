"""Which GPUs a job may use: a pool of lock files on a workstation, Slurm's choice on a cluster.

Snakemake counts GPUs (``--resources gpu=N``) but never says which device a job gets. ``claim``
takes free devices by holding an ``fcntl.flock`` on one lock file per device and sets
``CUDA_VISIBLE_DEVICES`` to them. The kernel drops the locks when the process ends, however it
ends (``kill -9`` included), so a dead job never keeps a device.

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


def lock_dir() -> Path:
    return Path(os.environ.get(LOCKS_ENV) or Path(".snakemake") / "gpu-locks").resolve()


@contextlib.contextmanager
def claim(n: int, devices: list[str], directory: str | Path, poll: float = 1.0):
    """Hold ``n`` free devices of ``devices`` while the block runs; yields their ids.

    Waits while fewer than ``n`` are free (another job, or another study sharing ``directory``).
    """
    if n > len(devices):
        raise ValueError(f"a job wants {n} GPUs but only {len(devices)} are visible ({devices})")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    waited = False
    while True:
        held = _try_lock(n, devices, directory)
        if held:
            break
        if not waited:
            print(f"waiting for {n} free GPU(s) of {devices} (locks in {directory})", file=sys.stderr, flush=True)
            waited = True
        time.sleep(poll * random.uniform(0.5, 1.5))
    try:
        yield [device for device, _ in held]
    finally:
        for _, f in held:
            f.close()  # closing the file releases its lock


def _try_lock(n: int, devices: list[str], directory: Path) -> list:
    held = []
    for device in devices:
        f = open(directory / f"gpu-{re.sub(r'[^A-Za-z0-9_.-]', '_', device)}.lock", "a")
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

    Under Slurm (``SLURM_JOB_ID``) the devices are Slurm's and nothing changes; in a training
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
    with claim(wanted, devices, lock_dir()) as ids, _visible(",".join(ids)):
        print(f"GPUs {ids} of the pool {devices}: CUDA_VISIBLE_DEVICES={','.join(ids)}", file=sys.stderr, flush=True)
        yield


def _check_cuda_not_initialised() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        raise RuntimeError("CUDA was initialised before the job's GPUs were chosen; CUDA_VISIBLE_DEVICES "
                           "would have no effect")


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
