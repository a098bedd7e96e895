"""Table 3 of method §3: Pearson correlation between the per-class metrics and the Mean L2 score.

Per (dataset, architecture, attack) and metric (DBM, AM): Pearson r and its p-value between the N
per-class metric values (DBMᵢ, AMᵢ) and the N per-class Mean L2 scores of that attack on the vanilla
standard classifier, with a 95% confidence interval (beyond the paper); also pooled over the
architectures of a dataset (architecture ``all``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from advtransfer.io import write_table

INPUT_COLUMNS = ["dataset", "architecture", "attack", "class", "dbm", "am", "mean_l2"]
OUTPUT_COLUMNS = ["dataset", "architecture", "attack", "metric", "n", "n_used",
                  "pearson_r", "p_value", "ci_low", "ci_high"]
METRICS = {"DBM": "dbm", "AM": "am"}
POOLED = "all"
MIN_POINTS = 3


def pearson(x: np.ndarray, y: np.ndarray) -> dict:
    """n, n_used, r, p and the 95% CI of r over the pairs where both values are finite.

    A class whose attack never succeeded has a NaN Mean L2 score: it counts in ``n`` but not in
    ``n_used``. Fewer than 3 usable pairs, or a constant variable, give NaN r, p and CI.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    usable = np.isfinite(x) & np.isfinite(y)
    x, y = x[usable], y[usable]
    row = {"n": len(usable), "n_used": int(usable.sum()),
           "pearson_r": np.nan, "p_value": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    if len(x) < MIN_POINTS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return row
    result = stats.pearsonr(x, y)
    ci = result.confidence_interval(confidence_level=0.95)
    row.update(pearson_r=float(result.statistic), p_value=float(result.pvalue),
               ci_low=float(ci.low), ci_high=float(ci.high))
    return row


def pearson_table(per_class: pd.DataFrame) -> pd.DataFrame:
    """Table 3 from rows (dataset, architecture, attack, class, dbm, am, mean_l2), one per class.

    One output row per (dataset, architecture, attack, metric), then the pooled rows with
    architecture ``all``; columns dataset, architecture, attack, metric, n, n_used, pearson_r,
    p_value, ci_low, ci_high.
    """
    missing = set(INPUT_COLUMNS) - set(per_class.columns)
    if missing:
        raise ValueError(f"missing columns: {', '.join(sorted(missing))}")
    if (per_class["architecture"] == POOLED).any():
        raise ValueError(f"architecture name {POOLED!r} is reserved for the pooled rows")
    keys = ["dataset", "architecture", "attack", "class"]
    if per_class.duplicated(keys).any():
        raise ValueError("more than one row for a (dataset, architecture, attack, class)")
    pooled = per_class.assign(architecture=POOLED)
    rows = []
    for frame in (per_class, pooled):
        for (dataset, architecture, attack), g in frame.groupby(["dataset", "architecture", "attack"], sort=True):
            for metric, column in METRICS.items():
                rows.append({"dataset": dataset, "architecture": architecture, "attack": attack,
                             "metric": metric, **pearson(g[column], g["mean_l2"])})
    return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)


def table3_job(attacks_per_class_csv: str, metrics_per_class_csv: str, table3_csv: str, table3_md: str,
               figures: dict[tuple[str, str], str]) -> None:
    """Table 3 (Pearson r of DBMᵢ / AMᵢ with the attack's per-class Mean L2, vanilla standard
    classifiers) and one scatter figure per (dataset, attack) (paper 1 Figs 5, 6)."""
    from advtransfer.figures import correlation_figure, save  # the figures: only this job plots

    joined = table3_input(pd.read_csv(attacks_per_class_csv), pd.read_csv(metrics_per_class_csv))
    table = pearson_table(joined)
    write_table(table, table3_csv, table3_md)
    for (dataset, attack), path in figures.items():
        rows = joined[(joined["dataset"] == dataset) & (joined["attack"] == attack)]
        save(correlation_figure(rows, table[(table["dataset"] == dataset) & (table["attack"] == attack)],
                                f"{dataset}: {attack}"), path)


def table3_input(per_class_attacks: pd.DataFrame, per_class_metrics: pd.DataFrame) -> pd.DataFrame:
    """Rows (dataset, architecture, attack, class, dbm, am, mean_l2) of the vanilla classifiers."""
    attacks = per_class_attacks[per_class_attacks["defence"] == "vanilla"]
    metrics = per_class_metrics[per_class_metrics["defence"] == "vanilla"].rename(columns={"excluded_class": "class"})
    joined = attacks.merge(metrics[["dataset", "architecture", "class", "dbm", "am"]],
                           on=["dataset", "architecture", "class"], how="inner")
    return joined[["dataset", "architecture", "attack", "class", "dbm", "am", "mean_l2"]]
