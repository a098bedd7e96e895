"""Config validation: the JSON schema (as Snakemake's ``validate`` applies it) and ``check_config``."""

import copy
import re
import subprocess

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from advtransfer.config import ConfigError, check_as_given, check_config
from workflow_helpers import ROOT, SNAKEFILE, SNAKEMAKE

SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


@pytest.fixture
def config():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def full_check(config):
    check_as_given(config)
    validate(config, SCHEMA)
    check_config(config)


def test_default_config_is_valid(config):
    full_check(config)
    assert config["datasets"]["digits"]["excluded_classes"] == "all"


def test_schema_fills_defaults(config):
    del config["seeds"]
    validate(config, SCHEMA)
    assert config["seeds"] == [0]


def test_renamed_seed_key_says_what_to_write(config):
    del config["seeds"]
    config["seed"] = 3
    with pytest.raises(ConfigError, match=r"seed: .*seeds: \[3\]"):
        check_as_given(config)


@pytest.mark.parametrize("seeds", [[], [0, 0], [-1]])
def test_bad_seeds_are_refused(config, seeds):
    config["seeds"] = seeds
    with pytest.raises(WorkflowError, match="seeds"):
        validate(config, SCHEMA)


def test_seeds_beyond_what_the_libraries_take_are_refused_before_any_job(tmp_path, config):
    """Lightning's seed_everything (numpy's generator) takes seeds 0 … 2³² − 1: a larger one must fail
    the config check, naming the key, not every training job."""
    config["seeds"] = [2**32 - 1]
    validate(copy.deepcopy(config), SCHEMA)
    config["seeds"] = [0, 2**32]
    with pytest.raises(WorkflowError, match=r"4294967296 is greater than the maximum of 4294967295"):
        validate(copy.deepcopy(config), SCHEMA)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    run = subprocess.run([SNAKEMAKE, "-n", "--configfile", str(bad), "--directory", str(tmp_path),
                          "--snakefile", str(SNAKEFILE)], capture_output=True, text=True)
    assert run.returncode != 0 and "seeds" in run.stdout + run.stderr and not (tmp_path / "results").exists()


@pytest.mark.parametrize("attack, params", [("pgd", {"random_start": True}), ("apgd", {})])
@pytest.mark.parametrize("seed", [-1, 2**32, 2**64])
def test_attack_seeds_beyond_what_torch_takes_are_refused(config, attack, params, seed):
    digits = config["datasets"]["digits"]
    digits["attacks"]["run"] = [attack]
    digits["attacks"]["params"] = {attack: {**params, "seed": 2**32 - 1}}
    full_check(copy.deepcopy(config))
    digits["attacks"]["params"][attack]["seed"] = seed
    with pytest.raises((WorkflowError, ConfigError), match="seed") as err:
        full_check(config)
    assert attack in str(err.value)


def test_unknown_key_is_named(config):
    config["datasets"]["digits"]["architectures"]["mlp"]["train"]["learning_rate"] = 0.1
    with pytest.raises(WorkflowError, match="learning_rate"):
        validate(config, SCHEMA)


def test_wrong_type_is_named(config):
    config["datasets"]["digits"]["architectures"]["mlp"]["train"]["lr"] = "1e-3"  # YAML's string trap
    with pytest.raises(WorkflowError, match="1e-3"):
        validate(config, SCHEMA)


def test_unknown_architecture_lists_known(config):
    config["datasets"]["digits"]["architectures"]["transformer"] = copy.deepcopy(
        config["datasets"]["digits"]["architectures"]["mlp"])
    with pytest.raises(ConfigError, match=r"datasets\.digits\.architectures: unknown architecture 'transformer'.*mlp"):
        full_check(config)


def test_unknown_dataset(config):
    config["datasets"]["svhn"] = config["datasets"].pop("digits")
    with pytest.raises(ConfigError, match="unknown dataset 'svhn'"):
        full_check(config)


def test_unknown_defence(config):
    config["datasets"]["digits"]["defences"] = ["vanilla", "magic"]
    with pytest.raises(ConfigError, match="unknown defence 'magic'"):
        full_check(config)


