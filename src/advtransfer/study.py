"""The study grid (method §2) read from the config: which jobs exist and the plain values each needs.

Snakemake's rules call these functions; every value a job depends on reaches it as a plain
``params`` value (dicts, lists, numbers, strings) so that editing one of them re-runs exactly the
jobs it changes.
"""

from __future__ import annotations

from advtransfer import catalog, own
from advtransfer.constants import FINETUNING, FINETUNING_LAYERS, FINETUNING_TECHNIQUE, NO_LAYER, OUTPUT_LAYER, STANDARD


def dataset_cfg(config: dict, dataset: str) -> dict:
    return config["datasets"][dataset]


def num_classes(config: dict, dataset: str) -> int:
    """The config's ``num_classes``; by default an image folder's class folders, else 10."""
    ds = dataset_cfg(config, dataset)
    if "num_classes" not in ds and "image_folder" in ds:
        return len(own.folder_layout(ds["image_folder"])["classes"])
    return int(ds.get("num_classes", 10))


def test_size(config: dict, dataset: str) -> int | None:
    """The test split's size where known before loading: a registered dataset's, an image folder's."""
    ds = dataset_cfg(config, dataset)
    if "image_folder" in ds:
        return len(own.folder_layout(ds["image_folder"])["files"]["test"])
    if own.source_spec(ds) is not None:
        return None
    return catalog.SPLIT_FACTS.get(dataset, {}).get("test_size")


def excluded_classes(config: dict, dataset: str) -> list[int]:
    """The classes of the dataset's Raw Zero-Shot classifiers ("none": the standard classifiers only)."""
    chosen = dataset_cfg(config, dataset).get("excluded_classes", "all")
    if chosen == "none":
        return []
    return list(range(num_classes(config, dataset))) if chosen == "all" else [int(c) for c in chosen]


def zero_shot_datasets(config: dict) -> list[str]:
    """Datasets with Raw Zero-Shot classifiers (they get soft-labels, metrics and Tables 1–3)."""
    return [d for d in config["datasets"] if excluded_classes(config, d)]


def architectures(config: dict, dataset: str) -> list[str]:
    return list(dataset_cfg(config, dataset)["architectures"])


def defences(config: dict, dataset: str, architecture: str) -> list[str]:
    ds = dataset_cfg(config, dataset)
    return list(ds["architectures"][architecture].get("defences", ds.get("defences", ["vanilla"])))


def models(config: dict) -> list[tuple[str, str, str]]:
    """Every (dataset, architecture, defence) of the grid."""
    return [(d, a, f) for d in config["datasets"] for a in architectures(config, d) for f in defences(config, d, a)]


def seeds(config: dict) -> list[int]:
    """The replicate seeds (method §5.1): every training job and what follows it runs once per seed."""
    return [int(s) for s in config["seeds"]]


def first_seed(config: dict) -> int:
    """The seed of the figures drawn from one training run (Isomap, histograms, LOTS, training curves)."""
    return seeds(config)[0]


def defended_datasets(config: dict) -> list[str]:
    """Datasets with Raw Zero-Shot classifiers and at least one defence besides vanilla (Table 2)."""
    return sorted({d for d, _, f in models(config) if f != "vanilla" and d in zero_shot_datasets(config)})


def data_params(config: dict, dataset: str) -> dict:
    """What ``load_dataset`` needs for ``dataset``."""
    ds = dataset_cfg(config, dataset)
    return {
        "name": dataset,
        "data_dir": str(config["data_dir"]),
        "download": bool(config["download"]),
        "train_limit": ds.get("train_limit"),
        "test_limit": ds.get("test_limit"),
        "options": dict(ds.get("options", {})),
        **({"source": own.source_spec(ds)} if own.source_spec(ds) else {}),
    }


def own_model(config: dict, dataset: str, architecture: str) -> dict | None:
    """An architecture given by import path: {"model", "model_kwargs"} (None: a registered one)."""
    return own.model_spec(dataset_cfg(config, dataset), architecture)


def own_modules(config: dict, dataset: str, architecture: str | None = None) -> tuple[str, ...]:
    """The modules a job of ``dataset`` (and ``architecture``) imports for an own source and model:
    what builds them and your model's module (code versions, ``advtransfer.code``)."""
    modules = [own.DATA_MODULE] if own.source_spec(dataset_cfg(config, dataset)) else []
    spec = own_model(config, dataset, architecture) if architecture else None
    if spec:
        modules += [own.MODEL_MODULE, own.split_ref(spec["model"])[0]]
    return tuple(modules)


