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

import pandas as pd

NOT_PRODUCED = "not produced by this preset"
HOLDS, FAILS, WEAK = "holds", "does not hold", "holds in direction only (not significant)"
ALPHA = 0.05

# Paper 2, Table 1, "Basic LeNet": test error (%) and, per technique, success (%), PASS, L2, L∞ (0–255).
PAPER2_TEST_ERROR = 0.91
PAPER2_LENET = {
    "FGS": (85.37, 0.4303, 718.8, 34.6),
    "FGV": (85.37, 0.7753, 435.3, 94.4),
    "HC": (99.92, 0.7269, 596.0, 117.5),
    "LOTS": (99.56, 0.6561, 1004.0, 170.0),
}
# Paper 2's success criterion (section 4, method §4.5): "the percentage of all attempts the particular
# technique can produce a perturbation which changes the classification". HC and LOTS move towards a
# target class; their attempts count as successes when the class changes (the "untargeted" mode).
PAPER2_MODE = {"FGS": "untargeted", "FGV": "untargeted", "HC": "untargeted", "LOTS": "untargeted"}
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


# --- paper 1's claims ------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def _claim(claim: str, source: str, dataset: str, verdict: str, evidence: str) -> dict:
    return {"claim": claim, "source": source, "dataset": dataset, "verdict": verdict, "evidence": evidence}


def _ranking(table1: pd.DataFrame | None, dataset: str) -> pd.DataFrame:
    if table1 is None:
        return pd.DataFrame()
    return table1[table1["dataset"] == dataset].set_index("architecture")


def _lower(table1, dataset: str, low: str, high: str, metric: str) -> tuple[str, str]:
    """Does ``low`` have a lower mean ``metric`` (dbm or am) than ``high`` on ``dataset`` (Table 1)?"""
    rows = _ranking(table1, dataset)
    if low not in rows.index or high not in rows.index:
        return NOT_PRODUCED, f"Table 1 has no {dataset} row for {low} and {high}"
    a, b = rows.loc[low, f"{metric}_mean"], rows.loc[high, f"{metric}_mean"]
    return (HOLDS if a < b else FAILS), f"{metric.upper()} {low} {_fmt(a)} vs {high} {_fmt(b)}"


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


def _dbm_correlates(table3, alpha: float) -> list[tuple[str, str, str]]:
    """Per dataset: is DBM significantly correlated (p < alpha) with most attacks' Mean L2 (pooled rows)?"""
    if table3 is None:
        return [("–", NOT_PRODUCED, "the study runs no attacks (no Table 3)")]
    rows = table3[(table3["architecture"] == "all") & (table3["metric"] == "DBM")]
    if "seed" in rows.columns:  # several seeds: the rows on the seed-averaged per-class values
        rows = rows[rows["seed"].astype(str) == "mean"]
    out = []
    for dataset, part in rows.groupby("dataset", sort=False):
        significant = part["p_value"] < alpha
        verdict = HOLDS if 2 * int(significant.sum()) > len(part) else FAILS
        detail = "; ".join(f"{r.attack} r {_fmt(r.pearson_r)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}] p {_fmt(r.p_value)}"
                           for r in part.itertuples(index=False))
        out.append((dataset, verdict, f"{int(significant.sum())} of {len(part)} attacks with p < {alpha}: {detail}"))
    return out or [("–", NOT_PRODUCED, "Table 3 has no pooled DBM rows")]


def paper1_claims(table1: pd.DataFrame | None, table2: pd.DataFrame | None, table3: pd.DataFrame | None,
                  alpha: float = ALPHA) -> pd.DataFrame:
    """Paper 1's claims checked on our Tables 1–3 (method §3): claim, source, dataset, verdict, evidence.

    Table 2 and 3 claims use the rows pooled over architectures (``all``); "significant" means a
    Holm-corrected p (Table 2) or a Pearson p (Table 3) below ``alpha``. Any table may be None (the
    study does not produce it).
    """
    rows = [
        _claim("ConvNet has a lower DBM than MLP", "Table 1", "fashion_mnist",
               *_lower(table1, "fashion_mnist", "convnet", "mlp", "dbm")),
        _claim("MLP has a lower AM than ConvNet", "Table 1", "fashion_mnist",
               *_lower(table1, "fashion_mnist", "mlp", "convnet", "am")),
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
    rows += [_claim("DBM correlates with the attacks' Mean L2", "Table 3", *r) for r in _dbm_correlates(table3, alpha)]
    return pd.DataFrame(rows, columns=["claim", "source", "dataset", "verdict", "evidence"])


# --- the workflow jobs -----------------------------------------------------------------------------


def _write(table: pd.DataFrame, title: str, caption: str, out_csv: str, out_md: str, out_html: str) -> None:
    from pathlib import Path

    from advtransfer.io import write_table
    from advtransfer.report import html_page, write_html

    write_table(table, out_csv, out_md)
    write_html(html_page(title, Path(caption).read_text(), [("", table)], source=out_csv), out_html)


def claims_job(tables: dict, caption: str, out_csv: str, out_md: str, out_html: str) -> None:
    """Paper 1's claims on the study's tables: ``tables`` maps table1, table2, table3 to a path or None."""
    read = {k: (pd.read_csv(v) if v else None) for k, v in tables.items()}
    claims = paper1_claims(read.get("table1"), read.get("table2"), read.get("table3"))
    _write(claims, "Paper 1's claims, checked", caption, out_csv, out_md, out_html)


def lenet_job(attempt_files: list[str], history: str, caption: str, out_csv: str, out_md: str,
              out_html: str) -> None:
    """Paper 2's Basic LeNet row against the attempts of the study's vanilla ``lenet_caffe`` (one seed)
    and its training history."""
    from advtransfer.tables import lots_comparison_table

    attempts = pd.concat([pd.read_csv(path) for path in attempt_files], ignore_index=True)
    lots = lots_comparison_table(attempts).assign(dataset="mnist", architecture="lenet_caffe", defence="vanilla")
    table = paper2_lenet(lots, pd.read_csv(history))
    _write(table, "Paper 2, Table 1 (Basic LeNet) vs ours", caption, out_csv, out_md, out_html)
