"""Config validation: the JSON schema (as Snakemake's ``validate`` applies it) and ``check_config``."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from advtransfer.config import ConfigError, check_config

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


@pytest.fixture
def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def full_check(config):
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
    with pytest.raises(ConfigError, match=r"excluded_classes: \[10\] outside 0..9"):
        full_check(config)


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
    snakemake = Path(sys.executable).with_name("snakemake")
    run = subprocess.run([str(snakemake), "-n", "--configfile", str(bad), "--directory", str(tmp_path),
                          "--snakefile", str(ROOT / "Snakefile")], capture_output=True, text=True)
    assert run.returncode != 0
    assert "unknown architecture 'resnet9000'" in run.stdout + run.stderr
    assert not (tmp_path / "results").exists()
