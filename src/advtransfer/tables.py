"""The study's tables (method §3, §4), built in one place: Table 1 (DBM, AM), Table 2 (defences),
the attacks per class and Table 3 (correlation with Mean L2), paper 2's LOTS comparison and its Table 1.

Each ``table*`` function takes the per-class (or per-attempt) rows and returns a table; the
workflow's jobs (``advtransfer.jobs.tables``) read their inputs and write the tables. No torch and no
plotting here: the figures are ``advtransfer.figures``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from advtransfer.catalog import TECHNIQUES
from advtransfer.constants import PAPER2_MODE, STANDARD
from advtransfer.statistics import bootstrap_ci, holm, mean, paired_test, pearson, std

SEED = "seed"  # the replicate seed of a row (method §5.1)
PER_CLASS_KEYS = ["dataset", "architecture", "defence", SEED, "excluded_class"]
MODEL_KEYS = ["dataset", "architecture", "defence"]
METRICS = {"DBM": "dbm", "AM": "am"}
POOLED = "all"  # the architecture name of the rows that pool every architecture of a dataset
TABLE2_COLUMNS = ["dataset", "defence", "architecture", "metric", "n_pairs", "vanilla_mean", "vanilla_std",
                  "defended_mean", "defended_std", "t", "p_value", "p_holm"]
CLASS_COLUMNS = ["class", "n", "clean_accuracy", "adversarial_accuracy", "success_rate", "mean_l2", "mean_linf"]
TABLE3_INPUT = ["dataset", "architecture", "attack", "class", "dbm", "am", "mean_l2"]
TABLE3_COLUMNS = ["dataset", "architecture", "attack", "metric", "n", "n_used",
                  "pearson_r", "p_value", "ci_low", "ci_high"]


# -- seeds ---------------------------------------------------------------------------------------

def with_seed(table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """``table`` with its ``seed`` column: a table of a one-seed study is written without it."""
    return table if SEED in table.columns else table.assign(**{SEED: seed})


def several_seeds(table: pd.DataFrame) -> bool:
    return SEED in table.columns and table[SEED].nunique() > 1


def as_written(table: pd.DataFrame) -> pd.DataFrame:
    """The table to write: a one-seed study's tables have no ``seed`` column (they are the
    tables of a study without replicates, method §5.1)."""
    return table if several_seeds(table) else table.drop(columns=[SEED], errors="ignore")


# -- Table 1 -------------------------------------------------------------------------------------

def table1(per_class: pd.DataFrame) -> pd.DataFrame:
    """Table 1: per (dataset, architecture) of the vanilla classifiers, the mean of DBM and AM over
    the excluded classes and seeds and their std over the classes (ddof 0; with several seeds, the
    mean over the seeds of each seed's std). With several seeds also (method §5.1): ``n_seeds``, the
    std between the seeds' means (ddof 1) and the 95% bootstrap CI of the mean (seeds, then classes)."""
    vanilla = with_seed(per_class[per_class["defence"] == "vanilla"])
    model = ["dataset", "architecture"]
    columns = list(METRICS.values())
    table = vanilla.groupby(model, sort=False).agg(
        **{f"{c}_mean": (c, "mean") for c in columns}, n_classes=("excluded_class", "nunique")).reset_index()
    within = vanilla.groupby(model + [SEED], sort=False)[columns].agg(lambda v: float(np.std(v)))
    within = within.groupby(model, sort=False).mean().add_suffix("_std").reset_index()
    table = table.merge(within, on=model)
    table = table[model + [f"{c}_{s}" for c in columns for s in ("mean", "std")] + ["n_classes"]]
    if not several_seeds(vanilla):
        return table
    extra = []
    for _, g in vanilla.groupby(model, sort=False):
        row = {"n_seeds": g[SEED].nunique()}
        for c in columns:
            by_seed = g.pivot(index=SEED, columns="excluded_class", values=c).dropna(axis=1)
            row[f"{c}_seed_std"] = float(np.std(by_seed.mean(axis=1).to_numpy(), ddof=1))
            row[f"{c}_ci_low"], row[f"{c}_ci_high"] = bootstrap_ci(by_seed.to_numpy())
        extra.append(row)
    return pd.concat([table, pd.DataFrame(extra)], axis=1)


# -- Table 2 -------------------------------------------------------------------------------------

def check_per_class(per_class: pd.DataFrame) -> pd.DataFrame:
    """The per-class table, checked: its key and metric columns, one row per key."""
    per_class = with_seed(per_class)
    missing = [c for c in PER_CLASS_KEYS + list(METRICS.values()) if c not in per_class.columns]
    if missing:
        raise ValueError(f"the per-class table lacks the columns {missing}")
    duplicated = per_class.duplicated(PER_CLASS_KEYS)
    if duplicated.any():
        raise ValueError(f"the per-class table repeats {per_class.loc[duplicated, PER_CLASS_KEYS].iloc[0].to_dict()}")
    return per_class


def table2(per_class: pd.DataFrame) -> pd.DataFrame:
    """Table 2: per dataset, defence ≠ vanilla, architecture (and ``all``: every architecture's
    classes pooled) and metric, the paired t-test of vanilla vs defended over the pairs
    (architecture, excluded class); std with ddof 0; Holm's correction over the defences of one
    dataset, metric and architecture group (a test without a p-value is left out of it). With
    several seeds (method §5.1), the pairs are (architecture, excluded class, seed)."""
    per_class = check_per_class(per_class)
    rows = []
    for dataset, data in per_class.groupby("dataset", sort=False):
        vanilla = data[data["defence"] == "vanilla"]
        for defence in [d for d in data["defence"].unique() if d != "vanilla"]:
            pairs = vanilla.merge(data[data["defence"] == defence], on=["architecture", "excluded_class", SEED],
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
                        "n_pairs": len(group), "vanilla_mean": mean(v), "vanilla_std": std(v),
                        "defended_mean": mean(d), "defended_std": std(d), "t": t, "p_value": p,
                    })
    table = pd.DataFrame(rows, columns=TABLE2_COLUMNS[:-1])
    table["p_holm"] = np.nan
    if len(table):
        table["p_holm"] = table.groupby(["dataset", "metric", "architecture"], sort=False)["p_value"].transform(holm)
    return table[TABLE2_COLUMNS]