def test_excluded_class_out_of_range(config):
    config["datasets"]["digits"]["excluded_classes"] = [0, 10]
    with pytest.raises(ConfigError, match=r"excluded_classes: \[10\] outside the classes 0..9"):
        full_check(config)


@pytest.mark.parametrize("classes, message", [
    ([0, -1], r"excluded_classes: \[-1\] outside the classes 0..9"),
    ([3, 1, 3], r"excluded_classes: \[3\] listed more than once"),
])
def test_negative_or_repeated_excluded_classes_are_named(config, classes, message):
    config["datasets"]["digits"]["excluded_classes"] = classes
    with pytest.raises(ConfigError, match=r"datasets\.digits\." + message):
        full_check(config)


def test_num_classes_is_checked_against_the_data(config):
    config["datasets"]["digits"]["num_classes"] = 12
    with pytest.raises(ConfigError, match=r"datasets\.digits\.num_classes: 12, but digits has 10 classes"):
        full_check(config)


@pytest.mark.parametrize("section, key, value, limit, maximum", [
    ("attacks", "n_attack", 361, None, 360),  # the digits test split has 360 images
    ("lots", "n_lots", 11, 10, 10),
])
def test_more_samples_than_the_test_split_are_refused(config, section, key, value, limit, maximum):
    digits = config["datasets"]["digits"]
    digits.pop("attacks" if section == "lots" else "lots")
    digits[section][key], digits["test_limit"] = value, limit
    with pytest.raises(ConfigError, match=rf"datasets\.digits\.{section}\.{key}: {value}, .* the maximum is {maximum}"):
        full_check(config)
    config["datasets"]["digits"][section][key] = maximum
    full_check(config)


def test_a_configfile_without_datasets_is_refused(tmp_path):
    """`--configfile` naming no datasets must not run the repository's default study instead."""
    empty = tmp_path / "mine.yaml"
    empty.write_text("seeds: [1]\n")
    run = subprocess.run([SNAKEMAKE, "-n", "--configfile", str(empty), "--directory", str(tmp_path),
                          "--snakefile", str(SNAKEFILE)], capture_output=True, text=True)
    assert run.returncode != 0
    assert f"{empty} has no 'datasets' key" in run.stdout + run.stderr
    assert not (tmp_path / "results").exists()


def test_the_slurm_profile_groups_each_models_jobs():
    """group-components names the per-model group as the rules spell it, or Snakemake submits every
    soft-labels, metrics, attack and LOTS job on its own (three times the submissions)."""
    group = re.search(r'^MODEL_GROUP = "(.+)"$', (ROOT / "workflow/rules/common.smk").read_text(), re.M).group(1)
    profile = yaml.safe_load((ROOT / "workflow/profiles/slurm/config.yaml").read_text())
    assert group in [item.rsplit("=", 1)[0] for item in profile["group-components"]]


