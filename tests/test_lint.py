"""`snakemake --lint` has nothing to say about the workflow."""

import subprocess

from workflow_helpers import ROOT, SNAKEFILE, SNAKEMAKE


def test_lint_is_clean():
    run = subprocess.run([SNAKEMAKE, "--lint", "--snakefile", str(SNAKEFILE), "--directory", str(ROOT)],
                         capture_output=True, text=True)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "Lints for" not in out, out[-3000:]
