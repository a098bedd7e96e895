"""Paper vs ours (advtransfer.paper) on hand-made tables: paper 2's LeNet row and paper 1's claims."""

from __future__ import annotations

import pandas as pd
import pytest

from advtransfer.paper import (
    FAILS,
    HOLDS,
    NOT_PRODUCED,
    NOT_RESOLVED,
    NOT_SIGNIFICANT,
    ONE_SEED,
    SIGNIFICANT,
    UNCORRECTED,
    WEAK,
    attack_measure,
    paper1_claims,
    paper2_claims,
    paper2_lenet,
    table3_tests,
)


def claim(table: pd.DataFrame, text: str, dataset: str | None = None) -> pd.Series:
    rows = table[table["claim"].str.startswith(text)]
    if dataset is not None:
        rows = rows[rows["dataset"] == dataset]
    assert len(rows) == 1, (text, dataset, table)
    return rows.iloc[0]


# --- paper 2 ---------------------------------------------------------------------------------------


def lots_table() -> pd.DataFrame:
    rows = [
        ("FGS", "-", "untargeted", 20, 0.80, None, 0.45, 700.0, 30.0),
        ("FGV", "-", "untargeted", 20, 0.85, None, 0.78, 430.0, 90.0),
        ("HC", "-", "untargeted", 180, 1.00, 0.75, 0.80, 500.0, 100.0),
        ("HC", "-", "targeted", 180, 0.99, 0.99, 0.70, 600.0, 120.0),
        ("LOTS", "body.conv1", "untargeted", 180, 0.95, 0.80, 0.60, 1100.0, 180.0),
        ("LOTS", "logits", "targeted", 180, 1.00, 1.00, 0.66, 1000.0, 160.0),
        ("LOTS", "logits", "untargeted", 180, 1.00, 0.90, 0.90, 400.0, 60.0),
    ]
    df = pd.DataFrame(rows, columns=["technique", "layer", "mode", "n_attempts", "success_rate", "target_rate",
                                     "pass_mean", "l2_mean", "linf_mean"])
    df.insert(0, "defence", "vanilla")
    df.insert(0, "architecture", "lenet_caffe")
    df.insert(0, "dataset", "mnist")
    other = df.assign(defence="lots_at", success_rate=0.1)  # must be ignored: not the vanilla classifier
    return pd.concat([df, other], ignore_index=True)


def test_paper2_rows_pair_paper_and_ours():
    """Paper 2 counts a success when the class changes (the untargeted mode), HC and LOTS included;
    the share of attempts that reach their target is shown beside, with no paper value."""
    history = pd.DataFrame({"epoch": [1, 2], "test_accuracy": [0.97, 0.9875]})
    table = paper2_lenet(lots_table(), history)
    error = table.iloc[0]
    assert error["quantity"] == "test error (%)"
    assert error["paper"] == 0.91 and error["ours"] == pytest.approx(1.25)

    def value(technique, layer, quantity):
        rows = table[(table["technique"] == technique) & (table["layer"] == layer) & (table["quantity"] == quantity)]
        assert len(rows) == 1
        return rows.iloc[0]

    fgs = value("FGS", "-", "success rate (%)")
    assert (fgs["paper"], fgs["ours"], fgs["mode"], fgs["n_attempts"]) == (85.37, pytest.approx(80.0), "untargeted", 20)
    assert value("FGV", "-", "PASS")[["paper", "ours"]].tolist() == [0.7753, pytest.approx(0.78)]
    hc = value("HC", "-", "L2 (0–255)")  # the untargeted row, not the targeted one
    assert (hc["paper"], hc["ours"], hc["mode"]) == (596.0, 500.0, "untargeted")
    reached = value("HC", "-", "reached its target (%)")
    assert pd.isna(reached["paper"]) and reached["ours"] == pytest.approx(75.0)
    # one LOTS row per layer, untargeted; the targeted logits row and the lots_at rows are left out
    assert set(table.loc[table["technique"] == "LOTS", "layer"]) == {"body.conv1", "logits"}
    assert value("LOTS", "body.conv1", "L∞ (0–255)")[["paper", "ours"]].tolist() == [170.0, 180.0]
    assert value("LOTS", "logits", "L2 (0–255)")["ours"] == pytest.approx(400.0)
    assert value("LOTS", "logits", "reached its target (%)")["ours"] == pytest.approx(90.0)
    assert (table.loc[table["quantity"] != "reached its target (%)", "note"] == "").all()
    assert len(table) == 1 + 4 * (1 + 1 + 1 + 2) + 3  # and 3 rows of reached targets (HC, LOTS × 2 layers)


