"""The LOTS stage of the workflow (method §4) on real MNIST at small size, the MNIST preset's plan, and
the config check of LOTS layers."""

import copy
import re

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from advtransfer.config import ConfigError, check_config
from advtransfer.schema import validated
from workflow_helpers import ROOT, link_raw, planned_jobs, snakemake, write_config
from workflow_helpers import small_config as small_study

LAYERS = ["body.ip1", "logits"]
TARGETS = ["results/tables/lots_comparison.csv", "results/tables/lots_comparison.md",
           "results/figures/mnist/lenet_caffe_lots.png", "results/attacks/mnist/lenet_caffe/vanilla/seed0/lots.csv"]


def small_config(data_dir):
    return small_study(
        data_dir, "mnist", {"lenet_caffe": {"epochs": 1, "batch_size": 64, "optimizer": "sgd", "lr": 1.0e-2,
                                            "momentum": 0.9, "nesterov": False, "weight_decay": 5.0e-4}},
        excluded=[0], train_limit=2000, test_limit=200,
        lots={"n_lots": 3, "layers": {"lenet_caffe": LAYERS}, "modes": ["untargeted", "targeted"],
              "limit": 1024, "attack_layer": "logits", "visualise": 2})


def link_mnist(data_dir):
    link_raw(data_dir, "MNIST", "mnist")


def standard_lenet_and_test_split(workdir):
    """The study's standard classifier and the test images and labels it was attacked on."""
    from advtransfer.data import load_dataset
    from advtransfer.model_io import load_classifier

    model, _ = load_classifier(workdir / "results/models/mnist/lenet_caffe/vanilla/seed0/none/model.pt")
    splits = load_dataset("mnist", workdir / "data", download=False, train_limit=2000, test_limit=200)
    return model, splits.test_x, splits.test_y


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Runs the LOTS stage of the small study once (a standard LeNet, then every LOTS job)."""
    workdir = tmp_path_factory.mktemp("lots")
    link_mnist(workdir / "data")
    configfile = write_config(workdir, small_config(workdir / "data"))
    snakemake(workdir, configfile, *TARGETS)
    return workdir, configfile


@pytest.mark.workflow
def test_comparison_has_every_technique_with_rates_in_range(study):
    workdir, _ = study
    table = pd.read_csv(workdir / "results/tables/lots_comparison.csv")
    assert list(table.columns[:6]) == ["dataset", "architecture", "defence", "technique", "layer", "mode"]
    assert set(table["technique"]) == {"FGS", "FGV", "HC", "LOTS"}
    assert table["success_rate"].between(0, 1).all()
    attempts = {(r.technique, r.layer, r.mode): r.n_attempts for r in table.itertuples()}
    # 3 origins; FGS and FGV untargeted only; HC and LOTS towards the 9 other classes, LOTS per layer
    assert attempts[("FGS", "-", "untargeted")] == 3 and ("FGS", "-", "targeted") not in attempts
    assert attempts[("HC", "-", "targeted")] == 27
    assert {attempts[("LOTS", layer, mode)] for layer in LAYERS for mode in ("untargeted", "targeted")} == {27}
    assert "success_rate" in (workdir / "results/tables/lots_comparison.md").read_text()


@pytest.mark.workflow
def test_attempts_have_integer_eps_and_baselines_once_per_model(study):
    workdir, _ = study
    folder = workdir / "results/lots/mnist/lenet_caffe/vanilla/seed0"
    assert sorted(p.name for p in folder.iterdir()) == sorted(["baselines.csv"] + [f"{layer}.csv" for layer in LAYERS])
    baselines = pd.read_csv(folder / "baselines.csv")
    assert set(baselines["technique"]) == {"FGS", "FGV", "HC"}
    for layer in LAYERS:
        assert set(pd.read_csv(folder / f"{layer}.csv")["technique"]) == {"LOTS"}
    attempts = pd.concat([pd.read_csv(p) for p in folder.iterdir()])
    hits = attempts[attempts["success"]]
    assert len(hits) > 0
    assert (hits["eps"] >= 1).all() and (hits["eps"] == hits["eps"].round()).all()
    # every successful example differs from its origin (eps ≥ 1): a PASS below 1, the score of an identical pair
    assert (hits["pass_score"] > -1).all() and (hits["pass_score"] < 1).all() and (hits["linf"] <= hits["eps"]).all()
    assert attempts.loc[~attempts["success"], "eps"].isna().all()


@pytest.mark.workflow
def test_lots_attempts_are_the_images_their_eps_makes(study):
    """Each LOTS attempt made again from the stored classifier: the image clip(round(x + ε·η/‖η‖∞))
    at the table's ε. The model classifies it as the table says (the target for a targeted success,
    another class than the origin's for an untargeted one), not yet at ε − 1, and its PASS
    (``advtransfer.pass_score``), L2 and L∞ are the table's."""
    from advtransfer.lots import choose_targets, layer_features, lots_direction, predict
    from advtransfer.pass_score import pass_scores

    workdir, _ = study
    model, test_x, test_y = standard_lenet_and_test_split(workdir)
    assert pass_scores(test_x[:2], test_x[:2]) == pytest.approx([1.0, 1.0])
    targets, _ = choose_targets(model, test_x, test_y, 10)
    for layer in LAYERS:
        table = pd.read_csv(workdir / f"results/lots/mnist/lenet_caffe/vanilla/seed0/{layer}.csv")
        for mode, rows in table.groupby("mode"):
            index = rows["origin"].to_numpy()
            origins, target_class = test_x[index], torch.as_tensor(rows["target_class"].to_numpy())
            assert (rows["origin_label"] == test_y[index].numpy()).all()
            eta = lots_direction(model, layer, origins, layer_features(model, layer, targets)[target_class])
            eta = eta / eta.flatten(1).abs().amax(1).view(-1, 1, 1, 1)
            hits = rows["success"].to_numpy()
            assert hits.any(), (layer, mode)
            x, eta, hit_rows = origins[hits], eta[hits], rows[hits]
            eps = torch.as_tensor(hit_rows["eps"].to_numpy(dtype=np.float32)).view(-1, 1, 1, 1)
            image = lambda e: (x + e * eta).round().clamp(0, 255).to(torch.uint8)  # noqa: E731
            goal = target_class[hits] if mode == "targeted" else test_y[index[hits]]
            fooled = lambda images: (predict(model, images) == goal) == (mode == "targeted")  # noqa: E731
            adversarial = image(eps)
            assert fooled(adversarial).all() and not fooled(image(eps - 1)).any()
            assert (predict(model, adversarial).numpy() == hit_rows["adversarial_class"].to_numpy()).all()
            difference = (adversarial.float() - x.float()).flatten(1)
            np.testing.assert_allclose(pass_scores(x, adversarial), hit_rows["pass_score"], rtol=1e-6)
            np.testing.assert_allclose(difference.norm(dim=1), hit_rows["l2"], rtol=1e-5)
            np.testing.assert_allclose(difference.abs().amax(1), hit_rows["linf"])


