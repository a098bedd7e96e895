"""Invariants of paper 1's attacks (method §2) and of their evaluation and correlation (method §3).

A ConvNet trained for a few seconds on scikit-learn's 8×8 digits is attacked on the first test
images; correctness against ART is in ``test_attacks_art.py``.
"""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from torch.nn import functional as F

from advtransfer.attacks import ATTACKS, PGD, build_attack
from advtransfer.attacks.evaluate import run_attack
from advtransfer.data import load_dataset, to_float
from advtransfer.models import build_classifier
from advtransfer.registry import UnknownNameError
from advtransfer.tables import attacks_per_class
from advtransfer.tables import table3 as pearson_table

pytestmark = pytest.mark.usefixtures("one_thread")

# method §2's Fashion-MNIST column, fewer iterations: strong enough to fool most digits; BIM and PGD
# in their minimal mode (the conventions these tests check; paper 1's mode, their default, below)
PARAMS = {
    "fgm": {"eps": 76.5, "eps_step": 2.55},
    "bim": {"eps": 76.5, "eps_step": 2.55, "max_iter": 30, "early_stop": True},
    "pgd": {"eps": 76.5, "eps_step": 2.55, "max_iter": 30, "early_stop": True},
    "deepfool": {"max_iter": 50, "overshoot": 1e-6},
    "newtonfool": {"max_iter": 50, "eta": 0.375},
}
LINF_ATTACKS = ["fgm", "bim", "pgd"]


def train_digits_convnet(epochs: int = 6, seed: int = 0):
    """The project's ConvNet trained briefly on the digits; returns (model in eval mode, splits)."""
    splits = load_dataset("digits")
    torch.manual_seed(seed)
    mean, std = splits.channel_stats()
    model = build_classifier("convnet", 1, 8, 10, mean, std)
    optimiser = torch.optim.Adam(model.parameters(), 3e-3)
    loader = splits.train_loader(None, batch_size=64, seed=seed)
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)  # reshuffled every epoch
        for x, y in loader:
            optimiser.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimiser.step()
    return model.eval(), splits


@pytest.fixture(scope="module")
def digits():
    """(model, 60 test images in [0, 1], their labels)."""
    model, splits = train_digits_convnet()
    x, y = to_float(splits.test_x[:60]), splits.test_y[:60]
    with torch.no_grad():
        assert (model(x).argmax(1) == y).float().mean() > 0.85  # it learned something
    return model, x, y


def predict(model, x):
    with torch.no_grad():
        return model(x).argmax(1)


@pytest.fixture(scope="module")
def adversarials(digits):
    model, x, y = digits
    return {name: build_attack(name, model, **params)(x, y) for name, params in PARAMS.items()}


def test_every_attack_is_registered():
    assert set(PARAMS) <= set(ATTACKS.names())  # the others: test_min_norm_attacks.py


@pytest.mark.parametrize("name", LINF_ATTACKS)
def test_linf_perturbation_within_eps(digits, adversarials, name):
    _, x, _ = digits
    linf = (adversarials[name] - x).abs().flatten(1).amax(1) * 255
    assert linf.max() <= PARAMS[name]["eps"] + 1e-3
    assert linf.max() > 1  # the attack did perturb


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_pixels_stay_in_unit_range_and_most_samples_are_fooled(digits, adversarials, name):
    model, x, y = digits
    adv = adversarials[name]
    assert adv.shape == x.shape and adv.dtype == torch.float32
    assert adv.min() >= 0 and adv.max() <= 1
    assert (predict(model, adv) != y).float().mean() > 0.7


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_misclassified_samples_are_successes_with_zero_perturbation(digits, name):
    model, x, y = digits
    x, y = x[:20], y[:20].clone()
    wrong = torch.arange(20) % 2 == 0
    y[wrong] = (predict(model, x[wrong]) + 1) % 10  # labels the model disagrees with
    df = run_attack(model, x, y, build_attack(name, model, **PARAMS[name]), batch_size=8, progress=False)
    adv = build_attack(name, model, **PARAMS[name])(x, y)
    assert torch.equal(adv[wrong], x[wrong])
    assert df.loc[wrong.numpy(), "success"].all()
    assert (df.loc[wrong.numpy(), ["l2", "linf"]] == 0).all().all()
    assert (df.loc[~wrong.numpy(), "l2"] > 0).any()


