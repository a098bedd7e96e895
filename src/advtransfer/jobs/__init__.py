"""The workflow's jobs: one module per rule file of ``workflow/rules/`` (``train``, ``finetune``,
``zero_shot``, ``attack``, ``lots``, ``tables``, ``figures``, ``report``), each job one function that
a script of ``workflow/scripts/`` calls inside ``job`` (below). A job reads its inputs (``_inputs``:
the classifier, the data, the predictions), calls the science (``data``, ``models``, ``attacks``,
``lots``, ``defences``, ``metrics``, ``tables``, ``figures``, …) and writes its outputs atomically.

The jobs are the top layer of the package: nothing imports them, and they alone import ``io`` and
``model_io`` (``tests/test_layers.py``). This module: what every job does around its work, its log,
its device and its threads.
"""

from __future__ import annotations

import contextlib
import os
import sys

from advtransfer.files import FULL, DiskFullError, FileProblem
from advtransfer.gpus import job_devices
from advtransfer.io import log_to


def use_threads(threads: int) -> None:
    """CPU threads of this job: Snakemake's ``threads`` (1 unless a rule says more), so that jobs
    running side by side do not oversubscribe the cores."""
    threads = max(1, int(threads))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)  # for torch imported later in the job
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


@contextlib.contextmanager
def job(smk):
    """Run a Snakemake ``script:`` job: output to its ``log:`` file, on the GPUs its ``gpu`` resource
    asks for, with the CPU threads Snakemake gave it.

    See ``advtransfer.gpus``: a free GPU (or a free slot of one, ``ADVTRANSFER_GPU_SLOTS``) of the
    workstation per job, or Slurm's devices on a cluster. A problem with a file that the user fixes
    (``files.FileProblem``: a full disk, a damaged file, an image that cannot be decoded) ends the job
    with its message alone, one line in the log and on Snakemake's console, no traceback.
    """
    use_threads(getattr(smk, "threads", 1))
    try:
        try:
            with log_to(smk.log[0]), job_devices(int(smk.resources.get("gpu", 0))):
                yield
        except OSError as err:  # a full disk met outside files.atomic_path (a library's log, say)
            if err.errno not in FULL or isinstance(err, DiskFullError):
                raise
            outputs = list(getattr(smk, "output", []) or [])
            raise DiskFullError(err.filename or (outputs[0] if outputs else smk.log[0]), err.errno,
                                known=bool(err.filename)) from None
    except FileProblem as err:
        line = f"error: {err}"
        print(line, file=sys.stderr, flush=True)  # Snakemake's console
        with contextlib.suppress(OSError), open(smk.log[0], "a") as log:  # a full disk may refuse even this
            log.write(line + "\n")
        raise SystemExit(1) from None
