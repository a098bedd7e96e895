"""Config checks beyond the JSON schema (``workflow/schemas/config.schema.yaml``).

The schema checks keys and types; ``check_config`` checks names against the registries and values
against each other (excluded classes within the dataset's classes). Both run before any job starts.
"""

from __future__ import annotations

from advtransfer import study
from advtransfer.data import DATASETS, SPLIT_FACTS
from advtransfer.defences import DEFENCES
from advtransfer.models import ARCHITECTURES
from advtransfer.registry import UnknownNameError
from advtransfer.training import TrainRecipe


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key."""


def check_config(config: dict) -> None:
    """Raise ``ConfigError`` naming the first bad key of ``config``."""
    datasets = config.get("datasets") or {}
    if not datasets:
        raise ConfigError("datasets: at least one dataset is needed")
    for name, ds in datasets.items():
        where = f"datasets.{name}"
        _known(DATASETS, name, where)
        facts = SPLIT_FACTS.get(name, {})
        n = study.num_classes(config, name)
        if facts.get("num_classes") not in (None, n):
            raise ConfigError(f"{where}.num_classes: {n}, but {name} has {facts['num_classes']} classes; "
                              f"leave the key out or set it to {facts['num_classes']}")
        chosen = ds.get("excluded_classes", "all")
        if chosen != "all":
            bad = [c for c in chosen if not 0 <= int(c) < n]
            if bad:
                raise ConfigError(f"{where}.excluded_classes: {bad} outside the classes 0..{n - 1}")
            repeated = sorted({c for c in chosen if chosen.count(c) > 1})
            if repeated:
                raise ConfigError(f"{where}.excluded_classes: {repeated} listed more than once; list each class once")
        _check_sample_counts(ds, where, facts.get("test_size"))
        _check_attacks(ds.get("attacks", {}), f"{where}.attacks")
        for arch, spec in ds["architectures"].items():
            _known(ARCHITECTURES, arch, f"{where}.architectures")
            try:
                TrainRecipe.from_config(dict(spec["train"]))
            except (TypeError, ValueError) as err:
                raise ConfigError(f"{where}.architectures.{arch}.train: {err}") from None
            for defence in study.defences(config, name, arch):
                _known(DEFENCES, defence, f"{where}.architectures.{arch}.defences")
    for defence, params in (config.get("defence_params") or {}).items():
        _check_defence(defence, params, "defence_params")
    for name, ds in datasets.items():
        for defence in (ds.get("defence_params") or {}):
            _check_defence(defence, study.defence_params(config, defence, name), f"datasets.{name}.defence_params")


def _check_sample_counts(ds: dict, where: str, test_size: int | None) -> None:
    """``n_attack`` and ``n_lots`` take the first test images: no more than the test split has."""
    if test_size is None:
        return
    available = min(test_size, ds.get("test_limit") or test_size)
    source = "test_limit" if available < test_size else "the test split"
    for section, key in (("attacks", "n_attack"), ("lots", "n_lots")):
        value = (ds.get(section) or {}).get(key)
        if value is not None and value > available:
            raise ConfigError(f"{where}.{section}.{key}: {value}, but {source} has {available} images; "
                              f"the maximum is {available}")


def _check_defence(defence: str, params: dict, where: str) -> None:
    from advtransfer.defences import build_defence

    _known(DEFENCES, defence, where)
    try:
        build_defence(defence, params)
    except ValueError as err:
        raise ConfigError(f"{where}.{defence}: {err}") from None


def _known(registry, name: str, where: str) -> None:
    try:
        registry.get(name)
    except UnknownNameError as err:
        raise ConfigError(f"{where}: {err}") from None


def _check_attacks(attacks: dict, where: str) -> None:
    """Every configured attack builds with its parameters (on a stand-in model)."""
    from torch import nn

    from advtransfer.attacks import build_attack

    params = attacks.get("params", {})
    for name in attacks.get("run", []):
        try:
            build_attack(name, nn.Identity(), **params.get(name, {}))
        except (KeyError, ValueError) as err:
            raise ConfigError(f"{where}.params.{name}: {err}") from None
