"""What every workflow job does around its work: its log, and its device."""

from __future__ import annotations

import contextlib

from advtransfer.io import log_to


@contextlib.contextmanager
def job(smk):
    """Run a Snakemake ``script:`` job: output to its ``log:`` file."""
    with log_to(smk.log[0]):
        yield
