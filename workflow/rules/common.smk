# Config validation, the study grid and input functions. The logic lives in advtransfer.study.

import os
import sys

# The workflow runs its own package: this parse and every job (a conda environment included) import
# advtransfer from src/ beside the workflow, so code versions and jobs see the same code.
SRC = str(Path(workflow.basedir).parent / "src")
sys.path.insert(0, SRC)
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
)

from snakemake.utils import validate, min_version

from advtransfer import catalog, study
from advtransfer.code import code_version
from advtransfer.config import (
    ConfigError,
    check_config,
    check_as_given,
    checked_once,
)

min_version("9.0")

try:
    check_as_given(config)  # the values given, before the schema fills in its defaults
except ConfigError as err:
    raise WorkflowError(f"config: {err}") from None
validate(config, schema="../schemas/config.schema.yaml")
try:
    check_config(
        config, deep=False
    )  # names, recipes, classes, sample counts: no torch while parsing
    checked_once(
        config, ".snakemake/advtransfer"
    )  # parameters and LOTS layers, once per config
except ConfigError as err:
    raise WorkflowError(f"config: {err}") from None

SCRIPTS = Path(workflow.basedir) / "scripts"


def code(script, *modules):
    """Code version of a job running ``scripts/<script>.py`` (and the lazily imported ``modules``):
    it changes exactly when code the job imports changes (advtransfer.code)."""
    return code_version(SCRIPTS / f"{script}.py", modules=modules)


def model_code(script):
    """Code version of a job that reads a dataset and builds a model: its script, the dataset's
    source, the architecture, the defence and the attack if any (catalog.modules), and an own
    source's or model's modules (study.own_modules: your model's file counts)."""
    return lambda w: code(
        script,
        *catalog.modules(
            w.dataset,
            w.architecture,
            study.defence_kind(config, getattr(w, "defence", "vanilla"), w.dataset),
            getattr(w, "attack", None),
        ),
        *study.own_modules(config, w.dataset, w.architecture),
    )


# A run that allows no GPU (the default profile's `gpu: 0`) gives its jobs none: they run on the CPU.
# The main process decides; a job's own Snakemake process (on a cluster node) inherits the decision.
if workflow.is_main_process:
    _GPU_LIMIT = workflow.global_resources.get("gpu")
    NO_GPU = _GPU_LIMIT is not None and _GPU_LIMIT.value == 0
    os.environ.update(ADVTRANSFER_NO_GPU=str(int(NO_GPU)))
else:
    NO_GPU = os.environ.get("ADVTRANSFER_NO_GPU") == "1"


def gpus(n):
    """The GPUs a job asks for: ``n``, or 0 when the run allows none."""
    return 0 if NO_GPU else n


CONDA_ENV = (
    "../../envs/environment.yaml"  # for --use-conda; the same pins as pyproject.toml
)
R = "results"
# Jobs of one trained model (soft-labels, metrics, attacks) share one cluster submission; the
# Slurm profile's group-components sets how many go together.
MODEL_GROUP = "model_{dataset}_{architecture}_{defence}_{seed}"


wildcard_constraints:
    dataset="[a-z0-9_]+",
    architecture="[a-z0-9_]+",
    defence="[a-z0-9_]+",
    seed=r"\d+",
    excluded=r"none|\d+",
    klass=r"\d+",


# Replicate seeds (method §5.1): a `seed<seed>` level in the paths of every model and what follows it.
SEEDS = study.seeds(config)
FIRST_SEED = study.first_seed(config)
# Every classifier: (dataset, architecture, defence, seed, excluded), excluded "none" for the standard one.
CLASSIFIERS = [
    (d, a, f, s, e)
    for d, a, f in study.models(config)
    for s in SEEDS
    for e in [study.STANDARD, *study.excluded_classes(config, d)]
]
TRAINING_FIGURES = [
    f"{R}/figures/{d}/training/{a}/{f}.png" for d, a, f in study.models(config)
]


def trained(file, standard=False, defence=None, seed=None):
    """Input function: rule train's ``file`` ("model" or "history") for the job's dataset,
    architecture and seed (or ``seed``): the standard classifier, or the one without the job's
    class ``klass``.
    """
    return lambda w: getattr(rules.train.output, file).format(
        dataset=w.dataset,
        architecture=w.architecture,
        defence=defence or w.defence,
        seed=w.seed if seed is None else seed,
        excluded=study.STANDARD if standard else w.klass,
    )