def test_pgd_random_start_is_deterministic_given_a_seed(digits):
    model, x, y = digits
    params = dict(eps=16, eps_step=4, max_iter=5, random_start=True)
    a = build_attack("pgd", model, seed=1, **params)(x, y)
    b = build_attack("pgd", model, seed=1, **params)(x, y)
    c = build_attack("pgd", model, seed=2, **params)(x, y)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    start = build_attack("pgd", model, seed=1, **params).start(x)
    assert 0 < (start - x).abs().max() <= 16 / 255 + 1e-6


@pytest.mark.parametrize("name", ["bim", "deepfool", "newtonfool"])
def test_fooled_samples_are_not_updated_further(digits, name):
    """Early stopping: a sample fooled within k steps is the same after K > k steps."""
    model, x, y = digits
    params = {**PARAMS[name], "max_iter": 2}
    if name == "bim":
        params["eps_step"] = 10.0
    short = build_attack(name, model, **params)(x, y)
    long = build_attack(name, model, **{**params, "max_iter": 10})(x, y)
    fooled = predict(model, short) != y
    assert 0 < fooled.sum() < len(y)
    torch.testing.assert_close(long[fooled], short[fooled], rtol=0, atol=1e-6)
    assert not torch.allclose(long[~fooled], short[~fooled])  # the others went on


def mean_l2(model, x, y, attack):
    """Mean L2 (0–255) over the successful samples."""
    df = run_attack(model, x, y, attack, batch_size=64, progress=False)
    return df.loc[df["success"], "l2"].mean()


def test_paper_mode_tells_bim_from_pgd(digits):
    """Without a random start BIM and PGD share their iterates: in minimal mode both stop at the same
    image once each has enough steps. Paper 1's mode (early_stop=False) reports the final iterate,
    which depends on the number of steps (method §2's Fashion-MNIST column: BIM 80, PGD 40)."""
    model, x, y = digits
    bim, pgd = PARAMS["bim"] | {"max_iter": 80}, PARAMS["pgd"] | {"max_iter": 40}
    minimal = [mean_l2(model, x, y, build_attack(name, model, **p)) for name, p in (("bim", bim), ("pgd", pgd))]
    paper = [mean_l2(model, x, y, build_attack(name, model, **{**p, "early_stop": False}))
             for name, p in (("bim", bim), ("pgd", pgd))]
    assert minimal[0] == minimal[1]
    assert paper[0] != pytest.approx(paper[1], rel=0.01)
    assert min(paper) > max(minimal)  # the final iterate lies farther than the first misclassified one


@pytest.mark.parametrize("name", ["bim", "pgd"])
def test_paper_mode_attacks_misclassified_samples_too(digits, name):
    model, x, y = digits
    x, y = x[:20], y[:20].clone()
    wrong = torch.arange(20) % 2 == 0
    y[wrong] = (predict(model, x[wrong]) + 1) % 10
    adv = build_attack(name, model, **{**PARAMS[name], "early_stop": False})(x, y)
    assert ((adv - x).flatten(1).abs().amax(1) > 0).all()
    default = {k: v for k, v in PARAMS[name].items() if k != "early_stop"}
    assert torch.equal(build_attack(name, model, **default)(x, y), adv)  # paper 1's mode is the default


def test_fgm_finds_the_smallest_eps_on_the_grid(digits):
    """Brute force: every grid ε from the gradient sign at the clean image, the first that fools."""
    model, x, y = digits
    eps, eps_step = 30.0, 2.0
    adv = build_attack("fgm", model, eps=eps, eps_step=eps_step)(x, y)
    x_ = x.clone().requires_grad_(True)
    direction = torch.autograd.grad(F.cross_entropy(model(x_), y, reduction="sum"), x_)[0].sign()
    grid = [k * eps_step / 255 for k in range(1, 16)]
    candidates = torch.stack([(x + e * direction).clamp(0, 1) for e in grid])  # (15, n, ...)
    fooled = torch.stack([predict(model, c) != y for c in candidates])  # (15, n)
    first = torch.where(fooled.any(0), fooled.float().argmax(0), len(grid) - 1)
    expected = candidates[first, torch.arange(len(y))]
    clean_wrong = predict(model, x) != y
    expected[clean_wrong] = x[clean_wrong]
    torch.testing.assert_close(adv, expected, rtol=0, atol=1e-6)
    assert len(set(first[fooled.any(0)].tolist())) > 2  # the minimal ε differs between samples


