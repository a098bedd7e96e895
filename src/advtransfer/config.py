"""Config checks beyond the JSON schema (``workflow/schemas/config.schema.yaml``): the one checker.

The schema checks keys and types. ``check_config`` checks names against the catalog and values
against each other and against the data (classes, test-split sizes), without importing torch;
with ``deep=True`` it also builds every configured defence and attack with its parameters and
looks up every LOTS layer on the architectures (this needs torch). Every problem is a
``ConfigError`` naming the key. The Snakefile runs the quick checks while it is parsed and the
deep ones once per config (``checked_once``, in a separate process), so that parsing imports no
torch, and both before any job starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from advtransfer import catalog, study
from advtransfer.recipe import TrainRecipe

OUTPUT_LAYER = "logits"  # advtransfer.lots.layers.OUTPUT, every classifier's last layer


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key."""


def check_config(config: dict, deep: bool = True) -> None:
    """Raise ``ConfigError`` naming the first bad key of ``config``."""
    datasets = config.get("datasets") or {}
    if not datasets:
        raise ConfigError("datasets: at least one dataset is needed")
    for name, ds in datasets.items():
        where = f"datasets.{name}"
        _known(catalog.DATASETS, "dataset", name, where)
        facts = catalog.SPLIT_FACTS.get(name, {})
        n = study.num_classes(config, name)
        if facts.get("num_classes") not in (None, n):
            raise ConfigError(f"{where}.num_classes: {n}, but {name} has {facts['num_classes']} classes; "
                              f"leave the key out or set it to {facts['num_classes']}")
        chosen = ds.get("excluded_classes", "all")
        if chosen not in ("all", "none"):
            bad = [c for c in chosen if not 0 <= int(c) < n]
            if bad:
                raise ConfigError(f"{where}.excluded_classes: {bad} outside the classes 0..{n - 1}")
            repeated = sorted({c for c in chosen if chosen.count(c) > 1})
            if repeated:
                raise ConfigError(f"{where}.excluded_classes: {repeated} listed more than once; list each class once")
        for attack in (ds.get("attacks") or {}).get("run", []):
            _known(catalog.ATTACKS, "attack", attack, f"{where}.attacks.run")
        for arch, spec in ds["architectures"].items():
            _known(catalog.ARCHITECTURES, "architecture", arch, f"{where}.architectures")
            try:
                TrainRecipe.from_config(dict(spec["train"]))
            except (TypeError, ValueError) as err:
                raise ConfigError(f"{where}.architectures.{arch}.train: {err}") from None
            for defence in study.defences(config, name, arch):
                _known(catalog.DEFENCES, "defence", study.defence_kind(config, defence, name),
                       f"{where}.architectures.{arch}.defences ({defence})")
                _check_example_sets(config, name, arch, defence)
        if ds.get("lots"):
            architectures = study.architectures(config, name)
            unknown = sorted(set(ds["lots"].get("layers", {})) - set(architectures))
            if unknown:
                raise ConfigError(f"{where}.lots.layers: {unknown} are not architectures of {name} ({architectures})")
    for defence in (config.get("defence_params") or {}):
        _known(catalog.DEFENCES, "defence", study.defence_kind(config, defence), f"defence_params.{defence}")
    for name, ds in datasets.items():
        for defence in (ds.get("defence_params") or {}):
            _known(catalog.DEFENCES, "defence", study.defence_kind(config, defence, name),
                   f"datasets.{name}.defence_params.{defence}")
    if deep:
        _check_parameters(config)
        _check_layers(config)


def _check_example_sets(config: dict, dataset: str, architecture: str, defence: str) -> None:
    """A fine-tuning defence (method §4.10) names a technique, and its dataset has a ``lots`` section
    (the line search's limit, the comparison)."""
    if study.defence_kind(config, defence, dataset) != study.FINETUNING:
        return
    where = f"defence_params.{defence}"
    technique = {**study.FINETUNING_DEFAULTS, **study.defence_params(config, defence, dataset)}["technique"]
    if technique not in catalog.TECHNIQUES:
        raise ConfigError(f"{where}.technique: {technique!r}; one of {', '.join(catalog.TECHNIQUES)}")
    if dataset not in study.lots_datasets(config):
        raise ConfigError(f"datasets.{dataset}: the defence {defence!r} needs a lots section (method §4)")


def _known(table: dict, kind: str, name: str, where: str) -> None:
    if name not in table:
        raise ConfigError(f"{where}: unknown {kind} {name!r}; known: {', '.join(sorted(table))}")


