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

from advtransfer import catalog, own, study
from advtransfer.constants import FINETUNING, FINETUNING_TECHNIQUE, NO_LAYER, OUTPUT_LAYER
from advtransfer.recipe import TrainRecipe
from advtransfer.schema import ANY, defaults
from advtransfer.study import Dataset, Defence, Study


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key."""


def check_config(config: dict, deep: bool = True) -> None:
    """Raise ``ConfigError`` naming the first bad key of ``config`` (validated against the schema, its
    defaults filled in: as the workflow sees it)."""
    datasets = config.get("datasets") or {}
    if not datasets:
        raise ConfigError("datasets: at least one dataset is needed")
    for name, ds in datasets.items():
        where = f"datasets.{name}"
        if own.source_spec(ds) is None:
            for key in ("dataset_kwargs", "image_size"):
                if key in ds:
                    raise ConfigError(f"{where}.{key}: only for your own data (image_folder or dataset_class); "
                                      f"remove it")
            _known(catalog.DATASETS, "dataset", name, where)
        else:
            _check_own_source(name, ds, where)
        facts = catalog.SPLIT_FACTS.get(name, {}) if own.source_spec(ds) is None else {}
        n = study.num_classes(ds)
        if facts.get("num_classes") not in (None, n):
            raise ConfigError(f"{where}.num_classes: {n}, but {name} has {facts['num_classes']} classes; "
                              f"leave the key out or set it to {facts['num_classes']}")
        chosen = ds["excluded_classes"]
        if chosen not in ("all", "none"):
            bad = [c for c in chosen if not 0 <= int(c) < n]
            if bad:
                raise ConfigError(f"{where}.excluded_classes: {bad} outside the classes 0..{n - 1}")
            repeated = sorted({c for c in chosen if chosen.count(c) > 1})
            if repeated:
                raise ConfigError(f"{where}.excluded_classes: {repeated} listed more than once; list each class once")
        for attack in ds["attacks"]["run"]:
            _known(catalog.ATTACKS, "attack", attack, f"{where}.attacks.run")
        for arch, spec in ds["architectures"].items():
            if "model" in spec:
                _check_module(spec["model"], f"{where}.architectures.{arch}.model", "model")
            elif "model_kwargs" in spec:
                raise ConfigError(f"{where}.architectures.{arch}.model_kwargs: given without model; add "
                                  f"model: 'package.module:Name' or remove model_kwargs")
            else:
                _known(catalog.ARCHITECTURES, "architecture", arch, f"{where}.architectures")
            try:
                TrainRecipe.from_config(dict(spec["train"]))
            except (TypeError, ValueError) as err:
                raise ConfigError(f"{where}.architectures.{arch}.train: {err}") from None
        if ds.get("lots"):
            architectures = list(ds["architectures"])
            unknown = sorted(set(ds["lots"].get("layers", {})) - set(architectures))
            if unknown:
                raise ConfigError(f"{where}.lots.layers: {unknown} are not architectures of {name} ({architectures})")
    for defence in (config.get("defence_params") or {}):
        _known(catalog.DEFENCES, "defence", study.defence_kind(config, defence), f"defence_params.{defence}")
    for name, ds in datasets.items():
        for defence in (ds.get("defence_params") or {}):
            _known(catalog.DEFENCES, "defence", study.defence_kind(config, defence, name),
                   f"datasets.{name}.defence_params.{defence}")
    grid = Study.from_config(config)
    for d, a, f in grid.models:
        defence = grid.datasets[d].defence(a, f)
        _known(catalog.DEFENCES, "defence", defence.kind, f"datasets.{d}.architectures.{a}.defences ({f})")
        _check_example_sets(grid, d, defence)
    if deep:
        shapes = _check_own(config, grid)
        _check_parameters(config, grid, shapes)
        _check_layers(grid, shapes)


def _check_own_source(name: str, ds: dict, where: str) -> None:
    """An own data source's keys (``advtransfer.own``), and an image folder's layout, without torch."""
    if name in catalog.DATASETS:
        raise ConfigError(f"{where}: {name} is a registered dataset; give your own data another name")
    if "image_folder" in ds and "dataset_class" in ds:
        raise ConfigError(f"{where}: both image_folder and dataset_class given; keep one")
    if "dataset_kwargs" in ds and "dataset_class" not in ds:
        raise ConfigError(f"{where}.dataset_kwargs: given without dataset_class; remove it")
    if "image_folder" in ds:
        try:
            classes = own.folder_layout(ds["image_folder"])["classes"]
        except (OSError, ValueError) as err:
            raise ConfigError(f"{where}.image_folder: {ds['image_folder']!r}: {err}") from None
        if ds.get("num_classes", len(classes)) != len(classes):
            raise ConfigError(f"{where}.num_classes: {ds['num_classes']}, but {ds['image_folder']} has {len(classes)} "
                              f"class folders; leave the key out or set it to {len(classes)}")
    else:
        _check_module(ds["dataset_class"], f"{where}.dataset_class", "dataset class")
        if "num_classes" not in ds:
            raise ConfigError(f"{where}.num_classes: missing; a dataset_class needs its number of classes here "
                              f"(it is checked against the data before any job)")


def _check_module(ref: str, key: str, what: str) -> None:
    """``ref`` has the form "module:Name" and its module exists (found without importing it)."""
    try:
        module, _ = own.split_ref(ref)
    except ValueError as err:
        raise ConfigError(f"{key}: {ref!r} is not an import path; {err}") from None
    if own.module_missing(module):
        raise ConfigError(f"{key}: {ref!r}: no module {module} (looked on PYTHONPATH, Python's path and in "
                          f"{Path.cwd()}); fix the path, or add the {what}'s folder to PYTHONPATH")


def _check_example_sets(grid: Study, dataset: str, defence: Defence) -> None:
    """A fine-tuning defence (method §4.10) names a technique, and its dataset has a ``lots`` section
    (the line search's limit, the comparison)."""
    if defence.kind != FINETUNING:
        return
    technique = defence.params.get("technique", FINETUNING_TECHNIQUE)
    if technique not in catalog.TECHNIQUES:
        raise ConfigError(f"defence_params.{defence.name}.technique: {technique!r}; one of "
                          f"{', '.join(catalog.TECHNIQUES)}")
    if dataset not in grid.lots_datasets:
        raise ConfigError(f"datasets.{dataset}: the defence {defence.name!r} needs a lots section (method §4)")


def _known(table: dict, kind: str, name: str, where: str) -> None:
    if name not in table:
        raise ConfigError(f"{where}: unknown {kind} {name!r}; known: {', '.join(sorted(table))}")


# Keys of earlier versions, and what replaces them.
RENAMED = {"seed": "seeds, a list (one training per seed, method §5.1): write `seeds: [{value}]`"}


def check_as_given(config: dict) -> None:
    """The checks on the values as given, before the schema fills in its defaults: renamed keys, and
    ``n_attack`` and ``n_lots``, which take the first test images: no more than the test split (or
    ``test_limit``) has (their defaults, 1000 and 10, mean at most as many as there are)."""
    for key, instead in RENAMED.items():
        if key in config:
            raise ConfigError(f"{key}: this key is now {instead.format(value=config[key])}")
    for name, ds in (config.get("datasets") or {}).items():
        if not isinstance(ds, dict):
            continue
        try:
            test_size = study.test_size(name, ds)
        except (OSError, ValueError):  # a bad image folder: check_config names it
            continue
        if test_size is None:
            continue
        _check_counts(name, ds, test_size)


# The schema's defaults of n_attack and n_lots mean "at most": once filled in, not checked.
COUNTS = (("attacks", "n_attack"), ("lots", "n_lots"))


def _check_counts(name: str, ds: dict, test_size: int, defaults_filled: bool = False) -> None:
    limit = ds.get("test_limit")
    available = min(test_size, limit) if isinstance(limit, int) and limit > 0 else test_size
    source = "test_limit" if available < test_size else "the test split"
    for section, key in COUNTS:
        value = (ds.get(section) or {}).get(key)
        if defaults_filled and value == defaults()["datasets"][ANY][section][key]:
            continue
        if isinstance(value, int) and value > available:
            raise ConfigError(f"datasets.{name}.{section}.{key}: {value}, but {source} has {available} "
                              f"images; the maximum is {available}")


def _check_parameters(config: dict, grid: Study, shapes: dict) -> None:
    """Every configured defence builds with its parameters, and every attack on a stand-in of each
    architecture it attacks (``_stand_in``: the classifier without weights, whose layer names a LOTS
    attack checks)."""
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
    for name, ds in grid.datasets.items():
        for architecture in ds.architectures if ds.attacks.run else ():
            model = _stand_in(architecture, ds.num_classes, shapes[name], ds.architectures[architecture].own_model)
            for attack in ds.attacks.run:
                try:
                    build_attack(attack, model, **ds.attacks.params.get(attack, {}))
                except (KeyError, ValueError) as err:
                    raise ConfigError(f"datasets.{name}.attacks.params.{attack}: {err}") from None


def _check_own(config: dict, grid: Study) -> dict[str, tuple[int, int, int]]:
    """Own sources load (a dataset class: its classes and test split against the config); own models
    import, build and give one score per class on an input of the data's shape. The input shape
    (C, H, W) of each dataset's images."""
    shapes = {}
    for name, ds in config["datasets"].items():
        spec = own.source_spec(ds)
        if spec is None:
            shapes[name] = catalog.INPUT_SHAPES.get(name, (3, 32, 32))
        elif "image_folder" in spec:
            from advtransfer.data.folders import folder_shape

            try:
                shapes[name] = folder_shape(own.folder_layout(spec["image_folder"]), spec.get("image_size"))
            except (OSError, ValueError) as err:
                raise ConfigError(f"datasets.{name}.image_folder: {ds['image_folder']!r}: {err}") from None
            if shapes[name][1] != shapes[name][2]:
                raise ConfigError(f"datasets.{name}.image_folder: {ds['image_folder']!r}: its images are "
                                  f"{shapes[name][2]}×{shapes[name][1]}, the study takes square images; set "
                                  f"datasets.{name}.image_size to resize them")
        else:
            shapes[name] = _check_dataset_class(config, grid.datasets[name])
        n = grid.datasets[name].num_classes
        for arch, architecture in grid.datasets[name].architectures.items():
            if architecture.own_model:
                sizes = {n, n - 1} if grid.datasets[name].excluded_classes else {n}
                _check_own_model(architecture.own_model, shapes[name], sorted(sizes),
                                 f"datasets.{name}.architectures.{arch}.model")
    return shapes


def _check_dataset_class(config: dict, dataset: Dataset) -> tuple[int, int, int]:
    """Load a dataset class's data (kept for the jobs); its classes and test split against the config."""
    from advtransfer.data import DatasetNotFoundError, load_dataset

    name = dataset.name
    key, ds = f"datasets.{name}.dataset_class", config["datasets"][name]
    params = {**dataset.data, "train_limit": None, "test_limit": None}
    try:
        splits = load_dataset(**params)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"{key}: {ds['dataset_class']!r} cannot be imported: {err}; fix the import path") from None
    except (DatasetNotFoundError, TypeError, ValueError) as err:
        raise ConfigError(f"{key}: {ds['dataset_class']!r} with dataset_kwargs {ds.get('dataset_kwargs', {})} "
                          f"could not be loaded: {err}") from None
    if splits.num_classes != dataset.num_classes:
        raise ConfigError(f"datasets.{name}.num_classes: {dataset.num_classes}, but "
                          f"{ds['dataset_class']} has {splits.num_classes} classes; set it to {splits.num_classes}")
    _check_counts(name, ds, len(splits.test_y), defaults_filled=True)
    return tuple(splits.train_x.shape[1:])


