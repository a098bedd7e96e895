"""The workflow and the package are clean: `snakemake --lint`, `snakefmt` and `ruff` have nothing to say."""

import subprocess
import sys
from pathlib import Path

from workflow_helpers import ROOT, SNAKEFILE, SNAKEMAKE

BIN = Path(sys.executable).parent


def test_snakemake_lint_is_clean():
    run = subprocess.run([SNAKEMAKE, "--lint", "--snakefile", str(SNAKEFILE), "--directory", str(ROOT)],
                         capture_output=True, text=True)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "Lints for" not in out, out[-3000:]


def test_rules_are_formatted_with_snakefmt():
    run = subprocess.run([str(BIN / "snakefmt"), "--check", "workflow"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]


def test_the_repository_is_clean_under_ruff():
    """The package, the tests, the benchmarks and the workflow's scripts (pyproject.toml, [tool.ruff])."""
    run = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
