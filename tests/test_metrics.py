"""DBM and AM (method §1) against values computed by hand."""

import math

import numpy as np
import pytest

from advtransfer.metrics import am, amalgam_histograms, dbm


def test_dbm_two_opposite_points():
    # G = (0.5, 0.5); each ‖z − G‖² = 0.25 + 0.25 = 0.5 → DBM = sqrt(0.5)
    assert dbm(np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(math.sqrt(0.5))


def test_dbm_of_identical_points_is_zero():
    z = np.tile([0.2, 0.3, 0.5], (7, 1))
    assert dbm(z) == pytest.approx(0.0, abs=1e-12)


def test_dbm_three_points_by_hand():
    z = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])
    # G = (1/3, 1/3, 1/3); each ‖z − G‖² = 2·(1/6)² + (1/3)² = 1/18 + 1/9 = 1/6
    assert dbm(z) == pytest.approx(math.sqrt(1 / 6))


def test_am_by_hand():
    z = np.array([[1.0, 0.0], [0.0, 1.0]])  # H = (1, 1)
    z_std = np.array([[1.0, 0.0], [1.0, 0.0]])  # H' = (2, 0)
    h, h_std = amalgam_histograms(z, z_std)
    np.testing.assert_allclose(h, [1, 1])
    np.testing.assert_allclose(h_std, [2, 0])
    assert am(z, z_std) == pytest.approx(1.0)  # ‖H' − H‖₁ / n = 2 / 2


def test_am_bounds():
    assert am(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])) == pytest.approx(2.0)
    z = np.array([[0.1, 0.6, 0.3], [0.4, 0.4, 0.2]])
    assert am(z, z) == pytest.approx(0.0)


def test_am_random_stays_in_range():
    rng = np.random.default_rng(0)
    z = rng.dirichlet(np.ones(9), size=50)
    z_std = rng.dirichlet(np.ones(9), size=50)
    value = am(z, z_std)
    assert 0.0 <= value <= 2.0
    assert value == pytest.approx(np.abs(z_std.sum(0) - z.sum(0)).sum() / 50)


@pytest.mark.parametrize("bad", [np.zeros((0, 3)), np.ones(3), np.array([[0.5, 0.6]]), np.array([[np.nan, 1.0]])])
def test_bad_input_is_a_clear_error(bad):
    with pytest.raises(ValueError):
        dbm(bad)


def test_am_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        am(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