def _check_own_model(spec: dict, shape: tuple[int, int, int], sizes: list[int], key: str) -> None:
    """The own model imports, builds for ``sizes`` classes and gives that many scores per image."""
    from advtransfer.models.own import build_own, output_size

    try:
        own.load_object(spec["model"])
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"{key}: {spec['model']!r} cannot be imported: {err}; fix the import path") from None
    for k in sizes:
        call = f"num_classes={k}, input_shape={tuple(shape)}, model_kwargs {spec['model_kwargs']}"
        try:
            out = output_size(build_own(spec, shape[0], shape[1], k), shape[0], shape[1])
        except Exception as err:  # noqa: BLE001 (your code: any error is reported with its key)
            raise ConfigError(f"{key}: {spec['model']!r} fails with {call}: {type(err).__name__}: {err}") from None
        if out != (k,):
            raise ConfigError(f"{key}: {spec['model']!r} gives outputs of shape {out} per image with {call}; it "
                              f"must give num_classes scores, ({k},): size its last layer by num_classes")


def _check_layers(grid: Study, shapes: dict) -> None:
    """Every LOTS layer (a ``lots`` section's, a ``lots_at`` defence's, a fine-tuning defence's) exists
    in its architecture."""
    from advtransfer.lots.layers import LayerFeatures

    for name, dataset in grid.datasets.items():
        where = f"datasets.{name}.lots"
        for architecture, arch in dataset.architectures.items():
            checks = []
            if dataset.lots:
                checks += [(f"{where}.layers.{architecture}", layer) for layer in dataset.lots.layers_of(architecture)]
                checks.append((f"{where}.attack_layer", dataset.lots.attack_layer))
            for defence in arch.defences.values():
                if defence.kind == "lots_at":
                    checks.append((f"defence_params.{defence.name}.layer ({name}/{architecture})",
                                   defence.params.get("layer", OUTPUT_LAYER)))
                checks += [(f"defence_params.{defence.name}.layers ({name}/{architecture})", layer)
                           for layer in (study.example_source(e)[1] for e in defence.example_sets)
                           if layer != NO_LAYER]
            checks = [(key, layer) for key, layer in checks if layer != OUTPUT_LAYER]
            model = _stand_in(architecture, dataset.num_classes, shapes[name], arch.own_model) if checks else None
            for key, layer in checks:
                try:
                    LayerFeatures(model, layer)
                except ValueError as err:
                    raise ConfigError(f"{key}: {err}") from None


def _stand_in(architecture: str, num_classes: int, shape: tuple[int, int, int], own_model: dict | None = None):
    """The architecture's classifier without weights (on the meta device): its layer names."""
    import torch

    from advtransfer.models import build_classifier
    from advtransfer.models.imagenet import INPUT_SIZES

    channels, size = (shape[0], shape[1]) if own_model else (3, INPUT_SIZES.get(architecture, 32))
    with torch.device("meta"):
        return build_classifier(architecture, channels, size, num_classes, [0.0] * channels, [1.0] * channels,
                                own_model=own_model)


def checked_once(config: dict, folder: str | Path) -> None:
    """The deep checks of ``config``, once: in a separate Python (the caller imports no torch), the
    verdict kept in ``folder`` under the hash of the config and of this module's code."""
    from advtransfer.code import code_version

    text = json.dumps(config, sort_keys=True, default=str)
    grid = Study.from_config(config)
    own_code = [code_version(modules=grid.datasets[d].own_modules(a)) for d, a, _ in grid.models]
    key = hashlib.sha256(f"{text}\n{code_version(modules=(__name__,))}\n{own_code}".encode()).hexdigest()[:20]
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