@pytest.mark.workflow
def test_lots_attack_table_has_the_columns_of_the_other_attacks(study):
    workdir, _ = study
    table = pd.read_csv(workdir / "results/attacks/mnist/lenet_caffe/vanilla/seed0/lots.csv")
    assert list(table.columns) == ["index", "true_label", "clean_pred", "adv_pred", "success", "l2", "linf"]
    assert len(table) == 200 and list(table["index"]) == list(range(200))  # n_attack 1000 > test_limit
    from advtransfer.lots import predict

    model, test_x, test_y = standard_lenet_and_test_split(workdir)
    assert (table["true_label"] == test_y.numpy()).all()
    assert (table["clean_pred"] == predict(model, test_x).numpy()).all()
    assert (table["success"] == (table["adv_pred"] != table["true_label"])).all()
    misclassified = table[table["clean_pred"] != table["true_label"]]
    assert misclassified["success"].all() and (misclassified["l2"] == 0).all()
    fooled = table[(table["clean_pred"] == table["true_label"]) & table["success"]]
    assert len(fooled) > 0 and (fooled["l2"] > 0).all() and (fooled["linf"] <= 255).all()


@pytest.mark.workflow
def test_figure_is_a_png(study):
    workdir, _ = study
    png = workdir / "results/figures/mnist/lenet_caffe_lots.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


