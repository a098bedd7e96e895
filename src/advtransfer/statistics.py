"""The statistics of Tables 2 and 3 (method §3): paired t-tests with Holm's correction, and Pearson's r
with its 95% confidence interval. Pure functions on arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_POINTS = 3  # Pearson's r needs at least three usable pairs


def paired_test(vanilla: np.ndarray, defended: np.ndarray) -> tuple[float, float]:
    """t and two-sided p of the paired-samples t-test ``ttest_rel(vanilla, defended)`` (t > 0: the
    defence lowers the value); NaN for fewer than 2 pairs."""
    from scipy import stats

    if len(vanilla) < 2:
        return float("nan"), float("nan")
    result = stats.ttest_rel(vanilla, defended)
    return float(result.statistic), float(result.pvalue)


def holm(p_values: pd.Series) -> pd.Series:
    """Holm-corrected p-values (statsmodels ``multipletests``); NaN stays NaN and is not counted."""
    from statsmodels.stats.multitest import multipletests

    corrected = pd.Series(np.nan, index=p_values.index)
    finite = p_values.notna()
    if finite.any():
        corrected[finite] = multipletests(p_values[finite].to_numpy(), method="holm")[1]
    return corrected


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
    from scipy import stats

    result = stats.pearsonr(x, y)
    ci = result.confidence_interval(confidence_level=0.95)
    row.update(pearson_r=float(result.statistic), p_value=float(result.pvalue),
               ci_low=float(ci.low), ci_high=float(ci.high))
    return row


def mean(v: np.ndarray) -> float:
    return float(np.mean(v)) if len(v) else float("nan")


def std(v: np.ndarray) -> float:
    """Standard deviation with ddof 0 (method §1: Tables 1 and 2)."""
    return float(np.std(v)) if len(v) else float("nan")


def bootstrap_ci(values: np.ndarray, level: float = 0.95, resamples: int = 10_000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values`` (seeds × classes, method §5.1): each
    resample draws the seeds with replacement, then, within each drawn seed, the classes with
    replacement. One seed: the classes only. Seeded, so a table is the same on every run."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.size == 0:
        return float("nan"), float("nan")
    n_seeds, n_classes = values.shape
    rng = np.random.default_rng(seed)
    seeds = rng.integers(n_seeds, size=(resamples, n_seeds, 1))
    classes = rng.integers(n_classes, size=(resamples, n_seeds, n_classes))
    means = values[seeds, classes].mean(axis=(1, 2))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def seed_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """The mean of per-seed values (e.g. a difference between two models, one per seed) and its
    Student-t interval over the seeds (n − 1 degrees of freedom, method §5.1): (mean, low, high).
    NaN bounds with fewer than two seeds; a zero-width interval when every seed agrees exactly."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan"), float("nan")
    centre = float(values.mean())
    if len(values) < 2:
        return centre, float("nan"), float("nan")
    half = float(stats.t.ppf((1 + level) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return centre, centre - half, centre + half