def _params(config: dict, name: str, dataset: str | None) -> dict:
    params = dict(config.get("defence_params", {}).get(name, {}))
    if dataset is not None:
        params.update(dataset_cfg(config, dataset).get("defence_params", {}).get(name, {}))
    return params


def defence_kind(config: dict, defence: str, dataset: str | None = None) -> str:
    """The registered defence behind the name ``defence``: the name itself, or, for an instance such as
    ``ft_fgs``, the ``defence`` key of its ``defence_params`` (e.g. ``adversarial_finetuning``)."""
    return _params(config, defence, dataset).get("defence", defence)


def defence_params(config: dict, defence: str, dataset: str | None = None) -> dict:
    """A defence's parameters: the top-level ``defence_params`` of its kind, then of its own name
    (an instance's), each updated by the dataset's own."""
    kind = defence_kind(config, defence, dataset)
    params = _params(config, kind, dataset) if kind != defence else {}
    params.update(_params(config, defence, dataset))
    params.pop("defence", None)
    return params


# Defences that fine-tune a trained classifier, and the defence of the classifier they start from:
# LOTS adversarial training and adversarial fine-tuning (method §4) start from the vanilla
# classifier of the same excluded class.
FINE_TUNED = {"lots_at": "vanilla", "adversarial_finetuning": "vanilla"}
# its technique and LOTS layers when the config gives none
FINETUNING_DEFAULTS = {"technique": FINETUNING_TECHNIQUE, "layers": list(FINETUNING_LAYERS)}


def base_defence(config: dict, defence: str, dataset: str | None = None) -> str | None:
    """The defence of the classifier ``defence`` fine-tunes (None: it trains from scratch)."""
    return FINE_TUNED.get(defence_kind(config, defence, dataset))


def example_sets(config: dict, dataset: str, defence: str) -> list[str]:
    """The adversarial example sets a fine-tuning defence trains on (method §4.10): ``fgs``, ``fgv``,
    ``hc``, or ``lots_<layer>`` per LOTS layer; none for other defences."""
    if defence_kind(config, defence, dataset) != FINETUNING:
        return []
    params = {**FINETUNING_DEFAULTS, **defence_params(config, defence, dataset)}
    if params["technique"] == "LOTS":
        return [f"lots_{layer}" for layer in params["layers"]]
    return [str(params["technique"]).lower()]


def example_source(name: str) -> tuple[str, str]:
    """(technique, layer) of an example set named by ``example_sets`` (layer "-" without one)."""
    technique, _, layer = name.partition("_")
    return technique.upper(), layer or NO_LAYER


def finetuning_datasets(config: dict) -> list[str]:
    """Datasets with a fine-tuning defence and a ``lots`` section: they get paper 2's Table 1."""
    return [d for d in lots_datasets(config)
            if any(example_sets(config, d, f) for m, _, f in models(config) if m == d)]


def recipe(config: dict, dataset: str, architecture: str) -> dict:
    """The architecture's training recipe on ``dataset`` (``advtransfer.recipe.TrainRecipe``)."""
    return dict(dataset_cfg(config, dataset)["architectures"][architecture]["train"])


def train_params(config: dict, dataset: str, architecture: str, defence: str, seed: int) -> dict:
    """The training job's plain values: data, recipe, defence and ``seed`` (a fine-tuning defence's
    starting classifier is the job's input ``base``, ``FINE_TUNED``)."""
    params = defence_params(config, defence, dataset)
    return {
        "data": data_params(config, dataset),
        "architecture": architecture,
        **({"own_model": own_model(config, dataset, architecture)} if own_model(config, dataset, architecture) else {}),
        "recipe": recipe(config, dataset, architecture),
        "defence": defence_kind(config, defence, dataset),
        "defence_params": params,
        "seed": int(seed),
    }


ATTACK_NAMES = tuple(catalog.ATTACKS)  # every registered attack (advtransfer.catalog)
LOTS_ATTACK = "lots"  # untargeted LOTS at the lots section's attack_layer: an attack of Table 3


