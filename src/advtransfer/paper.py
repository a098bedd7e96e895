"""Paper vs ours: the study's tables set beside the two papers' published results.

- Paper 2 (Rozsa et al.), Table 1, row "Basic LeNet": test error and, per technique, success rate,
  PASS, L2 and L∞ of FGS, FGV, HC and LOTS on MNIST (method §4.5), against our ``lenet_caffe``.
- Paper 1 (Kotyan et al.): its claims as checkable statements on Tables 1–3 (method §3), each with
  our verdict and the numbers behind it.

Pure functions: tables in, a table out. A claim or a comparison whose data the study does not
produce says so.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from advtransfer.constants import PAPER2_MODE

NOT_PRODUCED = "not produced by this preset"
HOLDS, FAILS, WEAK = "holds", "does not hold", "holds in direction only (not significant)"
NOT_RESOLVED = "not resolved (the difference is inside the seeds' spread)"
ONE_SEED = "not resolved (one seed: no spread to compare with)"
SIGNIFICANT, UNCORRECTED, NOT_SIGNIFICANT = ("significant", "significant before correction only", "not significant")
ALPHA = 0.05

# Paper 2, Table 1, "Basic LeNet": test error (%) and, per technique, success (%), PASS, L2, L∞ (0–255).
PAPER2_TEST_ERROR = 0.91
PAPER2_LENET = {
    "FGS": (85.37, 0.4303, 718.8, 34.6),
    "FGV": (85.37, 0.7753, 435.3, 94.4),
    "HC": (99.92, 0.7269, 596.0, 117.5),
    "LOTS": (99.56, 0.6561, 1004.0, 170.0),
}
QUANTITIES = [("success rate (%)", "success_rate", 100.0), ("PASS", "pass_mean", 1.0),
              ("L2 (0–255)", "l2_mean", 1.0), ("L∞ (0–255)", "linf_mean", 1.0)]
PAPER2_COLUMNS = ["quantity", "technique", "layer", "mode", "n_attempts", "paper", "ours", "note"]


def _number(value) -> float:
    return float("nan") if value is None or pd.isna(value) else float(value)


def paper2_lenet(lots: pd.DataFrame | None, history: pd.DataFrame | None,
                 dataset: str = "mnist", architecture: str = "lenet_caffe", seed: int | None = None) -> pd.DataFrame:
    """Paper 2's "Basic LeNet" row against our vanilla ``lenet_caffe`` on MNIST.

    ``lots``: the LOTS comparison table (``lots_comparison.csv``) or None; ``history``: the standard
    classifier's training history or None. One row per quantity: test error (%), then per technique
    (and, for LOTS, per layer) success rate (%), PASS, L2 and L∞ over the successful attempts, in the
    mode paper 2 used. Where the study has no such numbers, ``ours`` is empty and ``note`` says so.
    With several seeds, ``lots`` has a ``seed`` column and ``seed`` chooses the rows (``history``
    is that seed's).
    """
    rows = []
    error = None if history is None or history.empty else 100 * (1 - float(history["test_accuracy"].iloc[-1]))
    rows.append({"quantity": "test error (%)", "technique": "–", "layer": "–", "mode": "–", "n_attempts": None,
                 "paper": PAPER2_TEST_ERROR, "ours": error, "note": "" if error is not None else NOT_PRODUCED})
    ours = pd.DataFrame() if lots is None else lots[
        (lots["dataset"] == dataset) & (lots["architecture"] == architecture) & (lots["defence"] == "vanilla")]
    if seed is not None and "seed" in ours.columns:
        ours = ours[ours["seed"] == seed]
    for technique, values in PAPER2_LENET.items():
        mode = PAPER2_MODE[technique]
        found = ours[(ours["technique"] == technique) & (ours["mode"] == mode)] if len(ours) else ours
        layers = list(found.itertuples(index=False)) if len(found) else [None]
        for row in layers:
            for (name, column, scale), paper in zip(QUANTITIES, values):
                rows.append({
                    "quantity": name, "technique": technique, "layer": getattr(row, "layer", "–"), "mode": mode,
                    "n_attempts": getattr(row, "n_attempts", None), "paper": paper,
                    "ours": None if row is None else scale * _number(getattr(row, column)),
                    "note": NOT_PRODUCED if row is None else "",
                })
            if technique in ("HC", "LOTS") and row is not None and hasattr(row, "target_rate"):
                rows.append({
                    "quantity": "reached its target (%)", "technique": technique, "layer": row.layer, "mode": mode,
                    "n_attempts": row.n_attempts, "paper": None, "ours": 100 * _number(row.target_rate),
                    "note": "not in the paper: the share of attempts whose image is classified as the target class",
                })
    table = pd.DataFrame(rows, columns=PAPER2_COLUMNS)
    table["n_attempts"] = table["n_attempts"].astype("Int64")
    return table


POOLED_LAYERS = "all layers"  # the layer of the LOTS rows pooled over its layers, as paper 2 reports LOTS
PIXEL_RANGE_EPS = 255  # a search stopped where one step can cross the whole pixel range (method §4.3)


def paper2_at_papers_rate(attempts: pd.DataFrame) -> pd.DataFrame:
    """Our Basic LeNet's attempts read the way paper 2's numbers may have been made (method §4.5): per
    technique (LOTS pooled over its layers), in paper 2's mode,

    - the success rate had the line search stopped at ε = 255 (ours goes on to its limit), and
    - PASS, L2 and L∞ over the attempts that succeed with the smallest ε, as many as paper 2's success
      rate of all attempts: the means paper 2 would report if its searches stopped where its rate
      says (its FGS and FGV succeed on 85.37% only).

    Rows as ``paper2_lenet``'s; ``paper`` holds paper 2's value of the same quantity."""
    rows = []
    for technique, values in PAPER2_LENET.items():
        mode = PAPER2_MODE[technique]
        group = attempts[(attempts["technique"] == technique) & (attempts["mode"] == mode)]
        if group.empty:
            continue
        success = group["success"].astype(bool)
        eps = pd.to_numeric(group["eps"], errors="coerce")
        layer = POOLED_LAYERS if technique == "LOTS" else "–"
        n = len(group)
        within = float((success & (eps <= PIXEL_RANGE_EPS)).mean())
        rows.append({"quantity": f"success rate, search stopped at ε {PIXEL_RANGE_EPS} (%)", "technique": technique,
                     "layer": layer, "mode": mode, "n_attempts": n, "paper": values[0], "ours": 100 * within,
                     "note": "ours: the same attempts, read as if the search had stopped there"})
        keep = min(int(round(values[0] / 100 * n)), int(success.sum()))
        easiest = group[success].assign(eps=eps[success]).sort_values("eps", kind="stable").iloc[:keep]
        for (name, column, _), paper in zip(QUANTITIES[1:], values[1:]):
            source = {"pass_mean": "pass_score", "l2_mean": "l2", "linf_mean": "linf"}[column]
            rows.append({"quantity": f"{name}, at the paper's success rate", "technique": technique, "layer": layer,
                         "mode": mode, "n_attempts": keep, "paper": paper, "ours": float(easiest[source].mean()),
                         "note": f"ours: the {keep} successes of smallest ε ({values[0]}% of the attempts)"})
    return pd.DataFrame(rows, columns=PAPER2_COLUMNS)


# --- paper 2's claims ------------------------------------------------------------------------------

# Paper 2's fine-tuned models (method §4.10) as the presets name them; the LOTS layers in order.
PAPER2_MODELS = {"vanilla": "Basic LeNet", "ft_fgs": "FGS", "ft_fgv": "FGV", "ft_hc": "HC", "ft_lots": "LOTS",
                 "ft_lots_conv1": "LOTS CONV1", "ft_lots_conv2": "LOTS CONV2", "ft_lots_ip1": "LOTS IP1",
                 "ft_lots_ip2": "LOTS IP2"}
PAPER2_LAYER_MODELS = ["ft_lots_conv1", "ft_lots_conv2", "ft_lots_ip1", "ft_lots_ip2"]
PAPER2_ERRORS = {"vanilla": 0.91, "ft_fgs": 0.77, "ft_fgv": 0.82, "ft_hc": 0.78, "ft_lots": 0.65,
                 "ft_lots_conv1": 1.02, "ft_lots_conv2": 0.90, "ft_lots_ip1": 0.74, "ft_lots_ip2": 0.78}


def _by_seed(table: pd.DataFrame, defence: str, column: str) -> pd.Series:
    rows = table[table["defence"] == defence]
    seeds = rows["seed"] if "seed" in rows.columns else pd.Series(0, index=rows.index)
    return pd.Series(rows[column].to_numpy(float), index=seeds.to_numpy())


def _compare(table, a: str, b: str, column: str, sign: int, scale: float = 1.0) -> tuple[str, str]:
    """Is ``column`` of model ``a`` lower (sign −1) or higher (+1) than of ``b``? The difference a − b
    per seed (times ``scale``), with its 95% interval over the seeds; (verdict, evidence)."""
    from advtransfer.statistics import seed_interval

    x, y = _by_seed(table, a, column), _by_seed(table, b, column)
    difference = ((x - y) * scale).dropna()
    centre, lo, hi = seed_interval(difference.to_numpy())
    n = len(difference)
    if n == 0:
        return NOT_PRODUCED, f"no {column} of {a} and {b} for the same seed"
    agree = int((np.sign(difference) == sign).sum())
    if n < 2:
        verdict = ONE_SEED
    elif (hi < 0 if sign < 0 else lo > 0):
        verdict = HOLDS
    elif (lo > 0 if sign < 0 else hi < 0):
        verdict = FAILS
    else:
        verdict = NOT_RESOLVED
    interval = f" [{_fmt(lo)}, {_fmt(hi)}]" if n > 1 else ""
    return verdict, f"{PAPER2_MODELS.get(b, b)}: {_fmt(centre)}{interval}, {agree} of {n} seeds"


def _all_of(verdicts: list[str]) -> str:
    if not verdicts or NOT_PRODUCED in verdicts:
        return NOT_PRODUCED
    if FAILS in verdicts:
        return FAILS
    if all(v == HOLDS for v in verdicts):
        return HOLDS
    return ONE_SEED if ONE_SEED in verdicts else NOT_RESOLVED


def paper2_claims(table: pd.DataFrame | None) -> pd.DataFrame:
    """Paper 2's claims on its Table 1 (``tables.paper2_table1``, one row per model and seed; method
    §4.10), each as: claim, technique, verdict, evidence.

    Each comparison is a difference between two models per seed (both fine-tuned from that seed's
    Basic LeNet, on that seed's examples), read with its 95% Student-t interval over the seeds: a
    claim holds when every interval it needs lies on the claimed side of zero, does not hold when one
    lies on the other side, and is not resolved otherwise (or with one seed). The evidence gives each
    difference, its interval and the number of seeds that agree.
    """
    from advtransfer.statistics import seed_interval

    columns = ["claim", "technique", "verdict", "evidence"]
    present = set() if table is None else set(table["defence"])
    if not {"ft_lots", "vanilla"} <= present:
        return pd.DataFrame([{"claim": "paper 2's claims on its Table 1", "technique": "–",
                              "verdict": NOT_PRODUCED, "evidence": "the study has no LOTS fine-tuned model (ft_lots)"}],
                            columns=columns)
    rows = []
    others = [m for m in PAPER2_MODELS if m in present and m not in ("vanilla", "ft_lots")]
    found = [_compare(table, "ft_lots", m, "test_error", -1, 100) for m in others]
    rows.append({"claim": "LOTS fine-tuning gives the lowest test error of the fine-tuned models", "technique": "–",
                 "verdict": _all_of([v for v, _ in found]),
                 "evidence": "test error of LOTS − each model (percentage points): "
                             + "; ".join(e for _, e in found)
                             + f". Paper: LOTS {PAPER2_ERRORS['ft_lots']}%, the others "
                               f"{min(PAPER2_ERRORS[m] for m in others)}–{max(PAPER2_ERRORS[m] for m in others)}%"})
    verdict, evidence = _compare(table, "ft_lots", "vanilla", "test_error", -1, 100)
    rows.append({"claim": "LOTS fine-tuning lowers the Basic LeNet's test error", "technique": "–", "verdict": verdict,
                 "evidence": f"test error of LOTS − {evidence} (percentage points). "
                             f"Paper: {PAPER2_ERRORS['vanilla']}% → {PAPER2_ERRORS['ft_lots']}%"})
    for technique in ("FGS", "FGV", "HC", "LOTS"):
        column = f"{technique.lower()}_l2_mean"
        if column not in table.columns:
            continue
        found = [_compare(table, "ft_lots", m, column, +1) for m in ["vanilla"] + others]
        rows.append({"claim": "The LOTS fine-tuned model is the most robust: attacks need larger perturbations on it",
                     "technique": technique, "verdict": _all_of([v for v, _ in found]),
                     "evidence": f"mean L2 of {technique}'s successes on LOTS − on each model: "
                                 + "; ".join(e for _, e in found)})
    layered = [m for m in PAPER2_LAYER_MODELS if m in present]
    for technique in ("FGS", "FGV", "HC", "LOTS"):
        column = f"{technique.lower()}_l2_mean"
        if len(layered) < 2 or column not in table.columns:
            continue
        values = pd.DataFrame({m: _by_seed(table, m, column) for m in layered}).dropna()
        position = np.arange(len(layered), dtype=float)
        slopes = np.array([np.polyfit(position, row.to_numpy(float), 1)[0] for _, row in values.iterrows()])
        centre, lo, hi = seed_interval(slopes)
        n = len(slopes)
        verdict = ONE_SEED if n < 2 else HOLDS if lo > 0 else FAILS if hi < 0 else NOT_RESOLVED
        means = ", ".join(f"{PAPER2_MODELS[m].split()[-1]} {_fmt(values[m].mean())}" for m in layered)
        rows.append({"claim": "Fine-tuning on a higher layer's LOTS examples makes attacks need larger perturbations",
                     "technique": technique, "verdict": verdict,
                     "evidence": f"mean L2 of {technique}'s successes per layer ({means}); slope per layer "
                                 f"{_fmt(centre)}" + (f" [{_fmt(lo)}, {_fmt(hi)}]" if n > 1 else "")
                                 + f", positive in {int((slopes > 0).sum())} of {n} seeds"})
    return pd.DataFrame(rows, columns=columns)


# --- paper 1's claims ------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


CLAIM_COLUMNS = ["claim", "source", "dataset", "architecture", "verdict", "evidence"]


def _claim(claim: str, source: str, dataset: str, verdict: str, evidence: str, architecture: str = "–") -> dict:
    return {"claim": claim, "source": source, "dataset": dataset, "architecture": architecture,
            "verdict": verdict, "evidence": evidence}


def _ranking(table1: pd.DataFrame | None, dataset: str) -> pd.DataFrame:
    if table1 is None:
        return pd.DataFrame()
    return table1[table1["dataset"] == dataset].set_index("architecture")


def _lower(table1, per_class, dataset: str, low: str, high: str, metric: str) -> tuple[str, str]:
    """Does ``low`` have a lower ``metric`` (dbm or am) than ``high`` on ``dataset`` (Table 1)?

    With the per-class values (``metrics_per_class``) the difference low − high is taken per seed
    (each seed's mean over the excluded classes) and read with its 95% Student-t interval over the
    seeds (``statistics.seed_interval``): below zero, the claim holds; above, it does not; across
    zero, not resolved. One seed: not resolved. The evidence also counts the seeds and the excluded
    classes (their values averaged over the seeds) where ``low`` is the lower."""
    from advtransfer.statistics import seed_interval

    rows = _ranking(table1, dataset)
    if low not in rows.index or high not in rows.index:
        return NOT_PRODUCED, f"Table 1 has no {dataset} row for {low} and {high}"
    means = f"{low} {_fmt(rows.loc[low, f'{metric}_mean'])}, {high} {_fmt(rows.loc[high, f'{metric}_mean'])}"
    if per_class is None:
        a, b = rows.loc[low, f"{metric}_mean"], rows.loc[high, f"{metric}_mean"]
        return ONE_SEED, f"{metric.upper()} {means}: {low} {'lower' if a < b else 'not lower'} (no per-class values)"
    vanilla = per_class[(per_class["dataset"] == dataset) & (per_class["defence"] == "vanilla")]
    vanilla = vanilla.assign(seed=vanilla["seed"] if "seed" in vanilla.columns else 0)
    by = vanilla.pivot_table(index=["seed", "excluded_class"], columns="architecture", values=metric)[[low, high]]
    by = by.dropna()
    per_seed = by.groupby(level="seed").mean()
    difference = (per_seed[low] - per_seed[high]).to_numpy()
    per_class_difference = (by[low] - by[high]).groupby(level="excluded_class").mean()
    centre, lo, hi = seed_interval(difference)
    n = len(difference)
    verdict = ONE_SEED if n < 2 else HOLDS if hi < 0 else FAILS if lo > 0 else NOT_RESOLVED
    interval = f"95% interval over {n} seeds [{_fmt(lo)}, {_fmt(hi)}]" if n > 1 else "one seed"
    return verdict, (f"{metric.upper()} {low} − {high} {_fmt(centre)}, {interval}; {low} lower in "
                     f"{int((difference < 0).sum())} of {n} seeds and {int((per_class_difference < 0).sum())} of "
                     f"{len(per_class_difference)} classes (means: {means})")


def _rank(table1, dataset: str, architecture: str, place: int) -> tuple[str, str]:
    """Is ``architecture`` at ``place`` (1 = lowest) in both DBM and AM on ``dataset`` (Table 1)?"""
    rows = _ranking(table1, dataset)
    if architecture not in rows.index or len(rows) < max(2, place):
        return NOT_PRODUCED, f"Table 1 has no {dataset} row for {architecture}, or too few architectures"
    verdicts, evidence = [], []
    for metric in ("dbm", "am"):
        order = rows[f"{metric}_mean"].sort_values(kind="stable")
        rank = list(order.index).index(architecture) + 1
        verdicts.append(rank == place)
        evidence.append(f"{metric.upper()}: {architecture} {_fmt(order[architecture])}, rank {rank} of {len(order)} "
                        f"(lowest: {order.index[0]} {_fmt(order.iloc[0])})")
    return (HOLDS if all(verdicts) else FAILS), "; ".join(evidence)


def _defence_effect(table2, defence: str, direction: int, alpha: float) -> list[tuple[str, str, str]]:
    """Per dataset: does ``defence`` move pooled DBM (Table 2, architecture ``all``) in ``direction``
    (−1 lower, +1 higher) than vanilla, significantly (Holm-corrected p < alpha)?"""
    if table2 is None:
        return [("–", NOT_PRODUCED, "the study has no defences (no Table 2)")]
    rows = table2[(table2["defence"] == defence) & (table2["architecture"] == "all") & (table2["metric"] == "DBM")]
    if rows.empty:
        return [("–", NOT_PRODUCED, f"Table 2 has no {defence} rows")]
    out = []
    for row in rows.itertuples(index=False):
        moved = (row.defended_mean - row.vanilla_mean) * direction > 0
        significant = not pd.isna(row.p_holm) and row.p_holm < alpha
        verdict = FAILS if not moved else (HOLDS if significant else WEAK)
        evidence = (f"DBM vanilla {_fmt(row.vanilla_mean)} → {defence} {_fmt(row.defended_mean)}, "
                    f"{row.n_pairs} pairs, t {_fmt(row.t)}, Holm p {_fmt(row.p_holm)}")
        out.append((row.dataset, verdict, evidence))
    return out


def _most_defences_significant(table2, alpha: float) -> list[tuple[str, str, str]]:
    """Per dataset: do most defences differ from vanilla in DBM or AM (pooled, Holm p < alpha)?"""
    if table2 is None:
        return [("–", NOT_PRODUCED, "the study has no defences (no Table 2)")]
    pooled = table2[table2["architecture"] == "all"]
    out = []
    for dataset, part in pooled.groupby("dataset", sort=False):
        tested = sorted(set(part["defence"]))
        significant = sorted(set(part.loc[part["p_holm"] < alpha, "defence"]))
        verdict = HOLDS if 2 * len(significant) > len(tested) else FAILS
        out.append((dataset, verdict, f"{len(significant)} of {len(tested)} defences with Holm p < {alpha} in DBM or AM"
                                      f" ({', '.join(significant) or 'none'})"))
    return out or [("–", NOT_PRODUCED, "Table 2 has no pooled rows")]


# What the Mean L2 of each attack measures (method §2.6): the distance to the decision boundary, or
# how far into a fixed ε-ball the attack goes. Keyed by attack; BIM and PGD depend on early_stop.
BOUNDARY, BALL = "boundary distance", "ε-ball filling"


def attack_measure(attack: str, params: dict | None = None) -> str:
    """What ``attack``'s Mean L2 measures (with its parameters ``params``), in a few words."""
    params = params or {}
    if attack in ("bim", "pgd"):
        if params.get("early_stop", False):  # BIM's and PGD's default: paper 1's mode (method §2.6)
            return f"{BOUNDARY}: the first misclassified iterate (minimal mode)"
        return f"{BALL}: the last of every step inside the ε-ball (paper 1's mode), not the boundary"
    return {
        "fgm": f"{BOUNDARY} along the gradient's sign: the smallest ε of the grid that fools",
        "deepfool": f"{BOUNDARY}: the linearised boundary, step by step",
        "newtonfool": f"{BOUNDARY}: steps until the class changes",
        "fmn_l2": f"{BOUNDARY}: the minimum-norm L2 perturbation found",
        "fmn_linf": f"{BOUNDARY} in L∞ (the minimum-norm L∞ perturbation); its L2 follows",
        "ddn": f"{BOUNDARY}: the minimum-norm L2 perturbation found",
        "apgd": f"{BALL}: a fixed L∞ budget",
        "lots": f"{BOUNDARY} along the LOTS direction: the smallest ε of the line search",
    }.get(attack, "see method §2.6")


def table3_tests(table3: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Table 3 test by test (method §3.3): per dataset, metric, architecture (and ``all``, pooled)
    and attack, Pearson's r with its CI and p, the p corrected with Holm's method over the family of
    one dataset and metric (every architecture and attack: the tests a reader scans for a
    correlation), and the reading: significant, significant before correction only, or not. With
    several seeds, the rows on the seed-averaged per-class values (seed ``mean``)."""
    from advtransfer.statistics import holm

    rows = table3
    if "seed" in rows.columns:
        rows = rows[rows["seed"].astype(str) == "mean"]
    rows = rows.copy()
    rows["p_holm"] = rows.groupby(["dataset", "metric"], sort=False)["p_value"].transform(holm)
    rows["reading"] = [SIGNIFICANT if h < alpha else UNCORRECTED if p < alpha else NOT_SIGNIFICANT
                       for p, h in zip(rows["p_value"], rows["p_holm"])]
    columns = ["dataset", "metric", "architecture", "attack", "n_used", "pearson_r", "ci_low", "ci_high", "p_value",
               "p_holm", "reading"]
    return rows[columns].reset_index(drop=True)


def _correlates(tests: pd.DataFrame | None, metric: str, alpha: float) -> list[tuple[str, str, str]]:
    """Per dataset and architecture (``all`` first): does ``metric`` correlate significantly (Holm)
    with most attacks' Mean L2? (dataset, architecture, verdict, evidence)."""
    if tests is None:
        return [("–", "all", NOT_PRODUCED, "the study runs no attacks (no Table 3)")]
    out = []
    for dataset, part in tests[tests["metric"] == metric].groupby("dataset", sort=False):
        architectures = ["all"] + [a for a in part["architecture"].unique() if a != "all"]
        for architecture in architectures:
            rows = part[part["architecture"] == architecture]
            if rows.empty:
                continue
            significant = rows["reading"] == SIGNIFICANT
            uncorrected = rows[rows["reading"] == UNCORRECTED]
            verdict = HOLDS if 2 * int(significant.sum()) > len(rows) else FAILS
            detail = "; ".join(f"{r.attack} r {_fmt(r.pearson_r)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}] "
                               f"p {_fmt(r.p_value)}, Holm p {_fmt(r.p_holm)}" for r in rows.itertuples(index=False))
            note = (f"; significant before correction only: {', '.join(uncorrected['attack'])}"
                    if len(uncorrected) else "")
            out.append((dataset, architecture, verdict,
                        f"{int(significant.sum())} of {len(rows)} attacks with Holm p < {alpha}{note}: {detail}"))
    return out or [("–", "all", NOT_PRODUCED, f"Table 3 has no {metric} rows")]


def paper1_claims(table1: pd.DataFrame | None, table2: pd.DataFrame | None, table3: pd.DataFrame | None,
                  alpha: float = ALPHA, per_class: pd.DataFrame | None = None) -> pd.DataFrame:
    """Paper 1's claims checked on our Tables 1–3 (method §3): claim, source, dataset, architecture,
    verdict, evidence.

    Table 1's Fashion-MNIST claims read the difference between the architectures per seed with its
    interval over the seeds (``per_class``: the per-class metrics; without them, or with one seed,
    "not resolved"). Table 2 claims use the rows pooled over architectures (``all``) and Holm's
    correction over the defences. Table 3 claims, per architecture and pooled, count the attacks
    whose correlation is significant after Holm's correction over every test of a dataset and
    metric (``table3_tests``). Any table may be None (the study does not produce it).
    """
    rows = [
        _claim("ConvNet has a lower DBM than MLP", "Table 1", "fashion_mnist",
               *_lower(table1, per_class, "fashion_mnist", "convnet", "mlp", "dbm")),
        _claim("MLP has a lower AM than ConvNet", "Table 1", "fashion_mnist",
               *_lower(table1, per_class, "fashion_mnist", "mlp", "convnet", "am")),
        _claim("CapsNet has the lowest DBM and AM", "Table 1", "cifar10", *_rank(table1, "cifar10", "capsnet", 1)),
        _claim("LeNet has the second lowest DBM and AM", "Table 1", "cifar10", *_rank(table1, "cifar10", "lenet", 2)),
    ]
    effects = [("Label smoothing lowers DBM", "label_smoothing", -1),
               ("Adversarial training lowers DBM", "adversarial_training", -1),
               ("Gaussian augmentation degrades transferability (raises DBM)", "gaussian_augmentation", +1)]
    for claim, defence, direction in effects:
        rows += [_claim(claim, "Table 2", *r) for r in _defence_effect(table2, defence, direction, alpha)]
    rows += [_claim("Most defences differ significantly from vanilla (paired t-test)", "Table 2", *r)
             for r in _most_defences_significant(table2, alpha)]
    tests = None if table3 is None else table3_tests(table3, alpha)
    for metric in ("DBM", "AM"):
        rows += [_claim(f"{metric} correlates with the attacks' Mean L2", "Table 3", dataset, verdict, evidence,
                        architecture)
                 for dataset, architecture, verdict, evidence in _correlates(tests, metric, alpha)]
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)
