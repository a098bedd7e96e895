"""The study grid (method §2) as typed values, built once from the validated config.

``Study.from_config(config)`` reads the config as the workflow sees it (checked against
``workflow/schemas/config.schema.yaml``, whose defaults are filled in: the schema is the one home
of every default). The Snakefile builds one ``Study`` (``STUDY``, ``workflow/rules/common.smk``);
the rules read its attributes and hand every job plain values (dicts, lists, numbers, strings,
e.g. ``Dataset.data``, ``Study.train_params``), never the dataclasses: Snakemake tracks ``params``
by their value, so that editing one re-runs exactly the jobs it changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from advtransfer import catalog, own
from advtransfer.constants import (
    FINETUNING,
    FINETUNING_LAYERS,
    FINETUNING_TECHNIQUE,
    NO_LAYER,
    OUTPUT_LAYER,
    STANDARD,
)

# Defences that fine-tune a trained classifier, and the defence of the classifier they start from:
# LOTS adversarial training and adversarial fine-tuning (method §4) start from the vanilla
# classifier of the same excluded class.
FINE_TUNED = {"lots_at": "vanilla", FINETUNING: "vanilla"}
LOTS_ATTACK = "lots"  # untargeted LOTS at the lots section's attack_layer: an attack of Table 3
ATTACK_NAMES = tuple(catalog.ATTACKS)  # every registered attack (advtransfer.catalog)
# Paper 2's Basic LeNet (its Table 1, method §4.9): the vanilla classifier of this architecture on
# this dataset, where the study runs LOTS on it.
BASIC_LENET = ("mnist", "lenet_caffe")


@dataclass(frozen=True)
class Defence:
    """A defence of the grid as the config names it (``name``; an instance such as ``ft_fgs``), the
    registered defence behind it (``kind``) and its parameters: the top-level ``defence_params`` of its
    kind, then of its own name, each updated by the dataset's own (method §2.5)."""

    name: str
    kind: str
    params: dict
    base: str | None  # the defence of the classifier it fine-tunes (None: it trains from scratch)
    example_sets: tuple[str, ...]  # the adversarial example sets it fine-tunes on (method §4.10)


@dataclass(frozen=True)
class Architecture:
    """An architecture of a dataset: its recipe (a complete ``train`` section), its defences in the
    config's order, and, for an architecture given by import path, its own model
    ({"model", "model_kwargs"}, ``advtransfer.own``)."""

    name: str
    recipe: dict
    defences: dict[str, Defence]
    own_model: dict | None


@dataclass(frozen=True)
class Attacks:
    """A dataset's attacks section (method §2.6): the first ``n_attack`` test images, in batches of
    ``batch_size``, each attack of ``run`` with its ``params`` (0–255 scale)."""

    n_attack: int
    batch_size: int
    run: tuple[str, ...]
    params: dict[str, dict]


@dataclass(frozen=True)
class Lots:
    """A dataset's lots section (method §4), every key of the schema's ``lots``."""

    n_lots: int
    n_train: int | None
    layers: dict[str, tuple[str, ...]]
    techniques: tuple[str, ...]
    modes: tuple[str, ...]
    example_mode: str
    limit: int
    attack_layer: str
    visualise: int

    def layers_of(self, architecture: str) -> list[str]:
        """The LOTS layers of ``architecture`` (the logits when the section names none for it)."""
        return list(self.layers.get(architecture, (OUTPUT_LAYER,)))

    def params(self, architecture: str) -> dict:
        """The section as plain values, ``layers`` those of ``architecture``."""
        return {"n_lots": self.n_lots, "n_train": self.n_train, "techniques": list(self.techniques),
                "modes": list(self.modes), "example_mode": self.example_mode, "limit": self.limit,
                "attack_layer": self.attack_layer, "visualise": self.visualise,
                "layers": self.layers_of(architecture)}


@dataclass(frozen=True)
class Dataset:
    """A dataset of the study: its classes, the classes of its Raw Zero-Shot classifiers, what
    ``load_dataset`` needs (``data``, plain values), its architectures, attacks and LOTS section."""

    name: str
    num_classes: int
    excluded_classes: tuple[int, ...]
    data: dict
    architectures: dict[str, Architecture]
    attacks: Attacks
    lots: Lots | None
    own_source: bool  # an own data source (an image folder or a dataset class, ``advtransfer.own``)

    @property
    def attack_names(self) -> list[str]:
        """The attacks run on the standard classifiers, LOTS last when the LOTS section names an
        ``attack_layer``."""
        names = list(self.attacks.run)
        if self.lots and self.lots.attack_layer and LOTS_ATTACK not in names:
            names.append(LOTS_ATTACK)
        return names

    def attack_params(self, attack: str) -> dict:
        """An attack's parameters (0–255 scale); LOTS takes its layer and line-search limit from the
        LOTS section."""
        params = dict(self.attacks.params.get(attack, {}))
        if attack == LOTS_ATTACK and self.lots:
            params = {"layer": self.lots.attack_layer, "limit": self.lots.limit, **params}
        return params

    def own_modules(self, architecture: str | None = None) -> tuple[str, ...]:
        """The modules a job of this dataset (and ``architecture``) imports for an own source and model:
        what builds them and your model's module (code versions, ``advtransfer.code``)."""
        modules = [own.DATA_MODULE] if self.own_source else []
        spec = self.architectures[architecture].own_model if architecture else None
        if spec:
            modules += [own.MODEL_MODULE, own.split_ref(spec["model"])[0]]
        return tuple(modules)

    def defence(self, architecture: str, name: str) -> Defence:
        return self.architectures[architecture].defences[name]


