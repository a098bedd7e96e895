"""What every workflow job does around its work: its log, and its device."""

from __future__ import annotations

import contextlib

from advtransfer.gpus import job_devices
from advtransfer.io import log_to


@contextlib.contextmanager
def job(smk):
    """Run a Snakemake ``script:`` job: output to its ``log:`` file, on the GPUs its ``gpu`` resource asks for.

    See ``advtransfer.gpus``: one free GPU of the workstation per job, or Slurm's devices on a cluster.
    """
    with log_to(smk.log[0]), job_devices(int(smk.resources.get("gpu", 0))):
        yield
