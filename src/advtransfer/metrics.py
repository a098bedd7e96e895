"""Raw Zero-Shot metrics (method §1): DBM and AM of one excluded class.

Pure functions on arrays: ``z`` holds the Raw Zero-Shot classifier C₋ᵢ's amalgam proportions of the
n samples of Eᵢ, shape (n, N − 1); ``z_std`` the standard classifier C's soft-labels of the same
samples with class i removed and renormalised (``softlabels.soft_label_without``), same shape.
"""

from __future__ import annotations

import numpy as np


def _check_soft_labels(name: str, z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] < 2:
        raise ValueError(f"{name} must have shape (n ≥ 1, classes ≥ 2), got {z.shape}")
    if not np.isfinite(z).all():
        raise ValueError(f"{name} has non-finite values")
    if (z < -1e-6).any() or not np.allclose(z.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError(f"{name} rows must be probability vectors (non-negative, summing to 1)")
    return z


def dbm(z: np.ndarray) -> float:
    """Davies–Bouldin scatter (q = 2) of the amalgam proportions.

    G = (1/n) Σⱼ zⱼ,  DBM = sqrt((1/n) Σⱼ ‖zⱼ − G‖₂²). Lower = denser cluster.
    """
    z = _check_soft_labels("z", z)
    centroid = z.mean(axis=0)
    return float(np.sqrt(np.mean(np.sum((z - centroid) ** 2, axis=1))))


def amalgam_histograms(z: np.ndarray, z_std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """H = Σⱼ zⱼ (Raw Zero-Shot) and H' = Σⱼ z'ⱼ (standard classifier), paper 1 Fig 4."""
    z = _check_soft_labels("z", z)
    z_std = _check_soft_labels("z_std", z_std)
    if z.shape != z_std.shape:
        raise ValueError(f"z {z.shape} and z_std {z_std.shape} must have the same shape")
    return z.sum(axis=0), z_std.sum(axis=0)


def am(z: np.ndarray, z_std: np.ndarray) -> float:
    """Amalgam Metric: AM = ‖H' − H‖₁ / n, in [0, 2]."""
    h, h_std = amalgam_histograms(z, z_std)
    return float(np.abs(h_std - h).sum() / len(z))
