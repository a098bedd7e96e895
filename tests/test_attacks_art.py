"""Paper 1's attacks against IBM's Adversarial Robustness Toolbox (ART), the reference code's library.

Same small digits ConvNet, same correctly classified test images. ART runs every sample for all
``max_iter`` steps (BIM, PGD, NewtonFool); the project stops a sample at its first misclassified
iterate. So the project's image must equal ART's iterate at that step: ART is run with
max_iter = 1, 2, … and the iterate where ART's sample is first misclassified is the one compared.
In paper 1's mode (``early_stop=False``) BIM and PGD run every step, as ART does.
"""

import numpy as np
import pytest
import torch
from art.attacks.evasion import BasicIterativeMethod, DeepFool, FastGradientMethod, NewtonFool, ProjectedGradientDescent  # noqa: E402
from art.estimators.classification import PyTorchClassifier  # noqa: E402
from torch import nn

from advtransfer.attacks import build_attack
from test_attacks import train_digits_convnet

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("one_thread")]


@pytest.fixture(scope="module")
def setup():
    """(model, 32 correctly classified test images in [0, 1], labels, ART on logits, ART on softmax)."""
    model, splits = train_digits_convnet()
    x, y = splits.test_x[:40].float() / 255, splits.test_y[:40]
    right = predict(model, x) == y
    x, y = x[right][:32], y[right][:32]
    assert len(y) == 32

    def wrap(net):
        return PyTorchClassifier(net, nn.CrossEntropyLoss(), input_shape=(1, 8, 8), nb_classes=10,
                                 clip_values=(0.0, 1.0))

    return model, x, y, wrap(model), wrap(nn.Sequential(model, nn.Softmax(dim=1)).eval())


def predict(model, x):
    with torch.no_grad():
        return model(torch.as_tensor(x)).argmax(1)


def at_first_misclassified_step(model, iterates, y):
    """Per sample, ART's iterate at its first misclassified step (the last one if none is)."""
    stack = torch.stack([torch.as_tensor(it) for it in iterates])  # (T, n, C, H, W)
    fooled = torch.stack([predict(model, it) != y for it in stack])  # (T, n)
    step = torch.where(fooled.any(0), fooled.float().argmax(0), len(iterates) - 1)
    return stack[step, torch.arange(len(y))], step


def success_and_l2(model, x, adv, y):
    adv = torch.as_tensor(adv)
    fooled = predict(model, adv) != y
    l2 = ((adv - x) * 255).flatten(1).norm(dim=1)
    return fooled.float().mean().item(), l2[fooled].mean().item()


@pytest.mark.parametrize("name", ["bim", "pgd"])
def test_bim_and_pgd_equal_art_up_to_early_stopping(setup, name):
    model, x, y, classifier, _ = setup
    eps, eps_step, steps = 32.0, 8.0, 6
    make = BasicIterativeMethod if name == "bim" else ProjectedGradientDescent
    extra = {} if name == "bim" else {"norm": np.inf, "num_random_init": 0}
    iterates = [
        make(classifier, eps=eps / 255, eps_step=eps_step / 255, max_iter=k, batch_size=len(y), verbose=False,
             **extra).generate(x.numpy(), y.numpy())
        for k in range(1, steps + 1)
    ]
    expected, step = at_first_misclassified_step(model, iterates, y)
    ours = build_attack(name, model, eps=eps, eps_step=eps_step, max_iter=steps, early_stop=True)(x, y)
    assert 0 < (step < steps - 1).sum() < len(y)  # early stopping matters for some samples, not all
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name, max_iter", [("bim", 80), ("pgd", 40)])
def test_bim_and_pgd_in_paper_mode_match_art(setup, name, max_iter):
    """method §2's Fashion-MNIST magnitudes: same success rate, Mean L2 (0–255) within 1%."""
    model, x, y, classifier, _ = setup
    eps, eps_step = 76.5, 2.55
    make = BasicIterativeMethod if name == "bim" else ProjectedGradientDescent
    extra = {} if name == "bim" else {"norm": np.inf, "num_random_init": 0}
    reference = make(classifier, eps=eps / 255, eps_step=eps_step / 255, max_iter=max_iter, batch_size=len(y),
                     verbose=False, **extra).generate(x.numpy(), y.numpy())
    ours = build_attack(name, model, eps=eps, eps_step=eps_step, max_iter=max_iter, early_stop=False)(x, y)
    (ours_rate, ours_l2), (art_rate, art_l2) = (success_and_l2(model, x, a, y) for a in (ours, reference))
    assert ours_rate == art_rate > 0.9
    assert ours_l2 == pytest.approx(art_l2, rel=0.01)


