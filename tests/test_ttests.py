"""method §3 Table 2: paired t-tests of vanilla vs defended DBM/AM, Holm's correction, pooled rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from advtransfer.figures import defence_figure
from advtransfer.tables import TABLE2_COLUMNS as COLUMNS
from advtransfer.tables import table2

VANILLA_DBM = np.array([0.30, 0.25, 0.41, 0.35, 0.28])
LS_DBM = np.array([0.22, 0.24, 0.30, 0.31, 0.20])  # label smoothing lowers DBM


def per_class(rng=np.random.default_rng(0)) -> pd.DataFrame:
    """Two architectures × 5 classes; vanilla, label smoothing, feature squeezing (mlp only, 3 classes)."""
    rows = []
    for a, arch in enumerate(["mlp", "convnet"]):
        for c in range(5):
            shift = 0.01 * a
            rows.append(("fashion_mnist", arch, "vanilla", c, VANILLA_DBM[c] + shift, 0.5 + 0.02 * c + shift))
            rows.append(("fashion_mnist", arch, "label_smoothing", c, LS_DBM[c] + shift, 0.45 + 0.03 * c))
            if arch == "mlp" and c < 3:
                rows.append(("fashion_mnist", arch, "feature_squeezing", c, VANILLA_DBM[c] + rng.normal(0, 0.05),
                             0.5 + rng.normal(0, 0.05)))
    rows.append(("digits", "mlp", "vanilla", 0, 0.3, 0.4))
    rows.append(("digits", "mlp", "spatial_smoothing", 0, 0.2, 0.5))
    return pd.DataFrame(rows, columns=["dataset", "architecture", "defence", "excluded_class", "dbm", "am"])


def row(table, **keys) -> pd.Series:
    selected = table
    for k, v in keys.items():
        selected = selected[selected[k] == v]
    assert len(selected) == 1, keys
    return selected.iloc[0]


def test_paired_t_test_equals_scipy_on_a_fixed_array():
    table = table2(per_class())
    r = row(table, dataset="fashion_mnist", defence="label_smoothing", architecture="mlp", metric="DBM")
    expected = stats.ttest_rel(VANILLA_DBM, LS_DBM)
    assert r["n_pairs"] == 5 and r["t"] > 0
    assert r["t"] == pytest.approx(expected.statistic) and r["p_value"] == pytest.approx(expected.pvalue)
    assert r["vanilla_mean"] == pytest.approx(VANILLA_DBM.mean())
    assert r["vanilla_std"] == pytest.approx(VANILLA_DBM.std())
    assert r["defended_mean"] == pytest.approx(LS_DBM.mean()) and r["defended_std"] == pytest.approx(LS_DBM.std())


def test_pooled_all_rows_pair_every_architectures_classes():
    data = per_class()
    table = table2(data)
    r = row(table, dataset="fashion_mnist", defence="label_smoothing", architecture="all", metric="AM")
    ls = data[data["defence"] == "label_smoothing"].sort_values(["architecture", "excluded_class"])
    va = data[data["defence"] == "vanilla"].sort_values(["architecture", "excluded_class"])
    va = va[va["dataset"] == "fashion_mnist"]
    expected = stats.ttest_rel(va["am"], ls["am"])
    assert r["n_pairs"] == 10
    assert r["t"] == pytest.approx(expected.statistic) and r["p_value"] == pytest.approx(expected.pvalue)
    # feature squeezing exists for 3 mlp classes only: its pooled test has those 3 pairs, no convnet row
    assert row(table, defence="feature_squeezing", architecture="all", metric="DBM")["n_pairs"] == 3
    assert table[(table["defence"] == "feature_squeezing") & (table["architecture"] == "convnet")].empty


def test_holm_correction_equals_statsmodels_over_the_defences():
    table = table2(per_class())
    group = table[(table["dataset"] == "fashion_mnist") & (table["metric"] == "DBM") & (table["architecture"] == "mlp")]
    assert sorted(group["defence"]) == ["feature_squeezing", "label_smoothing"]
    expected = multipletests(group["p_value"].to_numpy(), method="holm")[1]
    assert np.allclose(group["p_holm"].to_numpy(), expected)
    assert (group["p_holm"] >= group["p_value"]).all() and (group["p_holm"] > group["p_value"]).any()


def test_fewer_than_two_pairs_give_nan_and_stay_out_of_the_correction():
    table = table2(per_class())
    r = row(table, dataset="digits", defence="spatial_smoothing", architecture="mlp", metric="AM")
    assert r["n_pairs"] == 1 and np.isnan(r["t"]) and np.isnan(r["p_value"]) and np.isnan(r["p_holm"])
    assert r["defended_mean"] == pytest.approx(0.5)


def test_columns_and_every_group_present():
    table = table2(per_class())
    assert list(table.columns) == COLUMNS
    assert "vanilla" not in set(table["defence"])
    # fashion_mnist: LS × (mlp, convnet, all) + FS × (mlp, all); digits: SS × (mlp, all); × 2 metrics
    assert len(table) == (3 + 2 + 2) * 2


def test_repeated_rows_are_an_error():
    data = per_class()
    with pytest.raises(ValueError, match="repeats"):
        table2(pd.concat([data, data.iloc[:1]]))
    with pytest.raises(ValueError, match="lacks the columns"):
        table2(data.drop(columns="am"))


def test_defence_figure_writes_a_png(tmp_path):
    path = tmp_path / "defences.png"
    fig = defence_figure(per_class(), "fashion_mnist", str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [ax.get_ylabel() for ax in fig.axes] == ["DBM (no unit)", "AM (no unit, 0–2)"]
    assert [ax.get_xlabel() for ax in fig.axes] == ["defence", "defence"]
    with pytest.raises(ValueError, match="no rows"):
        defence_figure(per_class(), "cifar10")