def test_paper2_without_our_numbers_says_so():
    table = paper2_lenet(None, None)
    assert table["ours"].isna().all() and (table["note"] == NOT_PRODUCED).all()
    assert len(table) == 1 + 4 * 4  # test error, then four quantities of each technique
    # another dataset's LOTS table has no lenet_caffe rows either
    digits = lots_table().assign(dataset="digits")
    assert (paper2_lenet(digits, None)["note"] == NOT_PRODUCED).all()


# --- paper 1 ---------------------------------------------------------------------------------------


def table1() -> pd.DataFrame:
    rows = [
        ("fashion_mnist", "mlp", 0.30, 0.40),
        ("fashion_mnist", "convnet", 0.20, 0.50),  # lower DBM than MLP, higher AM: both claims hold
        ("cifar10", "capsnet", 0.10, 0.30),
        ("cifar10", "resnet32", 0.15, 0.20),  # lower AM than CapsNet: "lowest in both" fails
        ("cifar10", "lenet", 0.12, 0.35),
    ]
    df = pd.DataFrame(rows, columns=["dataset", "architecture", "dbm_mean", "am_mean"])
    return df.assign(dbm_std=0.01, am_std=0.01, n_classes=10)


def table2() -> pd.DataFrame:
    rows = [  # dataset, defence, architecture, metric, vanilla_mean, defended_mean, t, p_holm
        ("cifar10", "label_smoothing", "all", "DBM", 0.30, 0.20, 5.0, 0.001),
        ("cifar10", "label_smoothing", "all", "AM", 0.40, 0.40, 0.1, 0.9),
        ("cifar10", "adversarial_training", "all", "DBM", 0.30, 0.25, 1.0, 0.3),  # lower, not significant
        ("cifar10", "adversarial_training", "all", "AM", 0.40, 0.41, -0.2, 0.8),
        ("cifar10", "gaussian_augmentation", "all", "DBM", 0.30, 0.28, 2.0, 0.04),  # lower: claim fails
        ("cifar10", "gaussian_augmentation", "all", "AM", 0.40, 0.50, -4.0, 0.01),
        ("cifar10", "label_smoothing", "lenet", "DBM", 0.30, 0.40, -3.0, 0.01),  # per-architecture: ignored
        ("digits", "label_smoothing", "all", "DBM", 0.30, 0.35, -2.0, 0.02),  # higher on digits: fails
        ("digits", "label_smoothing", "all", "AM", 0.40, 0.45, -2.0, 0.02),
    ]
    df = pd.DataFrame(rows, columns=["dataset", "defence", "architecture", "metric", "vanilla_mean",
                                     "defended_mean", "t", "p_holm"])
    return df.assign(n_pairs=20, vanilla_std=0.01, defended_std=0.01, p_value=df["p_holm"])


def table3() -> pd.DataFrame:
    rows = [
        ("cifar10", "all", "fgm", "DBM", 0.8, 0.001, 0.5, 0.95),
        ("cifar10", "all", "bim", "DBM", 0.7, 0.01, 0.3, 0.9),
        ("cifar10", "all", "pgd", "DBM", 0.1, 0.6, -0.3, 0.5),
        ("cifar10", "all", "fgm", "AM", 0.9, 0.0001, 0.7, 0.98),  # AM rows do not count
        ("digits", "all", "fgm", "DBM", 0.2, 0.4, -0.3, 0.6),
        ("digits", "mlp", "fgm", "DBM", 0.9, 0.001, 0.6, 0.99),  # not pooled: ignored
    ]
    df = pd.DataFrame(rows, columns=["dataset", "architecture", "attack", "metric", "pearson_r", "p_value",
                                     "ci_low", "ci_high"])
    return df.assign(n=10, n_used=10)


