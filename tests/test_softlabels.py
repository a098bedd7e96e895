"""Soft-labels and the removal of the excluded class (method §1)."""

import pytest
import torch

from advtransfer.softlabels import soft_label, soft_label_without


def test_softmax_of_logits():
    p = soft_label(torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]]))
    torch.testing.assert_close(p[0], torch.full((3,), 1 / 3))
    e = torch.exp(torch.tensor(2.0))
    torch.testing.assert_close(p[1], torch.tensor([e, 1, 1]) / (e + 2))


def test_lengths_are_divided_by_their_sum():
    p = soft_label(torch.tensor([[0.2, 0.6, 0.2], [0.0, 0.0, 0.0]]), "lengths")
    torch.testing.assert_close(p[0], torch.tensor([0.2, 0.6, 0.2]))
    torch.testing.assert_close(p[1], torch.full((3,), 1 / 3))  # all-zero row: uniform


def test_without_equals_renormalised_removal():
    scores = torch.tensor([[1.0, 3.0, -2.0, 0.5]])
    p = soft_label(scores)[0]
    expected = torch.cat([p[:1], p[2:]]) / (1 - p[1])  # p₋ᵢ / (1 − pᵢ)
    torch.testing.assert_close(soft_label_without(scores, 1)[0], expected)


def test_without_is_stable_when_the_removed_class_is_certain():
    scores = torch.tensor([[200.0, 0.0, 1.0]])  # softmax puts 1.0 on class 0 in float32
    assert soft_label(scores)[0, 0] == 1.0
    z = soft_label_without(scores, 0)[0]
    torch.testing.assert_close(z, torch.softmax(torch.tensor([0.0, 1.0]), 0))


def test_without_lengths():
    z = soft_label_without(torch.tensor([[0.5, 0.3, 0.1]]), 0, "lengths")
    torch.testing.assert_close(z[0], torch.tensor([0.75, 0.25]))


def test_errors():
    with pytest.raises(ValueError, match="outside"):
        soft_label_without(torch.zeros(1, 3), 3)
    with pytest.raises(ValueError, match="unknown output kind"):
        soft_label(torch.zeros(1, 3), "probits")
    with pytest.raises(ValueError, match="shape"):
        soft_label(torch.zeros(3))