def standard_predictions(w):
    """Input function: rule predictions' file of the job's standard classifier."""
    return rules.predictions.output[0].format(
        **dict(w.items(), excluded=study.STANDARD)
    )


def history_of(dataset, architecture, defence, seed, excluded):
    """Rule train's history of one classifier."""
    return rules.train.output.history.format(
        dataset=dataset,
        architecture=architecture,
        defence=defence,
        seed=seed,
        excluded=excluded,
    )


def study_outputs():
    """Every table and figure of the study (not the report's pages): the targets of `rule all`."""
    return [
        *(rules.aggregate.output if study.zero_shot_datasets(config) else []),
        *outputs(rules.zero_shot_figures.output.isomap, figure_rows()),
        *outputs(rules.zero_shot_figures.output.histograms, figure_rows()),
        *(rules.table2.output if defended_datasets() else []),
        *(rules.table1_figure.output if study.zero_shot_datasets(config) else []),
        *rules.defence_figures.output,
        *(rules.table3.output if attacked_datasets() else []),
        *rules.correlation_figures.output,
        *(rules.lots_comparison.output if lots_rows() else []),
        *(rules.paper2_table1.output if finetuning_models() else []),
        *outputs(rules.lots_figure.output[0], lots_figure_rows()),
    ]


def train_inputs(w):
    """A defence that fine-tunes a trained classifier (LOTS-AT, adversarial fine-tuning) starts from
    that classifier; adversarial fine-tuning also trains on its example sets."""
    base = study.base_defence(config, w.defence, w.dataset)
    if base is None:
        return {}
    base = rules.train.output.model.format(**dict(w.items(), defence=base))
    return {"base": base, "examples": example_files(w)}


def example_files(w):
    """The adversarial example files a training job fine-tunes on (method §4.10; none for most defences)."""
    return outputs(
        rules.adversarial_examples.output[0],
        [
            dict(w.items(), examples=e)
            for e in study.example_sets(config, w.dataset, w.defence)
        ],
    )


def outputs(pattern, rows):
    """``pattern`` (a rule's output) filled in with each dict of ``rows``."""
    return [pattern.format(**row) for row in rows]


def grid(**extra):
    """Rows (dataset, architecture, defence, seed, excluded class) of every Raw Zero-Shot classifier."""
    return [
        dict(dataset=d, architecture=a, defence=f, seed=s, klass=i, **extra)
        for d, a, f in study.models(config)
        for s in SEEDS
        for i in study.excluded_classes(config, d)
    ]


def figure_rows():
    return [
        dict(dataset=d, architecture=a)
        for d in study.zero_shot_datasets(config)
        for a in study.architectures(config, d)
    ]


def defended_datasets():
    """Datasets with at least one defence besides vanilla (they get Table 2 rows and a figure)."""
    return study.defended_datasets(config)


def attacked_datasets():
    """Datasets with attacks and Raw Zero-Shot classifiers (Table 3 correlates the two)."""
    return [
        d for d in study.zero_shot_datasets(config) if study.attack_names(config, d)
    ]


def attack_rows():
    """(dataset, architecture, defence, seed, attack) of every attack job, LOTS included where configured."""
    return [
        dict(dataset=d, architecture=a, defence=f, seed=s, attack=attack)
        for d, a, f in study.models(config)
        if d in attacked_datasets()
        for s in SEEDS
        for attack in study.attack_names(config, d)
    ]


def lots_figure_rows():
    return [dict(dataset=d, architecture=a) for d, a in study.lots_figures(config)]


def finetuning_models():
    """(dataset, architecture, defence, seed) of every model in paper 2's Table 1 (datasets with a
    fine-tuning defence and a lots section)."""
    return [
        dict(dataset=d, architecture=a, defence=f, seed=s)
        for d, a, f in study.models(config)
        if d in study.finetuning_datasets(config)
        for s in SEEDS
    ]


def lots_rows():
    """(dataset, architecture, defence, seed, layer) of every table of LOTS attempts ("baselines": FGS, FGV, HC)."""
    return [
        dict(dataset=d, architecture=a, defence=f, seed=s, layer=t)
        for d, a, f, t in study.lots_tables(config)
        for s in SEEDS
    ]
