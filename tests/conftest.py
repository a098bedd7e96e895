"""Shared test fixtures, and the rule that a run under CI skips nothing it could run.

On a fresh clone every test runs except the GPU ones (marker ``gpu``: they need a CUDA device) and,
outside CI, the Slurm one (marker ``slurm``: it needs root to install and start a one-node cluster).
Under ``CI=true`` a skipped test of any other kind (missing data, a missing pinned dependency) is
reported as a failure: a broken install must not pass as a green run.
"""

import os

import pytest
import torch

ALLOWED_SKIPS = {"gpu"}  # markers whose tests may skip under CI


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: small models run faster and more predictably without OpenMP contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if (report.skipped and os.environ.get("CI", "").lower() in ("true", "1")
            and not any(item.get_closest_marker(m) for m in ALLOWED_SKIPS)
            and not hasattr(report, "wasxfail")):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where nothing but the GPU tests may skip: {reason}"
    return report