@pytest.mark.workflow
def test_nothing_to_do_after_a_complete_run(study):
    workdir, configfile = study
    assert planned_jobs(snakemake(workdir, configfile, "-n", *TARGETS).stdout) == []


@pytest.mark.workflow
@pytest.mark.parametrize("key, value, rerun", [
    ("visualise", 1, {"lots_figure"}),
    ("n_lots", 2, {"lots", "lots_baselines", "lots_comparison"}),
    ("attack_layer", "body.ip1", {"attack"}),
])
def test_editing_a_lots_setting_reruns_only_the_jobs_that_use_it(study, key, value, rerun):
    workdir, _ = study
    config = small_config(workdir / "data")
    config["datasets"]["mnist"]["lots"][key] = value
    jobs = planned_jobs(snakemake(workdir, write_config(workdir, config, "edited.yaml"), "-n", *TARGETS).stdout)
    assert {rule for rule, _ in jobs} == rerun


def test_mnist_preset_plans_lots_jobs_and_lots_at_starts_from_vanilla(tmp_path):
    preset = yaml.safe_load((ROOT / "config" / "mnist.yaml").read_text())["datasets"]["mnist"]
    layers, defences = preset["lots"]["layers"]["lenet_caffe"], preset["defences"]
    out = snakemake(tmp_path, ROOT / "config" / "mnist.yaml", "-n").stdout
    jobs = planned_jobs(out)
    count = lambda rule: sum(r == rule for r, _ in jobs)  # noqa: E731
    assert {w["layer"] for r, w in jobs if r == "lots"} == set(layers)
    # per defence: one job per layer, one for FGS/FGV/HC, the attack "lots"; one figure, one table;
    # a standard classifier and one per excluded class (all 10) per defence
    assert (count("lots"), count("lots_baselines"), count("attack")) == (
        len(layers) * len(defences), len(defences), len(defences))
    assert {w["attack"] for r, w in jobs if r == "attack"} == {"lots"}
    assert (count("lots_figure"), count("lots_comparison"), count("train")) == (1, 1, (10 + 1) * len(defences))
    for excluded in ["none", *map(str, range(10))]:
        block = re.search(rf"input: (\S+)\n\s+output: \S+/lots_at/seed0/{excluded}/model.pt", out)
        assert block and block.group(1) == f"results/models/mnist/lenet_caffe/vanilla/seed0/{excluded}/model.pt"


def test_an_unknown_layer_fails_before_any_job_and_lists_the_layers(tmp_path):
    config = small_config(tmp_path / "data")
    config["datasets"]["mnist"]["lots"]["layers"]["lenet_caffe"] = ["body.ip9"]
    run = snakemake(tmp_path, write_config(tmp_path, config), "-n", check=False)
    assert run.returncode != 0
    assert re.search(r"datasets\.mnist\.lots\.layers\.lenet_caffe: unknown layer 'body.ip9'.*body\.ip1",
                     run.stdout + run.stderr)


@pytest.mark.parametrize("edit, key", [
    (lambda lots: lots.update(attack_layer="body.fc"), r"datasets\.mnist\.lots\.attack_layer: unknown layer"),
    (lambda lots: lots["layers"].update(mlp=["logits"]), r"datasets\.mnist\.lots\.layers: \['mlp'\]"),
])
def test_check_config_names_the_key(tmp_path, edit, key):
    config = small_config(tmp_path)
    check_config(validated(config))
    edit(config["datasets"]["mnist"]["lots"])
    with pytest.raises(ConfigError, match=key):
        check_config(validated(config))


def test_check_config_checks_the_lots_at_layer(tmp_path):
    config = copy.deepcopy(yaml.safe_load((ROOT / "config" / "mnist.yaml").read_text()))
    check_config(validated(config))
    config["defence_params"]["lots_at"]["layer"] = "body.conv7"
    with pytest.raises(ConfigError, match=r"defence_params\.lots_at\.layer.*unknown layer 'body.conv7'"):
        check_config(validated(config))
    del config["datasets"]["mnist"]["lots"]  # a dataset without LOTS still trains lots_at
    with pytest.raises(ConfigError, match=r"defence_params\.lots_at\.layer.*unknown layer 'body.conv7'"):
        check_config(validated(config))
