"""The study grid (SPEC §2) read from the config: which jobs exist and the plain values each needs.

Snakemake's rules call these functions; every value a job depends on reaches it as a plain
``params`` value (dicts, lists, numbers, strings) so that editing one of them re-runs exactly the
jobs it changes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

STANDARD = "none"  # the excluded-class wildcard of the standard (all-class) classifier

_PACKAGE_DIR = Path(__file__).resolve().parent


def code_version() -> str:
    """A hash of the package's sources: jobs re-run when the science code changes."""
    h = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*")):
        if path.suffix in (".py", ".csv", ".yaml") and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(_PACKAGE_DIR)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def dataset_cfg(config: dict, dataset: str) -> dict:
    return config["datasets"][dataset]


def num_classes(config: dict, dataset: str) -> int:
    return int(dataset_cfg(config, dataset).get("num_classes", 10))


def excluded_classes(config: dict, dataset: str) -> list[int]:
    chosen = dataset_cfg(config, dataset).get("excluded_classes", "all")
    return list(range(num_classes(config, dataset))) if chosen == "all" else [int(c) for c in chosen]


def architectures(config: dict, dataset: str) -> list[str]:
    return list(dataset_cfg(config, dataset)["architectures"])


def defences(config: dict, dataset: str, architecture: str) -> list[str]:
    ds = dataset_cfg(config, dataset)
    return list(ds["architectures"][architecture].get("defences", ds.get("defences", ["vanilla"])))


def models(config: dict) -> list[tuple[str, str, str]]:
    """Every (dataset, architecture, defence) of the grid."""
    return [(d, a, f) for d in config["datasets"] for a in architectures(config, d) for f in defences(config, d, a)]


def defended_datasets(config: dict) -> list[str]:
    """Datasets with at least one defence besides vanilla."""
    return sorted({d for d, _, f in models(config) if f != "vanilla"})


def data_params(config: dict, dataset: str) -> dict:
    """What ``load_dataset`` needs for ``dataset``."""
    ds = dataset_cfg(config, dataset)
    return {
        "name": dataset,
        "data_dir": str(config.get("data_dir", "data")),
        "download": bool(config.get("download", True)),
        "train_limit": ds.get("train_limit"),
        "test_limit": ds.get("test_limit"),
        "options": dict(ds.get("options", {})),
    }


def defence_params(config: dict, defence: str) -> dict:
    return dict(config.get("defence_params", {}).get(defence, {}))


def train_params(config: dict, dataset: str, architecture: str, defence: str) -> dict:
    """The training job's plain values: data, recipe, defence and seed."""
    return {
        "data": data_params(config, dataset),
        "architecture": architecture,
        "recipe": dict(dataset_cfg(config, dataset)["architectures"][architecture]["train"]),
        "defence": defence,
        "defence_params": defence_params(config, defence),
        "seed": int(config.get("seed", 0)),
    }


def excluded_value(wildcard: str) -> int | None:
    """The excluded-class wildcard as a class index (None for the standard classifier)."""
    return None if wildcard == STANDARD else int(wildcard)
