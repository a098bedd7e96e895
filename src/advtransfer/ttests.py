"""method §3 Table 2: defended vs vanilla DBM and AM, paired-samples t-tests with Holm's correction.

The input is the per-class table of the workflow, one row per (dataset, architecture, defence,
excluded_class) with the columns ``dbm`` and ``am``. A pair is one (architecture, excluded_class)
that has both a vanilla and a defended value; the test is ``scipy.stats.ttest_rel(vanilla,
defended)``, so t > 0 means the defence lowers the metric. Standard deviations are over the pairs
with ddof 0, as in Table 1. Holm's correction (beyond the paper) runs over the defences of one
dataset, metric and architecture group; a test without a p-value (fewer than 2 pairs) is left out
of it.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402
from statsmodels.stats.multitest import multipletests  # noqa: E402

from advtransfer.figures import METRIC_LABELS  # noqa: E402
from advtransfer.io import atomic_path  # noqa: E402

KEYS = ["dataset", "architecture", "defence", "excluded_class"]
METRICS = {"DBM": "dbm", "AM": "am"}
POOLED = "all"
COLUMNS = ["dataset", "defence", "architecture", "metric", "n_pairs", "vanilla_mean", "vanilla_std",
           "defended_mean", "defended_std", "t", "p_value", "p_holm"]


def check_per_class(per_class: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in KEYS + list(METRICS.values()) if c not in per_class.columns]
    if missing:
        raise ValueError(f"the per-class table lacks the columns {missing}")
    duplicated = per_class.duplicated(KEYS)
    if duplicated.any():
        raise ValueError(f"the per-class table repeats {per_class.loc[duplicated, KEYS].iloc[0].to_dict()}")
    return per_class


def paired_test(vanilla: np.ndarray, defended: np.ndarray) -> tuple[float, float]:
    """t and two-sided p of the paired-samples t-test; NaN for fewer than 2 pairs."""
    if len(vanilla) < 2:
        return float("nan"), float("nan")
    result = stats.ttest_rel(vanilla, defended)
    return float(result.statistic), float(result.pvalue)


def holm(p_values: pd.Series) -> pd.Series:
    """Holm-corrected p-values (statsmodels ``multipletests``); NaN stays NaN and is not counted."""
    corrected = pd.Series(np.nan, index=p_values.index)
    finite = p_values.notna()
    if finite.any():
        corrected[finite] = multipletests(p_values[finite].to_numpy(), method="holm")[1]
    return corrected


def table2(per_class: pd.DataFrame) -> pd.DataFrame:
    """method §3 Table 2: per dataset, defence ≠ vanilla, architecture (and ``all``: every
    architecture's classes pooled) and metric, the paired t-test of vanilla vs defended."""
    per_class = check_per_class(per_class)
    rows = []
    for dataset, data in per_class.groupby("dataset", sort=False):
        vanilla = data[data["defence"] == "vanilla"]
        for defence in [d for d in data["defence"].unique() if d != "vanilla"]:
            pairs = vanilla.merge(data[data["defence"] == defence], on=["architecture", "excluded_class"],
                                  suffixes=("_vanilla", "_defended"))
            groups = [(a, pairs[pairs["architecture"] == a]) for a in data["architecture"].unique()]
            for architecture, group in groups + [(POOLED, pairs)]:
                if group.empty:  # this architecture was not trained with this defence
                    continue
                for metric, column in METRICS.items():
                    v, d = group[f"{column}_vanilla"].to_numpy(float), group[f"{column}_defended"].to_numpy(float)
                    t, p = paired_test(v, d)
                    rows.append({
                        "dataset": dataset, "defence": defence, "architecture": architecture, "metric": metric,
                        "n_pairs": len(group), "vanilla_mean": _mean(v), "vanilla_std": _std(v),
                        "defended_mean": _mean(d), "defended_std": _std(d), "t": t, "p_value": p,
                    })
    table = pd.DataFrame(rows, columns=COLUMNS[:-1])
    table["p_holm"] = np.nan
    if len(table):
        table["p_holm"] = table.groupby(["dataset", "metric", "architecture"], sort=False)["p_value"].transform(holm)
    return table[COLUMNS]


def _mean(v: np.ndarray) -> float:
    return float(np.mean(v)) if len(v) else float("nan")


def _std(v: np.ndarray) -> float:
    return float(np.std(v)) if len(v) else float("nan")


def defence_figure(per_class: pd.DataFrame, dataset: str, path: str | None = None):
    """DBM and AM of one dataset per defence (boxes over all classes) and architecture (points).

    Returns the matplotlib figure; writes it as PNG to ``path`` when given.
    """
    data = check_per_class(per_class)
    data = data[data["dataset"] == dataset]
    if data.empty:
        raise ValueError(f"no rows for dataset {dataset!r}")
    defences = ["vanilla"] + [d for d in data["defence"].unique() if d != "vanilla"]
    architectures = list(data["architecture"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(max(6.0, 1.1 * len(defences)) * 2, 4), squeeze=False)
    offsets = np.linspace(-0.25, 0.25, len(architectures)) if len(architectures) > 1 else [0.0]
    for ax, (metric, column) in zip(axes[0], METRICS.items()):
        values = [data.loc[data["defence"] == d, column].to_numpy(float) for d in defences]
        ax.boxplot(values, positions=range(len(defences)), widths=0.6, showfliers=False)
        for offset, architecture in zip(offsets, architectures):
            for i, defence in enumerate(defences):
                v = data.loc[(data["defence"] == defence) & (data["architecture"] == architecture), column]
                colour = f"C{architectures.index(architecture)}"
                ax.plot(np.full(len(v), i + offset), v, "o", ms=3, alpha=0.7, color=colour,
                        label=architecture if i == 0 else None)
        ax.set_xticks(range(len(defences)), defences, rotation=30, ha="right")
        ax.set_xlabel("defence")
        ax.set_ylabel(METRIC_LABELS[metric])
        ax.set_title(f"{dataset}: {metric} per defence")
    axes[0][0].legend(fontsize=8, title="architecture")
    fig.tight_layout()
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    return fig


def table2_job(per_class_csv: str, table2_csv: str, table2_md: str, figures: dict[str, str]) -> None:
    """The workflow's ``table2`` job: Table 2 over every dataset and one defence figure per dataset."""
    from advtransfer.io import write_table

    per_class = pd.read_csv(per_class_csv)
    write_table(table2(per_class), table2_csv, table2_md)
    for dataset, path in figures.items():
        defence_figure(per_class, dataset, path)