def per_class(differences: dict[int, float], dataset: str = "fashion_mnist") -> pd.DataFrame:
    """Per-class DBM and AM of MLP and ConvNet: ConvNet's DBM is MLP's plus ``differences[seed]`` in every
    class, and its AM MLP's plus 0.1 (MLP lower, by far more than any spread)."""
    rows = []
    for seed, difference in differences.items():
        for k in range(10):
            mlp = 0.5 + 0.01 * k + 0.001 * seed
            rows.append((dataset, "mlp", "vanilla", seed, k, mlp, 0.3 + 0.01 * seed))
            rows.append((dataset, "convnet", "vanilla", seed, k, mlp + difference, 0.4 + 0.01 * seed))
    return pd.DataFrame(rows, columns=["dataset", "architecture", "defence", "seed", "excluded_class", "dbm", "am"])


def test_table1_claims_read_the_difference_with_its_interval_over_the_seeds():
    from scipy import stats

    differences = {0: -0.10, 1: -0.12, 2: -0.08}
    claims = paper1_claims(table1(), None, None, per_class=per_class(differences))
    dbm = claim(claims, "ConvNet has a lower DBM")
    low, high = stats.t.interval(0.95, 2, loc=-0.1, scale=0.02 / 3 ** 0.5)  # by hand: mean −0.1, sd 0.02
    assert dbm["verdict"] == HOLDS
    assert f"convnet − mlp -0.1, 95% interval over 3 seeds [{low:.3g}, {high:.3g}]" in dbm["evidence"]
    assert "lower in 3 of 3 seeds and 10 of 10 classes" in dbm["evidence"]
    am = claim(claims, "MLP has a lower AM")
    assert am["verdict"] == HOLDS and "[-0.1, -0.1]" in am["evidence"]  # every seed: exactly −0.1


def test_a_difference_inside_the_seeds_spread_is_not_resolved():
    """ConvNet lower in two seeds of three, higher in the third: the interval crosses zero."""
    claims = paper1_claims(table1(), None, None, per_class=per_class({0: -0.05, 1: -0.04, 2: 0.06}))
    dbm = claim(claims, "ConvNet has a lower DBM")
    assert dbm["verdict"] == NOT_RESOLVED and "lower in 2 of 3 seeds" in dbm["evidence"]
    # clearly the other way: it does not hold
    assert claim(paper1_claims(table1(), None, None, per_class=per_class({0: 0.1, 1: 0.11, 2: 0.09})),
                 "ConvNet has a lower DBM")["verdict"] == FAILS
    # one seed, or Table 1 alone: no spread to read the difference against
    for table in (per_class({0: -0.2}), None):
        assert claim(paper1_claims(table1(), None, None, per_class=table), "ConvNet has a lower DBM")["verdict"] \
            == ONE_SEED


def test_cifar10_ranking_claims():
    claims = paper1_claims(table1(), None, None)
    capsnet = claim(claims, "CapsNet has the lowest")
    assert capsnet["verdict"] == FAILS and "AM: capsnet 0.3, rank 2 of 3" in capsnet["evidence"]
    lenet = claim(claims, "LeNet has the second lowest")
    assert lenet["verdict"] == FAILS  # second in DBM, third in AM
    assert "DBM: lenet 0.12, rank 2 of 3" in lenet["evidence"]
    reversed_ = table1().assign(dbm_mean=[0.1, 0.2, 0.1, 0.3, 0.2], am_mean=[0.5, 0.4, 0.1, 0.3, 0.2])
    claims = paper1_claims(reversed_, None, None)
    assert claim(claims, "CapsNet has the lowest")["verdict"] == HOLDS
    assert claim(claims, "LeNet has the second lowest")["verdict"] == HOLDS
    # a digits-only study produces none of these comparisons
    claims = paper1_claims(table1().assign(dataset="digits"), None, None)
    assert (claims["verdict"] == NOT_PRODUCED).all()
    assert len(claims) == 4 + 3 + 1 + 2  # four Table 1 claims, three defences, Table 2 and two Table 3 claims


def test_defence_claims():
    claims = paper1_claims(table1(), table2(), None)
    ls = claim(claims, "Label smoothing lowers DBM", "cifar10")
    assert ls["verdict"] == HOLDS and "0.3 → label_smoothing 0.2" in ls["evidence"] and "Holm p 0.001" in ls["evidence"]
    assert claim(claims, "Label smoothing lowers DBM", "digits")["verdict"] == FAILS
    assert claim(claims, "Adversarial training lowers DBM", "cifar10")["verdict"] == WEAK
    assert claim(claims, "Gaussian augmentation", "cifar10")["verdict"] == FAILS
    # a defence of no dataset: one row saying so
    table = table2()[table2()["defence"] != "adversarial_training"]
    at = claim(paper1_claims(table1(), table, None), "Adversarial training lowers DBM")
    assert (at["dataset"], at["verdict"]) == ("–", NOT_PRODUCED)


