"""Running the workflow from tests: a config in a temporary folder, Snakemake in a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Real data for the tests: the small subsets committed in tests/data (tests/data/README.md), or the
# full official files where ADVTRANSFER_TEST_DATA names a folder of the same layout.
TEST_DATA = Path(os.environ.get("ADVTRANSFER_TEST_DATA") or ROOT / "tests" / "data")
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SNAKEFILE = ROOT / "workflow" / "Snakefile"


def wait_until(condition, timeout: float = 60, interval: float = 0.05) -> bool:
    """Whether ``condition()`` became true within ``timeout`` seconds (a generous deadline, not a speed limit)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def link_raw(data_dir: Path, folder: str, name: str) -> Path:
    """Put the idx files of ``TEST_DATA/<name>`` where torchvision looks for them (no download); the folder."""
    raw = data_dir / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for f in (TEST_DATA / name).glob("*.gz"):
        if not (raw / f.name).exists():
            (raw / f.name).symlink_to(f)
    return raw


def idx_count(name: str, file: str) -> int:
    """The number of items of one of ``TEST_DATA/<name>``'s idx files (from its header)."""
    import gzip

    with gzip.open(TEST_DATA / name / file) as f:
        return int.from_bytes(f.read(8)[4:], "big")


def cifar10_folder(dest: Path, per_class: int = 2) -> Path:
    """``per_class`` real CIFAR-10 JPEG files per class and split in ``dest/cifar10/{train,test}/<class>/``."""
    import shutil
    import tarfile

    archive = TEST_DATA / "cifar10-jpeg-q75.tar.gz"
    if not archive.exists():
        shutil.copytree(TEST_DATA / "cifar10", dest / "cifar10")
        return dest / "cifar10"
    wanted: dict = {}
    with tarfile.open(archive) as tar:
        for member in tar:
            key = tuple(member.name.split("/")[:2])
            if member.isfile() and wanted.get(key, 0) < per_class:
                wanted[key] = wanted.get(key, 0) + 1
                tar.extract(member, dest / "cifar10", filter="data")
    return dest / "cifar10"


def link_fashion_mnist(data_dir: Path) -> None:
    link_raw(data_dir, "FashionMNIST", "fashion-mnist")


def write_config(workdir: Path, config: dict, name: str = "config.yaml") -> Path:
    path = workdir / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(workdir: Path, configfile: Path, *args: str, check: bool = True,
              snakefile: Path = SNAKEFILE) -> subprocess.CompletedProcess:
    """Run the project's Snakefile (or ``snakefile``, e.g. a copy's) in ``workdir`` with ``configfile``."""
    cmd = [SNAKEMAKE, "--snakefile", str(snakefile), "--directory", str(workdir),
           "--configfile", str(configfile), "--cores", "2", *args]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if check and run.returncode != 0:
        raise AssertionError(f"snakemake failed ({run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-6000:]}")
    return run


def copy_project(dest: Path) -> Path:
    """A copy of the workflow and the package sources (for edits a test makes); its Snakefile."""
    import shutil

    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("workflow", "src", "envs"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=ignore)
    return dest / "workflow" / "Snakefile"


def planned_jobs(dry_run_output: str) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every job a ``snakemake -n`` output lists (jobs of a group are indented)."""
    jobs = []
    for block in re.split(r"\n(?=[ \t]*(?:local)?rule \w+:)", dry_run_output):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if not m:
            continue
        wm = re.search(r"wildcards: (.*)", block)
        wildcards = dict(kv.split("=", 1) for kv in wm.group(1).split(", ")) if wm else {}
        jobs.append((m.group(1), wildcards))
    return jobs


def small_config(data_dir: Path, dataset: str, recipes: dict, excluded, train_limit: int, test_limit: int,
                 isomap_max_points: int | None = None, **dataset_keys) -> dict:
    """A small study of one dataset, vanilla only: ``recipes`` maps each architecture to its recipe."""
    config = {"data_dir": str(data_dir), "download": False, "seeds": [0]}
    if isomap_max_points:
        config["figures"] = {"isomap_max_points": isomap_max_points}
    config["datasets"] = {dataset: {
        "train_limit": train_limit,
        "test_limit": test_limit,
        "excluded_classes": list(excluded),
        "defences": ["vanilla"],
        **dataset_keys,
        "architectures": {a: {"train": dict(r)} for a, r in recipes.items()},
    }}
    return config


def digits_config(data_dir: Path, architectures=("mlp",), excluded=(0, 1), recipe: dict | None = None,
                  **dataset_keys) -> dict:
    """A small study on scikit-learn's digits (offline): one vanilla model per architecture, 1 epoch."""
    recipe = {"epochs": 1, "batch_size": 64, "optimizer": "sgd", "lr": 1.0e-2, "momentum": 0.9, "nesterov": True,
              **(recipe or {})}
    dataset_keys = {"train_limit": 300, "test_limit": 100, **dataset_keys}
    return small_config(data_dir, "digits", {a: recipe for a in architectures}, excluded,
                        isomap_max_points=50, **dataset_keys)


def processes_in(workdir: Path) -> list[int]:
    """Processes whose working directory is ``workdir`` (Snakemake and its jobs)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")) == workdir:
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids
