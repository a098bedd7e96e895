"""Config validation: the JSON schema (as Snakemake's ``validate`` applies it) and ``check_config``."""

import copy
import subprocess

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from advtransfer.config import ConfigError, check_config, check_sample_counts
from workflow_helpers import ROOT, SNAKEFILE, SNAKEMAKE

SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


@pytest.fixture
def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def full_check(config):
    check_sample_counts(config)
    validate(config, SCHEMA)
    check_config(config)


def test_default_config_is_valid(config):
    full_check(config)
    assert config["datasets"]["digits"]["excluded_classes"] == "all"


def test_schema_fills_defaults(config):
    del config["seed"]
    validate(config, SCHEMA)
    assert config["seed"] == 0


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
    empty.write_text("seed: 1\n")
    run = subprocess.run([SNAKEMAKE, "-n", "--configfile", str(empty), "--directory", str(tmp_path),
                          "--snakefile", str(SNAKEFILE)], capture_output=True, text=True)
    assert run.returncode != 0
    assert f"{empty} has no 'datasets' key" in run.stdout + run.stderr
    assert not (tmp_path / "results").exists()


def test_the_default_profile_applies_from_the_repo_root():
    run = subprocess.run([SNAKEMAKE, "-n", "--quiet", "rules"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Using workflow specific profile workflow/profiles/default" in run.stdout + run.stderr


def test_bad_recipe_value(config):
    config["datasets"]["digits"]["architectures"]["mlp"]["train"]["optimizer"] = "rmsprop"
    with pytest.raises(WorkflowError, match="rmsprop"):
        validate(config, SCHEMA)


PRESETS = ["config.yaml"] + sorted(f"config/{p.name}" for p in (ROOT / "config").glob("*.yaml"))


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_are_valid_and_run_bim_and_pgd_in_paper_mode(preset):
    config = yaml.safe_load((ROOT / preset).read_text())
    full_check(config)
    for dataset in config["datasets"].values():
        params = dataset.get("attacks", {}).get("params", {})
        for name in ("bim", "pgd"):
            if name in dataset.get("attacks", {}).get("run", []):
                assert params[name]["early_stop"] is False, (preset, name)


def test_fashion_mnist_preset_runs_the_five_attacks():
    attacks = yaml.safe_load((ROOT / "config/fashion_mnist.yaml").read_text())["datasets"]["fashion_mnist"]["attacks"]
    assert attacks["run"] == ["fgm", "bim", "pgd", "deepfool", "newtonfool"]
    assert attacks["params"]["bim"]["eps"] == 76.5 and attacks["params"]["newtonfool"]["eta"] == 0.375


def test_bad_early_stop_is_named(config):
    config["datasets"]["digits"]["attacks"]["params"]["pgd"]["early_stop"] = "no"
    with pytest.raises(WorkflowError, match="'no'"):
        validate(config, SCHEMA)
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


def test_a_run_that_allows_no_gpu_gives_its_jobs_none(tmp_path, config):
    """The default profile's `gpu: 0` makes every job a CPU job (no GPU lock); `--resources gpu=1` gives GPUs."""
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    base = [SNAKEMAKE, "-n", "--configfile", str(configfile), "--directory", str(tmp_path), "--snakefile",
            str(SNAKEFILE)]
    default = subprocess.run(base, capture_output=True, text=True, check=True).stdout
    with_gpu = subprocess.run([*base, "--resources", "gpu=1"], capture_output=True, text=True, check=True).stdout
    assert "gpu=1" not in default and default.count("gpu=0") >= 100  # every training, soft-label, attack, LOTS job
    assert with_gpu.count("gpu=0") == 0 and with_gpu.count("gpu=1") >= default.count("gpu=0")
