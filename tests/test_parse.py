"""Parsing the Snakefile stays light: no torch, Lightning or OpenCV (every Slurm job parses it again)."""

import subprocess
import sys

import yaml

from workflow_helpers import ROOT

PROBE = """
import sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, Quietness, ResourceSettings

with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
    workflow = api.workflow(resource_settings=ResourceSettings(cores=1),
                            config_settings=ConfigSettings(configfiles=[Path(sys.argv[2])]),
                            snakefile=Path(sys.argv[1]) / "workflow" / "Snakefile", workdir=Path.cwd())
    workflow.dag(DAGSettings()).execute_workflow(executor="dryrun")
print(" ".join(sorted(m for m in ("torch", "lightning", "cv2", "torchvision", "matplotlib") if m in sys.modules)))
"""


def test_parsing_the_snakefile_imports_no_torch_lightning_or_opencv(tmp_path):
    config = yaml.safe_load((ROOT / "config" / "mnist.yaml").read_text())  # LOTS layers and lots_at: deep checks
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    run = subprocess.run([sys.executable, "-c", PROBE, str(ROOT), str(configfile)], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == []
    assert list((tmp_path / ".snakemake" / "advtransfer").glob("config-*.ok"))  # the deep checks ran, elsewhere