# -- attacks per class and Table 3 ---------------------------------------------------------------

def attacks_per_class(samples: pd.DataFrame) -> pd.DataFrame:
    """Per true class of one attack's per-sample table: n, clean and adversarial accuracy, success
    rate, and the Mean L2 / L∞ score (0–255 scale) over the successful samples only (method §2; NaN
    for a class without a successful sample)."""
    from advtransfer.catalog import SAMPLE_COLUMNS

    missing = set(SAMPLE_COLUMNS) - set(samples.columns)
    if missing:
        raise ValueError(f"missing columns: {', '.join(sorted(missing))}")
    rows = []
    for cls, g in samples.groupby("true_label", sort=True):
        fooled = g[g["success"].astype(bool)]
        rows.append({
            "class": int(cls),
            "n": len(g),
            "clean_accuracy": float((g["clean_pred"] == g["true_label"]).mean()),
            "adversarial_accuracy": float((g["adv_pred"] == g["true_label"]).mean()),
            "success_rate": float(g["success"].astype(bool).mean()),
            "mean_l2": float(fooled["l2"].mean()) if len(fooled) else float("nan"),
            "mean_linf": float(fooled["linf"].mean()) if len(fooled) else float("nan"),
        })
    return pd.DataFrame(rows, columns=CLASS_COLUMNS)


def table3_input(per_class_attacks: pd.DataFrame, per_class_metrics: pd.DataFrame) -> pd.DataFrame:
    """Rows (dataset, architecture, attack, class, dbm, am, mean_l2, seed) of the vanilla classifiers."""
    attacks = with_seed(per_class_attacks[per_class_attacks["defence"] == "vanilla"])
    metrics = with_seed(per_class_metrics[per_class_metrics["defence"] == "vanilla"])
    metrics = metrics.rename(columns={"excluded_class": "class"})
    joined = attacks.merge(metrics[["dataset", "architecture", SEED, "class", "dbm", "am"]],
                           on=["dataset", "architecture", SEED, "class"], how="inner")
    return joined[TABLE3_INPUT + [SEED]]


SEED_MEAN = "mean"  # Table 3's seed of the rows on seed-averaged per-class values


def table3(per_class: pd.DataFrame) -> pd.DataFrame:
    """Table 3 from rows (dataset, architecture, attack, class, dbm, am, mean_l2), one per class
    (and seed): per (dataset, architecture, attack) and metric (DBM, AM), Pearson r, p and 95% CI
    between the N per-class metric values and the N per-class Mean L2 scores; then the rows pooled
    over the architectures of a dataset (architecture ``all``). With several seeds (method §5.1),
    first on the per-class values averaged over the seeds (seed ``mean``), then per seed."""
    missing = set(TABLE3_INPUT) - set(per_class.columns)
    if missing:
        raise ValueError(f"missing columns: {', '.join(sorted(missing))}")
    if (per_class["architecture"] == POOLED).any():
        raise ValueError(f"architecture name {POOLED!r} is reserved for the pooled rows")
    per_class = with_seed(per_class)
    keys = ["dataset", "architecture", "attack", "class"]
    if per_class.duplicated(keys + [SEED]).any():
        raise ValueError("more than one row for a (dataset, architecture, attack, class, seed)")
    if not several_seeds(per_class):
        return _correlations(per_class)
    averaged = per_class.groupby(keys, sort=False)[["dbm", "am", "mean_l2"]].mean().reset_index()
    tables = [_correlations(averaged).assign(**{SEED: SEED_MEAN})]
    tables += [_correlations(g).assign(**{SEED: str(seed)}) for seed, g in per_class.groupby(SEED, sort=True)]
    table = pd.concat(tables, ignore_index=True)
    return table[TABLE3_COLUMNS[:3] + [SEED] + TABLE3_COLUMNS[3:]]


