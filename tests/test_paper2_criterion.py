"""Paper 2's success criterion (method §4.5): an attempt succeeds when the rounded, clipped image's
class differs from the origin's; HC and LOTS move towards a target class, and reaching it is recorded
apart (``reached_target``), not counted as the success.

A hand-made classifier of one pixel x (0–255) with three classes along one line: class 0 up to
x = 100, class 1 from 101 to 200, class 2 from 201. Every direction that raises the target class 2
from an origin of class 0 passes through class 1 first, so the ε of each outcome is known by hand.
"""

import numpy as np
import pandas as pd
import torch
from torch import nn

from advtransfer import finetuning
from advtransfer.lots import lots_comparison
from advtransfer.tables import lots_comparison_table, paper2_table1


def three_bands() -> nn.Module:
    """Logits of u = x/255: z0 = 0, z1 = 0.1(x − 100.5), z2 = 0.2(x − 150.5); argmax 0 up to x = 100,
    1 from 101 to 200, 2 from 201 (no ties at integer pixels)."""
    linear = nn.Linear(1, 3)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[0.0], [25.5], [51.0]]))
        linear.bias.copy_(torch.tensor([0.0, -10.05, -30.1]))
    return nn.Sequential(nn.Flatten(), linear).eval()


def image(*values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.uint8).view(-1, 1, 1, 1)


TARGETS = image(50, 150, 250)  # one target image per class (classes 0, 1, 2)


def test_an_attempt_that_changes_the_class_short_of_its_target_is_a_success():
    attempts = lots_comparison(three_bands(), image(50), torch.tensor([0]), TARGETS, ["logits"], ["HC", "LOTS"],
                               ["untargeted", "targeted"], limit=4096)
    for technique in ("HC", "LOTS"):
        rows = attempts[attempts["technique"] == technique].set_index(["mode", "target_class"])
        # towards class 1: x = 50 + 51 = 101 is class 1, the target, under both criteria
        assert rows.loc[("untargeted", 1), "eps"] == 51 and rows.loc[("untargeted", 1), "reached_target"]
        assert rows.loc[("targeted", 1), "eps"] == 51
        # towards class 2: the class changes at ε 51 (class 1): paper 2's success, target not reached
        hit = rows.loc[("untargeted", 2)]
        assert hit["success"] and hit["eps"] == 51 and hit["adversarial_class"] == 1 and not hit["reached_target"]
        # the targeted criterion goes on to x = 201, class 2
        assert rows.loc[("targeted", 2), "eps"] == 151 and rows.loc[("targeted", 2), "reached_target"]
    table = lots_comparison_table(attempts).set_index(["technique", "mode"])
    assert table.loc[("HC", "untargeted"), "success_rate"] == 1.0
    assert table.loc[("HC", "untargeted"), "target_rate"] == 0.5


def test_an_attempt_that_reaches_no_other_class_is_not_a_success():
    # limit 40: from x = 50 the image reaches x = 90 at most, still class 0
    attempts = lots_comparison(three_bands(), image(50), torch.tensor([0]), TARGETS, ["logits"], ["FGS", "HC", "LOTS"],
                               ["untargeted"], limit=40)
    assert not attempts["success"].any() and attempts["eps"].isna().all()
    assert not attempts.loc[attempts["technique"] != "FGS", "reached_target"].any()
    assert attempts.loc[attempts["technique"] == "FGS", "reached_target"].isna().all()  # FGS has no target
    assert attempts[["l2", "linf", "pass_score"]].isna().all().all()


def test_paper2_table1_counts_success_by_the_papers_criterion():
    attempts = lots_comparison(three_bands(), image(50, 60), torch.tensor([0, 0]), TARGETS, ["logits"],
                               ["HC", "LOTS"], ["untargeted", "targeted"], limit=120)
    attempts = attempts.assign(dataset="d", architecture="a", defence="vanilla")
    errors = pd.DataFrame([{"dataset": "d", "architecture": "a", "defence": "vanilla", "test_error": 0.0}])
    row = paper2_table1(attempts, errors).iloc[0]
    # limit 120: every attempt changes the class (at ε 51 and 41); only those towards class 1 reach it
    assert row["hc_success_rate"] == 1.0 and row["hc_target_rate"] == 0.5
    assert row["lots_success_rate"] == 1.0 and row["lots_target_rate"] == 0.5


def test_fine_tuning_examples_follow_the_papers_criterion(tmp_path):
    """Origins of class 0 at x = 50, 60, 70, limit 100: towards class 1 and towards class 2 every
    attempt changes the class within the limit (6 examples); only the 3 towards class 1 reach their
    target (the targeted criterion's count)."""
    x, y = image(50, 60, 70), torch.tensor([0, 0, 0])
    counts = {}
    for mode in ("untargeted", "targeted"):
        for technique, layer in (("HC", "-"), ("LOTS", "logits")):
            out = tmp_path / f"{mode}_{technique}.npz"
            counts[mode, technique] = finetuning.generate_examples(three_bands(), x, y, technique, TARGETS, out,
                                                                   layer, limit=100, mode=mode)
            with np.load(out) as f:
                ex = {k: f[k] for k in finetuning.FIELDS}
            assert (ex["labels"] == 0).all()  # labelled with the origin's class
            assert np.array_equal(ex["reached_target"], ex["target_class"] == 1)
            assert np.array_equal(ex["images"].ravel(), np.full(len(ex["labels"]), 101))  # first pixel past 100
    assert counts["untargeted", "HC"] == counts["untargeted", "LOTS"] == 6
    assert counts["targeted", "HC"] == counts["targeted", "LOTS"] == 3