def test_most_defences_differ():
    claims = paper1_claims(None, table2(), None)
    cifar = claim(claims, "Most defences differ", "cifar10")
    # label smoothing (DBM) and Gaussian augmentation (DBM, AM) are significant; adversarial training is not
    assert cifar["verdict"] == HOLDS
    assert "2 of 3 defences" in cifar["evidence"] and "gaussian_augmentation, label_smoothing" in cifar["evidence"]
    assert claim(claims, "Most defences differ", "digits")["verdict"] == HOLDS  # 1 of 1
    weak = table2().assign(p_holm=0.5)
    assert claim(paper1_claims(None, weak, None), "Most defences differ", "cifar10")["verdict"] == FAILS


def test_dbm_correlates_with_mean_l2():
    claims = paper1_claims(None, None, table3())
    cifar = claim(claims[claims["architecture"] == "all"], "DBM correlates", "cifar10")
    # Holm over cifar10's three DBM tests: fgm 0.003, bim 0.02, pgd 0.6
    assert cifar["verdict"] == HOLDS
    assert "2 of 3 attacks" in cifar["evidence"] and "fgm r 0.8 [0.5, 0.95] p 0.001, Holm p 0.003" in cifar["evidence"]
    digits = claims[claims["dataset"] == "digits"]
    assert set(digits["architecture"]) == {"all", "mlp"}  # pooled and per architecture
    dbm = digits[digits["claim"].str.startswith("DBM")].set_index("architecture")["verdict"]
    assert dbm["all"] == FAILS and dbm["mlp"] == HOLDS  # MLP's one attack: p 0.001, Holm p 0.002 over 2 tests


def test_a_row_significant_only_before_correction_is_reported_as_such():
    """Digits, DBM: the pooled fgm row (p 0.4) and MLP's fgm row (p 0.001) and bim row (p 0.03): over
    three tests Holm gives MLP fgm 0.003 (significant) and bim 0.06 (before correction only)."""
    rows = pd.concat([table3(), pd.DataFrame([("digits", "mlp", "bim", "DBM", -0.89, 0.03, -0.97, -0.2)],
                                             columns=table3().columns[:8]).assign(n=10, n_used=10)])
    tests = table3_tests(rows)
    digits = tests[(tests["dataset"] == "digits") & (tests["metric"] == "DBM")].set_index(["architecture", "attack"])
    assert digits.loc[("mlp", "fgm"), "reading"] == SIGNIFICANT
    assert digits.loc[("mlp", "bim"), "reading"] == UNCORRECTED
    assert digits.loc[("mlp", "bim"), "p_holm"] == pytest.approx(0.06)
    assert digits.loc[("all", "fgm"), "reading"] == NOT_SIGNIFICANT
    mlp = claim(paper1_claims(None, None, rows).query("architecture == 'mlp'"), "DBM correlates", "digits")
    assert mlp["verdict"] == FAILS  # one of two attacks after correction: not most
    assert "significant before correction only: bim" in mlp["evidence"]


def test_what_each_attacks_mean_l2_measures():
    assert attack_measure("bim", {"early_stop": False}).startswith("ε-ball filling")
    assert attack_measure("pgd", {"early_stop": True}).startswith("boundary distance")
    assert attack_measure("deepfool").startswith("boundary distance")
    assert attack_measure("apgd").startswith("ε-ball filling")


def test_claims_without_tables_2_and_3_say_so():
    claims = paper1_claims(table1(), None, None)
    later = claims[claims["source"] != "Table 1"]
    assert len(later) == 6 and (later["verdict"] == NOT_PRODUCED).all()
    assert list(claims.columns) == ["claim", "source", "dataset", "architecture", "verdict", "evidence"]


# --- paper 2's claims ------------------------------------------------------------------------------