def test_deepfool_with_every_class_as_candidate_equals_all_classes(digits):
    model, x, y = digits
    everything = build_attack("deepfool", model, max_iter=5)(x, y)
    top10 = build_attack("deepfool", model, max_iter=5, nb_grads=10)(x, y)
    top2 = build_attack("deepfool", model, max_iter=5, nb_grads=2)(x, y)
    torch.testing.assert_close(top10, everything)
    assert not torch.allclose(top2, everything)


@pytest.mark.parametrize("name, params, word", [
    ("pgd", {"eps": -1}, "eps"),
    ("pgd", {"eps": "8"}, "eps"),
    ("bim", {"max_iter": 2.5}, "max_iter"),
    ("bim", {"max_iter": True}, "max_iter"),
    ("fgm", {"eps": 2, "eps_step": 4}, "eps_step"),
    ("fgm", {"steps": 3}, "steps"),
    ("deepfool", {"nb_grads": 1}, "nb_grads"),
    ("deepfool", {"overshoot": -0.1}, "overshoot"),
    ("newtonfool", {"eta": 0}, "eta"),
    ("pgd", {"random_start": "yes"}, "random_start"),
    ("bim", {"early_stop": "false"}, "early_stop"),
    ("pgd", {"early_stop": 0}, "early_stop"),
])
def test_bad_parameters_raise_value_error(digits, name, params, word):
    with pytest.raises(ValueError, match=f"attack '{name}'.*{word}"):
        build_attack(name, digits[0], **params)


def test_unknown_attack_and_bad_inputs(digits):
    model, x, y = digits
    with pytest.raises(UnknownNameError, match="known: apgd, bim, ddn, deepfool"):
        build_attack("cw", model)
    attack = build_attack("pgd", model)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        attack(x * 255, y)
    with pytest.raises(ValueError, match="labels"):
        attack(x, y[:-1])


def test_run_attack_table_matches_the_attack(digits):
    model, x, y = digits
    attack = build_attack("fgm", model, **PARAMS["fgm"])
    kept = []
    df = run_attack(model, x, y, attack, batch_size=16, progress=False, keep=kept)
    assert list(df.columns) == ["index", "true_label", "clean_pred", "adv_pred", "success", "l2", "linf"]
    adv = attack(x, y)
    delta = (adv - x).flatten(1) * 255
    np.testing.assert_array_equal(df["index"], np.arange(len(y)))
    np.testing.assert_array_equal(df["adv_pred"], predict(model, adv).numpy())
    np.testing.assert_array_equal(df["success"], (predict(model, adv) != y).numpy())
    np.testing.assert_allclose(df["l2"], delta.norm(dim=1).numpy(), rtol=1e-5)
    np.testing.assert_allclose(df["linf"], delta.abs().amax(1).numpy(), rtol=1e-5)
    assert [len(k) for k in kept] == [16, 16, 16, 12]  # the adversarial images, batch by batch, rounded
    assert torch.equal(torch.cat(kept), (adv * 255).round().to(torch.uint8))
    uint8 = (x * 255).round().to(torch.uint8)  # the digits are whole pixel values
    pd.testing.assert_frame_equal(run_attack(model, uint8, y, attack, batch_size=64, progress=False), df)


def sample_table(rows):
    return pd.DataFrame(rows, columns=["index", "true_label", "clean_pred", "adv_pred", "success", "l2", "linf"])


def test_attacks_per_class_by_hand():
    df = sample_table([
        (0, 0, 0, 3, True, 10.0, 2.0),   # fooled
        (1, 0, 0, 0, False, 5.0, 1.0),   # resisted: its distance does not count
        (2, 0, 4, 4, True, 0.0, 0.0),    # misclassified already: success at distance 0
        (3, 1, 1, 1, False, 7.0, 3.0),
        (4, 1, 1, 1, False, 9.0, 3.0),
    ])
    table = attacks_per_class(df).set_index("class")
    assert table.loc[0, "n"] == 3 and table.loc[1, "n"] == 2
    assert table.loc[0, "clean_accuracy"] == pytest.approx(2 / 3)
    assert table.loc[0, "adversarial_accuracy"] == pytest.approx(1 / 3)
    assert table.loc[0, "success_rate"] == pytest.approx(2 / 3)
    assert table.loc[0, "mean_l2"] == pytest.approx(5.0)
    assert table.loc[0, "mean_linf"] == pytest.approx(1.0)
    assert table.loc[1, "success_rate"] == 0 and table.loc[1, "adversarial_accuracy"] == 1
    assert math.isnan(table.loc[1, "mean_l2"]) and math.isnan(table.loc[1, "mean_linf"])