@dataclass(frozen=True)
class Study:
    """The whole study: its replicate seeds (method §5.1), the figures' Isomap bound and its datasets."""

    seeds: tuple[int, ...]
    isomap_max_points: int
    datasets: dict[str, Dataset]

    @classmethod
    def from_config(cls, config: dict) -> "Study":
        """The study of a validated config (the schema's defaults filled in)."""
        datasets = {name: _dataset(config, name) for name in config["datasets"]}
        return cls(tuple(int(s) for s in config["seeds"]), int(config["figures"]["isomap_max_points"]), datasets)

    # -- the grid ----------------------------------------------------------------------------------

    @property
    def first_seed(self) -> int:
        """The seed of the figures drawn from one training run (Isomap, histograms, LOTS, training curves)."""
        return self.seeds[0]

    @property
    def models(self) -> list[tuple[str, str, str]]:
        """Every (dataset, architecture, defence) of the grid."""
        return [(d, a, f) for d, ds in self.datasets.items() for a, arch in ds.architectures.items()
                for f in arch.defences]

    def classifiers(self) -> list[tuple[str, str, str, int, str]]:
        """Every classifier: (dataset, architecture, defence, seed, excluded), excluded ``STANDARD``
        for the standard one."""
        return [(d, a, f, s, e) for d, a, f in self.models for s in self.seeds
                for e in [STANDARD, *map(str, self.datasets[d].excluded_classes)]]

    @property
    def zero_shot_datasets(self) -> list[str]:
        """Datasets with Raw Zero-Shot classifiers (they get soft-labels, metrics and Tables 1–3)."""
        return [d for d, ds in self.datasets.items() if ds.excluded_classes]

    @property
    def defended_datasets(self) -> list[str]:
        """Datasets with Raw Zero-Shot classifiers and at least one defence besides vanilla (Table 2)."""
        return sorted({d for d, _, f in self.models if f != "vanilla" and d in self.zero_shot_datasets})

    @property
    def attacked_datasets(self) -> list[str]:
        """Datasets with attacks and Raw Zero-Shot classifiers (Table 3 correlates the two)."""
        return [d for d in self.zero_shot_datasets if self.datasets[d].attack_names]

    @property
    def lots_datasets(self) -> list[str]:
        """Datasets with a ``lots`` section (method §4); the others run no LOTS."""
        return [d for d, ds in self.datasets.items() if ds.lots]

    @property
    def finetuning_datasets(self) -> list[str]:
        """Datasets with a fine-tuning defence and a ``lots`` section: they get paper 2's Table 1."""
        return [d for d in self.lots_datasets
                if any(self.datasets[d].defence(a, f).example_sets for m, a, f in self.models if m == d)]

    def lots_tables(self) -> list[tuple[str, str, str, str]]:
        """(dataset, architecture, defence, table) of every table of LOTS attempts: per model,
        "baselines" (FGS, FGV, HC, which have no layer) and one table per LOTS layer."""
        tables = []
        for d, a, f in self.models:
            lots = self.datasets[d].lots
            if lots:
                tables += [(d, a, f, "baselines")] if set(lots.techniques) - {"LOTS"} else []
                tables += [(d, a, f, layer) for layer in lots.layers_of(a)] if "LOTS" in lots.techniques else []
        return tables

    def lots_figures(self) -> list[tuple[str, str]]:
        """(dataset, architecture) of every LOTS figure (``visualise`` > 0)."""
        return [(d, a) for d in self.lots_datasets for a in self.datasets[d].architectures
                if self.datasets[d].lots.visualise > 0]

    def basic_lenet(self) -> tuple[str, str] | None:
        """(dataset, architecture) of paper 2's Basic LeNet (``BASIC_LENET``) when the study runs LOTS
        on its vanilla classifier; None otherwise."""
        d, a = BASIC_LENET
        tables = [t for m, arch, f, t in self.lots_tables() if (m, arch, f) == (d, a, "vanilla")]
        return (d, a) if tables else None

    # -- the plain values of the jobs --------------------------------------------------------------

    def train_params(self, dataset: str, architecture: str, defence: str, seed: int) -> dict:
        """The training job's plain values: data, recipe, defence and ``seed`` (a fine-tuning defence's
        starting classifier is the job's input ``base``, ``FINE_TUNED``)."""
        ds = self.datasets[dataset]
        arch, chosen = ds.architectures[architecture], ds.defence(architecture, defence)
        return {
            "data": ds.data,
            "architecture": architecture,
            **({"own_model": arch.own_model} if arch.own_model else {}),
            "recipe": arch.recipe,
            "defence": chosen.kind,
            "defence_params": chosen.params,
            "seed": int(seed),
        }

    def example_params(self, dataset: str, architecture: str, name: str) -> dict:
        """What the job generating the example set ``name`` needs (method §4.10): its technique and
        layer, the comparison's line-search ``limit``, ``n_train`` (origins: the first n correctly
        classified training images; None: all) and the success criterion ``mode``."""
        lots = self.datasets[dataset].lots
        technique, layer = example_source(name)
        return {"technique": technique, "layer": layer, "limit": lots.limit, "n_train": lots.n_train,
                "mode": lots.example_mode}

    def code_modules(self) -> tuple[str, ...]:
        """Every module the study's jobs import through the registries (its datasets' sources,
        architectures, defences and attacks) and the modules of its own models and data: with the job
        scripts, what the study's code version covers (``advtransfer.code``, the study summary)."""
        modules = set()
        for dataset, architecture, defence in self.models:
            ds = self.datasets[dataset]
            modules.update(catalog.modules(dataset, architecture, ds.defence(architecture, defence).kind))
            modules.update(ds.own_modules(architecture))
            modules.update(m for attack in ds.attack_names for m in catalog.modules(attack=attack))
        return tuple(sorted(modules))