def test_minimal_fgm_equals_art(setup):
    model, x, y, classifier, _ = setup
    eps, eps_step = 64.0, 4.0
    # ART adds eps_step up repeatedly: a hair of slack so that its grid also ends at 64
    reference = FastGradientMethod(classifier, eps=eps / 255 + 1e-7, eps_step=eps_step / 255, minimal=True,
                                   batch_size=len(y)).generate(x.numpy(), y.numpy())
    ours = build_attack("fgm", model, eps=eps, eps_step=eps_step)(x, y)
    torch.testing.assert_close(ours, torch.as_tensor(reference), rtol=0, atol=1e-5)
    minimal_eps = ((ours - x).abs().flatten(1).amax(1) * 255 / eps_step).round()
    reference_eps = ((torch.as_tensor(reference) - x).abs().flatten(1).amax(1) * 255 / eps_step).round()
    assert torch.equal(minimal_eps, reference_eps)
    assert len(set(minimal_eps.tolist())) > 3


def test_deepfool_first_step_and_rates_match_art(setup):
    model, x, y, classifier, _ = setup
    one_step = DeepFool(classifier, max_iter=1, epsilon=1e-6, batch_size=len(y), verbose=False).generate(x.numpy())
    ours = build_attack("deepfool", model, max_iter=1, overshoot=1e-6)(x, y)
    # the project steps 1e-4 (L2) past the linearised boundary, as the authors' code does
    assert ((ours - torch.as_tensor(one_step)).flatten(1).norm(dim=1) <= 1.1e-4).all()

    reference = DeepFool(classifier, max_iter=100, epsilon=1e-6, batch_size=len(y), verbose=False).generate(x.numpy())
    ours = build_attack("deepfool", model, max_iter=100, overshoot=1e-6)(x, y)
    (ours_rate, ours_l2), (art_rate, art_l2) = (success_and_l2(model, x, a, y) for a in (ours, reference))
    assert art_rate > 0.5
    assert abs(ours_rate - art_rate) <= 0.05
    assert ours_l2 == pytest.approx(art_l2, rel=0.15)


def test_newtonfool_equals_art_up_to_early_stopping(setup):
    """On images inside (0, 1) no step is clipped, so ART's unclipped iterates are the project's."""
    model, x, y, _, softmax_classifier = setup
    inner = 0.25 + 0.5 * x
    keep = predict(model, inner) == y
    inner, labels, steps = inner[keep], y[keep], 6
    iterates = [
        NewtonFool(softmax_classifier, max_iter=k, eta=0.01, batch_size=len(labels), verbose=False).generate(
            inner.numpy())
        for k in range(1, steps + 1)
    ]
    expected, step = at_first_misclassified_step(model, iterates, labels)
    ours = build_attack("newtonfool", model, max_iter=steps, eta=0.01)(inner, labels)
    assert 0 < (step < steps - 1).sum() < len(labels)
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-5)


def test_newtonfool_is_at_least_as_strong_as_art(setup):
    """method §2's setting on the raw images. ART clips only after its last step and goes on after the
    label has changed (towards p_y = 1/K), which loses successes and adds distance; the project
    clips every step and stops at the first misclassified iterate. So the comparison is one-sided."""
    model, x, y, _, softmax_classifier = setup
    reference = NewtonFool(softmax_classifier, max_iter=100, eta=0.01, batch_size=len(y), verbose=False).generate(
        x.numpy())
    ours = build_attack("newtonfool", model, max_iter=100, eta=0.01)(x, y)
    (ours_rate, ours_l2), (art_rate, art_l2) = (success_and_l2(model, x, a, y) for a in (ours, reference))
    assert art_rate > 0.3
    assert ours_rate >= art_rate - 0.05
    assert ours_l2 <= 1.15 * art_l2