def per_class_rows(architecture, dbm, am, mean_l2, attack="pgd"):
    return [{"dataset": "fmnist", "architecture": architecture, "attack": attack, "class": c,
             "dbm": d, "am": a, "mean_l2": m} for c, (d, a, m) in enumerate(zip(dbm, am, mean_l2))]


def test_pearson_table_by_hand():
    # x = (1, 2, 3), y = (1, 3, 2): deviations (−1, 0, 1), (−1, 1, 0): r = 1 / (√2·√2) = 1/2.
    # With n − 2 = 1 degree of freedom t is Cauchy: p = 1 − (2/π)·atan(t), t = r·√1/√(1 − r²) = 1/√3,
    # so p = 1 − (2/π)(π/6) = 2/3. Class 3 was never fooled (NaN Mean L2): counted in n, not used.
    nan = float("nan")
    frame = pd.DataFrame(
        per_class_rows("mlp", dbm=[1, 2, 3, 9], am=[3, 2, 1, 9], mean_l2=[1, 3, 2, nan])
        + per_class_rows("convnet", dbm=[1, 2, 3, 9], am=[3, 2, 1, 9], mean_l2=[1, 3, 2, nan])
        + per_class_rows("convnet", dbm=[1, 2, 3], am=[1, 2, 3], mean_l2=[5, nan, 6], attack="fgm"))
    raw = pearson_table(frame)
    table = raw.set_index(["architecture", "attack", "metric"])
    assert list(raw.columns) == [
        "dataset", "architecture", "attack", "metric", "n", "n_used",
        "pearson_r", "p_value", "ci_low", "ci_high"]
    mlp = table.loc[("mlp", "pgd", "DBM")]
    assert (mlp["n"], mlp["n_used"]) == (4, 3)
    assert mlp["pearson_r"] == pytest.approx(0.5)
    assert mlp["p_value"] == pytest.approx(2 / 3)
    assert (mlp["ci_low"], mlp["ci_high"]) == pytest.approx((-1, 1))  # Fisher z: se = 1/√(n − 3) = ∞
    assert table.loc[("mlp", "pgd", "AM"), "pearson_r"] == pytest.approx(-0.5)
    # pooled: the same three points twice, r unchanged; n = 6: t = r·√4/√(1 − r²), z ± 1.96/√3
    pooled = table.loc[("all", "pgd", "DBM")]
    assert (pooled["n"], pooled["n_used"]) == (8, 6)
    assert pooled["pearson_r"] == pytest.approx(0.5)
    assert pooled["p_value"] == pytest.approx(2 * stats.t.sf(0.5 * 2 / math.sqrt(0.75), 4))
    z, half = math.atanh(0.5), stats.norm.ppf(0.975) / math.sqrt(3)
    assert (pooled["ci_low"], pooled["ci_high"]) == pytest.approx((math.tanh(z - half), math.tanh(z + half)))
    # two usable points: no correlation, no crash
    fgm = table.loc[("convnet", "fgm", "AM")]
    assert (fgm["n"], fgm["n_used"]) == (3, 2)
    assert fgm[["pearson_r", "p_value", "ci_low", "ci_high"]].isna().all()
    assert len(table) == 2 * (3 + 2)  # (mlp, convnet, convnet-fgm, all-pgd, all-fgm) × 2 metrics


def test_correlation_figure_has_mean_l2_on_x_and_the_metrics_on_y():
    """Paper 1 Figs 5, 6: Mean L2 on the x-axis, DBM / AM on the y-axis, each with its unit."""
    from advtransfer.figures import correlation_figure

    rows = pd.DataFrame(per_class_rows("mlp", dbm=[0.1, 0.2, 0.3], am=[0.5, 0.4, 0.9], mean_l2=[10.0, 30.0, 20.0]))
    fig = correlation_figure(rows, pearson_table(rows), "fmnist: pgd")
    assert [ax.get_xlabel() for ax in fig.axes] == ["Mean L2 (0–255 scale)"] * 2
    assert [ax.get_ylabel() for ax in fig.axes] == ["DBM (no unit)", "AM (no unit, 0–2)"]
    for ax, column in zip(fig.axes, ["dbm", "am"]):
        np.testing.assert_array_equal(ax.collections[0].get_offsets(), rows[["mean_l2", column]].to_numpy())


