"""The attacks beyond paper 1: FMN (L2, L∞), DDN and APGD-CE, the project's own implementations.

Same small digits ConvNet and test images as ``test_attacks.py``. Checks that the minimum-norm attacks
find smaller perturbations than DeepFool and APGD succeeds at least as often as PGD, the project's
conventions (misclassified inputs unchanged, outputs in [0, 1]), and DDN, FMN-L∞ and APGD-CE against
a second implementation of the same algorithm in the peer libraries of the test extra (foolbox, ART).
"""

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from art.attacks.evasion import AutoProjectedGradientDescent
from art.estimators.classification import PyTorchClassifier
from torch import nn

from advtransfer import catalog, study
from advtransfer.attacks import ATTACKS, Attack, build_attack
from advtransfer.attacks.evaluate import run_attack
from test_attacks import predict, train_digits_convnet

with warnings.catch_warnings():  # foolbox 3.3.4 imports a deprecated scipy namespace
    warnings.simplefilter("ignore", DeprecationWarning)
    import foolbox

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("one_thread")]

NEW = {
    "fmn_l2": {"max_iter": 100},
    "fmn_linf": {"max_iter": 100},
    "ddn": {"max_iter": 100},
    "apgd": {"eps": 64.0, "max_iter": 20},
}
SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture(scope="module")
def setup():
    """(model, the first 60 test images in [0, 1], their labels, the correctly classified ones' mask)."""
    model, splits = train_digits_convnet()
    x, y = splits.test_x[:60].float() / 255, splits.test_y[:60]
    right = predict(model, x) == y
    assert right.sum() > 50
    return model, x, y, right


def success_and_mean_l2(model, x, y, attack):
    """The evaluation's success rate and Mean L2 (0–255, successful samples), via ``run_attack``."""
    df = run_attack(model, x, y, attack, batch_size=64, progress=False)
    return df["success"].mean(), df.loc[df["success"], "l2"].mean()


def test_every_name_of_the_catalog_is_a_registered_attack_and_the_workflow_knows_it():
    """Attack names are listed once (advtransfer.catalog): the registry, the workflow's wildcard and
    the config check take them from there, and each name's module registers it."""
    assert set(NEW) <= set(ATTACKS.names()) == set(catalog.ATTACKS) == set(study.ATTACK_NAMES)
    for name in catalog.ATTACKS:
        assert issubclass(ATTACKS.get(name), Attack), name
    schema = yaml.safe_load(SCHEMA.read_text())["$defs"]["attacks"]["properties"]
    assert "enum" not in schema["run"]["items"]  # no second list to keep in step


def test_fmn_l2_is_smaller_than_deepfool_and_as_successful(setup):
    """FMN-L2 has no peer that computes the same images: its loop clips to [0, 1] before the projection
    onto the ε-ball, where the authors' code and adv-lib (no longer a dependency) clip after it, and
    foolbox 3.3.4's L2 FMN never projects. So it is checked against the other minimum-L2 attacks:
    no larger Mean L2 than DeepFool, as successful as DeepFool and DDN, Mean L2 within 5% of DDN's (DDN
    itself equals foolbox's, ``test_ddn_equals_foolbox``)."""
    model, x, y, _ = setup
    fmn_rate, fmn_l2 = success_and_mean_l2(model, x, y, build_attack("fmn_l2", model, **NEW["fmn_l2"]))
    df_rate, df_l2 = success_and_mean_l2(model, x, y, build_attack("deepfool", model, max_iter=50))
    ddn_rate, ddn_l2 = success_and_mean_l2(model, x, y, build_attack("ddn", model, **NEW["ddn"]))
    assert fmn_rate >= df_rate > 0.9 and fmn_rate >= ddn_rate
    assert fmn_l2 <= df_l2
    assert fmn_l2 == pytest.approx(ddn_l2, rel=0.05)


def test_ddn_is_smaller_than_deepfool(setup):
    model, x, y, _ = setup
    ddn_rate, ddn_l2 = success_and_mean_l2(model, x, y, build_attack("ddn", model, **NEW["ddn"]))
    df_rate, df_l2 = success_and_mean_l2(model, x, y, build_attack("deepfool", model, max_iter=50))
    assert ddn_rate >= df_rate and ddn_l2 <= df_l2


@pytest.mark.parametrize("eps", [8.0, 16.0])
def test_apgd_succeeds_at_least_as_often_as_pgd(setup, eps):
    model, x, y, _ = setup
    steps = 20
    apgd_rate, _ = success_and_mean_l2(model, x, y, build_attack("apgd", model, eps=eps, max_iter=steps))
    pgd = build_attack("pgd", model, eps=eps, eps_step=eps / 4, max_iter=steps, early_stop=True)
    pgd_rate, _ = success_and_mean_l2(model, x, y, pgd)
    assert apgd_rate >= pgd_rate
    adv = build_attack("apgd", model, eps=eps, max_iter=steps)(x, y)
    assert (adv - x).abs().max() * 255 <= eps + 1e-3


