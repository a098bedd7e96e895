"""Paper vs ours (advtransfer.paper) on hand-made tables: paper 2's LeNet row and paper 1's claims."""

from __future__ import annotations

import pandas as pd
import pytest

from advtransfer.paper import FAILS, HOLDS, NOT_PRODUCED, WEAK, paper1_claims, paper2_lenet


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


def test_table1_claims():
    claims = paper1_claims(table1(), None, None)
    dbm = claim(claims, "ConvNet has a lower DBM")
    assert dbm["verdict"] == HOLDS and "convnet 0.2 vs mlp 0.3" in dbm["evidence"]
    assert claim(claims, "MLP has a lower AM")["verdict"] == HOLDS
    capsnet = claim(claims, "CapsNet has the lowest")
    assert capsnet["verdict"] == FAILS and "AM: capsnet 0.3, rank 2 of 3" in capsnet["evidence"]
    lenet = claim(claims, "LeNet has the second lowest")
    assert lenet["verdict"] == FAILS  # second in DBM, third in AM
    assert "DBM: lenet 0.12, rank 2 of 3" in lenet["evidence"]


def test_table1_claims_reversed_and_missing():
    reversed_ = table1().assign(dbm_mean=[0.1, 0.2, 0.1, 0.3, 0.2], am_mean=[0.5, 0.4, 0.1, 0.3, 0.2])
    claims = paper1_claims(reversed_, None, None)
    assert claim(claims, "ConvNet has a lower DBM")["verdict"] == FAILS
    assert claim(claims, "MLP has a lower AM")["verdict"] == FAILS
    assert claim(claims, "CapsNet has the lowest")["verdict"] == HOLDS
    assert claim(claims, "LeNet has the second lowest")["verdict"] == HOLDS
    # a digits-only study produces none of these comparisons
    digits = table1().assign(dataset="digits")
    claims = paper1_claims(digits, None, None)
    assert (claims["verdict"] == NOT_PRODUCED).all()
    assert len(claims) == 4 + 3 + 1 + 1  # four Table 1 claims, three defences, Table 2 and 3 claims


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
    cifar = claim(claims, "DBM correlates", "cifar10")
    assert cifar["verdict"] == HOLDS  # fgm and bim of three attacks
    assert "2 of 3 attacks" in cifar["evidence"] and "fgm r 0.8 [0.5, 0.95] p 0.001" in cifar["evidence"]
    assert claim(claims, "DBM correlates", "digits")["verdict"] == FAILS


def test_claims_without_tables_2_and_3_say_so():
    claims = paper1_claims(table1(), None, None)
    later = claims[claims["source"] != "Table 1"]
    assert len(later) == 5 and (later["verdict"] == NOT_PRODUCED).all()
    assert list(claims.columns) == ["claim", "source", "dataset", "verdict", "evidence"]