def paper2_rows(lots_error=(0.0065, 0.0060, 0.0070), seeds=(0, 1, 2)) -> pd.DataFrame:
    """Paper 2's Table 1 per model and seed: LOTS fine-tuning has the lowest error (by default) and the
    largest L2 for every technique; the single-layer LOTS models' L2 grows by 50 per layer."""
    rows = []
    layer_l2 = {"ft_lots_conv1": 500, "ft_lots_conv2": 550, "ft_lots_ip1": 600, "ft_lots_ip2": 650}
    for i, seed in enumerate(seeds):
        for defence in ["vanilla", "ft_fgs", "ft_fgv", "ft_hc", "ft_lots", *layer_l2]:
            error = {"vanilla": 0.0091, "ft_lots": lots_error[i]}.get(defence, 0.0080 + 0.0002 * i)
            l2 = {"ft_lots": 900.0}.get(defence, layer_l2.get(defence, 700.0)) + 3 * i
            rows.append({"dataset": "mnist", "architecture": "lenet_caffe", "defence": defence, "seed": seed,
                         "test_error": error, **{f"{t}_l2_mean": l2 for t in ("fgs", "fgv", "hc", "lots")}})
    return pd.DataFrame(rows)


def test_paper2_claims_with_three_seeds():
    claims = paper2_claims(paper2_rows())
    lowest = claim(claims, "LOTS fine-tuning gives the lowest test error")
    # by hand: 0.65, 0.60, 0.70% against 0.80, 0.82, 0.84%: −0.15, −0.22, −0.14 points, mean −0.17
    assert lowest["verdict"] == HOLDS and "FGS: -0.17 [" in lowest["evidence"]
    assert claim(claims, "LOTS fine-tuning lowers the Basic LeNet")["verdict"] == HOLDS
    robust = claims[claims["claim"].str.startswith("The LOTS fine-tuned model is the most robust")]
    assert list(robust["technique"]) == ["FGS", "FGV", "HC", "LOTS"] and (robust["verdict"] == HOLDS).all()
    assert "Basic LeNet: 200 [200, 200], 3 of 3 seeds" in robust.iloc[0]["evidence"]
    layers = claims[claims["claim"].str.startswith("Fine-tuning on a higher layer")]
    assert (layers["verdict"] == HOLDS).all() and "slope per layer 50 [50, 50]" in layers.iloc[0]["evidence"]


def test_paper2_claims_inside_the_seeds_spread_are_not_resolved():
    # LOTS's error against FGS's (0.0080, 0.0082, 0.0084): −0.0005, +0.0003, −0.0009: across zero
    claims = paper2_claims(paper2_rows(lots_error=(0.0075, 0.0085, 0.0075)))
    lowest = claim(claims, "LOTS fine-tuning gives the lowest test error")
    assert lowest["verdict"] == NOT_RESOLVED and "2 of 3 seeds" in lowest["evidence"]
    one = paper2_claims(paper2_rows(lots_error=(0.0065,), seeds=(0,)))
    assert (one["verdict"] == ONE_SEED).all()
    assert (paper2_claims(None)["verdict"] == NOT_PRODUCED).all()


def test_our_attempts_read_at_the_papers_success_rate():
    """FGS: 10 attempts, 9 successes at ε 10, 20, …, 90 with L2 = 10·ε; paper 2's 85.37% of 10 attempts
    is 9 (rounded): all 9 successes; with ε 300 for the last one, stopping at ε 255 loses it."""
    from advtransfer.paper import paper2_at_papers_rate

    eps = [10, 20, 30, 40, 50, 60, 70, 80, 300, None]
    attempts = pd.DataFrame({"technique": "FGS", "mode": "untargeted", "layer": "-",
                             "success": [e is not None for e in eps], "eps": eps,
                             "l2": [10.0 * e if e else None for e in eps], "linf": [e for e in eps],
                             "pass_score": [0.5 if e else None for e in eps]})
    rows = paper2_at_papers_rate(attempts).set_index("quantity")
    assert rows.loc["success rate, search stopped at ε 255 (%)", "ours"] == pytest.approx(80.0)
    l2 = rows.loc["L2 (0–255), at the paper's success rate"]
    assert l2["n_attempts"] == 9 and l2["ours"] == pytest.approx(10 * (10 + 20 + 30 + 40 + 50 + 60 + 70 + 80 + 300) / 9)
    # a 5-attempt group keeps round(0.8537·5) = 4: the four of smallest ε
    four = paper2_at_papers_rate(attempts.iloc[:5]).set_index("quantity")
    assert four.loc["L∞ (0–255), at the paper's success rate", "ours"] == pytest.approx(25.0)
