"""The workflow with your own model and image folder (README, "Your own models and data"): trained,
soft labels, metrics and Table 1 end to end; editing the model's file re-runs its jobs only."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from own_data import write_digit_folder
from workflow_helpers import planned_jobs, snakemake, write_config

pytestmark = pytest.mark.workflow

RECIPE = {"epochs": 1, "batch_size": 32, "optimizer": "adam", "lr": 3.0e-3}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("own")
    write_digit_folder(workdir / "my_digits", digits=(0, 1, 2, 3), train=40, test=10)
    shutil.copy(Path(__file__).with_name("own_model.py"), workdir / "own_model.py")
    config = {"data_dir": "data", "download": False, "figures": {"isomap_max_points": 40}, "datasets": {
        "my_digits": {
            "image_folder": "my_digits",
            "excluded_classes": [0, 2],
            "architectures": {
                "tiny": {"model": "own_model.py:TinyNet", "model_kwargs": {"width": 4},
                         "train": {**RECIPE, "epochs": 6, "lr": 1.0e-2}},  # LOTS needs every class right once
                "mlp": {"train": RECIPE},
            },
        }}}
    configfile = write_config(workdir, config)
    snakemake(workdir, configfile)
    return workdir, configfile


def test_tables_have_the_own_model(study):
    workdir, _ = study
    per_class = pd.read_csv(workdir / "results/tables/metrics_per_class.csv")
    assert sorted(zip(per_class["architecture"], per_class["excluded_class"])) == [
        ("mlp", 0), ("mlp", 2), ("tiny", 0), ("tiny", 2)]
    assert (per_class["n"] == 50).all()  # Eᵢ: the 40 + 10 images of the class
    table1 = pd.read_csv(workdir / "results/tables/table1.csv")
    assert sorted(table1["architecture"]) == ["mlp", "tiny"]
    assert (workdir / "results/figures/my_digits/tiny_isomap.png").exists()


def test_editing_the_model_file_reruns_its_jobs_only(study):
    workdir, configfile = study
    assert planned_jobs(snakemake(workdir, configfile, "-n").stdout) == []
    model = workdir / "own_model.py"
    text = model.read_text()
    model.write_text(text.replace("class TinyNet", "# a comment only\nclass TinyNet"))
    assert planned_jobs(snakemake(workdir, configfile, "-n").stdout) == []
    model.write_text(text.replace("hidden: int = 32", "hidden: int = 24"))
    try:
        jobs = planned_jobs(snakemake(workdir, configfile, "-n").stdout)
    finally:
        model.write_text(text)
    trained = {(w["architecture"], w["excluded"]) for rule, w in jobs if rule == "train"}
    assert trained == {("tiny", "none"), ("tiny", "0"), ("tiny", "2")}
    assert all(w.get("architecture", "tiny") == "tiny" for _, w in jobs)


def test_attacks_and_lots_run_on_the_own_model(study, tmp_path, monkeypatch):
    """The attack and LOTS jobs' functions on the trained own model (rebuilt from its model.pt)."""
    from advtransfer.jobs.attack import attack_job
    from advtransfer.jobs.lots import attempts_job

    workdir, _ = study
    monkeypatch.chdir(workdir)  # where the config's relative paths (model file, image folder) point
    model = str(next(Path("results/models/my_digits/tiny").rglob("none/model.pt")))
    data = {"name": "my_digits", "data_dir": "data", "download": False, "train_limit": None, "test_limit": None,
            "options": {}, "source": {"image_folder": "my_digits"}}
    attack_job(data, model, "fgm", {"eps": 16.0}, 10, 16, str(tmp_path / "fgm.csv"), str(tmp_path / "fgm.npz"))
    assert len(pd.read_csv(tmp_path / "fgm.csv")) == 10
    attempts_job(data, model, {"dataset": "my_digits", "architecture": "tiny", "defence": "vanilla"}, ["LOTS"],
                 ["body.hidden", "logits"], ["untargeted"], 2, 256, str(tmp_path / "lots.csv"))
    attempts = pd.read_csv(tmp_path / "lots.csv")
    assert set(attempts["layer"]) == {"body.hidden", "logits"} and attempts["origin"].nunique() == 2