def check_sample_counts(config: dict) -> None:
    """``n_attack`` and ``n_lots`` given in the config take the first test images: no more than the
    test split (or ``test_limit``) has. Run it before the schema fills in the defaults (1000 and 10:
    at most, as many as there are)."""
    for name, ds in (config.get("datasets") or {}).items():
        test_size = catalog.SPLIT_FACTS.get(name, {}).get("test_size")
        if test_size is None or not isinstance(ds, dict):
            continue
        limit = ds.get("test_limit")
        available = min(test_size, limit) if isinstance(limit, int) and limit > 0 else test_size
        source = "test_limit" if available < test_size else "the test split"
        for section, key in (("attacks", "n_attack"), ("lots", "n_lots")):
            value = (ds.get(section) or {}).get(key)
            if isinstance(value, int) and value > available:
                raise ConfigError(f"datasets.{name}.{section}.{key}: {value}, but {source} has {available} "
                                  f"images; the maximum is {available}")


def _check_parameters(config: dict) -> None:
    """Every configured defence and attack builds with its parameters (attacks on a stand-in model)."""
    from torch import nn

    from advtransfer.attacks import build_attack
    from advtransfer.defences import build_defence

    checks = [(d, None, "defence_params") for d in config.get("defence_params") or {}]
    for name, ds in config["datasets"].items():
        checks += [(d, name, f"datasets.{name}.defence_params") for d in ds.get("defence_params") or {}]
    for defence, dataset, where in checks:
        try:
            build_defence(study.defence_kind(config, defence, dataset), study.defence_params(config, defence, dataset))
        except ValueError as err:
            raise ConfigError(f"{where}.{defence}: {err}") from None
    for name, ds in config["datasets"].items():
        attacks = ds.get("attacks") or {}
        for attack in attacks.get("run", []):
            try:
                build_attack(attack, nn.Identity(), **attacks.get("params", {}).get(attack, {}))
            except (KeyError, ValueError) as err:
                raise ConfigError(f"datasets.{name}.attacks.params.{attack}: {err}") from None


def _check_layers(config: dict) -> None:
    """Every LOTS layer (a ``lots`` section's, the ``lots_at`` defence's) exists in its architecture."""
    for dataset in config["datasets"]:
        where = f"datasets.{dataset}.lots"
        has_lots = dataset in study.lots_datasets(config)
        for architecture in study.architectures(config, dataset):
            checks = []
            if has_lots:
                lots = study.lots_params(config, dataset, architecture)
                checks += [(f"{where}.layers.{architecture}", layer) for layer in lots["layers"]]
                checks.append((f"{where}.attack_layer", lots["attack_layer"]))
            if "lots_at" in study.defences(config, dataset, architecture):
                layer = study.defence_params(config, "lots_at", dataset).get("layer", OUTPUT_LAYER)
                checks.append((f"defence_params.lots_at.layer ({dataset}/{architecture})", layer))
            for defence in study.defences(config, dataset, architecture):
                checks += [(f"defence_params.{defence}.layers ({dataset}/{architecture})", layer)
                           for layer in (study.example_source(e)[1] for e in
                                         study.example_sets(config, dataset, defence)) if layer != "-"]
            checks = [(key, layer) for key, layer in checks if layer != OUTPUT_LAYER]
            model = _stand_in(architecture, study.num_classes(config, dataset)) if checks else None
            for key, layer in checks:
                from advtransfer.lots.layers import LayerFeatures

                try:
                    LayerFeatures(model, layer)
                except ValueError as err:
                    raise ConfigError(f"{key}: {err}") from None


def _stand_in(architecture: str, num_classes: int):
    """The architecture's classifier without weights (on the meta device): its layer names."""
    import torch

    from advtransfer.models import build_classifier
    from advtransfer.models.imagenet import INPUT_SIZES

    with torch.device("meta"):
        return build_classifier(architecture, 3, INPUT_SIZES.get(architecture, 32), num_classes, [0.0] * 3, [1.0] * 3)


def checked_once(config: dict, folder: str | Path) -> None:
    """The deep checks of ``config``, once: in a separate Python (the caller imports no torch), the
    verdict kept in ``folder`` under the hash of the config and of this module's code."""
    from advtransfer.code import code_version

    text = json.dumps(config, sort_keys=True, default=str)
    key = hashlib.sha256(f"{text}\n{code_version(modules=(__name__,))}".encode()).hexdigest()[:20]
    stamp = Path(folder) / f"config-{key}.ok"
    if stamp.exists():
        return
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "advtransfer.config"], input=text, capture_output=True, text=True,
                         env=env)
    if run.returncode == 2:
        raise ConfigError(run.stdout.strip())
    if run.returncode != 0:
        raise RuntimeError(f"the config check failed to run:\n{run.stderr[-3000:]}")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.touch()


if __name__ == "__main__":  # the deep checks of a config given as JSON on standard input
    try:
        check_config(json.load(sys.stdin))
    except ConfigError as err:
        print(err)
        sys.exit(2)
