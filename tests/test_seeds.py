"""Replicate seeds (method §5.1): the tables of several seeds, the bootstrap interval, and a two-seed study."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from advtransfer.statistics import bootstrap_ci
from advtransfer.tables import table1, table2, table3
from workflow_helpers import digits_config, planned_jobs, snakemake, write_config


def per_class_rows(seeds, classes=range(10), architectures=("mlp", "convnet"), defences=("vanilla",), shift=0.0):
    """Synthetic per-class metrics: a value per (architecture, defence, seed, class)."""
    rng = np.random.default_rng(7)
    rows = []
    for a, architecture in enumerate(architectures):
        for defence in defences:
            for seed in seeds:
                offset = rng.normal(0, 0.03)  # what a seed moves
                for c in classes:
                    rows.append({"dataset": "digits", "architecture": architecture, "defence": defence,
                                 "seed": seed, "excluded_class": c,
                                 "dbm": 0.5 + 0.1 * a + offset + rng.normal(0, 0.05) - shift * (defence != "vanilla"),
                                 "am": 0.8 + offset + rng.normal(0, 0.05)})
    return pd.DataFrame(rows)


def table1_before_seeds(per_class):
    """Table 1 as the project computed it before replicate seeds existed (kept here as the reference)."""
    vanilla = per_class[per_class["defence"] == "vanilla"]
    grouped = vanilla.groupby(["dataset", "architecture"], sort=False)
    return grouped.agg(
        dbm_mean=("dbm", "mean"), dbm_std=("dbm", lambda v: float(np.std(v))),
        am_mean=("am", "mean"), am_std=("am", lambda v: float(np.std(v))),
        n_classes=("excluded_class", "nunique"),
    ).reset_index()


def test_one_seed_table1_is_the_table_without_seeds():
    per_class = per_class_rows([0])
    table = table1(per_class)
    pd.testing.assert_frame_equal(table, table1_before_seeds(per_class), check_exact=True)
    # a per-class table without a seed column (as a one-seed study writes it) gives the same table
    pd.testing.assert_frame_equal(table1(per_class.drop(columns="seed")), table, check_exact=True)


def test_table1_of_several_seeds_fills_the_seed_columns():
    per_class = per_class_rows([0, 1, 2])
    table = table1(per_class)
    row = table[table["architecture"] == "convnet"].iloc[0]
    values = per_class[per_class["architecture"] == "convnet"]
    seed_means = values.groupby("seed")["dbm"].mean().to_numpy()
    assert row["n_seeds"] == 3 and row["n_classes"] == 10
    assert row["dbm_mean"] == pytest.approx(values["dbm"].mean())
    assert row["dbm_std"] == pytest.approx(np.mean([np.std(g["dbm"]) for _, g in values.groupby("seed")]))
    assert row["dbm_seed_std"] == pytest.approx(np.std(seed_means, ddof=1))
    for metric in ("dbm", "am"):
        assert row[f"{metric}_ci_low"] < row[f"{metric}_mean"] < row[f"{metric}_ci_high"]


def test_bootstrap_interval_contains_the_mean_and_narrows_with_more_seeds():
    rng = np.random.default_rng(0)
    widths = {}
    for n_seeds in (3, 10, 40):  # synthetic studies: a seed effect and a class effect
        draws = [0.5 + rng.normal(0, 0.05, (n_seeds, 1)) + rng.normal(0, 0.05, (n_seeds, 10)) for _ in range(20)]
        for values in draws:
            low, high = bootstrap_ci(values, resamples=2000)
            assert low < values.mean() < high
        widths[n_seeds] = np.mean([np.subtract(*bootstrap_ci(v, resamples=2000)[::-1]) for v in draws])
    assert widths[3] > widths[10] > widths[40]
    assert bootstrap_ci(draws[0]) == bootstrap_ci(draws[0])  # seeded: the same table on every run


@pytest.mark.parametrize("seeds", [[0], [0, 1, 2]])
def test_table1_figure_draws_an_interval_only_over_several_seeds(seeds):
    """Table 1 has no interval with one seed: its figure draws the means alone (no error bar, no "95%
    CI" in the legend); with three seeds each mean has its bootstrap interval, Table 1's, and a point
    per seed."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.container import ErrorbarContainer

    from advtransfer.figures import table1_figure

    per_class = per_class_rows(seeds)
    table = table1(per_class)
    fig = table1_figure(per_class, table)
    try:
        axes = fig.axes
        assert [ax.get_title() for ax in axes] == ["digits: DBM (Table 1)", "digits: AM (Table 1)"]
        legend = [t.get_text() for t in axes[0].get_legend().get_texts()]
        for ax, column in zip(axes, ("dbm", "am")):
            bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
            lines = [c for c in ax.collections if isinstance(c, LineCollection)]
            means = [line for line in ax.lines if line.get_marker() == "s"]
            if len(seeds) == 1:
                assert bars == [] and lines == []
                assert [float(line.get_ydata()[0]) for line in means] == pytest.approx(table[f"{column}_mean"])
            else:
                assert len(bars) == len(table) and len(lines) == len(table)
                for bar, (_, row) in zip(bars, table.iterrows()):
                    (low, high), = [segment[:, 1] for segment in bar.lines[2][0].get_segments()]
                    assert (low, high) == pytest.approx((row[f"{column}_ci_low"], row[f"{column}_ci_high"]))
                seed_points = [line for line in ax.lines if line.get_marker() == "o"]
                assert [len(line.get_ydata()) for line in seed_points] == [3] * len(table)
        if len(seeds) == 1:
            assert not any("CI" in text for text in legend) and "one seed" not in legend
        else:
            assert sorted(legend) == ["mean, 95% CI", "one seed"]
    finally:
        plt.close(fig)


def test_table2_pairs_on_architecture_class_and_seed():
    per_class = per_class_rows([0, 1], defences=("vanilla", "label_smoothing"), shift=0.05)
    row = table2(per_class).query("architecture == 'mlp' and metric == 'DBM'").iloc[0]
    assert row["n_pairs"] == 20  # 10 classes × 2 seeds
    mlp = per_class[per_class["architecture"] == "mlp"].sort_values(["seed", "excluded_class"])
    expected = stats.ttest_rel(mlp[mlp["defence"] == "vanilla"]["dbm"], mlp[mlp["defence"] != "vanilla"]["dbm"])
    assert row["t"] == pytest.approx(expected.statistic) and row["p_value"] == pytest.approx(expected.pvalue)


def test_table3_correlates_per_seed_and_on_seed_averaged_values():
    rows = []
    rng = np.random.default_rng(3)
    for seed in (0, 1):
        for c in range(8):
            dbm = rng.uniform(0.2, 0.8)
            rows.append({"dataset": "digits", "architecture": "mlp", "attack": "fgm", "class": c, "seed": seed,
                         "dbm": dbm, "am": rng.uniform(0.5, 1.0), "mean_l2": 100 * dbm + rng.normal(0, 5)})
    joined = pd.DataFrame(rows)
    table = table3(joined)
    assert set(table["seed"]) == {"mean", "0", "1"}
    per_seed = table.query("seed == '1' and architecture == 'mlp' and metric == 'DBM'").iloc[0]
    seed1 = joined[joined["seed"] == 1]
    assert per_seed["pearson_r"] == pytest.approx(stats.pearsonr(seed1["dbm"], seed1["mean_l2"]).statistic)
    averaged = joined.groupby("class")[["dbm", "mean_l2"]].mean()
    mean_row = table.query("seed == 'mean' and architecture == 'mlp' and metric == 'DBM'").iloc[0]
    assert mean_row["pearson_r"] == pytest.approx(stats.pearsonr(averaged["dbm"], averaged["mean_l2"]).statistic)
    # one seed: today's table, no seed column
    one = table3(seed1.drop(columns="seed"))
    assert "seed" not in one.columns and one.query("architecture == 'mlp' and metric == 'DBM'")[
        "pearson_r"].iloc[0] == per_seed["pearson_r"]


@pytest.mark.workflow
def test_a_second_seed_runs_its_own_jobs_and_fills_the_seed_columns(tmp_path):
    """One seed, then a second: the second run trains only seed 1's models; the seed-0 rows are the
    one-seed study's, number for number; the tables of two seeds have their seed-level columns."""
    attacks = {"n_attack": 30, "batch_size": 30, "run": ["fgm"], "params": {"fgm": {"eps": 76.5, "eps_step": 2.55}}}
    config = digits_config(tmp_path / "data", ("mlp",), excluded=(0, 1, 2), attacks=attacks)
    snakemake(tmp_path, write_config(tmp_path, config))
    one = {name: pd.read_csv(tmp_path / f"results/tables/{name}.csv")
           for name in ("metrics_per_class", "table1", "table3", "accuracies")}
    assert "seed" not in one["metrics_per_class"].columns and "n_seeds" not in one["table1"].columns

    config["seeds"] = [0, 1]
    configfile = write_config(tmp_path, config, "two.yaml")
    jobs = planned_jobs(snakemake(tmp_path, configfile, "-n").stdout)
    trained = {(w["seed"], w["excluded"]) for rule, w in jobs if rule == "train"}
    assert trained == {("1", e) for e in ("none", "0", "1", "2")}
    snakemake(tmp_path, configfile)
    for seed in (0, 1):
        assert (tmp_path / f"results/models/digits/mlp/vanilla/seed{seed}/none/model.pt").exists()

    per_class = pd.read_csv(tmp_path / "results/tables/metrics_per_class.csv")
    seed0 = per_class[per_class["seed"] == 0].drop(columns="seed").reset_index(drop=True)
    pd.testing.assert_frame_equal(seed0, one["metrics_per_class"], check_exact=True)
    table = pd.read_csv(tmp_path / "results/tables/table1.csv").iloc[0]
    assert table["n_seeds"] == 2 and table["n_classes"] == 3
    for metric in ("dbm", "am"):
        assert np.isfinite(table[f"{metric}_seed_std"])
        assert table[f"{metric}_ci_low"] <= table[f"{metric}_mean"] <= table[f"{metric}_ci_high"]
    t3 = pd.read_csv(tmp_path / "results/tables/table3.csv", dtype={"seed": str})
    assert set(t3["seed"]) == {"mean", "0", "1"}
    one_t3 = one["table3"]
    pd.testing.assert_frame_equal(t3[t3["seed"] == "0"].drop(columns="seed").reset_index(drop=True), one_t3)
    accuracies = pd.read_csv(tmp_path / "results/tables/accuracies.csv")
    assert sorted(set(accuracies["seed"])) == [0, 1] and len(accuracies) == 2 * len(one["accuracies"])
    assert (tmp_path / "results/figures/table1.png").stat().st_size > 0
