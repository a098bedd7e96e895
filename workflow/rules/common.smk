# Config validation, the study grid and input functions. The logic lives in advtransfer.study.

import sys

sys.path.insert(0, str(Path(workflow.basedir).parent / "src"))

from snakemake.utils import validate, min_version

from advtransfer import catalog, study
from advtransfer.code import code_version
from advtransfer.config import ConfigError, check_config, checked_once

min_version("9.0")

validate(config, schema="../schemas/config.schema.yaml")
try:
    check_config(config, deep=False)  # names, recipes, classes, sample counts: no torch while parsing
    checked_once(config, ".snakemake/advtransfer")  # parameters and LOTS layers, once per config
except ConfigError as err:
    raise WorkflowError(f"config: {err}") from None

SCRIPTS = Path(workflow.basedir) / "scripts"


def code(script, *modules):
    """Code version of a job running ``scripts/<script>.py`` (and the lazily imported ``modules``):
    it changes exactly when code the job imports changes (advtransfer.code)."""
    return code_version(SCRIPTS / f"{script}.py", modules=modules)


def model_code(script):
    """Code version of a job that reads a dataset and builds a model: its script, the dataset's
    source, the architecture, the defence and the attack if any (catalog.modules)."""
    return lambda w: code(
        script,
        *catalog.modules(w.dataset, w.architecture, getattr(w, "defence", "vanilla"), getattr(w, "attack", None)),
    )


# A run that allows no GPU (the default profile's `gpu: 0`) gives its jobs none: they run on the CPU.
_GPU_LIMIT = workflow.global_resources.get("gpu")
NO_GPU = _GPU_LIMIT is not None and _GPU_LIMIT.value == 0


def gpus(n):
    """The GPUs a job asks for: ``n``, or 0 when the run allows none."""
    return 0 if NO_GPU else n

CONDA_ENV = "../../envs/environment.yaml"  # for --use-conda; the same pins as pyproject.toml
R = "results"
# Jobs of one trained model (soft-labels, metrics, attacks) share one cluster submission; the
# Slurm profile's group-components sets how many go together.
MODEL_GROUP = "model_{dataset}_{architecture}_{defence}"


wildcard_constraints:
    dataset="[a-z0-9_]+",
    architecture="[a-z0-9_]+",
    defence="[a-z0-9_]+",
    excluded=r"none|\d+",
    klass=r"\d+",


def model_path(dataset, architecture, defence, excluded):
    return f"{R}/models/{dataset}/{architecture}/{defence}/{excluded}/model.pt"


def history_path(dataset, architecture, defence, excluded):
    return f"{R}/models/{dataset}/{architecture}/{defence}/{excluded}/history.csv"


def train_inputs(wildcards):
    """A defence that fine-tunes a trained classifier (LOTS-AT) starts from that classifier."""
    base = study.base_defence(wildcards.defence)
    if base is None:
        return {}
    return {"base": model_path(wildcards.dataset, wildcards.architecture, base, wildcards.excluded)}


def metric_files():
    return [
        f"{R}/metrics/{d}/{a}/{f}/{i}.csv"
        for d, a, f in study.models(config)
        for i in study.excluded_classes(config, d)
    ]


def zero_shot_targets():
    figures = [
        f"{R}/figures/{d}/{a}_{kind}.png"
        for d in config["datasets"]
        for a in study.architectures(config, d)
        for kind in ("isomap", "histograms")
    ]
    return [f"{R}/tables/metrics_per_class.csv", f"{R}/tables/table1.csv", f"{R}/tables/table1.md", *figures]


def defended_datasets():
    """Datasets with at least one defence besides vanilla (they get Table 2 rows and a figure)."""
    return study.defended_datasets(config)


def defence_targets():
    return [f"{R}/tables/table2.csv", f"{R}/tables/table2.md"] if defended_datasets() else []


def attack_cfg(dataset):
    return study.dataset_cfg(config, dataset).get("attacks", {})


def attacked_datasets():
    return [d for d in config["datasets"] if study.attack_names(config, d)]


def attack_samples():
    """(per-sample table, keys) of every attack of the grid, LOTS included where configured."""
    return [
        (f"{R}/attacks/{d}/{a}/{f}/{attack}.csv", {"dataset": d, "architecture": a, "defence": f, "attack": attack})
        for d, a, f in study.models(config)
        for attack in study.attack_names(config, d)
    ]


def attack_targets():
    if not attacked_datasets():
        return []
    return [
        f"{R}/tables/attacks_per_class.csv",
        f"{R}/tables/table3.csv",
        f"{R}/tables/table3.md",
    ]
