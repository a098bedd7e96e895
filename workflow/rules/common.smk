# Config validation, the study (advtransfer.study.Study, built once) and the input and params
# functions of the rules. The logic lives in advtransfer.study; the jobs in advtransfer.jobs.

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

from advtransfer import catalog
from advtransfer.code import code_version
from advtransfer.config import (
    ConfigError,
    check_config,
    check_as_given,
    checked_once,
)
from advtransfer.constants import STANDARD
from advtransfer.study import ATTACK_NAMES, Study, excluded_value

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

# The study as typed values; rules read its attributes and give their jobs plain values only.
STUDY = Study.from_config(config)

SCRIPTS = Path(workflow.basedir) / "scripts"


def code(script, *modules):
    """Code version of a job running ``scripts/<script>.py`` (and the lazily imported ``modules``):
    it changes exactly when code the job imports changes (advtransfer.code)."""
    return code_version(SCRIPTS / f"{script}.py", modules=modules)


def model_code(script):
    """A params function: the code version of a job that reads a dataset and builds a model: its
    script, the dataset's source, the architecture, the defence and the attack if any
    (catalog.modules), and an own source's or model's modules (your model's file counts).
    """

    def version(w):
        dataset = STUDY.datasets[w.dataset]
        defence = dataset.defence(w.architecture, getattr(w, "defence", "vanilla"))
        return code(
            script,
            *catalog.modules(
                w.dataset, w.architecture, defence.kind, getattr(w, "attack", None)
            ),
            *dataset.own_modules(w.architecture),
        )

    return version


def data_code(script):
    """A params function: the code version of a job that reads a dataset but builds no model."""

    def version(w):
        return code(
            script,
            *catalog.modules(w.dataset),
            *STUDY.datasets[w.dataset].own_modules(),
        )

    return version


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
SEEDS = list(STUDY.seeds)
FIRST_SEED = STUDY.first_seed


# -- params functions: each job's plain values ------------------------------------------------------


def data_params(w):
    """What ``load_dataset`` needs for the job's dataset."""
    return STUDY.datasets[w.dataset].data


def excluded_param(w):
    """The job's excluded class (None: the standard classifier)."""
    return excluded_value(w.excluded)


def recipe_devices(w):
    """The GPUs of a training job: its recipe's ``devices``, or none when the run allows none."""
    return gpus(
        STUDY.datasets[w.dataset].architectures[w.architecture].recipe["devices"]
    )


def train_params(w):
    return STUDY.train_params(w.dataset, w.architecture, w.defence, w.seed)


def example_params(w):
    return STUDY.example_params(w.dataset, w.architecture, w.examples)


def attack_params(w):
    return STUDY.datasets[w.dataset].attack_params(w.attack)


def attack_setting(key):
    """A params function: ``n_attack`` or ``batch_size`` of the job's dataset's attacks."""

    def value(w):
        return getattr(STUDY.datasets[w.dataset].attacks, key)

    return value


def lots_param(key):
    """A params function: ``key`` of the job's dataset's LOTS section (``layers``: the architecture's)."""

    def value(w):
        return STUDY.datasets[w.dataset].lots.params(w.architecture)[key]

    return value


def one_layer(w):
    """The LOTS layer of the job (rule lots)."""
    return [w.layer]


def baseline_techniques(w):
    """The techniques of the job's dataset's comparison that have no layer (FGS, FGV, HC)."""
    return [t for t in lots_param("techniques")(w) if t != "LOTS"]


def model_keys(w):
    """The job's model as the tables name it: dataset, architecture, defence, seed."""
    return {
        "dataset": w.dataset,
        "architecture": w.architecture,
        "defence": w.defence,
        "seed": int(w.seed),
    }


def class_keys(w):
    """The job's Raw Zero-Shot classifier as the tables name it (method §1): its model and class."""
    return {**model_keys(w), "excluded_class": int(w.klass)}


def figure_title(w):
    return f"{w.dataset} / {w.architecture}"


def architectures_pattern():
    """Every architecture of the study, as a wildcard's pattern."""
    return "|".join(
        sorted({a for ds in STUDY.datasets.values() for a in ds.architectures})
    )


# -- input functions --------------------------------------------------------------------------------


def trained(file, standard=False, defence=None, seed=None):
    """An input function: rule train's ``file`` ("model" or "history") for the job's dataset,
    architecture and seed (or ``seed``): the standard classifier, or the one without the job's
    class ``klass``."""

    def path(w):
        return getattr(rules.train.output, file).format(
            dataset=w.dataset,
            architecture=w.architecture,
            defence=defence or w.defence,
            seed=w.seed if seed is None else seed,
            excluded=STANDARD if standard else w.klass,
        )

    return path


