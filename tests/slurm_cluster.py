"""A one-node Slurm cluster on localhost for the tests: its own munge key, config, ports and folders.

Debian's ``slurmctld slurmd slurm-client munge`` are installed when missing, but only as root and
only when ``CI`` is set (a fresh CI machine), never on someone's workstation unasked. The daemons
run in the foreground under this process and are stopped by their pids.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
PROGRAMS = ["slurmctld", "slurmd", "sbatch", "srun", "squeue", "munged"]


def why_unavailable() -> str | None:
    """None when Slurm is installed (installing it first if allowed), else the reason to skip."""
    if all(shutil.which(p) for p in PROGRAMS):
        return None if os.geteuid() == 0 else "the test cluster's daemons run as root"
    if os.geteuid() != 0:
        return "Slurm is not installed and installing it needs root"
    if not shutil.which("apt-get"):
        return "Slurm is not installed and there is no apt-get to install it"
    if not os.environ.get("CI"):
        return ("Slurm is not installed; the test installs it (apt-get install " + " ".join(PACKAGES)
                + ") only when CI is set")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        run = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if run.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """``start()`` brings up munged, slurmctld and slurmd under ``root``; ``stop()`` ends them."""

    def __init__(self, root: Path, cpus: int = 8, memory_mb: int = 64000, gpus: int = 2):
        self.root, self.cpus, self.memory_mb, self.gpus = Path(root), cpus, memory_mb, gpus
        self.host = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def env(self) -> dict:
        """What commands need to reach this cluster rather than one configured in /etc/slurm."""
        return {"SLURM_CONF": str(self.conf), "PATH": f"{self.root / 'bin'}:{os.environ['PATH']}"}

    def write_config(self) -> None:
        r = self.root
        for d in ("munge", "key", "state", "spool", "log", "dev"):
            (r / d).mkdir(parents=True, exist_ok=True)
        (r / "key").chmod(0o700)
        key = r / "key" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        for i in range(self.gpus):  # stand-ins for /dev/nvidiaN: Slurm only counts them
            (r / "dev" / f"gpu{i}").touch()
        # Snakemake's job step calls srun with every SLURM_* variable removed, SLURM_CONF too: an
        # srun of this cluster's own carries it.
        srun = r / "bin" / "srun"
        srun.parent.mkdir(exist_ok=True)
        srun.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {shutil.which("srun")} "$@"\n')
        srun.chmod(0o755)
        self.conf.write_text(f"""\
ClusterName=test
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
AuthInfo=socket={r}/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
GresTypes=gpu
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb} Gres=gpu:{self.gpus} State=UNKNOWN
PartitionName=debug Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
""")
        (r / "gres.conf").write_text(
            f"AutoDetect=off\nNodeName={self.host} Name=gpu File={r}/dev/gpu[0-{self.gpus - 1}]\n")

    def start(self, timeout: float = 60) -> None:
        self.write_config()
        r = self.root
        self._spawn("munged", ["munged", "--foreground", "--force", f"--key-file={r}/key/munge.key",
                               f"--socket={r}/munge/munge.socket", f"--pid-file={r}/munge/munged.pid",
                               f"--log-file={r}/log/munged.log", f"--seed-file={r}/munge/munged.seed"])
        self._wait(lambda: (r / "munge" / "munge.socket").exists(), timeout, "munged")
        self._spawn("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
        self._spawn("slurmd", ["slurmd", "-D", "-N", self.host, "-f", str(self.conf)])
        self._wait(self._node_idle, timeout, "the node to be idle")

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "w")
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, **self.env})

    def _node_idle(self) -> bool:
        run = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True,
                             env={**os.environ, **self.env})
        return run.stdout.strip() == "idle"

    def _wait(self, ready, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while not ready():
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead or time.monotonic() > end:
                logs = "\n".join(f"--- {f.name}\n{f.read_text()[-1500:]}" for f in (self.root / "log").iterdir())
                raise RuntimeError(f"waiting for {what}: {'exited: ' + str(dead) if dead else 'timeout'}\n{logs}")
            time.sleep(0.5)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs.values()]

    def stop(self) -> None:
        """Cancel every job, then end slurmd, slurmctld and munged (SIGTERM, then SIGKILL)."""
        env = {**os.environ, **self.env}
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            subprocess.run(["scancel", "--full", "-u", "root"], capture_output=True, env=env)
            end = time.monotonic() + 20
            while time.monotonic() < end:
                queue = subprocess.run(["squeue", "-h"], capture_output=True, text=True, env=env)
                if queue.returncode != 0 or not queue.stdout.strip():
                    break
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def alive(pid: int) -> bool:
    """Whether a process ``pid`` runs (a zombie counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