# -- from the config -------------------------------------------------------------------------------


def num_classes(ds: dict) -> int:
    """A dataset section's ``num_classes``; by default an image folder's class folders, else 10."""
    if "num_classes" not in ds and "image_folder" in ds:
        return len(own.folder_layout(ds["image_folder"])["classes"])
    return int(ds.get("num_classes", 10))


def test_size(name: str, ds: dict) -> int | None:
    """The test split's size where known before loading: a registered dataset's, an image folder's
    (a dataset section as given: the config checks it before the schema fills in its defaults)."""
    if "image_folder" in ds:
        return len(own.folder_layout(ds["image_folder"])["files"]["test"])
    if own.source_spec(ds) is not None:
        return None
    return catalog.SPLIT_FACTS.get(name, {}).get("test_size")


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


def example_sets(kind: str, params: dict) -> tuple[str, ...]:
    """The adversarial example sets a defence of ``kind`` with ``params`` trains on (method §4.10):
    ``fgs``, ``fgv``, ``hc``, or ``lots_<layer>`` per LOTS layer; none but for a fine-tuning defence."""
    if kind != FINETUNING:
        return ()
    technique = params.get("technique", FINETUNING_TECHNIQUE)
    if technique == "LOTS":
        return tuple(f"lots_{layer}" for layer in params.get("layers", FINETUNING_LAYERS))
    return (str(technique).lower(),)


def example_source(name: str) -> tuple[str, str]:
    """(technique, layer) of an example set named by ``example_sets`` (layer ``NO_LAYER`` without one)."""
    technique, _, layer = name.partition("_")
    return technique.upper(), layer or NO_LAYER


def excluded_value(wildcard: str) -> int | None:
    """The excluded-class wildcard as a class index (None for the standard classifier)."""
    return None if wildcard == STANDARD else int(wildcard)


def _params(config: dict, name: str, dataset: str | None) -> dict:
    params = dict(config.get("defence_params", {}).get(name, {}))
    if dataset is not None:
        params.update(config["datasets"][dataset].get("defence_params", {}).get(name, {}))
    return params


def _defence(config: dict, dataset: str, name: str) -> Defence:
    kind = defence_kind(config, name, dataset)
    params = defence_params(config, name, dataset)
    return Defence(name, kind, params, FINE_TUNED.get(kind), example_sets(kind, params))


def _dataset(config: dict, name: str) -> Dataset:
    ds = config["datasets"][name]
    n = num_classes(ds)
    chosen = ds["excluded_classes"]
    excluded = () if chosen == "none" else tuple(range(n)) if chosen == "all" else tuple(int(c) for c in chosen)
    source = own.source_spec(ds)
    data = {"name": name, "data_dir": str(config["data_dir"]), "download": bool(config["download"]),
            "train_limit": ds.get("train_limit"), "test_limit": ds.get("test_limit"),
            "options": dict(ds.get("options", {})), **({"source": source} if source else {})}
    architectures = {
        a: Architecture(a, dict(spec["train"]),
                        {f: _defence(config, name, f) for f in spec.get("defences", ds["defences"])},
                        own.model_spec(ds, a))
        for a, spec in ds["architectures"].items()}
    attacks = ds["attacks"]
    lots = None
    if ds.get("lots"):
        section = ds["lots"]
        lots = Lots(section["n_lots"], section.get("n_train"),
                    {a: tuple(layers) for a, layers in section.get("layers", {}).items()},
                    tuple(section["techniques"]), tuple(section["modes"]), section["example_mode"],
                    section["limit"], section["attack_layer"], section["visualise"])
    return Dataset(name, n, excluded, data, architectures,
                   Attacks(attacks["n_attack"], attacks["batch_size"], tuple(attacks["run"]),
                           {k: dict(v) for k, v in attacks.get("params", {}).items()}),
                   lots, source is not None)