def test_the_default_profile_applies_from_the_repo_root():
    run = subprocess.run([SNAKEMAKE, "-n", "--quiet", "rules"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Using workflow specific profile workflow/profiles/default" in run.stdout + run.stderr


def test_bad_recipe_value(config):
    config["datasets"]["digits"]["architectures"]["mlp"]["train"]["optimizer"] = "rmsprop"
    with pytest.raises(WorkflowError, match="rmsprop"):
        validate(config, SCHEMA)


PRESETS = sorted(f"config/{p.name}" for p in (ROOT / "config").glob("*.yaml"))


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_are_valid_and_run_bim_and_pgd_in_paper_mode(preset):
    config = yaml.safe_load((ROOT / preset).read_text())
    full_check(config)
    for dataset in config["datasets"].values():
        params = dataset.get("attacks", {}).get("params", {})
        for name in ("bim", "pgd"):
            if name in dataset.get("attacks", {}).get("run", []):
                assert params[name]["early_stop"] is False, (preset, name)


def validated(preset: str) -> dict:
    """A preset as the workflow sees it: checked, with the schema's defaults filled in."""
    config = yaml.safe_load((ROOT / preset).read_text())
    full_check(config)
    return config


FIVE_ATTACKS = ["fgm", "bim", "pgd", "deepfool", "newtonfool"]


def recipes(dataset: dict) -> list[dict]:
    return [a["train"] for a in dataset["architectures"].values()]


def test_default_study_is_what_the_readme_says():
    """README, Configuration: digits, MLP and ConvNet (10 epochs of Adam, lr 0.001), all 10 excluded
    classes, vanilla + feature squeezing + label smoothing, the five attacks (BIM and PGD in paper 1's
    mode), FMN-L2 beside DeepFool, and LOTS."""
    digits = validated("config/config.yaml")["datasets"]["digits"]
    assert list(digits["architectures"]) == ["mlp", "convnet"]
    assert all((r["epochs"], r["optimizer"], r["lr"]) == (10, "adam", 1.0e-3) for r in recipes(digits))
    assert digits["excluded_classes"] == "all" and digits["defences"] == ["vanilla", "feature_squeezing",
                                                                          "label_smoothing"]
    assert digits["attacks"]["run"] == [*FIVE_ATTACKS, "fmn_l2"] and digits["lots"]["n_lots"] > 0


def test_fashion_mnist_preset_is_what_the_readme_says():
    """Reference recipes (SGD, lr 0.001, Nesterov momentum 0.9, batch 64; 4 epochs on the whole
    training split), three seeds, the five attacks with the Fashion-MNIST magnitudes and FMN-L2 on
    1000 test images, no defences."""
    config = validated("config/fashion_mnist.yaml")
    fashion = config["datasets"]["fashion_mnist"]
    assert config["seeds"] == [0, 1, 2] and fashion.get("train_limit") is None
    assert all((r["optimizer"], r["lr"], r["momentum"], r["nesterov"], r["batch_size"], r["epochs"])
               == ("sgd", 1.0e-3, 0.9, True, 64, 4) for r in recipes(fashion))
    attacks = fashion["attacks"]
    assert attacks["run"] == FIVE_ATTACKS + ["fmn_l2"] and attacks["n_attack"] == 1000
    assert fashion["defences"] == ["vanilla"]
    assert attacks["params"]["bim"]["eps"] == 76.5 and attacks["params"]["newtonfool"]["eta"] == 0.375


def test_paper2_presets_use_the_papers_success_criterion_and_one_fraction():
    """paper2.yaml at the paper's size; paper2_cpu.yaml at 5% of it and paper2_small.yaml at 2%:
    examples of that fraction of the 60,000 training digits with as many clean ones, that fraction of
    the paper's iterations, three seeds; all count a success when the class changes."""
    full = validated("config/paper2.yaml")
    smaller = {"config/paper2_cpu.yaml": 0.05, "config/paper2_small.yaml": 0.02}
    for config in [full, *map(validated, smaller)]:
        assert config["datasets"]["mnist"]["lots"]["modes"] == ["untargeted"]
        assert config["datasets"]["mnist"]["lots"]["example_mode"] == "untargeted"
    assert full["datasets"]["mnist"]["lots"]["n_lots"] == 10_000
    iterations = {f: full["defence_params"][f].get("iterations", 20_000) for f in full["defence_params"]
                  if f.startswith("ft_")}
    for preset, fraction in smaller.items():
        config = validated(preset)
        shared = config["defence_params"]["adversarial_finetuning"]
        assert config["seeds"] == [0, 1, 2], preset
        assert config["datasets"]["mnist"]["lots"]["n_train"] == round(fraction * 60_000) == shared["n_clean"], preset
        for name, paper in iterations.items():
            assert config["defence_params"][name].get("iterations", shared["iterations"]) == round(fraction * paper), (
                preset, name)


def test_cifar10_preset_is_what_the_readme_says():
    """Eight architectures, every defence, the five attacks, 30 epochs."""
    from advtransfer.defences import DEFENCES

    cifar = validated("config/cifar10.yaml")["datasets"]["cifar10"]
    assert len(cifar["architectures"]) == 8 and all(r["epochs"] == 30 for r in recipes(cifar))
    # LOTS-AT and adversarial fine-tuning: paper 2's, on MNIST
    assert set(cifar["defences"]) == set(DEFENCES.names()) - {"lots_at", "adversarial_finetuning"}
    assert cifar["attacks"]["run"] == FIVE_ATTACKS


def test_mnist_preset_is_what_the_readme_says():
    """Caffe LeNet (Caffe's solver, 5 epochs), LOTS at conv1, conv2, ip1 and the logits on 20 origins,
    vanilla and lots_at."""
    mnist = validated("config/mnist.yaml")["datasets"]["mnist"]
    train = mnist["architectures"]["lenet_caffe"]["train"]
    assert list(mnist["architectures"]) == ["lenet_caffe"] and mnist["defences"] == ["vanilla", "lots_at"]
    assert (train["epochs"], train["optimizer"], train["lr"], train["momentum"], train["weight_decay"]) == (
        5, "sgd", 1.0e-2, 0.9, 5.0e-4)
    lots = mnist["lots"]
    assert lots["n_lots"] == 20 and lots["layers"]["lenet_caffe"] == ["body.conv1", "body.conv2", "body.ip1", "logits"]


def test_paper_preset_covers_the_three_datasets():
    assert set(validated("config/paper.yaml")["datasets"]) == {"fashion_mnist", "cifar10", "subimagenet"}


def test_bad_early_stop_is_named(config):
    bad = copy.deepcopy(config)
    bad["datasets"]["digits"]["attacks"]["params"]["pgd"]["early_stop"] = "no"
    with pytest.raises(WorkflowError, match="'no'"):
        validate(bad, SCHEMA)
    validate(config, SCHEMA)  # the checker reads the config as validated, its defaults filled in
    config["datasets"]["digits"]["attacks"]["params"]["pgd"]["early_stop"] = "no"
    with pytest.raises(ConfigError, match=r"params\.pgd: .*early_stop"):
        check_config(config)


def test_snakemake_stops_before_any_job(tmp_path, config):
    """The whole path: a bad config makes `snakemake -n` fail at parse time, naming the problem."""
    config["datasets"]["digits"]["architectures"]["resnet9000"] = config["datasets"]["digits"]["architectures"]["mlp"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    run = subprocess.run([SNAKEMAKE, "-n", "--configfile", str(bad), "--directory", str(tmp_path),
                          "--snakefile", str(SNAKEFILE)], capture_output=True, text=True)
    assert run.returncode != 0
    assert "unknown architecture 'resnet9000'" in run.stdout + run.stderr
    assert not (tmp_path / "results").exists()


def gpu_jobs(config) -> int:
    """The jobs that may take a GPU, counted from the config: per (architecture, defence) a training job
    per excluded class and one for the standard classifier, the soft-labels per excluded class, one job
    per attack, and with LOTS the attack "lots", the standard classifier's predictions, FGS/FGV/HC and
    one job per layer; a LOTS figure per architecture."""
    count = 0
    for ds in config["datasets"].values():
        classes = 10 if ds["excluded_classes"] == "all" else len(ds["excluded_classes"])  # digits: 10
        lots = ds.get("lots")
        for architecture in ds["architectures"]:
            per_model = (classes + 1) + classes + len(ds["attacks"]["run"])
            if lots:
                per_model += 1 + 1 + 1 + len(lots["layers"][architecture])
                count += lots["visualise"] > 0
            count += len(ds["defences"]) * per_model
    return count


def test_a_run_that_allows_no_gpu_gives_its_jobs_none(tmp_path, config):
    """The default profile's `gpu: 0` makes every job a CPU job (no GPU lock); `--resources gpu=1` gives GPUs."""
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    base = [SNAKEMAKE, "-n", "--configfile", str(configfile), "--directory", str(tmp_path), "--snakefile",
            str(SNAKEFILE)]
    default = subprocess.run(base, capture_output=True, text=True, check=True).stdout
    with_gpu = subprocess.run([*base, "--resources", "gpu=1"], capture_output=True, text=True, check=True).stdout
    gpus = lambda out: re.findall(r"^\s+resources: .*\bgpu=(\d+)", out, re.M)  # noqa: E731 (one per job)
    expected = gpu_jobs(config)  # every training, soft-label, attack and LOTS job
    assert gpus(default) == ["0"] * expected
    assert gpus(with_gpu) == ["1"] * expected
