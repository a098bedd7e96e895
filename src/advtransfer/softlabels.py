"""Soft-labels (method §1): a classifier's class-probability vector.

Logits go through a softmax. Scores that are not logits (CapsNet's capsule lengths) are divided by
their sum (our choice). Removing a class and renormalising works on the scores, so that a
near-certain prediction of the removed class does not divide by ≈ 0.
"""

from __future__ import annotations

import torch

from advtransfer.constants import LENGTHS, LOGITS


def soft_label(scores: torch.Tensor, output_kind: str = LOGITS) -> torch.Tensor:
    """Soft-labels of a batch of class scores, shape (B, K) → (B, K), rows summing to 1."""
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (batch, classes), got {tuple(scores.shape)}")
    if output_kind == LOGITS:
        return torch.softmax(scores.float(), dim=1)
    if output_kind == LENGTHS:
        if (scores < 0).any():
            raise ValueError("capsule lengths must be non-negative")
        total = scores.float().sum(dim=1, keepdim=True)
        uniform = torch.full_like(scores, 1.0 / scores.shape[1], dtype=torch.float32)
        return torch.where(total > 0, scores.float() / total.clamp_min(1e-30), uniform)
    raise ValueError(f"unknown output kind {output_kind!r}; known: {LOGITS}, {LENGTHS}")


def soft_label_without(scores: torch.Tensor, excluded: int, output_kind: str = LOGITS) -> torch.Tensor:
    """z'ⱼ of method §1: the soft-label with entry ``excluded`` removed and renormalised.

    Equal to p₋ᵢ / (1 − pᵢ); computed from the scores with column ``excluded`` dropped, which stays
    exact when pᵢ ≈ 1 (a row of zero lengths falls back to the uniform vector).
    """
    k = scores.shape[1]
    if not 0 <= excluded < k:
        raise ValueError(f"excluded class {excluded} is outside 0..{k - 1}")
    keep = [c for c in range(k) if c != excluded]
    return soft_label(scores[:, keep], output_kind)
