"""The workflow on real data at small size: Fashion-MNIST end to end, then incremental re-runs."""

import pandas as pd
import pytest

from workflow_helpers import link_fashion_mnist, planned_jobs, small_config, snakemake, write_config

pytestmark = [pytest.mark.workflow]

RECIPE = {"epochs": 1, "batch_size": 64, "optimizer": "adam", "lr": 1.0e-3}


def fashion_mnist_config(data_dir):
    return small_config(data_dir, "fashion_mnist", {"mlp": RECIPE, "convnet": RECIPE}, excluded=[0, 7],
                        train_limit=3000, test_limit=500, isomap_max_points=100)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Runs the small study once; the tests below read what it wrote."""
    workdir = tmp_path_factory.mktemp("study")
    link_fashion_mnist(workdir / "data")
    config = fashion_mnist_config(workdir / "data")
    configfile = write_config(workdir, config)
    snakemake(workdir, configfile)
    return workdir, config, configfile


def test_tables_are_complete_and_in_range(study):
    workdir, _, _ = study
    per_class = pd.read_csv(workdir / "results/tables/metrics_per_class.csv")
    assert len(per_class) == 4  # 2 architectures × 2 excluded classes
    assert set(per_class["excluded_class"]) == {0, 7}
    # Eᵢ = every sample of class i in the (limited) train and test splits
    from advtransfer.data import load_dataset

    splits = load_dataset("fashion_mnist", workdir / "data", False, 3000, 500)
    expected_n = {i: int((splits.train_y == i).sum() + (splits.test_y == i).sum()) for i in (0, 7)}
    assert dict(zip(per_class["excluded_class"], per_class["n"])) == expected_n
    assert (per_class["dbm"] >= 0).all() and per_class["am"].between(0, 2).all()
    # one epoch on 3000 images is already well above chance (10%)
    assert (per_class["standard_accuracy"] > 0.3).all()

    table1 = pd.read_csv(workdir / "results/tables/table1.csv")
    assert sorted(table1["architecture"]) == ["convnet", "mlp"]
    for _, row in table1.iterrows():
        rows = per_class[per_class["architecture"] == row["architecture"]]
        assert row["dbm_mean"] == pytest.approx(rows["dbm"].mean())
        assert row["am_std"] == pytest.approx(rows["am"].std(ddof=0))
        assert row["n_classes"] == 2
    assert "dbm_mean" in (workdir / "results/tables/table1.md").read_text()
    for arch in ("mlp", "convnet"):
        for kind in ("isomap", "histograms"):
            png = workdir / f"results/figures/fashion_mnist/{arch}_{kind}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_nothing_to_do_after_a_complete_run(study):
    workdir, _, configfile = study
    assert planned_jobs(snakemake(workdir, configfile, "-n").stdout) == []


def test_editing_one_learning_rate_reruns_only_that_architecture(study):
    workdir, config, _ = study
    config["datasets"]["fashion_mnist"]["architectures"]["mlp"]["train"]["lr"] = 5.0e-4
    edited = write_config(workdir, config, "edited.yaml")
    jobs = planned_jobs(snakemake(workdir, edited, "-n").stdout)
    trained = {(w["architecture"], w["excluded"]) for rule, w in jobs if rule == "train"}
    assert trained == {("mlp", "none"), ("mlp", "0"), ("mlp", "7")}
    assert all(w.get("architecture", "mlp") == "mlp" for _, w in jobs)
    assert {"soft_labels", "metrics", "aggregate", "zero_shot_figures"} <= {rule for rule, _ in jobs}