def test_apgd_against_art(setup):
    """ART 1.20.1's ``AutoProjectedGradientDescent`` is APGD-CE too (cross-entropy, first step 2ε, one
    random start); its random start differs, so the images do, but not the success (here 41 of 59 at
    ε 32, 20 steps, for both): success rates within 3 points, every perturbation within ε."""
    model, x, y, right = setup
    x, y = x[right], y[right]
    eps, steps = 32.0, 20
    ours = build_attack("apgd", model, eps=eps, max_iter=steps)(x, y)
    classifier = PyTorchClassifier(model, nn.CrossEntropyLoss(), input_shape=tuple(x.shape[1:]), nb_classes=10,
                                   clip_values=(0.0, 1.0))
    np.random.seed(0)
    art = AutoProjectedGradientDescent(classifier, norm=np.inf, eps=eps / 255, eps_step=2 * eps / 255, max_iter=steps,
                                       nb_random_init=1, batch_size=len(x), loss_type="cross_entropy", verbose=False)
    reference = torch.as_tensor(art.generate(x.numpy(), y.numpy()))
    rates = [(predict(model, adv) != y).float().mean().item() for adv in (ours, reference)]
    assert 0.2 < rates[1] < 0.9  # not saturated: the comparison can tell
    assert rates[0] == pytest.approx(rates[1], abs=0.03)
    assert (ours - x).abs().max() * 255 <= eps + 1e-3


def test_apgd_is_deterministic_given_a_seed_and_leaves_the_global_generator_alone(setup):
    """The same seed gives the same images (its random start draws from its own seeded generator), and
    the caller's random stream is not disturbed. (Different seeds may well end on the same images:
    the steps saturate at the ε-ball's corners.)"""
    model, x, y, _ = setup
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a, b = (build_attack("apgd", model, eps=8.0, max_iter=5, seed=1)(x, y) for _ in range(2))
    assert torch.equal(a, b)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_ddn_equals_foolbox(setup):
    """foolbox's ``DDNAttack`` is the same algorithm (same defaults: 100 steps, γ 0.05, first ε 1 on
    [0, 1]), deterministic as ours is; without the 8-bit rounding the images agree to float32
    precision (the two order their floating-point operations differently: 1e-5 on [0, 1])."""
    model, x, y, right = setup
    x, y = x[right], y[right]
    ours = build_attack("ddn", model, max_iter=100, quantize=False)(x, y)
    _, reference, _ = foolbox.attacks.DDNAttack(steps=100, gamma=0.05, init_epsilon=1.0)(
        foolbox.PyTorchModel(model, bounds=(0, 1)), x, y, epsilons=None)
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-5)


def test_fmn_linf_against_foolbox(setup):
    """foolbox's ``LInfFMNAttack`` is the same algorithm and loop (same defaults: first step 1 on
    [0, 1], γ 0.05). The images differ slightly (foolbox keeps a later iterate of equal norm, and
    orders its floating-point operations differently; up to 0.004 on [0, 1] here), the perturbations'
    sizes do not: same successes, each L∞ norm within 0.01 on the 0–255 scale, Mean L2 within 1%."""
    model, x, y, right = setup
    x, y = x[right], y[right]
    ours = build_attack("fmn_linf", model, max_iter=100)(x, y)
    _, reference, _ = foolbox.attacks.LInfFMNAttack(steps=100)(foolbox.PyTorchModel(model, bounds=(0, 1)), x, y,
                                                             epsilons=None)
    assert torch.equal(predict(model, ours) != y, predict(model, reference) != y)
    linf = [(adv - x).flatten(1).abs().amax(dim=1) * 255 for adv in (ours, reference)]
    torch.testing.assert_close(linf[0], linf[1], rtol=0, atol=0.01)
    l2 = [(adv - x).flatten(1).norm(dim=1).mean().item() for adv in (ours, reference)]
    assert l2[0] == pytest.approx(l2[1], rel=0.01)


@pytest.mark.parametrize("name", sorted(NEW))
def test_conventions(setup, name):
    """Misclassified inputs are returned unchanged (success with zero perturbation); outputs in [0, 1]."""
    model, x, y, _ = setup
    x, y = x[:20], y[:20].clone()
    wrong = torch.arange(20) % 2 == 0
    y[wrong] = (predict(model, x[wrong]) + 1) % 10  # labels the model disagrees with
    adv = build_attack(name, model, **NEW[name])(x, y)
    assert adv.shape == x.shape and adv.dtype == torch.float32
    assert adv.min() >= 0 and adv.max() <= 1
    assert torch.equal(adv[wrong], x[wrong])
    assert (predict(model, adv[~wrong]) != y[~wrong]).float().mean() > 0.5


@pytest.mark.parametrize("name, params, key", [
    ("fmn_l2", {"max_iter": 0}, "max_iter"),
    ("fmn_linf", {"gamma": 1.0}, "gamma"),
    ("ddn", {"quantize": "yes"}, "quantize"),
    ("ddn", {"init_norm": -1}, "init_norm"),
    ("apgd", {"eps": 0}, "eps"),
    ("apgd", {"n_restarts": 1.5}, "n_restarts"),
    ("apgd", {"loss": "dlr"}, "loss"),
])
def test_bad_parameters_are_refused(name, params, key):
    with pytest.raises(ValueError, match=key):
        build_attack(name, torch.nn.Identity(), **params)