def attack_names(config: dict, dataset: str) -> list[str]:
    """The attacks run on ``dataset``'s standard classifiers, LOTS last when the dataset has a LOTS section."""
    ds = dataset_cfg(config, dataset)
    names = list(ds.get("attacks", {}).get("run", []))
    if ds.get("lots") and ds["lots"].get("attack_layer") and LOTS_ATTACK not in names:
        names.append(LOTS_ATTACK)
    return names


def attack_params(config: dict, dataset: str, attack: str) -> dict:
    """An attack's parameters for ``dataset`` (magnitudes on the 0–255 scale); LOTS takes its layer
    and line-search limit from the dataset's ``lots`` section."""
    ds = dataset_cfg(config, dataset)
    params = dict(ds.get("attacks", {}).get("params", {}).get(attack, {}))
    if attack == LOTS_ATTACK and ds.get("lots"):
        params = {"layer": ds["lots"]["attack_layer"], "limit": ds["lots"]["limit"], **params}
    return params


def attack_setting(config: dict, dataset: str, key: str):
    """``n_attack`` or ``batch_size`` of the dataset's attacks (defaults: the schema's)."""
    return dataset_cfg(config, dataset)["attacks"][key]


def lots_datasets(config: dict) -> list[str]:
    """Datasets with a ``lots`` section (method §4); the others run no LOTS."""
    return [d for d in config["datasets"] if dataset_cfg(config, d).get("lots")]


def lots_params(config: dict, dataset: str, architecture: str) -> dict:
    """The dataset's ``lots`` section (defaults: the schema's); ``layers`` are those of ``architecture``
    (the logits when the section names none for it)."""
    cfg = dict(dataset_cfg(config, dataset).get("lots") or {})
    layers = cfg.pop("layers", {}).get(architecture, [OUTPUT_LAYER])
    return {**cfg, "layers": list(layers)}


def lots_param(config: dict, key: str):
    """A Snakemake params function: ``key`` of ``lots_params`` for the job's dataset and architecture."""
    return lambda wildcards: lots_params(config, wildcards.dataset, wildcards.architecture)[key]


def lots_tables(config: dict) -> list[tuple[str, str, str, str]]:
    """(dataset, architecture, defence, table) of every table of LOTS attempts: per model,
    "baselines" (FGS, FGV, HC, which have no layer) and one table per LOTS layer."""
    tables = []
    for d, a, f in models(config):
        if d in lots_datasets(config):
            lots = lots_params(config, d, a)
            tables += [(d, a, f, "baselines")] if set(lots["techniques"]) - {"LOTS"} else []
            tables += [(d, a, f, layer) for layer in lots["layers"]] if "LOTS" in lots["techniques"] else []
    return tables


def example_params(config: dict, dataset: str, architecture: str, name: str) -> dict:
    """What the job generating the example set ``name`` needs (method §4.10): its technique and
    layer, the comparison's line-search ``limit``, ``n_train`` (origins: the first n correctly
    classified training images; None: all) and the success criterion ``mode`` (``example_mode``)."""
    lots = lots_params(config, dataset, architecture)
    technique, layer = example_source(name)
    return {"technique": technique, "layer": layer, "limit": lots["limit"], "n_train": lots.get("n_train"),
            "mode": lots.get("example_mode", "untargeted")}


def lots_figures(config: dict) -> list[tuple[str, str]]:
    """(dataset, architecture) of every LOTS figure (``visualise`` > 0)."""
    return [(d, a) for d in lots_datasets(config) for a in architectures(config, d)
            if lots_params(config, d, a)["visualise"] > 0]


def excluded_value(wildcard: str) -> int | None:
    """The excluded-class wildcard as a class index (None for the standard classifier)."""
    return None if wildcard == STANDARD else int(wildcard)


def code_modules(config: dict) -> tuple[str, ...]:
    """Every module the study's jobs import through the registries (its datasets' sources,
    architectures, defences and attacks) and the modules of its own models and data: with the job
    scripts, what the study's code version covers (``advtransfer.code``, the study summary)."""
    modules = set()
    for dataset, architecture, defence in models(config):
        modules.update(catalog.modules(dataset, architecture, defence_kind(config, defence, dataset)))
        modules.update(own_modules(config, dataset, architecture))
        modules.update(m for attack in attack_names(config, dataset) for m in catalog.modules(attack=attack))
    return tuple(sorted(modules))