def vanilla(rule, output=0):
    """An input function: the ``output`` of rule ``rule`` (a pattern with ``defence``) for the job's
    vanilla classifier (looked up when the job is planned, so it may be defined in a later file).
    """

    def path(w):
        pattern = getattr(rules, rule).output[output]
        return pattern.format(**dict(w.items(), defence="vanilla"))

    return path


def standard_predictions(w):
    """Input function: rule predictions' file of the job's standard classifier."""
    return rules.predictions.output[0].format(**dict(w.items(), excluded=STANDARD))


def history_of(dataset, architecture, defence, seed, excluded):
    """Rule train's history of one classifier."""
    return rules.train.output.history.format(
        dataset=dataset,
        architecture=architecture,
        defence=defence,
        seed=seed,
        excluded=excluded,
    )


def train_inputs(w):
    """A defence that fine-tunes a trained classifier (LOTS-AT, adversarial fine-tuning) starts from
    that classifier; adversarial fine-tuning also trains on its example sets."""
    base = STUDY.datasets[w.dataset].defence(w.architecture, w.defence).base
    if base is None:
        return {}
    base = rules.train.output.model.format(**dict(w.items(), defence=base))
    return {"base": base, "examples": example_files(w)}


def example_files(w):
    """The adversarial example files a training job fine-tunes on (method §4.10; none for most defences)."""
    sets = STUDY.datasets[w.dataset].defence(w.architecture, w.defence).example_sets
    return outputs(
        rules.adversarial_examples.output[0],
        [dict(w.items(), examples=e) for e in sets],
    )


def soft_labels_of_figure(w):
    """The soft-labels of the first seed's vanilla classifiers of the job's dataset and architecture."""
    return outputs(
        rules.soft_labels.output[0],
        [
            dict(w.items(), defence="vanilla", seed=FIRST_SEED, klass=i)
            for i in STUDY.datasets[w.dataset].excluded_classes
        ],
    )


# -- the grid's rows ----------------------------------------------------------------------------------


def outputs(pattern, rows):
    """``pattern`` (a rule's output) filled in with each dict of ``rows``."""
    return [pattern.format(**row) for row in rows]


def grid(**extra):
    """Rows (dataset, architecture, defence, seed, excluded class) of every Raw Zero-Shot classifier."""
    return [
        dict(dataset=d, architecture=a, defence=f, seed=s, klass=i, **extra)
        for d, a, f in STUDY.models
        for s in SEEDS
        for i in STUDY.datasets[d].excluded_classes
    ]


def figure_rows():
    return [
        dict(dataset=d, architecture=a)
        for d in STUDY.zero_shot_datasets
        for a in STUDY.datasets[d].architectures
    ]


def attack_rows():
    """(dataset, architecture, defence, seed, attack) of every attack job, LOTS included where configured."""
    return [
        dict(dataset=d, architecture=a, defence=f, seed=s, attack=attack)
        for d, a, f in STUDY.models
        if d in STUDY.attacked_datasets
        for s in SEEDS
        for attack in STUDY.datasets[d].attack_names
    ]


def attack_figures():
    """(dataset, attack) of every correlation figure."""
    return [
        [d, attack]
        for d in STUDY.attacked_datasets
        for attack in STUDY.datasets[d].attack_names
    ]


def lots_figure_rows():
    return [dict(dataset=d, architecture=a) for d, a in STUDY.lots_figures()]


def finetuning_models():
    """(dataset, architecture, defence, seed) of every model in paper 2's Table 1 (datasets with a
    fine-tuning defence and a lots section)."""
    return [
        dict(dataset=d, architecture=a, defence=f, seed=s)
        for d, a, f in STUDY.models
        if d in STUDY.finetuning_datasets
        for s in SEEDS
    ]


def lots_rows():
    """(dataset, architecture, defence, seed, layer) of every table of LOTS attempts ("baselines": FGS, FGV, HC)."""
    return [
        dict(dataset=d, architecture=a, defence=f, seed=s, layer=t)
        for d, a, f, t in STUDY.lots_tables()
        for s in SEEDS
    ]


def classifier_rows(seeds=None):
    """Every classifier (dataset, architecture, defence, seed, excluded) of ``seeds`` (all by default)."""
    return [
        dict(zip(["dataset", "architecture", "defence", "seed", "excluded"], c))
        for c in STUDY.classifiers()
        if seeds is None or c[3] in seeds
    ]


def training_figure_rows():
    """One row per model (dataset, architecture, defence) of the first seed's training curves."""
    return [dict(dataset=d, architecture=a, defence=f) for d, a, f in STUDY.models]