def _correlations(per_class: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for frame in (per_class, per_class.assign(architecture=POOLED)):
        for (dataset, architecture, attack), g in frame.groupby(["dataset", "architecture", "attack"], sort=True):
            for metric, column in METRICS.items():
                rows.append({"dataset": dataset, "architecture": architecture, "attack": attack,
                             "metric": metric, **pearson(g[column], g["mean_l2"])})
    return pd.DataFrame(rows, columns=TABLE3_COLUMNS)


# -- paper 2's comparison --------------------------------------------------------------------------

def lots_comparison_table(attempts: pd.DataFrame) -> pd.DataFrame:
    """Per (technique, layer, mode): n_attempts, success_rate, target_rate (the share of attempts
    whose image is classified as their target class; NaN for FGS and FGV, which have none), and
    mean ± std of PASS, L2 and L∞ over the successful attempts (method §4.5)."""
    if "reached_target" not in attempts.columns:  # attempts written before the column existed
        attempts = attempts.assign(reached_target=np.nan)
    attempts = attempts.assign(reached_target=attempts["reached_target"].astype("float"))
    groups = attempts.groupby(["technique", "layer", "mode"], sort=False)
    table = groups.agg(
        n_attempts=("success", "size"),
        success_rate=("success", "mean"),
        target_rate=("reached_target", "mean"),
        pass_mean=("pass_score", "mean"), pass_std=("pass_score", "std"),
        l2_mean=("l2", "mean"), l2_std=("l2", "std"),
        linf_mean=("linf", "mean"), linf_std=("linf", "std"),
    ).reset_index()
    order = {t: i for i, t in enumerate(TECHNIQUES)}
    return table.sort_values("technique", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


# -- the classifiers' accuracies -----------------------------------------------------------------------


def classifier_label(excluded) -> str:
    """'standard' for the classifier of all N classes, 'without class i' for C₋ᵢ (method §1.1)."""
    return "standard" if str(excluded) == STANDARD else f"without class {excluded}"


def accuracy_table(histories: list[dict]) -> pd.DataFrame:
    """Final test accuracy of every classifier (method §1.6): one row per history.

    ``histories``: dicts with dataset, architecture, defence, seed, excluded (``none`` or a class) and
    ``history`` (a table with epoch, train_loss, test_accuracy, lr, seconds). Accuracies are on the
    classifier's own classes; train_seconds sums the epochs' seconds.
    """
    rows = []
    for h in histories:
        df = h["history"]
        best = df["test_accuracy"].idxmax()
        rows.append({
            "dataset": h["dataset"], "architecture": h["architecture"], "defence": h["defence"],
            SEED: h.get(SEED, 0), "classifier": classifier_label(h["excluded"]),
            "epochs": int(df["epoch"].iloc[-1]),
            "final_test_accuracy": float(df["test_accuracy"].iloc[-1]),
            "best_test_accuracy": float(df["test_accuracy"].max()),
            "best_epoch": int(df["epoch"].loc[best]),
            "final_train_loss": float(df["train_loss"].iloc[-1]),
            "train_seconds": float(df["seconds"].sum()),
        })
    return pd.DataFrame(rows)


# -- paper 2's Table 1 ------------------------------------------------------------------------------

# The attempts of each technique in paper 2's Table 1 (method §4.10): those of paper 2's success
# criterion (``constants.PAPER2_MODE``); LOTS pooled over the configured layers.
PAPER2_STATS = ["success_rate", "pass_mean", "pass_std", "l2_mean", "l2_std", "linf_mean", "linf_std"]
TARGETED_TECHNIQUES = ("HC", "LOTS")  # they also have a target_rate: the share that reached the target


def paper2_columns() -> list[str]:
    """The per-technique columns of paper 2's Table 1: ``<technique>_<stat>``, and the target rate of
    HC and LOTS."""
    return [f"{t.lower()}_{s}" for t in TECHNIQUES
            for s in PAPER2_STATS[:1] + (["target_rate"] if t in TARGETED_TECHNIQUES else []) + PAPER2_STATS[1:]]


def paper2_table1(attempts: pd.DataFrame, errors: pd.DataFrame) -> pd.DataFrame:
    """Paper 2's Table 1 (method §4.10): one row per model and seed of ``errors`` (dataset,
    architecture, defence, seed, test_error), vanilla first; per technique the success rate and
    mean ± std of PASS, L2 and L∞ over the successful attempts in the modes of ``constants.PAPER2_MODE``
    on that model (NaN: none); for HC and LOTS also the target rate."""
    attempts, errors = with_seed(attempts), with_seed(errors)
    keys = MODEL_KEYS + [SEED]
    chosen = attempts[attempts["mode"] == attempts["technique"].map(PAPER2_MODE)].assign(layer="-")
    columns = paper2_columns()
    rows = []
    for key, group in chosen.groupby(keys, sort=False):
        summary = lots_comparison_table(group).set_index("technique")
        row = dict(zip(keys, key))
        for column in columns:
            technique, stat = column.split("_", 1)
            technique = technique.upper()
            row[column] = float(summary.loc[technique, stat]) if technique in summary.index else np.nan
        rows.append(row)
    table = errors.merge(pd.DataFrame(rows, columns=keys + columns), on=keys, how="left")
    table = table.sort_values("defence", key=lambda d: d != "vanilla", kind="stable").reset_index(drop=True)
    return table[keys + [c for c in table.columns if c not in keys]]


def paper2_seeds(table: pd.DataFrame) -> pd.DataFrame:
    """Paper 2's Table 1 over replicate seeds (method §5.1): per model, ``n_seeds`` and, for the test
    error and each technique's success rate, target rate and mean PASS, L2 and L∞, the mean over the
    seeds (``<column>``) and the between-seed std (``<column>_seed_std``, ddof 1; NaN with one seed)."""
    table = with_seed(table)
    values = ["test_error"] + [c for c in paper2_columns() if not c.endswith("_std")]
    rows = []
    for key, group in table.groupby(MODEL_KEYS, sort=False):
        row = {**dict(zip(MODEL_KEYS, key)), "n_seeds": group[SEED].nunique()}
        for column in values:
            v = group[column].to_numpy(float)
            row[column] = float(np.mean(v))
            row[f"{column}_seed_std"] = float(np.std(v, ddof=1)) if len(v) > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=MODEL_KEYS + ["n_seeds"] + [c for v in values for c in (v, f"{v}_seed_std")])


def paper2_markdown(table: pd.DataFrame) -> pd.DataFrame:
    """Paper 2's Table 1 as the paper lays it out: test error and success in %, "mean ± std" cells."""
    def pm(mean_, std_, digits):
        return "–" if pd.isna(mean_) else f"{mean_:.{digits}f} ± {std_:.{digits}f}"

    shown = table[[c for c in MODEL_KEYS + [SEED] if c in table.columns]].copy()
    shown["test error"] = [f"{100 * e:.2f}%" for e in table["test_error"]]
    for t in TECHNIQUES:
        p = t.lower()
        shown[f"{t} success"] = [f"{100 * v:.2f}%" if pd.notna(v) else "–" for v in table[f"{p}_success_rate"]]
        if t in ("HC", "LOTS"):
            shown[f"{t} reached target"] = [f"{100 * v:.2f}%" if pd.notna(v) else "–"
                                            for v in table[f"{p}_target_rate"]]
        shown[f"{t} PASS"] = [pm(m, s, 4) for m, s in zip(table[f"{p}_pass_mean"], table[f"{p}_pass_std"])]
        shown[f"{t} L2"] = [pm(m, s, 1) for m, s in zip(table[f"{p}_l2_mean"], table[f"{p}_l2_std"])]
        shown[f"{t} L∞"] = [pm(m, s, 1) for m, s in zip(table[f"{p}_linf_mean"], table[f"{p}_linf_std"])]
    return shown


def paper2_seeds_markdown(seeds: pd.DataFrame) -> pd.DataFrame:
    """``paper2_seeds`` laid out like paper 2's Table 1: each cell "mean ± between-seed std"."""
    def pm(column, scale, digits, unit=""):
        return [f"{scale * m:.{digits}f}{unit}" + ("" if pd.isna(sd) else f" ± {scale * sd:.{digits}f}{unit}")
                if pd.notna(m) else "–" for m, sd in zip(seeds[column], seeds[f"{column}_seed_std"])]

    shown = seeds[MODEL_KEYS + ["n_seeds"]].copy()
    shown["test error"] = pm("test_error", 100, 2, "%")
    for t in TECHNIQUES:
        p = t.lower()
        shown[f"{t} success"] = pm(f"{p}_success_rate", 100, 2, "%")
        if t in TARGETED_TECHNIQUES:
            shown[f"{t} reached target"] = pm(f"{p}_target_rate", 100, 2, "%")
        shown[f"{t} PASS"] = pm(f"{p}_pass_mean", 1, 4)
        shown[f"{t} L2"] = pm(f"{p}_l2_mean", 1, 1)
        shown[f"{t} L∞"] = pm(f"{p}_linf_mean", 1, 1)
    return shown