def test_zero_shot_figures_label_every_axis():
    from advtransfer.figures import histogram_panels, isomap_panels

    rng = np.random.default_rng(0)
    names = ["a", "b", "c"]
    z = rng.dirichlet(np.ones(2), size=20)
    isomap = isomap_panels([(0, z, None), (1, z, None)], names, "t")
    for ax in isomap.axes[:2]:
        assert ax.get_xlabel() and ax.get_ylabel()
        assert "(" in ax.get_xlabel() + ax.get_ylabel()  # a unit
    histograms = histogram_panels([(0, z.sum(0), z.sum(0), 20), (1, z.sum(0), z.sum(0), 20)], names, "t")
    # the panels share one label per axis, on the figure
    assert "class" in histograms.get_supxlabel() and "(0–1)" in histograms.get_supylabel()


@pytest.mark.parametrize("names", [[str(c) for c in range(10)],
                                   ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                    "Sneaker", "Bag", "Ankle boot"]])
@pytest.mark.parametrize("n_panels", [3, 10])
def test_histogram_figure_has_no_overlapping_texts(names, n_panels):
    """Paper 1 Fig 4 with the digits' and Fashion-MNIST's class names: no title, label, tick label or
    legend entry covers another (their boxes as matplotlib's renderer draws them)."""
    from advtransfer.figures import histogram_panels
    from figure_helpers import drawn_texts, overlapping_texts

    rng = np.random.default_rng(1)
    panels = [(i, rng.random(9) * 50, rng.random(9) * 50, 120) for i in range(n_panels)]
    fig = histogram_panels(panels, names, "fashion_mnist / convnet")
    try:
        assert overlapping_texts(fig) == []
        titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
        assert len(titles) == n_panels and all(len(t) <= 32 for t in titles)  # short per-panel titles
        assert titles[1].startswith(f"excluded {names[1]}: AM ")
        assert min(t.get_fontsize() for t in drawn_texts(fig)) >= 7
        assert fig.get_layout_engine() is not None  # laid out by matplotlib, not by hand
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_pearson_table_rejects_bad_frames():
    frame = pd.DataFrame(per_class_rows("all", [1, 2, 3], [1, 2, 3], [1, 2, 3]))
    with pytest.raises(ValueError, match="reserved"):
        pearson_table(frame)
    with pytest.raises(ValueError, match="mean_l2"):
        pearson_table(frame.drop(columns="mean_l2"))


def test_without_early_stop_every_sample_takes_all_steps():
    """Adversarial training's PGD (early_stop=False) equals the plain projected-gradient loop."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    x = torch.rand(6, 1, 4, 4)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    eps, step, n = 8 / 255, 2 / 255, 7
    expected = x.clone()
    for _ in range(n):
        expected.requires_grad_(True)
        (grad,) = torch.autograd.grad(torch.nn.functional.cross_entropy(model(expected), y, reduction="sum"), expected)
        expected = (expected.detach() + step * grad.sign()).clamp(x - eps, x + eps).clamp(0, 1)
    adv = PGD(model, eps=8, eps_step=2, max_iter=n, early_stop=False)(x, y)
    torch.testing.assert_close(adv, expected, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="early_stop"):
        PGD(model, early_stop="no")


def test_paper2_techniques_as_attacks_give_integer_images_that_leave_the_true_class(digits):
    """FGS, FGV, HC and LOTS with paper 2's line search, through the attack interface (method §4)."""
    from advtransfer.lots import choose_targets

    model, x, y = digits
    pixels = (x * 255).round()
    targets = choose_targets(model, pixels, y, 10)[0]
    for name in ("fgs", "fgv", "hc", "lots"):
        attack = build_attack(name, model, targets if name == "lots" else None, limit=512)
        x_adv = attack(x, y)
        assert torch.equal(x_adv * 255, (x_adv * 255).round()), name  # integer pixels
        clean = predict(model, x) == y
        fooled = predict(model, x_adv) != y
        assert fooled[clean].float().mean() > 0.5, name
        assert torch.equal(x_adv[~clean], x[~clean]), name  # misclassified: unchanged
    with pytest.raises(ValueError, match="unknown layer 'body.99'"):
        build_attack("lots", model, layer="body.99")