def study_outputs():
    """Every table and figure of the study (not the report's pages)."""
    return [
        *(rules.aggregate.output if STUDY.zero_shot_datasets else []),
        *outputs(rules.zero_shot_figures.output.isomap, figure_rows()),
        *outputs(rules.zero_shot_figures.output.histograms, figure_rows()),
        *(rules.table2.output if STUDY.defended_datasets else []),
        *(rules.table1_figure.output if STUDY.zero_shot_datasets else []),
        *rules.defence_figures.output,
        *(rules.table3.output if STUDY.attacked_datasets else []),
        *rules.correlation_figures.output,
        *(rules.lots_comparison.output if lots_rows() else []),
        *(rules.paper2_table1.output if finetuning_models() else []),
        *outputs(rules.lots_figure.output[0], lots_figure_rows()),
    ]


class Row(dict):
    """Wildcard values as an input function receives them (``w.dataset``, ``w.items()``)."""

    __getattr__ = dict.__getitem__


def working_outputs():
    """Every file a job makes for later jobs (running.md, "Guarantees"): the models and their
    histories, the soft-labels and per-class metrics, the per-sample attack files (tables and
    images), the LOTS attempts, the classifiers' predictions and the adversarial example sets. In
    the default target, so that a plain run makes again any of them that went missing (deleted, or
    removed by Snakemake before a job a Ctrl-C then stopped), though the tables made from them are
    complete."""
    classifiers = classifier_rows()
    fine_tuned = [c for c in classifiers if example_files(Row(c))]
    example_sets = {e for c in fine_tuned for e in example_files(Row(c))}
    predictions = {
        rules.predictions.output[0].format(**dict(r, excluded=STANDARD))
        for r in lots_rows()
    } | {vanilla("predictions")(Row(c)) for c in fine_tuned}
    return [
        *outputs(rules.train.output.model, classifiers),
        *outputs(rules.train.output.history, classifiers),
        *outputs(rules.soft_labels.output[0], grid()),
        *outputs(rules.metrics.output[0], grid()),
        *outputs(rules.attack.output.samples, attack_rows()),
        *outputs(rules.attack.output.images, attack_rows()),
        *outputs(rules.lots.output[0], lots_rows()),
        *sorted(predictions),
        *sorted(example_sets),
    ]


def get_final_output():
    """The default target's inputs: every table and figure of the study, the report's pages, the
    study summary (its cost and provenance), and every file the jobs make for later jobs
    (``working_outputs``)."""
    return [
        *study_outputs(),
        *report_pages(),
        *rules.study_summary.output,
        *working_outputs(),
    ]


# -- the report ----------------------------------------------------------------------------------------

REPORT_CAPTIONS = Path(workflow.basedir) / "report"


def caption(name):
    """A report caption for ``report(...)``: the .rst file of workflow/report/, relative to the rule files."""
    return f"../report/{name}.rst"


def caption_text(name):
    """A caption's text, for the job that writes the page: a param (by content), so that editing the
    caption re-runs its page and moving the study folder re-runs nothing."""
    return (REPORT_CAPTIONS / f"{name}.rst").read_text()


def paper1_inputs(w):
    """Paper 1's claims are checked on the tables the study makes (Tables 2 and 3 only with defences,
    attacks)."""
    return {
        "table1": rules.aggregate.output.table1,
        "metrics_per_class": rules.aggregate.output.per_class,
        **({"table2": rules.table2.output.table2} if STUDY.defended_datasets else {}),
        **({"table3": rules.table3.output.table3} if STUDY.attacked_datasets else {}),
    }


def basic_lenet_keys():
    """Paper 2's Basic LeNet in the study (dataset, architecture; empty without one)."""
    found = STUDY.basic_lenet()
    return dict(zip(["dataset", "architecture"], found)) if found else {}


def basic_lenet_attempts():
    """The attempts of the first seed's Basic LeNet (its vanilla classifier), each table of them."""
    keys = basic_lenet_keys()
    tables = [
        t
        for d, a, f, t in STUDY.lots_tables()
        if keys and (d, a, f) == (keys["dataset"], keys["architecture"], "vanilla")
    ]
    return outputs(
        rules.lots.output[0],
        [dict(keys, defence="vanilla", seed=FIRST_SEED, layer=t) for t in tables],
    )


def basic_lenet_history():
    """The training history of the first seed's Basic LeNet (none without one)."""
    keys = basic_lenet_keys()
    if not keys:
        return []
    return history_of(
        keys["dataset"], keys["architecture"], "vanilla", FIRST_SEED, STANDARD
    )


def report_pages():
    """The report's pages and figures: every table's page (report.smk, REPORT_TABLES), the training
    curves, and the papers' pages the study's tables allow."""
    return [
        *[getattr(rules, f"html_{name}").output[0] for name in REPORT_TABLES],
        *rules.training_curves.output,
        *([rules.paper1_claims.output.html] if STUDY.zero_shot_datasets else []),
        *([rules.paper2_lenet.output.html] if STUDY.basic_lenet() else []),
        *([rules.html_paper2_table1.output[0]] if finetuning_models() else []),
        *([rules.paper2_claims.output.html] if finetuning_models() else []),
    ]
